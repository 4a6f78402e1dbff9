//! The generated alert rules are valid for Prometheus (`promtool check rules`) and behave:
//! `promtool test rules` with unit tests written here, where a series that grows fires the
//! growth alert and a flat one does not. promtool comes with Debian's `prometheus` package
//! (scripts/setup.sh installs it).

use std::path::Path;
use std::process::Command;

fn memsleuth(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_memsleuth"))
        .args(args)
        .output()
        .expect("run memsleuth")
}

fn promtool(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("promtool must be installed (scripts/setup.sh installs Debian's prometheus)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn generate(dir: &Path, extra: &[&str]) {
    let mut args = vec![
        "alerts",
        "--service",
        "demo",
        "--out",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = memsleuth(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn rules_pass_promtool_check_with_and_without_a_limit() {
    for extra in [&[][..], &["--heap-limit-bytes", "268435456"][..]] {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), extra);
        let (ok, text) = promtool(dir.path(), &["check", "rules", "alerts.rules.yml"]);
        assert!(ok, "{text}");
        let expected = if extra.is_empty() { 3 } else { 5 };
        assert!(
            text.contains(&format!("SUCCESS: {expected} rules found")),
            "{text}"
        );
    }
}

const UNIT_TESTS: &str = r#"rule_files:
  - alerts.rules.yml
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # +1 MiB a minute = 60 MiB/h: a leak
      - series: 'nodejs_heap_size_used_bytes{job="demo",instance="leaky"}'
        values: '100000000+1048576x300'
      # flat: no leak
      - series: 'nodejs_heap_size_used_bytes{job="demo",instance="flat"}'
        values: '100000000+0x300'
      # another service leaking: not this service's alert
      - series: 'nodejs_heap_size_used_bytes{job="other",instance="leaky"}'
        values: '100000000+1048576x300'
      # GC pauses: the leaky instance's pauses fall in (0.1 s, 1 s], the flat one's under 10 ms
      - series: 'nodejs_gc_duration_seconds_bucket{job="demo",instance="leaky",kind="major",le="0.01"}'
        values: '0+0x300'
      - series: 'nodejs_gc_duration_seconds_bucket{job="demo",instance="leaky",kind="major",le="0.1"}'
        values: '0+0x300'
      - series: 'nodejs_gc_duration_seconds_bucket{job="demo",instance="leaky",kind="major",le="1"}'
        values: '0+10x300'
      - series: 'nodejs_gc_duration_seconds_bucket{job="demo",instance="leaky",kind="major",le="+Inf"}'
        values: '0+10x300'
      - series: 'nodejs_gc_duration_seconds_bucket{job="demo",instance="flat",kind="major",le="0.01"}'
        values: '0+10x300'
      - series: 'nodejs_gc_duration_seconds_bucket{job="demo",instance="flat",kind="major",le="0.1"}'
        values: '0+10x300'
      - series: 'nodejs_gc_duration_seconds_bucket{job="demo",instance="flat",kind="major",le="1"}'
        values: '0+10x300'
      - series: 'nodejs_gc_duration_seconds_bucket{job="demo",instance="flat",kind="major",le="+Inf"}'
        values: '0+10x300'
    alert_rule_test:
      # growth seen, but not yet for the whole `for: 1h`
      - eval_time: 50m
        alertname: MemoryGrowth
        exp_alerts: []
      - eval_time: 2h
        alertname: MemoryGrowth
        exp_alerts:
          - exp_labels: {severity: warning, service: demo, job: demo, instance: leaky}
            exp_annotations:
              summary: "demo: memory of leaky grows faster than 10 MiB/h"
              description: "nodejs_heap_size_used_bytes grows at 60.0 MiB/h (deriv over 30m) for more than 1h: a memory leak is likely. Take heap snapshots and run memsleuth report."
      # 100 MB + 120 MiB is under 90% of 256 MiB
      - eval_time: 2h
        alertname: HeapNearLimit
        exp_alerts: []
      - eval_time: 4h
        alertname: HeapNearLimit
        exp_alerts:
          - exp_labels: {severity: critical, service: demo, job: demo, instance: leaky}
            exp_annotations:
              summary: "demo: memory of leaky above 90% of its limit"
              description: "nodejs_heap_size_used_bytes is at 131% of the limit of 268435456 bytes."
      - eval_time: 1h
        alertname: GCPauseHigh
        exp_alerts:
          - exp_labels: {severity: warning, service: demo, job: demo, instance: leaky}
            exp_annotations:
              summary: "demo: GC pause p95 of leaky above 100 ms"
              description: "The 95th percentile of GC pauses is 955ms over 5m: the collector works hard, often because the heap keeps growing."
"#;

#[test]
fn growing_series_fires_growth_alert_and_flat_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), &["--heap-limit-bytes", "268435456"]);
    std::fs::write(dir.path().join("alerts.test.yml"), UNIT_TESTS).unwrap();
    let (ok, text) = promtool(dir.path(), &["test", "rules", "alerts.test.yml"]);
    assert!(ok, "promtool test rules failed:\n{text}");
    assert!(text.contains("SUCCESS"), "{text}");
}

#[test]
fn a_flat_series_alone_would_fail_the_growth_expectation() {
    // The same harness must be able to fail: expecting the flat series to fire is an error.
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), &[]);
    let wrong = r#"rule_files:
  - alerts.rules.yml
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'nodejs_heap_size_used_bytes{job="demo",instance="flat"}'
        values: '100000000+0x300'
    alert_rule_test:
      - eval_time: 2h
        alertname: MemoryGrowth
        exp_alerts:
          - exp_labels: {severity: warning, service: demo, job: demo, instance: flat}
"#;
    std::fs::write(dir.path().join("wrong.test.yml"), wrong).unwrap();
    let (ok, text) = promtool(dir.path(), &["test", "rules", "wrong.test.yml"]);
    assert!(!ok, "a flat series must not fire MemoryGrowth:\n{text}");
}

#[test]
fn bad_for_duration_is_a_user_error_naming_the_flag() {
    let out = memsleuth(&["alerts", "--service", "demo", "--for", "5x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--for"));
}

#[test]
fn dashboard_is_classic_json_with_a_datasource_variable() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), &[]);
    let text = std::fs::read_to_string(dir.path().join("grafana-dashboard.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["schemaVersion"], 39);
    assert!(v["id"].is_null());
    let vars = v["templating"]["list"].as_array().unwrap();
    assert!(
        vars.iter()
            .any(|x| x["type"] == "datasource" && x["name"] == "datasource")
    );
    let panels = v["panels"].as_array().unwrap();
    assert!(panels.len() >= 4);
    let exprs: Vec<&str> = panels
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap())
        .map(|t| t["expr"].as_str().unwrap())
        .collect();
    assert!(exprs.iter().any(|e| e.contains("deriv(")));
    assert!(
        exprs
            .iter()
            .any(|e| e.contains("nodejs_gc_duration_seconds_bucket"))
    );
}

#[test]
fn without_out_the_rules_go_to_stdout() {
    let out = memsleuth(&["alerts", "--service", "svc", "--growth-mb-per-hour", "2.5"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("groups:"), "{text}");
    assert!(text.contains("* 3600 / 1048576 > 2.5"), "{text}");
}
