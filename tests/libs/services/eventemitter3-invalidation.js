// Profile API on plain http with a cache-invalidation bus (eventemitter3). Each request
// subscribes the profile it served so that it can be refreshed on invalidation, and never
// unsubscribes: the bus keeps every served profile.
'use strict';
const http = require('http');
const EventEmitter = require('eventemitter3');

const invalidations = new EventEmitter();
let served = 0;

function loadProfile(userId) {
  return { userId, name: `User ${userId}`, plan: userId % 5 === 0 ? 'pro' : 'free', badges: ['early', 'beta'], fresh: true };
}

const server = http.createServer((req, res) => {
  const match = /^\/profiles\/(\d+)$/.exec(req.url);
  if (!match) {
    res.writeHead(404).end();
    return;
  }
  const profile = loadProfile(Number(match[1]));
  invalidations.on('user-changed', function markProfileStale(userId) {
    if (userId === profile.userId) profile.fresh = false;
  });
  if (++served % 300 === 0) invalidations.emit('user-changed', profile.userId);
  const body = JSON.stringify(profile);
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(body);
});

server.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
