// Profile service: every request subscribes the rendered view to configuration reloads
// so the theme follows feature flags, and never unsubscribes. The emitter lives as long
// as the process, so each request's listener (and the view it captured) stays forever.
'use strict';
const { EventEmitter } = require('events');
const { runScenario } = require('./harness');

const configBus = new EventEmitter();
configBus.setMaxListeners(0);

let currentFlags = { darkMode: false, compactLists: true, revision: 1 };

function renderProfile(requestId, userId) {
  const view = { requestId, userId, theme: currentFlags.darkMode ? 'dark' : 'light', widgets: [] };
  view.widgets.push({ kind: 'avatar', size: 64 }, { kind: 'feed', size: currentFlags.compactLists ? 10 : 25 });

  configBus.on('reload', function applyReloadedFlags(nextFlags) {
    view.theme = nextFlags.darkMode ? 'dark' : 'light';
  });
  return view;
}

function reloadConfig() {
  currentFlags = { ...currentFlags, revision: currentFlags.revision + 1 };
  configBus.emit('reload', currentFlags);
}

function handleProfileRequest(n) {
  const view = renderProfile(`req-${n}`, 1000 + (n % 97));
  if (n % 500 === 0) reloadConfig();
  return view.theme.length;
}

module.exports = { handleProfileRequest, configBus };

runScenario({
  request: handleProfileRequest,
  exitAfter: true,
});
