//! The real-library suite: small express or plain `http` services in `tests/libs/services/`
//! whose leak lives inside a real, pinned npm package (session store, cache, memoizer,
//! reactive subject, router, logger, HTTP agent, event libraries), from ordinary misuse in
//! the service's own code, plus controls that use the same packages correctly. Each service
//! runs as its own process, is driven over loopback by `tests/drive/drive.js`, and is
//! snapshotted the way its manifest entry says (signal, inspector or in-request).
//!
//! Expected answer per case (`tests/libs/manifest.json`, hold-outs in
//! `holdout-manifest.json`): the pattern of the top finding, and either the user's line
//! (`file`:`line`, the line of the service that creates the leak) or the library holder's
//! name on the retainer path (or as the finding's owner / library holder). Controls: no
//! finding. The score table is printed and written to `target/tmp/leak-suites/libs.txt`.

mod leak_suite_support;

use leak_suite_support::*;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize, Clone)]
struct LibCase {
    #[serde(flatten)]
    expect: Expect,
    service: String,
    mode: String,
    #[serde(default)]
    upstream: bool,
    warmup: u32,
    iterations: u32,
    requests: Vec<Value>,
}

#[test]
fn leaks_inside_real_npm_packages_are_found_and_controls_are_clean() {
    require_npm("tests/drive", "ws");
    require_npm("tests/libs", "express");
    let dir = repo().join("tests/libs");
    let mut cases: Vec<LibCase> = read_manifest(&dir.join("manifest.json"));
    cases.extend(read_manifest::<LibCase>(&dir.join("holdout-manifest.json")));
    let cases = selected(cases, |c| &c.expect.case);
    let leaks = cases.iter().filter(|c| c.expect.leaks).count();
    assert!(
        std::env::var("MEMSLEUTH_SUITE_ONLY").is_ok() || leaks >= 8,
        "the suite needs at least 8 leaks, has {leaks}"
    );
    let rows = pool(&cases, jobs(), |c| {
        let e = &c.expect;
        let out = CaseDir::new("libs", &e.case);
        let mut spec = json!({
            "service": dir.join(&c.service),
            "mode": c.mode,
            "warmup": c.warmup,
            "iterations": c.iterations,
            "requests": c.requests,
            "concurrency": 8,
        });
        if c.upstream {
            spec["upstream"] = json!(dir.join("upstream.js"));
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
    assert_all_pass("libs", &rows);
}
