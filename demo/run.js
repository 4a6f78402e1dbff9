// Starts demo/service.js under the script name "service.js" instead of its absolute path,
// so its heap snapshots (and the report made from them) name the demo's own file the same
// way on every machine, not the directory the evidence happened to be made in. The service
// itself is loaded and run unchanged.
'use strict';
const Module = require('module');
const path = require('path');
const fs = require('fs');

const file = path.join(__dirname, 'service.js');
const mod = new Module(file, module);
mod.filename = file;
mod.paths = Module._nodeModulePaths(__dirname);
require.cache[file] = mod;
mod._compile(fs.readFileSync(file, 'utf8'), 'service.js');
mod.loaded = true;
mod.exports.start();
