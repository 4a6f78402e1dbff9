#!/usr/bin/env bash
# Capture benchmark (a script that prints figures, not a test).
#
#   scripts/bench-capture.sh
#
# Runs `memsleuth capture --no-report` on scripts/bench-capture-service.js, an HTTP service
# holding about 150 MB of live objects, with the built-in load (REQUESTS requests at
# concurrency 8, snapshots at 10 %, 50 % and 100 %, 10 memory-only checkpoints), then:
#   - snapshot streaming: size, time and throughput of each snapshot taken over the inspector
#     protocol and written to disk, beside the same service writing a snapshot in-process
#     with v8.writeHeapSnapshot (the floor: V8's own serialisation, no transport);
#   - the capture's own overhead: time the load was paused for checkpoints (forced GC,
#     measurements, snapshots) against the time it ran, the forced GC's pause, requests/s
#     and latency while the load ran, the service's RSS before and after the snapshots, and
#     memsleuth's own peak RSS (sampled from /proc every 20 ms: streaming keeps it flat);
#   - --track-allocations against a plain capture on a small heap (TRACK_RECORDS records,
#     TRACK_REQUESTS requests): V8's inspector runs a full GC every 50 ms while it tracks
#     allocations (to report heap statistics), so the service slows down with its heap size;
#     on the 150 MB heap the load would take many minutes.
#
# Environment: REQUESTS (default 20000), BENCH_RECORDS (records the service holds, default
# 350000, about 150 MB), TRACK_RECORDS (default 30000), TRACK_REQUESTS (default 2000),
# NO_BUILD=1 (do not build), MEMSLEUTH (binary, default target/release/memsleuth),
# BENCH_DIR (scratch, default target/bench-capture; removed after).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
REQUESTS=${REQUESTS:-20000}
TRACK_RECORDS=${TRACK_RECORDS:-30000}
TRACK_REQUESTS=${TRACK_REQUESTS:-2000}
BIN=${MEMSLEUTH:-$repo/target/release/memsleuth}
BENCH_DIR=${BENCH_DIR:-$repo/target/bench-capture}
export BENCH_RECORDS=${BENCH_RECORDS:-350000}
export BENCH_SNAPSHOT_DIR=$BENCH_DIR
log() { echo "bench-capture: $*" >&2; }

if [ -z "${NO_BUILD:-}" ]; then
  log "cargo build --release"
  cargo build --release --quiet
fi
rm -rf "$BENCH_DIR"
mkdir -p "$BENCH_DIR"
trap 'rm -rf "$BENCH_DIR"' EXIT

# Runs one capture into $BENCH_DIR/$1 with $2 requests (extra flags after), sampling
# memsleuth's RSS.
run_capture() {
  local name=$1 requests=$2; shift 2
  local out="$BENCH_DIR/$name"
  "$BIN" capture --out "$out" --no-report --format json --requests "$requests" \
    --url 'http://127.0.0.1:{port}/item/{i}' "$@" \
    -- node "$repo/scripts/bench-capture-service.js" >"$BENCH_DIR/$name.json" 2>"$BENCH_DIR/$name.err" &
  local pid=$! peak=0 rss cpu=0 svc="" svc_cpu=0 t
  # CPU seconds (user + system) of a pid from /proc/PID/stat, in clock ticks.
  ticks() { awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat" 2>/dev/null; }
  while kill -0 "$pid" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ -n "$rss" ] && [ "$rss" -gt "$peak" ] && peak=$rss
    # The process may be gone between the check and the read: under `set -e` a failed
    # read must not end the script (it did, silently, while memsleuth was still writing).
    t=$(ticks "$pid" || true); [ -n "$t" ] && cpu=$t
    # The .err file may not exist yet when the first sample is taken.
    [ -z "$svc" ] && svc=$(sed -n 's/.*(pid \([0-9]*\).*/\1/p' "$BENCH_DIR/$name.err" 2>/dev/null | head -1 || true)
    if [ -n "$svc" ]; then t=$(ticks "$svc" || true); [ -n "$t" ] && svc_cpu=$t; fi
    sleep 0.02
  done
  if ! wait "$pid"; then
    log "capture $name failed:"; cat "$BENCH_DIR/$name.err" >&2; exit 1
  fi
  echo "$peak $cpu $svc_cpu $(getconf CLK_TCK)" >"$BENCH_DIR/$name.peak"
}

