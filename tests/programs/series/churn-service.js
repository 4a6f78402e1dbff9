// A prom-client service on 127.0.0.1:PORT that allocates a lot and retains nothing: a warm,
// bounded cache of FIXED_MB built at start (never grows), short-lived garbage every tick, and
// session entries of CHURN bytes per second that expire after TTL_MS, so they are promoted to
// the old generation and the heap ramps between major GCs, which (with a large live heap) are
// tens of seconds apart. Run with --expose-gc.
//   GET /metrics  prom-client default metrics
//   GET /truth    {"truth_bytes_per_s": ...}: heapUsed after gc() now versus at start
// Usage: PORT=9464 FIXED_MB=256 CHURN=524288 TTL_MS=5000 node --expose-gc churn-service.js
'use strict';
const path = require('path');
const http = require('http');
const client = require(path.join(__dirname, '../../node/node_modules/prom-client'));

const port = Number(process.env.PORT || 9464);
const fixedMb = Number(process.env.FIXED_MB || 256);
const churn = Number(process.env.CHURN || 524288);
const ttlMs = Number(process.env.TTL_MS || 5000);
const TICK_MS = 100;
const ENTRY_BYTES = 512 * 40; // about: 512 small objects and their strings

client.collectDefaultMetrics();

// The warm cache: 256 arrays of 512 doubles per MiB, referenced for the process' life.
const warm = [];
for (let j = 0; j < fixedMb * 256; j++) {
  const a = new Array(512);
  for (let i = 0; i < 512; i++) a[i] = j + i / 3;
  warm.push(a);
}
globalThis.warmCache = warm;

const sessions = new Map();
let nextId = 0;
let carry = 0;

global.gc();
const h0 = process.memoryUsage().heapUsed;
const t0 = performance.now();

setInterval(() => {
  const now = performance.now();
  carry += (churn * TICK_MS) / 1000;
  while (carry >= ENTRY_BYTES) {
    const items = new Array(512);
    for (let i = 0; i < 512; i++) items[i] = { k: i, s: 'v' + i };
    sessions.set(nextId++, { at: now, items });
    carry -= ENTRY_BYTES;
  }
  // Expired sessions go (Map iterates in insertion order: oldest first).
  for (const [k, v] of sessions) {
    if (now - v.at <= ttlMs) break;
    sessions.delete(k);
  }
  // Short-lived garbage: a rendered response.
  let tmp = [];
  for (let i = 0; i < 2000; i++) tmp.push({ i, s: String(i) });
  tmp = JSON.stringify(tmp).length;
}, TICK_MS);

http.createServer(async (req, res) => {
  if (req.url === '/metrics') {
    res.setHeader('Content-Type', client.register.contentType);
    res.end(await client.register.metrics());
  } else if (req.url === '/truth') {
    global.gc();
    const h1 = process.memoryUsage().heapUsed;
    const elapsed = (performance.now() - t0) / 1000;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({
      truth_bytes_per_s: (h1 - h0) / elapsed, elapsed_s: elapsed, heap_start: h0, heap_end: h1,
      sessions: sessions.size,
    }));
  } else {
    res.statusCode = 404;
    res.end('not found\n');
  }
}).listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port}`));
