//! `HeapGraph`: a parsed snapshot plus everything DevTools derives from it, with the results
//! of DevTools' `HeapSnapshot.initialize` (chrome-devtools-frontend 1.0.1705227): DOM state,
//! page-owned flags, adjusted shallow sizes, essential edges, dominators and retained sizes,
//! distances, class names; and the retainer lists when asked for.
//!
//! `reference/heapsnapshot-ref.js` is the executable spec this follows; the comments name
//! the DevTools function each step mirrors. Steps that do not depend on each other run side by
//! side (`rayon::join`); each is a function of the columns it reads, so the order DevTools
//! runs them in cannot leak into the results.

use super::dominators;
use super::mem::{column, column_with};
use super::names::{self, ClassNames, InterfaceDef};
use super::parse::RawSnapshot;
use rayon::prelude::*;

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
    pub fn resolve(raw: &RawSnapshot) -> Types {
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

/// How to build a [`HeapGraph`].
#[derive(Clone, Copy, Default)]
pub struct BuildOptions<'a> {
    /// Build the retainer lists (`first_ret`, `ret_node`, `ret_edge`). Retainer paths and the
    /// leak finder need them; the Summary and Comparison views do not, and at two `u32` per
    /// edge they are the largest structure after the edges themselves.
    pub retainers: bool,
    /// Name plain objects with these interface definitions instead of inferring them.
    pub interfaces: Option<&'a [InterfaceDef]>,
    /// Called with the name of each step when it is done (for benchmarks).
    pub on_step: Option<&'a (dyn Fn(&'static str) + Sync)>,
}

impl BuildOptions<'_> {
    fn step(&self, what: &'static str) {
        if let Some(f) = self.on_step {
            f(what);
        }
    }
}

/// The analysed heap: raw columns plus DevTools' derived numbers.
pub struct HeapGraph {
    /// The parsed columns. `raw.node_self` and `raw.node_det` are moved into `self_size` and
    /// `det_state`; `raw.locations` is sorted by node.
    pub raw: RawSnapshot,
    pub types: Types,
    /// Incoming edges: `first_ret[o]..first_ret[o+1]` index `ret_node` and `ret_edge`, in
    /// DevTools' order. Empty unless built with [`BuildOptions::retainers`].
    pub first_ret: Vec<u32>,
    pub ret_node: Vec<u32>,
    pub ret_edge: Vec<u32>,
    /// 0 unknown, 1 attached, 2 detached (after propagation).
    pub det_state: Vec<u8>,
    /// Shallow sizes after DevTools' reassignment (`calculateShallowSizes`).
    pub self_size: Vec<u64>,
    pub retained: Vec<u64>,
    /// Immediate dominator ordinal (root's is itself).
    pub idom: Vec<u32>,
    pub distance: Vec<i32>,
    pub classes: ClassNames,
    /// Nodes that could only be attached to the root: (reachable only through weak edges, other).
    pub unreachable: (u64, u64),
    pub total_size: u64,
    /// Which nodes have a location, for [`HeapGraph::location`] in constant time.
    loc_index: LocIndex,
}

/// Rank index over `raw.locations` (sorted, one per node): bit `o` says node `o` has a
/// location, and the set bits before it give its index. The leak finder asks for millions
/// of locations; a binary search per call was most of its owner search on 1 GB snapshots.
#[derive(Default)]
struct LocIndex {
    words: Vec<u64>,
    /// Set bits in the words before each word.
    before: Vec<u32>,
}

impl LocIndex {
    fn new(locs: &[[u32; 4]], n: usize) -> LocIndex {
        let mut words = vec![0u64; n.div_ceil(64)];
        for l in locs {
            if let Some(w) = words.get_mut(l[0] as usize / 64) {
                *w |= 1 << (l[0] % 64);
            }
        }
        let mut before = Vec::with_capacity(words.len());
        let mut sum = 0u32;
        for w in &words {
            before.push(sum);
            sum += w.count_ones();
        }
        LocIndex { words, before }
    }

