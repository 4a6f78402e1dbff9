// Report export service (plain http, ES module). Exports run in the background; on
// shutdown, every running export should be cancelled, so each one registers an 'abort'
// listener on the process-wide shutdown signal. The listener is never removed when the
// export finishes, so every export ever started stays registered, with its job state.
import http from 'node:http';
import v8 from 'node:v8';

const shutdown = new AbortController();
process.once('SIGTERM', () => shutdown.abort());

let jobs = 0;

async function runExport(spec) {
  const job = { id: ++jobs, spec, rows: [], cancelled: false };
  shutdown.signal.addEventListener('abort', () => { job.cancelled = true; });
  for (let page = 0; page < 4 && !job.cancelled; page++) {
    await new Promise((resolve) => setImmediate(resolve));
    job.rows.push(...Array.from({ length: 8 }, (_, k) => `${spec.report},${page},${k},${spec.filter}`));
  }
  return job;
}

async function readJson(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
}

const server = http.createServer(async (req, res) => {
  try {
    if (req.method === 'POST' && req.url === '/exports') {
      const job = await runExport(await readJson(req));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: job.id, rows: job.rows.length }));
    } else if (req.method === 'POST' && req.url === '/debug/heapdump') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ file: v8.writeHeapSnapshot() }));
    } else {
      res.writeHead(404).end();
    }
  } catch (err) {
    res.writeHead(500).end(String(err));
  }
});

server.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
