// Control: a node-cache keyed by product id (a fixed catalogue of 60 products), a lodash
// memoize over the same ids, and routes defined once with parameters. Everything fills
// during the warm-up and then only serves hits.
'use strict';
const express = require('express');
const NodeCache = require('node-cache');
const _ = require('lodash');

const app = express();
const productCache = new NodeCache({ stdTTL: 0, checkperiod: 600, useClones: false });

const describeProduct = _.memoize((id) => ({ id, title: `Product ${id}`, tags: ['catalogue', `group-${id % 6}`] }));

app.get('/products/:id', (req, res) => {
  const id = Number(req.params.id) % 60;
  let product = productCache.get(id);
  if (!product) {
    product = { ...describeProduct(id), cents: 500 + id * 25 };
    productCache.set(id, product);
  }
  res.json(product);
});

const server = app.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
