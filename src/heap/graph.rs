//! `HeapGraph`: a parsed snapshot plus everything DevTools derives from it, computed in the
//! order of DevTools' `HeapSnapshot.initialize` (chrome-devtools-frontend 1.0.1705227):
//! retainers, DOM state, page-owned flags, adjusted shallow sizes, essential edges,
//! dominators and retained sizes, distances, class names.
//!
//! `reference/heapsnapshot-ref.js` is the executable spec this follows line by line; the
//! comments name the DevTools function each step mirrors.

use super::dominators;
use super::names::{self, ClassNames, InterfaceDef};
use super::parse::RawSnapshot;
use std::collections::HashMap;

/// Sentinel for "no such type" in the resolved type ids.
const NONE_TYPE: u8 = u8::MAX;

/// Node and edge type ids resolved by name (never hard-coded: they come from the header).
#[derive(Debug, Clone, Copy)]
pub struct Types {
    pub n_hidden: u8,
    pub n_array: u8,
    pub n_string: u8,
    pub n_object: u8,
    pub n_code: u8,
    pub n_closure: u8,
    pub n_regexp: u8,
    pub n_native: u8,
    pub n_synthetic: u8,
    pub n_cons_string: u8,
    pub n_sliced_string: u8,
    pub n_object_shape: u8,
    pub e_context: u8,
    pub e_element: u8,
    pub e_property: u8,
    pub e_internal: u8,
    pub e_hidden: u8,
    pub e_shortcut: u8,
    pub e_weak: u8,
}

impl Types {
    fn resolve(raw: &RawSnapshot) -> Types {
        let n = |name: &str| {
            raw.meta
                .node_types
                .iter()
                .position(|t| t == name)
                .map_or(NONE_TYPE, |i| i as u8)
        };
        let e = |name: &str| {
            raw.meta
                .edge_types
                .iter()
                .position(|t| t == name)
                .map_or(NONE_TYPE, |i| i as u8)
        };
        Types {
            n_hidden: n("hidden"),
            n_array: n("array"),
            n_string: n("string"),
            n_object: n("object"),
            n_code: n("code"),
            n_closure: n("closure"),
            n_regexp: n("regexp"),
            n_native: n("native"),
            n_synthetic: n("synthetic"),
            n_cons_string: n("concatenated string"),
            n_sliced_string: n("sliced string"),
            n_object_shape: n("object shape"),
            e_context: e("context"),
            e_element: e("element"),
            e_property: e("property"),
            e_internal: e("internal"),
            e_hidden: e("hidden"),
            e_shortcut: e("shortcut"),
            e_weak: e("weak"),
        }
    }
}

/// DevTools' `noDistance` and `baseSystemDistance`.
pub const NO_DISTANCE: i32 = -5;
pub const BASE_SYSTEM_DISTANCE: i32 = 100_000_000;
pub const ROOT: u32 = 0;

/// A WeakMap ephemeron edge name, parsed once per distinct string.
#[derive(Debug, Clone, Copy)]
struct WeakMapEdge {
    table_id: u64,
    /// Interned id of the "duplicated part" (everything after the leading index).
    dup: u32,
}

/// The analysed heap: raw columns plus DevTools' derived numbers.
pub struct HeapGraph {
    pub raw: RawSnapshot,
    pub types: Types,
    /// Incoming edges: `first_ret[o]..first_ret[o+1]` index `ret_node` and `ret_edge`.
    pub first_ret: Vec<u32>,
    pub ret_node: Vec<u32>,
    pub ret_edge: Vec<u32>,
    /// 0 unknown, 1 attached, 2 detached (after propagation).
    pub det_state: Vec<u8>,
    /// Native nodes renamed `Detached <name>` by DOM state propagation.
    pub renamed_detached: Vec<bool>,
    /// Shallow sizes after DevTools' reassignment (`calculateShallowSizes`).
    pub self_size: Vec<u64>,
    pub retained: Vec<u64>,
    /// Immediate dominator ordinal (root's is itself).
    pub idom: Vec<u32>,
    pub distance: Vec<i32>,
    /// Whether each edge takes part in the dominator computation (emptied once it has run).
    pub essential: Vec<bool>,
    pub classes: ClassNames,
    /// Per node, index into `raw.locations` (u32::MAX: none).
    pub loc_index: Vec<u32>,
    /// Nodes that could only be attached to the root: (reachable only through weak edges, other).
    pub unreachable: (u64, u64),
    pub total_size: u64,
}

