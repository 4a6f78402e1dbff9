// Quote widget backend: each request renders a price card and subscribes it to the shared
// pricing feed (a DOM-style EventTarget) so the card can refresh itself. The card is sent
// to the client and forgotten, but its listener stays registered on the feed for good.
'use strict';
const { runScenario } = require('./harness');

const pricingFeed = new EventTarget();
let lastPrice = 100;

function renderQuoteCard(n) {
  const card = { symbol: `SYM${n % 400}`, price: lastPrice, lines: [`quote ${n}`, 'delayed 15 min'] };
  pricingFeed.addEventListener('price', function refreshQuoteCard(event) {
    card.price = event.detail;
  });
  return card;
}

function publishPrice(n) {
  lastPrice = 100 + (n % 7);
  pricingFeed.dispatchEvent(new CustomEvent('price', { detail: lastPrice }));
}

function handleQuote(n) {
  const card = renderQuoteCard(n);
  if (n % 400 === 0) publishPrice(n);
  return card.lines.length;
}

module.exports = { handleQuote };

runScenario({
  request: handleQuote,
  exitAfter: true,
});
