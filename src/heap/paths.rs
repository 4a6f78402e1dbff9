//! Shortest retainer paths from the GC roots.
//!
//! [`PathTree`] is a breadth-first tree over non-weak edges, like DevTools' distances: user
//! roots (the global objects) first, without stepping into V8's compiled code and object
//! shapes, then everything else from the root. Among retainers at the same depth it keeps the
//! most readable edge (property, element and context variables before internal and hidden
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

pub fn path_tree(g: &HeapGraph) -> PathTree {
    let n = g.n_nodes();
    let mut parent_edge = vec![NO_PARENT; n];
    let mut parent = vec![NO_PARENT; n];
    let mut rank = vec![u8::MAX; n];
    let mut depth = vec![u32::MAX; n];
    let mut order: Vec<u32> = Vec::with_capacity(n);
    depth[ROOT as usize] = 0;
    order.push(ROOT);
    // Pass 1: user roots (the root's children that are user roots), user-visible nodes.
    let mut frontier: Vec<u32> = Vec::new();
    for e in g.edges(ROOT) {
        let to = g.raw.edge_to[e];
        if g.is_user_root(to) && depth[to as usize] == u32::MAX {
            depth[to as usize] = 1;
            parent_edge[to as usize] = e as u32;
            parent[to as usize] = ROOT;
            frontier.push(to);
        }
    }
    let bfs = |frontier: Vec<u32>,
               user_pass: bool,
               depth: &mut Vec<u32>,
               parent_edge: &mut Vec<u32>,
               parent: &mut Vec<u32>,
               rank: &mut Vec<u8>,
               order: &mut Vec<u32>| {
        let mut cur = frontier;
        let weak = g.types.e_weak;
        while !cur.is_empty() {
            order.extend_from_slice(&cur);
            let mut next: Vec<u32> = Vec::new();
            for &o in &cur {
                let d = depth[o as usize] + 1;
                for e in g.edges(o) {
                    if g.raw.edge_type[e] == weak {
                        continue;
                    }
                    let to = g.raw.edge_to[e];
                    let ti = to as usize;
                    if depth[ti] < d {
                        continue;
                    }
                    if user_pass && !user_pass_allows(g, to) {
                        continue;
                    }
                    let r = edge_rank(g, e, o);
                    if depth[ti] == u32::MAX {
                        depth[ti] = d;
                        parent_edge[ti] = e as u32;
                        parent[ti] = o;
                        rank[ti] = r;
                        next.push(to);
                    } else if depth[ti] == d && r < rank[ti] {
                        parent_edge[ti] = e as u32;
                        parent[ti] = o;
                        rank[ti] = r;
                    }
                }
            }
            cur = next;
        }
    };
    bfs(
        frontier,
        true,
        &mut depth,
        &mut parent_edge,
        &mut parent,
        &mut rank,
        &mut order,
    );
    // Pass 2: everything else, from the root's other children, at their BFS depth.
    let reached_before = order.len();
    let mut frontier = Vec::new();
    for e in g.edges(ROOT) {
        let to = g.raw.edge_to[e];
        if depth[to as usize] == u32::MAX {
            depth[to as usize] = 1;
            parent_edge[to as usize] = e as u32;
            parent[to as usize] = ROOT;
            frontier.push(to);
        }
    }
    // Nodes reached in pass 1 continue pass 2 from where they are: seed their children
    // that pass 1 did not enter.
    let mut seeds: Vec<(u32, u32, u32)> = Vec::new();
    for &o in &order[1..reached_before] {
        for e in g.edges(o) {
            if g.raw.edge_type[e] == g.types.e_weak {
                continue;
            }
            let to = g.raw.edge_to[e];
            if depth[to as usize] == u32::MAX {
                seeds.push((to, e as u32, o));
            }
        }
    }
    for (to, e, o) in seeds {
        if depth[to as usize] == u32::MAX {
            depth[to as usize] = depth[o as usize] + 1;
            parent_edge[to as usize] = e;
            parent[to as usize] = o;
            frontier.push(to);
        }
    }
    // The frontier mixes depths; a plain BFS from it still gives every node a path.
    bfs(
        frontier,
        false,
        &mut depth,
        &mut parent_edge,
        &mut parent,
        &mut rank,
        &mut order,
    );
    PathTree {
        parent_edge,
        parent,
        depth,
        order,
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
