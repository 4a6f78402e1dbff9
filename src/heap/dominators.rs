//! Dominators and retained sizes exactly as DevTools' `calculateDominatorsAndRetainedSizes`:
//! Lengauer-Tarjan (simple eval/link) over essential edges with 1-based vertices, the root
//! DFS in edge order, then nodes reachable only through non-essential edges DFS-ed under the
//! root, then leftover cliques attached to the root one by one. Ported verbatim, including
//! iteration orders, because they decide the answer when the graph has such orphans.
//!
//! Memory: eight `u32` arrays of `N + 1`, no per-node allocation (buckets are linked lists).

use super::graph::{HeapGraph, ROOT};

pub struct Dominators {
    pub idom: Vec<u32>,
    pub retained: Vec<u64>,
    /// (attached because only non-essential retainers, attached as clique members)
    pub unreachable: (u64, u64),
}

const NIL: u32 = u32::MAX;

pub fn compute(g: &HeapGraph) -> Dominators {
    let n = g.n_nodes();
    let l = n + 1;
    let first_edge = &g.raw.first_edge;
    let edge_to = &g.raw.edge_to;
    let essential = &g.essential;
    let mut parent = vec![0u32; l];
    let mut ancestor = vec![0u32; l];
    let mut vertex = vec![0u32; l];
    let mut label = vec![0u32; l];
    let mut semi = vec![0u32; l];
    let mut next_e = vec![0u32; l];
    let mut dom = vec![0u32; l];
    let mut count: u32 = 0;

    // Iterative DFS in edge order (`dfs` in ref.js); `next_e[v-1]` is the resume edge.
    let dfs = |root: u32,
               count: &mut u32,
               semi: &mut [u32],
               vertex: &mut [u32],
               label: &mut [u32],
               parent: &mut [u32],
               next_e: &mut [u32]| {
        next_e[root as usize - 1] = first_edge[root as usize - 1];
        let mut v = root;
        while v != 0 {
            let vi = v as usize;
            if semi[vi] == 0 {
                *count += 1;
                semi[vi] = *count;
                vertex[*count as usize] = v;
                label[vi] = v;
            }
            let mut v_next = parent[vi];
            let vo = vi - 1;
            while next_e[vo] < first_edge[vo + 1] {
                let e = next_e[vo] as usize;
                if essential[e] {
                    let w = edge_to[e] + 1;
                    if semi[w as usize] == 0 {
                        parent[w as usize] = v;
                        next_e[w as usize - 1] = first_edge[w as usize - 1];
                        v_next = w;
                        break;
                    }
                }
                next_e[vo] += 1;
            }
            v = v_next;
        }
    };

    let r = ROOT + 1;
    dfs(
        r,
        &mut count,
        &mut semi,
        &mut vertex,
        &mut label,
        &mut parent,
        &mut next_e,
    );
    let mut unreachable = (0u64, 0u64);
    if (count as usize) < n {
        for v in 1..=n as u32 {
            if semi[v as usize] != 0 {
                continue;
            }
            let only_weak = !g
                .retainers(v - 1)
                .any(|ri| essential[g.ret_edge[ri] as usize]);
            if only_weak {
                unreachable.0 += 1;
                parent[v as usize] = r;
                dfs(
                    v,
                    &mut count,
                    &mut semi,
                    &mut vertex,
                    &mut label,
                    &mut parent,
                    &mut next_e,
                );
            }
        }
    }
    if (count as usize) < n {
        for v in 1..=n as u32 {
            if semi[v as usize] == 0 {
                unreachable.1 += 1;
                parent[v as usize] = r;
                count += 1;
                semi[v as usize] = count;
                vertex[count as usize] = v;
                label[v as usize] = v;
            }
        }
    }

    // The DFS is done: its resume array becomes the bucket links. Buckets are linked lists
    // (each vertex is in at most one bucket at a time); the order within a bucket does not
    // change the dominators.
    let mut bucket_next = next_e;
    bucket_next.fill(NIL);
    let mut bucket_head = vec![NIL; l];
    let mut cstack: Vec<u32> = Vec::new();

    let eval = |v0: u32,
                ancestor: &mut [u32],
                label: &mut [u32],
                semi: &[u32],
                cstack: &mut Vec<u32>|
     -> u32 {
        if ancestor[v0 as usize] == 0 {
            return v0;
        }
        // evaluateCompress
        let mut v = v0;
        cstack.clear();
        while ancestor[ancestor[v as usize] as usize] != 0 {
            cstack.push(v);
            v = ancestor[v as usize];
        }
        while let Some(w) = cstack.pop() {
            let wi = w as usize;
            let a = ancestor[wi] as usize;
            if semi[label[a] as usize] < semi[label[wi] as usize] {
                label[wi] = label[a];
            }
            ancestor[wi] = ancestor[a];
        }
        label[v0 as usize]
    };

    let mut i = count;
    while i >= 2 {
        let w = vertex[i as usize];
        let wi = w as usize;
        let mut orphan = true;
        for ri in g.retainers(w - 1) {
            if !essential[g.ret_edge[ri] as usize] {
                continue;
            }
            orphan = false;
            let u = eval(
                g.ret_node[ri] + 1,
                &mut ancestor,
                &mut label,
                &semi,
                &mut cstack,
            );
            if semi[u as usize] < semi[wi] {
                semi[wi] = semi[u as usize];
            }
        }
        if orphan {
            semi[wi] = semi[r as usize];
        }
        let b = vertex[semi[wi] as usize] as usize;
        bucket_next[wi] = bucket_head[b];
        bucket_head[b] = w;
        ancestor[wi] = parent[wi];
        let p = parent[wi] as usize;
        let mut v = bucket_head[p];
        while v != NIL {
            let next = bucket_next[v as usize];
            let u = eval(v, &mut ancestor, &mut label, &semi, &mut cstack);
            dom[v as usize] = if semi[u as usize] < semi[v as usize] {
                u
            } else {
                parent[wi]
            };
            v = next;
        }
        bucket_head[p] = NIL;
        i -= 1;
    }
    dom[0] = r;
    dom[r as usize] = r;
    for i in 2..=count {
        let w = vertex[i as usize] as usize;
        if dom[w] != vertex[semi[w] as usize] {
            dom[w] = dom[dom[w] as usize];
        }
    }
    drop(bucket_head);
    drop(bucket_next);
    drop(ancestor);
    drop(label);
    drop(parent);
    let mut idom = vec![0u32; n];
    let mut retained: Vec<u64> = g.self_size.clone();
    for o in 0..n {
        idom[o] = dom[o + 1].wrapping_sub(1);
        if idom[o] as usize >= n {
            idom[o] = ROOT;
        }
    }
    let mut i = count;
    while i > 1 {
        let o = vertex[i as usize] as usize - 1;
        let d = idom[o] as usize;
        retained[d] += retained[o];
        i -= 1;
    }
    Dominators {
        idom,
        retained,
        unreachable,
    }
}
