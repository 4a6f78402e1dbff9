//! Dominators and retained sizes with the results of DevTools'
//! `calculateDominatorsAndRetainedSizes`, computed by semi-NCA over a DFS-numbered copy of the
//! essential edges instead of DevTools' Lengauer–Tarjan.
//!
//! What DevTools computes, and why semi-NCA gives the same answer:
//! - It numbers the nodes by a DFS from the root over essential edges, in edge order. Nodes
//!   left over whose retainers are all non-essential ("orphans") are DFS-ed next, in ordinal
//!   order, each as a child of the root: that is a DFS of the graph G' with an extra edge from
//!   the root to each orphan, so on the nodes numbered so far (R) Lengauer–Tarjan yields the
//!   dominator tree of G', which is unique: any correct algorithm gives the same tree.
//! - Nodes still unnumbered (C: cycles reachable only through non-essential edges, and what
//!   only they reach) are numbered one by one as children of the root. Their essential
//!   retainers are all in C, so their semidominators lie in C; Lengauer–Tarjan files each in
//!   the bucket of a C node, and a bucket is only emptied when a child of its owner is
//!   processed, which never happens for C (every C node's tree parent is the root). Their
//!   `dom` stays 0, and the final pass sets it to `dom[0]`, the root. Retainers in C never
//!   lower a semidominator in R (their numbers are larger). So: R gets the dominators of G',
//!   every C node gets the root.
//!
//! Retained sizes are then summed children-first (in reverse DFS order, as DevTools does).
//! The DFS order is kept exactly because it decides which nodes are orphans and cliques.
//!
//! Memory: five `u32` arrays over the numbered nodes and one `u32` per essential edge, all
//! freed before the results (`idom`, `retained`) are made.

use super::mem::{column, copy_of};
use super::parse::RawSnapshot;

pub struct Dominators {
    pub idom: Vec<u32>,
    pub retained: Vec<u64>,
    /// (attached because only non-essential retainers, attached as clique members)
    pub unreachable: (u64, u64),
}

/// Whether bit `i` of a bitset is set.
#[inline(always)]
pub fn bit(set: &[u64], i: usize) -> bool {
    set[i / 64] & (1 << (i % 64)) != 0
}

