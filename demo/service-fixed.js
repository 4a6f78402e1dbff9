// memsleuth demo service, fixed: service.js with the fix memsleuth's report proposes for
// its leak. Each request still subscribes to `configBus` so it can react to a settings
// reload, but the listener is removed when the request's response closes, so the emitter
// holds only the listeners of requests in flight.
//
// tests/report_demo.rs runs the regression test the report proposes against service.js
// (it must fail) and against this file (it must pass), with real Node.
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
  function refreshPrices(next) {
    settings = next;
    table.length = 0;
  }
  configBus.on('reload', refreshPrices);
  // The listener serves this request only: remove it when the response is done.
  res.once('close', () => configBus.off('reload', refreshPrices));
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
