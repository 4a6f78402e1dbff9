// User lookups batched with DataLoader. The loader was created once at module scope instead
// of once per request, so its memoization cache (meant to live for one request) keeps every
// user ever loaded.
'use strict';
const express = require('express');
const DataLoader = require('dataloader');

const app = express();

async function fetchUsers(ids) {
  return ids.map((id) => ({ id, name: `user-${id}`, email: `user-${id}@example.test`, roles: ['reader'] }));
}

const userLoader = new DataLoader(fetchUsers);

app.get('/users/:id', async (req, res) => {
  const user = await userLoader.load(Number(req.params.id));
  res.json(user);
});

const server = app.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
