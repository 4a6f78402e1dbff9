//! DevTools class names (`calculateObjectNames`) and the inferred interface names of plain
//! objects (`{user, tags}`), including DevTools' matching of each object to the definition
//! with the most properties that its property set contains.

use super::fxhash::FxHashMap;
use super::graph::{self, HeapGraph, Types};
use super::parse::RawSnapshot;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// An inferred interface: its display name and its properties in edge order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceDef {
    pub name: String,
    pub properties: Vec<String>,
}

/// The class of every node, as an index into an interned table of names.
#[derive(Debug, Default, Clone)]
pub struct ClassNames {
    pub class_of: Vec<u32>,
    names: Vec<String>,
    /// The interface definitions inferred for this snapshot (for naming another snapshot).
    pub interfaces: Vec<InterfaceDef>,
}

impl ClassNames {
    pub fn name(&self, c: u32) -> &str {
        self.names.get(c as usize).map_or("", |s| s.as_str())
    }
    pub fn n_classes(&self) -> usize {
        self.names.len()
    }
}

struct Interner {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl Interner {
    fn add(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(s.to_string());
        self.index.insert(s.to_string(), i);
        i
    }
}

/// Property names containing any of `,'"{}` are JSON-quoted in interface names.
fn fmt_prop(s: &str) -> String {
    if s.contains([',', '\'', '"', '{', '}']) {
        serde_json::to_string(s).unwrap_or_else(|_| s.to_string())
    } else {
        s.to_string()
    }
}

/// Number of UTF-16 code units, which is what JavaScript's `length` counts.
fn js_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Compares like JavaScript strings (UTF-16 code units).
fn js_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// The class names of a built graph, with `defs` as the interface definitions when given.
pub fn compute(g: &HeapGraph, defs: Option<&[InterfaceDef]>) -> ClassNames {
    compute_raw(&g.raw, &g.types, &g.det_state, defs)
}

/// The class names from the columns they depend on (`det_state` after DOM propagation).
///
/// Names are computed once per distinct input, not per node: per name string for objects
/// and native nodes, per property list for the inferred interfaces, per property set for
/// the matching (strings are interned, so their indexes stand for their text).
pub fn compute_raw(
    raw: &RawSnapshot,
    types: &Types,
    det_state: &[u8],
    defs: Option<&[InterfaceDef]>,
) -> ClassNames {
    let g = View { raw };
    let n = raw.node_count();
    let t = *types;
    let mut it = Interner {
        names: Vec::new(),
        index: HashMap::new(),
    };
    let c_sys = it.add("(system)");
    let c_code = it.add("(compiled code)");
    let c_fn = it.add("Function");
    let c_re = it.add("RegExp");
    const UNSET: u32 = u32::MAX;
    // Per name string: the class of object and native nodes so named (detached ones apart).
    let mut by_string: Vec<u32> = vec![UNSET; raw.strings.len()];
    let mut by_string_detached: FxHashMap<u32, u32> = FxHashMap::default();
    let mut by_type: [u32; 256] = [UNSET; 256];
    let mut class_of = super::mem::column(n, 0u32);
    let class_for_name = |it: &mut Interner, raw_name: &str, detached: bool| -> u32 {
        let mut name = if detached {
            format!("Detached {raw_name}")
        } else {
            raw_name.to_string()
        };
        if name.starts_with('<') {
            if let Some(sp) = name.find(' ') {
                name = format!("{}>", &name[..sp]);
            }
        } else if name.starts_with("Detached <")
            && let Some(sp) = name[10..].find(' ')
        {
            name = format!("{}>", &name[..10 + sp]);
        }
        it.add(&name)
    };
    for o in 0..n as u32 {
        let ty = g.node_type(o);
        class_of[o as usize] = if ty == t.n_hidden {
            c_sys
        } else if ty == t.n_object || ty == t.n_native {
            let s = raw.node_name[o as usize];
            if graph::renamed_detached(raw, types, det_state, o) {
                match by_string_detached.get(&s) {
                    Some(&c) => c,
                    None => {
                        let c = class_for_name(&mut it, g.raw_name(o), true);
                        by_string_detached.insert(s, c);
                        c
                    }
                }
            } else {
                match by_string.get(s as usize) {
                    Some(&c) if c != UNSET => c,
                    _ => {
                        let c = class_for_name(&mut it, g.raw_name(o), false);
                        if let Some(slot) = by_string.get_mut(s as usize) {
                            *slot = c;
                        }
                        c
                    }
                }
            }
        } else if ty == t.n_code {
            c_code
        } else if ty == t.n_closure {
            c_fn
        } else if ty == t.n_regexp {
            c_re
        } else {
            let slot = &mut by_type[ty as usize];
            if *slot == UNSET {
                let tn = raw
                    .meta
                    .node_types
                    .get(ty as usize)
                    .map_or("", |s| s.as_str());
                *slot = it.add(&format!("({tn})"));
            }
            *slot
        };
    }
    drop(by_string);

    // Inferred interfaces for plain objects (type object, raw name `Object`).
    let object_names: Vec<u32> = (0..raw.strings.len() as u32)
        .filter(|&s| raw.strings.get(s) == "Object")
        .collect();
    let is_plain =
        |o: u32| g.node_type(o) == t.n_object && object_names.contains(&raw.node_name[o as usize]);
    let mut cand: Vec<(String, Vec<String>, u64)> = Vec::new();
    let mut cand_index: HashMap<String, usize> = HashMap::new();
    // Property-name lists already seen, to their candidate (usize::MAX: none).
    let mut by_props: FxHashMap<Box<[u32]>, usize> = FxHashMap::default();
    let mut plain_count = 0u64;
    let mut ids: Vec<u32> = Vec::new();
    let mut props: Vec<&str> = Vec::new();
    let proto: Vec<u32> = (0..raw.strings.len() as u32)
        .filter(|&s| raw.strings.get(s) == "__proto__")
        .collect();
    for o in 0..n as u32 {
        if !is_plain(o) {
            continue;
        }
        plain_count += 1;
        if defs.is_some() {
            continue;
        }
        ids.clear();
        for e in g.edges(o) {
            if raw.edge_type[e] == t.e_property && !proto.contains(&raw.edge_name[e]) {
                ids.push(raw.edge_name[e]);
            }
        }
        let ci = match by_props.get(&ids[..]) {
            Some(&ci) => ci,
            None => {
                let ci = candidate_for(raw, &ids, &mut props, &mut cand, &mut cand_index);
                by_props.insert(ids.clone().into_boxed_slice(), ci);
                ci
            }
        };
        if let Some(c) = cand.get_mut(ci) {
            c.2 += 1;
        }
    }
    drop(by_props);
    let inferred: Vec<InterfaceDef> = {
        // Stable sort by count, descending; keep those with count >= max(2, plain/1000).
        let mut sorted: Vec<&(String, Vec<String>, u64)> = cand.iter().collect();
        sorted.sort_by_key(|c| std::cmp::Reverse(c.2));
        let min = f64::max(2.0, plain_count as f64 / 1000.0);
        sorted
            .into_iter()
            .take_while(|c| c.2 as f64 >= min)
            .map(|c| InterfaceDef {
                name: c.0.clone(),
                properties: c.1.clone(),
            })
            .collect()
    };
    let use_defs: &[InterfaceDef] = defs.unwrap_or(&inferred);

    // The trie of sorted property lists.
    let mut trie = vec![TrieNode::default()];
    for (idx, d) in use_defs.iter().enumerate() {
        let mut ps: Vec<&str> = d.properties.iter().map(|s| s.as_str()).collect();
        ps.sort_by(|a, b| js_cmp(a, b));
        let mut cur = 0usize;
        for p in &ps {
            let nx = match trie[cur].next.get(*p) {
                Some(&nx) => nx,
                None => {
                    let nx = trie.len();
                    trie.push(TrieNode::default());
                    trie[cur].next.insert(p.to_string(), nx);
                    let greater = match &trie[cur].greatest {
                        None => true,
                        Some(gst) => js_cmp(gst, p).is_lt(),
                    };
                    if greater {
                        trie[cur].greatest = Some(p.to_string());
                    }
                    nx
                }
            };
            cur = nx;
        }
        if trie[cur].matched.is_none() {
            trie[cur].matched = Some(Match {
                name: d.name.clone(),
                count: ps.len(),
                index: idx,
            });
        }
    }
    if use_defs.is_empty() {
        return ClassNames {
            class_of,
            names: it.names,
            interfaces: inferred,
        };
    }
    let mut iface_class: HashMap<String, u32> = HashMap::new();
    // Property sets (sorted string indexes) already matched, to their class (UNSET: none).
    let mut matched: FxHashMap<Box<[u32]>, u32> = FxHashMap::default();
    let mut states: Vec<usize> = Vec::new();
    let mut next_states: Vec<usize> = Vec::new();
    for o in 0..n as u32 {
        if !is_plain(o) {
            continue;
        }
        ids.clear();
        for e in g.edges(o) {
            if raw.edge_type[e] == t.e_property {
                ids.push(raw.edge_name[e]);
            }
        }
        ids.sort_unstable();
        if let Some(&c) = matched.get(&ids[..]) {
            if c != UNSET {
                class_of[o as usize] = c;
            }
            continue;
        }
        props.clear();
        props.extend(ids.iter().map(|&s| raw.strings.get(s)));
        props.sort_by(|a, b| js_cmp(a, b));
        // `states` is an insertion-ordered set in DevTools; order does not change the best
        // match, which is decided by `better` (most properties, then earliest definition).
        states.clear();
        states.push(0);
        let mut best: Option<&Match> = trie[0].matched.as_ref();
        for p in &props {
            next_states.clear();
            for &st in &states {
                let node = &trie[st];
                let drop = match &node.greatest {
                    None => true,
                    Some(gst) => !js_cmp(p, gst).is_lt(),
                };
                if !drop {
                    next_states.push(st);
                }
                if let Some(&nx) = node.next.get(*p) {
                    next_states.push(nx);
                    if let Some(m) = &trie[nx].matched {
                        best = better(best, m);
                    }
                }
            }
            next_states.sort_unstable();
            next_states.dedup();
            std::mem::swap(&mut states, &mut next_states);
        }
        let c = match best {
            Some(m) => match iface_class.get(&m.name) {
                Some(&c) => c,
                None => {
                    // DevTools pushes a new string per interface name, so an interface
                    // called like an existing class is still its own class.
                    let c = it.names.len() as u32;
                    it.names.push(m.name.clone());
                    iface_class.insert(m.name.clone(), c);
                    c
                }
            },
            None => UNSET,
        };
        matched.insert(ids.clone().into_boxed_slice(), c);
        if c != UNSET {
            class_of[o as usize] = c;
        }
    }
    ClassNames {
        class_of,
        names: it.names,
        interfaces: inferred,
    }
}

/// The interface candidate of a plain object whose property names (edge order, no
/// `__proto__`) are the strings `ids`: DevTools' name (`{a, b}`, cut past 120 characters)
/// and the properties it lists. Returns its index in `cand` (usize::MAX: no properties).
fn candidate_for<'a>(
    raw: &'a RawSnapshot,
    ids: &[u32],
    props: &mut Vec<&'a str>,
    cand: &mut Vec<(String, Vec<String>, u64)>,
    cand_index: &mut HashMap<String, usize>,
) -> usize {
    let mut name = String::from("{");
    let mut name_len = 1usize;
    props.clear();
    for &s in ids {
        let p = raw.strings.get(s);
        let f = fmt_prop(p);
        let flen = js_len(&f);
        if name_len > 1 && name_len + flen > 120 {
            break;
        }
        if name_len != 1 {
            name.push_str(", ");
            name_len += 2;
        }
        name.push_str(&f);
        name_len += flen;
        props.push(p);
    }
    if props.is_empty() {
        return usize::MAX;
    }
    name.push('}');
    match cand_index.get(&name) {
        Some(&i) => i,
        None => {
            cand_index.insert(name.clone(), cand.len());
            cand.push((name, props.iter().map(|s| s.to_string()).collect(), 0));
            cand.len() - 1
        }
    }
}

#[derive(Default)]
struct TrieNode {
    next: HashMap<String, usize>,
    matched: Option<Match>,
    greatest: Option<String>,
}

struct Match {
    name: String,
    count: usize,
    index: usize,
}

fn better<'a>(a: Option<&'a Match>, b: &'a Match) -> Option<&'a Match> {
    match a {
        None => Some(b),
        Some(a) => {
            if a.count > b.count {
                Some(a)
            } else if b.count > a.count {
                Some(b)
            } else if a.index <= b.index {
                Some(a)
            } else {
                Some(b)
            }
        }
    }
}

/// What naming reads of a graph under construction.
struct View<'a> {
    raw: &'a RawSnapshot,
}

impl View<'_> {
    fn node_type(&self, o: u32) -> u8 {
        self.raw.node_type[o as usize]
    }
    fn raw_name(&self, o: u32) -> &str {
        self.raw.strings.get(self.raw.node_name[o as usize])
    }
    fn edges(&self, o: u32) -> std::ops::Range<usize> {
        self.raw.first_edge[o as usize] as usize..self.raw.first_edge[o as usize + 1] as usize
    }
}
