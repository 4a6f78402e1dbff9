// Price quotes go through a generic memoize helper. Its cache is a Map in the helper's
// closure, keyed by the serialized arguments; the arguments include the request time,
// so no key is ever hit twice and the memo table grows with every quote.
'use strict';
const { runScenario } = require('./harness');

function memoize(compute) {
  const memoTable = new Map();
  return function memoized(...args) {
    const key = JSON.stringify(args);
    if (memoTable.has(key)) return memoTable.get(key);
    const value = compute(...args);
    memoTable.set(key, value);
    return value;
  };
}

function computeQuote(productId, quantity, requestedAt) {
  const unitCents = 250 + (productId % 40) * 5;
  const discount = quantity >= 10 ? 0.1 : 0;
  return { productId, quantity, totalCents: Math.round(unitCents * quantity * (1 - discount)), validUntil: requestedAt + 900000 };
}

const quotePrice = memoize(computeQuote);

function handleQuoteRequest(n) {
  const quote = quotePrice(n % 120, 1 + (n % 12), 1700000000000 + n * 250);
  return quote.totalCents;
}

module.exports = { handleQuoteRequest };

runScenario({
  request: handleQuoteRequest,
  exitAfter: true,
});
