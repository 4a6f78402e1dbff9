//! Regression tests of the stages on small hand-built heaps: each test builds the shape a
//! real snapshot showed (see the test names) and checks one decision.

use super::*;
use crate::heap::ids::{SnapshotIds, node_fingerprint};
use crate::heap::parse::{Meta, RawSnapshot, Strings};

const NODE_TYPES: &[&str] = &[
    "hidden",
    "array",
    "string",
    "object",
    "code",
    "closure",
    "regexp",
    "number",
    "native",
    "synthetic",
    "concatenated string",
    "sliced string",
    "symbol",
    "bigint",
    "object shape",
];
const EDGE_TYPES: &[&str] = &[
    "context", "element", "property", "internal", "hidden", "shortcut", "weak",
];

/// A heap under construction: nodes (type, name, id, size) and edges (from, type, name, to).
#[derive(Default)]
struct Heap {
    nodes: Vec<(&'static str, String, u32, u32)>,
    edges: Vec<(u32, &'static str, String, u32)>,
}

impl Heap {
    fn node(&mut self, ty: &'static str, name: &str, id: u32, size: u32) -> u32 {
        self.nodes.push((ty, name.to_string(), id, size));
        (self.nodes.len() - 1) as u32
    }
    fn edge(&mut self, from: u32, ty: &'static str, name: &str, to: u32) {
        self.edges.push((from, ty, name.to_string(), to));
    }
    fn ids(&self, keep: impl Fn(u32) -> bool) -> SnapshotIds {
        let mut pairs: Vec<(u32, u32)> = self
            .nodes
            .iter()
            .filter(|n| keep(n.2))
            .map(|n| {
                let t = NODE_TYPES.iter().position(|x| *x == n.0).unwrap() as u8;
                (n.2, node_fingerprint(t, &n.1))
            })
            .collect();
        pairs.sort_unstable();
        SnapshotIds {
            ids: pairs.iter().map(|p| p.0).collect(),
            fingerprints: pairs.iter().map(|p| p.1).collect(),
            node_count: pairs.len() as u64,
            total_bytes: 0,
            format: crate::heap::ids::format_hash(&meta()),
        }
    }
    fn graph(&self) -> HeapGraph {
        let mut strings = Strings::default();
        let mut intern = std::collections::HashMap::new();
        let mut s = |x: &str| {
            *intern
                .entry(x.to_string())
                .or_insert_with(|| strings.push(x))
        };
        s("<dummy>");
        let mut raw = RawSnapshot {
            meta: meta(),
            node_type: Vec::new(),
            node_name: Vec::new(),
            node_id: Vec::new(),
            node_self: Vec::new(),
            node_det: Vec::new(),
            first_edge: Vec::new(),
            edge_type: Vec::new(),
            edge_name: Vec::new(),
            edge_to: Vec::new(),
            locations: Vec::new(),
            strings: Strings::default(),
            node_trace: Vec::new(),
            alloc: Default::default(),
        };
        for n in &self.nodes {
            raw.node_type
                .push(NODE_TYPES.iter().position(|x| *x == n.0).unwrap() as u8);
            raw.node_name.push(s(&n.1));
            raw.node_id.push(n.2);
            raw.node_self.push(u64::from(n.3));
        }
        let mut edges = self.edges.clone();
        edges.sort_by_key(|e| e.0);
        let mut k = 0;
        for o in 0..self.nodes.len() as u32 {
            raw.first_edge.push(k as u32);
            while k < edges.len() && edges[k].0 == o {
                let (_, ty, name, to) = &edges[k];
                let t = EDGE_TYPES.iter().position(|x| x == ty).unwrap() as u8;
                raw.edge_type.push(t);
                raw.edge_name.push(if *ty == "element" || *ty == "hidden" {
                    name.parse().unwrap()
                } else {
                    s(name)
                });
                raw.edge_to.push(*to);
                k += 1;
            }
        }
        raw.first_edge.push(k as u32);
        raw.strings = strings;
        HeapGraph::build(raw)
    }
}

fn meta() -> Meta {
    let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    Meta {
        node_fields: v(&["type", "name", "id", "self_size", "edge_count"]),
        node_types: v(NODE_TYPES),
        edge_fields: v(&["type", "name_or_index", "to_node"]),
        edge_types: v(EDGE_TYPES),
        location_fields: Vec::new(),
        trace_function_info_fields: Vec::new(),
        trace_node_fields: Vec::new(),
        node_count: 0,
        edge_count: 0,
        extra_native_bytes: 0,
    }
}

/// A service heap: the root, `(GC roots)` with a handle scope, the global, a module
/// scope with `name` holding a Map, reached from the global through an HTTP server's
/// maintenance Timeout (as Node's http server keeps one bound to the Server). The Map gets
/// `per` entries of `{user}` per interval: ids 10000+ (interval 1) and 20000+ (interval 2).
fn service_heap(name: &str, per: u32) -> (Heap, u32) {
    let mut h = Heap::default();
    let root = h.node("synthetic", "", 1, 0);
    let gc = h.node("synthetic", "(GC roots)", 3, 0);
    let scope = h.node("synthetic", "(Handle scope)", 5, 0);
    let global = h.node("object", "global", 7, 40);
    h.edge(root, "element", "1", gc);
    h.edge(root, "shortcut", "2", global);
    h.edge(gc, "element", "1", scope);
    let timer = h.node("object", "Timeout", 9, 80);
    h.edge(global, "property", "checkConnections", timer);
    let bound = h.node("closure", "native_bind", 11, 32);
    h.edge(timer, "property", "_onTimeout", bound);
    let server = h.node("object", "Server", 13, 100);
    h.edge(bound, "internal", "bound_this", server);
    let handler = h.node("closure", "handle", 15, 32);
    h.edge(server, "property", "request", handler);
    let ctx = h.node("object", "system / Context", 17, 48);
    h.edge(handler, "internal", "context", ctx);
    let map = h.node("object", "Map", 19, 32);
    h.edge(ctx, "context", name, map);
    // The snapshot was written inside a handler: the handle scope holds the Map directly.
    h.edge(scope, "element", "1", map);
    let table = h.node("array", "", 21, 64);
    h.edge(map, "internal", "table", table);
    for k in 0..2 * per {
        let base = if k < per { 10_000 } else { 20_000 };
        let key = h.node("string", &format!("token-{k}"), base + 8 * k + 1, 32);
        let val = h.node("object", "Object", base + 8 * k + 3, 56);
        h.edge(table, "internal", &(3 * k + 10).to_string(), key);
        h.edge(table, "internal", &(3 * k + 11).to_string(), val);
        let roles = h.node("object", "Array", base + 8 * k + 5, 32);
        h.edge(val, "property", "roles", roles);
    }
    (h, map)
}

fn run(h: &Heap) -> LeaksOutput {
    let g = h.graph();
    let s1 = h.ids(|id| id < 10_000);
    let s2 = h.ids(|id| id < 20_000);
    let earlier = [
        Earlier {
            file: "s1",
            ids: &s1,
        },
        Earlier {
            file: "s2",
            ids: &s2,
        },
    ];
    find(&earlier, "s3", &g, &|_| None, &Options::default()).unwrap()
}

#[test]
fn server_maintenance_timer_on_the_path_does_not_make_a_timer_leak() {
    let (h, _) = service_heap("activeSessions", 60);
    let out = run(&h);
    let f = &out.findings[0];
    assert_eq!(f.pattern, Pattern::UnboundedCollection, "{f:#?}");
    assert_eq!(f.owner.as_ref().unwrap().name, "activeSessions");
}

#[test]
fn handle_scope_root_does_not_hide_the_module_variable() {
    let (h, _) = service_heap("renderCache", 60);
    let out = run(&h);
    let f = &out.findings[0];
    let edges: Vec<&str> = f.retainer_path.iter().map(|s| s.edge.as_str()).collect();
    assert!(edges.contains(&"renderCache"), "{edges:?}");
    assert_eq!(f.owner.as_ref().unwrap().kind, "module-variable");
}

#[test]
fn map_keys_and_values_are_one_finding_counted_in_entries() {
    let (h, _) = service_heap("sessions", 60);
    let out = run(&h);
    assert_eq!(out.findings.len(), 1, "{:#?}", out.findings);
    let f = &out.findings[0];
    assert_eq!(f.count, 120);
    assert_eq!(f.growth, vec![0, 60, 120]);
    assert_eq!(f.unit, "Map entry");
}

#[test]
fn snapshots_given_backwards_are_refused() {
    let (h, _) = service_heap("sessions", 60);
    let g = h.graph();
    let mut s1 = h.ids(|id| id < 10_000);
    // Objects of the first snapshot that died before the second.
    let mut pairs: Vec<(u32, u32)> = s1
        .ids
        .iter()
        .copied()
        .zip(s1.fingerprints.clone())
        .collect();
    pairs.extend((0..40).map(|k| (9_001 + 2 * k, node_fingerprint(3, "Object"))));
    pairs.sort_unstable();
    s1.ids = pairs.iter().map(|p| p.0).collect();
    s1.fingerprints = pairs.iter().map(|p| p.1).collect();
    let s2 = h.ids(|id| id < 20_000);
    let earlier = [
        Earlier {
            file: "s2",
            ids: &s2,
        },
        Earlier {
            file: "s1",
            ids: &s1,
        },
    ];
    let e = find(&earlier, "s3", &g, &|_| None, &Options::default()).unwrap_err();
    assert_eq!(e.file, "s1");
}

/// A global `inboxes` Map of per-user lists (users known since the first snapshot), each
/// list getting `per` notifications per interval; with `slab`, every notification keeps a
/// Buffer view and ten views share one ArrayBuffer (Node's Buffer pool).
fn per_key_lists_heap(users: u32, per: u32, slab: bool) -> Heap {
    let mut h = Heap::default();
    let root = h.node("synthetic", "", 1, 0);
    let gc = h.node("synthetic", "(GC roots)", 3, 0);
    let global = h.node("object", "global", 5, 40);
    h.edge(root, "element", "1", gc);
    h.edge(root, "shortcut", "2", global);
    let map = h.node("object", "Map", 7, 32);
    h.edge(global, "property", "inboxes", map);
    let table = h.node("array", "", 9, 64);
    h.edge(map, "internal", "table", table);
    let mut lists = Vec::new();
    for u in 0..users {
        let key = h.node("string", &format!("user-{u}"), 100 + 4 * u, 32);
        let list = h.node("object", "Array", 102 + 4 * u, 32);
        h.edge(table, "internal", &(3 * u + 10).to_string(), key);
        h.edge(table, "internal", &(3 * u + 11).to_string(), list);
        lists.push(list);
    }
    let mut n = 0u32;
    let mut buffer = None;
    for interval in 0..2u32 {
        let base = if interval == 0 { 10_000 } else { 20_000 };
        for (u, &list) in lists.iter().enumerate() {
            for k in 0..per {
                let id = base + 8 * n;
                let item = h.node("object", "Object", id + 1, 56);
                h.edge(list, "element", &(interval * per + k).to_string(), item);
                let text = h.node("string", &format!("note {u} {interval} {k}"), id + 3, 64);
                h.edge(item, "property", "text", text);
                if slab {
                    if n.is_multiple_of(10) {
                        buffer = Some(h.node("object", "ArrayBuffer", id + 5, 8192));
                    }
                    let view = h.node("object", "Buffer", id + 7, 96);
                    h.edge(item, "property", "raw", view);
                    h.edge(view, "internal", "buffer", buffer.unwrap());
                }
                n += 1;
            }
        }
    }
    h
}

#[test]
fn per_key_lists_of_a_map_are_counted_across_all_keys() {
    let out = run(&per_key_lists_heap(20, 6, false));
    assert_eq!(out.findings.len(), 1, "{:#?}", out.findings);
    let f = &out.findings[0];
    assert_eq!(f.count, 240, "{f:#?}");
    assert_eq!(f.growth, vec![0, 120, 240]);
}

#[test]
fn buffers_sharing_a_pool_slab_are_counted_per_entry_not_per_slab() {
    let out = run(&per_key_lists_heap(1, 120, true));
    let f = &out.findings[0];
    assert_eq!(f.count, 240, "{f:#?}");
    assert_ne!(f.class, "ArrayBuffer");
}
