// Access logging through a shared Writable. The handler was written for backpressure:
// it waits for 'drain' before counting the entry as flushed, but registers the one-shot
// 'drain' listener on every request, even when write() returned true. The sink never
// fills up, so 'drain' never fires and the once-wrappers pile up on the stream.
'use strict';
const { Writable } = require('stream');
const { runScenario } = require('./harness');

const flushedEntries = { count: 0 };
let bytesWritten = 0;

const accessLog = new Writable({
  highWaterMark: 1 << 20,
  write(chunk, encoding, callback) {
    bytesWritten += chunk.length;
    callback();
  },
});

function logAccess(method, url, status, durationMs) {
  const entry = { method, url, status, durationMs, at: Date.now() };
  accessLog.write(`${method} ${url} ${status} ${durationMs}ms\n`);
  accessLog.once('drain', function markEntryFlushed() {
    flushedEntries.count++;
    entry.flushed = true;
  });
}

function handleRequest(n) {
  const url = `/api/orders/${n}?expand=items`;
  logAccess(n % 5 === 0 ? 'POST' : 'GET', url, 200, n % 37);
}

module.exports = { handleRequest, accessLog };

runScenario({
  request: handleRequest,
  exitAfter: true,
});
