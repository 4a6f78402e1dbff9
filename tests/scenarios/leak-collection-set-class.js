// A websocket gateway keeps a tracker instance that records each client descriptor it has
// seen, "for metrics". Descriptors are fresh objects per connection, so the Set held by
// the tracker instance only ever grows.
'use strict';
const { runScenario } = require('./harness');

class ClientTracker {
  constructor(region) {
    this.region = region;
    this.knownClients = new Set();
    this.peak = 0;
  }

  track(descriptor) {
    this.knownClients.add(descriptor);
    if (this.knownClients.size > this.peak) this.peak = this.knownClients.size;
  }

  countByAgent(agent) {
    let total = 0;
    for (const d of this.knownClients) if (d.agent === agent) total++;
    return total;
  }
}

const tracker = new ClientTracker('eu-west');

function onClientConnected(n) {
  const descriptor = {
    remoteAddress: `192.168.${(n >> 8) & 255}.${n & 255}`,
    agent: n % 3 ? 'mobile/5.2' : 'desktop/11.0',
    connectedAt: new Date(1700000000000 + n * 1000),
  };
  tracker.track(descriptor);
}

module.exports = { onClientConnected, tracker };

runScenario({
  request: onClientConnected,
  exitAfter: true,
});
