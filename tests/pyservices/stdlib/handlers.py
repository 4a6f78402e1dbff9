"""Request handlers of the quote service. BUILD=leaky (default) keeps memory or resources per
request in eleven different ways; BUILD=fixed is the same service done right. /recent is
bounded in both."""
import collections
import functools
import json
import logging
import os
import sqlite3
import tempfile
import threading

import events

BUILD = os.environ.get("BUILD", "leaky")
DATA_DIR = os.environ.get("DATA_DIR") or tempfile.mkdtemp(prefix="quotes-")

# Rendered pages, keyed by path (leaky: never evicted).
_rendered = {}
# Fixed build: a small LRU of rendered pages.
_rendered_lru = collections.OrderedDict()
RENDER_CACHE_SIZE = 64

# Recent requests, for /recent (bounded in both builds).
_recent = collections.deque(maxlen=200)

# Open audit logs (leaky: one per request, never closed).
_audit_logs = []


def render(n):
    rows = ["<tr><td>quote %d</td><td>%d</td></tr>" % (n, i * n) for i in range(40)]
    return "<table>" + "".join(rows) + "</table>"


def quote_page(n):
    key = "/quote/%d" % n
    if BUILD == "fixed":
        page = _rendered_lru.get(key)
        if page is None:
            page = render(n)
            _rendered_lru[key] = page
            if len(_rendered_lru) > RENDER_CACHE_SIZE:
                _rendered_lru.popitem(last=False)
        return page
    page = _rendered.get(key)
    if page is None:
        page = render(n)
        _rendered[key] = page
    return page


def _price_of(symbol):
    base = sum(ord(c) for c in symbol)
    return {"symbol": symbol, "price": base / 7.0, "history": [base * i for i in range(50)]}


if BUILD == "fixed":
    price_of = functools.lru_cache(maxsize=128)(_price_of)
else:
    price_of = functools.lru_cache(maxsize=None)(_price_of)


def price(n):
    return json.dumps(price_of("SYM%d" % n))


def subscribe(n):
    state = {"n": n, "seen": [0] * 64}

    def on_rate_change(value):
        state["seen"].append(value)

    events.subscribe("rates", on_rate_change)
    try:
        events.publish("rates", n)
        return "subscribed %d" % len(state["seen"])
    finally:
        if BUILD == "fixed":
            events.unsubscribe("rates", on_rate_change)


def audit(n):
    path = os.path.join(DATA_DIR, "audit-%d.log" % (n % 50))
    if BUILD == "fixed":
        with open(path, "a") as log:
            log.write("request %d\n" % n)
        return "audited"
    log = open(path, "a")
    log.write("request %d\n" % n)
    log.flush()
    _audit_logs.append(log)
    return "audited"


_DATASET = os.path.join(DATA_DIR, "dataset.json")
_reports = []


def _ensure_dataset():
    if not os.path.exists(_DATASET):
        rows = [{"id": i, "name": "item-%d" % i, "score": i % 97} for i in range(6000)]
        tmp = _DATASET + ".tmp"
        with open(tmp, "w") as f:
            json.dump(rows, f)
        os.replace(tmp, _DATASET)


def report(n):
    _ensure_dataset()
    if BUILD == "fixed":
        total = 0
        with open(_DATASET) as f:
            for row in json.load(f):
                total += row["score"]
        return "total %d" % total
    with open(_DATASET) as f:
        rows = json.load(f)
    _reports.append(rows)
    return "total %d" % sum(r["score"] for r in rows)


def recent(n):
    _recent.append(("/recent/%d" % n, bytearray(2048)))
    return "recent %d" % len(_recent)


def checksum(n):
    """Checksum of a data file, read through a raw descriptor (leaky: never closed)."""
    path = os.path.join(DATA_DIR, "audit-%d.log" % (n % 50))
    if not os.path.exists(path):
        with open(path, "a") as f:
            f.write("created for checksum %d\n" % n)
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, 65536)
    finally:
        if BUILD == "fixed":
            os.close(fd)
    return "checksum %d" % (sum(data) % 65521)


_watch_stop = threading.Event()


def _watch_order(n, stop):
    # Polls the order until it settles (leaky: an order that never settles is polled for
    # ever).
    while not stop.wait(1.0):
        pass


def watch(n):
    """Starts a watcher thread per order; the fixed build polls once, inline."""
    if BUILD == "fixed":
        return "watched %d" % n
    t = threading.Thread(target=_watch_order, args=(n, _watch_stop), daemon=True)
    t.start()
    return "watching %d" % n


# Requests journaled for replay (leaky: the buffer is never flushed or trimmed).
_journal = bytearray()


def journal(n):
    entry = ("GET /journal/%d " % n).encode() + bytes(2000)
    if BUILD == "fixed":
        return "journaled %d" % len(entry)
    _journal.extend(entry)
    return "journaled %d" % len(_journal)


def tenant(n):
    """Logs the tenant's request (leaky: a logger per tenant id, which logging keeps for ever
    in its own table; fixed: one logger, the tenant id in the record)."""
    if BUILD == "fixed":
        log = logging.getLogger("quotes.tenant")
        log.debug("request", extra={"tenant": n})
        return "tenant %d" % n
    log = logging.getLogger("quotes.tenant.%d" % n)
    log.debug("request")
    return "tenant %d" % n


# Database connections opened per request (leaky: kept open in a module list).
_lookups = []


def lookup(n):
    """Looks the quote up in a scratch database (leaky: a connection per request, never
    closed; fixed: closed when the lookup is done)."""
    db = sqlite3.connect(":memory:", check_same_thread=False)
    try:
        db.execute("create table quotes (id integer, price real)")
        db.execute("insert into quotes values (?, ?)", (n, n / 7.0))
        (price,) = db.execute("select price from quotes where id = ?", (n,)).fetchone()
    finally:
        if BUILD == "fixed":
            db.close()
        else:
            _lookups.append(db)
    return "lookup %d: %.2f" % (n, price)
