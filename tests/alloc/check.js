#!/usr/bin/env node
// Developer check for the allocation-stack suite (not the Rust test): reads three snapshots
// taken with allocation tracking and prints, for the objects new in s2 and still alive in s3,
// the innermost frames of their allocation stacks (trace_tree + trace_function_infos), by
// count, so that the expected allocating lines in manifest.json can be confirmed.
//
//   node tests/alloc/check.js DIR [file-substring]
'use strict';
const fs = require('fs');
const path = require('path');

function load(file) {
  const j = JSON.parse(fs.readFileSync(file, 'utf8'));
  const m = j.snapshot.meta;
  const nf = m.node_fields.length;
  const iId = m.node_fields.indexOf('id');
  const iName = m.node_fields.indexOf('name');
  const iType = m.node_fields.indexOf('type');
  const iTrace = m.node_fields.indexOf('trace_node_id');
  const ff = m.trace_function_info_fields.length;
  return { j, nf, iId, iName, iType, iTrace, ff };
}

function ids(s) {
  const set = new Set();
  for (let i = 0; i < s.j.nodes.length; i += s.nf) set.add(s.j.nodes[i + s.iId]);
  return set;
}

function main() {
  const [dir, filter] = process.argv.slice(2);
  const [s1, s2, s3] = [1, 2, 3].map((k) => load(path.join(dir, `s${k}.heapsnapshot`)));
  if (s3.iTrace < 0 || !s3.j.trace_function_infos.length) {
    console.log('s3 has no allocation stacks');
    process.exit(1);
  }
  const id1 = ids(s1);
  const id2 = ids(s2);
  // trace node id -> [function_info_index, parent id]
  const tnodes = new Map();
  const walk = (arr, parent) => {
    for (let i = 0; i < arr.length; i += 5) {
      tnodes.set(arr[i], [arr[i + 1], parent]);
      walk(arr[i + 4], arr[i]);
    }
  };
  walk(s3.j.trace_tree, 0);
  const fi = (k) => {
    const f = s3.j.trace_function_infos;
    const o = k * s3.ff;
    return { name: s3.j.strings[f[o + 1]], script: s3.j.strings[f[o + 2]], line: f[o + 4], column: f[o + 5] };
  };
  const counts = new Map();
  for (let i = 0; i < s3.j.nodes.length; i += s3.nf) {
    const id = s3.j.nodes[i + s3.iId];
    if (id1.has(id) || !id2.has(id)) continue;
    const trace = s3.j.nodes[i + s3.iTrace];
    if (!trace) continue;
    // innermost frame whose script matches the filter (or the innermost frame)
    let t = trace;
    let frame = null;
    while (t && tnodes.has(t)) {
      const [k, parent] = tnodes.get(t);
      const f = fi(k);
      if (!filter || (f.script || '').includes(filter)) { frame = f; break; }
      t = parent;
    }
    if (!frame) continue;
    const type = s3.j.snapshot.meta.node_types[0][s3.j.nodes[i + s3.iType]];
    const name = type === 'object' || type === 'closure' ? s3.j.strings[s3.j.nodes[i + s3.iName]] : `(${type})`;
    const key = `${path.basename(frame.script)}:${frame.line}:${frame.column} ${frame.name || '(anonymous)'}  <- ${name}`;
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  const rows = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 15);
  for (const [k, c] of rows) console.log(`${String(c).padStart(7)}  ${k}`);
}

main();
