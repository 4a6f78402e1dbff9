//! Snapshots with allocation stacks: scenario and library services run with allocation
//! tracking (`node --track-heap-objects`, or `HeapProfiler.startTrackingHeapObjects` over the
//! inspector before the load), so `trace_function_infos` / `trace_tree` are filled. The
//! finding's location must be the exact allocating line: the start of the innermost user
//! function that allocated the leaked objects (`tests/alloc/manifest.json`, hold-out in
//! `holdout-manifest.json`), not the container's declaration.

mod leak_suite_support;

use leak_suite_support::*;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize, Clone)]
struct AllocCase {
    #[serde(flatten)]
    expect: Expect,
    program: String,
    #[serde(default)]
    scenario: bool,
    mode: String,
    #[serde(default)]
    warmup: u32,
    #[serde(default)]
    iterations: u32,
    #[serde(default)]
    requests: Vec<Value>,
}

#[test]
fn locations_come_exactly_from_allocation_stacks() {
    require_npm("tests/drive", "ws");
    require_npm("tests/libs", "express");
    let dir = repo().join("tests/alloc");
    let mut cases: Vec<AllocCase> = read_manifest(&dir.join("manifest.json"));
    cases.extend(read_manifest::<AllocCase>(
        &dir.join("holdout-manifest.json"),
    ));
    let cases = selected(cases, |c| &c.expect.case);
    let rows = pool(&cases, jobs(), |c| {
        let e = &c.expect;
        let out = CaseDir::new("alloc", &e.case);
        let mut spec = json!({
            "service": repo().join(&c.program),
            "mode": c.mode,
            "track_allocations": true,
            "concurrency": 8,
        });
        if c.scenario {
            spec["scenario"] = json!(true);
            spec["env"] = json!({"MEMSLEUTH_SCENARIO_DEADLINE_MS": "180000"});
        } else {
            spec["warmup"] = json!(c.warmup);
            spec["iterations"] = json!(c.iterations);
            spec["requests"] = json!(c.requests);
        }
        if let Err(err) = drive(&spec, out.path()) {
            return Row::broken(e, err);
        }
        let run = memsleuth_leaks(&three_snapshots(out.path()));
        out.keep_json(&run);
        let mut row = Row::new(e, judge(e, &run));
        row.case = format!("{} ({})", e.case, c.mode);
        row
    });
    assert_all_pass("alloc-stacks", &rows);
}
