// Control (koa + @koa/router): the suggestions cache with a ttl and a `max` of 300 entries.
// Almost every query is new, so the cache churns (evicts on every insert once full) but never
// holds more than 300 entries.
'use strict';
const Koa = require('koa');
const Router = require('@koa/router');
const { LRUCache } = require('lru-cache');

const suggestionCache = new LRUCache({ max: 300, ttl: 60 * 60 * 1000 });

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
