// Stock service (plain http + generic-pool). Connections to the inventory backend are
// pooled. The happy path releases its connection, but when the backend does not answer
// within 30 ms the handler answers "unknown" and returns early, without release() or
// destroy(): that connection stays borrowed (and open) forever, and the pool, whose max is
// generous, just opens another one for the next request.
'use strict';
const http = require('http');
const net = require('net');
const v8 = require('v8');
const genericPool = require('generic-pool');

const upstreamPort = Number(new URL(process.env.UPSTREAM_URL).port);

const pool = genericPool.createPool({
  create: () => new Promise((resolve, reject) => {
    const socket = net.connect(upstreamPort, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
    socket.setEncoding('utf8');
  }),
  destroy: async (socket) => { socket.destroy(); },
}, { max: 5000, min: 0 });

let nextId = 1;

function ask(socket, sku) {
  const id = nextId++;
  return new Promise((resolve) => {
    socket.once('data', (line) => resolve(JSON.parse(line)));
    socket.write(`${JSON.stringify({ id, sku })}\n`);
  });
}

async function stock(sku) {
  const conn = await pool.acquire();
  const reply = await Promise.race([ask(conn, sku), new Promise((r) => setTimeout(r, 30, null))]);
  if (!reply) return { sku, stock: null };
  pool.release(conn);
  return { sku, stock: reply.stock };
}

const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', async () => {
    if (req.url === '/debug/heapdump') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ file: v8.writeHeapSnapshot() }));
      return;
    }
    if (req.method !== 'POST' || req.url !== '/stock') {
      res.writeHead(404).end();
      return;
    }
    try {
      const answer = await stock(JSON.parse(body).sku);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
});

server.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
