//! The browser suite: pages of `tests/browser/pages/` loaded in headless Debian Chromium, the
//! page's own buttons clicked over the DevTools protocol, three snapshots taken with
//! `HeapProfiler.takeHeapSnapshot` (`tests/browser/drive-page.js`). Leaks: detached DOM kept
//! in an array or a Map, window and document listeners added per render, a listener on a live
//! node that keeps removed nodes, intervals per widget, a cache on `window`; controls: clean
//! pages. Expected answer per case in `tests/browser/manifest.json` (hold-outs in
//! `holdout-manifest.json`): the pattern, and the page script's line or the holder's name.
//! (Summary and Comparison on Chromium snapshots are checked against DevTools by
//! `tests/heap_golden.rs`, fixtures `chromium-seq-*`.)

mod leak_suite_support;

use leak_suite_support::*;
use serde::Deserialize;
use serde_json::json;
use std::process::Command;

#[derive(Deserialize, Clone)]
struct PageCase {
    #[serde(flatten)]
    expect: Expect,
    page: String,
    actions: Vec<String>,
    warmup: u32,
    iterations: u32,
}

#[test]
fn page_leaks_are_found_with_the_page_script_line_and_clean_pages_are_clean() {
    require_npm("tests/drive", "ws");
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium is missing: run scripts/setup.sh"
    );
    let dir = repo().join("tests/browser");
    let mut cases: Vec<PageCase> = read_manifest(&dir.join("manifest.json"));
    cases.extend(read_manifest::<PageCase>(
        &dir.join("holdout-manifest.json"),
    ));
    let cases = selected(cases, |c| &c.expect.case);
    let rows = pool(&cases, jobs(), |c| {
        let e = &c.expect;
        let out = CaseDir::new("browser", &e.case);
        let spec = json!({
            "page": c.page,
            "actions": c.actions,
            "warmup": c.warmup,
            "iterations": c.iterations,
        });
        let mut cmd = Command::new("node");
        cmd.arg(dir.join("drive-page.js"))
            .arg(spec.to_string())
            .arg(out.path());
        let res = run_in_group(cmd);
        if !res.status.success() {
            return Row::broken(
                e,
                format!(
                    "drive-page.js failed ({}): {}",
                    res.status,
                    tail(&String::from_utf8_lossy(&res.stderr), 1500)
                ),
            );
        }
        let run = memsleuth_leaks(&three_snapshots(out.path()));
        out.keep_json(&run);
        Row::new(e, judge(e, &run))
    });
    assert_all_pass("browser", &rows);
}
