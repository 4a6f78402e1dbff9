//! Helpers shared by the report tests: run `memsleuth report` on the hand-written evidence
//! in `tests/fixtures/report/` inside a temporary directory, with relative paths so the
//! outputs do not depend on where the repository is.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report")
}

pub const SNAPSHOTS: [&str; 3] = [
    "snaps/Heap.20261124.101500.4242.0.001.heapsnapshot",
    "snaps/Heap.20261124.102000.4242.0.002.heapsnapshot",
    "snaps/Heap.20261124.102500.4242.0.003.heapsnapshot",
];

/// The evidence cases the tests run, by name.
pub fn case_args(case: &str) -> Vec<String> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut snaps = vec!["--snapshots".to_string()];
    snaps.extend(SNAPSHOTS.iter().map(|x| x.to_string()));
    match case {
        // everything: snapshots analysed by the leak finder, GC log, Prometheus
        "full" => [
            snaps,
            s(&[
                "--leaks-json",
                "leaks.json",
                "--gc-json",
                "gc.json",
                "--metrics-json",
                "metrics.json",
                "--service",
                "quotes-api",
                "--investigator",
                "On-call SRE",
            ]),
        ]
        .concat(),
        // a Python service profiled with memray, with an explicit memory limit
        "python" => s(&[
            "--python-json",
            "python.json",
            "--service",
            "etl-worker",
            "--memory-limit",
            "2G",
        ]),
        // only a GC log, with a memory limit lower than the heap limit it shows, the
        // severity set by hand, and load-test results
        "gc" => s(&[
            "--gc-json",
            "gc.json",
            "--memory-limit",
            "256M",
            "--severity",
            "high",
            "--service",
            "quotes-api",
            "--load-test-json",
            "loadtest.json",
        ]),
        // snapshots in which nothing leaked, and a flat Prometheus series
        "noleak" => [
            snaps,
            s(&[
                "--leaks-json",
                "noleak-leaks.json",
                "--metrics-json",
                "noleak-metrics.json",
                "--service",
                "quotes-api",
            ]),
        ]
        .concat(),
        // the leak finder's output with the fields of contract C2 (unit, name, owner, keeps,
        // location_source), made by the finder on the demo's snapshots
        "c2" => [
            snaps.clone(),
            s(&[
                "--leaks-json",
                "c2-leaks.json",
                "--gc-json",
                "gc.json",
                "--service",
                "demo-service",
            ]),
        ]
        .concat(),
        // no evidence at all: an error
        "empty" => s(&[]),
        // a real GC log of a Node program that leaks until V8's heap runs out
        "oom" => s(&[
            "--gc-log",
            "oom-crash.gc.log.gz",
            "--service",
            "records-api",
        ]),
        // the application log of the same program crashing twice under a restart loop
        "applog" => s(&["--app-log", "app.log.gz", "--service", "records-api"]),
        // the GC log of one crash and the application log of two others
        "oom-applog" => s(&[
            "--gc-log",
            "oom-crash.gc.log.gz",
            "--app-log",
            "app.log.gz",
            "--service",
            "records-api",
        ]),
        // a real 20 s GC log of a steady leak, with a limit too far to project to from it
        "short-far" => s(&[
            "--gc-log",
            "short-leak.gc.log.gz",
            "--service",
            "cache-api",
            "--memory-limit",
            "64G",
        ]),
        // the same log with a limit close enough to project to
        "short-near" => s(&[
            "--gc-log",
            "short-leak.gc.log.gz",
            "--service",
            "cache-api",
            "--memory-limit",
            "96M",
        ]),
        // class names, edges, code and file names full of HTML and script
        "hostile" => [
            snaps,
            s(&[
                "--leaks-json",
                "hostile-leaks.json",
                "--gc-json",
                "gc.json",
                "--service",
                "<script>alert('svc')</script>",
            ]),
        ]
        .concat(),
        other => panic!("unknown case {other}"),
    }
}

/// Runs the report for `case` in a fresh temporary directory; returns it and the output dir.
pub fn run_case(case: &str) -> (tempfile::TempDir, PathBuf) {
    let (tmp, out) = run_case_raw(case);
    assert!(
        out.status.success(),
        "memsleuth report {case} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tmp.path().join("out");
    (tmp, dir)
}

/// Runs the report for `case`; returns the temporary directory and the process output.
pub fn run_case_raw(case: &str) -> (tempfile::TempDir, std::process::Output) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("snaps")).unwrap();
    for s in SNAPSHOTS {
        std::fs::write(tmp.path().join(s), "fixture: not a real heap snapshot\n").unwrap();
    }
    for f in std::fs::read_dir(fixtures())
        .unwrap()
        .chain(std::fs::read_dir(fixtures().join("logs")).unwrap())
    {
        let f = f.unwrap().path();
        if f.extension().is_some_and(|e| e == "json" || e == "gz") {
            std::fs::copy(&f, tmp.path().join(f.file_name().unwrap())).unwrap();
        }
    }
    let mut args = vec!["report".to_string()];
    args.extend(case_args(case));
    args.extend(["--out".to_string(), "out".to_string()]);
    let out = Command::new(env!("CARGO_BIN_EXE_memsleuth"))
        .args(&args)
        .current_dir(tmp.path())
        .output()
        .unwrap();
    (tmp, out)
}

pub const OUTPUTS: [&str; 5] = [
    "report.md",
    "report.html",
    "report.json",
    "alerts.rules.yml",
    "grafana-dashboard.json",
];

/// Lines of a Markdown text outside fenced code blocks.
pub fn outside_fences(md: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut fence: Option<usize> = None;
    for line in md.lines() {
        let t = line.trim_start();
        let ticks = t.chars().take_while(|c| *c == '`').count();
        match fence {
            None if ticks >= 3 => fence = Some(ticks),
            Some(n) if ticks >= n && t[ticks..].trim().is_empty() => fence = None,
            None => out.push(line),
            Some(_) => {}
        }
    }
    out
}

/// The headings (`#`..`######`) of a Markdown text, outside code blocks.
pub fn headings(md: &str) -> Vec<String> {
    outside_fences(md)
        .into_iter()
        .filter(|l| l.starts_with('#'))
        .map(|l| l.trim_end().to_string())
        .collect()
}

/// The report template, which lives beside the repository (`../shared/`); a copy is kept in
/// `tests/fixtures/report/` for clones without it.
pub fn template() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = root.join("../shared/report-template.md");
    let p = if shared.exists() {
        shared
    } else {
        root.join("tests/fixtures/report/report-template.md")
    };
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("the report template must be at {}: {e}", p.display()))
}
