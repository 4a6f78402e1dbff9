//! The leak finder.
//!
//! 1. **Which objects leaked** (memlab's three-snapshot rule): in the last snapshot, objects
//!    whose id is not in the first snapshot (new) and is in the second (so they were not
//!    in flight at the end): the *core*. With two snapshots every new object is core.
//! 2. **Grouping.** Every core object is placed on the shortest retainer path of the last
//!    snapshot ([`crate::heap::paths`]). Its *anchor* is the nearest object above it that
//!    already existed in the first snapshot: the long-lived holder the leak accumulates in
//!    (a Map, an emitter's listener array, a timer list, a module scope). The *top* of a
//!    core object is the first core object below the anchor on its path. Tops are grouped
//!    by the fingerprint of the normalized path to the anchor (indexes and dictionary keys
//!    become `[]`, repeated segments of linked lists and closure chains collapse) and by
//!    class; everything below a top belongs to its group's retained size.
//! 3. **Growth.** For each group, every snapshot is asked how many objects of the group's
//!    class sit under the anchor (by id). A group is a leak only if that number grows in
//!    every interval, or if it is one large allocation that stays (large-dataset).
//! 4. **Pattern, location, code, fix** from the structure of the path and the group
//!    (`patterns.rs`).
//!
//! Pure: no IO. Source text beyond what the snapshot holds comes from a caller's closure.

use super::patterns;
use super::{Finding, LeaksOutput, PathStep, SnapshotInfo};
use crate::heap::HeapGraph;
use crate::heap::graph::ROOT;
use crate::heap::names;
use crate::heap::paths::{self, NO_PARENT, PathTree};
use std::collections::HashMap;

/// Options of the leak finder.
#[derive(Debug, Clone)]
pub struct Options {
    /// Groups with fewer leaked objects are not findings.
    pub min_count: u64,
    /// A group that does not keep growing is still reported when it retains this much
    /// (one large allocation that stays).
    pub large_bytes: u64,
    /// Groups retaining less than this are noise.
    pub min_bytes: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            min_count: 1,
            large_bytes: 1 << 20,
            min_bytes: 4096,
        }
    }
}

/// One analysed snapshot with its file name.
pub struct Snap<'a> {
    pub file: &'a str,
    pub graph: &'a HeapGraph,
}

/// Reads source text for a script name when the snapshot's copy is cut (from disk, say).
pub type SourceFn<'a> = &'a dyn Fn(&str) -> Option<String>;

const NONE: u32 = u32::MAX;

/// Whether a node can be a leaked object worth reporting (not V8's own machinery).
pub fn eligible(g: &HeapGraph, o: u32) -> bool {
    let t = g.types;
    let ty = g.node_type(o);
    if ty == t.n_object {
        return !g.raw_name(o).starts_with("system / ");
    }
    ty == t.n_closure
        || ty == t.n_string
        || ty == t.n_cons_string
        || ty == t.n_sliced_string
        || ty == t.n_regexp
        || (ty == t.n_native && g.raw_name(o) == "system / JSArrayBufferData")
}

fn sorted_ids(g: &HeapGraph) -> Vec<u32> {
    let mut v = g.raw.node_id.clone();
    v.sort_unstable();
    v
}

fn contains(sorted: &[u32], id: u32) -> bool {
    sorted.binary_search(&id).is_ok()
}

/// A normalized step used in fingerprints.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
struct NormStep {
    holder: String,
    edge: String,
}

/// Edge name as it enters a fingerprint: indexes and dictionary keys become `[]`.
fn norm_edge(g: &HeapGraph, e: usize, from: u32) -> String {
    if g.edge_has_index(e) {
        return "[]".into();
    }
    let name = g.edge_name(e);
    if name.bytes().all(|b| b.is_ascii_digit()) || name.contains(" / part of key (") {
        return "[]".into();
    }
    let t = g.types;
    if g.raw.edge_type[e] == t.e_property && g.edges(from).len() >= 64 {
        return "[key]".into();
    }
    name.into_owned()
}

/// Collapses consecutive repeats of any segment of 1 to 4 steps (linked lists, chains).
fn collapse<T: PartialEq + Clone>(steps: &[T]) -> Vec<(T, u32)> {
    let mut v: Vec<(T, u32)> = steps.iter().map(|s| (s.clone(), 1)).collect();
    for period in 1..=4usize {
        let mut out: Vec<(T, u32)> = Vec::with_capacity(v.len());
        let mut i = 0;
        while i < v.len() {
            out.push(v[i].clone());
            i += 1;
            // If the last `period` pushed items repeat right after, skip the repeats.
            if out.len() >= period {
                let start = out.len() - period;
                loop {
                    if i + period > v.len() {
                        break;
                    }
                    let same = (0..period).all(|k| v[i + k].0 == out[start + k].0);
                    if !same {
                        break;
                    }
                    for k in 0..period {
                        out[start + k].1 += v[i + k].1;
                    }
                    i += period;
                }
            }
        }
        v = out;
    }
    v
}

