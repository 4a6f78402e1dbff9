//! Stage 3, grouping: one leak is one group.
//!
//! - Accumulations reached by the same normalized path (one socket wrap per connection,
//!   one emitter per request object) are one group.
//! - A leaked unit is what one call leaves behind: tops that point to the same new objects
//!   within a few hops (the closures one call creates share its context; bound methods
//!   share their `this`; a Map's value holds its key; a socket's idle timer is bound to
//!   the socket) are one unit, even when they accumulate in different containers. Groups
//!   that share most of their units are one group (a logger instance registered in several
//!   listener lists; an agent's sockets and their idle timers). Objects reached from very
//!   many tops (shared configuration) link nothing.
//! - The group is counted in units: 500 loggers, not 21,000 functions; a Map's keys and
//!   values are one entry each. A chain (a linked list, closures capturing the previous
//!   closure) is one top with many links: its links are counted.
//! - Growth: for each snapshot, how many of the units were already alive then.

use super::accumulation::{Accumulation, Accumulations, NONE, norm_edge};
use super::candidates::Candidates;
use super::owners::{Owner, OwnerKind};
use crate::heap::HeapGraph;
use crate::heap::graph::ROOT;
use crate::heap::paths::{NO_PARENT, PathTree};
use crate::heap::source::Origin;
use std::collections::{HashMap, HashSet};

/// One group of leaked objects, before classification.
#[derive(Debug, Clone)]
pub struct Group {
    /// The accumulations merged into this group; `primary` is where the units are counted.
    pub aps: Vec<Accumulation>,
    pub primary: usize,
    /// Every candidate below the group's tops.
    pub members: Vec<u32>,
    /// One object per counted unit (the object the unit's parts share, or its top).
    pub units: Vec<u32>,
    /// DevTools class of the units.
    pub unit_class: String,
    /// Counted units.
    pub count: u64,
    /// Units alive in each snapshot.
    pub growth: Vec<u64>,
    /// Shallow bytes of the members alive in each snapshot.
    pub growth_bytes: Vec<u64>,
    pub retained: u64,
    /// Representative top: a unit of the primary accumulation with the shortest path.
    pub rep: u32,
    /// Fingerprint of the primary accumulation's normalized path.
    pub path_key: u64,
    /// The units are not what accumulates in the container (connections found behind
    /// their idle timers): the container and its owner say nothing about the leak.
    pub incidental_container: bool,
    /// The owner of the primary container.
    pub owner: Option<Owner>,
}

impl Group {
    pub fn primary_ap(&self) -> &Accumulation {
        &self.aps[self.primary]
    }
}

fn fnv(h: &mut u64, s: &str) {
    for b in s.bytes().chain(std::iter::once(0xff)) {
        *h ^= b as u64;
        *h = h.wrapping_mul(0x100000001b3);
    }
}