# The in-process baseline: the service writes its own snapshot (3 times, the best is kept).
baseline() {
  local port
  port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
  PORT=$port node "$repo/scripts/bench-capture-service.js" >/dev/null &
  local svc=$!
  node -e "
    const http = require('http');
    const get = (p) => new Promise((ok, ko) => http.get({ host: '127.0.0.1', port: $port, path: p }, (r) => {
      let b = ''; r.on('data', (c) => (b += c)); r.on('end', () => ok(b)); }).on('error', ko));
    (async () => {
      for (let k = 0; k < 200; k++) { try { await get('/item/1'); break; } catch { await new Promise((r) => setTimeout(r, 100)); } }
      let best = null;
      for (let k = 0; k < 3; k++) { const r = JSON.parse(await get('/__bench/write-snapshot')); if (!best || r.ms < best.ms) best = r; }
      console.log(JSON.stringify(best));
    })();" >"$BENCH_DIR/baseline.json"
  kill "$svc"; wait "$svc" 2>/dev/null || true
}

log "capture: $REQUESTS requests, service with $BENCH_RECORDS records"
run_capture plain "$REQUESTS"
log "in-process v8.writeHeapSnapshot baseline"
baseline
log "small heap ($TRACK_RECORDS records): plain, then --track-allocations"
BENCH_RECORDS=$TRACK_RECORDS run_capture small "$TRACK_REQUESTS"
BENCH_RECORDS=$TRACK_RECORDS run_capture tracked "$TRACK_REQUESTS" --track-allocations

node - "$BENCH_DIR" <<'JS'
const fs = require('fs');
const dir = process.argv[2];
const mib = (b) => (b / 1048576).toFixed(1) + ' MiB';
const base = JSON.parse(fs.readFileSync(`${dir}/baseline.json`, 'utf8'));
console.log(`memsleuth capture benchmark (Node ${process.version}, ${require('os').cpus().length} cores)`);
console.log(`in-process v8.writeHeapSnapshot: ${mib(base.bytes)} in ${(base.ms / 1000).toFixed(2)} s = ${(base.bytes / 1048576 / (base.ms / 1000)).toFixed(0)} MiB/s`);
const titles = { plain: 'capture', small: 'capture, small heap', tracked: 'capture --track-allocations, small heap' };
for (const name of ['plain', 'small', 'tracked']) {
  const c = JSON.parse(fs.readFileSync(`${dir}/${name}.json`, 'utf8')).capture;
  const [peakKb, cpuTicks, svcTicks, hz] = fs.readFileSync(`${dir}/${name}.peak`, 'utf8').trim().split(' ').map(Number);
  const peak = peakKb * 1024;
  const cps = c.checkpoints;
  // The baseline is taken before the load starts and the last checkpoint after it ends:
  // the pauses inside the load are those of the checkpoints in between.
  const pause = cps.slice(1, -1).reduce((a, k) => a + k.pause_ms, 0) / 1000;
  const load = c.duration_s - pause;
  const total = c.duration_s + (cps[0].pause_ms + cps[cps.length - 1].pause_ms) / 1000;
  console.log(`\n${titles[name]}: ${c.requests_total} requests at concurrency ${c.concurrency}, ${c.errors} errors`);
  for (const k of cps.filter((k) => k.snapshot)) {
    console.log(`  ${k.snapshot}: ${mib(k.snapshot_bytes)} in ${(k.snapshot_ms / 1000).toFixed(2)} s = ${(k.snapshot_bytes / 1048576 / (k.snapshot_ms / 1000)).toFixed(0)} MiB/s over the inspector (heap used ${mib(k.heap_used_bytes)}, service RSS ${mib(k.rss_bytes)})`);
  }
  const gcs = cps.map((k) => k.gc_ms).sort((a, b) => a - b);
  console.log(`  forced full GC per checkpoint: median ${gcs[gcs.length >> 1].toFixed(0)} ms, max ${gcs[gcs.length - 1].toFixed(0)} ms (${cps.length} checkpoints)`);
  console.log(`  load ran ${load.toFixed(1)} s (${(c.requests_total / load).toFixed(0)} requests/s; latency p50 ${c.latency_ms.p50.toFixed(2)} ms, p99 ${c.latency_ms.p99.toFixed(2)} ms), checkpoints took ${(total - load).toFixed(1)} s: ${(100 * (total - load) / total).toFixed(0)} % of the capture's ${total.toFixed(1)} s`);
  console.log(`  CPU: memsleuth ${(cpuTicks / hz).toFixed(1)} s, the service ${(svcTicks / hz).toFixed(1)} s`);
  console.log(`  service RSS: ${mib(cps[0].rss_bytes)} before the load, ${mib(cps[cps.length - 1].rss_bytes)} after the last snapshot`);
  console.log(`  memsleuth peak RSS during the capture: ${mib(peak)}`);
}
JS
