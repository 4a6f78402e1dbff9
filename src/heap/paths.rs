//! Shortest retainer paths from the GC roots.
//!
//! [`PathTree`] is a breadth-first tree over non-weak edges that prefers roots living as long
//! as the process. Roots come in three tiers, searched in order, and a node keeps the path
//! of the first tier that reaches it:
//!
//! 0. user roots (the global objects, `(Document DOM trees)`), stepping only through objects
//!    a developer can read (not V8's compiled code, object shapes or hidden internals);
//! 1. long-lived roots: the other GC subroots (strong roots, global handles, the builtins,
//!    ...), embedder roots (`C++ roots`, Node's environment and handle wraps), and everything
//!    reachable from the nodes of tier 0 through internals;
//! 2. transient roots: handle scopes, stack roots and the like, which hold whatever the code
//!    running at snapshot time touched (a snapshot written inside a request handler).
//!
//! So a snapshot written from a busy handler, on a signal or over the inspector gives the
//! same paths for long-lived data. Among retainers at the same depth a tier keeps the most
//! readable edge (property, element and context variables before internal and hidden
//! fields), so that paths read like the program, not like V8's internals.
//!
//! [`k_shortest`] lists several shortest simple paths to one object (`memsleuth path`).

use super::graph::{HeapGraph, ROOT};
use std::collections::BinaryHeap;

pub const NO_PARENT: u32 = u32::MAX;

/// The breadth-first path tree: for every reached node, the edge it was reached by.
pub struct PathTree {
    /// Edge index by which each node was reached (`NO_PARENT` for roots and unreached).
    pub parent_edge: Vec<u32>,
    /// Source node of `parent_edge`.
    pub parent: Vec<u32>,
    /// Hops from the root (u32::MAX: unreached).
    pub depth: Vec<u32>,
    /// The root tier each node was reached from (0 user, 1 long-lived, 2 transient).
    pub tier: Vec<u8>,
    /// Nodes in the order they were reached (parents before children).
    pub order: Vec<u32>,
}

impl PathTree {
    /// The path from the root to `o` as edge indexes, root side first.
    pub fn edges_to(&self, o: u32) -> Vec<u32> {
        let mut out = Vec::new();
        let mut cur = o;
        while self.parent_edge[cur as usize] != NO_PARENT {
            out.push(self.parent_edge[cur as usize]);
            cur = self.parent[cur as usize];
            if out.len() > self.parent.len() {
                break; // cannot happen in a tree; guards against a cycle all the same
            }
        }
        out.reverse();
        out
    }
}

/// Lower is better: how readable an edge is as a step of a retainer path.
fn edge_rank(g: &HeapGraph, e: usize, from: u32) -> u8 {
    let t = g.types;
    let ty = g.raw.edge_type[e];
    let mut r = if ty == t.e_property || ty == t.e_context || ty == t.e_element {
        0
    } else if ty == t.e_shortcut {
        1
    } else if ty == t.e_internal {
        2
    } else {
        3
    };
    let fty = g.node_type(from);
    if fty == t.n_hidden || fty == t.n_code || fty == t.n_synthetic {
        r += 4;
    }
    if ty == t.e_property && &*g.edge_name(e) == "__proto__" {
        r += 2;
    }
    r
}

/// Whether the first (user) pass may step into `to`.
fn user_pass_allows(g: &HeapGraph, to: u32) -> bool {
    let ty = g.node_type(to);
    let t = g.types;
    ty != t.n_code && ty != t.n_hidden && ty != t.n_synthetic && ty != t.n_object_shape
}

/// GC subroots that hold objects only while some code runs: the handles and stack slots of
/// the code running when the snapshot was taken, pending microtasks, write-barrier buffers.
const TRANSIENT_ROOTS: &[&str] = &[
    "(Stack roots)",
    "(Conservative stack roots)",
    "(Handle scope)",
    "(Relocatable)",
    "(Debugger)",
    "(Thread manager)",
    "(Write barrier)",
    "(Micro tasks)",
    "(Identity map)",
    "(Unknown)",
];

