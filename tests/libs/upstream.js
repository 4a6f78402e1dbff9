// The upstream HTTP API the library services call (exchange rates): a plain Node http server
// on 127.0.0.1 that keeps idle keep-alive connections open for ten minutes, like many API
// gateways do. Started by the driver (drive.js `upstream`) as its own process; it prints
// `listening on http://127.0.0.1:PORT` and ends with its standard input (the driver).
'use strict';
const http = require('http');

const server = http.createServer((req, res) => {
  const ccy = req.url.split('/').pop() || 'EUR';
  const body = JSON.stringify({ base: 'USD', ccy, rate: 1 + (ccy.length % 7) / 10, at: 1700000000 });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 10 * 60 * 1000;
server.headersTimeout = 10 * 60 * 1000 + 1000;
server.listen(0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
