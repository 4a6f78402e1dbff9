// Tracing middleware written in-house (plain http + async_hooks). Every async resource
// inherits its parent's trace context through an `init` hook that stores it in a Map keyed
// by asyncId. The hook has no `destroy` callback, so the Map keeps one trace context per
// async resource ever created: promises, timers, sockets, requests.
'use strict';
const asyncHooks = require('async_hooks');
const crypto = require('crypto');
const http = require('http');
const v8 = require('v8');

const traceContexts = new Map();

asyncHooks.createHook({
  init(asyncId, type, triggerAsyncId) {
    const parent = traceContexts.get(triggerAsyncId);
    traceContexts.set(asyncId, parent ? { traceId: parent.traceId, spanId: asyncId, type } : { traceId: null, spanId: asyncId, type });
  },
}).enable();

function currentTrace() {
  return traceContexts.get(asyncHooks.executionAsyncId());
}

const server = http.createServer((req, res) => {
  const ctx = currentTrace();
  if (ctx) ctx.traceId = req.headers['x-trace-id'] || crypto.randomUUID();
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', async () => {
    if (req.url === '/debug/heapdump') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ file: v8.writeHeapSnapshot() }));
      return;
    }
    await new Promise((resolve) => setImmediate(resolve));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, trace: currentTrace()?.traceId, size: body.length }));
  });
});

server.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
