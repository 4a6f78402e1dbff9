// Control (plain http): an in-memory session table under heavy churn (every request is a
// new visitor). Sessions expire 300 ms after their last use and a sweeper removes expired
// ones every 100 ms, so the table holds only the last few hundred milliseconds of visitors.
'use strict';
const crypto = require('crypto');
const http = require('http');
const v8 = require('v8');

const TTL_MS = 300;
const sessions = new Map();

setInterval(() => {
  const now = Date.now();
  for (const [id, s] of sessions) {
    if (s.expiresAt <= now) sessions.delete(id);
  }
}, 100).unref();

function touch(id, data) {
  let s = sessions.get(id);
  if (!s) {
    s = { id, createdAt: Date.now(), cart: [], csrf: crypto.randomBytes(16).toString('hex') };
    sessions.set(id, s);
  }
  s.cart.push(data);
  s.expiresAt = Date.now() + TTL_MS;
  return s;
}

const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    if (req.method === 'POST' && req.url === '/debug/heapdump') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ file: v8.writeHeapSnapshot() }));
      return;
    }
    if (req.method === 'POST' && req.url === '/cart') {
      const item = JSON.parse(body);
      const s = touch(item.visitor, item);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ session: s.id, items: s.cart.length }));
      return;
    }
    res.writeHead(404).end();
  });
});

server.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
