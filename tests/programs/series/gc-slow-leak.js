// A service-like loop that leaks a small record per "request" and makes only short-lived
// garbage otherwise, so a short `node --trace-gc` run shows few mark-compacts (the heap limit
// grows faster than the leak fills it) between many scavenges. Run with --expose-gc: the
// truth (heapUsed after gc() at the start and the end, over the time elapsed) is printed as
// one JSON line on stdout, as gc-retain.js does:
//   {"truth_bytes_per_s": ..., "elapsed_s": ..., "heap_start": ..., "heap_end": ...}
// Usage: node --expose-gc --trace-gc gc-slow-leak.js BYTES_PER_S SECONDS
'use strict';
const rate = Number(process.argv[2] || 0);
const seconds = Number(process.argv[3] || 30);
const TICK_MS = 20;
const sessions = []; // never pruned: the leak

function handle(i) {
  // The response: short-lived strings and objects.
  const parts = [];
  for (let k = 0; k < 300; k++) parts.push({ k, text: `row ${i}-${k}` });
  return JSON.stringify(parts).length;
}

global.gc();
const h0 = process.memoryUsage().heapUsed;
const t0 = performance.now();
let carry = 0;
let i = 0;
const timer = setInterval(() => {
  const el = (performance.now() - t0) / 1000;
  if (el >= seconds) {
    clearInterval(timer);
    global.gc();
    const h1 = process.memoryUsage().heapUsed;
    const elapsed = (performance.now() - t0) / 1000;
    console.log(JSON.stringify({
      truth_bytes_per_s: (h1 - h0) / elapsed, elapsed_s: elapsed, heap_start: h0, heap_end: h1,
      sessions: sessions.length,
    }));
    return;
  }
  for (let r = 0; r < 10; r++) handle(i++);
  carry += (rate * TICK_MS) / 1000;
  while (carry >= 4096) {
    // About 4 KiB per session: a 500-element array of doubles and its owner.
    const data = new Array(500);
    for (let k = 0; k < 500; k++) data[k] = i + k / 7;
    sessions.push({ id: i, data });
    carry -= 4096;
  }
}, TICK_MS);
