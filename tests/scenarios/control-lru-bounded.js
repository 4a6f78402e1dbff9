// Control: a bounded LRU cache of rendered product pages. New keys keep arriving, but
// the cache evicts the least recently used entry above its capacity, so it stays flat.
'use strict';
const { runScenario } = require('./harness');

class LruCache {
  constructor(capacity) {
    this.capacity = capacity;
    this.entries = new Map();
  }

  get(key) {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key, value) {
    if (this.entries.has(key)) this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      this.entries.delete(oldest);
    }
  }
}

const pageCache = new LruCache(500);

function renderPage(productId) {
  return { productId, html: `<h1>Product ${productId}</h1><p>${'lorem '.repeat(8)}</p>`, renderedAt: Date.now() };
}

function handleProductPage(n) {
  const productId = `p${n}`;
  let page = pageCache.get(productId);
  if (!page) {
    page = renderPage(productId);
    pageCache.set(productId, page);
  }
  return page.html.length;
}

module.exports = { handleProductPage };

runScenario({
  request: handleProductPage,
});
