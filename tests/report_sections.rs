//! The report follows the template: every heading in the template's order, no template
//! placeholder left, and the leak's file:line and pattern where the evidence has them.

mod report_support;
use report_support::*;

fn read(dir: &std::path::Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

/// Bracketed placeholders of the template (`[Service Name]`, `[HH:MM]`, ...), checkboxes excluded.
fn template_placeholders(t: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = t;
    while let Some(i) = rest.find('[') {
        let after = &rest[i + 1..];
        match after.find(']') {
            Some(j) if !after[..j].contains('\n') => {
                let inner = &after[..j];
                // PromQL range selectors (`[5m]`) in the template's queries are not placeholders
                let is_range = inner.len() >= 2
                    && inner[..inner.len() - 1].chars().all(|c| c.is_ascii_digit())
                    && inner.ends_with(['s', 'm', 'h', 'd', 'w', 'y']);
                if inner != " " && inner != "x" && !inner.is_empty() && !is_range {
                    out.push(format!("[{inner}]"));
                }
                rest = &after[j + 1..];
            }
            _ => rest = after,
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Removes Markdown code spans from a line.
fn strip_code_spans(line: &str) -> String {
    let mut out = String::new();
    let b: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < b.len() {
        if b[i] == '`' {
            let start = i;
            while i < b.len() && b[i] == '`' {
                i += 1;
            }
            let n = i - start;
            let mut j = i;
            let mut closed = None;
            while j < b.len() {
                if b[j] == '`' {
                    let s = j;
                    while j < b.len() && b[j] == '`' {
                        j += 1;
                    }
                    if j - s == n {
                        closed = Some(j);
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            match closed {
                Some(end) => i = end,
                None => out.extend(&b[start..i]),
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn assert_no_placeholder(case: &str, md: &str) {
    let template = template();
    let placeholders = template_placeholders(&template);
    assert!(placeholders.len() > 30, "template placeholders not found");
    for p in &placeholders {
        assert!(
            !md.contains(p.as_str()),
            "{case}: placeholder {p} left in report.md"
        );
    }
    for bad in ["___", "X MB", "[Link", "[Paste", "Your Name"] {
        assert!(!md.contains(bad), "{case}: {bad:?} left in report.md");
    }
    for line in outside_fences(md) {
        let l = line
            .trim_start()
            .trim_start_matches("- [ ] ")
            .trim_start_matches("- [x] ");
        let l = strip_code_spans(l);
        let mut prev = ' ';
        for c in l.chars() {
            assert!(
                !(c == '[' && prev != '\\'),
                "{case}: unescaped '[' (a placeholder or link) in: {line}"
            );
            prev = c;
        }
    }
}

#[test]
fn every_template_heading_in_order_for_every_case() {
    let want = headings(&template());
    assert_eq!(
        want,
        memsleuth::report::markdown::TEMPLATE_HEADINGS
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
        "TEMPLATE_HEADINGS is out of date with report-template.md"
    );
    for case in [
        "full",
        "python",
        "gc",
        "noleak",
        "hostile",
        "oom",
        "short-near",
    ] {
        let (_tmp, out) = run_case(case);
        let md = read(&out, "report.md");
        assert_eq!(
            headings(&md),
            want,
            "{case}: headings differ from the template"
        );
    }
}

#[test]
fn no_placeholder_is_left_for_any_case() {
    for case in [
        "full",
        "python",
        "gc",
        "noleak",
        "hostile",
        "oom",
        "short-near",
    ] {
        let (_tmp, out) = run_case(case);
        assert_no_placeholder(case, &read(&out, "report.md"));
    }
}

#[test]
fn every_section_has_content() {
    for case in ["full", "oom"] {
        let (_tmp, out) = run_case(case);
        let md = read(&out, "report.md");
        let lines: Vec<&str> = md.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if l.starts_with("## ") || l.starts_with("### ") {
                let body: Vec<&&str> = lines[i + 1..]
                    .iter()
                    .take_while(|x| !x.starts_with('#'))
                    .filter(|x| !x.trim().is_empty() && x.trim() != "---")
                    .collect();
                let is_parent = lines.get(i + 2).is_some_and(|n| n.starts_with("### "));
                assert!(
                    !body.is_empty() || is_parent,
                    "{case}: section {l} is empty"
                );
            }
        }
    }
}

#[test]
fn leak_location_pattern_and_path_appear_in_every_format() {
    let (_tmp, out) = run_case("full");
    let md = read(&out, "report.md");
    let html = read(&out, "report.html");
    let json = read(&out, "report.json");
    for (name, text) in [("md", &md), ("html", &html), ("json", &json)] {
        assert!(
            text.contains("/srv/quotes/server.js:24"),
            "{name}: file:line"
        );
        assert!(text.contains("event-listener"), "{name}: pattern");
        assert!(text.contains("refreshPrices"), "{name}: code");
    }
    // the retainer path in the template's arrow style, root first
    let path_start = md.find("**Retainer Path**:").unwrap();
    let path = &md[path_start..];
    assert!(
        path.contains("(GC roots)\n  → [3]  (Global handles)"),
        "{path}"
    );
    assert!(path.contains("→ ._events  Object"));
    // the event-listener fix box is ticked; the connection one is not
    assert!(md.contains("- [x] Remove event listeners"));
    assert!(md.contains("- [ ] Close connections"));
    // the regression test for listeners counts them before and after
    assert!(md.contains("configBus.listenerCount('reload')"));
    // growth and OOM projection from the evidence (limit from the GC log: 512 MiB)
    assert!(md.contains("- Memory growth: 36.4 MiB/h from the post-GC heap floor (GC log)"));
    assert!(md.contains("to the 512.0 MiB limit (the heap limit in the GC log) at 36.4 MiB/h"));
    assert!(md.contains("**Severity**: Critical"));
    // the other sources are compared with the headline
    assert!(md.contains("**Growth by source**"));
    assert!(md.contains("Agrees with the headline (36.7 MiB/h against 36.4 MiB/h)"));
    // no load test given
    assert!(md.contains("Before fix: not run"));
    // JSON: same content, documented schema
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["schema"], "memsleuth.report.v2");
    assert_eq!(v["root_cause"]["pattern_id"], "event-listener");
    let tldr = v["executive_summary"]["tldr"].as_str().unwrap();
    assert!(md.contains(&format!("**TL;DR**: {}", tldr.replace("_", "\\_"))) || md.contains(tldr));
}

#[test]
fn finder_fields_are_rendered_when_present() {
    let (_tmp, out) = run_case("c2");
    let md = read(&out, "report.md");
    // the unit and the function's name, not "Function objects"
    assert!(
        md.contains("7000 leaked listeners retaining 55.7 MiB"),
        "{md}"
    );
    assert!(!md.contains("`Function` objects"), "{md}");
    // what the listeners keep alive: the closure's `table` array
    assert!(md.contains("each listener keeps"), "{md}");
    assert!(md.contains("table → Array"), "{md}");
    let j: serde_json::Value = serde_json::from_str(&read(&out, "report.json")).unwrap();
    assert_eq!(j["leak_groups"][0]["unit"], "listener");
    // the proposed fix uses the listener's own name
    let fix = j["fix"]["fixed_code"]["lines"].to_string();
    assert!(
        fix.contains("configBus.off('reload', refreshPrices)"),
        "{fix}"
    );
}

#[test]
fn python_evidence_gives_the_python_line() {
    let (_tmp, out) = run_case("python");
    let md = read(&out, "report.md");
    assert!(md.contains("/srv/etl/leaky.py:12"));
    assert!(md.contains("LEAK_LIST.append(bytearray(64 * 1024))"));
    assert!(
        md.contains("- [x] Python Scalene profiling") || md.contains("Other: memsleuth, memray")
    );
    assert!(md.contains("tracemalloc"));
}

#[test]
fn gc_log_alone_gives_growth_limit_and_load_test() {
    let (_tmp, out) = run_case("gc");
    let md = read(&out, "report.md");
    // --memory-limit wins over the GC log's heap limit: (256 - 92.8) MiB at 36.4 MiB/h
    assert!(md.contains("- Projected time to OOM: 4.5 hours"), "{md}");
    assert!(md.contains("to the 256.0 MiB limit (--memory-limit)"));
    // the severity given by hand, with memsleuth's own estimate beside it
    assert!(md.contains("**Severity**: High (set by the investigator (--severity); memsleuth's own estimate: Critical"));
    assert!(md.contains("| +5 s (process uptime) | Detection |"));
    assert!(md.contains("- Memory after 10000 requests: 48.3 MiB (stable)"));
    assert!(!md.contains("not run"));
    let html = read(&out, "report.html");
    assert!(
        html.contains("Memory over process uptime (GC log)"),
        "GC chart drawn"
    );
}

#[test]
fn evidence_of_no_leak_is_never_called_a_leak() {
    let (_tmp, out) = run_case("noleak");
    let md = read(&out, "report.md");
    assert!(
        md.contains("**Severity**: Low (auto: the evidence shows bounded memory, no leak)"),
        "{md}"
    );
    assert!(md.contains("the evidence shows bounded memory, no leak"));
    assert!(md.contains("- [ ] Linear memory growth"));
    assert!(md.contains("Status: Monitoring (no leak in the evidence)"));
    assert!(md.contains("No object group grew between the snapshots"));
    for line in md.lines().filter(|l| l.starts_with("- [x]")) {
        assert!(
            !line.contains("Remove event listeners")
                && !line.contains("Close connections")
                && !line.contains("Clear timers")
                && !line.contains("WeakMap")
                && !line.contains("streaming"),
            "a fix strategy ticked without a leak: {line}"
        );
    }
}

/// Runs `memsleuth report` with `args` in a temporary directory holding the fixtures.
fn report(args: &[&str]) -> (tempfile::TempDir, std::process::Output) {
    let tmp = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(fixtures()).unwrap() {
        let f = f.unwrap().path();
        if f.extension().is_some_and(|e| e == "json") {
            std::fs::copy(&f, tmp.path().join(f.file_name().unwrap())).unwrap();
        }
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_memsleuth"))
        .arg("report")
        .args(args)
        .current_dir(tmp.path())
        .output()
        .unwrap();
    (tmp, out)
}

#[test]
fn a_report_without_a_service_name_says_so_and_alerts_on_a_clear_job() {
    let (tmp, out) = report(&["--gc-json", "gc.json", "--out", "r"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = read(&tmp.path().join("r"), "report.md");
    assert!(md.contains("**Service**: not available: no --service given"));
    let rules = read(&tmp.path().join("r"), "alerts.rules.yml");
    assert!(
        rules.contains("job=\\\"unknown-service\\\"") || rules.contains("unknown-service"),
        "{rules}"
    );
}

#[test]
fn missing_evidence_is_said_plainly() {
    let (tmp, out) = report(&["--gc-json", "gc.json", "--out", "r"]);
    assert!(out.status.success());
    let md = read(&tmp.path().join("r"), "report.md");
    assert!(md.contains("not available: no Prometheus given"));
    assert!(md.contains("not available: no heap snapshots given"));
    assert!(
        md.contains("Cause: not in this evidence")
            || md.contains("the leaking code is not identified yet")
    );
    let rules = read(&tmp.path().join("r"), "alerts.rules.yml");
    assert!(rules.contains("alert: \"MemoryGrowth\""));
}

#[test]
fn report_prints_a_summary_and_the_paths() {
    let (tmp, out) = report(&["--gc-json", "gc.json", "--service", "svc", "--out", "r"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Severity: Critical"), "{text}");
    for f in OUTPUTS {
        assert!(text.contains(&format!("r/{f}")), "{text}");
        assert!(tmp.path().join("r").join(f).is_file());
    }
}

#[test]
fn bad_evidence_json_is_an_error_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("gc.json"), "{\"not\": \"gc\"}").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_memsleuth"))
        .args(["report", "--gc-json", "gc.json", "--out", "r"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("gc.json") && err.contains("memsleuth gc"),
        "{err}"
    );
    assert!(!tmp.path().join("r/report.md").exists());
}

#[test]
fn absurd_numbers_in_the_evidence_do_not_crash_the_report() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("m.json"),
        r#"{"series": [{"labels": {"job": "x"}, "samples": [[1e300, 1.7e308], [-1e300, "NaN"], [0, -5], [1e19, 1e308]],
            "growth_bytes_per_hour": 1.7e308, "verdict": "leak", "reason": ""}], "queries": []}"#,
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("g.json"),
        r#"{"events": 18446744073709551615, "duration_s": -1e308, "verdict": "leak", "growth_mb_per_hour": -1e308,
            "heap_after_gc_mb": {"first": -1, "last": 1e308}, "heap_limit_mb": 1e-300,
            "series": [[1e308, 1e308], [-1e308, 0]], "oom": {"count": 18446744073709551615}}"#,
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_memsleuth"))
        .args([
            "report",
            "--metrics-json",
            "m.json",
            "--gc-json",
            "g.json",
            "--memory-limit",
            "1",
            "--out",
            "r",
        ])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = read(&tmp.path().join("r"), "report.md");
    assert_eq!(headings(&md), headings(&template()));
}