/// Computes dominators over the edges flagged in `essential` (a bitset over edges), from the
/// root (ordinal 0), and retained sizes from `self_size`.
pub fn compute(raw: &RawSnapshot, essential: &[u64], self_size: &[u64]) -> Dominators {
    let n = raw.node_count();
    let first_edge = &raw.first_edge;
    let edge_to = &raw.edge_to;
    // Preorder numbers start at 1 (the root); 0 is "not numbered".
    let mut pre = column(n, 0u32);
    let mut vertex = column(n + 1, 0u32);
    let mut parent = column(n + 1, 0u32);
    let mut count: u32 = 0;
    let mut stack: Vec<(u32, u32)> = Vec::new();
    // DevTools' `dfs`: preorder over essential edges, in edge order.
    let mut dfs = |root: u32,
                   root_parent: u32,
                   count: &mut u32,
                   pre: &mut [u32],
                   vertex: &mut [u32],
                   parent: &mut [u32]| {
        *count += 1;
        pre[root as usize] = *count;
        vertex[*count as usize] = root;
        parent[*count as usize] = root_parent;
        stack.push((root, first_edge[root as usize]));
        while let Some(top) = stack.last_mut() {
            let (v, e) = *top;
            let end = first_edge[v as usize + 1];
            let mut e = e;
            let mut next = None;
            while e < end {
                let ei = e as usize;
                e += 1;
                if bit(essential, ei) {
                    let w = edge_to[ei];
                    if pre[w as usize] == 0 {
                        next = Some(w);
                        break;
                    }
                }
            }
            top.1 = e;
            match next {
                Some(w) => {
                    *count += 1;
                    pre[w as usize] = *count;
                    vertex[*count as usize] = w;
                    parent[*count as usize] = pre[v as usize];
                    stack.push((w, first_edge[w as usize]));
                }
                None => {
                    stack.pop();
                }
            }
        }
    };
    dfs(0, 0, &mut count, &mut pre, &mut vertex, &mut parent);
    let mut unreachable = (0u64, 0u64);
    if (count as usize) < n {
        // Nodes with an essential retainer (any, reachable or not).
        let mut retained_essentially = vec![0u64; n.div_ceil(64)];
        for (e, &to) in edge_to.iter().enumerate() {
            if bit(essential, e) {
                retained_essentially[to as usize / 64] |= 1 << (to % 64);
            }
        }
        for v in 0..n as u32 {
            if pre[v as usize] == 0 && !bit(&retained_essentially, v as usize) {
                unreachable.0 += 1;
                dfs(v, 1, &mut count, &mut pre, &mut vertex, &mut parent);
            }
        }
    }
    drop(stack);
    // R: the nodes numbered by now. The rest (C) hang under the root.
    let r_count = count as usize;
    if r_count < n {
        for v in 0..n as u32 {
            if pre[v as usize] == 0 {
                unreachable.1 += 1;
                count += 1;
                pre[v as usize] = count;
                vertex[count as usize] = v;
                parent[count as usize] = 1;
            }
        }
    }

    // Essential predecessors of R in preorder numbers, grouped by target (CSR). Retainers
    // outside R never lower a semidominator in R (see the module doc), and the tree parent
    // is where the search for the semidominator starts anyway: neither is stored. The
    // offsets are counted, summed, then counted down while filling, so that `first_pred[t]`
    // ends as the start of t's predecessors (no second array of fill pointers).
    let mut first_pred = column(r_count + 2, 0u32);
    let each_pred = |f: &mut dyn FnMut(usize, u32)| {
        for o in 0..n {
            let po = pre[o];
            if po as usize > r_count {
                continue;
            }
            for e in first_edge[o] as usize..first_edge[o + 1] as usize {
                if bit(essential, e) {
                    let pt = pre[edge_to[e] as usize] as usize;
                    if pt <= r_count && parent[pt] != po {
                        f(pt, po);
                    }
                }
            }
        }
    };
    each_pred(&mut |pt, _| first_pred[pt] += 1);
    for i in 1..first_pred.len() {
        first_pred[i] += first_pred[i - 1];
    }
    let mut preds = column(first_pred[r_count + 1] as usize, 0u32);
    each_pred(&mut |pt, po| {
        first_pred[pt] -= 1;
        preds[first_pred[pt] as usize] = po;
    });
    drop(pre);

    // Semi-NCA (Georgiadis, Tarjan, Werneck), in preorder numbers. `anc` is the tree parent
    // compressed as in Lengauer–Tarjan's eval; `label[v]` is the smallest semidominator on
    // v's compressed path; `idom` starts as the tree parent. Each semidominator is stored
    // in `first_pred` at the index whose offset was just read for the last time, so the
    // predecessor offsets become the semidominators without another array.
    let mut idom: Vec<u32> = copy_of(&parent[..=r_count]);
    let mut anc = parent;
    anc.truncate(r_count + 1);
    let mut label: Vec<u32> = column(r_count + 1, 0u32);
    for (i, l) in label.iter_mut().enumerate() {
        *l = i as u32;
    }
    let mut path: Vec<u32> = Vec::new();
    let mut held: Option<(usize, u32)> = None;
    for w in (2..=r_count).rev() {
        let (lo, hi) = (first_pred[w] as usize, first_pred[w + 1] as usize);
        // `first_pred[w + 1]` is read for the last time: it takes the semidominator of w + 1.
        if let Some((v, sv)) = held.take() {
            first_pred[v] = sv;
        }
        // The tree parent is a predecessor (for orphans, through the root's extra edge).
        let mut s = anc[w];
        for &v in &preds[lo..hi] {
            // A predecessor numbered after `w` is already linked: the smallest
            // semidominator on its path to the first unlinked ancestor.
            let c = if v as usize <= w {
                v
            } else {
                eval(v, w as u32, &mut anc, &mut label, &mut path)
            };
            if c < s {
                s = c;
            }
        }
        label[w] = s;
        held = Some((w, s));
    }
    if let Some((v, sv)) = held {
        first_pred[v] = sv;
    }
    let semi = first_pred;
    drop(preds);
    drop(label);
    drop(anc);
    drop(path);
    for w in 2..=r_count {
        let s = semi[w];
        let mut d = idom[w];
        while d > s {
            d = idom[d as usize];
        }
        idom[w] = d;
    }
    drop(semi);

    // Results in ordinal space. Retained sizes: children before their dominator.
    let mut retained: Vec<u64> = copy_of(self_size);
    let mut idom_ord = column(n, 0u32);
    for i in (2..=count as usize).rev() {
        let o = vertex[i] as usize;
        let d = if i <= r_count {
            vertex[idom[i] as usize] as usize
        } else {
            0
        };
        idom_ord[o] = d as u32;
        retained[d] += retained[o];
    }
    Dominators {
        idom: idom_ord,
        retained,
        unreachable,
    }
}

/// Lengauer–Tarjan's eval with path compression, for a vertex `v` linked into the forest
/// (numbered after `w`, the vertex being processed): the smallest semidominator (label) on
/// the path from `v` up to, not including, the first ancestor not yet linked.
#[inline]
fn eval(v: u32, w: u32, anc: &mut [u32], label: &mut [u32], path: &mut Vec<u32>) -> u32 {
    let mut x = v;
    // Climb while the ancestor is itself linked.
    path.clear();
    while anc[x as usize] > w {
        path.push(x);
        x = anc[x as usize];
    }
    // `x` hangs off an unlinked vertex: compress the path onto it, top down.
    let root = anc[x as usize];
    let mut best = label[x as usize];
    while let Some(y) = path.pop() {
        let yi = y as usize;
        if best < label[yi] {
            label[yi] = best;
        } else {
            best = label[yi];
        }
        anc[yi] = root;
    }
    label[v as usize]
}
