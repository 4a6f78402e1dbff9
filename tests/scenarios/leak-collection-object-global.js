// Rate limiter that keeps its buckets on globalThis so that every module shares them.
// Buckets are keyed by client address and never pruned, so one bucket per distinct
// client stays forever in a plain object (dictionary mode) hanging off the global.
'use strict';
const { runScenario } = require('./harness');

globalThis.rateBuckets = globalThis.rateBuckets || Object.create(null);
const WINDOW_MS = 60000;
const LIMIT = 100;

function allowRequest(clientAddress, now) {
  let bucket = globalThis.rateBuckets[clientAddress];
  if (!bucket || now - bucket.windowStart > WINDOW_MS) {
    bucket = { windowStart: now, hits: 0, firstPath: null };
    globalThis.rateBuckets[clientAddress] = bucket;
  }
  bucket.hits++;
  return bucket.hits <= LIMIT;
}

function handleApiCall(n) {
  const clientAddress = `2001:db8::${n.toString(16)}`;
  const allowed = allowRequest(clientAddress, Date.now());
  if (allowed) globalThis.rateBuckets[clientAddress].firstPath = `/search?q=${n}`;
  return allowed;
}

module.exports = { handleApiCall };

runScenario({
  request: handleApiCall,
  exitAfter: true,
});
