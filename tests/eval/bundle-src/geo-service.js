// Source of services/geo-tiles.bundle.js (bundled with esbuild, lru-cache inlined; see
// README.md). Map tile API: each map cell gets its own small LRU cache of rendered tiles.
// The cell is computed from the client's coordinates at full precision, so nearly every
// request makes a new cell, and the table of per-cell caches is never trimmed.
'use strict';
const http = require('http');
const v8 = require('v8');
const { LRUCache } = require('lru-cache');

const cellCaches = new Map();

function cacheFor(cell) {
  let cache = cellCaches.get(cell);
  if (!cache) {
    cache = new LRUCache({ max: 64 });
    cellCaches.set(cell, cache);
  }
  return cache;
}

function renderTile(cell, zoom) {
  return { cell, zoom, svg: `<svg data-cell="${cell}" data-zoom="${zoom}">${'<path d="M0 0L1 1"/>'.repeat(12)}</svg>` };
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname === '/tile') {
    const lat = Number(url.searchParams.get('lat'));
    const lon = Number(url.searchParams.get('lon'));
    const zoom = Number(url.searchParams.get('z') || 12);
    const cell = `${lat.toFixed(6)}:${lon.toFixed(6)}`;
    const cache = cacheFor(cell);
    let tile = cache.get(zoom);
    if (!tile) {
      tile = renderTile(cell, zoom);
      cache.set(zoom, tile);
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ cell, bytes: tile.svg.length }));
  } else {
    res.writeHead(404).end();
  }
});

server.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
