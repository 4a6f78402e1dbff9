#!/usr/bin/env bash
# Makes the built-in evidence of `memsleuth demo` (demo/evidence/), for real:
#   1. runs demo/service.js (a Node HTTP service that leaks EventEmitter listeners) with
#      --trace-gc, a 256 MB heap limit, and --heapsnapshot-signal;
#   2. scrapes it with a real Prometheus (Debian's package) on loopback, 1 s interval;
#   3. drives it with demo/load.js (bounded: RATE req/s for LOAD_SECONDS, loopback only);
#   4. takes 3 heap snapshots during the load (SIGUSR2);
#   5. saves the Prometheus range of nodejs_heap_size_used_bytes (query_range JSON);
#   6. gzips everything (gzip -n: no name or time in the header) into demo/evidence/.
# Needs: node, prometheus, curl, python3, npm (prom-client from tests/node). Takes ~2 minutes.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/demo/evidence"
RATE="${RATE:-20}"
LOAD_SECONDS="${LOAD_SECONDS:-90}"
SERVICE=demo-service

if [ ! -d "$ROOT/tests/node/node_modules/prom-client" ]; then
  (cd "$ROOT/tests/node" && npm ci --no-audit --no-fund --loglevel=error)
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
SVC_PORT="$(free_port)"
PROM_PORT="$(free_port)"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

cd "$WORK"
NODE_PATH="$ROOT/tests/node/node_modules" PORT="$SVC_PORT" \
  node --trace-gc --max-old-space-size=256 --heapsnapshot-signal=SIGUSR2 \
  "$ROOT/demo/service.js" > gc.log 2> service.err &
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

PORT="$SVC_PORT" RATE="$RATE" SECONDS="$LOAD_SECONDS" node "$ROOT/demo/load.js" > load.log 2>&1 &
LOAD_PID=$!
PIDS+=("$LOAD_PID")

snapshot() {
  local want=$1
  kill -USR2 "$SVC_PID"
  for _ in $(seq 1 300); do
    [ "$(ls Heap.*.heapsnapshot 2>/dev/null | wc -l)" -ge "$want" ] && grep -q "Wrote snapshot" service.err gc.log 2>/dev/null && break
    sleep 0.1
  done
  sleep 2
}
sleep 10; snapshot 1
sleep $(( LOAD_SECONDS / 2 - 12 )); snapshot 2
wait "$LOAD_PID"
sleep 2; snapshot 3
END=$(date +%s)

curl -sfG "http://127.0.0.1:$PROM_PORT/api/v1/query_range" \
  --data-urlencode "query=nodejs_heap_size_used_bytes{job=\"$SERVICE\"}" \
  --data-urlencode "start=$START" --data-urlencode "end=$END" --data-urlencode "step=1s" \
  > prometheus-heap-range.json

kill "$SVC_PID"; wait "$SVC_PID" 2>/dev/null || true
kill "$PROM_PID"; wait "$PROM_PID" 2>/dev/null || true

rm -rf "$OUT"
mkdir -p "$OUT"
# fixed names in the repo (the binary embeds them); the names Node gave, which carry the time
# each snapshot was taken, are kept in MANIFEST and restored by `memsleuth demo`
i=0
SNAP_LINES=""
for f in $(ls Heap.*.heapsnapshot | sort); do
  i=$((i + 1))
  gzip -9 -n -c "$f" > "$OUT/snapshot-$i.heapsnapshot.gz"
  SNAP_LINES="${SNAP_LINES}snapshot_$i=$f
"
done
[ "$i" = 3 ] || { echo "expected 3 snapshots, got $i" >&2; exit 1; }
gzip -9 -n -c gc.log > "$OUT/gc.log.gz"
gzip -9 -n -c prometheus-heap-range.json > "$OUT/prometheus-heap-range.json.gz"
cat > "$OUT/MANIFEST" <<MAN
${SNAP_LINES}service=$SERVICE
memory_limit_bytes=268435456
rate_per_second=$RATE
load_seconds=$LOAD_SECONDS
range_start=$START
range_end=$END
node=$(node --version)
prometheus=$(prometheus --version 2>&1 | head -1)
MAN
ls -l "$OUT"
cat load.log
