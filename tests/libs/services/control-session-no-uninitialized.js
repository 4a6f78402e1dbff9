// Control: express-session configured as its docs recommend for public endpoints
// (saveUninitialized: false, resave: false). Anonymous catalogue requests never write to the
// session, so no session is created or stored.
'use strict';
const v8 = require('v8');
const express = require('express');
const session = require('express-session');

const app = express();
app.use(express.json());
app.use(session({ secret: 'storefront-secret', resave: false, saveUninitialized: false }));

const catalogue = Array.from({ length: 50 }, (_, i) => ({ sku: `SKU-${1000 + i}`, title: `Item ${i}`, cents: 199 + i * 10 }));

app.post('/catalog', (req, res) => {
  const page = Number(req.body.page) % 10;
  if (req.session.userId) req.session.lastPage = page;
  res.json({ page, items: catalogue.slice(page * 5, page * 5 + 5) });
});

app.post('/debug/heapdump', (req, res) => {
  res.json({ file: v8.writeHeapSnapshot() });
});

const server = app.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
