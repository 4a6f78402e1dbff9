// Quote service (plain `http`): GET /quote/:id answers a price quote in the caller's
// currency and keeps it current while exchange rates move.
//
//   PORT=8080 node server.js leaky   # the build with the leak
//   PORT=8080 node server.js fixed   # the build with the fix (default)
//
// The leaky build subscribes every quote to the rate feed and never unsubscribes, so the
// feed (alive as long as the process) keeps each request's listener and quote forever.
// The fixed build unsubscribes when the response is done.
'use strict';
const http = require('http');
const { EventEmitter } = require('events');

const build = (process.argv[2] || process.env.QUOTE_BUILD || 'fixed') === 'leaky' ? 'leaky' : 'fixed';
const port = Number(process.env.PORT || 8080);

// Exchange rates against USD, pushed every few seconds by the feed.
const rateFeed = new EventEmitter();
rateFeed.setMaxListeners(0);
let rates = { USD: 1, EUR: 0.92, GBP: 0.79, JPY: 151.3, CHF: 0.88 };
const feedTimer = setInterval(() => {
  rates = { ...rates, EUR: 0.9 + Math.random() * 0.04 };
  rateFeed.emit('rates', rates);
}, 5000);
feedTimer.unref();

function basePrice(id) {
  let h = 2166136261;
  for (const c of String(id)) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return 10 + ((h >>> 0) % 99000) / 100;
}

function buildQuote(id, currency) {
  const base = basePrice(id);
  return {
    id,
    currency,
    base,
    price: +(base * rates[currency]).toFixed(2),
    spread: +(base * 0.002).toFixed(4),
    history: Array.from({ length: 12 }, (_, k) => +(base * (1 + Math.sin(k) / 50)).toFixed(2)),
    updatedAt: Date.now(),
  };
}

function handleQuote(req, res, id, currency) {
  const quote = buildQuote(id, currency);
  const refresh = (next) => { quote.price = +(quote.base * next[currency]).toFixed(2); quote.updatedAt = Date.now(); };
  rateFeed.on('rates', refresh);
  if (build === 'fixed') {
    res.on('close', () => rateFeed.off('rates', refresh));
  }
  const body = JSON.stringify(quote);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const m = /^\/quote\/([\w-]+)$/.exec(url.pathname);
  if (req.method === 'GET' && m) {
    const currency = url.searchParams.get('currency') || 'EUR';
    if (!(currency in rates)) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('unknown currency\n');
      return;
    }
    handleQuote(req, res, m[1], currency);
    return;
  }
  if (url.pathname === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok\n');
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
});

server.listen(port, '127.0.0.1', () => {
  console.log(`quote service (${build} build) listening on http://127.0.0.1:${port}`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
