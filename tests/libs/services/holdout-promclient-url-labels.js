// Order API with Prometheus metrics (prom-client). The request counter is labelled with the
// raw URL instead of the route pattern, so every order id becomes a new label set that the
// counter keeps for the life of the process.
'use strict';
const v8 = require('v8');
const express = require('express');
const client = require('prom-client');

const app = express();
app.use(express.json());
const httpRequests = new client.Counter({ name: 'http_requests_total', help: 'HTTP requests', labelNames: ['method', 'path', 'status'] });

app.post('/orders/:id/pay', (req, res) => {
  const paid = { id: req.params.id, amount: req.body.amount, status: 'paid' };
  res.json(paid);
  httpRequests.inc({ method: req.method, path: req.originalUrl, status: res.statusCode });
});

app.get('/metrics', async (req, res) => {
  res.type(client.register.contentType).send(await client.register.metrics());
});

app.post('/debug/heapdump', (req, res) => {
  res.json({ file: v8.writeHeapSnapshot() });
});

const server = app.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
