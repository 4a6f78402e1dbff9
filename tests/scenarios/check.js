#!/usr/bin/env node
// Developer check for the scenario suite (not the Rust test): runs every program in
// manifest.json with real Node, one at a time, and shows from the snapshots themselves
// that each leak program leaks and each control does not.
//
//   node tests/scenarios/check.js [--keep DIR] [--paths] [--manifest holdout-manifest.json] [name-substring ...]
//
// Per program it prints the node count of s1/s2/s3, the "leaked" objects (id new in s2,
// i.e. not in s1, and still alive in s3) and the objects new in s3 by class, the source
// line of leaked objects that carry a location in the program's own script (closures,
// instances of user classes), and, with --paths, the shortest retainer path from the
// root to one leaked object of the manifest's class in s3 (DevTools-like: user roots
// first, weak edges skipped), with the manifest's expect_path_edges checked on it.
//
// The reader is a small JSON.parse-based one: fine for these small snapshots.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const HERE = __dirname;

// Classes that come and go with compilation and are never a finding.
const NOISE = new Set(['(compiled code)', '(object shape)', '(system)', '(array)', '(string)',
  '(concatenated string)', '(sliced string)', '(number)', 'system / Context']);

function loadSnapshot(file) {
  const S = JSON.parse(fs.readFileSync(file, 'utf8'));
  const meta = S.snapshot.meta;
  const NF = meta.node_fields.length, EF = meta.edge_fields.length;
  const f = (n) => meta.node_fields.indexOf(n), g = (n) => meta.edge_fields.indexOf(n);
  const oT = f('type'), oN = f('name'), oId = f('id'), oSz = f('self_size'), oEc = f('edge_count');
  const eT = g('type'), eN = g('name_or_index'), eTo = g('to_node');
  const nodeTypes = meta.node_types[oT], edgeTypes = meta.edge_types[eT];
  const nodes = S.nodes, edges = S.edges, strings = S.strings;
  const N = nodes.length / NF;
  const firstEdge = new Uint32Array(N + 1);
  for (let o = 0, e = 0; o < N; o++) { firstEdge[o] = e; e += nodes[o * NF + oEc] * EF; }
  firstEdge[N] = edges.length;
  const snap = {
    N, NF, EF,
    type: (o) => nodeTypes[nodes[o * NF + oT]],
    rawName: (o) => strings[nodes[o * NF + oN]],
    id: (o) => nodes[o * NF + oId],
    size: (o) => nodes[o * NF + oSz],
    *out(o) {
      for (let e = firstEdge[o]; e < firstEdge[o + 1]; e += EF) {
        const t = edgeTypes[edges[e + eT]];
        const nm = (t === 'element' || t === 'hidden') ? String(edges[e + eN]) : strings[edges[e + eN]];
        yield { type: t, name: nm, to: edges[e + eTo] / NF };
      }
    },
  };
  snap.className = (o) => {
    const t = snap.type(o);
    if (t === 'hidden') return '(system)';
    if (t === 'code') return '(compiled code)';
    if (t === 'closure') return 'Function';
    if (t === 'regexp') return 'RegExp';
    if (t === 'object' || t === 'native') return snap.rawName(o);
    return `(${t})`;
  };
  // locations: node ordinal -> [script_id, line (1-based), column (0-based)]
  snap.location = new Map();
  for (let i = 0; i < S.locations.length; i += 4) {
    snap.location.set(S.locations[i] / NF, [S.locations[i + 1], S.locations[i + 2] + 1, S.locations[i + 3]]);
  }
  // script id -> script name, through closure -> shared -> script_or_debug_info|script -> name
  snap.scriptName = new Map();
  for (const [o, loc] of snap.location) {
    if (snap.type(o) !== 'closure' || snap.scriptName.has(loc[0])) continue;
    for (const e of snap.out(o)) {
      if (e.name !== 'shared') continue;
      for (const e2 of snap.out(e.to)) {
        if (e2.name === 'script_or_debug_info' || e2.name === 'script') {
          if (snap.type(e2.to) === 'code') snap.scriptName.set(loc[0], snap.rawName(e2.to));
        }
      }
    }
  }
  snap.byId = new Map();
  for (let o = 0; o < N; o++) snap.byId.set(snap.id(o), o);
  return snap;
}

// BFS like DevTools' distances: first from the user roots (root -> shortcut -> global),
// then from the root; weak edges skipped. Returns parent edge per node.
function shortestPaths(snap) {
  const parent = new Int32Array(snap.N).fill(-1);
  const parentEdge = new Array(snap.N);
  const seen = new Uint8Array(snap.N);
  const queue = [];
  const visit = (from, e) => {
    if (seen[e.to] || e.type === 'weak') return;
    if (e.name === 'sloppy_function_map' && snap.rawName(from) === 'system / NativeContext') return;
    seen[e.to] = 1; parent[e.to] = from; parentEdge[e.to] = e; queue.push(e.to);
  };
  seen[0] = 1;
  for (const e of snap.out(0)) if (snap.type(e.to) !== 'synthetic') visit(0, e);
  for (let pass = 0; pass < 2; pass++) {
    if (pass === 1) for (const e of snap.out(0)) visit(0, e);
    for (let h = 0; h < queue.length; h++) { const o = queue[h]; for (const e of snap.out(o)) visit(o, e); }
    queue.length = 0;
  }
  return { parent, parentEdge };
}

