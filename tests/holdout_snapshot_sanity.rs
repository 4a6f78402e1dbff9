//! Hold-out cases of the snapshot sanity checks (see `tests/snapshot_sanity.rs`): if you work
//! on the finder, do not read this file. A middle snapshot from another program's process, and
//! one process's snapshots with the first two swapped, must exit 2 naming the file.

mod leak_suite_support;

use leak_suite_support::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn run(program: &str, dir: &Path, tag: &str) -> Vec<PathBuf> {
    let raw = dir.join(format!("{tag}-raw"));
    let mut cmd = Command::new("node");
    cmd.arg("--expose-gc")
        .arg(repo().join("tests/scenarios").join(program))
        .arg(&raw)
        .env("MEMSLEUTH_SCENARIO_DEADLINE_MS", "60000");
    let out = run_in_group(cmd);
    assert!(
        out.status.success(),
        "{program} failed: {}",
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

#[test]
fn holdout_foreign_middle_and_swapped_head_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = std::thread::scope(|s| {
        let ha = s.spawn(|| run("holdout-leak-timer-retry-delay.js", tmp.path(), "retry"));
        let hb = s.spawn(|| run("control-churn.js", tmp.path(), "churn"));
        (ha.join().unwrap(), hb.join().unwrap())
    });
    let cases: Vec<(&str, Vec<PathBuf>, Vec<String>)> = vec![
        (
            "middle snapshot from another program",
            vec![a[0].clone(), b[1].clone(), a[2].clone()],
            vec![name(&b[1])],
        ),
        (
            "first two swapped",
            vec![a[1].clone(), a[0].clone(), a[2].clone()],
            vec![name(&a[1]), name(&a[0])],
        ),
    ];
    let mut rows = Vec::new();
    for (case, files, names) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_memsleuth"))
            .arg("leaks")
            .args(&files)
            .output()
            .unwrap();
        let code = out.status.code();
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        let mut why = Vec::new();
        if code != Some(2) {
            why.push(format!("exit {code:?}"));
        }
        if !names.iter().any(|n| stderr.contains(n.as_str())) {
            why.push(format!("message names none of {}", names.join(", ")));
        }
        rows.push(Row {
            case: format!(
                "{case} [{}]",
                files.iter().map(|p| name(p)).collect::<Vec<_>>().join(" ")
            ),
            holdout: true,
            leaks: true,
            expected: format!("exit 2 naming {}", names.join(" or ")),
            got: format!(
                "exit {code:?}: {}",
                stderr.lines().next().unwrap_or_default()
            ),
            pass: why.is_empty(),
            why: why.join("; "),
        });
    }
    assert_all_pass("snapshot-sanity-holdout", &rows);
}
