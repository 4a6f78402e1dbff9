//! `memsleuth capture` and `memsleuth verify` on real Node services in `tests/services/`
//! (plain `http` and Express), each with a leaky and a fixed build, driven over loopback.
//!
//! What is asserted is what any correct capture and leak finder must say: the capture's
//! files and figures are complete and consistent; the leaky build leaks with the pattern and
//! line of its bug (lines are looked up in the source, not hard-coded); the fixed build does
//! not leak; `verify` says fixed (exit 0) for leaky -> fixed and persists (exit 1) for
//! leaky -> leaky (a second, independent capture).

mod live_support;
use live_support::*;
use std::path::Path;

/// Checks the files and figures every completed capture must have.
fn check_capture(dir: &Path, requests: u64, snapshots: usize) -> serde_json::Value {
    let c = read_json(&dir.join("capture.json"));
    assert_eq!(c["schema"], "memsleuth.capture.v1");
    assert_eq!(c["runtime"], "node");
    assert!(c["runtime_version"].as_str().unwrap().starts_with('v'));
    assert_eq!(c["command"][0], "node");
    assert!(c["url"].as_str().unwrap().starts_with("http://127.0.0.1:"));
    assert!(!c["url"].as_str().unwrap().contains("{port}"));
    assert_eq!(c["method"], "GET");
    assert_eq!(c["concurrency"], 8);
    assert!(c["started_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(c["requests_total"], requests);
    assert_eq!(c["errors"], 0, "{c}");
    let cps = c["checkpoints"].as_array().unwrap();
    assert_eq!(cps[0]["requests"], 0, "a baseline before the load");
    assert_eq!(cps.last().unwrap()["requests"], requests);
    let mut last = (0u64, -1.0f64);
    for k in cps {
        let r = k["requests"].as_u64().unwrap();
        let s = k["seconds"].as_f64().unwrap();
        assert!(r >= last.0 && s > last.1, "checkpoints in order: {k}");
        last = (r, s);
        for f in [
            "heap_used_bytes",
            "heap_total_bytes",
            "rss_bytes",
            "external_bytes",
        ] {
            assert!(k[f].as_u64().unwrap() > 0, "{f} in {k}");
        }
        assert!(k["heap_used_bytes"].as_u64() <= k["heap_total_bytes"].as_u64());
        assert!(k["heap_total_bytes"].as_u64() < k["rss_bytes"].as_u64());
    }
    let snaps: Vec<&str> = c["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(snaps.len(), snapshots);
    for s in &snaps {
        let meta = std::fs::metadata(dir.join(s)).unwrap();
        assert!(meta.len() > 100_000, "{s} is {} bytes", meta.len());
        let head = std::fs::read(dir.join(s)).unwrap();
        assert!(
            head.starts_with(b"{\"snapshot\":"),
            "{s} is a heap snapshot"
        );
        assert!(head.ends_with(b"}"), "{s} is complete");
        assert!(cps.iter().any(|k| k["snapshot"] == *s));
    }
    let lat = &c["latency_ms"];
    assert!(lat["p50"].as_f64().unwrap() > 0.0);
    assert!(lat["p50"].as_f64() <= lat["p90"].as_f64());
    assert!(lat["p99"].as_f64() <= lat["max"].as_f64());
    let bpr = &c["bytes_per_request"];
    assert!(
        bpr["low"].as_f64() <= bpr["value"].as_f64()
            && bpr["value"].as_f64() <= bpr["high"].as_f64()
    );
    assert!(bpr["method"].as_str().unwrap().contains("Theil-Sen"));
    // The GC log holds --trace-gc lines only; the service's own output is beside it.
    let gc = std::fs::read_to_string(dir.join(c["gc_log"].as_str().unwrap())).unwrap();
    assert!(gc.lines().count() > 3, "gc.log: {gc}");
    assert!(gc.lines().all(|l| l.starts_with('[')), "gc.log: {gc}");
    let log = std::fs::read_to_string(dir.join("service.log")).unwrap();
    assert!(log.contains("listening on http://127.0.0.1:"), "{log}");
    // The report, and nothing left over from staging.
    for f in [
        "report.md",
        "report.html",
        "report.json",
        "alerts.rules.yml",
        "grafana-dashboard.json",
        "leaks.json",
    ] {
        assert!(dir.join(f).exists(), "{f} missing: {:?}", entries(dir));
    }
    assert_eq!(c["leaks"], "leaks.json");
    assert!(
        entries(dir).iter().all(|e| !e.starts_with('.')),
        "{:?}",
        entries(dir)
    );
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        md.contains(&format!("Memory after {requests} requests")),
        "load test table filled"
    );
    c
}

/// The leaky build's finding must carry the pattern and one of the lines of its bug; the
/// fixed build must have none.
fn assert_leak(dir: &Path, pattern: &str, file: &Path, lines: &[u64], name_on_path: Option<&str>) {
    let f = findings(dir);
    let hit = f.iter().find(|x| x["pattern"] == pattern);
    let Some(hit) = hit else {
        panic!(
            "no {pattern} finding; the leak finder said:\n{}",
            describe(&f)
        );
    };
    assert_eq!(
        f[0]["pattern"],
        pattern,
        "the most significant finding:\n{}",
        describe(&f)
    );
    let loc = &hit["location"];
    assert!(
        loc["file"]
            .as_str()
            .is_some_and(|p| Path::new(p).ends_with(file.strip_prefix(repo()).unwrap()))
            && lines.contains(&loc["line"].as_u64().unwrap_or(0)),
        "expected {}:{lines:?}; the leak finder said:\n{}",
        file.display(),
        describe(&f)
    );
    if let Some(name) = name_on_path {
        let on_path = hit["retainer_path"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["edge"] == name);
        assert!(
            on_path,
            "{name} not on the retainer path:\n{}",
            describe(&f)
        );
    }
}

#[test]
fn http_service_capture_names_the_leaking_listener() {
    let tmp = tempfile::tempdir().unwrap();
    let (leaky, fixed) = (tmp.path().join("leaky"), tmp.path().join("fixed"));
    let out = capture(
        &leaky,
        "http",
        "leaky",
        "/quote/{i}",
        &["--fail-on-leak"],
        1,
    );
    check_capture(&leaky, 3000, 3);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Leaks found"), "{stdout}");
    let src = service("http");
    let lines = [
        line_of(&src, "const refresh = (next) =>"),
        line_of(&src, "rateFeed.on('rates', refresh);"),
    ];
    assert_leak(&leaky, "event-listener", &src, &lines, None);
    // The report names the emitter that holds the listeners, not the `process` whose
    // SIGTERM handler's scope leads to it.
    let md = std::fs::read_to_string(leaky.join("report.md")).unwrap();
    let tldr = md
        .lines()
        .find(|l| l.starts_with("**TL;DR**"))
        .unwrap_or_default();
    assert!(
        tldr.contains("rateFeed.on('rates', ...)") && !md.contains("process.off("),
        "{tldr}"
    );
    let c = read_json(&leaky.join("capture.json"));
    assert!(
        c["bytes_per_request"]["low"].as_f64().unwrap() > 0.0,
        "the leak grows: {c}"
    );

    capture(
        &fixed,
        "http",
        "fixed",
        "/quote/{i}",
        &["--fail-on-leak"],
        0,
    );
    check_capture(&fixed, 3000, 3);
    assert!(
        findings(&fixed).is_empty(),
        "{}",
        describe(&findings(&fixed))
    );
}

#[test]
fn express_service_capture_names_the_unbounded_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let (leaky, fixed) = (tmp.path().join("leaky"), tmp.path().join("fixed"));
    capture(&leaky, "express", "leaky", "/users/{i}/profile", &[], 0);
    check_capture(&leaky, 3000, 3);
    capture(&fixed, "express", "fixed", "/users/{i}/profile", &[], 0);
    check_capture(&fixed, 3000, 3);
    let src = service("express");
    let lines = [
        line_of(&src, "const profileCache = new Map();"),
        line_of(&src, "profileCache.set(key, profile);"),
    ];
    assert_leak(
        &leaky,
        "unbounded-collection",
        &src,
        &lines,
        Some("profileCache"),
    );
    assert!(
        findings(&fixed).is_empty(),
        "{}",
        describe(&findings(&fixed))
    );
}

/// Captures leaky, fixed and leaky again, then checks both verdicts of `verify`.
fn verify_both_ways(svc: &str, url_path: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let (leaky, fixed, again) = (
        tmp.path().join("leaky"),
        tmp.path().join("fixed"),
        tmp.path().join("leaky-again"),
    );
    capture(&leaky, svc, "leaky", url_path, &[], 0);
    capture(&fixed, svc, "fixed", url_path, &[], 0);
    capture(&again, svc, "leaky", url_path, &[], 0);
    let s = |p: &Path| p.to_str().unwrap().to_string();

    let out = memsleuth(&["verify", "--before", &s(&leaky), "--after", &s(&fixed)]);
    let md = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{md}\n{}", text(&out.stderr));
    assert!(md.contains("**Verdict: fixed**"), "{md}");
    for section in [
        "### Load Test Results",
        "### Post-Deployment Metrics",
        "**Improvement**",
        "Before fix:",
        "After fix:",
    ] {
        assert!(md.contains(section), "{section} missing:\n{md}");
    }
    assert!(md.contains("Memory after 3000 requests"), "{md}");

    let out = memsleuth(&[
        "verify",
        "--before",
        &s(&leaky),
        "--after",
        &s(&again),
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "persists");
    let checks = v["leaks_before"].as_array().unwrap();
    assert!(!checks.is_empty(), "{v}");
    assert!(
        checks.iter().all(|c| c["present_after"] == true),
        "the same leak in both runs: {v}"
    );
    assert_eq!(
        v["checkpoints"].as_array().unwrap().len(),
        11,
        "same load, paired checkpoints"
    );
    assert!(v["after"]["growth_within_threshold"] == false, "{v}");

    // The same comparison inside the full report: `report --capture AFTER --before BEFORE`
    // investigates the leak before the fix and fills the after-fix sections.
    let rep = tmp.path().join("report");
    let out = memsleuth(&[
        "report",
        "--capture",
        &s(&fixed),
        "--before",
        &s(&leaky),
        "--out",
        &s(&rep),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let md = std::fs::read_to_string(rep.join("report.md")).unwrap();
    let after = md.split("After fix:").nth(1).unwrap_or_default();
    assert!(
        after.contains("Memory after 3000 requests") && after.contains("(stable"),
        "{md}"
    );
    assert!(md.contains("Verdict: fixed (memsleuth verify:"), "{md}");
    assert!(
        !findings(&leaky).is_empty() && md.contains(svc_file(svc)),
        "the leak before the fix is investigated:\n{md}"
    );

    // A CI threshold below the fixed build's growth makes even the fixed build fail.
    let out = memsleuth(&[
        "verify",
        "--before",
        &s(&leaky),
        "--after",
        &s(&fixed),
        "--max-bytes-per-request",
        "0",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let after = v["after"]["bytes_per_request"]["value"].as_f64().unwrap();
    assert_eq!(
        out.status.code(),
        Some(if after > 0.0 { 1 } else { 0 }),
        "{v}"
    );
}

/// The file name of a service's source, as findings and reports name it.
fn svc_file(svc: &str) -> &'static str {
    match svc {
        "http" => "services/http/server.js",
        _ => "services/express/server.js",
    }
}

#[test]
fn http_service_verify_says_fixed_and_persists() {
    verify_both_ways("http", "/quote/{i}");
}

#[test]
fn express_service_verify_says_fixed_and_persists() {
    verify_both_ways("express", "/users/{i}/profile");
}

#[test]
fn track_allocations_puts_allocation_stacks_in_the_snapshots() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cap");
    capture(
        &dir,
        "http",
        "leaky",
        "/quote/{i}",
        &["--track-allocations"],
        0,
    );
    let c = check_capture(&dir, 3000, 3);
    assert_eq!(c["track_allocations"], true);
    let last = c["snapshots"][2].as_str().unwrap();
    let bytes = std::fs::read(dir.join(last)).unwrap();
    let head = String::from_utf8_lossy(&bytes[..4096.min(bytes.len())]).into_owned();
    let count: u64 = head
        .split("\"trace_function_count\":")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no trace_function_count in {head}"));
    assert!(count > 10, "allocation tracking recorded {count} functions");
    let src = service("http");
    let lines = [
        line_of(&src, "const refresh = (next) =>"),
        line_of(&src, "rateFeed.on('rates', refresh);"),
    ];
    assert_leak(&dir, "event-listener", &src, &lines, None);
}
