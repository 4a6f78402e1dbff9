// Control (fastify, ES module): the same quote service, but a watch follows the feed only
// until its first matching tick or for 50 ms, and its listener is removed in `finally`.
import Fastify from 'fastify';
import { EventEmitter, once } from 'node:events';
import v8 from 'node:v8';

class PriceFeed extends EventEmitter {
  #prices = new Map();

  constructor() {
    super();
    this.setMaxListeners(0);
    setInterval(() => this.#publish(), 20).unref();
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
  const { symbol } = request.body;
  const history = [feed.price(symbol)];
  const onTick = (sym, price) => {
    if (sym === symbol) history.push(price);
  };
  feed.on('tick', onTick);
  try {
    await Promise.race([once(feed, 'tick'), new Promise((r) => setTimeout(r, 50))]);
    return { symbol, price: history[history.length - 1], samples: history.length };
  } finally {
    feed.off('tick', onTick);
  }
});

app.post('/debug/heapdump', async () => ({ file: v8.writeHeapSnapshot() }));

await app.listen({ port: Number(process.env.PORT) || 0, host: '127.0.0.1' });
console.log(`listening on http://127.0.0.1:${app.server.address().port}`);
