// Retains RATE bytes per second on the V8 heap for SECONDS (RATE=0: retains nothing) while
// churning short- and medium-lived garbage, so `node --trace-gc` shows scavenges and regular
// mark-compacts. Run with --expose-gc: the truth is measured in-process with gc() and
// heapUsed at the start and the end, and printed as one JSON line on stdout:
//   {"truth_bytes_per_s": ..., "elapsed_s": ..., "heap_start": ..., "heap_end": ...}
// Usage: node --expose-gc --trace-gc gc-retain.js RATE SECONDS [WARMUP_FRACTION]
// WARMUP_FRACTION f in (0,1): retain only during the first f of the run, then stay flat.
'use strict';
const rate = Number(process.argv[2] || 0);
const seconds = Number(process.argv[3] || 10);
const warmup = Number(process.argv[4] || 1);
const TICK_MS = 50;
// An array of 1024 doubles costs 8 KiB of elements plus a small header.
const CHUNK_DOUBLES = 1024;

const retained = [];
let medium = [];
let carry = 0;

function tick(elapsedS) {
  if (elapsedS < warmup * seconds) {
    carry += (rate * TICK_MS) / 1000;
    while (carry >= CHUNK_DOUBLES * 8) {
      const a = new Array(CHUNK_DOUBLES);
      for (let i = 0; i < CHUNK_DOUBLES; i++) a[i] = Math.random();
      retained.push(a);
      carry -= CHUNK_DOUBLES * 8;
    }
  }
  // Short-lived garbage: dies in the young generation.
  let tmp = [];
  for (let i = 0; i < 20000; i++) tmp.push({ i, s: 'g' + i });
  tmp = null;
  // Medium-lived garbage: survives a few scavenges, is promoted, then dropped, so the old
  // generation fills with garbage and mark-compacts run regularly (as in a real service).
  const m = [];
  for (let i = 0; i < 2000; i++) m.push({ i, v: [i, i + 1, i + 2] });
  medium.push(m);
  if (medium.length > 20) medium = [];
}

global.gc();
const h0 = process.memoryUsage().heapUsed;
const t0 = performance.now();
const timer = setInterval(() => {
  const el = (performance.now() - t0) / 1000;
  if (el >= seconds) {
    clearInterval(timer);
    medium = [];
    global.gc();
    const h1 = process.memoryUsage().heapUsed;
    const elapsed = (performance.now() - t0) / 1000;
    const activeS = Math.min(elapsed, warmup * seconds);
    console.log(JSON.stringify({
      truth_bytes_per_s: (h1 - h0) / elapsed,
      truth_active_bytes_per_s: (h1 - h0) / activeS,
      elapsed_s: elapsed, heap_start: h0, heap_end: h1, chunks: retained.length,
    }));
    return;
  }
  tick(el);
}, TICK_MS);
