"""A small quote service on the standard library's http.server, for memsleuth's Python tests.

Routes (GET): /quote/<n>, /price/<n>, /subscribe/<n>, /audit/<n>, /report/<n>, /recent/<n>,
/checksum/<n>, /watch/<n>, /journal/<n>, /tenant/<n>, /lookup/<n>, /health. PORT
(environment) is the loopback port; BUILD=fixed selects the fixed handlers (default: leaky);
POOL=N starts a multiprocessing pool of N forked workers. Each route has one kind of leak in
the leaky build; see handlers.py.
Stops by itself after MAX_SECONDS (default 600) so a forgotten server does not linger.
"""
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import handlers

ROUTES = {
    "quote": handlers.quote_page,
    "price": handlers.price,
    "subscribe": handlers.subscribe,
    "audit": handlers.audit,
    "report": handlers.report,
    "recent": handlers.recent,
    "checksum": handlers.checksum,
    "watch": handlers.watch,
    "journal": handlers.journal,
    "tenant": handlers.tenant,
    "lookup": handlers.lookup,
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if parts == ["health"]:
            return self.reply(200, b"ok")
        fn = ROUTES.get(parts[0]) if len(parts) == 2 else None
        if fn is None or not parts[1].isdigit():
            return self.reply(404, b"not found")
        body = fn(int(parts[1]))
        self.reply(200, body.encode() if isinstance(body, str) else body)

    def reply(self, code, body):
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    port = int(os.environ.get("PORT", "8080"))
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    limit = float(os.environ.get("MAX_SECONDS", "600"))
    threading.Timer(limit, server.shutdown).start()
    # POOL=N: a multiprocessing pool of N forked workers (they inherit the listening socket).
    pool = None
    if int(os.environ.get("POOL", "0")) > 0:
        import multiprocessing

        pool = multiprocessing.get_context("fork").Pool(int(os.environ["POOL"]))
    print("listening on 127.0.0.1:%d (%s build)" % (port, handlers.BUILD), file=sys.stderr)
    server.serve_forever()


if __name__ == "__main__":
    main()
