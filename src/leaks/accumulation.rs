//! Stage 2, accumulation points: the long-lived containers leaked objects are added to.
//!
//! Every candidate sits on the path tree of the last snapshot ([`crate::heap::paths`]). Its
//! *anchor* is the nearest node above it that already existed in the first snapshot: the
//! container the leak accumulates in (a Map, an emitter's listener array, a timer list, a
//! module scope). The *top* of a candidate is the first candidate below the anchor on its
//! path: one leaked unit with everything it keeps below it. New internal nodes between the
//! two (a Map's reallocated hash table, an array's new backing store) are looked through.
//!
//! An old object of the leaked objects' own class reached by the same link (`next`,
//! `_idlePrev`) is an earlier link of the same list: the list's holder is the anchor.
//!
//! A container may itself be new: created lazily after the first snapshot (the first
//! request creates the cache, or the listener array of an event that had one listener).
//! Then the units under the old anchor are few and stop arriving, while below one of them
//! the candidates keep spreading over many branches: that top is the real container and
//! becomes the anchor of what is below it. Chains (linked lists, closures that capture the
//! previous closure) do not spread: one branch carries almost everything, so they stay
//! units of their anchor.

use super::candidates::Candidates;
use crate::heap::HeapGraph;
use crate::heap::paths::{NO_PARENT, PathTree};
use std::collections::HashMap;

pub const NONE: u32 = u32::MAX;

/// Leaked units under one accumulation point, reached through one kind of edge.
#[derive(Debug, Clone)]
pub struct Accumulation {
    /// The container.
    pub ap: u32,
    /// The first step out of the container, normalized: `[]` for indexes and keys, else the
    /// property or variable name.
    pub role: String,
    /// The top objects (one per leaked unit, or per chain).
    pub tops: Vec<u32>,
}

/// Anchors, tops and accumulation points of the last snapshot.
pub struct Accumulations {
    /// Per node: its anchor (nearest old or container node above it).
    pub anchor: Vec<u32>,
    /// Per node: the top it belongs to, `NONE` if none.
    pub top: Vec<u32>,
    pub list: Vec<Accumulation>,
}

/// Nodes below V8's compiled code and object shapes are not part of what leaks.
fn internal_parent(g: &HeapGraph, p: u32) -> bool {
    let t = g.types;
    let ty = g.node_type(p);
    ty == t.n_code || ty == t.n_object_shape
}

/// Whether `p` reaches `o` by the same named edge that reached `p` (`next` after `next`,
/// `_idlePrev` after `_idlePrev`): links of a list, not containers nested in containers.
fn same_link(g: &HeapGraph, tree: &PathTree, p: u32, o: u32) -> bool {
    let (e1, e2) = (tree.parent_edge[p as usize], tree.parent_edge[o as usize]);
    if e1 == NO_PARENT || e2 == NO_PARENT {
        return false;
    }
    let (e1, e2) = (e1 as usize, e2 as usize);
    !g.edge_has_index(e1) && !g.edge_has_index(e2) && g.edge_name(e1) == g.edge_name(e2)
}

/// One pass over the tree: anchors and tops, with `promoted` nodes acting as containers.
fn assign(
    g: &HeapGraph,
    tree: &PathTree,
    c: &Candidates,
    promoted: &[bool],
) -> (Vec<u32>, Vec<u32>) {
    let n = g.n_nodes();
    let mut anchor = vec![NONE; n];
    let mut top = vec![NONE; n];
    let mut internal = vec![false; n];
    for &o in &tree.order {
        let oi = o as usize;
        let p = tree.parent[oi];
        if p == NO_PARENT {
            anchor[oi] = o;
            continue;
        }
        let pi = p as usize;
        internal[oi] = internal[pi] || internal_parent(g, p);
        // V8's internal arrays (a Map's hash table, an object's backing stores) are part of
        // their holder: the holder is the container.
        let p_container = (!c.is_new(p) || promoted[pi]) && g.node_type(p) != g.types.n_array;
        // Old objects of the leaked object's own class (earlier links of the same linked
        // list) are not anchors: the list's holder is.
        let old_link = !promoted[pi]
            && g.classes.class_of[pi] == g.classes.class_of[oi]
            && anchor[pi] != p
            && anchor[pi] != NONE
            && same_link(g, tree, p, o);
        anchor[oi] = if !p_container || old_link {
            anchor[pi]
        } else {
            p
        };
        if c.is_new(o) && !promoted[oi] {
            top[oi] = if top[pi] != NONE && c.is_new(p) && !promoted[pi] {
                top[pi]
            } else if c.is_candidate(o) && !internal[oi] {
                o
            } else {
                NONE
            };
        }
    }
    (anchor, top)
}

