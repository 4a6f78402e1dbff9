// Control: each request waits for the next tick of its symbol on the shared rxjs Subject with
// take(1) (and a timeout), so the subscription ends by itself once it has its answer.
'use strict';
const express = require('express');
const { Subject, firstValueFrom, timer } = require('rxjs');
const { filter, take, takeUntil } = require('rxjs/operators');

const app = express();
const priceTicks = new Subject();
let tickNo = 0;

// The feed ticks every symbol the moment somebody asks (a stand-in for a market data push).
function publishTicks(symbol) {
  setImmediate(() => priceTicks.next({ symbol, price: 100 + (++tickNo % 13) }));
}

app.get('/price/:symbol', async (req, res) => {
  const symbol = req.params.symbol;
  const next = firstValueFrom(priceTicks.pipe(filter((t) => t.symbol === symbol), take(1), takeUntil(timer(5000))));
  publishTicks(symbol);
  const tick = await next;
  res.json({ symbol, price: tick.price });
});

const server = app.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