fn fnv(h: &mut u64, s: &str) {
    for b in s.bytes().chain(std::iter::once(0xff)) {
        *h ^= b as u64;
        *h = h.wrapping_mul(0x100000001b3);
    }
}

/// Fingerprint of the normalized path to `anchor` plus the leaked class.
fn fingerprint(g: &HeapGraph, tree: &PathTree, anchor: u32, class: &str) -> u64 {
    let steps: Vec<NormStep> = tree
        .edges_to(anchor)
        .into_iter()
        .map(|e| {
            let from = source_of(tree, e, g);
            NormStep {
                holder: g.class_name(from).to_string(),
                edge: norm_edge(g, e as usize, from),
            }
        })
        .collect();
    let mut h = 0xcbf29ce484222325u64;
    for (s, _) in collapse(&steps) {
        fnv(&mut h, &s.holder);
        fnv(&mut h, &s.edge);
    }
    fnv(&mut h, class);
    h
}

/// The holder of a tree edge.
fn source_of(tree: &PathTree, e: u32, g: &HeapGraph) -> u32 {
    let to = g.raw.edge_to[e as usize];
    tree.parent[to as usize]
}

/// One group of leaked objects (tops) under one anchor, before it becomes a finding.
pub struct Group {
    pub anchor: u32,
    pub class: String,
    pub fingerprint: u64,
    /// The top objects (first leaked object below the anchor on each path).
    pub tops: Vec<u32>,
    /// All core objects below these tops.
    pub members: Vec<u32>,
}

/// The readable retainer path of `o`: root first, repeated segments collapsed.
pub fn retainer_path(
    g: &HeapGraph,
    tree: &PathTree,
    o: u32,
    is_new: &dyn Fn(u32) -> bool,
) -> Vec<PathStep> {
    let edges = tree.edges_to(o);
    let raw: Vec<(String, u32, String, String, bool)> = edges
        .iter()
        .map(|&e| {
            let from = source_of(tree, e, g);
            let to = g.raw.edge_to[e as usize];
            (
                if from == ROOT {
                    "(root)".to_string()
                } else if g.node_type(from) == g.types.n_synthetic && !g.raw_name(from).is_empty() {
                    g.raw_name(from).to_string()
                } else {
                    g.class_name(from).to_string()
                },
                g.id(from),
                g.edge_name(e as usize).into_owned(),
                g.edge_type_name(e as usize).to_string(),
                is_new(to),
            )
        })
        .collect();
    // Collapse repeats on (holder class, edge type) with indexes normalized.
    let keys: Vec<(String, String, String)> = edges
        .iter()
        .zip(&raw)
        .map(|(&e, r)| {
            let from = source_of(tree, e, g);
            (r.0.clone(), norm_edge(g, e as usize, from), r.3.clone())
        })
        .collect();
    let collapsed = collapse(&keys);
    let mut out = Vec::with_capacity(collapsed.len());
    let mut i = 0;
    for (_, n) in collapsed {
        // `collapse` merges whole segments; emit the first step of each run with its count.
        let r = &raw[i];
        out.push(PathStep {
            holder: r.0.clone(),
            holder_id: r.1 as u64,
            edge: r.2.clone(),
            edge_type: r.3.clone(),
            suspect: r.4,
            repeat: n,
        });
        i += n as usize;
        if i >= raw.len() {
            break;
        }
    }
    out
}

