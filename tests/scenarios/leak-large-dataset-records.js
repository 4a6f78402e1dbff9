// Product search: the first search request loads the whole catalogue export into memory
// as an array of row objects and keeps it in a module variable for the life of the process,
// instead of streaming it or querying it page by page.
'use strict';
const { runScenario } = require('./harness');

const CATALOGUE_ROWS = 20000;
let catalogueRows = null;

// Stands in for reading the nightly CSV export from disk.
function readCatalogueExport(rowCount) {
  const lines = ['sku,title,price_cents,category'];
  const categories = ['garden', 'kitchen', 'toys', 'office', 'outdoor'];
  for (let i = 0; i < rowCount; i++) {
    lines.push(`SKU-${700000 + i},Item ${i} ${categories[i % 5]} edition,${199 + (i % 5000)},${categories[(i * 7) % 5]}`);
  }
  return lines.join('\n');
}

function loadCatalogue() {
  const csv = readCatalogueExport(CATALOGUE_ROWS);
  return csv.split('\n').slice(1).map((line) => {
    const [sku, title, price, category] = line.split(',');
    return { sku, title, priceCents: Number(price), category };
  });
}

function handleSearch(n) {
  if (catalogueRows === null) catalogueRows = loadCatalogue();
  const row = catalogueRows[(n * 7919) % catalogueRows.length];
  return row.priceCents;
}

function handleHealthCheck(n) {
  return { status: 'ok', uptime: process.uptime(), n };
}

module.exports = { handleSearch, handleHealthCheck };

runScenario({
  warmup: handleHealthCheck,
  request: handleSearch,
  exitAfter: true,
});
