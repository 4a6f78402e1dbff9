"""An orders service on Flask (pinned in scripts/setup.sh), for memsleuth's Python tests.

Routes (GET): /session/<n>, /notify/<n>, /fetch/<n>, /label/<n>, /history/<n>, /health.
PORT (environment) is the loopback port; BUILD=fixed selects the fixed code (default:
leaky). Stops by itself after MAX_SECONDS (default 600).
"""
import collections
import functools
import os
import socket
import threading

from flask import Flask, jsonify

BUILD = os.environ.get("BUILD", "leaky")
app = Flask(__name__)


class SessionStore:
    """Sessions by id. Leaky: never expires them."""

    _sessions = {}
    LIMIT = 100

    @classmethod
    def open(cls, sid):
        session = {"id": sid, "cart": [{"sku": i, "qty": 1} for i in range(20)], "token": os.urandom(16).hex()}
        cls._sessions[sid] = session
        if BUILD == "fixed" and len(cls._sessions) > cls.LIMIT:
            cls._sessions.pop(next(iter(cls._sessions)))
        return session


def _expire(order_id):
    pass


_timers = []


@app.route("/session/<int:n>")
def session(n):
    s = SessionStore.open("s%d" % n)
    return jsonify(items=len(s["cart"]))


@app.route("/notify/<int:n>")
def notify(n):
    if BUILD == "fixed":
        _expire(n)
        return "scheduled"
    t = threading.Timer(3600, _expire, args=(n,))
    t.daemon = True
    t.start()
    return "scheduled"


_upstreams = []


@app.route("/fetch/<int:n>")
def fetch(n):
    port = int(os.environ["PORT"])
    if BUILD == "fixed":
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(b"GET /health HTTP/1.0\r\n\r\n")
            conn.recv(64)
        return "fetched"
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall(b"GET /health HTTP/1.0\r\n\r\n")
    conn.recv(64)
    _upstreams.append(conn)
    return "fetched"


def _label(order_id):
    return ("order-%d " % order_id) * 40


label_of = functools.lru_cache(maxsize=256)(_label) if BUILD == "fixed" else functools.cache(_label)


@app.route("/label/<int:n>")
def label(n):
    return label_of(n)


_history = collections.deque(maxlen=100)


@app.route("/history/<int:n>")
def history(n):
    _history.append({"n": n, "payload": "x" * 512})
    return jsonify(size=len(_history))


@app.route("/health")
def health():
    return "ok"


if __name__ == "__main__":
    limit = float(os.environ.get("MAX_SECONDS", "600"))
    threading.Timer(limit, os._exit, args=(0,)).start()
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "8080")), threaded=True)
