// memsleuth demo service: a small "settings-aware" HTTP API with a real memory leak.
//
// Every request to /api/quote subscribes to the module-level `configBus` so that it can
// react to a settings reload, and never unsubscribes. Each listener closes over the
// request's price table, so the table stays reachable from the emitter's `_events` for as
// long as the process lives: the classic EventEmitter listener leak.
//
// `start()` serves the API and prom-client's default metrics on /metrics for Prometheus;
// the handler and the emitter are exported so a regression test can call them.
'use strict';
const http = require('http');
const { EventEmitter } = require('events');

const configBus = new EventEmitter();
let settings = { currency: 'EUR', margin: 1.2 };

function priceTable(n) {
  // 1024 doubles, about 8 KiB on the V8 heap
  return Array.from({ length: 1024 }, (_, i) => (n * 31 + i) * settings.margin);
}

function handleQuote(req, res) {
  const table = priceTable(Number(req.headers['x-request-id'] || 0));
  configBus.on('reload', function refreshPrices(next) {
    settings = next;
    table.length = 0;
  });
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ price: table[7], currency: settings.currency }));
}

function start(port = Number(process.env.PORT || 19464)) {
  const client = require('prom-client');
  client.collectDefaultMetrics();
  const server = http.createServer(async (req, res) => {
    if (req.url === '/metrics') {
      res.setHeader('content-type', client.register.contentType);
      res.end(await client.register.metrics());
    } else if (req.url === '/api/quote') {
      handleQuote(req, res);
    } else {
      res.statusCode = 404;
      res.end('not found\n');
    }
  });
  server.listen(port, '127.0.0.1', () => console.error(`demo service on 127.0.0.1:${port}`));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
  return server;
}

module.exports = { handleQuote, configBus, start };
if (require.main === module) start();
