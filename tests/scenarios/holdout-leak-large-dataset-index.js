// Address autocomplete: the first lookup builds an in-memory index of every street name
// (a Map from prefix to entries) from the bundled gazetteer, and keeps it for the life of the
// process. Nothing is added afterwards; the index is simply far too large to keep around.
'use strict';
const { runScenario } = require('./harness');

let streetIndex = null;

function buildStreetIndex() {
  const index = new Map();
  const kinds = ['Street', 'Road', 'Lane', 'Avenue', 'Close', 'Way'];
  for (let i = 0; i < 30000; i++) {
    const name = `${['North', 'South', 'Mill', 'Church', 'Station', 'Park'][i % 6]} ${i} ${kinds[i % kinds.length]}`;
    index.set(`${name.slice(0, 3).toLowerCase()}:${i}`, { name, postcode: `PC${i % 9000}`, lat: i / 1000, lon: -i / 1000 });
  }
  return index;
}

function handleAutocomplete(n) {
  if (streetIndex === null) streetIndex = buildStreetIndex();
  return streetIndex.get(`mil:${(n * 6 + 2) % 30000}`) ? 1 : 0;
}

function handleHealth(n) {
  return { ok: true, n };
}

module.exports = { handleAutocomplete, handleHealth };

runScenario({
  warmup: handleHealth,
  request: handleAutocomplete,
  exitAfter: true,
});
