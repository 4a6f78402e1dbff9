// A prom-client exporter on 127.0.0.1:PORT that retains RATE bytes per second on the V8 heap
// (RATE=0: steady) while churning short-lived garbage. Run with --expose-gc.
//   GET /metrics  prom-client default metrics (nodejs_heap_size_used_bytes, GC histogram, ...)
//   GET /truth    {"truth_bytes_per_s": ...}: heapUsed after gc() now versus at start, over
//                 the time elapsed (the truth the test compares memsleuth's figure with)
// Usage: PORT=9464 RATE=1048576 node --expose-gc exporter.js
'use strict';
const path = require('path');
const http = require('http');
const client = require(path.join(__dirname, '../../node/node_modules/prom-client'));

const port = Number(process.env.PORT || 9464);
const rate = Number(process.env.RATE || 0);
const TICK_MS = 100;
const CHUNK_DOUBLES = 1024; // 8 KiB of elements per retained array

client.collectDefaultMetrics();
const retained = [];
let carry = 0;

global.gc();
const h0 = process.memoryUsage().heapUsed;
const t0 = performance.now();

setInterval(() => {
  carry += (rate * TICK_MS) / 1000;
  while (carry >= CHUNK_DOUBLES * 8) {
    const a = new Array(CHUNK_DOUBLES);
    for (let i = 0; i < CHUNK_DOUBLES; i++) a[i] = Math.random();
    retained.push(a);
    carry -= CHUNK_DOUBLES * 8;
  }
  let tmp = [];
  for (let i = 0; i < 2000; i++) tmp.push({ i, s: String(i) });
  tmp = null;
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
      chunks: retained.length,
    }));
  } else {
    res.statusCode = 404;
    res.end('not found\n');
  }
}).listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port}`));
