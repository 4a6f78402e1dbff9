// Job queue with progress reporting: the HTTP handler that enqueues a job also asks to be
// told about progress, and puts its listener in front so it sees updates first. It never
// removes it, so every request leaves a listener (and its request context) on the queue.
'use strict';
const { EventEmitter } = require('events');
const { runScenario } = require('./harness');

class JobQueue extends EventEmitter {
  constructor() {
    super();
    this.setMaxListeners(0);
    this.jobs = 0;
  }

  enqueue(kind) {
    this.jobs++;
    return `${kind}-${this.jobs}`;
  }
}

const renderQueue = new JobQueue();

function handleExport(n) {
  const requestContext = { requestId: `r-${n}`, user: `u-${n % 120}`, format: n % 2 ? 'pdf' : 'csv', progress: 0 };
  const jobId = renderQueue.enqueue('export');
  renderQueue.prependListener('progress', (id, pct) => {
    if (id === jobId) requestContext.progress = pct;
  });
  return jobId.length;
}

module.exports = { handleExport };

runScenario({
  request: handleExport,
  exitAfter: true,
});
