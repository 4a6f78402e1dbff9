// Quote service (fastify, ES module). A client POSTs /watch to start watching a symbol and
// gets the current price back. The handler also subscribes the watch to the live price feed
// so that its short price history stays fresh, but nothing ever unsubscribes: every request
// leaves one 'tick' listener (and the watch it updates) on the process-wide feed.
import Fastify from 'fastify';
import { EventEmitter } from 'node:events';
import v8 from 'node:v8';

class PriceFeed extends EventEmitter {
  #prices = new Map();

  constructor() {
    super();
    this.setMaxListeners(0);
    setInterval(() => this.#publish(), 1000).unref();
  }

  #publish() {
    for (const [symbol, price] of this.#prices) {
      const next = Math.round(price * (1 + (Math.random() - 0.5) / 50) * 100) / 100;
      this.#prices.set(symbol, next);
      this.emit('tick', symbol, next);
    }
  }

  price(symbol) {
    if (!this.#prices.has(symbol)) this.#prices.set(symbol, 100);
    return this.#prices.get(symbol);
  }
}

const feed = new PriceFeed();
const app = Fastify({ logger: false });

app.post('/watch', async (request) => {
  const { symbol, clientId } = request.body;
  const watch = { symbol, clientId, since: Date.now(), history: new Array(48).fill(feed.price(symbol)) };
  feed.on('tick', (sym, price) => {
    if (sym !== symbol) return;
    watch.history.push(price);
    watch.history.shift();
  });
  return { symbol, price: feed.price(symbol), watching: true };
});

app.post('/debug/heapdump', async () => ({ file: v8.writeHeapSnapshot() }));

await app.listen({ port: Number(process.env.PORT) || 0, host: '127.0.0.1' });
console.log(`listening on http://127.0.0.1:${app.server.address().port}`);