/// Whether a root (a child of the root or of `(GC roots)`) is transient.
pub fn is_transient_root(g: &HeapGraph, o: u32) -> bool {
    g.node_type(o) == g.types.n_synthetic && TRANSIENT_ROOTS.contains(&g.raw_name(o))
}

/// The path tree over the whole graph (see the module doc for the tiers).
pub fn path_tree(g: &HeapGraph) -> PathTree {
    let n = g.n_nodes();
    let mut tree = PathTree {
        parent_edge: vec![NO_PARENT; n],
        parent: vec![NO_PARENT; n],
        depth: vec![u32::MAX; n],
        tier: vec![u8::MAX; n],
        order: Vec::with_capacity(n),
    };
    let mut rank = vec![u8::MAX; n];
    tree.depth[ROOT as usize] = 0;
    tree.tier[ROOT as usize] = 0;
    tree.order.push(ROOT);
    // Roots by tier: (node, edge from its holder, holder, depth).
    let mut tiers: [Vec<(u32, u32, u32, u32)>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for e in g.edges(ROOT) {
        if g.raw.edge_type[e] == g.types.e_weak {
            continue;
        }
        let to = g.raw.edge_to[e];
        if g.is_user_root(to) {
            tiers[0].push((to, e as u32, ROOT, 1));
        } else if g.node_type(to) == g.types.n_synthetic && g.raw_name(to) == "(GC roots)" {
            tiers[1].push((to, e as u32, ROOT, 1));
            for e2 in g.edges(to) {
                if g.raw.edge_type[e2] == g.types.e_weak {
                    continue;
                }
                let sub = g.raw.edge_to[e2];
                let t = if is_transient_root(g, sub) { 2 } else { 1 };
                tiers[t].push((sub, e2 as u32, to, 2));
            }
        } else {
            tiers[1].push((to, e as u32, ROOT, 1));
        }
    }
    for (tier, roots) in tiers.into_iter().enumerate() {
        // Seeds: the tier's roots, and the unreached children of every node reached so far
        // (tier 0 did not step into internals; later tiers continue from there).
        let mut seeds: Vec<(u32, u32, u32, u32)> = roots;
        if tier > 0 {
            for &o in &tree.order {
                let d = tree.depth[o as usize];
                for e in g.edges(o) {
                    if g.raw.edge_type[e] == g.types.e_weak {
                        continue;
                    }
                    let to = g.raw.edge_to[e];
                    if tree.depth[to as usize] == u32::MAX {
                        seeds.push((to, e as u32, o, d + 1));
                    }
                }
            }
        }
        bfs(g, &mut tree, &mut rank, seeds, tier as u8);
    }
    tree
}

/// Breadth-first search from seeds at various depths (a bucket queue by depth), keeping
/// for each newly reached node the most readable edge among its shallowest retainers.
fn bfs(
    g: &HeapGraph,
    tree: &mut PathTree,
    rank: &mut [u8],
    seeds: Vec<(u32, u32, u32, u32)>,
    tier: u8,
) {
    let user_pass = tier == 0;
    let weak = g.types.e_weak;
    let mut buckets: Vec<Vec<u32>> = Vec::new();
    let place = |tree: &mut PathTree,
                 rank: &mut [u8],
                 buckets: &mut Vec<Vec<u32>>,
                 to: u32,
                 e: u32,
                 from: u32,
                 d: u32| {
        let ti = to as usize;
        if tree.depth[ti] != u32::MAX && (tree.tier[ti] != tier || tree.depth[ti] < d) {
            return;
        }
        let r = if from == ROOT {
            0
        } else {
            edge_rank(g, e as usize, from)
        };
        if tree.depth[ti] == u32::MAX {
            tree.depth[ti] = d;
            tree.tier[ti] = tier;
            tree.parent_edge[ti] = e;
            tree.parent[ti] = from;
            rank[ti] = r;
            let b = d as usize;
            if buckets.len() <= b {
                buckets.resize_with(b + 1, Vec::new);
            }
            buckets[b].push(to);
        } else if tree.depth[ti] == d && r < rank[ti] {
            tree.parent_edge[ti] = e;
            tree.parent[ti] = from;
            rank[ti] = r;
        }
    };
    for (to, e, from, d) in seeds {
        place(tree, rank, &mut buckets, to, e, from, d);
    }
    let mut b = 0;
    while b < buckets.len() {
        let cur = std::mem::take(&mut buckets[b]);
        tree.order.extend_from_slice(&cur);
        for &o in &cur {
            let d = tree.depth[o as usize] + 1;
            for e in g.edges(o) {
                if g.raw.edge_type[e] == weak {
                    continue;
                }
                let to = g.raw.edge_to[e];
                if user_pass && !user_pass_allows(g, to) {
                    continue;
                }
                place(tree, rank, &mut buckets, to, e as u32, o, d);
            }
        }
        b += 1;
    }
}

/// Up to `max` shortest simple retainer paths (as edge lists, root first) to `target`,
/// over non-weak edges, shortest first. A best-first search backwards from the target,
/// guided by the exact distance from the root (`depth` of a plain BFS).
pub fn k_shortest(g: &HeapGraph, target: u32, max: usize, budget: usize) -> Vec<Vec<u32>> {
    let n = g.n_nodes();
    // Plain BFS depth from the root over non-weak edges (no preferences, no passes).
    let mut depth = vec![u32::MAX; n];
    let mut queue = vec![ROOT];
    depth[ROOT as usize] = 0;
    let mut qi = 0;
    while qi < queue.len() {
        let o = queue[qi];
        qi += 1;
        for e in g.edges(o) {
            if g.raw.edge_type[e] == g.types.e_weak {
                continue;
            }
            let to = g.raw.edge_to[e];
            if depth[to as usize] == u32::MAX {
                depth[to as usize] = depth[o as usize] + 1;
                queue.push(to);
            }
        }
    }
    if depth[target as usize] == u32::MAX {
        return Vec::new();
    }
    // States: partial paths from some node down to the target, as a linked list in `arena`.
    struct State {
        node: u32,
        edge: u32,
        next: u32,
        len: u32,
    }
    let mut arena: Vec<State> = vec![State {
        node: target,
        edge: NO_PARENT,
        next: NO_PARENT,
        len: 0,
    }];
    let mut heap: BinaryHeap<std::cmp::Reverse<(u32, u32)>> = BinaryHeap::new();
    heap.push(std::cmp::Reverse((depth[target as usize], 0)));
    let mut out = Vec::new();
    let mut expanded = 0usize;
    while let Some(std::cmp::Reverse((_, si))) = heap.pop() {
        let (node, len) = (arena[si as usize].node, arena[si as usize].len);
        if node == ROOT {
            let mut edges = Vec::new();
            let mut cur = si;
            while arena[cur as usize].edge != NO_PARENT {
                edges.push(arena[cur as usize].edge);
                cur = arena[cur as usize].next;
            }
            out.push(edges);
            if out.len() >= max {
                break;
            }
            continue;
        }
        expanded += 1;
        if expanded > budget {
            break;
        }
        for ri in g.retainers(node) {
            let e = g.ret_edge[ri] as usize;
            if g.raw.edge_type[e] == g.types.e_weak {
                continue;
            }
            let from = g.ret_node[ri];
            if depth[from as usize] == u32::MAX {
                continue;
            }
            // Simple paths only: `from` must not already be on this partial path.
            let mut cur = si;
            let mut on_path = false;
            loop {
                if arena[cur as usize].node == from {
                    on_path = true;
                    break;
                }
                if arena[cur as usize].next == NO_PARENT {
                    break;
                }
                cur = arena[cur as usize].next;
            }
            if on_path {
                continue;
            }
            let id = arena.len() as u32;
            arena.push(State {
                node: from,
                edge: e as u32,
                next: si,
                len: len + 1,
            });
            heap.push(std::cmp::Reverse((len + 1 + depth[from as usize], id)));
        }
    }
    out
}
