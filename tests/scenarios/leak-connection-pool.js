// A small hand-written connection pool (in the style of pg.Pool) for the upstream
// key/value service. The checkout handler releases its client on the happy path only;
// the early return for express checkouts skips release(), so the pool opens a new
// connection for the next caller and the checked-out ones are never returned.
'use strict';
const net = require('net');
const { runScenario, startUpstream } = require('./harness');

class PooledClient {
  constructor(socket, clientId) {
    this.socket = socket;
    this.clientId = clientId;
    this.pendingReplies = [];
    this.buffered = '';
    this.queries = 0;
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => this.onData(chunk));
  }

  onData(chunk) {
    this.buffered += chunk;
    let nl;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      const waiter = this.pendingReplies.shift();
      if (waiter) waiter(line);
    }
  }

  query(text) {
    this.queries++;
    return new Promise((resolve) => {
      this.pendingReplies.push(resolve);
      this.socket.write(`${text}\n`);
    });
  }
}

class ClientPool {
  constructor(port, maxIdle) {
    this.port = port;
    this.maxIdle = maxIdle;
    this.idle = [];
    this.clients = [];
    this.opened = 0;
  }

  connect() {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ host: '127.0.0.1', port: this.port }, () => {
        const client = new PooledClient(socket, ++this.opened);
        this.clients.push(client);
        resolve(client);
      });
      socket.once('error', reject);
    });
  }

  async acquire() {
    return this.idle.pop() || this.connect();
  }

  release(client) {
    if (this.idle.length < this.maxIdle) this.idle.push(client);
    else {
      this.clients.splice(this.clients.indexOf(client), 1);
      client.socket.end();
    }
  }
}

let pool = null;
const cartCache = new Set(['cart-3', 'cart-4']);

async function handleCheckout(n) {
  const client = await pool.acquire();
  const cartId = `cart-${n}`;
  if (cartCache.has(cartId) || n % 4 !== 0) {
    // Express checkout answers early. Bug: this path never releases the client.
    return client.query(`PEEK ${cartId}`);
  }
  const reply = await client.query(`RESERVE ${cartId}`);
  pool.release(client);
  return reply;
}

module.exports = { handleCheckout };

runScenario({
  setup: async () => {
    const upstream = await startUpstream();
    pool = new ClientPool(upstream.port, 4);
  },
  request: handleCheckout,
  iterations: 400,
  warmupIterations: 40,
  exitAfter: true,
});
