// The load process: starts a Node service, drives it over HTTP on loopback and takes three
// heap snapshots of it (s1 after the warm-up, s2 and s3 after each interval of load), in the
// way the spec asks (see lib/service.js for the modes).
//
//   node tests/drive/drive.js SPEC.json OUTDIR
//
// SPEC (JSON; paths absolute):
//   service            the service's main script
//   args, node_args, env, node (binary; default this node)
//   mode               handler | signal | inspector
//   track_allocations  record allocation stacks from the start
//   scenario           true: a tests/scenarios program in server mode; the counts come from
//                      the program's own announcement and the requests are POST /warmup and
//                      POST /request with {"n": i}
//   warmup, iterations request counts (warm-up before s1; each interval after)
//   warmup_requests, requests   request templates (lib/load.js `expand`), used in turn
//   concurrency        parallel connections (default 8)
//   in_flight          handler mode: requests held mid-body during each snapshot (default 4,
//                      only for POST templates)
//   settle_ms          pause before each snapshot (default 50)
//   ready              regexp source matched on stdout; group 1 is the port
//   shutdown           POST path that ends the service, or null (it is killed)
//   upstream           a script started first as its own process (it prints `listening on
//                      http://127.0.0.1:PORT`); the service gets UPSTREAM_URL
// Writes OUTDIR/s1..s3.heapsnapshot and OUTDIR/drive.json (what was done, for the test log).
'use strict';
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { Service } = require('./lib/service');
const { Load } = require('./lib/load');

const DEADLINE_MS = Number(process.env.MEMSLEUTH_DRIVE_DEADLINE_MS) || 240000;

/** Starts the upstream script; resolves to { url, child }. It ends when our stdin pipe closes. */
function startUpstream(script) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (c) => {
      out += c;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve({ url: m[1], child });
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`upstream exited with ${code}`)));
  });
}

