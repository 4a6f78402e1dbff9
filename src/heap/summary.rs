//! DevTools' Summary view: per class key the count, shallow size, retained size (the
//! topmost instances on each dominator-tree path, `calculateClassesRetainedSize`) and
//! distance; DevTools' Statistics; and the objects with the largest retained sizes.
//!
//! JSON (`memsleuth summary --format json`), the type [`Summary`]:
//! ```text
//! { "file": "app.heapsnapshot", "node_count": 43035, "edge_count": 187734,
//!   "total_bytes": 3061099,
//!   "statistics": { "total", "v8heap", "native", "typed_arrays", "code", "strings",
//!                   "js_arrays", "system" },            // bytes, as DevTools' Statistics
//!   "classes": [ { "key": ",Object" | "81,2,32,MyThing", "name", "count",
//!                  "shallow_bytes", "retained_bytes",
//!                  "distance" } ],                      // -5 unreachable, >= 100000000 system
//!   "top_retainers": [ { "id", "class", "shallow_bytes", "retained_bytes" } ] }
//! ```
//! `classes` holds every class key, sorted by retained size, then shallow size (descending).

use super::graph::{HeapGraph, ROOT};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Statistics {
    pub total: u64,
    pub v8heap: u64,
    pub native: u64,
    pub typed_arrays: u64,
    pub code: u64,
    pub strings: u64,
    pub js_arrays: u64,
    pub system: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClassRow {
    pub key: String,
    pub name: String,
    pub count: u64,
    pub shallow_bytes: u64,
    pub retained_bytes: u64,
    pub distance: i32,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TopRetainer {
    pub id: u32,
    pub class: String,
    pub shallow_bytes: u64,
    pub retained_bytes: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    pub file: String,
    pub node_count: u64,
    pub edge_count: u64,
    pub total_bytes: u64,
    pub statistics: Statistics,
    pub classes: Vec<ClassRow>,
    pub top_retainers: Vec<TopRetainer>,
}

/// Per-node aggregation key: class id plus location (objects with a location only).
pub type AggKey = (u32, Option<[u32; 3]>);

/// The aggregation key of a node, as DevTools' `classKey` distinguishes them.
pub fn agg_key(g: &HeapGraph, o: u32) -> AggKey {
    let c = g.classes.class_of[o as usize];
    if g.node_type(o) == g.types.n_object {
        (c, g.location(o))
    } else {
        (c, None)
    }
}

/// Formats an aggregation key as DevTools does.
pub fn key_string(g: &HeapGraph, k: &AggKey) -> String {
    let name = g.classes.name(k.0);
    match k.1 {
        Some([s, l, c]) => format!("{s},{l},{c},{name}"),
        None => format!(",{name}"),
    }
}

/// DevTools' Statistics (`JSHeapSnapshot.calculateStatistics`), on adjusted sizes.
pub fn statistics(g: &HeapGraph) -> Statistics {
    let t = g.types;
    let mut native = g.raw.meta.extra_native_bytes;
    let (mut typed, mut code, mut strings, mut arrays, mut system) = (0u64, 0, 0, 0, 0);
    for o in 0..g.n_nodes() as u32 {
        let size = g.self_size[o as usize];
        let ty = g.node_type(o);
        if ty == t.n_hidden {
            system += size;
        } else if ty == t.n_native {
            native += size;
            if g.raw_name(o) == "system / JSArrayBufferData" {
                typed += size;
            }
        } else if ty == t.n_code {
            code += size;
        } else if ty == t.n_string || ty == t.n_cons_string || ty == t.n_sliced_string {
            strings += size;
        } else if g.raw_name(o) == "Array" {
            arrays += size;
            for e in g.edges(o) {
                if g.raw.edge_type[e] == t.e_internal && g.edge_name(e) == "elements" {
                    let el = g.raw.edge_to[e];
                    if g.retainers(el).len() == 1 {
                        arrays += g.self_size[el as usize];
                    }
                    break;
                }
            }
        }
    }
    Statistics {
        total: g.total_size,
        v8heap: g.total_size.saturating_sub(native),
        native,
        typed_arrays: typed,
        code,
        strings,
        js_arrays: arrays,
        system,
    }
}

/// Children of each node in the dominator tree, as CSR (`first`, `kids`), in ordinal order.
pub fn dominated(g: &HeapGraph) -> (Vec<u32>, Vec<u32>) {
    let n = g.n_nodes();
    let mut first = vec![0u32; n + 1];
    for o in 1..n {
        first[g.idom[o] as usize + 1] += 1;
    }
    for i in 0..n {
        first[i + 1] += first[i];
    }
    let mut fill = first.clone();
    let mut kids = vec![0u32; n.saturating_sub(1)];
    for o in 1..n {
        let d = g.idom[o] as usize;
        kids[fill[d] as usize] = o as u32;
        fill[d] += 1;
    }
    (first, kids)
}

/// Per-class aggregates keyed by [`AggKey`], in first-seen (ordinal) order.
pub struct Aggregates {
    pub keys: Vec<AggKey>,
    pub rows: Vec<ClassRow>,
    /// Aggregate index of every node with a non-zero size (u32::MAX otherwise).
    pub agg_of: Vec<u32>,
}

pub fn aggregates(g: &HeapGraph) -> Aggregates {
    let n = g.n_nodes();
    let mut index: HashMap<AggKey, u32> = HashMap::new();
    let mut keys = Vec::new();
    let mut rows: Vec<ClassRow> = Vec::new();
    let mut agg_of = vec![u32::MAX; n];
    for o in 0..n as u32 {
        let size = g.self_size[o as usize];
        if size == 0 {
            continue;
        }
        let k = agg_key(g, o);
        let i = *index.entry(k).or_insert_with(|| {
            keys.push(k);
            rows.push(ClassRow {
                key: key_string(g, &k),
                name: g.classes.name(k.0).to_string(),
                count: 0,
                shallow_bytes: 0,
                retained_bytes: 0,
                distance: g.distance[o as usize],
            });
            (rows.len() - 1) as u32
        });
        agg_of[o as usize] = i;
        let r = &mut rows[i as usize];
        r.count += 1;
        r.shallow_bytes += size;
        r.distance = r.distance.min(g.distance[o as usize]);
    }
    // Retained size of a class: the topmost counted instances on each dominator-tree path.
    let (first, kids) = dominated(g);
    let mut open = vec![false; rows.len()];
    let mut stack: Vec<(u32, bool)> = vec![(ROOT, false)];
    while let Some((o, leaving)) = stack.pop() {
        let a = agg_of[o as usize];
        if leaving {
            open[a as usize] = false;
            continue;
        }
        let (ks, ke) = (first[o as usize] as usize, first[o as usize + 1] as usize);
        if a != u32::MAX && !open[a as usize] {
            rows[a as usize].retained_bytes += g.retained[o as usize];
            if ke > ks {
                open[a as usize] = true;
                stack.push((o, true));
            }
        }
        for &c in &kids[ks..ke] {
            stack.push((c, false));
        }
    }
    Aggregates { keys, rows, agg_of }
}

/// Sorts rows like the Summary view: retained, then shallow size, descending (stable).
pub fn sort_rows(rows: &mut [ClassRow]) {
    rows.sort_by(|a, b| {
        b.retained_bytes
            .cmp(&a.retained_bytes)
            .then(b.shallow_bytes.cmp(&a.shallow_bytes))
    });
}

/// The objects with the largest retained sizes, roots and other synthetic nodes left out.
pub fn top_retainers(g: &HeapGraph, n_top: usize) -> Vec<TopRetainer> {
    let mut cand: Vec<u32> = (0..g.n_nodes() as u32)
        .filter(|&o| o != ROOT && g.node_type(o) != g.types.n_synthetic)
        .collect();
    let k = n_top.min(cand.len());
    if k == 0 {
        return Vec::new();
    }
    let cmp = |a: &u32, b: &u32| {
        g.retained[*b as usize]
            .cmp(&g.retained[*a as usize])
            .then(g.id(*a).cmp(&g.id(*b)))
    };
    cand.select_nth_unstable_by(k - 1, cmp);
    cand.truncate(k);
    cand.sort_by(cmp);
    cand.into_iter()
        .map(|o| TopRetainer {
            id: g.id(o),
            class: g.class_name(o).to_string(),
            shallow_bytes: g.self_size[o as usize],
            retained_bytes: g.retained[o as usize],
        })
        .collect()
}

pub fn summarize(g: &HeapGraph, file: &str, n_top: usize) -> Summary {
    let (mut rows, (statistics, top)) = rayon::join(
        || aggregates(g).rows,
        || rayon::join(|| statistics(g), || top_retainers(g, n_top)),
    );
    sort_rows(&mut rows);
    Summary {
        file: file.to_string(),
        node_count: g.n_nodes() as u64,
        edge_count: g.n_edges() as u64,
        total_bytes: g.total_size,
        statistics,
        classes: rows,
        top_retainers: top,
    }
}