/// Finds leaks across `snaps` (oldest first; at least two).
pub fn find(snaps: &[Snap<'_>], sources: SourceFn<'_>, opts: &Options) -> LeaksOutput {
    let info = snaps
        .iter()
        .map(|s| SnapshotInfo {
            file: s.file.to_string(),
            nodes: s.graph.n_nodes() as u64,
            total_bytes: s.graph.total_size,
        })
        .collect();
    if snaps.len() < 2 {
        return LeaksOutput {
            snapshots: info,
            findings: Vec::new(),
        };
    }
    let last = snaps[snaps.len() - 1].graph;
    let first_ids = sorted_ids(snaps[0].graph);
    let second_ids = if snaps.len() >= 3 {
        Some(sorted_ids(snaps[1].graph))
    } else {
        None
    };
    let n = last.n_nodes();
    let tree = paths::path_tree(last);
    // new: not in the first snapshot. core: new, and in the second snapshot too.
    let mut is_new = vec![false; n];
    let mut core = vec![false; n];
    for o in 0..n as u32 {
        let id = last.id(o);
        if o == ROOT || contains(&first_ids, id) {
            continue;
        }
        is_new[o as usize] = true;
        core[o as usize] = match &second_ids {
            Some(s) => contains(s, id),
            None => true,
        } && eligible(last, o);
    }
    // Anchor (nearest old ancestor) and top (first core node below it), parents first.
    let mut anchor = vec![NONE; n];
    let mut top = vec![NONE; n];
    let mut internal = vec![false; n];
    let t = last.types;
    for &o in &tree.order {
        let oi = o as usize;
        let p = tree.parent[oi];
        if p == NO_PARENT {
            anchor[oi] = o;
            continue;
        }
        let pi = p as usize;
        let pty = last.node_type(p);
        internal[oi] = internal[pi] || pty == t.n_code || pty == t.n_object_shape;
        // Old objects of the leaked object's own class (earlier links of the same linked
        // list) are not anchors: the list's holder is.
        let same_class = last.classes.class_of[pi] == last.classes.class_of[oi];
        anchor[oi] = if is_new[pi] || (same_class && anchor[pi] != p) {
            anchor[pi]
        } else {
            p
        };
        if is_new[oi] {
            top[oi] = if top[pi] != NONE && is_new[pi] {
                top[pi]
            } else if core[oi] && !internal[oi] {
                o
            } else {
                NONE
            };
        }
    }
    // Group tops by (fingerprint of the anchor path, class).
    let mut fp_cache: HashMap<(u32, u32), u64> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut group_of_fp: HashMap<u64, usize> = HashMap::new();
    let mut group_of_top: HashMap<u32, usize> = HashMap::new();
    for &o in &tree.order {
        let oi = o as usize;
        if top[oi] != o {
            continue;
        }
        let a = anchor[oi];
        let c = last.classes.class_of[oi];
        let fp = *fp_cache
            .entry((a, c))
            .or_insert_with(|| fingerprint(last, &tree, a, last.class_name(o)));
        let gi = *group_of_fp.entry(fp).or_insert_with(|| {
            groups.push(Group {
                anchor: a,
                class: last.class_name(o).to_string(),
                fingerprint: fp,
                tops: Vec::new(),
                members: Vec::new(),
            });
            groups.len() - 1
        });
        groups[gi].tops.push(o);
        group_of_top.insert(o, gi);
    }
    for &o in &tree.order {
        let oi = o as usize;
        if core[oi]
            && top[oi] != NONE
            && !internal[oi]
            && let Some(&gi) = group_of_top.get(&top[oi])
        {
            groups[gi].members.push(o);
        }
    }
    // Growth per snapshot: objects of the group's class under the anchor (by id).
    let anchor_ids: Vec<u32> = groups.iter().map(|g| last.id(g.anchor)).collect();
    let classes: Vec<String> = groups.iter().map(|g| g.class.clone()).collect();
    let mut growth: Vec<Vec<u64>> = vec![Vec::with_capacity(snaps.len()); groups.len()];
    let mut growth_bytes: Vec<Vec<u64>> = growth.clone();
    for s in snaps {
        let counts = if std::ptr::eq(s.graph, last) {
            count_under(last, &tree, &last.classes, &anchor_ids, &classes)
        } else {
            let stree = paths::path_tree(s.graph);
            let cls = names::compute(s.graph, Some(&last.classes.interfaces));
            count_under(s.graph, &stree, &cls, &anchor_ids, &classes)
        };
        for (gi, (c, b)) in counts.into_iter().enumerate() {
            growth[gi].push(c);
            growth_bytes[gi].push(b);
        }
    }
    let is_new_fn = |o: u32| is_new[o as usize];
    let scripts = crate::heap::source::scripts(last);
    let mut findings: Vec<Finding> = Vec::new();
    for (gi, grp) in groups.iter().enumerate() {
        let gr = &growth[gi];
        let count = grp
            .members
            .iter()
            .filter(|&&m| last.class_name(m) == grp.class)
            .count() as u64;
        if count < opts.min_count {
            continue;
        }
        let retained = group_retained(last, &grp.members);
        let grows = gr.windows(2).all(|w| w[1] > w[0]);
        let stays = gr.windows(2).all(|w| w[1] >= w[0]) && gr.last() > gr.first();
        let large = retained >= opts.large_bytes;
        if !(grows || (stays && large)) || retained < opts.min_bytes {
            continue;
        }
        let rep = *grp
            .tops
            .iter()
            .min_by_key(|&&o| (tree.depth[o as usize], last.id(o)))
            .unwrap_or(&grp.anchor);
        let path = retainer_path(last, &tree, rep, &is_new_fn);
        let ctx = patterns::Context {
            g: last,
            tree: &tree,
            group: grp,
            rep,
            is_new: &is_new,
            count,
            retained,
            sources,
            scripts: &scripts,
        };
        let cls = patterns::classify(&ctx);
        findings.push(Finding {
            pattern: cls.pattern,
            reason: cls.reason,
            class: grp.class.clone(),
            count,
            retained_bytes: retained,
            growth: gr.clone(),
            growth_bytes: growth_bytes[gi].clone(),
            retainer_path: path,
            location: cls.location,
            code: cls.code,
            excerpt: cls.excerpt,
            fingerprint: format!("{:016x}", grp.fingerprint),
            suggestion: cls.suggestion,
        });
    }
    findings.sort_by(|a, b| {
        b.retained_bytes
            .cmp(&a.retained_bytes)
            .then(b.count.cmp(&a.count))
            .then(a.fingerprint.cmp(&b.fingerprint))
    });
    LeaksOutput {
        snapshots: info,
        findings,
    }
}

/// Retained bytes of a set: members not dominated by another member, summed.
pub fn group_retained(g: &HeapGraph, members: &[u32]) -> u64 {
    let set: std::collections::HashSet<u32> = members.iter().copied().collect();
    let mut sum = 0u64;
    for &m in members {
        let mut d = g.idom[m as usize];
        let mut dominated = false;
        for _ in 0..256 {
            if d == ROOT || d as usize >= g.n_nodes() {
                break;
            }
            if set.contains(&d) {
                dominated = true;
                break;
            }
            let nd = g.idom[d as usize];
            if nd == d {
                break;
            }
            d = nd;
        }
        if !dominated {
            sum += g.retained[m as usize];
        }
    }
    sum
}

/// For each (anchor id, class) pair, the number and the shallow bytes of the nodes of that
/// class whose nearest anchor-set ancestor in `tree` is that anchor.
fn count_under(
    g: &HeapGraph,
    tree: &PathTree,
    classes: &names::ClassNames,
    anchor_ids: &[u32],
    class_names: &[String],
) -> Vec<(u64, u64)> {
    let mut out = vec![(0u64, 0u64); anchor_ids.len()];
    if anchor_ids.is_empty() {
        return out;
    }
    let mut anchor_slot: HashMap<u32, u32> = HashMap::new();
    for (i, &id) in anchor_ids.iter().enumerate() {
        anchor_slot.entry(id).or_insert(i as u32);
    }
    // Ordinal of each anchor id in this snapshot.
    let n = g.n_nodes();
    let mut slot_of = vec![NONE; n];
    for o in 0..n as u32 {
        if let Some(&s) = anchor_slot.get(&g.id(o)) {
            slot_of[o as usize] = s;
        }
    }
    // Nearest anchor above each node, parents first.
    let mut near = vec![NONE; n];
    for &o in &tree.order {
        let p = tree.parent[o as usize];
        if p == NO_PARENT {
            continue;
        }
        near[o as usize] = if slot_of[p as usize] != NONE {
            g.id(p)
        } else {
            near[p as usize]
        };
    }
    let mut want: HashMap<(u32, &str), Vec<usize>> = HashMap::new();
    for (i, (&a, c)) in anchor_ids.iter().zip(class_names).enumerate() {
        want.entry((a, c.as_str())).or_default().push(i);
    }
    for o in 0..n as u32 {
        let a = near[o as usize];
        if a == NONE || !eligible(g, o) {
            continue;
        }
        let cname = classes.name(classes.class_of[o as usize]);
        if let Some(slots) = want.get(&(a, cname)) {
            for &s in slots {
                out[s].0 += 1;
                out[s].1 += g.self_size[o as usize];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::collapse;

    #[test]
    fn collapse_folds_linked_lists_and_chains() {
        let v = ["a", "b", "b", "b", "c"];
        let c = collapse(&v);
        assert_eq!(c, vec![("a", 1), ("b", 3), ("c", 1)]);
        let chain = ["x", "p", "q", "r", "p", "q", "r", "p", "q", "r", "y"];
        let c = collapse(&chain);
        let names: Vec<&str> = c.iter().map(|x| x.0).collect();
        assert_eq!(names, vec!["x", "p", "q", "r", "y"]);
        assert_eq!(c[1].1, 3);
    }
}