/// Collapses consecutive repeats of any segment of 1 to 4 steps (linked lists, chains).
pub fn collapse<T: PartialEq + Clone>(steps: &[T]) -> Vec<(T, u32)> {
    let mut v: Vec<(T, u32)> = steps.iter().map(|s| (s.clone(), 1)).collect();
    for period in 1..=4usize {
        let mut out: Vec<(T, u32)> = Vec::with_capacity(v.len());
        let mut i = 0;
        while i < v.len() {
            out.push(v[i].clone());
            i += 1;
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

/// Fingerprint of the normalized, collapsed tree path to `ap` plus the role.
fn path_key(g: &HeapGraph, tree: &PathTree, ap: u32, role: &str) -> u64 {
    let steps: Vec<(String, String)> = tree
        .edges_to(ap)
        .into_iter()
        .map(|e| {
            let to = g.raw.edge_to[e as usize];
            let from = tree.parent[to as usize];
            (
                g.class_name(from).to_string(),
                norm_edge(g, e as usize, from),
            )
        })
        .collect();
    let mut h = 0xcbf29ce484222325u64;
    for ((holder, edge), _) in collapse(&steps) {
        fnv(&mut h, &holder);
        fnv(&mut h, &edge);
    }
    fnv(&mut h, g.class_name(ap));
    fnv(&mut h, role);
    h
}

struct UnionFind(Vec<u32>);

impl UnionFind {
    fn find(&mut self, mut x: u32) -> u32 {
        while self.0[x as usize] != x {
            let p = self.0[x as usize];
            self.0[x as usize] = self.0[p as usize];
            x = p;
        }
        x
    }
    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.0[hi as usize] = lo;
        }
    }
}

/// Objects reached from more tops than this are shared (configuration, a lazily created
/// helper), not part of one unit.
const HUB: usize = 64;
/// How far and how much a top's neighbourhood is searched for shared objects.
const NEAR_HOPS: u32 = 3;
const NEAR_NODES: usize = 48;

/// New objects within a few hops of `t` (not through code, shapes or prototypes).
fn near_new(g: &HeapGraph, c: &Candidates, t: u32, out: &mut Vec<u32>) {
    out.clear();
    let t_ = g.types;
    let mut frontier = vec![t];
    let mut seen: HashSet<u32> = HashSet::new();
    seen.insert(t);
    for _ in 0..NEAR_HOPS {
        let mut next = Vec::new();
        for &o in &frontier {
            for e in g.edges(o) {
                let ety = g.raw.edge_type[e];
                if ety == t_.e_weak || ety == t_.e_shortcut && o != t {
                    continue;
                }
                let to = g.raw.edge_to[e];
                let ty = g.node_type(to);
                // Strings and numbers are values, not identity: V8 shares them (the
                // number-string cache, internalized keys) between unrelated objects. An
                // ArrayBuffer below a view is storage that an allocator may share (Node's
                // Buffer pool packs many small buffers into one 8 KiB slab).
                if ty == t_.n_code
                    || ty == t_.n_object_shape
                    || is_plain_data(g, to)
                    || g.node_type_name(to) == "number"
                    || !c.is_new(to)
                    || (o != t && is_backing_store(g, to))
                {
                    continue;
                }
                if ety == t_.e_property || ety == t_.e_internal {
                    let name = g.edge_name(e);
                    if name == "__proto__" || name == "map" || name == "constructor" {
                        continue;
                    }
                }
                if seen.insert(to) {
                    out.push(to);
                    next.push(to);
                    if out.len() >= NEAR_NODES {
                        return;
                    }
                }
            }
        }
        frontier = next;
    }
}

/// Retained bytes of a set: members not dominated by another member, summed.
pub fn group_retained(g: &HeapGraph, members: &[u32]) -> u64 {
    let set: HashSet<u32> = members.iter().copied().collect();
    let mut sum = 0u64;
    for &m in members {
        let mut d = g.idom[m as usize];
        let mut dominated = false;
        for _ in 0..4096 {
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

fn is_class_instance(g: &HeapGraph, o: u32) -> bool {
    if g.node_type(o) != g.types.n_object {
        return false;
    }
    let c = g.class_name(o);
    !(c == "Object"
        || c.starts_with('{')
        || c.starts_with("system / ")
        || matches!(
            c,
            "Array" | "Map" | "Set" | "WeakMap" | "WeakSet" | "Promise" | "Error" | "Date"
        ))
}

/// Whether two growth series grow in proportion (within 5%, at most 4 to 1), from zero.
fn in_step(a: &[u64], b: &[u64]) -> bool {
    let (Some(&al), Some(&bl)) = (a.last(), b.last()) else {
        return false;
    };
    if al == 0 || bl == 0 || al > bl * 4 || bl > al * 4 || a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).all(|(&x, &y)| {
        let (l, r) = (x as u128 * bl as u128, y as u128 * al as u128);
        l.abs_diff(r) * 20 <= l.max(r)
    })
}

/// An ArrayBuffer: the storage of typed-array views.
fn is_backing_store(g: &HeapGraph, o: u32) -> bool {
    matches!(g.class_name(o), "ArrayBuffer" | "SharedArrayBuffer")
}

fn is_plain_data(g: &HeapGraph, o: u32) -> bool {
    let t = g.types;
    let ty = g.node_type(o);
    ty == t.n_string || ty == t.n_cons_string || ty == t.n_sliced_string
}

/// Builds the groups from the accumulation points.
pub fn group(
    g: &HeapGraph,
    tree: &PathTree,
    c: &Candidates,
    acc: &Accumulations,
    owners: &[Option<Owner>],
) -> Vec<Group> {
    let n = g.n_nodes();
    // 1. Accumulations with the same path shape are one group.
    let mut by_key: HashMap<u64, usize> = HashMap::new();
    let mut groups: Vec<(u64, Vec<Accumulation>)> = Vec::new();
    let mut group_owner: Vec<Option<&Owner>> = Vec::new();
    for (ai, a) in acc.list.iter().enumerate() {
        let k = path_key(g, tree, a.ap, &a.role);
        match by_key.get(&k) {
            Some(&i) => groups[i].1.push(a.clone()),
            None => {
                by_key.insert(k, groups.len());
                groups.push((k, vec![a.clone()]));
                group_owner.push(owners.get(ai).and_then(|o| o.as_ref()));
            }
        }
    }
    // Group of every top.
    let mut group_of_top: HashMap<u32, u32> = HashMap::new();
    for (gi, (_, aps)) in groups.iter().enumerate() {
        for a in aps {
            for &t in &a.tops {
                group_of_top.insert(t, gi as u32);
            }
        }
    }
    // 2. Units: tops that reach the same new objects.
    let tops: Vec<u32> = {
        let mut v: Vec<u32> = group_of_top.keys().copied().collect();
        v.sort_unstable();
        v
    };
    let top_index: HashMap<u32, u32> = tops
        .iter()
        .enumerate()
        .map(|(i, &t)| (t, i as u32))
        .collect();
    let mut reach: Vec<(u32, u32)> = Vec::new(); // (node, top index)
    let mut buf = Vec::new();
    for (ti, &t) in tops.iter().enumerate() {
        near_new(g, c, t, &mut buf);
        for &v in &buf {
            reach.push((v, ti as u32));
        }
        reach.push((t, ti as u32));
    }
    reach.sort_unstable();
    reach.dedup();
    let mut uf = UnionFind((0..tops.len() as u32).collect());
    // Per shared node: the tops reaching it (with the node itself when it is a top).
    let mut hub_of: HashMap<u32, (u32, usize)> = HashMap::new(); // root -> (node, reach)
    let mut i = 0;
    while i < reach.len() {
        let v = reach[i].0;
        let mut j = i;
        while j < reach.len() && reach[j].0 == v {
            j += 1;
        }
        let mut members: Vec<u32> = reach[i..j].iter().map(|x| x.1).collect();
        if let Some(&vt) = top_index.get(&v) {
            members.push(vt);
        }
        members.sort_unstable();
        members.dedup();
        if members.len() >= 2 && members.len() <= HUB {
            for w in members.windows(2) {
                uf.union(w[0], w[1]);
            }
            // What the parts of one unit share names the unit when it is an instance of
            // a class (a logger, a socket), not plain state or a scope.
            if is_class_instance(g, v) && c.is_candidate(v) {
                let r = uf.find(members[0]);
                let e = hub_of.entry(r).or_insert((v, 0));
                if members.len() > e.1
                    || (members.len() == e.1 && g.retained[v as usize] > g.retained[e.0 as usize])
                {
                    *e = (v, members.len());
                }
            }
        }
        i = j;
    }
    // A Map entry's key and value sit in adjacent slots of the Map's hash table (the
    // chain slot follows; a Set has no value slot, so its keys are never adjacent).
    let mut slot: HashMap<(u32, u32), u32> = HashMap::new();
    for (ti, &t) in tops.iter().enumerate() {
        let p = tree.parent[t as usize];
        if p == NO_PARENT || g.node_type(p) != g.types.n_array {
            continue;
        }
        let pe = tree.parent_edge[p as usize];
        if pe == NO_PARENT || g.edge_name(pe as usize) != "table" {
            continue;
        }
        let e = tree.parent_edge[t as usize] as usize;
        if let Ok(i) = g.edge_name(e).parse::<u32>() {
            slot.insert((p, i), ti as u32);
        }
    }
    // An object in dictionary mode keeps each key as a string in its `properties` store
    // and reaches the value by an edge named by that key: key and value are one entry.
    let mut key_tops: HashMap<(u32, &str), u32> = HashMap::new();
    for (ti, &t) in tops.iter().enumerate() {
        let p = tree.parent[t as usize];
        if p == NO_PARENT || !is_plain_data(g, t) || g.node_type(p) != g.types.n_array {
            continue;
        }
        let pe = tree.parent_edge[p as usize];
        if pe != NO_PARENT && g.edge_name(pe as usize) == "properties" {
            key_tops.insert((tree.parent[p as usize], g.raw_name(t)), ti as u32);
        }
    }
    if !key_tops.is_empty() {
        for (ti, &t) in tops.iter().enumerate() {
            let p = tree.parent[t as usize];
            let e = tree.parent_edge[t as usize];
            if p == NO_PARENT || g.raw.edge_type[e as usize] != g.types.e_property {
                continue;
            }
            if let Some(&k) = key_tops.get(&(p, &*g.edge_name(e as usize))) {
                uf.union(k, ti as u32);
            }
        }
    }
    let mut pairs: Vec<(u32, u32)> = slot
        .iter()
        .filter_map(|(&(p, i), &ti)| slot.get(&(p, i.wrapping_add(1))).map(|&tj| (ti, tj)))
        .collect();
    pairs.sort_unstable();
    for (a, b) in pairs {
        uf.union(a, b);
    }
    // Roots may have changed after later unions: re-key the shared objects.
    let mut unit_object: HashMap<u32, (u32, usize)> = HashMap::new();
    for (r, (v, k)) in hub_of {
        let root = uf.find(r);
        let e = unit_object.entry(root).or_insert((v, k));
        if k > e.1 {
            *e = (v, k);
        }
    }
    // 3. Groups sharing most of their units are one group.
    let ng = groups.len();
    let mut comps_of_group: Vec<HashSet<u32>> = vec![HashSet::new(); ng];
    for (ti, &t) in tops.iter().enumerate() {
        let gi = group_of_top[&t] as usize;
        comps_of_group[gi].insert(uf.find(ti as u32));
    }
    let mut groups_of_comp: HashMap<u32, Vec<u32>> = HashMap::new();
    for (gi, comps) in comps_of_group.iter().enumerate() {
        for &cmp in comps {
            groups_of_comp.entry(cmp).or_default().push(gi as u32);
        }
    }
    let mut links: HashMap<(u32, u32), u32> = HashMap::new();
    for gs in groups_of_comp.values() {
        for (a, &ga) in gs.iter().enumerate() {
            for &gb in &gs[a + 1..] {
                let k = if ga < gb { (ga, gb) } else { (gb, ga) };
                *links.entry(k).or_default() += 1;
            }
        }
    }
    let mut guf = UnionFind((0..ng as u32).collect());
    let mut link_list: Vec<((u32, u32), u32)> = links.into_iter().collect();
    link_list.sort_unstable();
    for ((ga, gb), k) in link_list {
        let small = comps_of_group[ga as usize]
            .len()
            .min(comps_of_group[gb as usize].len()) as u32;
        if k >= 2 && k * 2 >= small {
            guf.union(ga, gb);
        }
    }
    // Parallel containers of one object (a cache's key list, value list and index), or of
    // one library object the user's code holds, that grow unit for unit: one leak.
    let top_growth: Vec<Vec<u64>> = groups
        .iter()
        .map(|(_, aps)| {
            let mut gr = vec![0u64; c.n_snaps];
            for a in aps {
                for &t in &a.tops {
                    for x in gr.iter_mut().skip(c.born(t) as usize) {
                        *x += 1;
                    }
                }
            }
            gr
        })
        .collect();
    let mut by_holder: HashMap<(u64, u32, usize), Vec<u32>> = HashMap::new();
    for (gi, o) in group_owner.iter().enumerate() {
        let Some(o) = o else { continue };
        let key = match (o.entry, &o.origin) {
            (Some((h, e)), Origin::Library(_)) => (1, h, e),
            _ if o.holder != ROOT
                && !matches!(
                    o.kind,
                    OwnerKind::ModuleVariable | OwnerKind::Global | OwnerKind::DomNode
                ) =>
            {
                (0, o.holder, 0)
            }
            _ => continue,
        };
        let gh = top_growth[gi].iter().fold(0xcbf29ce484222325u64, |h, &x| {
            (h ^ x).wrapping_mul(0x100000001b3)
        });
        by_holder
            .entry((gh ^ key.0, key.1, key.2))
            .or_default()
            .push(gi as u32);
    }
    let mut holder_sets: Vec<Vec<u32>> = by_holder.into_values().collect();
    holder_sets.sort_unstable();
    for set in holder_sets {
        for w in set.windows(2) {
            if top_growth[w[0] as usize] == top_growth[w[1] as usize] {
                guf.union(w[0], w[1]);
            }
        }
    }
    // Caches of the runtime that keep only strings (Node's module path caches, V8's string
    // table) and grow in step with another group are a side effect of that leak (every
    // module loaded adds a path to each), not a leak of their own.
    let side: Vec<bool> = groups
        .iter()
        .enumerate()
        .map(|(gi, (_, aps))| {
            let strings = aps
                .iter()
                .flat_map(|a| a.tops.iter())
                .take(64)
                .all(|&t| is_plain_data(g, t));
            let runtime = match group_owner[gi] {
                Some(o) => o.origin == Origin::Runtime,
                None => aps.iter().all(|a| g.node_type(a.ap) == g.types.n_synthetic),
            };
            strings && runtime
        })
        .collect();
    for gi in 0..ng {
        if !side[gi] {
            continue;
        }
        let partner = (0..ng)
            .filter(|&gb| {
                !side[gb] && group_owner[gb].is_some() && in_step(&top_growth[gi], &top_growth[gb])
            })
            .max_by_key(|&gb| (top_growth[gb].last().copied(), std::cmp::Reverse(gb)));
        if let Some(gb) = partner {
            guf.union(gi as u32, gb as u32);
        }
    }
    // 4. Members of each top.
    let mut members_of_group: Vec<Vec<u32>> = vec![Vec::new(); ng];
    for o in 0..n as u32 {
        let t = acc.top[o as usize];
        if t == NONE || !c.is_candidate(o) {
            continue;
        }
        if let Some(&gi) = group_of_top.get(&t) {
            members_of_group[gi as usize].push(o);
        }
    }
    // 5. Assemble merged groups.
    let mut merged: HashMap<u32, Vec<usize>> = HashMap::new();
    for gi in 0..ng {
        merged.entry(guf.find(gi as u32)).or_default().push(gi);
    }
    let mut roots: Vec<u32> = merged.keys().copied().collect();
    roots.sort_unstable();
    let mut out = Vec::new();
    for r in roots {
        let parts = &merged[&r];
        let mut aps: Vec<Accumulation> = Vec::new();
        let mut members: Vec<u32> = Vec::new();
        let mut part_retained: Vec<u64> = Vec::new();
        let mut part_keys: Vec<u64> = Vec::new();
        let mut part_owner: Vec<Option<&Owner>> = Vec::new();
        for &gi in parts {
            let rs = group_retained(g, &members_of_group[gi]);
            for a in &groups[gi].1 {
                aps.push(a.clone());
                part_retained.push(rs);
                part_keys.push(groups[gi].0);
                part_owner.push(group_owner[gi]);
            }
            members.extend_from_slice(&members_of_group[gi]);
        }
        // No long-lived container: objects held only by V8's string table (names and keys
        // the program used) and by the transient roots of the code running at snapshot
        // time (handle scopes, stack slots).
        let no_container = aps.iter().all(|a| {
            g.node_type(a.ap) == g.types.n_synthetic
                && (crate::heap::paths::is_transient_root(g, a.ap)
                    || a.tops.iter().take(64).all(|&t| is_plain_data(g, t)))
        }) && part_owner.iter().all(|o| o.is_none());
        if members.is_empty() || no_container {
            continue;
        }
        members.sort_unstable();
        members.dedup();
        // The primary accumulation: the part that retains the most, then the most tops.
        let primary = (0..aps.len())
            .max_by_key(|&k| (part_retained[k], aps[k].tops.len(), std::cmp::Reverse(k)))
            .unwrap_or(0);
        // Containers of the same shape as the primary one (the per-key lists of one Map)
        // hold the same kind of unit: all of them are counted.
        let counted: Vec<bool> = part_keys.iter().map(|&k| k == part_keys[primary]).collect();
        let grp = assemble(
            g,
            tree,
            c,
            &uf,
            &top_index,
            &unit_object,
            aps,
            primary,
            &counted,
            members,
        );
        // Connections a server accepted, kept only by their own idle timers, are open
        // connections whose peer keeps them alive (keep-alive clients, the load itself, a
        // metrics scraper); the server's own timeouts end them. Nothing in the program
        // holds them, so there is nothing to fix: not a leak. Connections that code keeps
        // in a container are found at that container instead.
        if grp.incidental_container && grp.units.iter().all(|&s| accepted_by_server(g, s)) {
            continue;
        }
        let mut grp = grp;
        grp.path_key = part_keys[primary];
        grp.owner = if grp.incidental_container {
            None
        } else {
            part_owner[primary].cloned()
        };
        out.push(grp);
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn assemble(
    g: &HeapGraph,
    tree: &PathTree,
    c: &Candidates,
    uf: &UnionFind,
    top_index: &HashMap<u32, u32>,
    unit_object: &HashMap<u32, (u32, usize)>,
    aps: Vec<Accumulation>,
    primary: usize,
    counted: &[bool],
    members: Vec<u32>,
) -> Group {
    let uf_find = |t: u32| -> u32 {
        let mut x = top_index[&t];
        while uf.0[x as usize] != x {
            x = uf.0[x as usize];
        }
        x
    };
    let n_snaps = c.n_snaps;
    let prim = &aps[primary];
    // Components (units) of the whole group, and which contain a primary top.
    let mut comp_born: HashMap<u32, u8> = HashMap::new();
    let mut comp_primary: HashSet<u32> = HashSet::new();
    let mut comp_best_top: HashMap<u32, u32> = HashMap::new();
    // Units of one container each (a list per key) are counted across all containers of
    // the primary's shape; a chain in each (a timer list per duration) counts its links.
    let per_unit = prim
        .tops
        .iter()
        .map(|&t| uf_find(t))
        .collect::<HashSet<u32>>()
        .len()
        >= 3;
    for (k, a) in aps.iter().enumerate() {
        for &t in &a.tops {
            let cmp = uf_find(t);
            let b = comp_born.entry(cmp).or_insert(u8::MAX);
            *b = (*b).min(c.born(t));
            if k == primary || (per_unit && counted.get(k).copied().unwrap_or(false)) {
                comp_primary.insert(cmp);
                let best = comp_best_top.entry(cmp).or_insert(t);
                if g.retained[t as usize] > g.retained[*best as usize] {
                    *best = t;
                }
            }
        }
    }
    let retained = group_retained(g, &members);
    let mut growth_bytes = vec![0u64; n_snaps];
    for &m in &members {
        let b = c.born(m) as usize;
        for gb in growth_bytes.iter_mut().skip(b) {
            *gb += g.self_size[m as usize];
        }
    }
    let rep_of = |tops: &[u32], class: Option<&str>| -> u32 {
        tops.iter()
            .copied()
            .filter(|&t| class.is_none_or(|cl| g.class_name(t) == cl))
            .min_by_key(|&t| (tree.depth[t as usize], g.id(t)))
            .or_else(|| tops.first().copied())
            .unwrap_or(prim.ap)
    };
    let mut growth = vec![0u64; n_snaps];
    let (units, unit_class, count);
    if comp_primary.len() >= 3 {
        // Units: one per component with a primary top; the object its parts share.
        let mut comps: Vec<u32> = comp_primary.iter().copied().collect();
        comps.sort_unstable();
        let mut objs = Vec::with_capacity(comps.len());
        let mut class_count: HashMap<&str, (usize, u64)> = HashMap::new();
        for &cmp in &comps {
            let o = unit_object
                .get(&cmp)
                .map(|x| x.0)
                .unwrap_or_else(|| comp_best_top[&cmp]);
            objs.push(o);
            let e = class_count.entry(g.class_name(o)).or_default();
            e.0 += 1;
            e.1 += g.retained[o as usize];
            let b = comp_born[&cmp] as usize;
            for gr in growth.iter_mut().skip(b) {
                *gr += 1;
            }
        }
        let mut classes: Vec<(&str, (usize, u64))> = class_count.into_iter().collect();
        classes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        unit_class = classes.first().map_or("", |x| x.0).to_string();
        count = comps.len() as u64;
        units = objs;
    } else {
        // A chain or a single structure: count the links of the top's class.
        let top = prim
            .tops
            .iter()
            .copied()
            .max_by_key(|&t| (g.retained[t as usize], std::cmp::Reverse(g.id(t))))
            .unwrap_or(prim.ap);
        let cls = g.classes.class_of[top as usize];
        unit_class = g.class_name(top).to_string();
        let links: Vec<u32> = members
            .iter()
            .copied()
            .filter(|&m| g.classes.class_of[m as usize] == cls)
            .collect();
        for &m in &links {
            let b = c.born(m) as usize;
            for gr in growth.iter_mut().skip(b) {
                *gr += 1;
            }
        }
        count = links.len() as u64;
        units = if links.is_empty() { vec![top] } else { links };
    }
    // Idle timers of connections: Node arms a socket's timeout with its `_onTimeout` bound
    // to the socket. Such timers are not the leak; the connections they belong to are.
    let mut incidental_container = false;
    let (units, unit_class, count) =
        match connections_behind_timers(g, c, &units, &unit_class, n_snaps) {
            Some((socks, cls, gr)) => {
                growth = gr;
                incidental_container = true;
                let k = socks.len() as u64;
                (socks, cls, k)
            }
            None => (units, unit_class, count),
        };
    // A handle wrap (`TCP`, `Pipe`) stands for the JavaScript socket that owns it.
    let (units, unit_class) = match owners_of_handles(g, &units, &unit_class) {
        Some((socks, cls)) => (socks, cls),
        None => (units, unit_class),
    };
    let rep = if incidental_container {
        rep_of(&units, None)
    } else {
        rep_of(&prim.tops, Some(&unit_class))
    };
    let rep = if g.class_name(rep) == unit_class || units.contains(&rep) {
        rep
    } else if units.iter().any(|&u| g.class_name(u) == unit_class) {
        rep_of(&units, Some(&unit_class))
    } else {
        rep_of(&prim.tops, None)
    };
    Group {
        aps,
        primary,
        members,
        units,
        unit_class,
        count,
        growth,
        growth_bytes,
        retained,
        rep,
        path_key: 0,
        incidental_container,
        owner: None,
    }
}

/// Whether a socket was accepted by a server (Node sets `socket.server` for accepted
/// connections; client sockets have `null` there).
fn accepted_by_server(g: &HeapGraph, s: u32) -> bool {
    crate::heap::source::child(g, s, "server").is_some_and(|v| g.node_type_name(v) == "object")
}

/// The JavaScript objects (`Socket`) that own handle wraps (`TCP`, `Pipe`, `TLSWrap`)
/// through `owner_symbol`, when every unit has one.
fn owners_of_handles(g: &HeapGraph, units: &[u32], unit_class: &str) -> Option<(Vec<u32>, String)> {
    if !matches!(unit_class, "TCP" | "Pipe" | "TLSWrap" | "UDP") || units.is_empty() {
        return None;
    }
    let owners: Vec<u32> = units
        .iter()
        .map(|&u| {
            g.edges(u)
                .find(|&e| g.edge_name(e).contains("owner_symbol"))
                .map(|e| g.raw.edge_to[e])
        })
        .collect::<Option<Vec<u32>>>()?;
    let cls = g.class_name(*owners.first()?).to_string();
    owners
        .iter()
        .all(|&o| g.class_name(o) == cls)
        .then_some((owners, cls))
}

/// When most timer units are the idle timers of connections (their callback bound to a
/// socket), the connections instead: (sockets, their class, growth).
fn connections_behind_timers(
    g: &HeapGraph,
    c: &Candidates,
    units: &[u32],
    unit_class: &str,
    n_snaps: usize,
) -> Option<(Vec<u32>, String, Vec<u64>)> {
    if !super::shapes::NODE_TIMERS.contains(&unit_class) || units.is_empty() {
        return None;
    }
    let child = crate::heap::source::child;
    let mut socks: Vec<u32> = units
        .iter()
        .filter_map(|&u| {
            let cb = child(g, u, "_onTimeout").or_else(|| child(g, u, "_onImmediate"))?;
            let this = child(g, cb, "bound_this")?;
            (c.is_new(this) && super::shapes::HANDLE_CLASSES.contains(&g.class_name(this)))
                .then_some(this)
        })
        .collect();
    if socks.len() * 2 < units.len() {
        return None;
    }
    socks.sort_unstable();
    socks.dedup();
    let mut classes: HashMap<&str, usize> = HashMap::new();
    for &s in &socks {
        *classes.entry(g.class_name(s)).or_default() += 1;
    }
    let cls = classes
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map(|x| x.0.to_string())?;
    let mut growth = vec![0u64; n_snaps];
    for &s in &socks {
        for gr in growth.iter_mut().skip(c.born(s) as usize) {
            *gr += 1;
        }
    }
    Some((socks, cls, growth))
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
