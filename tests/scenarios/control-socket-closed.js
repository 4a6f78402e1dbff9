// Control: the same per-lookup TCP connection as leak-connection-socket.js, but the
// socket is ended once the reply is in, and the upstream is stopped at the end.
'use strict';
const net = require('net');
const { runScenario, startUpstream } = require('./harness');

let upstream = null;

function lookupPrice(sku) {
  return new Promise((resolve, reject) => {
    const conn = net.createConnection({ host: '127.0.0.1', port: upstream.port });
    conn.setEncoding('utf8');
    let reply = '';
    conn.on('data', (chunk) => {
      reply += chunk;
      if (reply.endsWith('\n')) {
        conn.end();
        resolve(reply.trim());
      }
    });
    conn.on('error', reject);
    conn.write(`GET price:${sku}\n`);
  });
}

async function handlePriceRequest(n) {
  const answer = await lookupPrice(`SKU-${n}`);
  return answer.length;
}

module.exports = { handlePriceRequest };

runScenario({
  setup: async () => { upstream = await startUpstream(); },
  request: handlePriceRequest,
  iterations: 300,
  warmupIterations: 50,
  settleMs: 200,
  teardown: () => upstream.stop(),
});
