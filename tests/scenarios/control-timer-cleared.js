// Control: sessions start a heartbeat interval and a idle timeout, and both are cleared
// when the session closes. Nothing stays in the timer lists.
'use strict';
const { runScenario } = require('./harness');

const stats = { opened: 0, closed: 0, pings: 0 };

function openSession(clientId) {
  const session = { clientId, lastSeen: Date.now() };
  session.heartbeat = setInterval(function sendKeepAlive() {
    session.lastSeen = Date.now();
    stats.pings++;
  }, 30000);
  session.idleTimer = setTimeout(function expireIdleSession() {
    closeSession(session);
  }, 60000);
  stats.opened++;
  return session;
}

function closeSession(session) {
  clearInterval(session.heartbeat);
  clearTimeout(session.idleTimer);
  stats.closed++;
}

function handleSessionRequest(n) {
  const session = openSession(`client-${n}`);
  closeSession(session);
}

module.exports = { handleSessionRequest };

runScenario({
  request: handleSessionRequest,
});
