// Starts a Node service as its own process and takes heap snapshots of it in one of the
// ways people take them:
//   handler    POST /debug/heapdump on the service (v8.writeHeapSnapshot inside a request
//              handler), while other requests are in flight
//   signal     node --heapsnapshot-signal=SIGUSR2, the signal sent from outside between bursts
//   inspector  node --inspect=127.0.0.1:0 and an external CDP client:
//              HeapProfiler.takeHeapSnapshot, chunks streamed to a file
// With `trackAllocations`, allocation stacks are recorded from the start (node
// --track-heap-objects, or HeapProfiler.startTrackingHeapObjects over the inspector).
'use strict';
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { Cdp, takeHeapSnapshot } = require('./cdp');
const { request } = require('./load');

const MODES = ['handler', 'signal', 'inspector'];

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

class Service {
  /**
   * opts: { script, args, nodeArgs, node, env, cwd (snapshots land here), mode,
   *         trackAllocations, ready: RegExp with the port in group 1 (stdout) }
   */
  constructor(opts) {
    if (!MODES.includes(opts.mode)) throw new Error(`unknown snapshot mode ${opts.mode}`);
    this.opts = opts;
    this.stdout = '';
    this.stderr = '';
    this.cdp = null;
    this.exited = null;
  }

  async start() {
    const o = this.opts;
    const nodeArgs = ['--require', require.resolve('./exit-with-driver'), ...(o.nodeArgs || [])];
    if (o.mode === 'signal') nodeArgs.push('--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${o.cwd}`);
    if (o.mode === 'inspector') nodeArgs.push('--inspect=127.0.0.1:0');
    if (o.trackAllocations && o.mode !== 'inspector') nodeArgs.push('--track-heap-objects');
    this.child = spawn(o.node || process.execPath, [...nodeArgs, o.script, ...(o.args || [])], {
      cwd: o.cwd,
      env: { ...process.env, ...(o.env || {}), MEMSLEUTH_EXIT_WITH_DRIVER: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.on('exit', (code, signal) => { this.exited = { code, signal }; });
    this.child.stdout.setEncoding('utf8');
    this.child.stderr.setEncoding('utf8');
    this.child.stdout.on('data', (c) => { this.stdout += c; });
    this.child.stderr.on('data', (c) => { this.stderr += c; });
    const ready = o.ready || /listening on http:\/\/127\.0\.0\.1:(\d+)/;
    const m = await this.waitOutput('stdout', ready, 30000);
    this.port = Number(m[1]);
    this.readyMatch = m;
    if (o.mode === 'inspector') {
      const w = await this.waitOutput('stderr', /Debugger listening on (ws:\/\/\S+)/, 30000);
      this.cdp = await Cdp.connect(w[1]);
      await this.cdp.send('HeapProfiler.enable');
      if (o.trackAllocations) await this.cdp.send('HeapProfiler.startTrackingHeapObjects', { trackAllocations: true });
    }
    return this;
  }

  async waitOutput(stream, re, timeoutMs) {
    const t0 = Date.now();
    for (;;) {
      const m = this[stream].match(re);
      if (m) return m;
      if (this.exited) throw new Error(`service exited (${JSON.stringify(this.exited)}) before ${re}:\n${this.stderr.slice(-3000)}`);
      if (Date.now() - t0 > timeoutMs) throw new Error(`service did not print ${re} within ${timeoutMs} ms:\n${this.stderr.slice(-3000)}`);
      await sleep(10);
    }
  }

  /**
   * Takes one snapshot into `file` (an absolute path). `inFlight` (handler mode): a function
   * that starts requests which stay in flight during the snapshot and returns a function
   * that completes them. Returns facts about the snapshot for the driver's log.
   */
  async snapshot(file, { inFlight } = {}) {
    const mode = this.opts.mode;
    if (mode === 'handler') {
      const complete = inFlight ? await inFlight() : null;
      const res = await request(this.port, { method: 'POST', path: '/debug/heapdump', headers: {}, body: '{}' }, false);
      if (res.status !== 200) throw new Error(`/debug/heapdump: HTTP ${res.status} ${res.text.slice(0, 500)}`);
      const ans = JSON.parse(res.text);
      const written = path.resolve(this.opts.cwd, ans.file);
      fs.renameSync(written, file);
      if (complete) await complete();
      return { inFlight: ans.inFlight };
    }
    if (mode === 'signal') {
      const before = new Set(fs.readdirSync(this.opts.cwd));
      process.kill(this.child.pid, 'SIGUSR2');
      let name = null;
      const t0 = Date.now();
      while (!name) {
        name = fs.readdirSync(this.opts.cwd).find((f) => !before.has(f) && /^Heap\..*\.heapsnapshot$/.test(f)) || null;
        if (!name) {
          if (this.exited) throw new Error(`service exited after SIGUSR2: ${this.stderr.slice(-2000)}`);
          if (Date.now() - t0 > 60000) throw new Error('no snapshot file 60 s after SIGUSR2');
          await sleep(20);
        }
      }
      // The snapshot is written by a signal listener on the main thread: once the file
      // exists, an answered request proves the listener (and the file) has finished.
      await request(this.port, { method: 'GET', path: '/', headers: {}, body: undefined }, false);
      fs.renameSync(path.join(this.opts.cwd, name), file);
      return {};
    }
    const bytes = await takeHeapSnapshot(this.cdp, file);
    return { bytes };
  }

  async stop(shutdownPath) {
    if (this.cdp) {
      if (this.opts.trackAllocations) await this.cdp.send('HeapProfiler.stopTrackingHeapObjects', { reportProgress: false }).catch(() => {});
      await this.cdp.close();
      this.cdp = null;
    }
    if (!this.exited && shutdownPath) {
      await request(this.port, { method: 'POST', path: shutdownPath, headers: {}, body: '{}' }, false).catch(() => {});
      for (let k = 0; k < 100 && !this.exited; k++) await sleep(20);
    }
    this.kill();
  }

  kill() {
    if (this.child && !this.exited) this.child.kill('SIGKILL');
  }
}

module.exports = { Service, MODES, sleep };
