// Job status poller: each submitted job is polled with a setTimeout chain that
// reschedules itself. The chain only stops on 'done' or 'failed'; jobs the backend
// forgets about stay 'unknown' forever, and their pollers keep rescheduling.
'use strict';
const { runScenario } = require('./harness');

const POLL_DELAY_MS = 300;
const backendJobs = new Map();

function fetchJobStatus(jobId) {
  // The backend drops most jobs from its table after accepting them.
  return backendJobs.get(jobId) || 'unknown';
}

function watchJob(jobId, onFinished) {
  const watch = { jobId, attempts: 0, startedAt: Date.now(), history: [] };
  const pollJobStatus = () => {
    watch.attempts++;
    const status = fetchJobStatus(jobId);
    if (status === 'done' || status === 'failed') {
      onFinished(watch, status);
      return;
    }
    setTimeout(pollJobStatus, POLL_DELAY_MS);
  };
  setTimeout(pollJobStatus, POLL_DELAY_MS);
  return watch;
}

const finished = { done: 0, failed: 0 };
function recordFinishedJob(watch, status) {
  finished[status]++;
  backendJobs.delete(watch.jobId);
}

function submitJob(n) {
  const jobId = `job-${n}`;
  if (n % 10 === 0) backendJobs.set(jobId, 'done');
  watchJob(jobId, recordFinishedJob);
}

module.exports = { submitJob };

runScenario({
  request: submitJob,
  settleMs: 400,
  exitAfter: true,
});
