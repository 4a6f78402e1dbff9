// Document fingerprint service (plain http + worker_threads). Hashing runs on one worker
// thread. Each job waits for its answer by adding a 'message' listener on the worker and
// checking the id, but the listener is never removed once its answer came: every job ever
// run stays registered on the worker, with its payload.
'use strict';
const http = require('http');
const path = require('path');
const v8 = require('v8');
const { Worker } = require('worker_threads');

const hasher = new Worker(path.join(__dirname, 'hash-worker.js'));
hasher.setMaxListeners(0);
let jobSeq = 0;

function fingerprint(payload) {
  return new Promise((resolve) => {
    const id = ++jobSeq;
    hasher.on('message', (msg) => {
      if (msg.id === id) resolve(msg.digest);
    });
    hasher.postMessage({ id, payload });
  });
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    if (req.method === 'POST' && req.url === '/fingerprint') {
      const doc = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const digest = await fingerprint(doc);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ title: doc.title, digest }));
    } else if (req.method === 'POST' && req.url === '/debug/heapdump') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ file: v8.writeHeapSnapshot() }));
    } else {
      res.writeHead(404).end();
    }
  });
});

server.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
