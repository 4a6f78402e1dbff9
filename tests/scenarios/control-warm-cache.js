// Control: a currency-rate cache keyed by currency pair. The key space is small and fixed,
// so the cache fills during warm-up and then only serves hits: it does not grow after s1.
'use strict';
const { runScenario } = require('./harness');

const CURRENCIES = ['EUR', 'USD', 'GBP', 'JPY', 'CHF', 'SEK', 'NOK', 'DKK', 'PLN', 'CZK', 'HUF', 'AUD', 'CAD', 'NZD', 'BRL'];
const rateCache = new Map();

function fetchRate(base, quote) {
  return { base, quote, rate: 1 + ((base.charCodeAt(0) * 31 + quote.charCodeAt(1)) % 97) / 100, fetchedAt: Date.now() };
}

function convert(amount, base, quote) {
  const key = `${base}/${quote}`;
  let entry = rateCache.get(key);
  if (!entry) {
    entry = fetchRate(base, quote);
    rateCache.set(key, entry);
  }
  return amount * entry.rate;
}

function handleConvert(n) {
  const base = CURRENCIES[n % CURRENCIES.length];
  const quote = CURRENCIES[(n * 7 + 3) % CURRENCIES.length];
  return convert(100 + n, base, quote);
}

module.exports = { handleConvert };

runScenario({
  request: handleConvert,
});
