// Profile service (Express): GET /users/:id/profile renders a user's public profile, with
// a cache in front of the renderer.
//
//   PORT=8080 node server.js leaky   # the build with the leak
//   PORT=8080 node server.js fixed   # the build with the fix (default)
//
// The leaky build caches every rendered profile forever: the cache is a module-level Map
// and nothing ever removes an entry, so it grows with every distinct user. The fixed build
// bounds the cache (least recently used entries go first).
'use strict';
const express = require('express');

const build = (process.argv[2] || process.env.PROFILE_BUILD || 'fixed') === 'leaky' ? 'leaky' : 'fixed';
const port = Number(process.env.PORT || 8080);
const MAX_CACHED_PROFILES = 500;

const profileCache = new Map();

function renderProfile(userId, locale) {
  const n = Number.parseInt(userId, 10) || 0;
  return {
    id: userId,
    displayName: `member-${userId}`,
    locale,
    joined: new Date(Date.UTC(2020, n % 12, 1 + (n % 28))).toISOString(),
    badges: ['early-adopter', n % 3 === 0 ? 'reviewer' : 'reader', n % 5 === 0 ? 'moderator' : 'member'],
    stats: { posts: n % 97, followers: (n * 7) % 1013, following: (n * 3) % 211 },
    bio: `Profile of member ${userId}. Likes ${['hiking', 'chess', 'cooking', 'jazz'][n % 4]}.`,
  };
}

function cachedProfile(userId, locale) {
  const key = `${userId}:${locale}`;
  let profile = profileCache.get(key);
  if (profile) {
    profileCache.delete(key);
  } else {
    profile = renderProfile(userId, locale);
  }
  profileCache.set(key, profile);
  if (build === 'fixed' && profileCache.size > MAX_CACHED_PROFILES) {
    profileCache.delete(profileCache.keys().next().value);
  }
  return profile;
}

const app = express();

app.get('/users/:id/profile', (req, res) => {
  const locale = req.acceptsLanguages('en', 'de', 'fr') || 'en';
  res.json(cachedProfile(req.params.id, locale));
});

app.get('/health', (req, res) => res.type('text').send('ok\n'));

const server = app.listen(port, '127.0.0.1', () => {
  console.log(`profile service (${build} build) listening on http://127.0.0.1:${port}`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
