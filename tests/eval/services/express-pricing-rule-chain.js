// Pricing service (express 5). Marketing pushes discount rules at runtime; each new rule
// wraps the current pricing function so that rules stack. Rules are never replaced or
// compacted: every rule pushed since start (with its whole request body: conditions,
// description, audit data) stays reachable through the chain of wrapped functions.
'use strict';
const express = require('express');
const v8 = require('v8');

const app = express();
app.use(express.json({ limit: '1mb' }));

let currentPricing = (cart) => cart.items.reduce((sum, item) => sum + item.price * item.qty, 0);

app.post('/pricing/rules', (req, res) => {
  const rule = req.body;
  const previous = currentPricing;
  currentPricing = (cart) => {
    const base = previous(cart);
    const applies = rule.conditions.every((tag) => cart.tags.includes(tag));
    return applies ? base * (1 - rule.percent / 100) : base;
  };
  res.status(201).json({ accepted: rule.name });
});

app.post('/quote', (req, res) => {
  res.json({ total: Math.round(currentPricing(req.body) * 100) / 100 });
});

app.post('/debug/heapdump', (req, res) => {
  res.json({ file: v8.writeHeapSnapshot() });
});

const server = app.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
