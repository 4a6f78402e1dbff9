// Inventory lookups against the upstream key/value service: one TCP connection per
// lookup. The reply is read and the promise resolved, but the socket is never ended or
// destroyed, so every connection stays open (and in the heap) for the life of the process.
'use strict';
const net = require('net');
const { runScenario, startUpstream } = require('./harness');

let upstream = null;
const lookupStats = { ok: 0, failed: 0 };

function lookupStock(sku) {
  return new Promise((resolve, reject) => {
    const conn = net.createConnection({ host: '127.0.0.1', port: upstream.port });
    conn.setEncoding('utf8');
    let reply = '';
    conn.on('data', function collectReply(chunk) {
      reply += chunk;
      if (reply.endsWith('\n')) {
        lookupStats.ok++;
        resolve(reply.trim());
      }
    });
    conn.on('error', (err) => {
      lookupStats.failed++;
      reject(err);
    });
    conn.write(`GET stock:${sku}\n`);
  });
}

async function handleInventoryRequest(n) {
  const answer = await lookupStock(`SKU-${100000 + n}`);
  return answer.length;
}

module.exports = { handleInventoryRequest };

runScenario({
  setup: async () => { upstream = await startUpstream(); },
  request: handleInventoryRequest,
  iterations: 500,
  warmupIterations: 50,
  exitAfter: true,
});
