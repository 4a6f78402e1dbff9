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
    // the snapshot times come from the names Node gave them
    let manifest = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/evidence/MANIFEST"),
    )
    .unwrap();
    let first = manifest
        .lines()
        .find_map(|l| l.strip_prefix("snapshot_1="))
        .unwrap();
    assert!(
        md.contains(first),
        "snapshot name {first} not in the report"
    );
    let d = &first["Heap.".len().."Heap.".len() + 15];
    let stamp = format!(
        "{}-{}-{} {}:{}:{}",
        &d[0..4],
        &d[4..6],
        &d[6..8],
        &d[9..11],
        &d[11..13],
        &d[13..15]
    );
    assert!(
        md.contains(&stamp),
        "snapshot time {stamp} not in the report"
    );
    // the real analyses ran on the demo evidence: the listener leak of demo/service.js is found
    // by the leak finder, with its line, and the GC log gives the growth rate
    assert!(md.contains("service.js:26"), "leak location missing");
    assert!(
        md.contains("configBus.on('reload'"),
        "vulnerable code missing"
    );
    assert!(
        md.contains("- [x] Remove event listeners"),
        "fix strategy not ticked"
    );
    assert!(md.contains("MB/hour"), "growth rate missing");
    assert!(!md.contains("not analysed"), "an analysis did not run");
    // the 256 MB limit of the demo service is used for the alerts
    let rules = std::fs::read_to_string(dir.join("alerts.rules.yml")).unwrap();
    assert!(rules.contains("268435456"), "{rules}");
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
        serde_json::from_slice(&gunzip(&ev.join("prometheus-heap-range.json.gz"))).unwrap();
    assert_eq!(range["status"], "success");
    let values = range["data"]["result"][0]["values"].as_array().unwrap();
    assert!(values.len() >= 60, "at least a minute of 1 s samples");
    let v = |i: usize| values[i][1].as_str().unwrap().parse::<f64>().unwrap();
    assert!(
        v(values.len() - 1) > v(0) + 5e6,
        "the demo heap grows by more than 5 MB"
    );
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
