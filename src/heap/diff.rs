//! DevTools' Comparison view (`calculateSnapshotDiff`): per class key, the objects only in
//! the base (deleted) and only in the current snapshot (new), matched by heap object id.
//! The base is aggregated with the current snapshot's interface definitions, as DevTools
//! does, so that `{user, tags}` means the same in both.
//!
//! JSON (`memsleuth diff --format json`), the type [`Comparison`]:
//! ```text
//! { "base": "a.heapsnapshot", "current": "b.heapsnapshot",
//!   "classes": [ { "key", "name", "added_count", "removed_count", "count_delta",
//!                  "added_bytes", "removed_bytes", "size_delta" } ] }
//! ```
//! Rows without a change are left out; rows are sorted by `size_delta`, descending.

use super::fxhash::FxHashMap;
use super::graph::HeapGraph;
use super::names::{self, ClassNames};
use super::summary::{AggKey, key_string};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DiffRow {
    pub key: String,
    pub name: String,
    pub added_count: u64,
    pub removed_count: u64,
    pub count_delta: i64,
    pub added_bytes: u64,
    pub removed_bytes: u64,
    pub size_delta: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Comparison {
    pub base: String,
    pub current: String,
    pub classes: Vec<DiffRow>,
}

/// Objects of one class key: `(id, self size, ordinal)` sorted by id.
struct ClassObjects {
    name: String,
    items: Vec<(u32, u64, u32)>,
}

fn group(g: &HeapGraph, classes: &ClassNames) -> (Vec<AggKey>, FxHashMap<AggKey, ClassObjects>) {
    let mut order = Vec::new();
    let mut map: FxHashMap<AggKey, ClassObjects> = FxHashMap::default();
    let locs = &g.raw.locations; // sorted by node
    let mut li = 0;
    for o in 0..g.n_nodes() as u32 {
        let size = g.self_size[o as usize];
        if size == 0 {
            continue;
        }
        let c = classes.class_of[o as usize];
        let mut loc = None;
        if g.node_type(o) == g.types.n_object {
            while li < locs.len() && locs[li][0] < o {
                li += 1;
            }
            if let Some(l) = locs.get(li)
                && l[0] == o
            {
                loc = Some([l[1], l[2], l[3]]);
            }
        }
        // Keys are compared by their text across snapshots: class ids differ per snapshot.
        let k: AggKey = (c, loc);
        map.entry(k)
            .or_insert_with(|| {
                order.push(k);
                ClassObjects {
                    name: classes.name(c).to_string(),
                    items: Vec::new(),
                }
            })
            .items
            .push((g.id(o), size, o));
    }
    for v in map.values_mut() {
        v.items.sort_unstable_by_key(|x| x.0);
    }
    (order, map)
}

fn key_text(classes: &ClassNames, k: &AggKey) -> String {
    let name = classes.name(k.0);
    match k.1 {
        Some([s, l, c]) => format!("{s},{l},{c},{name}"),
        None => format!(",{name}"),
    }
}

/// Compares `base` with `cur`, both analysed snapshots of one process.
pub fn compare(base: &HeapGraph, cur: &HeapGraph, base_file: &str, cur_file: &str) -> Comparison {
    let base_classes = names::compute(base, Some(&cur.classes.interfaces));
    let (border, bmap) = group(base, &base_classes);
    let (corder, cmap) = group(cur, &cur.classes);
    let cur_by_text: HashMap<String, &ClassObjects> = corder
        .iter()
        .map(|k| (key_string(cur, k), &cmap[k]))
        .collect();
    let mut rows = Vec::new();
    let mut seen_text: std::collections::HashSet<String> = std::collections::HashSet::new();
    for k in &border {
        let text = key_text(&base_classes, k);
        let b = &bmap[k];
        let c = cur_by_text.get(&text).copied();
        // DevTools names a base-only row after the base's own naming of its last object.
        let name = match c {
            Some(c) => c.name.clone(),
            None => b
                .items
                .last()
                .map_or_else(|| b.name.clone(), |x| base.class_name(x.2).to_string()),
        };
        if let Some(r) = diff_class(&text, &name, &b.items, c.map_or(&[][..], |c| &c.items)) {
            rows.push(r);
        }
        seen_text.insert(text);
    }
    for k in &corder {
        let text = key_string(cur, k);
        if seen_text.contains(&text) {
            continue;
        }
        let c = &cmap[k];
        if let Some(r) = diff_class(&text, &c.name, &[], &c.items) {
            rows.push(r);
        }
    }
    rows.sort_by(|a, b| b.size_delta.cmp(&a.size_delta).then(a.key.cmp(&b.key)));
    Comparison {
        base: base_file.to_string(),
        current: cur_file.to_string(),
        classes: rows,
    }
}

fn diff_class(
    key: &str,
    name: &str,
    base: &[(u32, u64, u32)],
    cur: &[(u32, u64, u32)],
) -> Option<DiffRow> {
    let (mut i, mut j) = (0, 0);
    let (mut ac, mut rc, mut ab, mut rb) = (0u64, 0u64, 0u64, 0u64);
    while i < base.len() && j < cur.len() {
        let (a, b) = (base[i].0, cur[j].0);
        if a < b {
            rc += 1;
            rb += base[i].1;
            i += 1;
        } else if a > b {
            ac += 1;
            ab += cur[j].1;
            j += 1;
        } else {
            i += 1;
            j += 1;
        }
    }
    for x in &base[i..] {
        rc += 1;
        rb += x.1;
    }
    for x in &cur[j..] {
        ac += 1;
        ab += x.1;
    }
    if ac == 0 && rc == 0 {
        return None;
    }
    Some(DiffRow {
        key: key.to_string(),
        name: name.to_string(),
        added_count: ac,
        removed_count: rc,
        count_delta: ac as i64 - rc as i64,
        added_bytes: ab,
        removed_bytes: rb,
        size_delta: ab as i64 - rb as i64,
    })
}
