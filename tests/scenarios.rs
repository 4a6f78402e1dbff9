//! The scenario suite: real Node programs in `tests/scenarios/` that leak (at least two per
//! pattern, in different styles) or do not (controls). Each is run with real Node to take
//! three snapshots, then `memsleuth leaks` must name the right pattern and the right file
//! and line (or the collection's name on the retainer path); controls must yield nothing.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

#[derive(Deserialize, Debug, Clone)]
struct Entry {
    program: String,
    leaks: bool,
    #[serde(default)]
    pattern: Option<String>,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    line: Option<u32>,
    #[serde(default)]
    collection: Option<String>,
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios")
}

/// Runs one program and `memsleuth leaks` on its snapshots; returns an error text or None.
fn check(e: &Entry) -> Option<String> {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new("node")
        .arg("--expose-gc")
        .arg(dir().join(&e.program))
        .arg(tmp.path())
        .env("MEMSLEUTH_SCENARIO_DEADLINE_MS", "60000")
        .output()
        .expect("node runs");
    if !out.status.success() {
        return Some(format!(
            "{}: node failed: {}",
            e.program,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let snaps: Vec<PathBuf> = (1..=3)
        .map(|i| tmp.path().join(format!("s{i}.heapsnapshot")))
        .collect();
    let res = Command::new(env!("CARGO_BIN_EXE_memsleuth"))
        .arg("leaks")
        .args(&snaps)
        .args(["--format", "json", "--fail-on-leak"])
        .output()
        .unwrap();
    let code = res.status.code();
    let json: serde_json::Value = match serde_json::from_slice(&res.stdout) {
        Ok(v) => v,
        Err(err) => {
            return Some(format!(
                "{}: bad JSON ({err}); stderr {}",
                e.program,
                String::from_utf8_lossy(&res.stderr)
            ));
        }
    };
    let findings = json["findings"].as_array().cloned().unwrap_or_default();
    if !e.leaks {
        if !findings.is_empty() || code != Some(0) {
            let first = &findings[0];
            return Some(format!(
                "{}: control has {} findings (exit {code:?}), first: {} {} × {} growth {}",
                e.program,
                findings.len(),
                first["pattern"],
                first["count"],
                first["class"],
                first["growth"]
            ));
        }
        return None;
    }
    if code != Some(1) {
        return Some(format!("{}: exit {code:?} with --fail-on-leak", e.program));
    }
    let Some(top) = findings.first() else {
        return Some(format!("{}: no finding", e.program));
    };
    let pattern = top["pattern"].as_str().unwrap_or("");
    let want = e.pattern.as_deref().unwrap_or("");
    let mut errs = Vec::new();
    if pattern != want {
        errs.push(format!("pattern {pattern}, want {want}"));
    }
    let file = top["location"]["file"].as_str().unwrap_or("");
    let line = top["location"]["line"].as_u64().map(|l| l as u32);
    let want_file = e.file.as_deref().unwrap_or(&e.program);
    let loc_ok = file.ends_with(want_file) && line == e.line;
    let path_names: Vec<String> = top["retainer_path"]
        .as_array()
        .map(|p| {
            p.iter()
                .map(|s| s["edge"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    let coll_ok = e
        .collection
        .as_ref()
        .is_some_and(|c| path_names.iter().any(|n| n == c));
    if !loc_ok && !coll_ok {
        errs.push(format!(
            "location {file}:{line:?}, want {want_file}:{:?}; path edges {:?}",
            e.line, path_names
        ));
    }
    if errs.is_empty() {
        None
    } else {
        Some(format!("{}: {}", e.program, errs.join("; ")))
    }
}

#[test]
fn leaks_are_found_with_pattern_and_line_and_controls_are_clean() {
    let manifest: Vec<Entry> =
        serde_json::from_str(&std::fs::read_to_string(dir().join("manifest.json")).unwrap())
            .unwrap();
    let leaks = manifest.iter().filter(|e| e.leaks).count();
    let controls = manifest.len() - leaks;
    assert!(
        leaks >= 12 && controls >= 5,
        "{leaks} leaks, {controls} controls"
    );
    let queue = Mutex::new(manifest.clone());
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let Some(e) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    if let Some(f) = check(&e) {
                        failures.lock().unwrap().push(f);
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {} scenarios failed:\n{}",
        failures.len(),
        manifest.len(),
        failures.join("\n")
    );
}
