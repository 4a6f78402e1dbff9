// Loads one page of tests/browser/pages in headless Chromium (Debian's /usr/bin/chromium, a
// fresh profile), runs the page's own UI actions over the DevTools protocol, and takes three
// heap snapshots of the page (s1 after the warm-up, s2 and s3 after each interval):
//
//   node tests/browser/drive-page.js SPEC OUTDIR
//
// SPEC (JSON): page (file in pages/, or in pages_dir when given: the evaluation suite's
// pages), actions (CSS selectors clicked in order, once per
// iteration), warmup, iterations, chromium (binary; default /usr/bin/chromium).
// The pages are served by a tiny static server on 127.0.0.1 inside this process. Each
// snapshot is HeapProfiler.collectGarbage then HeapProfiler.takeHeapSnapshot, chunks written
// to OUTDIR/sN.heapsnapshot. Chromium is closed (then killed) and its profile removed at the
// end, also on failure.
'use strict';
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const { Cdp, takeHeapSnapshot } = require('../drive/lib/cdp');

let PAGES = path.join(__dirname, 'pages');
const DEADLINE_MS = Number(process.env.MEMSLEUTH_DRIVE_DEADLINE_MS) || 180000;
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8' };

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Serves PAGES on 127.0.0.1 (port 0); resolves to the server. */
function startStaticServer() {
  const server = http.createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/^\/+/, '');
    const file = path.join(PAGES, name);
    if (!file.startsWith(PAGES + path.sep) || !fs.existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(fs.readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

class Browser {
  constructor(binary) {
    this.binary = binary;
    this.profile = fs.mkdtempSync(path.join(os.tmpdir(), 'memsleuth-chromium-'));
    this.stderr = '';
    this.exited = false;
  }

  async launch() {
    const args = [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--user-data-dir=${this.profile}`, '--remote-debugging-port=0', 'about:blank',
    ];
    this.child = spawn(this.binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (c) => { this.stderr = (this.stderr + c).slice(-20000); });
    this.child.on('exit', () => { this.exited = true; });
    const portFile = path.join(this.profile, 'DevToolsActivePort');
    const t0 = Date.now();
    for (;;) {
      if (fs.existsSync(portFile)) {
        const [port, wsPath] = fs.readFileSync(portFile, 'utf8').split('\n');
        if (port && wsPath) {
          this.cdp = await Cdp.connect(`ws://127.0.0.1:${port.trim()}${wsPath.trim()}`);
          return this;
        }
      }
      if (this.exited) throw new Error(`chromium exited at start:\n${this.stderr.slice(-3000)}`);
      if (Date.now() - t0 > 60000) throw new Error(`chromium wrote no DevToolsActivePort in 60 s:\n${this.stderr.slice(-3000)}`);
      await sleep(50);
    }
  }

  /** Attaches to the first page target; resolves to its flat sessionId. */
  async pageSession() {
    const { targetInfos } = await this.cdp.send('Target.getTargets');
    let page = targetInfos.find((t) => t.type === 'page');
    if (!page) {
      const { targetId } = await this.cdp.send('Target.createTarget', { url: 'about:blank' });
      page = { targetId };
    }
    const { sessionId } = await this.cdp.send('Target.attachToTarget', { targetId: page.targetId, flatten: true });
    return sessionId;
  }

  async close() {
    if (this.cdp) {
      await Promise.race([this.cdp.send('Browser.close').catch(() => {}), sleep(3000)]);
      await this.cdp.close();
      this.cdp = null;
    }
    for (let k = 0; k < 100 && !this.exited; k++) await sleep(50);
    this.kill();
  }

  kill() {
    if (this.child && !this.exited) this.child.kill('SIGKILL');
    fs.rmSync(this.profile, { recursive: true, force: true });
  }
}

async function runActions(cdp, sessionId, actions, count) {
  const BATCH = 25;
  for (let done = 0; done < count; done += BATCH) {
    const n = Math.min(BATCH, count - done);
    const expression = `(() => {
      const selectors = ${JSON.stringify(actions)};
      for (let k = 0; k < ${n}; k++) for (const s of selectors) {
        const el = document.querySelector(s);
        if (!el) throw new Error('no element ' + s);
        el.click();
      }
      return new Promise((resolve) => setTimeout(resolve, 0));
    })()`;
    const res = await cdp.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, sessionId);
    if (res.exceptionDetails) throw new Error(`page action failed: ${JSON.stringify(res.exceptionDetails).slice(0, 800)}`);
  }
}

async function main() {
  const [specArg, outArg] = process.argv.slice(2);
  if (!specArg || !outArg) {
    console.error('usage: node drive-page.js SPEC OUTDIR');
    process.exit(2);
  }
  const spec = JSON.parse(specArg.trim().startsWith('{') ? specArg : fs.readFileSync(specArg, 'utf8'));
  if (spec.pages_dir) PAGES = path.resolve(spec.pages_dir);
  const out = path.resolve(outArg);
  fs.mkdirSync(out, { recursive: true });
  const browser = new Browser(spec.chromium || '/usr/bin/chromium');
  let server = null;
  const deadline = setTimeout(() => {
    console.error(`drive-page.js: not finished after ${DEADLINE_MS} ms\n${browser.stderr.slice(-2000)}`);
    browser.kill();
    process.exit(3);
  }, DEADLINE_MS);
  process.on('exit', () => browser.kill());
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => { browser.kill(); process.exit(1); });
  const facts = { page: spec.page, snapshots: [] };
  try {
    server = await startStaticServer();
    await browser.launch();
    const cdp = browser.cdp;
    const sessionId = await browser.pageSession();
    await cdp.send('Page.enable', {}, sessionId);
    const loaded = cdp.waitFor('Page.loadEventFired', () => true, sessionId);
    const url = `http://127.0.0.1:${server.address().port}/${spec.page}`;
    const nav = await cdp.send('Page.navigate', { url }, sessionId);
    if (nav.errorText) throw new Error(`navigate ${url}: ${nav.errorText}`);
    await loaded;
    const { product } = await cdp.send('Browser.getVersion');
    Object.assign(facts, { url, browser: product });
    await cdp.send('HeapProfiler.enable', {}, sessionId);
    for (let snap = 1; snap <= 3; snap++) {
      await runActions(cdp, sessionId, spec.actions, snap === 1 ? spec.warmup : spec.iterations);
      const file = path.join(out, `s${snap}.heapsnapshot`);
      const bytes = await takeHeapSnapshot(cdp, file, sessionId);
      facts.snapshots.push({ file: path.basename(file), bytes });
    }
    await browser.close();
  } catch (err) {
    browser.kill();
    console.error(`drive-page.js: ${err.stack || err}\nchromium stderr:\n${browser.stderr.slice(-2000)}`);
    process.exit(1);
  }
  clearTimeout(deadline);
  if (server) server.close();
  fs.writeFileSync(path.join(out, 'drive.json'), JSON.stringify(facts, null, 1));
  process.exit(0);
}

main();
