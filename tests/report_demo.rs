//! `memsleuth demo`: the embedded evidence is real (a leaky Node service's snapshots, GC log
//! and Prometheus range), the demo writes it and a complete report into the directory it
//! names, and two runs give the same bytes.

mod report_support;
use report_support::*;
use std::io::Read;
use std::process::Command;

fn demo(dir: &std::path::Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_memsleuth"))
        .args(["demo"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn gunzip(path: &std::path::Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn demo_writes_the_report_and_says_where() {
    let tmp = tempfile::tempdir().unwrap();
    let said = demo(tmp.path());
    let dir = tmp.path().join("memsleuth-demo");
    assert!(said.contains("memsleuth-demo/report.html"), "{said}");
    for f in OUTPUTS {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert_eq!(headings(&md), headings(&template()));
    assert!(md.contains("**Service**: demo-service"));
    // the snapshots keep the names Node gave them, which carry the time they were taken
    let c = capture();
    let first = c["snapshots"][0].as_str().unwrap().to_string();
    let first = first.as_str();
    assert!(
        md.contains(first),
        "snapshot name {first} not in the report"
    );
    // the time of the first snapshot: its checkpoint's wall-clock time, which is the time
    // in its name (Node writes the host's local time; the demo host runs on UTC) within 2 s
    let d = &first["Heap.".len().."Heap.".len() + 15];
    let hms = |s: &str| -> i64 {
        s[0..2].parse::<i64>().unwrap() * 3600
            + s[2..4].parse::<i64>().unwrap() * 60
            + s[4..6].parse::<i64>().unwrap()
    };
    let t = hms(&d[9..15]);
    let day = format!("{}-{}-{}", &d[0..4], &d[4..6], &d[6..8]);
    let found = (-2..=2).any(|o: i64| {
        let x = t + o;
        md.contains(&format!(
            "Snapshot 1: {day} {:02}:{:02}:{:02} UTC",
            x / 3600,
            x % 3600 / 60,
            x % 60
        ))
    });
    assert!(
        found,
        "snapshot 1's time {day} {} not in the report",
        &d[9..15]
    );
    // the real analyses ran on the demo evidence: the listener leak of demo/service.js is found
    // by the leak finder, named by the file the demo ships (not the machine it was made on)
    assert!(md.contains("`service.js:24`"), "leak location missing");
    assert!(
        !md.contains("/work/") && !md.contains("/tmp/"),
        "a machine path in the report"
    );
    assert!(
        md.contains("configBus.on('reload'"),
        "vulnerable code missing"
    );
    assert!(
        md.contains("- [x] Remove event listeners"),
        "fix strategy not ticked"
    );
    assert!(!md.contains("not analysed"), "an analysis did not run");
    // the 256 MiB limit of the demo service is used for the alerts
    let rules = std::fs::read_to_string(dir.join("alerts.rules.yml")).unwrap();
    assert!(rules.contains("268435456"), "{rules}");
}

/// Reads `demo/evidence/capture.json`.
fn capture() -> serde_json::Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/evidence/capture.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn demo_headline_figures_match_the_raw_evidence() {
    let tmp = tempfile::tempdir().unwrap();
    demo(tmp.path());
    let dir = tmp.path().join("memsleuth-demo");
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let c = capture();
    let cps = c["checkpoints"].as_array().unwrap();
    let first = &cps[0];
    let last = &cps[cps.len() - 1];
    let dt = last["seconds"].as_f64().unwrap() - first["seconds"].as_f64().unwrap();
    let dh = last["heap_used_bytes"].as_f64().unwrap() - first["heap_used_bytes"].as_f64().unwrap();
    let dr = last["requests"].as_f64().unwrap() - first["requests"].as_f64().unwrap();
    // the evidence is long enough for an hourly figure (6 minutes), with request counts
    assert!(dt >= 360.0, "the capture spans {dt} s");
    assert!(dr >= 5000.0, "{dr} requests");
    // the headline is the capture's forced-GC heap, and agrees with the raw end-to-end slope
    let h = &j["headline_growth"];
    assert!(h["source"].as_str().unwrap().contains("capture"), "{h}");
    let raw_per_hour = dh / dt * 3600.0;
    let got = h["bytes_per_hour"].as_f64().unwrap();
    assert!(
        (got - raw_per_hour).abs() <= 0.1 * raw_per_hour,
        "headline {got} B/h against the raw {raw_per_hour} B/h"
    );
    assert!(
        h["low_bytes_per_hour"].as_f64().unwrap() <= got
            && got <= h["high_bytes_per_hour"].as_f64().unwrap()
    );
    // growth per request: the raw end-to-end figure, and one listener (about 8 KiB) per request
    let per_req = j["per_request"]["bytes"].as_f64().unwrap();
    assert!(
        (per_req - dh / dr).abs() <= 0.1 * (dh / dr),
        "{per_req} B per request against the raw {}",
        dh / dr
    );
    assert!((7000.0..10000.0).contains(&per_req), "{per_req}");
    let g = &j["leak_groups"][0];
    let per: Vec<u64> = g["per_snapshot"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    let snaps: Vec<u64> = cps
        .iter()
        .filter(|k| !k["snapshot"].is_null())
        .map(|k| k["requests"].as_u64().unwrap())
        .collect();
    assert_eq!(per.len(), snaps.len());
    let units_per_request =
        (per[per.len() - 1] - per[0]) as f64 / (snaps[snaps.len() - 1] - snaps[0]) as f64;
    assert!(
        (0.95..=1.05).contains(&units_per_request),
        "one listener per request: {units_per_request}"
    );
    // the verdict is a leak and the time to OOM is projected from the headline, within the
    // bound of 10x the fitted span
    assert_eq!(j["leak_verdict"]["verdict"], "leak");
    let secs = j["oom_projection"]["seconds"].as_f64().unwrap();
    assert!(secs <= 10.0 * h["span_seconds"].as_f64().unwrap());
    // the sources that disagree with the headline say why
    for s in j["growth_sources"].as_array().unwrap() {
        if s["agrees_with_headline"] == false {
            let why = s["comparison"].as_str().unwrap();
            assert!(!why.is_empty() && !why.starts_with("not explained"), "{s}");
        }
    }
}

/// The regression test the demo report proposes, run with real Node against the demo
/// service (it must fail: the leak is there) and against its fixed version (it must pass).
#[test]
fn demo_regression_test_fails_on_the_leak_and_passes_on_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    demo(tmp.path());
    let j: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("memsleuth-demo/report.json")).unwrap(),
    )
    .unwrap();
    let lines: Vec<String> = j["fix"]["test"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    let test = lines.join("\n") + "\n";
    assert!(test.contains("require('./service.js')"), "{test}");
    assert!(test.contains("handleQuote("), "{test}");
    // the fixed service applies the fix the report proposes
    let fix: Vec<String> = j["fix"]["fixed_code"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("demo");
    let fixed = std::fs::read_to_string(root.join("service-fixed.js")).unwrap();
    let key = fix
        .iter()
        .find(|l| l.contains(".once('close'"))
        .expect("the fix removes the listener when the response closes");
    assert!(
        fixed.contains(key.trim()),
        "service-fixed.js does not apply {key}"
    );
    for (service, want_pass) in [("service.js", false), ("service-fixed.js", true)] {
        let d = tempfile::tempdir().unwrap();
        std::fs::copy(root.join(service), d.path().join("service.js")).unwrap();
        std::fs::write(d.path().join("service.leak.test.js"), &test).unwrap();
        let out = Command::new("node")
            .args(["--test", "service.leak.test.js"])
            .current_dir(d.path())
            .output()
            .expect("node must be installed");
        assert_eq!(
            out.status.success(),
            want_pass,
            "{service}: node --test {}:\n{}{}",
            if want_pass { "failed" } else { "passed" },
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn demo_evidence_is_real_and_shows_a_leak() {
    let tmp = tempfile::tempdir().unwrap();
    demo(tmp.path());
    let ev = tmp.path().join("memsleuth-demo/evidence");
    let mut snaps: Vec<_> = std::fs::read_dir(&ev)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".heapsnapshot"))
        .collect();
    // the names Node gave them, as capture.json lists them
    let names: Vec<String> = capture()["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{}.gz", s.as_str().unwrap()))
        .collect();
    for n in &names {
        assert!(ev.join(n).is_file(), "{n} not written");
    }
    snaps.sort();
    assert_eq!(snaps.len(), 3);
    for s in &snaps {
        let text = gunzip(s);
        assert!(
            text.starts_with(b"{\"snapshot\":{\"meta\":"),
            "{} is not a V8 heap snapshot",
            s.display()
        );
        let t = String::from_utf8_lossy(&text);
        assert!(
            t.contains("refreshPrices"),
            "the leaking listener is in the snapshot"
        );
    }
    let gc = String::from_utf8(gunzip(&ev.join("gc.log.gz"))).unwrap();
    assert!(
        gc.lines()
            .filter(|l| l.contains("Scavenge") || l.contains("Mark-Compact"))
            .count()
            > 20
    );
    let range: serde_json::Value =
        serde_json::from_slice(&gunzip(&ev.join("prometheus-range.json.gz"))).unwrap();
    assert_eq!(range["status"], "success");
    let heap = range["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric"]["__name__"] == "nodejs_heap_size_used_bytes")
        .expect("the heap series");
    let values = heap["values"].as_array().unwrap();
    assert!(values.len() >= 360, "at least 6 minutes of 1 s samples");
    let v = |i: usize| values[i][1].as_str().unwrap().parse::<f64>().unwrap();
    assert!(
        v(values.len() - 1) > v(0) + 20.0 * 1048576.0,
        "the demo heap grows by more than 20 MiB"
    );
    let c: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ev.join("capture.json")).unwrap()).unwrap();
    assert_eq!(c["schema"], "memsleuth.capture.v1");
    assert_eq!(c["errors"], 0);
}

#[test]
fn demo_is_deterministic() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    demo(a.path());
    demo(b.path());
    for f in OUTPUTS {
        let x = std::fs::read(a.path().join("memsleuth-demo").join(f)).unwrap();
        let y = std::fs::read(b.path().join("memsleuth-demo").join(f)).unwrap();
        assert!(x == y, "{f} differs between two demo runs");
    }
}
