// The upstream service the connection scenarios talk to: a line-based key/value
// server on 127.0.0.1 (port 0), run in a child process by harness.startUpstream().
// Replies "OK <line>\n" to every line and keeps the connection open (keep-alive),
// so a client that never closes its socket keeps it open for good.
'use strict';
const net = require('net');

const server = net.createServer((socket) => {
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      socket.write(`OK ${line}\n`);
    }
  });
  socket.on('error', () => {});
});

server.listen(0, '127.0.0.1', () => {
  process.send({ port: server.address().port });
});

// The parent went away (it exited or called stop()): end with it.
process.on('disconnect', () => process.exit(0));
