"""Latency analytics on FastAPI + uvicorn with numpy (pinned in scripts/setup.sh). A hold-out
of memsleuth's Python tests: written after the analysis rules and not used to build them.

Routes (GET): /analyze/<n>, /history, /health. PORT is the loopback port. Each analysis
simulates a latency sample and summarises it; the default (leaky) build keeps every sample
in the history for the /history page, BUILD=fixed keeps the last 50 summaries only. Stops by
itself after MAX_SECONDS (default 600).
"""
import os
import threading

import numpy as np
import uvicorn
from fastapi import FastAPI

BUILD = os.environ.get("BUILD", "leaky")
app = FastAPI()

# Recent analyses, for /history.
_history = []


@app.get("/analyze/{n}")
async def analyze(n: int):
    rng = np.random.default_rng(n)
    samples = rng.lognormal(mean=3.0, sigma=0.4, size=150_000)
    summary = {
        "n": n,
        "mean_ms": float(samples.mean()),
        "p99_ms": float(np.percentile(samples, 99)),
    }
    if BUILD == "fixed":
        _history.append(summary)
        del _history[:-50]
    else:
        _history.append({"summary": summary, "samples": samples})
    return summary


@app.get("/history")
async def history():
    return {"count": len(_history)}


@app.get("/health")
async def health():
    return {"ok": True}


if __name__ == "__main__":
    threading.Timer(float(os.environ.get("MAX_SECONDS", "600")), os._exit, args=(0,)).start()
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8080")), log_level="warning")
