// Control: writes are queued and flushed in batches of 1000. At each snapshot the queue
// holds recent items, but items queued before s2 are flushed before s3: memory that is
// high at one snapshot and released by the next is not a leak.
'use strict';
const { runScenario } = require('./harness');

const BATCH_SIZE = 1000;
let pendingWrites = [];
const flushed = { batches: 0, rows: 0 };

function flushBatch() {
  const batch = pendingWrites;
  pendingWrites = [];
  flushed.batches++;
  flushed.rows += batch.length;
}

function handleMetricWrite(n) {
  pendingWrites.push({ series: `cpu.load.host${n % 50}`, value: (n % 100) / 10, ts: 1700000000 + n });
  if (pendingWrites.length >= BATCH_SIZE) flushBatch();
}

module.exports = { handleMetricWrite };

runScenario({
  request: handleMetricWrite,
});
