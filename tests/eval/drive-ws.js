// The load process for the WebSocket cases: starts the service with the load/snapshot
// driver's Service (tests/drive/lib/service.js: handler, signal or inspector snapshots),
// then, from this separate process, opens WebSocket sessions over loopback (connect, send
// `messages` chat messages, wait for their broadcasts, close), `concurrency` at a time, and
// takes three snapshots: s1 after `warmup` sessions, s2 and s3 after each `iterations`.
//
//   node tests/eval/drive-ws.js SPEC OUTDIR
//
// SPEC (JSON): service (absolute path), mode, warmup, iterations, concurrency (default 8),
// messages (default 2), rooms (default 20), settle_ms (default 50).
'use strict';
const fs = require('fs');
const path = require('path');
const WebSocket = require('ws');
const { Service, sleep } = require('../drive/lib/service');

const DEADLINE_MS = Number(process.env.MEMSLEUTH_DRIVE_DEADLINE_MS) || 240000;

function session(port, i, spec) {
  return new Promise((resolve, reject) => {
    const room = `room-${i % (spec.rooms || 20)}`;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/?room=${room}&user=user-${i}`);
    const want = spec.messages || 2;
    let mine = 0;
    ws.on('open', () => {
      for (let k = 0; k < want; k++) ws.send(`hello ${k} from user-${i}: ${'lorem ipsum '.repeat(8)}`);
    });
    ws.on('message', (data) => {
      if (JSON.parse(data.toString()).from === `user-${i}` && ++mine === want) ws.close();
    });
    ws.on('close', () => resolve());
    ws.on('error', reject);
  });
}

async function burst(port, first, count, spec) {
  let next = first;
  const end = first + count;
  const worker = async () => {
    while (next < end) await session(port, next++, spec);
  };
  await Promise.all(Array.from({ length: Math.min(spec.concurrency || 8, count) }, worker));
}

async function main() {
  const [specArg, outArg] = process.argv.slice(2);
  const spec = JSON.parse(specArg);
  const out = path.resolve(outArg);
  fs.mkdirSync(out, { recursive: true });
  const work = fs.mkdtempSync(path.join(out, 'work-'));
  const svc = new Service({ script: spec.service, args: [], nodeArgs: [], env: {}, cwd: work, mode: spec.mode });
  const deadline = setTimeout(() => {
    console.error(`drive-ws.js: not finished after ${DEADLINE_MS} ms\n${svc.stderr.slice(-3000)}`);
    svc.kill();
    process.exit(3);
  }, DEADLINE_MS);
  process.on('exit', () => svc.kill());
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => { svc.kill(); process.exit(1); });
  const facts = { mode: spec.mode, snapshots: [] };
  try {
    await svc.start();
    let id = 0;
    for (let snap = 1; snap <= 3; snap++) {
      const count = snap === 1 ? spec.warmup : spec.iterations;
      await burst(svc.port, id, count, spec);
      id += count;
      await sleep(spec.settle_ms === undefined ? 50 : spec.settle_ms);
      const file = path.join(out, `s${snap}.heapsnapshot`);
      await svc.snapshot(file, {});
      facts.snapshots.push({ file: path.basename(file), bytes: fs.statSync(file).size, sessions: id });
    }
    await svc.stop(null);
  } catch (err) {
    svc.kill();
    console.error(`drive-ws.js: ${err.stack || err}\nservice stderr:\n${svc.stderr.slice(-3000)}`);
    process.exit(1);
  }
  clearTimeout(deadline);
  fs.rmSync(work, { recursive: true, force: true });
  fs.writeFileSync(path.join(out, 'drive.json'), JSON.stringify(facts, null, 1));
  process.exit(0);
}

main();
