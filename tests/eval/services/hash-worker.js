// Worker thread of worker-on-message-per-job.js (not a case by itself): hashes payloads.
'use strict';
const { parentPort } = require('worker_threads');
const crypto = require('crypto');

parentPort.on('message', ({ id, payload }) => {
  const digest = crypto.createHash('sha256').update(JSON.stringify(payload)).digest('hex');
  parentPort.postMessage({ id, digest });
});
