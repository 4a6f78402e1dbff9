// Checkout service (plain http, async/await). Stock is checked over a persistent TCP
// connection to the inventory service with a tiny request/response client that matches
// answers to requests by id. The HTTP handler gives up after 40 ms and answers "stock
// unknown", but the client itself has no timeout: a request the backend never answers
// stays in the client's pending table forever, with its promise callbacks and payload.
'use strict';
const http = require('http');
const net = require('net');
const v8 = require('v8');

class InventoryClient {
  #socket;
  #nextId = 1;
  #pending = new Map();
  #buffer = '';

  constructor(port) {
    this.#socket = net.connect(port, '127.0.0.1');
    this.#socket.setEncoding('utf8');
    this.#socket.on('data', (chunk) => this.#onData(chunk));
  }

  #onData(chunk) {
    this.#buffer += chunk;
    let nl;
    while ((nl = this.#buffer.indexOf('\n')) >= 0) {
      const reply = JSON.parse(this.#buffer.slice(0, nl));
      this.#buffer = this.#buffer.slice(nl + 1);
      const entry = this.#pending.get(reply.id);
      if (entry) {
        this.#pending.delete(reply.id);
        entry.resolve(reply);
      }
    }
  }

  call(payload) {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, payload, sentAt: Date.now() });
      this.#socket.write(`${JSON.stringify({ id, ...payload })}\n`);
    });
  }
}

const inventory = new InventoryClient(Number(new URL(process.env.UPSTREAM_URL).port));

function withTimeout(promise, ms, fallback) {
  let timer;
  return Promise.race([promise, new Promise((resolve) => { timer = setTimeout(resolve, ms, fallback); })])
    .finally(() => clearTimeout(timer));
}

async function readJson(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body ? JSON.parse(body) : {};
}

async function checkout(req, res) {
  const order = await readJson(req);
  const stock = await withTimeout(
    inventory.call({ sku: order.sku, lines: order.lines, customer: order.customer }),
    40,
    { stock: null },
  );
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ sku: order.sku, available: stock.stock }));
}

const server = http.createServer((req, res) => {
  const route = `${req.method} ${req.url}`;
  if (route === 'POST /checkout') {
    checkout(req, res).catch((err) => {
      res.writeHead(500);
      res.end(String(err));
    });
  } else if (route === 'POST /debug/heapdump') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ file: v8.writeHeapSnapshot() }));
  } else {
    res.writeHead(404);
    res.end();
  }
});

server.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
