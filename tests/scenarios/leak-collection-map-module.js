// Login service: sessions are cached in a module-level Map by token. Logout and expiry
// were never implemented, so the Map grows by one entry per login.
'use strict';
const crypto = require('crypto');
const { runScenario } = require('./harness');

const sessionCache = new Map();
const loginCounters = { ok: 0 };

function issueToken(userName, n) {
  return crypto.createHash('sha1').update(`${userName}:${n}`).digest('hex');
}

function handleLogin(n) {
  const userName = `member${n % 313}`;
  const token = issueToken(userName, n);
  sessionCache.set(token, {
    userName,
    issuedAt: Date.now(),
    scopes: ['orders:read', n % 2 ? 'orders:write' : 'profile:read'],
    clientIp: `10.0.${(n >> 8) & 255}.${n & 255}`,
  });
  loginCounters.ok++;
  return token;
}

function lookupSession(token) {
  return sessionCache.get(token) || null;
}

module.exports = { handleLogin, lookupSession };

runScenario({
  request: handleLogin,
  exitAfter: true,
});
