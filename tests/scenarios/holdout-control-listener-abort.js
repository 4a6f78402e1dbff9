// Control: each request listens for config changes on an EventTarget only while it runs,
// with an AbortSignal that removes the listener when the request finishes.
'use strict';
const { runScenario } = require('./harness');

const configChanges = new EventTarget();
let configVersion = 1;

function handleSettings(n) {
  const controller = new AbortController();
  const view = { requestId: n, version: configVersion };
  configChanges.addEventListener('change', (event) => { view.version = event.detail; }, { signal: controller.signal });
  if (n % 250 === 0) {
    configVersion++;
    configChanges.dispatchEvent(new CustomEvent('change', { detail: configVersion }));
  }
  controller.abort();
  return view.version;
}

module.exports = { handleSettings };

runScenario({
  request: handleSettings,
});
