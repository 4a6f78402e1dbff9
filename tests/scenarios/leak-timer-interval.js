// Presence service: each websocket-like session starts a heartbeat interval. Sessions end
// after their request, but nobody calls clearInterval, so the timer list keeps every
// Timeout, its callback and the session the callback closes over.
'use strict';
const { runScenario } = require('./harness');

const HEARTBEAT_MS = 45000;
const presence = { online: 0, pings: 0 };

function openSession(userId, deviceId) {
  const session = {
    userId,
    deviceId,
    openedAt: Date.now(),
    lastSeen: Date.now(),
    outbox: [],
  };
  session.heartbeat = setInterval(function sendPresencePing() {
    session.lastSeen = Date.now();
    session.outbox.push({ type: 'ping', at: session.lastSeen });
    presence.pings++;
  }, HEARTBEAT_MS);
  presence.online++;
  return session;
}

function closeSession(session) {
  // Bug: the heartbeat is not cleared here.
  session.outbox.length = 0;
  presence.online--;
}

function handleConnect(n) {
  const session = openSession(`user-${n % 211}`, `dev-${n}`);
  closeSession(session);
}

module.exports = { handleConnect };

runScenario({
  request: handleConnect,
  exitAfter: true,
});
