// Geo lookup: on first use the service builds the whole IP-range table as one text blob
// (about 16 MB) and keeps it on a module-level holder, with a small offset index, for the
// life of the process. A streaming or on-disk lookup would not keep it.
'use strict';
const { runScenario } = require('./harness');

const geoTable = { blob: null, offsets: null, loadedAt: 0 };
const COUNTRIES = ['DE', 'FR', 'NL', 'US', 'BR', 'JP', 'IN', 'ZA', 'AU', 'CA'];

// Stands in for downloading the provider's range file.
function downloadRangeFile() {
  const lines = [];
  for (let a = 1; a < 256; a++) {
    for (let b = 0; b < 256; b += 1) {
      lines.push(`${a}.${b}.0.0/16;${COUNTRIES[(a * 31 + b) % COUNTRIES.length]};asn${(a * 256 + b) % 64000};provider-range-${a}-${b}-block-allocation-record;registered=2019-0${1 + (b % 9)}-1${a % 10};status=assigned;contact=noc-${a}-${b}@ranges.example.net;remarks=no-abuse-contact-on-file`);
    }
  }
  return lines.join('\n');
}

function ensureGeoTable() {
  if (geoTable.blob !== null) return;
  geoTable.blob = downloadRangeFile();
  geoTable.offsets = new Int32Array(256);
  for (let a = 1, pos = 0; a < 256; a++) {
    geoTable.offsets[a] = pos;
    pos = geoTable.blob.indexOf(`\n${a + 1}.0.0.0/16`, pos) + 1;
  }
  geoTable.loadedAt = Date.now();
}

function lookupCountry(ipAddress) {
  ensureGeoTable();
  const firstOctet = Number(ipAddress.split('.')[0]);
  const start = geoTable.offsets[firstOctet];
  return geoTable.blob.slice(start, start + 200).split(';')[1];
}

function handleGeoRequest(n) {
  return lookupCountry(`${1 + (n % 254)}.${n % 256}.7.9`);
}

function handlePing() {
  return 'pong';
}

module.exports = { handleGeoRequest };

runScenario({
  warmup: handlePing,
  request: handleGeoRequest,
  exitAfter: true,
});
