//! The scenario programs of `tests/scenarios/` (and their hold-outs) as HTTP services: every
//! request is the handler of a real `http` server on 127.0.0.1, driven by a separate load
//! process (`tests/drive/drive.js`), and the three snapshots are taken the ways people take
//! them: from inside a request handler (`/debug/heapdump`, `v8.writeHeapSnapshot`) while
//! other requests are in flight, with `--heapsnapshot-signal=SIGUSR2` between bursts of
//! load, and over the inspector protocol (`HeapProfiler.takeHeapSnapshot`). The expected
//! answers are the scenarios' own manifests; controls must have no findings. The hold-out
//! programs also run in-process, the way `tests/scenarios.rs` runs the others.
//!
//! Each test prints a score table (also written to `target/tmp/leak-suites/`).

mod leak_suite_support;

use leak_suite_support::*;
use serde_json::json;
use std::process::Command;

fn cases() -> Vec<Expect> {
    let dir = repo().join("tests/scenarios");
    let mut all: Vec<Expect> = read_manifest(&dir.join("manifest.json"));
    all.extend(read_manifest::<Expect>(&dir.join("holdout-manifest.json")));
    selected(all, |e| &e.case)
}

fn served(mode: &str, suite: &str) {
    require_npm("tests/drive", "ws");
    let cases = cases();
    let rows = pool(&cases, jobs(), |e| {
        let dir = CaseDir::new(suite, e.case.trim_end_matches(".js"));
        let spec = json!({
            "service": repo().join("tests/scenarios").join(&e.case),
            "scenario": true,
            "mode": mode,
            "concurrency": 8,
            "env": {"MEMSLEUTH_SCENARIO_DEADLINE_MS": "180000"},
        });
        if let Err(err) = drive(&spec, dir.path()) {
            return Row::broken(e, err);
        }
        // The in-request style is only what it claims if handlers were mid-flight.
        if mode == "handler" {
            let facts: serde_json::Value = std::fs::read(dir.path().join("drive.json"))
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
            let in_flight: Vec<u64> = facts["snapshots"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|s| s["inFlight"].as_u64().unwrap_or(0))
                        .collect()
                })
                .unwrap_or_default();
            if in_flight.len() != 3 || in_flight.contains(&0) {
                return Row::broken(e, format!("requests in flight per snapshot: {in_flight:?}"));
            }
        }
        let run = memsleuth_leaks(&three_snapshots(dir.path()));
        dir.keep_json(&run);
        Row::new(e, judge(e, &run))
    });
    assert_all_pass(suite, &rows);
}

#[test]
fn scenarios_snapshotted_inside_a_request_handler_with_requests_in_flight() {
    served("handler", "scenarios-handler");
}

#[test]
fn scenarios_snapshotted_by_signal_between_bursts_of_load() {
    served("signal", "scenarios-signal");
}

#[test]
fn scenarios_snapshotted_over_the_inspector_protocol() {
    served("inspector", "scenarios-inspector");
}

/// The hold-out programs in the harness's own in-process mode (`tests/scenarios.rs` runs
/// the others that way).
#[test]
fn holdout_scenarios_in_process() {
    let cases: Vec<Expect> = cases().into_iter().filter(|e| e.holdout).collect();
    if cases.is_empty() {
        // MEMSLEUTH_SUITE_ONLY selected no hold-out.
        return;
    }
    let rows = pool(&cases, jobs(), |e| {
        let dir = CaseDir::new(
            "scenarios-holdout-in-process",
            e.case.trim_end_matches(".js"),
        );
        let mut cmd = Command::new("node");
        cmd.arg("--expose-gc")
            .arg(repo().join("tests/scenarios").join(&e.case))
            .arg(dir.path())
            .env("MEMSLEUTH_SCENARIO_DEADLINE_MS", "60000");
        let out = run_in_group(cmd);
        if !out.status.success() {
            return Row::broken(
                e,
                format!(
                    "node failed: {}",
                    tail(&String::from_utf8_lossy(&out.stderr), 800)
                ),
            );
        }
        let run = memsleuth_leaks(&three_snapshots(dir.path()));
        dir.keep_json(&run);
        Row::new(e, judge(e, &run))
    });
    assert_all_pass("scenarios-holdout-in-process", &rows);
}
