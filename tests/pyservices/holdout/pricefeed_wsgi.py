"""Order pages priced from a live feed, on the standard library's wsgiref server. A hold-out
of memsleuth's Python tests: written after the analysis rules and not used to build them.

Routes (GET): /order/<n>, /health. PORT is the loopback port. Each order view subscribes to
the price feed while it renders; BUILD=fixed unsubscribes when the page is done, the default
(leaky) build never does. Stops by itself after MAX_SECONDS (default 600).
"""
import os
import socketserver
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

BUILD = os.environ.get("BUILD", "leaky")


class PriceFeed:
    """Pushes price updates to subscribers."""

    _subscribers = []
    _last = 100.0

    @classmethod
    def subscribe(cls, callback):
        cls._subscribers.append(callback)

    @classmethod
    def unsubscribe(cls, callback):
        try:
            cls._subscribers.remove(callback)
        except ValueError:
            pass

    @classmethod
    def publish(cls, price):
        cls._last = price
        for cb in list(cls._subscribers):
            cb(price)


class OrderView:
    def __init__(self, order_id):
        self.order_id = order_id
        self.lines = [{"sku": "sku-%d-%d" % (order_id, i), "qty": 1 + i % 3} for i in range(30)]
        self.prices = []

    def on_price(self, price):
        self.prices.append(price)

    def render(self):
        PriceFeed.subscribe(self.on_price)
        try:
            PriceFeed.publish(100.0 + self.order_id % 17)
            total = sum(l["qty"] for l in self.lines) * self.prices[-1]
            return "order %d: %.2f\n" % (self.order_id, total)
        finally:
            if BUILD == "fixed":
                PriceFeed.unsubscribe(self.on_price)


def app(environ, start_response):
    parts = environ.get("PATH_INFO", "").strip("/").split("/")
    if parts == ["health"]:
        body = b"ok"
    elif len(parts) == 2 and parts[0] == "order" and parts[1].isdigit():
        body = OrderView(int(parts[1])).render().encode()
    else:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


class Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8080"))
    server = make_server("127.0.0.1", port, app, server_class=Server, handler_class=QuietHandler)
    threading.Timer(float(os.environ.get("MAX_SECONDS", "600")), server.shutdown).start()
    server.serve_forever()