impl HeapGraph {
    pub fn n_nodes(&self) -> usize {
        self.raw.node_type.len()
    }
    pub fn n_edges(&self) -> usize {
        self.raw.edge_type.len()
    }
    pub fn edges(&self, o: u32) -> std::ops::Range<usize> {
        self.raw.first_edge[o as usize] as usize..self.raw.first_edge[o as usize + 1] as usize
    }
    pub fn retainers(&self, o: u32) -> std::ops::Range<usize> {
        self.first_ret[o as usize] as usize..self.first_ret[o as usize + 1] as usize
    }
    pub fn node_type(&self, o: u32) -> u8 {
        self.raw.node_type[o as usize]
    }
    pub fn node_type_name(&self, o: u32) -> &str {
        self.raw
            .meta
            .node_types
            .get(self.node_type(o) as usize)
            .map_or("", |s| s.as_str())
    }
    pub fn raw_name(&self, o: u32) -> &str {
        self.raw.strings.get(self.raw.node_name[o as usize])
    }
    pub fn id(&self, o: u32) -> u32 {
        self.raw.node_id[o as usize]
    }
    pub fn edge_type_name(&self, e: usize) -> &str {
        self.raw
            .meta
            .edge_types
            .get(self.raw.edge_type[e] as usize)
            .map_or("", |s| s.as_str())
    }
    /// True for edge types whose `name_or_index` is a number.
    pub fn edge_has_index(&self, e: usize) -> bool {
        let t = self.raw.edge_type[e];
        t == self.types.e_element || t == self.types.e_hidden
    }
    /// The edge's name: the string, or the index as text.
    pub fn edge_name(&self, e: usize) -> std::borrow::Cow<'_, str> {
        if self.edge_has_index(e) {
            std::borrow::Cow::Owned(self.raw.edge_name[e].to_string())
        } else {
            std::borrow::Cow::Borrowed(self.raw.strings.get(self.raw.edge_name[e]))
        }
    }
    pub fn class_name(&self, o: u32) -> &str {
        self.classes.name(self.classes.class_of[o as usize])
    }
    /// `(script_id, line, column)` (0-based) of the node, if V8 recorded one.
    pub fn location(&self, o: u32) -> Option<[u32; 3]> {
        let i = self.loc_index[o as usize];
        if i == u32::MAX {
            return None;
        }
        let l = self.raw.locations[i as usize];
        Some([l[1], l[2], l[3]])
    }
    /// DevTools' class key: `script,line,col,Name` for objects with a location, else `,Name`.
    pub fn class_key(&self, o: u32) -> String {
        let name = self.class_name(o);
        if self.node_type(o) == self.types.n_object
            && let Some([s, l, c]) = self.location(o)
        {
            return format!("{s},{l},{c},{name}");
        }
        format!(",{name}")
    }
    /// Whether the root's child `o` is a user root (`isUserRoot`).
    pub fn is_user_root(&self, o: u32) -> bool {
        self.node_type(o) != self.types.n_synthetic || self.raw_name(o) == "(Document DOM trees)"
    }

    /// Runs DevTools' whole initialization on a parsed snapshot.
    pub fn build(raw: RawSnapshot) -> HeapGraph {
        Self::build_with(raw, None)
    }

    /// Like [`HeapGraph::build`], naming plain objects with the given interface definitions
    /// instead of inferring them (the Comparison view names the base snapshot this way).
    pub fn build_with(raw: RawSnapshot, defs: Option<&[InterfaceDef]>) -> HeapGraph {
        let types = Types::resolve(&raw);
        let n = raw.node_type.len();
        let mut g = HeapGraph {
            types,
            first_ret: Vec::new(),
            ret_node: Vec::new(),
            ret_edge: Vec::new(),
            det_state: vec![0; n],
            renamed_detached: vec![false; n],
            self_size: Vec::new(),
            retained: Vec::new(),
            idom: Vec::new(),
            distance: Vec::new(),
            essential: Vec::new(),
            classes: ClassNames::default(),
            loc_index: vec![u32::MAX; n],
            unreachable: (0, 0),
            total_size: 0,
            raw,
        };
        g.propagate_dom_state();
        // Steps that only read the edges run side by side (they are independent; the
        // results are the same as in DevTools' sequential order).
        let ((first_ret, ret_node, ret_edge), (page_owned, (self_size, weakmap))) = rayon::join(
            || build_retainers(&g.raw),
            || {
                rayon::join(
                    || g.page_owned(),
                    || rayon::join(|| g.shallow_sizes(), || g.parse_weakmap_edges()),
                )
            },
        );
        g.first_ret = first_ret;
        g.ret_node = ret_node;
        g.ret_edge = ret_edge;
        g.self_size = self_size;
        g.essential = g.essential_edges(&page_owned, &weakmap);
        drop(page_owned);
        for (i, l) in g.raw.locations.iter().enumerate() {
            g.loc_index[l[0] as usize] = i as u32;
        }
        // Class names beside the dominators; distances after them (their BFS queue would
        // add to the dominators' peak memory for little time saved).
        let (dom, classes) = rayon::join(|| dominators::compute(&g), || names::compute(&g, defs));
        let distance = g.distances(&weakmap);
        g.essential = Vec::new(); // only the dominator computation needs it
        g.idom = dom.idom;
        g.retained = dom.retained;
        g.unreachable = dom.unreachable;
        g.distance = distance;
        g.classes = classes;
        g.total_size = g.retained[ROOT as usize] + g.raw.meta.extra_native_bytes;
        g
    }

    /// `propagateDOMState`: seeds from `detachedness`, spreads along non-hidden, non-weak edges
    /// through native nodes, and renames detached native nodes.
    fn propagate_dom_state(&mut self) {
        if self.raw.node_det.is_empty() {
            return;
        }
        let n = self.n_nodes();
        self.det_state.copy_from_slice(&self.raw.node_det);
        let mut visited = vec![false; n];
        let mut attached: Vec<u32> = Vec::new();
        let mut detached: Vec<u32> = Vec::new();
        let native = self.types.n_native;
        let process = |g: &mut HeapGraph,
                       visited: &mut Vec<bool>,
                       attached: &mut Vec<u32>,
                       detached: &mut Vec<u32>,
                       o: u32,
                       st: u8| {
            let oi = o as usize;
            if visited[oi] {
                return;
            }
            if g.raw.node_type[oi] != native {
                visited[oi] = true;
                return;
            }
            g.det_state[oi] = st;
            if st == 1 {
                attached.push(o);
            } else if st == 2 {
                g.renamed_detached[oi] = true;
                detached.push(o);
            }
            visited[oi] = true;
        };
        for o in 0..n as u32 {
            let st = self.det_state[o as usize];
            if st != 0 {
                process(self, &mut visited, &mut attached, &mut detached, o, st);
            }
        }
        let (eh, ew) = (self.types.e_hidden, self.types.e_weak);
        while let Some(o) = attached.pop() {
            for e in self.edges(o) {
                let t = self.raw.edge_type[e];
                if t == eh || t == ew {
                    continue;
                }
                let to = self.raw.edge_to[e];
                process(self, &mut visited, &mut attached, &mut detached, to, 1);
            }
        }
        while let Some(o) = detached.pop() {
            if self.det_state[o as usize] == 1 {
                continue;
            }
            for e in self.edges(o) {
                let t = self.raw.edge_type[e];
                if t == eh || t == ew {
                    continue;
                }
                let to = self.raw.edge_to[e];
                process(self, &mut visited, &mut attached, &mut detached, to, 2);
            }
        }
    }

    /// `flagsOfNode` pageObject: reachable over non-weak edges from the root's shortcut
    /// children and `(Document DOM trees)`.
    fn page_owned(&self) -> Vec<bool> {
        let n = self.n_nodes();
        let mut owned = vec![false; n];
        let mut stack = Vec::new();
        for e in self.edges(ROOT) {
            let t = self.raw.edge_to[e];
            let ty = self.raw.edge_type[e];
            if ty == self.types.e_element {
                if !(self.node_type(t) == self.types.n_synthetic
                    && self.raw_name(t) == "(Document DOM trees)")
                {
                    continue;
                }
            } else if ty != self.types.e_shortcut {
                continue;
            }
            stack.push(t);
            owned[t as usize] = true;
        }
        while let Some(o) = stack.pop() {
            for e in self.edges(o) {
                let t = self.raw.edge_to[e];
                if owned[t as usize] || self.raw.edge_type[e] == self.types.e_weak {
                    continue;
                }
                owned[t as usize] = true;
                stack.push(t);
            }
        }
        owned
    }

    /// `calculateShallowSizes`: hidden, array and external-string-data nodes give their size
    /// to the single owner that reaches them, if there is exactly one.
    fn shallow_sizes(&self) -> Vec<u64> {
        let n = self.n_nodes();
        let mut self_size: Vec<u64> = self.raw.node_self.iter().map(|&s| s as u64).collect();
        let has_user_roots = self
            .edges(ROOT)
            .any(|e| self.is_user_root(self.raw.edge_to[e]));
        if !has_user_roots {
            return self_size;
        }
        const UNV: u32 = u32::MAX;
        const MULTI: u32 = u32::MAX - 1;
        let t = self.types;
        let mut owner = vec![0u32; n];
        let mut work: Vec<u32> = Vec::with_capacity(n);
        for o in 0..n as u32 {
            let ty = self.node_type(o);
            if ty == t.n_hidden
                || ty == t.n_array
                || (ty == t.n_native && self.raw_name(o) == "system / ExternalStringData")
            {
                owner[o as usize] = UNV;
            } else {
                owner[o as usize] = o;
                work.push(o);
            }
        }
        while let Some(o) = work.pop() {
            let own = owner[o as usize];
            for e in self.edges(o) {
                if self.raw.edge_type[e] == t.e_weak {
                    continue;
                }
                let to = self.raw.edge_to[e];
                let cur = owner[to as usize];
                if cur == UNV {
                    owner[to as usize] = own;
                    work.push(to);
                } else if cur == to || cur == own || cur == MULTI {
                } else {
                    owner[to as usize] = MULTI;
                    work.push(to);
                }
            }
        }
        for (o, &w) in owner.iter().enumerate() {
            if w == UNV || w == MULTI || w as usize == o {
                continue;
            }
            if self.node_type(w) == t.n_synthetic || w == ROOT {
                continue;
            }
            let s = self_size[o];
            self_size[w as usize] += s;
            self_size[o] = 0;
        }
        self_size
    }

    /// Parses every internal edge name of the WeakMap ephemeron shape, once per string.
    fn parse_weakmap_edges(&self) -> HashMap<u32, WeakMapEdge> {
        let mut out = HashMap::new();
        let mut dups: HashMap<String, u32> = HashMap::new();
        let ei = self.types.e_internal;
        for e in 0..self.n_edges() {
            if self.raw.edge_type[e] != ei {
                continue;
            }
            let s = self.raw.edge_name[e];
            if out.contains_key(&s) {
                continue;
            }
            let name = self.raw.strings.get(s);
            if !name.contains(" / part of key (") {
                continue;
            }
            if let Some((table_id, dup)) = parse_weakmap_name(name) {
                let next = dups.len() as u32;
                let d = *dups.entry(dup.to_string()).or_insert(next);
                out.insert(s, WeakMapEdge { table_id, dup: d });
            }
        }
        out
    }

    /// `computeIsEssentialEdge`.
    fn essential_edges(
        &self,
        page_owned: &[bool],
        weakmap: &HashMap<u32, WeakMapEdge>,
    ) -> Vec<bool> {
        let t = self.types;
        let mut ess = vec![true; self.n_edges()];
        for o in 0..self.n_nodes() as u32 {
            for e in self.edges(o) {
                let ty = self.raw.edge_type[e];
                let to = self.raw.edge_to[e];
                let mut ok = true;
                if ty == t.e_internal
                    && let Some(w) = weakmap.get(&self.raw.edge_name[e])
                    && self.id(o) as u64 == w.table_id
                {
                    ok = false;
                }
                if ty == t.e_weak || o == to {
                    ok = false;
                }
                if ok
                    && o != ROOT
                    && (ty == t.e_shortcut || (page_owned[to as usize] && !page_owned[o as usize]))
                {
                    ok = false;
                }
                ess[e] = ok;
            }
        }
        ess
    }

    /// `JSHeapSnapshot.calculateDistances`: BFS from user roots, then from the root at the
    /// system base distance, with DevTools' edge filter.
    fn distances(&self, weakmap: &HashMap<u32, WeakMapEdge>) -> Vec<i32> {
        let n = self.n_nodes();
        let mut dist = vec![NO_DISTANCE; n];
        let mut pending: std::collections::HashSet<u32> = std::collections::HashSet::new();
        let mut queue: Vec<u32> = Vec::new();
        for e in self.edges(ROOT) {
            let to = self.raw.edge_to[e];
            if self.is_user_root(to) {
                dist[to as usize] = 1;
                queue.push(to);
            }
        }
        let had_user_roots = !queue.is_empty();
        self.bfs(&mut dist, queue, &mut pending, weakmap);
        dist[ROOT as usize] = if had_user_roots {
            BASE_SYSTEM_DISTANCE
        } else {
            0
        };
        self.bfs(&mut dist, vec![ROOT], &mut pending, weakmap);
        dist
    }

    fn bfs(
        &self,
        dist: &mut [i32],
        mut queue: Vec<u32>,
        pending: &mut std::collections::HashSet<u32>,
        weakmap: &HashMap<u32, WeakMapEdge>,
    ) {
        let t = self.types;
        let mut qi = 0;
        while qi < queue.len() {
            let o = queue[qi];
            qi += 1;
            let d = dist[o as usize] + 1;
            let oty = self.node_type(o);
            let special_hidden = oty == t.n_hidden && self.raw_name(o) == "system / NativeContext";
            let map_desc = oty == t.n_array && self.raw_name(o) == "(map descriptors)";
            for e in self.edges(o) {
                let ety = self.raw.edge_type[e];
                if ety == t.e_weak {
                    continue;
                }
                let to = self.raw.edge_to[e];
                if dist[to as usize] != NO_DISTANCE {
                    continue;
                }
                // The edge filter (`filter` in ref.js), in DevTools' order.
                if special_hidden && self.edge_name(e) == "sloppy_function_map" {
                    continue;
                }
                if map_desc {
                    let keep = match js_parse_int(&self.edge_name(e)) {
                        Some(idx) => idx < 2 || idx % 3 != 1,
                        None => true,
                    };
                    if !keep {
                        continue;
                    }
                }
                if ety == t.e_internal
                    && let Some(w) = weakmap.get(&self.raw.edge_name[e])
                    && !pending.remove(&w.dup)
                {
                    pending.insert(w.dup);
                    continue;
                }
                dist[to as usize] = d;
                queue.push(to);
            }
        }
    }
}

