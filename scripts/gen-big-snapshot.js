// Writes large heap snapshots for scripts/bench-heap.sh (a benchmark input, not a test fixture).
//
//   node --expose-gc scripts/gen-big-snapshot.js OUT.heapsnapshot [--scale S]
//       one snapshot; scale 1 gives about 155 MB (about 1.7 M nodes, 5.6 M edges on Node 20),
//       the size grows linearly with S (scale 6.5 gives about 1 GB: run node with
//       --max-old-space-size=4096 or more).
//   node --expose-gc scripts/gen-big-snapshot.js OUTPREFIX --seq [--scale S]
//       three snapshots OUTPREFIX-1/-2/-3.heapsnapshot of ONE process that grows between them
//       (about 147, 155 and 163 MB at scale 1): a listener leak, an unbounded Map cache and a
//       growing array of sessions, on top of a large stable heap. Input of `memsleuth leaks`.
//
// The heap: tens of thousands of small class instances (Customer, Order, LineItem, Session,
// Product) held in Maps, Sets and arrays, with their strings, arrays and plain objects. No
// randomness: the same scale gives the same object graph (V8's ids and internals aside).
'use strict';
const v8 = require('v8');
const {EventEmitter} = require('events');

const args = process.argv.slice(2);
const out = args[0];
const seq = args.includes('--seq');
const si = args.indexOf('--scale');
const scale = si >= 0 ? Number(args[si + 1]) : 1;
if (!out || out.startsWith('--') || !(scale > 0) || typeof gc !== 'function') {
  console.error('usage: node --expose-gc gen-big-snapshot.js OUT [--scale S] [--seq]');
  process.exit(2);
}

const CITIES = ['Lisbon', 'Porto', 'Berlin', 'Hamburg', 'Paris', 'Lyon', 'Madrid', 'Sevilla', 'Rome', 'Milan'];
const TAGS = ['new', 'vip', 'b2b', 'b2c', 'trial', 'churned', 'eu', 'us'];

class Product {
  constructor(i) { this.sku = 'sku-' + i; this.title = 'Product number ' + i; this.price = i + 0.99; }
}
class Customer {
  constructor(i) {
    this.id = i;
    this.name = 'customer-' + i;
    this.email = 'c' + i + '@example.com';
    this.tags = [TAGS[i % 8], TAGS[(i >> 3) % 8]];
    this.address = {street: i + ' Main Street', city: CITIES[i % 10], zip: 'Z' + (i % 100000)};
    this.orders = [];
    this.firstOrder = null;
    this.session = null;
  }
}
class LineItem {
  constructor(product, qty) { this.product = product; this.qty = qty; this.note = qty > 2 ? 'bulk ' + qty : null; }
}
class Order {
  constructor(i, customer, products) {
    this.id = 'ord-' + i;
    this.customer = customer;
    this.items = [new LineItem(products[i % products.length], 1 + (i % 4)),
                  new LineItem(products[(i * 7) % products.length], 1 + (i % 3))];
    this.total = 10.5 + (i % 1000);
    this.status = i % 5 === 0 ? 'shipped' : 'open';
    this.sibling = null;
  }
}
class Session {
  constructor(i, customer) {
    this.sid = 'sess-' + i;
    this.customer = customer;
    this.history = ['/home', '/item/' + (i % 5000)];
    this.meta = {ua: 'bench/' + (i % 50), ip: '10.0.' + (i % 256) + '.' + (i % 251)};
  }
}

const world = {
  products: [],
  customers: new Map(),
  orders: new Set(),
  sessions: new Set(),
  byEmail: new Map(),
  log: [],
};
globalThis.benchWorld = world;

const LOG_HEAD = '10.0.0.1 - - [24/Nov/2026:17:00:00 +0000] "GET /api/customers/';
const LOG_MID = ' HTTP/1.1" 200 5120 "-" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
  'Chrome/131.0.0.0 Safari/537.36" user=';
const LOG_TAIL = ' accept="application/json, text/plain, */*" accept-language="en-US,en;q=0.9,pt;q=0.8" ' +
  'x-request-source="bench-heap" order=';

// one "unit" = 1 customer + 2 orders (+4 line items) + 1 session + log strings
let nextCustomer = 0, nextOrder = 0, nextSession = 0;
function addUnits(n) {
  for (let k = 0; k < n; k++) {
    const c = new Customer(nextCustomer++);
    world.customers.set(c.id, c);
    world.byEmail.set(c.email, c);
    for (let j = 0; j < 2; j++) {
      const o = new Order(nextOrder++, c, world.products);
      c.orders.push(o);
      world.orders.add(o);
    }
    c.orders[0].sibling = c.orders[1];
    c.orders[1].sibling = c.orders[0];
    c.firstOrder = c.orders[0];
    const s = new Session(nextSession++, c);
    c.session = s;
    world.sessions.add(s);
    // a flat (joined, not concatenated) access-log line of about 340 characters
    world.log.push([LOG_HEAD, c.id, LOG_MID, c.email, LOG_TAIL, nextOrder].join(''));
  }
}

// the leaks of --seq mode
const bus = new EventEmitter();
bus.setMaxListeners(0);
const responseCache = new Map();
const leakedSessions = [];
world.leaky = {bus, responseCache, leakedSessions};
let nextReq = 0;
function leak(n) {
  for (let k = 0; k < n; k++) {
    const id = nextReq++;
    const ctx = {requestId: 'req-' + id, body: ['chunk-' + id, 'chunk-' + (id + 1)]};
    bus.on('config', function onConfig(cfg) { ctx.cfg = cfg; });
    responseCache.set('/api/report/' + id, {status: 'ok', payload: 'report body ' + id});
    leakedSessions.push(new Session(1e9 + id, null));
  }
}

function write(file) {
  gc(); gc();
  const t0 = Date.now();
  v8.writeHeapSnapshot(file);
  const mu = process.memoryUsage();
  console.error(`wrote ${file} in ${((Date.now() - t0) / 1000).toFixed(1)} s ` +
    `(heapUsed ${(mu.heapUsed / 1048576).toFixed(0)} MB, rss ${(mu.rss / 1048576).toFixed(0)} MB)`);
  console.log(file);
}

const UNITS = Math.round(44800 * scale);
for (let i = 0; i < Math.max(1000, Math.round(5000 * scale)); i++) world.products.push(new Product(i));
if (!seq) {
  addUnits(UNITS);
  write(out);
} else {
  addUnits(Math.round(UNITS * 0.95));
  write(`${out}-1.heapsnapshot`);
  leak(Math.round(UNITS * 0.05 * 0.6));
  addUnits(Math.round(UNITS * 0.05 * 0.4)); // normal growth too, all still referenced
  write(`${out}-2.heapsnapshot`);
  leak(Math.round(UNITS * 0.05 * 0.6));
  for (let k = 0; k < Math.round(UNITS * 0.02); k++) world.sessions.delete(world.sessions.values().next().value); // churn
  addUnits(Math.round(UNITS * 0.05 * 0.4));
  write(`${out}-3.heapsnapshot`);
}
process.exit(0);
