// Upload service (plain http). Each request gets its own log stream, piped into the
// process-wide audit file with { end: false } so that the file stays open. The per-request
// stream is written to but never ended, so the pipe is never torn down: every request
// leaves a PassThrough and its pipe listeners ('unpipe', 'error', 'close', 'finish', 'drain')
// registered on the audit file's stream.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const { PassThrough } = require('stream');

const auditLog = fs.createWriteStream(path.join(process.cwd(), 'audit.log'), { flags: 'a' });

function requestLog(requestId) {
  const stream = new PassThrough();
  stream.pipe(auditLog, { end: false });
  return (event, detail) => stream.write(`${new Date().toISOString()} ${requestId} ${event} ${detail}\n`);
}

let uploads = 0;

const server = http.createServer((req, res) => {
  const log = requestLog(`req-${++uploads}`);
  let bytes = 0;
  req.on('data', (c) => { bytes += c.length; });
  req.on('end', () => {
    log('upload', `${req.url} ${bytes} bytes`);
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ stored: bytes }));
  });
});

server.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
