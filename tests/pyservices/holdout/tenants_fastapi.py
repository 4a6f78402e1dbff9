"""Quotes fetched through an HTTP client per tenant, on FastAPI + uvicorn (pinned in
scripts/setup.sh). A hold-out of memsleuth's Python tests: written after the analysis rules
and not used to build them.

Routes (GET): /quote/<n> (tenant "tenant-<n>"), /health. PORT is the loopback port; each
quote calls this service's own /health as its upstream. BUILD=fixed shares one client;
the default (leaky) build keeps a requests.Session per tenant and never closes it. Stops by
itself after MAX_SECONDS (default 600).
"""
import os
import threading

import requests
import uvicorn
from fastapi import FastAPI

BUILD = os.environ.get("BUILD", "leaky")
PORT = int(os.environ.get("PORT", "8080"))

app = FastAPI()

# One HTTP client per tenant, so each tenant's headers and cookies stay apart.
_clients = {}
_shared = requests.Session()


def client_for(tenant):
    if BUILD == "fixed":
        return _shared
    session = _clients.get(tenant)
    if session is None:
        session = requests.Session()
        session.headers["X-Tenant"] = tenant
        _clients[tenant] = session
    return session


@app.get("/quote/{n}")
def quote(n: int):
    tenant = "tenant-%d" % n
    client = client_for(tenant)
    headers = {"X-Tenant": tenant} if BUILD == "fixed" else None
    r = client.get("http://127.0.0.1:%d/health" % PORT, headers=headers, timeout=10)
    return {"tenant": tenant, "upstream": r.status_code, "price": (n * 37) % 1000 / 10}


@app.get("/health")
def health():
    return {"ok": True}


if __name__ == "__main__":
    threading.Timer(float(os.environ.get("MAX_SECONDS", "600")), os._exit, args=(0,)).start()
    uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning")