async function main() {
  const [specArg, outArg] = process.argv.slice(2);
  if (!specArg || !outArg) {
    console.error('usage: node drive.js SPEC.json OUTDIR');
    process.exit(2);
  }
  const spec = JSON.parse(specArg.trim().startsWith('{') ? specArg : fs.readFileSync(specArg, 'utf8'));
  const out = path.resolve(outArg);
  fs.mkdirSync(out, { recursive: true });
  const work = fs.mkdtempSync(path.join(out, 'work-'));
  const mode = spec.mode;
  const scenario = !!spec.scenario;
  const env = { ...(spec.env || {}) };
  if (scenario) env.MEMSLEUTH_SCENARIO_SERVE = '1';
  const svc = new Service({
    script: spec.service,
    args: spec.args || [],
    nodeArgs: spec.node_args || [],
    node: spec.node || undefined,
    env,
    cwd: work,
    mode,
    trackAllocations: !!spec.track_allocations,
    ready: scenario ? /memsleuth-scenario (\{.*\})/ : (spec.ready ? new RegExp(spec.ready) : undefined),
  });
  const facts = { mode, track_allocations: !!spec.track_allocations, snapshots: [], errors: [] };
  let load = null;
  let upstream = null;
  process.on('exit', () => { if (upstream) upstream.child.kill('SIGKILL'); });
  if (spec.upstream) {
    upstream = await startUpstream(spec.upstream);
    svc.opts.env.UPSTREAM_URL = upstream.url;
  }
  const deadline = setTimeout(() => {
    console.error(`drive.js: not finished after ${DEADLINE_MS} ms; service stderr:\n${svc.stderr.slice(-3000)}`);
    svc.kill();
    process.exit(3);
  }, DEADLINE_MS);
  process.on('exit', () => svc.kill());
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => { svc.kill(); process.exit(1); });
  try {
    await svc.start();
    let warmupCount = spec.warmup || 0;
    let iterations = spec.iterations || 0;
    let settleMs = spec.settle_ms === undefined ? 50 : spec.settle_ms;
    let warmupTemplates = spec.warmup_requests || spec.requests;
    let templates = spec.requests;
    if (scenario) {
      const info = JSON.parse(svc.readyMatch[1]);
      svc.port = info.port;
      warmupCount = info.warmupIterations;
      iterations = info.iterations;
      settleMs = info.settleMs;
      warmupTemplates = [{ method: 'POST', path: '/warmup', body: '{"n":{i}}' }];
      templates = [{ method: 'POST', path: '/request', body: '{"n":{i}}' }];
    }
    const concurrency = spec.concurrency || 8;
    const slowCount = mode === 'handler' ? (spec.in_flight === undefined ? 4 : spec.in_flight) : 0;
    const slowTemplates = templates.filter((t) => (t.method || 'GET') !== 'GET');
    load = new Load(svc.port, concurrency);
    Object.assign(facts, { port: svc.port, warmup: warmupCount, iterations, concurrency, settle_ms: settleMs });

    let nextId = 0;
    let carried = 0; // ids of the next phase already used by held requests
    for (let snap = 1; snap <= 3; snap++) {
      const phaseTemplates = snap === 1 ? warmupTemplates : templates;
      const count = (snap === 1 ? warmupCount : iterations) - carried;
      const first = nextId;
      nextId += Math.max(0, count);
      carried = 0;
      // handler mode: the tail of the burst is still in flight when the dump is requested.
      const tail = count > 0 ? await load.burst(phaseTemplates, first, count, { noWaitTail: mode === 'handler' }) : null;
      if (mode !== 'handler' && settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
      const file = path.join(out, `s${snap}.heapsnapshot`);
      const inFlight = slowCount > 0 && slowTemplates.length > 0 ? async () => {
        const held = [];
        for (let k = 0; k < slowCount; k++) held.push(load.slow(slowTemplates[(nextId + k) % slowTemplates.length], nextId + k));
        nextId += slowCount;
        carried = slowCount;
        // Give the service a turn to accept them and start their handlers.
        await new Promise((r) => setTimeout(r, 20));
        return async () => {
          for (const res of await Promise.all(held.map((h) => h.finish()))) {
            if (res.status >= 400) facts.errors.push(`held request: HTTP ${res.status} ${res.text.slice(0, 200)}`);
          }
        };
      } : undefined;
      const info = await svc.snapshot(file, { inFlight });
      if (tail) await tail;
      facts.snapshots.push({ file: path.basename(file), bytes: fs.statSync(file).size, ...info, requests_so_far: load.sent });
      if (svc.exited) throw new Error(`service exited during the run: ${JSON.stringify(svc.exited)}\n${svc.stderr.slice(-2000)}`);
    }
    facts.requests = load.sent;
    facts.errors.push(...load.errors);
    load.close();
    await svc.stop(spec.shutdown === undefined ? (scenario ? '/shutdown' : null) : spec.shutdown);
  } catch (err) {
    // Whether the service had ended (a crash) before the driver stops it: its exit event
    // may come a moment after the failed request.
    for (let k = 0; k < 20 && !svc.exited; k++) await new Promise((r) => setTimeout(r, 50));
    const endedBefore = svc.exited;
    if (load) load.close();
    svc.kill();
    fs.writeFileSync(path.join(out, 'drive.json'), JSON.stringify({ ...facts, failed: String(err.stack || err) }, null, 1));
    const ended = endedBefore ? `the service had ended: ${JSON.stringify(endedBefore)}` : 'the service was running';
    console.error(`drive.js: ${err.stack || err}\n${ended}\nservice stderr:\n${svc.stderr.slice(-3000)}`);
    process.exit(1);
  }
  clearTimeout(deadline);
  fs.rmSync(work, { recursive: true, force: true });
  facts.service_stderr_tail = svc.stderr.slice(-1000);
  fs.writeFileSync(path.join(out, 'drive.json'), JSON.stringify(facts, null, 1));
  if (facts.errors.length) {
    console.error(`drive.js: requests failed:\n${facts.errors.join('\n')}`);
    process.exit(1);
  }
  process.exit(0);
}

main();
