//! `SnapshotIds`: what the leak finder needs from a snapshot other than the last one.
//!
//! The finder builds the full [`HeapGraph`] for the last snapshot only. Every earlier
//! snapshot is reduced to this: the node ids (sorted), one small fingerprint per id (a hash
//! of the node's type and name, so that the same id in two snapshots of one process can be
//! seen to be the same object), the node count, the total size, and a hash of the
//! header's type and field lists (which differ between V8 versions). That is enough to tell which objects are new and which survived, and to check
//! that the snapshots come from one process and are given in order (`leaks::checks`).
//!
//! Contract C1: one struct, filled from parsed columns ([`SnapshotIds::from_raw`]) either
//! way: `heap::read_ids` parses a file without its edges and builds no graph (how `leaks`
//! reads every snapshot but the last), `from_graph` takes it from an analysed graph.

use super::graph::HeapGraph;
use super::parse::{Meta, RawSnapshot};
use rayon::prelude::*;

/// The ids of one snapshot and what the finder's checks need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotIds {
    /// Node ids, ascending.
    pub ids: Vec<u32>,
    /// For each entry of `ids`, [`node_fingerprint`] of that node.
    pub fingerprints: Vec<u32>,
    pub node_count: u64,
    /// Sum of self sizes plus `extra_native_bytes` (DevTools' total size).
    pub total_bytes: u64,
    /// Hash of the header's node/edge types and fields: equal for one V8 version.
    pub format: u64,
}

/// FNV-1a over bytes.
fn fnv(h: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *h ^= b as u64;
        *h = h.wrapping_mul(0x100000001b3);
    }
}

/// The per-node fingerprint: node type and raw name, hashed to 32 bits.
pub fn node_fingerprint(node_type: u8, name: &str) -> u32 {
    let mut h = 0xcbf29ce484222325u64;
    fnv(&mut h, &[node_type]);
    fnv(&mut h, name.as_bytes());
    (h ^ (h >> 32)) as u32
}

/// Hash of the header lists that change between V8 versions.
pub fn format_hash(meta: &Meta) -> u64 {
    let mut h = 0xcbf29ce484222325u64;
    for list in [
        &meta.node_fields,
        &meta.node_types,
        &meta.edge_fields,
        &meta.edge_types,
    ] {
        for s in list.iter() {
            fnv(&mut h, s.as_bytes());
            fnv(&mut h, &[0]);
        }
        fnv(&mut h, &[1]);
    }
    h
}

impl SnapshotIds {
    /// From the parsed columns (no graph needed).
    pub fn from_raw(raw: &RawSnapshot) -> SnapshotIds {
        let n = raw.node_count();
        // On both cores: a tenth of `leaks` on 1 GB snapshots was here.
        let mut pairs: Vec<(u32, u32)> = (0..n)
            .into_par_iter()
            .map(|o| {
                let name = raw.strings.get(raw.node_name[o]);
                (raw.node_id[o], node_fingerprint(raw.node_type[o], name))
            })
            .collect();
        pairs.par_sort_unstable_by_key(|p| p.0);
        pairs.dedup_by_key(|p| p.0);
        let total: u64 = raw.node_self.iter().sum::<u64>() + raw.meta.extra_native_bytes;
        SnapshotIds {
            ids: pairs.iter().map(|p| p.0).collect(),
            fingerprints: pairs.iter().map(|p| p.1).collect(),
            node_count: n as u64,
            total_bytes: total,
            format: format_hash(&raw.meta),
        }
    }

    /// From an analysed graph (contract C1).
    pub fn from_graph(g: &HeapGraph) -> SnapshotIds {
        SnapshotIds::from_raw(&g.raw)
    }

    /// Whether the snapshot holds an object with this id.
    pub fn contains(&self, id: u32) -> bool {
        self.ids.binary_search(&id).is_ok()
    }

    /// The fingerprint of the object with this id, if present.
    pub fn fingerprint(&self, id: u32) -> Option<u32> {
        self.ids
            .binary_search(&id)
            .ok()
            .and_then(|i| self.fingerprints.get(i).copied())
    }

    /// Largest odd id (V8 heap objects have odd ids; embedder objects even ones).
    pub fn max_heap_id(&self) -> u32 {
        self.ids
            .iter()
            .rev()
            .find(|&&i| i % 2 == 1)
            .copied()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_tell_type_and_name_apart() {
        assert_ne!(node_fingerprint(3, "Map"), node_fingerprint(3, "Set"));
        assert_ne!(node_fingerprint(3, "Map"), node_fingerprint(2, "Map"));
        assert_eq!(node_fingerprint(3, "Map"), node_fingerprint(3, "Map"));
    }
}
