//! Golden tests of the heap engine against Chrome DevTools' own numbers.
//!
//! `tests/fixtures/heap/` holds snapshots made by real Node (20, 22, 24) from the programs
//! beside them, and the answers of the DevTools oracle (`shared/tools/devtools-oracle`):
//! `NAME.summary.tsv.gz` (every Summary row) and `NAME.nodes.tsv.gz` (every node's adjusted
//! self size, retained size, distance, dominator, class name). Every one must be equal.

use flate2::read::GzDecoder;
use memsleuth::heap::{self, summary};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/heap")
}

fn read_gz(p: &Path) -> String {
    let f = std::fs::File::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut s = String::new();
    if p.extension().is_some_and(|e| e == "gz") {
        GzDecoder::new(f).read_to_string(&mut s).unwrap();
    } else {
        std::io::BufReader::new(f).read_to_string(&mut s).unwrap();
    }
    s
}

/// Snapshots that have oracle answers beside them: `(snapshot, prefix)`.
fn golden_snapshots() -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    if let Ok(extra) = std::env::var("MEMSLEUTH_EXTRA_GOLDEN") {
        // `snapshot:prefix` pairs, for checking snapshots that are not committed.
        for pair in extra.split(',') {
            if let Some((s, p)) = pair.split_once(':') {
                out.push((PathBuf::from(s), PathBuf::from(p)));
            }
        }
    }
    let Ok(rd) = std::fs::read_dir(fixtures()) else {
        return out;
    };
    let mut names: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    names.sort();
    for p in names {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if let Some(stem) = name.strip_suffix(".heapsnapshot.gz") {
            let prefix = p.with_file_name(stem);
            if Path::new(&format!("{}.summary.tsv.gz", prefix.display())).exists() {
                out.push((p.clone(), prefix));
            }
        }
    }
    out
}

fn open_answer(prefix: &Path, what: &str) -> Option<String> {
    for ext in [".gz", ""] {
        let p = PathBuf::from(format!("{}.{what}.tsv{ext}", prefix.display()));
        if p.exists() {
            return Some(read_gz(&p));
        }
    }
    None
}

type Row = (String, u64, u64, u64, i64);

fn oracle_summary(text: &str) -> (u64, BTreeMap<String, Row>) {
    let mut total = 0;
    let mut rows = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# totalSize (root retained) ") {
            total = rest.trim().parse::<f64>().unwrap() as u64;
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let p: Vec<&str> = line.split('\t').collect();
        assert!(p.len() >= 6, "bad oracle row {line:?}");
        // The key may itself hold tabs only if a class name does; names come last-but-4.
        let n = p.len();
        let key = p[..n - 5].join("\t");
        rows.insert(
            key,
            (
                p[n - 5].to_string(),
                p[n - 4].parse().unwrap(),
                p[n - 3].parse::<f64>().unwrap() as u64,
                p[n - 2].parse::<f64>().unwrap() as u64,
                p[n - 1].parse().unwrap(),
            ),
        );
    }
    (total, rows)
}

#[test]
fn every_summary_row_equals_devtools() {
    let snaps = golden_snapshots();
    assert!(
        !snaps.is_empty(),
        "no golden snapshots in {}",
        fixtures().display()
    );
    // Both ways of loading: everything (`leaks`, `path`) and what `summary` and `diff` load
    // (no retainer lists, no text of strings that only name string nodes).
    let loads = [
        ("full", heap::LoadOptions::full()),
        ("summary", heap::LoadOptions::summary()),
    ];
    for ((snap, prefix), (how, opts)) in snaps
        .iter()
        .flat_map(|sp| loads.iter().map(move |l| (sp, l)))
    {
        let g = heap::load_with(snap.to_str().unwrap(), &|_| {}, opts).unwrap();
        let s = summary::summarize(&g, "x", 10);
        let Some(text) = open_answer(prefix, "summary") else {
            continue;
        };
        let snap = PathBuf::from(format!("{} ({how} load)", snap.display()));
        let (total, want) = oracle_summary(&text);
        assert_eq!(s.total_bytes, total, "{}: total size", snap.display());
        let got: BTreeMap<String, Row> = s
            .classes
            .iter()
            .map(|c| {
                (
                    c.key.clone(),
                    (
                        c.name.clone(),
                        c.count,
                        c.shallow_bytes,
                        c.retained_bytes,
                        c.distance as i64,
                    ),
                )
            })
            .collect();
        let mut diffs = Vec::new();
        for k in want.keys().chain(got.keys()) {
            if want.get(k) != got.get(k) {
                diffs.push(format!(
                    "{k:?}: devtools {:?} memsleuth {:?}",
                    want.get(k),
                    got.get(k)
                ));
            }
        }
        diffs.dedup();
        assert!(
            diffs.is_empty(),
            "{}: {} Summary rows differ, first: {:#?}",
            snap.display(),
            diffs.len(),
            &diffs[..diffs.len().min(10)]
        );
    }
}

