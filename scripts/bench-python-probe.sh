#!/usr/bin/env bash
# Overhead of memsleuth's Python probe: requests per second of the stdlib test service
# (tests/pyservices/stdlib, BUILD=fixed) without the probe, with it (tracemalloc at 25 frames
# and the idle listener), and the time one checkpoint takes. Prints figures; asserts nothing.
# Usage: scripts/bench-python-probe.sh [REQUESTS] [ROUTE]   (defaults: 2000 quote)
set -euo pipefail
cd "$(dirname "$0")/.."
REQ=${1:-2000}
ROUTE=${2:-quote}
PY=${MEMSLEUTH_PYVENV:-target/pyvenv}/bin/python
[ -x "$PY" ] || { echo "no venv: run scripts/setup.sh" >&2; exit 2; }
cargo build -q --release
BIN=target/release/memsleuth
WORK=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Sends REQ GETs over 4 keep-alive connections; prints requests per second.
load() {
  "$PY" - "$1" "$REQ" "$ROUTE" <<'PY'
import http.client, sys, threading, time
port, n, route = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def worker(k, out):
    c = http.client.HTTPConnection("127.0.0.1", port)
    for i in range(k, n, 4):
        c.request("GET", "/%s/%d" % (route, i)); c.getresponse().read()
    c.close()
for _ in range(100):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port); c.request("GET", "/health"); c.getresponse().read(); break
    except OSError:
        time.sleep(0.05)
t = time.monotonic()
ts = [threading.Thread(target=worker, args=(k, None)) for k in range(4)]
[x.start() for x in ts]; [x.join() for x in ts]
print("%.0f" % (n / (time.monotonic() - t)))
PY
}

run() { # $1 = with|without
  local port; port=$(free_port)
  if [ "$1" = with ]; then
    mkdir -p "$WORK/probe"
    # The probe files as memsleuth writes them (the binary ships these bytes).
    cp src/python/probe/memsleuth_probe.py src/python/probe/sitecustomize.py "$WORK/probe/"
    (cd tests/pyservices/stdlib && BUILD=fixed PORT=$port DATA_DIR="$WORK" PYTHONPATH="$WORK/probe" \
       MEMSLEUTH_PROBE_DIR="$WORK/probe" MEMSLEUTH_PROBE_TOKEN=bench exec "$PY" app.py 2>/dev/null) &
  else
    (cd tests/pyservices/stdlib && BUILD=fixed PORT=$port DATA_DIR="$WORK" exec "$PY" app.py 2>/dev/null) &
  fi
  PID=$!
  local rps; rps=$(load "$port")
  echo "$1 probe: $rps requests/s ($REQ requests to /$ROUTE/{i}, 4 connections)"
  if [ "$1" = with ]; then
    local pport; pport=$("$PY" -c "import json,glob; print(json.load(open(glob.glob('$WORK/probe/probe-*.port')[0]))['port'])")
    for k in 1 2; do
      "$PY" - "$pport" "$WORK/cp$k.json" <<'PY'
import json, socket, sys, time
t = time.monotonic()
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall((json.dumps({"token": "bench", "cmd": "checkpoint", "out": sys.argv[2]}) + "\n").encode())
r = json.loads(s.makefile().readline())
print("checkpoint %d: %.2f s wall, %.2f s in the probe, %d KiB written" % (r["seq"], time.monotonic() - t, r["probe_seconds"], len(open(sys.argv[2], "rb").read()) // 1024))
PY
    done
    "$BIN" python "$WORK/cp1.json" "$WORK/cp2.json" --format json >/dev/null && echo "analysis of the two checkpoints: ok"
  fi
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
}

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
run without
run with
