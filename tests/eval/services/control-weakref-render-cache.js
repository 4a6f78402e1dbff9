// Control (plain http): rendered product cards are cached through WeakRefs, and a
// FinalizationRegistry removes a cache entry once its card has been collected. The cache
// never keeps a card alive by itself; entries come and go with garbage collection.
'use strict';
const http = require('http');

const cards = new Map();
const cleanup = new FinalizationRegistry((key) => {
  const ref = cards.get(key);
  if (ref && ref.deref() === undefined) cards.delete(key);
});

function renderCard(id) {
  return { id, html: `<article data-id="${id}"><h2>Product ${id}</h2>${'<li>feature</li>'.repeat(30)}</article>` };
}

function cardFor(id) {
  const hit = cards.get(id)?.deref();
  if (hit) return hit;
  const card = renderCard(id);
  cards.set(id, new WeakRef(card));
  cleanup.register(card, id);
  return card;
}

const server = http.createServer((req, res) => {
  const m = /^\/cards\/(\d+)$/.exec(req.url);
  if (!m) {
    res.writeHead(200).end('ok');
    return;
  }
  const card = cardFor(Number(m[1]));
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end(card.html);
});

server.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
