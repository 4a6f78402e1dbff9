//! Stage 1, candidates: which objects of the last snapshot may have leaked.
//!
//! Every node of the last snapshot gets the index of the first snapshot that holds its id
//! (`born`; object ids are stable within one process). A node is *new* when the first
//! snapshot does not hold it, and a *candidate* when it is new and something a program
//! allocates: JS objects, closures,
//! strings, array buffers, and detached DOM nodes (DevTools' detachedness), which are
//! `native` nodes but leak like any other object. V8's own machinery (compiled code, object
//! shapes, contexts, internal arrays) is never a candidate; it is reached through them.
//!
//! Whether candidates leak is decided per group ([`super::grouping`]): its units must have
//! grown in every interval, so objects alive in only the last snapshot (in flight when it
//! was taken) never make a leak alone: memlab's three-snapshot rule, for any number.

use crate::heap::HeapGraph;
use crate::heap::graph::ROOT;
use crate::heap::ids::SnapshotIds;
use rayon::prelude::*;

/// Born index per node of the last snapshot, and the candidate flags.
pub struct Candidates {
    /// Index of the first snapshot holding the node's id (0: the first one).
    pub born: Vec<u8>,
    /// New since the first snapshot and eligible.
    pub candidate: Vec<bool>,
    /// Number of snapshots (earlier ones plus the last).
    pub n_snaps: usize,
}

impl Candidates {
    pub fn is_new(&self, o: u32) -> bool {
        self.born[o as usize] > 0
    }
    pub fn is_candidate(&self, o: u32) -> bool {
        self.candidate[o as usize]
    }
    pub fn born(&self, o: u32) -> u8 {
        self.born[o as usize]
    }
}

/// Whether a node is something a program allocates (see the module doc).
pub fn eligible(g: &HeapGraph, o: u32) -> bool {
    let t = g.types;
    let ty = g.node_type(o);
    if ty == t.n_object {
        return !g.raw_name(o).starts_with("system / ");
    }
    if ty == t.n_native {
        return g.det_state[o as usize] == 2 || g.raw_name(o) == "system / JSArrayBufferData";
    }
    ty == t.n_closure
        || ty == t.n_string
        || ty == t.n_cons_string
        || ty == t.n_sliced_string
        || ty == t.n_regexp
}

/// Marks the nodes of `last` against the earlier snapshots (oldest first).
pub fn find(last: &HeapGraph, earlier: &[&SnapshotIds]) -> Candidates {
    let n = last.n_nodes();
    let n_snaps = earlier.len() + 1;
    let last_idx = earlier.len().min(u8::MAX as usize) as u8;
    let mut born = vec![last_idx; n];
    born.par_iter_mut().enumerate().for_each(|(o, b)| {
        let id = last.id(o as u32);
        if let Some(k) = earlier.iter().position(|s| s.contains(id)) {
            *b = k.min(u8::MAX as usize) as u8;
        }
    });
    born[ROOT as usize] = 0;
    let candidate = (0..n as u32)
        .into_par_iter()
        .map(|o| born[o as usize] > 0 && eligible(last, o))
        .collect();
    Candidates {
        born,
        candidate,
        n_snaps,
    }
}
