// Makes examples/demo-small.heapsnapshot.gz's content: a tiny "service" with two leaks.
//   node --expose-gc examples/gen-demo-small.js OUT.heapsnapshot
// 1. Every handled request subscribes to a shared EventEmitter ('config-changed') and never
//    unsubscribes: the listener closure keeps the request's context alive (event-listener leak).
// 2. Responses are memoized in a module-level Map that is never evicted (unbounded cache).
// It "handles" 2000 requests synchronously, then calls gc() and writes the snapshot.
'use strict';
const v8 = require('v8');
const {EventEmitter} = require('events');

const out = process.argv[2];
if (!out || typeof gc !== 'function') {
  console.error('usage: node --expose-gc gen-demo-small.js OUT.heapsnapshot');
  process.exit(2);
}

const configBus = new EventEmitter();
configBus.setMaxListeners(0);
const responseCache = new Map();

class RequestContext {
  constructor(id, path) {
    this.id = id;
    this.path = path;
    this.headers = {'user-agent': 'demo/1.0', accept: 'application/json'};
    this.startedAt = new Date(1700000000000 + id * 1000);
  }
}

class CachedResponse {
  constructor(ctx, body) {
    this.key = ctx.path;
    this.body = body;
    this.bytes = Buffer.from(body);
  }
}

function handleRequest(id) {
  const ctx = new RequestContext(id, '/api/items/' + id);
  // leak 1: a listener per request, never removed
  configBus.on('config-changed', function onConfigChanged(cfg) {
    ctx.config = cfg;
  });
  // leak 2: the cache grows with every distinct path
  const body = JSON.stringify({id, name: 'item ' + id, tags: ['demo', 'leak']});
  responseCache.set(ctx.path, new CachedResponse(ctx, body));
  return body.length;
}

let total = 0;
for (let id = 0; id < 2000; id++) total += handleRequest(id);
globalThis.demoService = {configBus, responseCache, total};

gc(); gc();
v8.writeHeapSnapshot(out);
console.log(out);
process.exit(0);
