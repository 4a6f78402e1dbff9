// Product listing with a rendered-page cache (node-cache). Pages are cached by their full
// URL, query string included, with no TTL: every distinct URL (tracking parameters,
// cache-busters) adds an entry that is never evicted.
'use strict';
const v8 = require('v8');
const express = require('express');
const NodeCache = require('node-cache');

const app = express();
const pageCache = new NodeCache({ stdTTL: 0, checkperiod: 600, useClones: false });

function renderListing(page) {
  const rows = [];
  for (let i = 0; i < 8; i++) rows.push(`<li data-sku="SKU-${page * 8 + i}">Item ${page * 8 + i}</li>`);
  return `<html><body><h1>Page ${page}</h1><ul>${rows.join('')}</ul></body></html>`;
}

app.get('/products', (req, res) => {
  const cached = pageCache.get(req.originalUrl);
  if (cached) return res.type('html').send(cached.html);
  const page = Number(req.query.page) || 0;
  const entry = { html: renderListing(page), renderedAt: Date.now(), page };
  pageCache.set(req.originalUrl, entry);
  res.type('html').send(entry.html);
});

app.post('/debug/heapdump', (req, res) => {
  res.json({ file: v8.writeHeapSnapshot() });
});

const server = app.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
