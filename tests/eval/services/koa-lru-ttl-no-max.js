// Search suggestions API (koa + @koa/router). Suggestions are expensive, so they are cached
// for an hour in an LRU cache keyed by the raw query. The cache was given a ttl but no
// `max`, and ttlAutopurge is off: nothing is ever evicted, and since almost every query is
// different, the cache only grows (lru-cache even prints a warning about it at start).
'use strict';
const Koa = require('koa');
const Router = require('@koa/router');
const { LRUCache } = require('lru-cache');

const suggestionCache = new LRUCache({ ttl: 60 * 60 * 1000 });

const dictionary = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega'.split(' ');

async function computeSuggestions(query) {
  await new Promise((resolve) => setImmediate(resolve));
  const words = query.toLowerCase().split(/\s+/);
  return dictionary
    .map((w, rank) => ({ text: `${words[0]} ${w}`, score: (rank * 7919 + query.length) % 101, highlight: words }))
    .sort((a, b) => b.score - a.score)
    .slice(0, 12);
}

const router = new Router();

router.get('/suggest', async (ctx) => {
  const q = String(ctx.query.q || '');
  let suggestions = suggestionCache.get(q);
  if (!suggestions) {
    suggestions = await computeSuggestions(q);
    suggestionCache.set(q, suggestions);
  }
  ctx.body = { q, suggestions };
});

const app = new Koa();
app.use(router.routes()).use(router.allowedMethods());

const server = app.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
