// Report exporter: each export job writes to a scratch path and, to be safe, registers a
// process 'exit' hook that deletes the scratch file. The hook is never removed when the job
// finishes, so every job ever run stays reachable from `process` through its listener.
'use strict';
const path = require('path');
const os = require('os');
const { runScenario } = require('./harness');

const scratchRoot = path.join(os.tmpdir(), 'report-exports');
const completedJobs = { count: 0, bytes: 0 };

class ExportJob {
  constructor(reportId, format) {
    this.reportId = reportId;
    this.format = format;
    this.scratchFile = path.join(scratchRoot, `${reportId}.${format}.part`);
    this.rows = [];
  }

  render(rowCount) {
    for (let r = 0; r < rowCount; r++) this.rows.push(`${this.reportId};row${r};${(r * 7) % 13}`);
    return this.rows.join('\n');
  }
}

function runExport(reportId) {
  const job = new ExportJob(reportId, reportId % 3 === 0 ? 'csv' : 'tsv');
  process.on('exit', () => {
    // Best effort: the scratch file would be removed here at shutdown.
    if (job.rows.length > 1e9) console.log(job.scratchFile);
  });
  const body = job.render(2);
  completedJobs.count++;
  completedJobs.bytes += body.length;
  return body.length;
}

module.exports = { runExport };

runScenario({
  request: (n) => runExport(n),
  exitAfter: true,
});