#[test]
fn every_node_equals_devtools() {
    let mut checked = 0;
    for (snap, prefix) in golden_snapshots() {
        let Some(text) = open_answer(&prefix, "nodes") else {
            continue;
        };
        let g = heap::load(snap.to_str().unwrap(), &|_| {}).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        assert!(
            header.starts_with("ordinal\tid\ttype\tclassName"),
            "{header}"
        );
        let mut n = 0;
        let mut diffs = Vec::new();
        for line in lines {
            if line.is_empty() {
                continue;
            }
            let p: Vec<&str> = line.split('\t').collect();
            let o: u32 = p[0].parse().unwrap();
            let want_class: String = serde_json::from_str(p[3]).unwrap_or_else(|_| p[3].into());
            let got = (
                g.id(o).to_string(),
                g.node_type_name(o).to_string(),
                g.class_name(o).to_string(),
                g.self_size[o as usize],
                g.retained[o as usize],
                g.distance[o as usize] as i64,
                g.idom[o as usize] as u64,
                g.det_state[o as usize] as u64,
            );
            let want = (
                p[1].to_string(),
                p[2].to_string(),
                want_class,
                p[4].parse::<f64>().unwrap() as u64,
                p[5].parse::<f64>().unwrap() as u64,
                p[6].parse::<i64>().unwrap(),
                p[7].parse::<u64>().unwrap(),
                p[8].parse::<u64>().unwrap(),
            );
            if got != want && diffs.len() < 10 {
                diffs.push(format!("node {o}: devtools {want:?} memsleuth {got:?}"));
            }
            n += 1;
        }
        assert_eq!(n, g.n_nodes(), "{}: node count", snap.display());
        assert!(diffs.is_empty(), "{}: {:#?}", snap.display(), diffs);
        checked += 1;
    }
    assert!(checked > 0, "no per-node golden files found");
}

/// `memsleuth diff` against DevTools' Comparison view on every golden pair
/// (`NAME-A-B.diff.tsv.gz` compares `NAME-A` with `NAME-B`), as sets of rows.
#[test]
fn every_comparison_row_equals_devtools() {
    use memsleuth::heap::diff;
    let mut checked = 0;
    let mut names: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    names.sort();
    for p in names {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let Some(stem) = name.strip_suffix(".diff.tsv.gz") else {
            continue;
        };
        // stem = PREFIX-A-B
        let mut parts = stem.rsplitn(3, '-');
        let (b, a, prefix) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let base = fixtures().join(format!("{prefix}-{a}.heapsnapshot.gz"));
        let cur = fixtures().join(format!("{prefix}-{b}.heapsnapshot.gz"));
        // Loaded as `memsleuth diff` loads them.
        let opts = heap::LoadOptions::summary();
        let gb = heap::load_with(base.to_str().unwrap(), &|_| {}, &opts).unwrap();
        let gc = heap::load_with(cur.to_str().unwrap(), &|_| {}, &opts).unwrap();
        let c = diff::compare(&gb, &gc, "a", "b");
        let got: BTreeMap<String, Vec<String>> = c
            .classes
            .iter()
            .map(|r| {
                (
                    r.key.clone(),
                    vec![
                        r.name.clone(),
                        r.added_count.to_string(),
                        r.removed_count.to_string(),
                        r.count_delta.to_string(),
                        r.added_bytes.to_string(),
                        r.removed_bytes.to_string(),
                        r.size_delta.to_string(),
                    ],
                )
            })
            .collect();
        let want: BTreeMap<String, Vec<String>> = read_gz(&p)
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                let n = f.len();
                (
                    f[..n - 7].join("\t"),
                    f[n - 7..].iter().map(|s| s.to_string()).collect(),
                )
            })
            .collect();
        assert_eq!(got, want, "{name}: Comparison rows differ");
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} golden comparisons found");
}
