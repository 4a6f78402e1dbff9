// Quote lookups against the upstream key/value service, one TCP connection each. The client
// sets an idle timeout so that stale connections get dropped, but a 'timeout' event only
// notifies: Node does not close the socket, and the handler here just counts. Every
// connection stays open, each with its idle timer armed in Node's timer list.
'use strict';
const net = require('net');
const { runScenario, startUpstream } = require('./harness');

let upstream = null;
const quoteStats = { answered: 0, idle: 0, failed: 0 };

function fetchQuote(symbol) {
  return new Promise((resolve, reject) => {
    const conn = net.createConnection({ host: '127.0.0.1', port: upstream.port });
    conn.setEncoding('utf8');
    conn.setTimeout(5 * 60 * 1000);
    conn.on('data', function readQuote(chunk) {
      quoteStats.answered++;
      resolve(chunk.trim());
    });
    conn.on('timeout', () => {
      quoteStats.idle++;
    });
    conn.on('error', (err) => {
      quoteStats.failed++;
      reject(err);
    });
    conn.write(`GET quote:${symbol}\n`);
  });
}

async function handleQuoteRequest(n) {
  const answer = await fetchQuote(`SYM${n}`);
  return answer.length;
}

module.exports = { handleQuoteRequest };

runScenario({
  setup: async () => { upstream = await startUpstream(); },
  request: handleQuoteRequest,
  iterations: 400,
  warmupIterations: 50,
  exitAfter: true,
});
