// Storefront API with sessions: it remembers the last catalogue page each visitor looked at.
// It uses express-session's default store (MemoryStore) with saveUninitialized, so every
// request without a session cookie (crawlers, health checks, API clients) creates a session
// that is kept in the process until it expires a day later.
'use strict';
const express = require('express');
const session = require('express-session');

const app = express();
app.use(session({ secret: 'storefront-secret', resave: false, saveUninitialized: true, cookie: { maxAge: 24 * 3600 * 1000 } }));

const catalogue = Array.from({ length: 50 }, (_, i) => ({ sku: `SKU-${1000 + i}`, title: `Item ${i}`, cents: 199 + i * 10 }));

app.get('/catalog/:page', (req, res) => {
  const page = Number(req.params.page) % 10;
  req.session.lastPage = page;
  req.session.seen = (req.session.seen || 0) + 1;
  res.json({ page, items: catalogue.slice(page * 5, page * 5 + 5) });
});

const server = app.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
