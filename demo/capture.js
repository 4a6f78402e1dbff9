// The demo's load test with checkpoints, writing capture.json (schema memsleuth.capture.v1,
// the format `memsleuth capture` writes). Bounded and loopback only: REQUESTS requests to
// http://127.0.0.1:PORT/api/quote at RATE per second with CONCURRENCY in flight. Every
// CHECKPOINT_EVERY requests the load pauses, in-flight requests finish, and the probe
// (probe.js, inside the service) runs a full GC and reports the heap; at the checkpoints
// listed in SNAPSHOTS_AT it also writes a heap snapshot. Writes capture.json to OUT_DIR.
'use strict';
const http = require('http');
const fs = require('fs');
const path = require('path');

const port = Number(process.env.PORT);
const probePort = Number(process.env.PROBE_PORT);
const rate = Number(process.env.RATE || 20);
const total = Number(process.env.REQUESTS || 8000);
const concurrency = Number(process.env.CONCURRENCY || 4);
const every = Number(process.env.CHECKPOINT_EVERY || 500);
const snapshotsAt = (process.env.SNAPSHOTS_AT || '1000,4500,8000').split(',').map(Number);
const outDir = process.env.OUT_DIR || '.';
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

function get(p, a) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: p.port, path: p.path, agent: a, headers: p.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.setTimeout(60000, () => req.destroy(new Error('timeout')));
  });
}

const probe = async (what) => JSON.parse((await get({ port: probePort, path: `/${what}` })).body);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const started = new Date();
  const t0 = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - t0) / 1e9;
  const latencies = [];
  const checkpoints = [];
  const snapshots = [];
  let sent = 0;
  let errors = 0;
  let paused = 0; // seconds spent in checkpoints, not counted against the rate

  async function checkpoint() {
    const p0 = seconds();
    const m = await probe('checkpoint');
    const at = seconds();
    let snapshot = null;
    if (snapshotsAt.includes(sent)) {
      snapshot = path.basename((await probe('snapshot')).file);
      snapshots.push(snapshot);
    }
    checkpoints.push({
      requests: sent,
      seconds: Math.round(at * 1000) / 1000,
      heap_used_bytes: m.heapUsed,
      heap_total_bytes: m.heapTotal,
      rss_bytes: m.rss,
      external_bytes: m.external,
      snapshot,
    });
    paused += seconds() - p0;
  }

  await checkpoint();
  while (sent < total) {
    const batchEnd = Math.min(total, (Math.floor(sent / every) + 1) * every);
    const inflight = new Set();
    while (sent < batchEnd) {
      // pace: request number `sent` is due at sent / rate seconds of load time
      const due = sent / rate - (seconds() - paused);
      if (due > 0) await sleep(due * 1000);
      while (inflight.size >= concurrency) await Promise.race(inflight);
      const id = sent++;
      const begin = process.hrtime.bigint();
      const p = get({ port, path: '/api/quote', headers: { 'x-request-id': String(id) } }, agent)
        .then((r) => {
          if (r.status !== 200) errors++;
          latencies.push(Number(process.hrtime.bigint() - begin) / 1e6);
        })
        .catch(() => errors++)
        .finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await Promise.all(inflight);
    await checkpoint();
  }
  agent.destroy();

  latencies.sort((a, b) => a - b);
  const q = (f) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(f * latencies.length))] * 100) / 100;
  // growth per request: Theil-Sen slope of heap used against requests, with the range of the
  // middle 95 % of the pairwise slopes as its interval
  const pts = checkpoints.map((c) => [c.requests, c.heap_used_bytes]);
  const slopes = [];
  for (let i = 0; i < pts.length; i++) {
    for (let j = i + 1; j < pts.length; j++) {
      if (pts[j][0] !== pts[i][0]) slopes.push((pts[j][1] - pts[i][1]) / (pts[j][0] - pts[i][0]));
    }
  }
  slopes.sort((a, b) => a - b);
  const n = pts.length;
  const c = 1.96 * Math.sqrt((n * (n - 1) * (2 * n + 5)) / 18);
  const m = slopes.length;
  const median = m % 2 ? slopes[(m - 1) / 2] : (slopes[m / 2 - 1] + slopes[m / 2]) / 2;
  const lo = slopes[Math.max(0, Math.floor((m - c) / 2))];
  const hi = slopes[Math.min(m - 1, Math.ceil((m + c) / 2))];
  const capture = {
    schema: 'memsleuth.capture.v1',
    runtime: 'node',
    runtime_version: process.version,
    command: ['node', '--expose-gc', '--trace-gc', '--max-old-space-size=256', '-r', './probe.js', 'run.js'],
    url: `http://127.0.0.1:${port}/api/quote`,
    method: 'GET',
    concurrency,
    started_at: started.toISOString().replace(/\.\d+Z$/, 'Z'),
    checkpoints,
    bytes_per_request: {
      value: Math.round(median * 10) / 10,
      low: Math.round(lo * 10) / 10,
      high: Math.round(hi * 10) / 10,
      method: 'post-GC heap used, Theil-Sen over checkpoints',
    },
    latency_ms: { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: q(1) },
    requests_total: sent,
    errors,
    gc_log: 'gc.log',
    snapshots,
    python_probe: null,
  };
  fs.writeFileSync(path.join(outDir, 'capture.json'), JSON.stringify(capture, null, 2) + '\n');
  console.log(`capture: ${sent} requests, ${errors} errors, ${checkpoints.length} checkpoints, ${snapshots.length} snapshots, ${Math.round(seconds())} s`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