/// Edge name as it enters a fingerprint or a role: indexes and keys become `[]`.
pub fn norm_edge(g: &HeapGraph, e: usize, from: u32) -> String {
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

/// Whether a role is a name (a variable or property), not `[]`, `[key]` or `[link]`.
pub fn is_named_role(role: &str) -> bool {
    !role.starts_with('[')
}

/// The role of the first step out of a container: links of a list (reached from both of
/// its ends) are one role.
fn role_of(g: &HeapGraph, e: usize, from: u32) -> String {
    let r = norm_edge(g, e, from);
    match r.as_str() {
        // Keys and values, elements and backing stores of one container are one role.
        "[key]" | "properties" | "elements" | "table" => "[]".into(),
        "_idlePrev" | "_idleNext" | "next" | "prev" | "_next" | "_prev" | "head" | "tail"
        | "_head" | "_tail" | "first" | "last" => "[link]".into(),
        _ => r,
    }
}

/// The child of `anchor` on the tree path to `o` (`o` itself if its parent is the anchor).
fn child_below(tree: &PathTree, anchor: u32, o: u32) -> Option<u32> {
    let mut cur = o;
    for _ in 0..1_000_000 {
        let p = tree.parent[cur as usize];
        if p == NO_PARENT {
            return None;
        }
        if p == anchor {
            return Some(cur);
        }
        cur = p;
    }
    None
}

fn collect(g: &HeapGraph, tree: &PathTree, anchor: &[u32], top: &[u32]) -> Vec<Accumulation> {
    // Tops by (anchor, role), in tree order.
    let mut index: HashMap<(u32, String), usize> = HashMap::new();
    let mut list: Vec<Accumulation> = Vec::new();
    for &o in &tree.order {
        if top[o as usize] != o {
            continue;
        }
        let a = anchor[o as usize];
        let Some(child) = child_below(tree, a, o) else {
            continue;
        };
        let e = tree.parent_edge[child as usize];
        let role = role_of(g, e as usize, a);
        let k = *index.entry((a, role.clone())).or_insert_with(|| {
            list.push(Accumulation {
                ap: a,
                role,
                tops: Vec::new(),
            });
            list.len() - 1
        });
        list[k].tops.push(o);
    }
    // Property names used as keys (an object used as a dictionary): many small groups of
    // one anchor, each named by its key, are one group.
    let mut named: HashMap<u32, usize> = HashMap::new();
    for a in &list {
        if is_named_role(&a.role) {
            *named.entry(a.ap).or_default() += 1;
        }
    }
    let mut merged: Vec<Accumulation> = Vec::new();
    let mut dict: HashMap<u32, usize> = HashMap::new();
    for a in list {
        if is_named_role(&a.role) && named.get(&a.ap).copied().unwrap_or(0) >= 8 {
            if let Some(&k) = dict.get(&a.ap) {
                let tops: &mut Vec<u32> = &mut merged[k].tops;
                tops.extend(a.tops);
                continue;
            }
            dict.insert(a.ap, merged.len());
            merged.push(Accumulation {
                ap: a.ap,
                role: "[]".into(),
                tops: a.tops,
            });
        } else {
            merged.push(a);
        }
    }
    merged
}

/// Whether the candidates below `t` spread over many branches (a container) rather than
/// follow one (a chain): at least eight branches, none with half of them.
fn spreads(branch_counts: &HashMap<u32, u32>) -> bool {
    let total: u32 = branch_counts.values().sum();
    let max = branch_counts.values().copied().max().unwrap_or(0);
    branch_counts.len() >= 8 && max * 2 <= total
}

/// Finds the accumulation points of the last snapshot.
pub fn find(g: &HeapGraph, tree: &PathTree, c: &Candidates) -> Accumulations {
    let n = g.n_nodes();
    let mut promoted = vec![false; n];
    let last_born = (c.n_snaps - 1) as u8;
    for _round in 0..4 {
        let (anchor, top) = assign(g, tree, c, &promoted);
        let list = collect(g, tree, &anchor, &top);
        // Accumulations whose units stopped arriving (or are one or two): look for a
        // container among their tops.
        let mut suspects: Vec<u32> = Vec::new();
        for a in &list {
            let fresh = a.tops.iter().any(|&t| c.born(t) == last_born);
            if a.tops.len() <= 2 || (a.tops.len() <= 16 && c.n_snaps >= 3 && !fresh) {
                suspects.extend(a.tops.iter().copied());
            }
        }
        if suspects.is_empty() {
            return Accumulations { anchor, top, list };
        }
        let is_suspect: std::collections::HashSet<u32> = suspects.iter().copied().collect();
        // For every node under a suspect top: the first candidate below the top on its
        // path (its branch), counted per top.
        let mut branch = vec![NONE; 0];
        branch.resize(n, NONE);
        let mut counts: HashMap<u32, HashMap<u32, u32>> = HashMap::new();
        for &o in &tree.order {
            let oi = o as usize;
            let t = top[oi];
            if t == NONE || t == o || !is_suspect.contains(&t) {
                continue;
            }
            let p = tree.parent[oi];
            let b = if p == t || branch[p as usize] == NONE {
                if c.is_candidate(o) { o } else { NONE }
            } else {
                branch[p as usize]
            };
            branch[oi] = b;
            if b != NONE && c.is_candidate(o) {
                *counts.entry(t).or_default().entry(b).or_default() += 1;
            }
        }
        let mut changed = false;
        for t in suspects {
            if counts.get(&t).is_some_and(spreads) {
                promoted[t as usize] = true;
                changed = true;
            }
        }
        if !changed {
            return Accumulations { anchor, top, list };
        }
    }
    let (anchor, top) = assign(g, tree, c, &promoted);
    let list = collect(g, tree, &anchor, &top);
    Accumulations { anchor, top, list }
}
