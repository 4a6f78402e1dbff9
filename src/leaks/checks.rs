//! Snapshot checks before any leak is looked for: the snapshots must come from one process
//! and be given oldest first, or every difference between them looks like a leak.
//!
//! - **One process.** V8 keeps an object's id for the life of the process, so the ids two
//!   snapshots share name the same objects: the same type and name (fingerprints in
//!   [`SnapshotIds`]). Two processes hand out ids in the same way from 1, so they share
//!   many ids too, but behind a shared id sit different objects. Snapshots of different
//!   V8 versions differ already in their header's type and field lists.
//! - **In order.** Ids only grow within a process: every object a later snapshot holds
//!   that an earlier one does not was given an id above all the earlier snapshot's ids.
//!   In a reversed pair, the objects only the later-given snapshot holds are objects that
//!   died, with ids below the other's.

use crate::heap::ids::SnapshotIds;

/// A snapshot that does not belong: the file and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckError {
    pub file: String,
    pub message: String,
}

impl std::fmt::Display for CheckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

impl std::error::Error for CheckError {}

/// Shared ids and how many of them carry the same fingerprint.
fn shared(a: &SnapshotIds, b: &SnapshotIds) -> (u64, u64) {
    let (mut i, mut j) = (0, 0);
    let (mut common, mut same) = (0u64, 0u64);
    while i < a.ids.len() && j < b.ids.len() {
        match a.ids[i].cmp(&b.ids[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                // Embedder objects (even ids) may be renumbered; heap objects are not.
                if a.ids[i] % 2 == 1 {
                    common += 1;
                    if a.fingerprints.get(i) == b.fingerprints.get(j) {
                        same += 1;
                    }
                }
                i += 1;
                j += 1;
            }
        }
    }
    (common, same)
}

/// Whether two snapshots come from one process, with the evidence as text.
fn same_process(a: &SnapshotIds, b: &SnapshotIds) -> Result<(), String> {
    if a.format != b.format {
        return Err(
            "it was written by a different V8 version (its snapshot format differs)".into(),
        );
    }
    let (common, same) = shared(a, b);
    let smaller = a.ids.len().min(b.ids.len()).max(1) as f64;
    if (common as f64) < 0.02 * smaller {
        return Err(format!(
            "it shares almost no objects with it ({common} common ids out of {} and {})",
            a.ids.len(),
            b.ids.len()
        ));
    }
    // Within one process at least 99.99% of the shared ids name the same object (measured
    // on Node 20/22/24 and Chromium; the rest are strings V8 rewrote). Two runs of one
    // program share ids too: the startup heap is laid out alike, but V8's per-process hash
    // seed orders the internalized strings differently, and about 10% differ.
    let ratio = same as f64 / common.max(1) as f64;
    if ratio < 0.99 {
        return Err(format!(
            "of the {common} object ids they share, only {:.0}% name the same object (within one process an id always names the same object)",
            ratio * 100.0
        ));
    }
    Ok(())
}

/// Fraction of the heap objects only `b` holds whose ids are below `a`'s largest: near 0
/// when `b` was taken after `a`, near 1 when before.
fn older_fraction(a: &SnapshotIds, b: &SnapshotIds) -> (u64, f64) {
    let max_a = a.max_heap_id();
    let (mut only_b, mut below) = (0u64, 0u64);
    for &id in &b.ids {
        if id % 2 == 1 && !a.contains(id) {
            only_b += 1;
            if id < max_a {
                below += 1;
            }
        }
    }
    (only_b, below as f64 / only_b.max(1) as f64)
}

/// Checks snapshots given oldest first (file name, ids).
pub fn check(snaps: &[(&str, &SnapshotIds)]) -> Result<(), CheckError> {
    let n = snaps.len();
    if n < 2 {
        return Ok(());
    }
    // One process: count, per snapshot, the others it does not match.
    let mut fails = vec![0usize; n];
    let mut first_reason: Vec<Option<(usize, String)>> = vec![None; n];
    for i in 0..n {
        for j in i + 1..n {
            if let Err(why) = same_process(snaps[i].1, snaps[j].1) {
                fails[i] += 1;
                fails[j] += 1;
                if first_reason[j].is_none() {
                    first_reason[j] = Some((i, why.clone()));
                }
                if first_reason[i].is_none() {
                    first_reason[i] = Some((j, why));
                }
            }
        }
    }
    if let Some(worst) = (0..n).max_by_key(|&k| fails[k])
        && fails[worst] > 0
    {
        // The snapshot failing against the most others; ties go to the later one.
        let (other, why) = first_reason[worst].clone().unwrap_or((0, String::new()));
        return Err(CheckError {
            file: snaps[worst].0.to_string(),
            message: format!(
                "does not come from the same process as {}: {why}. Give snapshots of one process, oldest first",
                snaps[other].0
            ),
        });
    }
    // Order: each snapshot after the one before it.
    for k in 1..n {
        let (only_b, frac) = older_fraction(snaps[k - 1].1, snaps[k].1);
        if only_b >= 16 && frac > 0.5 {
            return Err(CheckError {
                file: snaps[k].0.to_string(),
                message: format!(
                    "is out of order: it was taken before {}, but is given after it ({:.0}% of the objects only it holds have older ids). Give the snapshots oldest first",
                    snaps[k - 1].0,
                    frac * 100.0
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(pairs: &[(u32, u32)], format: u64) -> SnapshotIds {
        SnapshotIds {
            ids: pairs.iter().map(|p| p.0).collect(),
            fingerprints: pairs.iter().map(|p| p.1).collect(),
            node_count: pairs.len() as u64,
            total_bytes: 0,
            format,
        }
    }

    fn seq(from: u32, to: u32, fp: u32) -> Vec<(u32, u32)> {
        (from..to)
            .filter(|i| i % 2 == 1)
            .map(|i| (i, i ^ fp))
            .collect()
    }

    #[test]
    fn one_process_in_order_passes() {
        let a = ids(&seq(1, 1000, 0), 7);
        let mut bv = seq(1, 800, 0);
        bv.extend(seq(1000, 1400, 0));
        let b = ids(&bv, 7);
        assert_eq!(check(&[("a", &a), ("b", &b)]), Ok(()));
    }

    #[test]
    fn reversed_snapshots_name_the_file_out_of_order() {
        let a = ids(&seq(1, 1000, 0), 7);
        let mut bv = seq(1, 800, 0);
        bv.extend(seq(1000, 1400, 0));
        let b = ids(&bv, 7);
        let e = check(&[("later", &b), ("earlier", &a)]).unwrap_err();
        assert_eq!(e.file, "earlier");
        assert!(e.message.contains("out of order"), "{e}");
        assert!(e.message.contains("taken before later"), "{e}");
    }

    #[test]
    fn another_process_is_named_foreign() {
        let a = ids(&seq(1, 1000, 0), 7);
        let b = ids(&seq(1, 1200, 0), 7);
        let other = ids(&seq(1, 1300, 0x55), 7);
        let e = check(&[("a", &a), ("x", &other), ("b", &b)]).unwrap_err();
        assert_eq!(e.file, "x");
        let v = ids(&seq(1, 1300, 0), 9);
        let e = check(&[("a", &a), ("v", &v)]).unwrap_err();
        assert!(e.message.contains("V8 version"), "{e}");
    }
}