    /// Index into the locations of node `o`'s location, if it has one.
    fn get(&self, o: u32) -> Option<usize> {
        let (k, bit) = (o as usize / 64, o % 64);
        let w = *self.words.get(k)?;
        if w & (1 << bit) == 0 {
            return None;
        }
        let below = (w & ((1u64 << bit) - 1)).count_ones();
        Some((self.before[k] + below) as usize)
    }
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
    /// Whether the retainer lists were built ([`BuildOptions::retainers`]).
    pub fn has_retainers(&self) -> bool {
        !self.first_ret.is_empty()
    }
    /// Indexes into `ret_node` and `ret_edge`; empty when the retainer lists were not built.
    pub fn retainers(&self, o: u32) -> std::ops::Range<usize> {
        match (
            self.first_ret.get(o as usize),
            self.first_ret.get(o as usize + 1),
        ) {
            (Some(&a), Some(&b)) => a as usize..b as usize,
            _ => 0..0,
        }
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
    /// Native nodes that DOM state propagation renamed `Detached <name>`.
    pub fn renamed_detached(&self, o: u32) -> bool {
        renamed_detached(&self.raw, &self.types, &self.det_state, o)
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
        let l = self.raw.locations.get(self.loc_index.get(o)?)?;
        debug_assert_eq!(l[0], o);
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
        is_user_root(&self.raw, &self.types, o)
    }

    /// Runs DevTools' whole initialization on a parsed snapshot, with the retainer lists.
    pub fn build(raw: RawSnapshot) -> HeapGraph {
        Self::build_opts(
            raw,
            &BuildOptions {
                retainers: true,
                ..Default::default()
            },
        )
    }

    /// Like [`HeapGraph::build`], naming plain objects with the given interface definitions
    /// instead of inferring them (the Comparison view names the base snapshot this way).
    pub fn build_with(raw: RawSnapshot, defs: Option<&[InterfaceDef]>) -> HeapGraph {
        Self::build_opts(
            raw,
            &BuildOptions {
                retainers: true,
                interfaces: defs,
                ..Default::default()
            },
        )
    }

    /// Runs DevTools' initialization as `opts` says.
    pub fn build_opts(mut raw: RawSnapshot, opts: &BuildOptions<'_>) -> HeapGraph {
        let types = Types::resolve(&raw);
        let det = std::mem::take(&mut raw.node_det);
        let det_state = dom_state(&raw, &types, det);
        let node_self = std::mem::take(&mut raw.node_self);
        opts.step("dom state");
        // Independent steps side by side.
        let (weak, (page_owned, self_size)) = rayon::join(
            || WeakMapNames::find(&raw),
            || {
                rayon::join(
                    || page_owned(&raw, &types),
                    || shallow_sizes(&raw, &types, node_self),
                )
            },
        );
        opts.step("weakmap names, page-owned flags, shallow sizes");
        let essential = essential_edges(&raw, &types, &page_owned, &weak);
        drop(page_owned);
        sort_locations(&mut raw.locations);
        let loc_index = LocIndex::new(&raw.locations, raw.node_count());
        opts.step("essential edges");
        // The dominators beside distances and class names.
        let (dom, (distance, classes)) = rayon::join(
            || dominators::compute(&raw, &essential, &self_size),
            || {
                let d = distances(&raw, &types, &weak);
                opts.step("distances");
                let c = names::compute_raw(&raw, &types, &det_state, opts.interfaces);
                opts.step("class names");
                (d, c)
            },
        );
        opts.step("dominators");
        drop(essential);
        let (first_ret, ret_node, ret_edge) = if opts.retainers {
            let r = build_retainers(&raw);
            opts.step("retainers");
            r
        } else {
            (Vec::new(), Vec::new(), Vec::new())
        };
        let total_size = dom.retained[ROOT as usize].saturating_add(raw.meta.extra_native_bytes);
        HeapGraph {
            raw,
            types,
            first_ret,
            ret_node,
            ret_edge,
            det_state,
            self_size,
            retained: dom.retained,
            idom: dom.idom,
            distance,
            classes,
            unreachable: dom.unreachable,
            total_size,
            loc_index,
        }
    }
}

/// Whether the root's child `o` is a user root (`isUserRoot`).
fn is_user_root(raw: &RawSnapshot, t: &Types, o: u32) -> bool {
    raw.node_type[o as usize] != t.n_synthetic
        || raw.strings.get(raw.node_name[o as usize]) == "(Document DOM trees)"
}

/// Native nodes that DOM state propagation renamed `Detached <name>`: exactly the native
/// nodes it left detached.
pub fn renamed_detached(raw: &RawSnapshot, t: &Types, det_state: &[u8], o: u32) -> bool {
    det_state.get(o as usize) == Some(&2) && raw.node_type[o as usize] == t.n_native
}

/// `propagateDOMState`: seeds from `detachedness`, spreads along non-hidden, non-weak edges
/// through native nodes. Returns the state per node (all 0 when the field is absent).
fn dom_state(raw: &RawSnapshot, t: &Types, det: Vec<u8>) -> Vec<u8> {
    let n = raw.node_count();
    if det.len() != n {
        return vec![0; n];
    }
    let mut state = det;
    let mut visited = column(n, false);
    let mut attached: Vec<u32> = Vec::new();
    let mut detached: Vec<u32> = Vec::new();
    let native = t.n_native;
    let process = |state: &mut [u8],
                   visited: &mut [bool],
                   attached: &mut Vec<u32>,
                   detached: &mut Vec<u32>,
                   o: u32,
                   st: u8| {
        let oi = o as usize;
        if visited[oi] {
            return;
        }
        visited[oi] = true;
        if raw.node_type[oi] != native {
            return;
        }
        state[oi] = st;
        if st == 1 {
            attached.push(o);
        } else if st == 2 {
            detached.push(o);
        }
    };
    for o in 0..n as u32 {
        let st = state[o as usize];
        if st != 0 {
            process(
                &mut state,
                &mut visited,
                &mut attached,
                &mut detached,
                o,
                st,
            );
        }
    }
    let (eh, ew) = (t.e_hidden, t.e_weak);
    let edges =
        |o: u32| raw.first_edge[o as usize] as usize..raw.first_edge[o as usize + 1] as usize;
    while let Some(o) = attached.pop() {
        for e in edges(o) {
            let ty = raw.edge_type[e];
            if ty == eh || ty == ew {
                continue;
            }
            let to = raw.edge_to[e];
            process(
                &mut state,
                &mut visited,
                &mut attached,
                &mut detached,
                to,
                1,
            );
        }
    }
    while let Some(o) = detached.pop() {
        if state[o as usize] == 1 {
            continue;
        }
        for e in edges(o) {
            let ty = raw.edge_type[e];
            if ty == eh || ty == ew {
                continue;
            }
            let to = raw.edge_to[e];
            process(
                &mut state,
                &mut visited,
                &mut attached,
                &mut detached,
                to,
                2,
            );
        }
    }
    state
}

/// `flagsOfNode` pageObject: reachable over non-weak edges from the root's shortcut
/// children and `(Document DOM trees)`.
fn page_owned(raw: &RawSnapshot, t: &Types) -> Vec<bool> {
    let n = raw.node_count();
    let mut owned = column(n, false);
    let mut stack = Vec::new();
    let fe = &raw.first_edge;
    for e in fe[0] as usize..fe[1] as usize {
        let to = raw.edge_to[e];
        let ty = raw.edge_type[e];
        if ty == t.e_element {
            if !(raw.node_type[to as usize] == t.n_synthetic
                && raw.strings.get(raw.node_name[to as usize]) == "(Document DOM trees)")
            {
                continue;
            }
        } else if ty != t.e_shortcut {
            continue;
        }
        stack.push(to);
        owned[to as usize] = true;
    }
    while let Some(o) = stack.pop() {
        for e in fe[o as usize] as usize..fe[o as usize + 1] as usize {
            let to = raw.edge_to[e];
            if owned[to as usize] || raw.edge_type[e] == t.e_weak {
                continue;
            }
            owned[to as usize] = true;
            stack.push(to);
        }
    }
    owned
}

/// `calculateShallowSizes`: hidden, array and external-string-data nodes give their size
/// to the single owner that reaches them, if there is exactly one. Works in place on the
/// sizes read from the file.
fn shallow_sizes(raw: &RawSnapshot, t: &Types, mut self_size: Vec<u64>) -> Vec<u64> {
    let n = raw.node_count();
    let fe = &raw.first_edge;
    let has_user_roots =
        (fe[0] as usize..fe[1] as usize).any(|e| is_user_root(raw, t, raw.edge_to[e]));
    if !has_user_roots {
        return self_size;
    }
    const UNV: u32 = u32::MAX;
    const MULTI: u32 = u32::MAX - 1;
    let mut owner = column(n, 0u32);
    let mut work: Vec<u32> = Vec::new();
    for o in 0..n as u32 {
        let ty = raw.node_type[o as usize];
        if ty == t.n_hidden
            || ty == t.n_array
            || (ty == t.n_native
                && raw.strings.get(raw.node_name[o as usize]) == "system / ExternalStringData")
        {
            owner[o as usize] = UNV;
        } else {
            owner[o as usize] = o;
            work.push(o);
        }
    }
    while let Some(o) = work.pop() {
        let own = owner[o as usize];
        for e in fe[o as usize] as usize..fe[o as usize + 1] as usize {
            if raw.edge_type[e] == t.e_weak {
                continue;
            }
            let to = raw.edge_to[e];
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
    drop(work);
    for (o, &w) in owner.iter().enumerate() {
        if w == UNV || w == MULTI || w as usize == o {
            continue;
        }
        if raw.node_type[w as usize] == t.n_synthetic || w == ROOT {
            continue;
        }
        let s = self_size[o];
        self_size[w as usize] += s;
        self_size[o] = 0;
    }
    self_size
}

/// A WeakMap ephemeron edge name: the table's id and the interned "duplicated part".
#[derive(Debug, Clone, Copy)]
struct WeakMapEdge {
    table_id: u64,
    dup: u32,
}

/// The strings that are WeakMap ephemeron edge names, each parsed once (DevTools' regex is
/// run per edge; here per distinct string, and only on strings that start like one).
struct WeakMapNames {
    /// Bit per string: a WeakMap edge name.
    is: Vec<u64>,
    /// `(string, edge)`, sorted by string.
    by_string: Vec<(u32, WeakMapEdge)>,
    n_dups: usize,
}

impl WeakMapNames {
    fn find(raw: &RawSnapshot) -> WeakMapNames {
        let ns = raw.strings.len();
        let found: Vec<(u32, u64, &str)> = (0..ns as u32)
            .into_par_iter()
            .with_min_len(1 << 14)
            .filter_map(|s| {
                let name = raw.strings.get(s);
                // Cheap test first: digits, then " / part of key (".
                let digits = name.bytes().take_while(|b| b.is_ascii_digit()).count();
                if digits == 0 || !name[digits..].starts_with(" / part of key (") {
                    return None;
                }
                parse_weakmap_name(name).map(|(table, dup)| (s, table, dup))
            })
            .collect();
        let mut is = vec![0u64; ns.div_ceil(64)];
        let mut dups: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
        let mut by_string = Vec::with_capacity(found.len());
        for (s, table_id, dup) in found {
            let next = dups.len() as u32;
            let d = *dups.entry(dup).or_insert(next);
            is[s as usize / 64] |= 1 << (s % 64);
            by_string.push((s, WeakMapEdge { table_id, dup: d }));
        }
        WeakMapNames {
            is,
            by_string,
            n_dups: dups.len(),
        }
    }

    #[inline]
    fn get(&self, s: u32) -> Option<WeakMapEdge> {
        if self.is.get(s as usize / 64)? & (1 << (s % 64)) == 0 {
            return None;
        }
        let i = self.by_string.binary_search_by_key(&s, |x| x.0).ok()?;
        Some(self.by_string[i].1)
    }
}

/// `computeIsEssentialEdge`, as a bitset over edges, filled in parallel by ranges of edges.
fn essential_edges(
    raw: &RawSnapshot,
    t: &Types,
    page_owned: &[bool],
    weak: &WeakMapNames,
) -> Vec<u64> {
    let m = raw.edge_count();
    let mut ess = column(m.div_ceil(64), 0u64);
    const WORDS: usize = 4096;
    let fe = &raw.first_edge;
    ess.par_chunks_mut(WORDS)
        .enumerate()
        .for_each(|(k, words)| {
            let e0 = k * WORDS * 64;
            let e1 = (e0 + words.len() * 64).min(m);
            // The node owning edge e0: the last with first_edge <= e0.
            let mut o = fe.partition_point(|&x| x as usize <= e0).saturating_sub(1);
            for e in e0..e1 {
                while fe[o + 1] as usize <= e {
                    o += 1;
                }
                let ty = raw.edge_type[e];
                let to = raw.edge_to[e] as usize;
                let mut ok = ty != t.e_weak && o != to;
                if ok
                    && ty == t.e_internal
                    && let Some(w) = weak.get(raw.edge_name[e])
                    && raw.node_id[o] as u64 == w.table_id
                {
                    ok = false;
                }
                if ok
                    && o != ROOT as usize
                    && (ty == t.e_shortcut || (page_owned[to] && !page_owned[o]))
                {
                    ok = false;
                }
                if ok {
                    words[(e - e0) / 64] |= 1 << (e % 64);
                }
            }
        });
    ess
}

/// Sorts locations by node, the last of several for one node winning (as DevTools' map
/// keeps the last it was given). V8 writes them in node order already.
fn sort_locations(locs: &mut Vec<[u32; 4]>) {
    if locs.windows(2).all(|w| w[0][0] < w[1][0]) {
        return;
    }
    locs.sort_by_key(|l| l[0]); // stable: equal nodes stay in file order
    let mut out: Vec<[u32; 4]> = Vec::with_capacity(locs.len());
    for l in locs.drain(..) {
        match out.last_mut() {
            Some(last) if last[0] == l[0] => *last = l,
            _ => out.push(l),
        }
    }
    *locs = out;
}

/// `JSHeapSnapshot.calculateDistances`: BFS from user roots, then from the root at the
/// system base distance, with DevTools' edge filter.
fn distances(raw: &RawSnapshot, t: &Types, weak: &WeakMapNames) -> Vec<i32> {
    let n = raw.node_count();
    let mut dist = column(n, NO_DISTANCE);
    // The WeakMap pairs whose first edge was seen (DevTools' set shared by both passes).
    let mut pending = vec![false; weak.n_dups];
    let mut queue: std::collections::VecDeque<u32> = std::collections::VecDeque::new();
    let fe = &raw.first_edge;
    for e in fe[0] as usize..fe[1] as usize {
        let to = raw.edge_to[e];
        if is_user_root(raw, t, to) {
            dist[to as usize] = 1;
            queue.push_back(to);
        }
    }
    let had_user_roots = !queue.is_empty();
    bfs(raw, t, weak, &mut dist, &mut queue, &mut pending);
    dist[ROOT as usize] = if had_user_roots {
        BASE_SYSTEM_DISTANCE
    } else {
        0
    };
    queue.push_back(ROOT);
    bfs(raw, t, weak, &mut dist, &mut queue, &mut pending);
    dist
}

fn bfs(
    raw: &RawSnapshot,
    t: &Types,
    weak: &WeakMapNames,
    dist: &mut [i32],
    queue: &mut std::collections::VecDeque<u32>,
    pending: &mut [bool],
) {
    let fe = &raw.first_edge;
    while let Some(o) = queue.pop_front() {
        let oi = o as usize;
        let d = dist[oi] + 1;
        let oty = raw.node_type[oi];
        let special_hidden =
            oty == t.n_hidden && raw.strings.get(raw.node_name[oi]) == "system / NativeContext";
        let map_desc =
            oty == t.n_array && raw.strings.get(raw.node_name[oi]) == "(map descriptors)";
        for e in fe[oi] as usize..fe[oi + 1] as usize {
            let ety = raw.edge_type[e];
            if ety == t.e_weak {
                continue;
            }
            let to = raw.edge_to[e];
            if dist[to as usize] != NO_DISTANCE {
                continue;
            }
            let indexed = ety == t.e_element || ety == t.e_hidden;
            // The edge filter (`filter` in ref.js), in DevTools' order.
            if special_hidden
                && !indexed
                && raw.strings.get(raw.edge_name[e]) == "sloppy_function_map"
            {
                continue;
            }
            if map_desc {
                let idx = if indexed {
                    Some(raw.edge_name[e] as i64)
                } else {
                    js_parse_int(raw.strings.get(raw.edge_name[e]))
                };
                if let Some(idx) = idx
                    && !(idx < 2 || idx % 3 != 1)
                {
                    continue;
                }
            }
            if ety == t.e_internal
                && let Some(w) = weak.get(raw.edge_name[e])
            {
                let p = &mut pending[w.dup as usize];
                if !*p {
                    *p = true;
                    continue;
                }
                *p = false;
            }
            dist[to as usize] = d;
            queue.push_back(to);
        }
    }
}

/// `buildRetainers`: incoming edges per node, slots filled back to front like DevTools.
///
/// Two threads, one per half of the edges (split at a node): for every target, the first
/// half's edges take the top slots and the second half's the ones below them, each half
/// counting down, which is the order DevTools' single pass leaves.
fn build_retainers(raw: &RawSnapshot) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
    let n = raw.node_count();
    let m = raw.edge_count();
    let fe = &raw.first_edge;
    // The first node whose edges start in the second half.
    let mid = fe.partition_point(|&e| (e as usize) < m / 2).min(n);
    let count = |nodes: std::ops::Range<usize>| {
        let mut c = column(n, 0u32);
        for &t in &raw.edge_to[fe[nodes.start] as usize..fe[nodes.end] as usize] {
            c[t as usize] += 1;
        }
        c
    };
    let (mut low, mut high) = rayon::join(|| count(0..mid), || count(mid..n));
    let mut first = column(n + 1, 0u32);
    for t in 0..n {
        first[t + 1] = first[t] + low[t] + high[t];
        // Where each half starts counting down: the end of t's slots for the first half,
        // below the first half's slots for the second.
        high[t] = first[t + 1] - low[t];
        low[t] = first[t + 1];
    }
    let ret_node: Vec<AtomicU32> = column_with(m, || AtomicU32::new(0));
    let ret_edge: Vec<AtomicU32> = column_with(m, || AtomicU32::new(0));
    let fill = |nodes: std::ops::Range<usize>, next: &mut [u32]| {
        for o in nodes {
            for e in fe[o] as usize..fe[o + 1] as usize {
                let t = raw.edge_to[e] as usize;
                next[t] -= 1;
                let slot = next[t] as usize;
                // Each slot is written once, by one of the two threads.
                ret_node[slot].store(o as u32, Relaxed);
                ret_edge[slot].store(e as u32, Relaxed);
            }
        }
    };
    rayon::join(|| fill(0..mid, &mut low), || fill(mid..n, &mut high));
    drop((low, high));
    let plain =
        |v: Vec<AtomicU32>| -> Vec<u32> { v.into_iter().map(AtomicU32::into_inner).collect() };
    (first, plain(ret_node), plain(ret_edge))
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

    /// The rank index gives every node the location a binary search over the sorted list
    /// gives, and none to nodes without one.
    #[test]
    fn location_index_matches_a_search() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/heap/node20-mixed.heapsnapshot.gz"
        );
        let g = crate::heap::load(path, &|_| {}).unwrap();
        let locs = &g.raw.locations;
        assert!(locs.len() > 100);
        let mut found = 0;
        for o in 0..g.n_nodes() as u32 {
            let i = locs.partition_point(|l| l[0] <= o);
            let want = match i.checked_sub(1).map(|i| locs[i]) {
                Some(l) if l[0] == o => Some([l[1], l[2], l[3]]),
                _ => None,
            };
            found += usize::from(want.is_some());
            assert_eq!(g.location(o), want, "node {o}");
        }
        assert_eq!(found, locs.len());
        assert_eq!(g.location(g.n_nodes() as u32 + 70), None);
    }

