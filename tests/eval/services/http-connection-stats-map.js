// Metrics API (plain http). Per-connection statistics (requests served, bytes written,
// remote address) are kept in a Map keyed by the socket, for a /stats endpoint. Entries are
// added on 'connection' and never deleted on 'close' (a WeakMap, or a delete in the close
// handler, was meant), so every connection ever accepted stays in the Map: the closed
// socket and its stats object.
'use strict';
const http = require('http');

const connectionStats = new Map();

const server = http.createServer((req, res) => {
  const stats = connectionStats.get(req.socket);
  stats.requests += 1;
  const body = JSON.stringify({ path: req.url, connections: connectionStats.size, served: stats.requests });
  stats.bytes += Buffer.byteLength(body);
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(body);
});

server.on('connection', (socket) => {
  connectionStats.set(socket, { remote: `${socket.remoteAddress}:${socket.remotePort}`, openedAt: Date.now(), requests: 0, bytes: 0 });
});

server.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