function pathTo(snap, sp, target) {
  const steps = [];
  for (let o = target; o > 0 && sp.parent[o] >= 0; o = sp.parent[o]) {
    steps.push({ holder: holderName(snap, sp.parent[o]), edge: sp.parentEdge[o].name, type: sp.parentEdge[o].type });
  }
  steps.reverse();
  return steps;
}

function holderName(snap, o) {
  if (o === 0) return '(root)';
  const n = snap.className(o);
  if (n === '(compiled code)' || n === '(system)' || n === '(array)' || n === '(synthetic)') return `${n} ${snap.rawName(o).slice(0, 40)}`.trim();
  if (n === 'Function') return `Function ${snap.rawName(o) || '(anonymous)'}`;
  return n.length > 60 ? n.slice(0, 57) + '...' : n;
}

// Collapse repeated cycles of steps (period 1 to 4): linked lists and closure chains
// are hundreds of hops long.
function formatPath(steps, target) {
  const lines = steps.map((s) => {
    const label = s.type === 'element' || s.type === 'hidden' ? `[${s.edge}]` : s.edge;
    return `${s.holder} --${s.type}:${label}-->`;
  });
  const out = [];
  for (let i = 0; i < lines.length;) {
    let best = null;
    for (let p = 1; p <= 4 && !best; p++) {
      let reps = 1;
      while (i + (reps + 1) * p <= lines.length
        && lines.slice(i + reps * p, i + (reps + 1) * p).join() === lines.slice(i, i + p).join()) reps++;
      if (reps >= 3) best = { p, reps };
    }
    if (!best) { out.push(lines[i++]); continue; }
    const block = lines.slice(i, i + best.p);
    if (best.p === 1) out.push(`${block[0]}  (x${best.reps})`);
    else block.forEach((l, k) => out.push(`${l}  ${k === 0 ? '┐' : k === best.p - 1 ? `┘ x${best.reps}` : '│'}`));
    i += best.p * best.reps;
  }
  out.push(target);
  return out;
}

function tally(snap, ords) {
  const byClass = new Map();
  for (const o of ords) {
    const c = snap.className(o);
    const r = byClass.get(c) || { count: 0, bytes: 0 };
    r.count++; r.bytes += snap.size(o);
    byClass.set(c, r);
  }
  return [...byClass].sort((a, b) => b[1].count - a[1].count);
}

function analyse(entry, dir, showPaths) {
  const [s1, s2, s3] = [1, 2, 3].map((k) => loadSnapshot(path.join(dir, `s${k}.heapsnapshot`)));
  const res = { program: entry.program, nodes: [s1.N, s2.N, s3.N] };
  // leaked: id absent in s1, present in s2 and s3 (three-snapshot rule)
  const leaked = [];
  for (let o = 0; o < s3.N; o++) {
    const id = s3.id(o);
    if (!s1.byId.has(id) && s2.byId.has(id)) leaked.push(o);
  }
  // new in s3: absent in s2 (growth of the second interval, includes short-lived garbage-free churn)
  const newInS3 = [];
  for (let o = 0; o < s3.N; o++) if (!s2.byId.has(s3.id(o))) newInS3.push(o);
  res.leaked = leaked.length;
  res.leakedBytes = leaked.reduce((a, o) => a + s3.size(o), 0);
  res.leakedClasses = tally(s3, leaked);
  res.userLeaked = res.leakedClasses.filter(([c]) => !NOISE.has(c)).reduce((a, [, r]) => a + r.count, 0);
  res.newInS3 = newInS3.length;
  res.newClasses = tally(s3, newInS3);
  // lines of leaked objects located in the program's own script
  const lines = new Map();
  for (const o of leaked) {
    const loc = s3.location.get(o);
    if (!loc) continue;
    const script = s3.scriptName.get(loc[0]) || '';
    if (path.basename(script) !== entry.file) continue;
    const key = `${loc[1]}:${loc[2]} ${s3.className(o)}`;
    lines.set(key, (lines.get(key) || 0) + 1);
  }
  res.locatedLines = [...lines].sort((a, b) => b[1] - a[1]);
  if (showPaths && entry.leaks && entry.class) {
    const sp = shortestPaths(s3);
    const dist = (o) => { let d = 0; for (let p = o; p > 0 && d < 1e6; p = s3_parent(p)) d++; return d; };
    const s3_parent = (p) => sp.parent[p];
    // Prefer the leaked objects located at the manifest line (the listener, the callback...).
    const atLine = (o) => { const loc = s3.location.get(o); return loc && loc[1] === entry.line; };
    let candidates = leaked.filter((o) => s3.className(o) === entry.class && sp.parent[o] >= 0);
    if (entry.check_location && candidates.some(atLine)) candidates = candidates.filter(atLine);
    if (candidates.length) {
      // The nearest leaked object of the class; for a burst (large-dataset) the biggest one.
      const withDist = candidates.map((o) => [o, dist(o)]).sort((a, b) => a[1] - b[1] || s3.id(a[0]) - s3.id(b[0]));
      if (entry.pattern === 'large-dataset') {
        const biggest = candidates.reduce((a, o) => (s3.size(o) > s3.size(a) ? o : a), candidates[0]);
        withDist.unshift([biggest, dist(biggest)]);
      }
      const [best, bestDist] = withDist[0];
      const steps = pathTo(s3, sp, best);
      res.path = formatPath(steps, `${s3.className(best)} @${s3.id(best)} (${s3.type(best)}, ${s3.size(best)} B)`);
      res.pathDepth = [bestDist, Math.max(...withDist.map((d) => d[1]))];
      const names = new Set(steps.map((s) => s.edge));
      res.missingEdges = (entry.expect_path_edges || []).filter((n) => !names.has(n));
    } else res.path = [`(no leaked ${entry.class} reachable in s3)`];
  }
  return res;
}