/// `buildRetainers`: incoming edges per node, slots filled back to front like DevTools.
fn build_retainers(raw: &RawSnapshot) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    let n = raw.node_type.len();
    let m = raw.edge_type.len();
    let mut first = vec![0u32; n + 1];
    for &t in &raw.edge_to {
        first[t as usize + 1] += 1;
    }
    for i in 0..n {
        first[i + 1] += first[i];
    }
    // `fill[t]` counts down from the end of t's slots.
    let mut fill: Vec<u32> = first[1..].to_vec();
    let mut ret_node = vec![0u32; m];
    let mut ret_edge = vec![0u32; m];
    for o in 0..n {
        for e in raw.first_edge[o] as usize..raw.first_edge[o + 1] as usize {
            let t = raw.edge_to[e] as usize;
            fill[t] -= 1;
            let slot = fill[t] as usize;
            ret_node[slot] = o as u32;
            ret_edge[slot] = e as u32;
        }
    }
    (first, ret_node, ret_edge)
}

/// Matches `^\d+( / part of key \(.*? @\d+\) -> value \(.*? @\d+\) pair in WeakMap \(table @(\d+)\))$`
/// and returns the table id and the duplicated part.
fn parse_weakmap_name(s: &str) -> Option<(u64, &str)> {
    let digits = s.bytes().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let dup = &s[digits..];
    let rest = dup.strip_prefix(" / part of key (")?;
    // `.*? @\d+\)` lazily: the first " @<digits>)" that lets the rest match.
    let after_key = lazy_at_id(rest, |r| {
        let r = r.strip_prefix(" -> value (")?;
        lazy_at_id(r, |r2| {
            let r2 = r2.strip_prefix(" pair in WeakMap (table @")?;
            let d = r2.bytes().take_while(|b| b.is_ascii_digit()).count();
            if d == 0 || &r2[d..] != ")" {
                return None;
            }
            r2[..d].parse::<u64>().ok()
        })
    })?;
    Some((after_key, dup))
}

