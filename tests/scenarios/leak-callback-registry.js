// Price alerts: each request registers a watcher callback with the in-process price feed so
// that the alert can be re-evaluated on every tick. `unwatch` exists, but the request path
// never calls it once the alert has been answered, so the feed's watcher list only grows,
// and every watcher keeps its alert and the history it copied.
'use strict';
const { runScenario } = require('./harness');

const priceWatchers = [];

function watchPrices(callback) {
  priceWatchers.push(callback);
  return () => {
    const i = priceWatchers.indexOf(callback);
    if (i >= 0) priceWatchers.splice(i, 1);
  };
}

function publishTick(symbol, price) {
  for (const cb of priceWatchers) cb(symbol, price);
}

function handleAlertRequest(n) {
  const alert = { id: n, symbol: `SYM${n % 40}`, threshold: 100 + (n % 17), history: new Array(32).fill(100) };
  watchPrices(function reevaluateAlert(symbol, price) {
    if (symbol === alert.symbol) alert.history.push(price);
  });
  if (n % 250 === 0) publishTick(`SYM${n % 40}`, 101);
  return alert.threshold;
}

module.exports = { handleAlertRequest, watchPrices };

runScenario({
  request: handleAlertRequest,
  exitAfter: true,
});
