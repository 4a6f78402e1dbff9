// Shared driver for the scenario programs: warm-up, then three heap snapshots with
// N "requests" between them (the three-snapshot method: objects allocated after s1,
// still alive in s2 and s3 are the leak).
//
//   node --expose-gc tests/scenarios/<program>.js OUTDIR
//
// writes OUTDIR/s1.heapsnapshot, s2.heapsnapshot, s3.heapsnapshot and exits by itself.
// Without --expose-gc the harness re-runs the program with it (a second node process)
// rather than creating a vm context, which would add a second native context to the heap.
'use strict';
const v8 = require('v8');
const fs = require('fs');
const path = require('path');
const { spawnSync, fork } = require('child_process');

// Guard against a scenario that never ends (a control that forgot a handle). Override with
// MEMSLEUTH_SCENARIO_DEADLINE_MS when many scenarios run at once on a slow machine.
const EXIT_DEADLINE_MS = Number(process.env.MEMSLEUTH_SCENARIO_DEADLINE_MS) || 8000;

function relaunchWithGc() {
  const result = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, ...process.argv.slice(1)],
    { stdio: 'inherit' });
  process.exit(result.status === null ? 1 : result.status);
}

function pause(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function yieldToLoop() {
  return new Promise((resolve) => setImmediate(resolve));
}

function fullGc() {
  for (let k = 0; k < 3; k++) global.gc();
}

/**
 * Runs one scenario. `spec`:
 *   iterations        requests per interval (between s1-s2 and s2-s3), default 1500
 *   warmupIterations  requests before s1, default 300
 *   setup()           once before the warm-up (start an upstream, open a stream...)
 *   warmup(i)         one warm-up request; defaults to request(i)
 *   request(i)        one request; may return a promise (awaited). i counts on from the
 *                     warm-up, so every request of the run has its own number
 *   yieldEvery        give the event loop a turn every k requests (default 50)
 *   settleMs          let timers and I/O run this long before each snapshot (default 50)
 *   teardown()        after s3: close servers, clear timers (controls must end by themselves)
 *   exitAfter         true: process.exit(0) after teardown (leaking programs may keep handles)
 */
async function runScenario(spec) {
  // Server mode (tests/scenarios/serve.js): the same requests as handlers of an HTTP server,
  // with load and snapshots coming from another process.
  if (process.env.MEMSLEUTH_SCENARIO_SERVE) return require('./serve').serveScenario(spec);
  if (typeof global.gc !== 'function') return relaunchWithGc();
  const outDir = process.argv[2];
  if (!outDir) {
    console.error(`usage: node --expose-gc ${path.basename(process.argv[1])} OUTDIR`);
    process.exit(2);
  }
  fs.mkdirSync(outDir, { recursive: true });
  const iterations = spec.iterations || 1500;
  const warmupIterations = spec.warmupIterations === undefined ? 300 : spec.warmupIterations;
  const yieldEvery = spec.yieldEvery || 50;
  const settleMs = spec.settleMs === undefined ? 50 : spec.settleMs;
  const warmup = spec.warmup || spec.request;

  // A program that does not end by itself is a bug in the scenario: fail loudly.
  const deadline = setTimeout(() => {
    console.error(`${path.basename(process.argv[1])}: did not exit within ${EXIT_DEADLINE_MS} ms`);
    process.exit(3);
  }, EXIT_DEADLINE_MS);
  deadline.unref();

  if (spec.setup) await spec.setup();
  for (let i = 0; i < warmupIterations; i++) {
    await warmup(i);
    if (i % yieldEvery === yieldEvery - 1) await yieldToLoop();
  }

  // Requests are numbered after the warm-up ones, so ids never repeat across phases.
  let served = warmupIterations;
  for (let snap = 1; snap <= 3; snap++) {
    if (snap > 1) {
      for (let k = 0; k < iterations; k++, served++) {
        await spec.request(served);
        if (k % yieldEvery === yieldEvery - 1) await yieldToLoop();
      }
    }
    if (settleMs > 0) await pause(settleMs);
    await yieldToLoop();
    fullGc();
    v8.writeHeapSnapshot(path.join(outDir, `s${snap}.heapsnapshot`));
  }

  if (spec.teardown) await spec.teardown();
  if (spec.exitAfter) process.exit(0);
}

/**
 * Starts the upstream "database" (upstream-server.js) in a child process and resolves
 * to { port, stop() }. It lives in another process so that only the client side of
 * each connection is in this program's heap, as with a real database.
 */
function startUpstream() {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'upstream-server.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('error', reject);
    child.once('message', (msg) => {
      resolve({
        port: msg.port,
        stop() {
          child.kill();
          child.disconnect();
        },
      });
    });
  });
}

module.exports = { runScenario, startUpstream, pause };