/// Tries each position of ` @<digits>)` in `s` in order, continuing with `k` on the rest.
fn lazy_at_id<T>(s: &str, k: impl Fn(&str) -> Option<T>) -> Option<T> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(p) = s[i..].find(" @") {
        let at = i + p + 2;
        let d = bytes[at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if d > 0
            && bytes.get(at + d) == Some(&b')')
            && let Some(v) = k(&s[at + d + 1..])
        {
            return Some(v);
        }
        i = i + p + 1;
    }
    None
}

/// JavaScript's `parseInt(s, 10)` for non-negative results: leading whitespace, an optional
/// sign, then the longest run of digits. `None` is NaN.
pub fn js_parse_int(s: &str) -> Option<i64> {
    let t = s.trim_start();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let d = t.bytes().take_while(|b| b.is_ascii_digit()).count();
    if d == 0 {
        return None;
    }
    let v: i64 = t[..d.min(18)].parse().ok()?;
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weakmap_edge_names_parse_like_devtools_regex() {
        let s = "12 / part of key (Object @123) -> value (Foo @456) pair in WeakMap (table @789)";
        let (t, dup) = parse_weakmap_name(s).unwrap();
        assert_eq!(t, 789);
        assert!(dup.starts_with(" / part of key"));
        assert!(parse_weakmap_name("x / part of key").is_none());
        let tricky = "3 / part of key (a @1) b @2) -> value (c @3) pair in WeakMap (table @4)";
        assert_eq!(parse_weakmap_name(tricky).map(|x| x.0), Some(4));
    }

    #[test]
    fn parse_int_matches_js() {
        assert_eq!(js_parse_int("12abc"), Some(12));
        assert_eq!(js_parse_int("abc"), None);
        assert_eq!(js_parse_int(" 7"), Some(7));
    }
}