function fmtClasses(list, n) {
  return list.slice(0, n).map(([c, r]) => `${c} ${r.count}/${r.bytes}B`).join(', ');
}

function main() {
  const args = process.argv.slice(2);
  let keep = null; let showPaths = false; const filters = []; let manifestFile = 'manifest.json';
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--keep') keep = args[++i];
    else if (args[i] === '--paths') showPaths = true;
    else if (args[i] === '--manifest') manifestFile = args[++i];
    else filters.push(args[i]);
  }
  const manifest = JSON.parse(fs.readFileSync(path.resolve(HERE, manifestFile), 'utf8'));
  const entries = manifest.filter((e) => !filters.length || filters.some((f) => e.program.includes(f)));
  const base = keep || fs.mkdtempSync(path.join(os.tmpdir(), 'memsleuth-scenarios-'));
  let failures = 0;
  for (const entry of entries) {
    const dir = path.join(base, entry.program.replace(/\.js$/, ''));
    const t0 = Date.now();
    const run = spawnSync(process.execPath, ['--expose-gc', path.join(HERE, entry.program), dir],
      { encoding: 'utf8', timeout: 15000 });
    const ms = Date.now() - t0;
    console.log(`\n== ${entry.program}  [${entry.leaks ? entry.pattern : 'control'}]  exit=${run.status} ${ms} ms`);
    if (run.status !== 0) {
      failures++;
      console.log(`   FAIL: exit ${run.status} ${run.signal || ''}\n${(run.stderr || '').slice(0, 2000)}`);
      continue;
    }
    const r = analyse(entry, dir, showPaths);
    const sizes = [1, 2, 3].map((k) => fs.statSync(path.join(dir, `s${k}.heapsnapshot`)).size);
    console.log(`   nodes s1/s2/s3: ${r.nodes.join(' / ')}   files: ${sizes.map((s) => (s / 1e6).toFixed(1)).join(' / ')} MB`);
    console.log(`   leaked (new in s2, alive in s3): ${r.leaked} objects, ${r.leakedBytes} B; non-noise ${r.userLeaked}`);
    console.log(`     by class: ${fmtClasses(r.leakedClasses, 8)}`);
    console.log(`   new in s3 (not in s2): ${r.newInS3}; by class: ${fmtClasses(r.newClasses, 6)}`);
    if (r.locatedLines.length) console.log(`   located in ${entry.file}: ${r.locatedLines.slice(0, 5).map(([k, c]) => `${k} x${c}`).join(', ')}`);
    let verdict;
    if (entry.leaks) {
      const burst = entry.pattern === 'large-dataset';
      const ok = burst ? r.leakedBytes >= 1e6 : r.userLeaked >= 1000;
      verdict = ok ? 'OK leaks' : 'FAIL: does not leak enough';
      if (!ok) failures++;
      if (entry.check_location) {
        const top = r.locatedLines.find(([k]) => k.startsWith(`${entry.line}:`));
        if (!top) { verdict += `; FAIL: no leaked object located at line ${entry.line}`; failures++; }
        else verdict += `; manifest line ${entry.line} confirmed (${top[1]} leaked objects located there)`;
      }
    } else {
      const ok = r.userLeaked < 100;
      verdict = ok ? 'OK does not leak' : 'FAIL: control grows';
      if (!ok) failures++;
    }
    console.log(`   ${verdict}`);
    if (r.path) {
      console.log(`   retainer path in s3 (depth ${r.pathDepth ? r.pathDepth.join('..') : '?'} over the group):`);
      for (const line of r.path) console.log(`     ${line}`);
      if (r.missingEdges && r.missingEdges.length) { console.log(`   FAIL: expected edges not on path: ${r.missingEdges.join(', ')}`); failures++; }
    }
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
  if (!keep) fs.rmSync(base, { recursive: true, force: true });
  console.log(`\n${entries.length} programs, ${failures} failure(s)`);
  process.exit(failures ? 1 : 0);
}

if (require.main === module) main();
module.exports = { loadSnapshot, shortestPaths, pathTo, formatPath };
