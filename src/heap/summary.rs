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

use super::fxhash::FxHashMap;
use super::graph::{HeapGraph, ROOT};
use super::mem::column;
use serde::Serialize;

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
    // `Array` objects count their `elements` store when nothing else retains it.
    let mut elements: Vec<u32> = Vec::new();
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
                    elements.push(g.raw.edge_to[e]);
                    break;
                }
            }
        }
    }
    let retainer_counts = retainer_counts(g, &elements);
    for (el, n) in elements.iter().zip(retainer_counts) {
        if n == 1 {
            arrays += g.self_size[*el as usize];
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

/// How many edges retain each of `nodes` (counted up to 2): from the retainer lists when
/// the graph has them, else in one pass over the edges.
fn retainer_counts(g: &HeapGraph, nodes: &[u32]) -> Vec<u8> {
    if g.has_retainers() || nodes.is_empty() {
        return nodes
            .iter()
            .map(|&o| g.retainers(o).len().min(2) as u8)
            .collect();
    }
    let mut count = vec![0u8; g.n_nodes()];
    for &o in nodes {
        count[o as usize] = 1; // marks a node to count, as 1 + its retainers
    }
    for &to in &g.raw.edge_to {
        let c = &mut count[to as usize];
        if *c != 0 && *c < 3 {
            *c += 1;
        }
    }
    nodes.iter().map(|&o| count[o as usize] - 1).collect()
}

/// Children of each node in the dominator tree, as CSR (`first`, `kids`), in ordinal order.
pub fn dominated(g: &HeapGraph) -> (Vec<u32>, Vec<u32>) {
    let n = g.n_nodes();
    let mut first = column(n + 1, 0u32);
    for o in 1..n {
        first[g.idom[o] as usize + 1] += 1;
    }
    for i in 0..n {
        first[i + 1] += first[i];
    }
    let mut kids = column(n.saturating_sub(1), 0u32);
    // `first[d]` serves as the fill pointer, then is restored by shifting.
    for o in 1..n {
        let d = g.idom[o] as usize;
        kids[first[d] as usize] = o as u32;
        first[d] += 1;
    }
    for i in (1..=n).rev() {
        first[i] = first[i - 1];
    }
    first[0] = 0;
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
    // Keys without a location by class id; keys with one in a map.
    let mut by_class: Vec<u32> = vec![u32::MAX; g.classes.n_classes()];
    let mut by_loc: FxHashMap<AggKey, u32> = FxHashMap::default();
    let mut keys = Vec::new();
    let mut rows: Vec<ClassRow> = Vec::new();
    let mut agg_of = column(n, u32::MAX);
    let locs = &g.raw.locations; // sorted by node
    let mut li = 0;
    let n_object = g.types.n_object;
    for o in 0..n as u32 {
        let size = g.self_size[o as usize];
        if size == 0 {
            continue;
        }
        let c = g.classes.class_of[o as usize];
        let mut loc = None;
        if g.node_type(o) == n_object {
            while li < locs.len() && locs[li][0] < o {
                li += 1;
            }
            if let Some(l) = locs.get(li)
                && l[0] == o
            {
                loc = Some([l[1], l[2], l[3]]);
            }
        }
        let k: AggKey = (c, loc);
        let slot = match loc {
            None => by_class.get_mut(c as usize),
            Some(_) => Some(by_loc.entry(k).or_insert(u32::MAX)),
        };
        let Some(slot) = slot else { continue };
        if *slot == u32::MAX {
            keys.push(k);
            rows.push(ClassRow {
                key: key_string(g, &k),
                name: g.classes.name(c).to_string(),
                count: 0,
                shallow_bytes: 0,
                retained_bytes: 0,
                distance: g.distance[o as usize],
            });
            *slot = (rows.len() - 1) as u32;
        }
        let i = *slot;
        agg_of[o as usize] = i;
        let r = &mut rows[i as usize];
        r.count += 1;
        r.shallow_bytes += size;
        r.distance = r.distance.min(g.distance[o as usize]);
    }
    // Retained size of a class: the topmost counted instances on each dominator-tree path.
    // Depth-first over the dominator tree with one frame per level: (node, next child,
    // whether it opened its class).
    let (first, kids) = dominated(g);
    let mut open = vec![false; rows.len()];
    let mut frames: Vec<(u32, u32, bool)> = Vec::new();
    let enter = |o: u32, open: &mut Vec<bool>, rows: &mut Vec<ClassRow>| -> bool {
        let a = agg_of[o as usize];
        if a != u32::MAX && !open[a as usize] {
            rows[a as usize].retained_bytes += g.retained[o as usize];
            let has_kids = first[o as usize + 1] > first[o as usize];
            if has_kids {
                open[a as usize] = true;
                return true;
            }
        }
        false
    };
    let opened = enter(ROOT, &mut open, &mut rows);
    frames.push((ROOT, first[ROOT as usize], opened));
    while let Some(top) = frames.last_mut() {
        let (o, next, opened) = *top;
        if next < first[o as usize + 1] {
            top.1 += 1;
            let c = kids[next as usize];
            let opened = enter(c, &mut open, &mut rows);
            frames.push((c, first[c as usize], opened));
        } else {
            if opened {
                open[agg_of[o as usize] as usize] = false;
            }
            frames.pop();
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
    // The best `n_top` so far, best first: retained size descending, then id.
    let better = |a: u32, b: u32| {
        g.retained[b as usize]
            .cmp(&g.retained[a as usize])
            .then(g.id(a).cmp(&g.id(b)))
    };
    let mut best: Vec<u32> = Vec::with_capacity(n_top + 1);
    if n_top > 0 {
        for o in 0..g.n_nodes() as u32 {
            if o == ROOT || g.node_type(o) == g.types.n_synthetic {
                continue;
            }
            if best.len() == n_top
                && let Some(&last) = best.last()
                && better(o, last).is_ge()
            {
                continue;
            }
            let at = best.partition_point(|&x| better(x, o).is_le());
            best.insert(at, o);
            best.truncate(n_top);
        }
    }
    best.into_iter()
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
