// Loaded into the demo service with `node -r` by make-demo-evidence.sh, never part of the
// service: a loopback-only endpoint that does what `memsleuth capture` does over the
// inspector at a checkpoint. GET /checkpoint runs a full GC (the process runs with
// --expose-gc) and answers process.memoryUsage(); GET /snapshot writes a heap snapshot
// (v8.writeHeapSnapshot, Node's default file name in the working directory) and answers
// its name.
'use strict';
const http = require('http');
const v8 = require('v8');

const port = Number(process.env.PROBE_PORT || 0);
if (port) {
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/checkpoint') {
      global.gc();
      res.end(JSON.stringify(process.memoryUsage()));
    } else if (req.url === '/snapshot') {
      res.end(JSON.stringify({ file: v8.writeHeapSnapshot() }));
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  server.listen(port, '127.0.0.1');
  server.unref();
}
