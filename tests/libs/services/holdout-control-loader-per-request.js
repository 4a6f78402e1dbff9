// Control: a DataLoader per request (its cache lives as long as the request), and an
// eventemitter3 listener that is removed when the response finishes.
'use strict';
const express = require('express');
const DataLoader = require('dataloader');
const EventEmitter = require('eventemitter3');

const app = express();
const invalidations = new EventEmitter();

async function fetchUsers(ids) {
  return ids.map((id) => ({ id, name: `user-${id}`, roles: ['reader'] }));
}

app.use((req, res, next) => {
  req.loaders = { users: new DataLoader(fetchUsers) };
  next();
});

app.get('/users/:id', async (req, res) => {
  const user = await req.loaders.users.load(Number(req.params.id));
  const onChange = (id) => { if (id === user.id) user.stale = true; };
  invalidations.on('user-changed', onChange);
  res.on('finish', () => invalidations.off('user-changed', onChange));
  res.json(user);
});

const server = app.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
