// Server mode of the scenario harness: the same program, but every request is the handler
// of a real `http` server on 127.0.0.1, driven over loopback by a separate load process
// (tests/drive/drive.js), which also decides when and how the three snapshots are taken:
//
//   MEMSLEUTH_SCENARIO_SERVE=1 node tests/scenarios/<program>.js
//
// prints one line `memsleuth-scenario {"port":…,"warmupIterations":…,"iterations":…,"settleMs":…}`
// and then serves, until POST /shutdown or until its standard input closes (the driver went
// away), at most MEMSLEUTH_SCENARIO_DEADLINE_MS (default 180 s):
//
//   POST /warmup   {"n": i}  runs spec.warmup(i) (or spec.request(i))
//   POST /request  {"n": i}  runs spec.request(i)
//   POST /debug/heapdump     v8.writeHeapSnapshot() into the working directory, answers
//                            {"file": name, "inFlight": other handlers not finished}
//   POST /shutdown           spec.teardown(), then exit 0
//
// Handlers are async and read their JSON body before running the scenario's request, like
// the handlers of a JSON API, so a request whose body is still arriving is mid-flight.
// The scenario itself is unchanged: setup() runs before listening, and the load process
// sends exactly warmupIterations warm-up requests and `iterations` requests per interval.
'use strict';
const http = require('http');
const path = require('path');
const v8 = require('v8');

const DEADLINE_MS = Number(process.env.MEMSLEUTH_SCENARIO_DEADLINE_MS) || 180000;

function readJson(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      try {
        resolve(body ? JSON.parse(body) : {});
      } catch (err) {
        reject(err);
      }
    });
    req.on('error', reject);
  });
}

function reply(res, status, value) {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function serveScenario(spec) {
  const deadline = setTimeout(() => {
    console.error(`${path.basename(process.argv[1])}: server mode still running after ${DEADLINE_MS} ms`);
    process.exit(3);
  }, DEADLINE_MS);
  deadline.unref();
  // The driver holds our stdin open; when it goes away (even killed), so do we.
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();

  const warmup = spec.warmup || spec.request;
  if (spec.setup) await spec.setup();

  let inFlight = 0;
  const server = http.createServer(async (req, res) => {
    inFlight++;
    try {
      const body = await readJson(req);
      if (req.method !== 'POST') {
        reply(res, 405, { error: 'POST only' });
      } else if (req.url === '/request') {
        await spec.request(body.n);
        reply(res, 200, { n: body.n });
      } else if (req.url === '/warmup') {
        await warmup(body.n);
        reply(res, 200, { n: body.n });
      } else if (req.url === '/debug/heapdump') {
        const file = v8.writeHeapSnapshot();
        reply(res, 200, { file: path.resolve(file), inFlight: inFlight - 1 });
      } else if (req.url === '/shutdown') {
        reply(res, 200, { ok: true });
        if (spec.teardown) await spec.teardown();
        setImmediate(() => process.exit(0));
      } else {
        reply(res, 404, { error: `no route ${req.url}` });
      }
    } catch (err) {
      reply(res, 500, { error: String(err && err.stack || err) });
    } finally {
      inFlight--;
    }
  });
  server.listen(0, '127.0.0.1', () => {
    const info = {
      port: server.address().port,
      warmupIterations: spec.warmupIterations === undefined ? 300 : spec.warmupIterations,
      iterations: spec.iterations || 1500,
      settleMs: spec.settleMs === undefined ? 50 : spec.settleMs,
    };
    process.stdout.write(`memsleuth-scenario ${JSON.stringify(info)}\n`);
  });
}

module.exports = { serveScenario };