    /// The two-thread fill leaves DevTools' order: per target, retainers by descending edge.
    #[test]
    fn retainers_in_devtools_order() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/heap/node20-mixed.heapsnapshot.gz"
        );
        let raw = crate::heap::read(path, &|_| {}).unwrap();
        let (first, ret_node, ret_edge) = build_retainers(&raw);
        // DevTools' single pass.
        let n = raw.node_count();
        let mut want_first = vec![0u32; n + 1];
        for &t in &raw.edge_to {
            want_first[t as usize + 1] += 1;
        }
        for i in 0..n {
            want_first[i + 1] += want_first[i];
        }
        let mut fill: Vec<u32> = want_first[1..].to_vec();
        let mut want_node = vec![0u32; raw.edge_count()];
        let mut want_edge = vec![0u32; raw.edge_count()];
        for o in 0..n {
            for e in raw.first_edge[o] as usize..raw.first_edge[o + 1] as usize {
                let t = raw.edge_to[e] as usize;
                fill[t] -= 1;
                want_node[fill[t] as usize] = o as u32;
                want_edge[fill[t] as usize] = e as u32;
            }
        }
        assert_eq!(first, want_first);
        assert_eq!(ret_node, want_node);
        assert_eq!(ret_edge, want_edge);
    }

    #[test]
    fn parse_int_matches_js() {
        assert_eq!(js_parse_int("12abc"), Some(12));
        assert_eq!(js_parse_int("abc"), None);
        assert_eq!(js_parse_int(" 7"), Some(7));
    }
}
