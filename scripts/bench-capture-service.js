// The service of scripts/bench-capture.sh: an HTTP service holding a large heap (about
// 150 MB of live records by default; BENCH_RECORDS changes it), answering GET /item/:n.
// GET /__bench/write-snapshot writes a heap snapshot in-process (v8.writeHeapSnapshot) into
// BENCH_SNAPSHOT_DIR and answers {ms, bytes}: the baseline for memsleuth's streaming.
'use strict';
const http = require('http');
const v8 = require('v8');
const fs = require('fs');
const path = require('path');

const N = Number(process.env.BENCH_RECORDS || 350000);
const records = [];
for (let i = 0; i < N; i++) {
  records.push({
    id: i,
    name: `customer-${i}`,
    email: `customer.${i}@example.test`,
    tags: [`tier-${i % 5}`, `region-${i % 37}`],
    score: i * 0.5,
    address: { street: `${i % 997} Main Street`, zip: String(10000 + (i % 89999)) },
  });
}

const server = http.createServer((req, res) => {
  if (req.url === '/__bench/write-snapshot') {
    const dir = process.env.BENCH_SNAPSHOT_DIR || '/tmp';
    const file = path.join(dir, `inprocess-${process.pid}.heapsnapshot`);
    const t0 = process.hrtime.bigint();
    v8.writeHeapSnapshot(file);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const bytes = fs.statSync(file).size;
    fs.unlinkSync(file);
    res.end(JSON.stringify({ ms, bytes }));
    return;
  }
  const m = /^\/item\/(\d+)$/.exec(req.url);
  const r = m ? records[Number(m[1]) % N] : null;
  const body = JSON.stringify(r || { error: 'not found' });
  res.writeHead(r ? 200 : 404, { 'content-type': 'application/json' });
  res.end(body);
});
server.listen(Number(process.env.PORT || 8080), '127.0.0.1', () => {
  const u = process.memoryUsage();
  console.log(`bench service: ${N} records, heap used ${(u.heapUsed / 1048576).toFixed(0)} MiB, listening on ${process.env.PORT}`);
});
