// Upstream for the eval services that talk TCP: a line-delimited JSON "inventory" server.
// It answers {"id", "sku"} requests with stock levels, except that it silently drops every
// request whose id is a multiple of 3 (an overloaded backend shedding work). Connections
// are kept open as long as the client keeps them. Ends when its stdin closes.
'use strict';
const net = require('net');

const server = net.createServer((socket) => {
  socket.setEncoding('utf8');
  let buf = '';
  socket.on('data', (chunk) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        continue;
      }
      if (msg.id % 3 === 0) continue;
      socket.write(`${JSON.stringify({ id: msg.id, sku: msg.sku, stock: (msg.id * 37) % 500 })}\n`);
    }
  });
  socket.on('error', () => {});
});

server.listen(0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
