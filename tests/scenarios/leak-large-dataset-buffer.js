// Image thumbnailer: the first resize request loads the whole colour-profile bundle into one
// Buffer (about 24 MB) and caches it on the renderer singleton for the life of the process.
'use strict';
const { runScenario } = require('./harness');

const PROFILE_BUNDLE_BYTES = 24 * 1024 * 1024;

class ThumbnailRenderer {
  constructor() {
    this.profileBundle = null;
    this.rendered = 0;
  }

  // Stands in for fs.readFileSync('/usr/share/color/profiles.bin').
  loadProfileBundle() {
    const bundle = Buffer.alloc(PROFILE_BUNDLE_BYTES);
    for (let i = 0; i < bundle.length; i += 4096) bundle.writeUInt32LE(i, i);
    return bundle;
  }

  render(width, height) {
    if (this.profileBundle === null) this.profileBundle = this.loadProfileBundle();
    this.rendered++;
    return this.profileBundle.readUInt32LE(((width * height) % 1024) * 4096);
  }
}

const renderer = new ThumbnailRenderer();

function handleResize(n) {
  return renderer.render(64 + (n % 5) * 32, 64 + (n % 3) * 32);
}

function handleStatus() {
  return { rendered: renderer.rendered };
}

module.exports = { handleResize, handleStatus };

runScenario({
  warmup: handleStatus,
  request: handleResize,
  exitAfter: true,
});
