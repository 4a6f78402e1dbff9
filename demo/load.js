// Bounded load for the demo service: RATE requests per second to 127.0.0.1:PORT/api/quote
// for SECONDS seconds, then exit. Loopback only.
'use strict';
const http = require('http');
const port = Number(process.env.PORT || 19464);
const rate = Number(process.env.RATE || 20);
const seconds = Number(process.env.SECONDS || 60);
let sent = 0;
const total = rate * seconds;
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
const timer = setInterval(() => {
  for (let i = 0; i < rate && sent < total; i++, sent++) {
    const req = http.get(
      { host: '127.0.0.1', port, path: '/api/quote', agent, headers: { 'x-request-id': String(sent) } },
      (res) => res.resume(),
    );
    req.on('error', () => {});
  }
  if (sent >= total) {
    clearInterval(timer);
    setTimeout(() => { agent.destroy(); console.log(`load: sent ${sent} requests`); }, 500);
  }
}, 1000);
