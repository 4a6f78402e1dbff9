//! `memsleuth leaks` through the binary on the committed heap fixtures (real Node 20/22 and
//! Chromium snapshots made by `tests/fixtures/heap/gen-*.js`): `--top`, the snapshot checks
//! (out of order, another V8 version) and the JSON contract's added fields.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/heap")
        .join(name)
}

fn leaks(files: &[&str], extra: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_memsleuth"))
        .arg("leaks")
        .args(files.iter().map(|f| fixture(f)))
        .args(["--format", "json"])
        .args(extra)
        .output()
        .expect("run memsleuth");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (
        out.status.code(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const SEQ: [&str; 3] = [
    "node20-seq-1.heapsnapshot.gz",
    "node20-seq-2.heapsnapshot.gz",
    "node20-seq-3.heapsnapshot.gz",
];

#[test]
fn top_keeps_the_largest_findings_and_fail_on_leak_exits_1() {
    let (code, all, _) = leaks(&SEQ, &[]);
    assert_eq!(code, Some(0));
    let all = all["findings"].as_array().unwrap().clone();
    assert!(all.len() >= 2, "{all:#?}");
    let (code, top, _) = leaks(&SEQ, &["--top", "1", "--fail-on-leak"]);
    assert_eq!(code, Some(1));
    let top = top["findings"].as_array().unwrap();
    assert_eq!(top.len(), 1);
    assert_eq!(top[0], all[0]);
}

#[test]
fn findings_carry_units_owner_and_what_they_keep() {
    let (_, out, _) = leaks(&SEQ, &[]);
    let findings = out["findings"].as_array().unwrap();
    // gen-seq.js: LeakyThing instances pushed onto the module array `leaks`, and 'tick'
    // listeners on the EventEmitter `bus`.
    let things = findings
        .iter()
        .find(|f| f["class"] == "LeakyThing")
        .expect("the LeakyThing leak");
    assert_eq!(things["pattern"], "unbounded-collection");
    assert_eq!(things["owner"]["name"], "leaks");
    assert_eq!(things["count"], 600);
    assert_eq!(things["growth"], serde_json::json!([0, 300, 600]));
    let listeners = findings
        .iter()
        .find(|f| f["pattern"] == "event-listener")
        .expect("the listener leak");
    assert_eq!(listeners["unit"], "listener");
    assert_eq!(listeners["owner"]["name"], "bus");
    assert!(listeners["location_source"].is_string());
    assert!(things["keeps"].is_array());
}

#[test]
fn snapshots_out_of_order_exit_2_naming_the_file() {
    let (code, _, err) = leaks(&[SEQ[0], SEQ[2], SEQ[1]], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("node20-seq-2.heapsnapshot.gz"), "{err}");
    assert!(err.contains("out of order"), "{err}");
}

#[test]
fn snapshots_of_another_v8_version_exit_2_naming_the_file() {
    let (code, _, err) = leaks(&[SEQ[0], SEQ[1], "node22-seq-3.heapsnapshot.gz"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("node22-seq-3.heapsnapshot.gz"), "{err}");
}

#[test]
fn chromium_snapshots_are_read() {
    let (code, out, err) = leaks(
        &[
            "chromium-seq-1.heapsnapshot.gz",
            "chromium-seq-2.heapsnapshot.gz",
        ],
        &[],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out["snapshots"].as_array().unwrap().len(), 2);
}
