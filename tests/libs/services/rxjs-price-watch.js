// Price alerts: a request registers interest in a symbol, and the handler subscribes to the
// shared tick stream (an rxjs Subject) to keep the alert's last price current. The
// subscription is never unsubscribed, so each request leaves a subscriber on the Subject.
'use strict';
const v8 = require('v8');
const express = require('express');
const { Subject } = require('rxjs');
const { filter } = require('rxjs/operators');

const app = express();
app.use(express.json());
const priceTicks = new Subject();
let alertsCreated = 0;

app.post('/alerts', (req, res) => {
  const alert = { id: ++alertsCreated, symbol: req.body.symbol, threshold: req.body.threshold, last: null };
  priceTicks.pipe(filter((t) => t.symbol === alert.symbol)).subscribe((t) => { alert.last = t.price; });
  if (alert.id % 200 === 0) priceTicks.next({ symbol: alert.symbol, price: 100 + (alert.id % 13) });
  res.json({ id: alert.id });
});

app.post('/debug/heapdump', (req, res) => {
  res.json({ file: v8.writeHeapSnapshot() });
});

const server = app.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
