#!/usr/bin/env bash
# Makes the built-in evidence of `memsleuth demo` (demo/evidence/), for real:
#   1. runs demo/service.js (a Node HTTP service that leaks EventEmitter listeners, started
#      by run.js under the script name "service.js") with --trace-gc, a 256 MiB heap limit,
#      --expose-gc, and the checkpoint probe (probe.js, loaded with -r);
#   2. scrapes it with a real Prometheus (Debian's package) on loopback, 1 s interval;
#   3. drives it with demo/capture.js: REQUESTS requests at RATE/s, a checkpoint (full GC,
#      heap used) every CHECKPOINT_EVERY requests, heap snapshots at three checkpoints, and
#      writes capture.json (schema memsleuth.capture.v1) with the request counts;
#   4. saves the Prometheus range of the heap, old space and GC counts (query_range JSON);
#   5. gzips everything (gzip -n: no name or time in the header) into demo/evidence/.
# Needs: node, prometheus, curl, python3, npm (prom-client from tests/node).
# Takes about 8 minutes with the defaults (8000 requests at 20/s: a window over the 6 minutes
# an hourly rate needs).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${OUT:-$ROOT/demo/evidence}"
RATE="${RATE:-20}"
REQUESTS="${REQUESTS:-8000}"
CHECKPOINT_EVERY="${CHECKPOINT_EVERY:-500}"
SNAPSHOTS_AT="${SNAPSHOTS_AT:-1000,4500,8000}"
SERVICE=demo-service
LIMIT_MIB=256

if [ ! -d "$ROOT/tests/node/node_modules/prom-client" ]; then
  (cd "$ROOT/tests/node" && npm ci --no-audit --no-fund --loglevel=error)
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
SVC_PORT="$(free_port)"
PROBE_PORT="$(free_port)"
PROM_PORT="$(free_port)"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# The service runs from a copy in the work directory: its snapshots land there.
cp "$ROOT/demo/service.js" "$ROOT/demo/run.js" "$ROOT/demo/probe.js" "$ROOT/demo/capture.js" "$WORK/"
cd "$WORK"
NODE_PATH="$ROOT/tests/node/node_modules" PORT="$SVC_PORT" PROBE_PORT="$PROBE_PORT" \
  node --expose-gc --trace-gc --max-old-space-size=$LIMIT_MIB -r ./probe.js run.js \
  > gc.log 2> service.err &
SVC_PID=$!
PIDS+=("$SVC_PID")

cat > prometheus.yml <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: $SERVICE
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: ['127.0.0.1:$SVC_PORT']
YML
prometheus --config.file=prometheus.yml --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address="127.0.0.1:$PROM_PORT" > prometheus.log 2>&1 &
PROM_PID=$!
PIDS+=("$PROM_PID")
for _ in $(seq 1 200); do
  curl -sf "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null && break
  sleep 0.1
done
kill -0 "$PROM_PID"
# the scrape manager hands targets over on a 5 s tick: let a few baseline samples arrive
sleep 10
START=$(date +%s)

PORT="$SVC_PORT" PROBE_PORT="$PROBE_PORT" RATE="$RATE" REQUESTS="$REQUESTS" \
  CHECKPOINT_EVERY="$CHECKPOINT_EVERY" SNAPSHOTS_AT="$SNAPSHOTS_AT" OUT_DIR="$WORK" \
  node capture.js > capture.log 2>&1
sleep 2
END=$(date +%s)

curl -sfG "http://127.0.0.1:$PROM_PORT/api/v1/query_range" \
  --data-urlencode "query={__name__=~\"nodejs_heap_size_used_bytes|nodejs_heap_space_size_used_bytes|nodejs_gc_duration_seconds_count\",job=\"$SERVICE\"}" \
  --data-urlencode "start=$START" --data-urlencode "end=$END" --data-urlencode "step=1s" \
  > prometheus-range.json

kill "$SVC_PID"; wait "$SVC_PID" 2>/dev/null || true
kill "$PROM_PID"; wait "$PROM_PID" 2>/dev/null || true

rm -rf "$OUT"
mkdir -p "$OUT"
# Fixed names in the repository (the binary embeds them); capture.json keeps the names Node
# gave the snapshots (they carry the time each was taken) and `memsleuth demo` restores them.
i=0
for f in $(python3 -c 'import json; print("\n".join(json.load(open("capture.json"))["snapshots"]))'); do
  i=$((i + 1))
  gzip -9 -n -c "$f" > "$OUT/snapshot-$i.heapsnapshot.gz"
done
[ "$i" = 3 ] || { echo "expected 3 snapshots, got $i" >&2; exit 1; }
cp capture.json "$OUT/capture.json"
gzip -9 -n -c gc.log > "$OUT/gc.log.gz"
gzip -9 -n -c prometheus-range.json > "$OUT/prometheus-range.json.gz"
cat > "$OUT/MANIFEST" <<MAN
service=$SERVICE
memory_limit_bytes=$((LIMIT_MIB * 1024 * 1024))
rate_per_second=$RATE
requests=$REQUESTS
checkpoint_every=$CHECKPOINT_EVERY
snapshots_at=$SNAPSHOTS_AT
range_start=$START
range_end=$END
node=$(node --version)
prometheus=$(prometheus --version 2>&1 | head -1)
MAN
ls -l "$OUT"
cat capture.log
