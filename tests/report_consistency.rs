//! One set of facts for every output: each case's report.md, report.html and report.json are
//! read, and every figure that appears in more than one place must read the same, with the
//! same unit as report.json's exact number: the severity, the headline growth, the time to
//! OOM, the growth per request, every growth rate printed anywhere (each must be one of the
//! sources' figures in report.json), the leaked groups' counts and retained sizes, and the
//! "Top 3" list (3 rows, or a line saying why fewer). Sizes are binary units only.
//!
//! Cases: the demo, a GC log ending in an OOM crash, a short GC log with a far memory limit
//! (no projection) and with a near one (projection), and the hand-written fixture cases.

mod report_support;
use memsleuth::report::words;
use report_support::*;
use serde_json::Value;
use std::path::Path;

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

/// The visible text of the HTML page (tags dropped, entities decoded), outside <pre>.
fn html_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    // drop style and pre blocks
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let skip_to = |tag: &str| tail.find(tag).map(|j| j + tag.len());
        let end = if tail.starts_with("<style") {
            skip_to("</style>")
        } else if tail.starts_with("<pre") {
            out.push(' ');
            skip_to("</pre>")
        } else {
            tail.find('>').map(|j| j + 1)
        };
        match end {
            Some(e) => rest = &tail[e..],
            None => {
                rest = "";
            }
        }
        out.push(' ');
    }
    out.push_str(rest);
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Every `N.N UNIT/h` rate written in `text`.
fn rates(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b: Vec<char> = text.chars().collect();
    let s: String = b.iter().collect();
    for unit in ["B/h", "KiB/h", "MiB/h", "GiB/h"] {
        let mut from = 0;
        while let Some(i) = s[from..].find(&format!(" {unit}")) {
            let at = from + i;
            let head = &s[..at];
            let num: String = head
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            if !num.is_empty() {
                out.push(format!("{num} {unit}"));
            }
            from = at + unit.len() + 1;
        }
    }
    out
}

fn opt_rate(v: &Value) -> Option<String> {
    v.as_f64().map(words::rate)
}

/// The Markdown outside code fences.
fn md_prose(md: &str) -> String {
    outside_fences(md).join("\n")
}

fn check(case: &str, dir: &Path) {
    let md = read(dir, "report.md");
    let html = read(dir, "report.html");
    let j: Value = serde_json::from_str(&read(dir, "report.json")).unwrap();
    let text = html_text(&html);
    let prose = md_prose(&md);

    // severity: one value, in the header of every format
    let sev = j["severity"].as_str().unwrap();
    assert_eq!(j["header"]["severity"], sev, "{case}");
    assert!(
        md.contains(&format!("**Severity**: {sev} (")),
        "{case}: md severity"
    );
    assert!(
        html.contains(&format!("sev-{sev}\">{sev}<")),
        "{case}: html severity"
    );

    // the headline growth, in the Impact and in the HTML
    if let Some(h) = j["headline_growth"].as_object() {
        let r = words::rate(h["bytes_per_hour"].as_f64().unwrap());
        let line = md
            .lines()
            .find(|l| l.starts_with("- Memory growth: "))
            .unwrap_or_else(|| panic!("{case}: no Memory growth line"));
        assert!(
            line.starts_with(&format!("- Memory growth: {r}")),
            "{case}: {line} vs {r}"
        );
        assert!(
            text.contains(&format!("Memory growth : {r}"))
                || text.contains(&format!("Memory growth: {r}")),
            "{case}: html headline {r}"
        );
    } else {
        assert!(md.contains("- Memory growth: not available"), "{case}");
    }

    // the time to OOM
    let proj = &j["oom_projection"];
    let line = md
        .lines()
        .find(|l| l.starts_with("- Projected time to OOM: "))
        .unwrap_or_else(|| panic!("{case}: no projection line"));
    match proj["seconds"].as_f64() {
        Some(s) => {
            assert!(
                line.starts_with(&format!("- Projected time to OOM: {}", words::duration(s))),
                "{case}: {line}"
            );
            assert!(
                text.contains(&words::duration(s)),
                "{case}: html projection"
            );
        }
        None => {
            assert!(line.contains("projected"), "{case}: {line}");
            let why = proj["reason"].as_str().unwrap();
            assert!(
                why.starts_with("cannot be projected") || why.starts_with("not projected"),
                "{case}: {why}"
            );
        }
    }

    // growth per request
    if let Some(p) = j["per_request"].as_object() {
        let t = words::per_request(p["bytes"].as_f64().unwrap());
        assert!(
            md.contains(&t) && text.contains(&t),
            "{case}: per request {t}"
        );
    }

    // every rate printed is one of the sources' figures (or the alert threshold)
    let mut allowed: Vec<String> = vec!["0 MiB/h".into()];
    for s in j["growth_sources"].as_array().unwrap() {
        for k in [
            "bytes_per_hour",
            "low_bytes_per_hour",
            "high_bytes_per_hour",
        ] {
            allowed.extend(opt_rate(&s[k]));
        }
    }
    let thr = j["alerts"]["config"]["growth_mb_per_hour"]
        .as_f64()
        .unwrap();
    allowed.push(format!("{} MiB/h", memsleuth::report::alerts::num(thr)));
    // the threshold rule's cap (half the growth, kept within 1 to 50 MiB/h)
    allowed.push("50 MiB/h".into());
    for (what, t) in [("md", &prose), ("html", &text)] {
        for r in rates(t) {
            let r = r.trim_start_matches('-').to_string();
            assert!(
                allowed.iter().any(|a| a.trim_start_matches('-') == r),
                "{case}: {what} prints {r}, which is none of report.json's figures {allowed:?}"
            );
        }
    }

    // binary units only, everywhere but quoted V8 log lines
    for (what, t) in [("md", prose.as_str()), ("html", text.as_str())] {
        for bad in [" MB", " GB", " kB", "MB/h", "MB/hour", " KB"] {
            assert!(!t.contains(bad), "{case}: {what} writes {bad:?}");
        }
    }
    for f in ["alerts.rules.yml", "grafana-dashboard.json"] {
        let t = read(dir, f);
        assert!(
            !t.contains("MB/h") && !t.contains(" MB"),
            "{case}: {f} says MB"
        );
    }

    // leaked groups: the same counts and sizes in every section
    for g in j["leak_groups"].as_array().unwrap() {
        let retained = words::bytes(g["retained_bytes"].as_f64().unwrap());
        let count = g["count"].as_u64().unwrap();
        let size = format!("retaining {retained}");
        assert!(md.contains(&size) && text.contains(&size), "{case}: {size}");
        let leaked = format!("{count} leaked ");
        assert!(
            md.contains(&leaked) && text.contains(&leaked),
            "{case}: {leaked}"
        );
        // wherever the retained size is said, it is said with the same count
        for (i, _) in prose.match_indices(&size) {
            let head = &prose[..i];
            assert!(
                head.rsplit(" leaked ")
                    .nth(1)
                    .is_some_and(|h| h.ends_with(&count.to_string())),
                "{case}: {size} said without its count {count}"
            );
        }
        let added = words::count_delta(g["added"].as_i64().unwrap());
        assert!(
            prose.contains(&added) || md.contains(&added),
            "{case}: {added}"
        );
    }
    if let Some(g) = j["leak_groups"].as_array().and_then(|a| a.first()) {
        let last = g["per_snapshot"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .as_u64()
            .unwrap();
        if md.contains("**Retainer Path**:\n```\n(") {
            assert!(
                md.contains(&format!("×{last} (leaked")),
                "{case}: retainer path count"
            );
        }
    }

    // "Top 3" has 3 rows or says why fewer
    let top = md.split("Top 3 memory consumers:").nth(1).unwrap();
    let block = top.split("```").next().unwrap();
    let rows = block
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()) && l.contains(". "))
        .count();
    assert!(
        rows == 3
            || block.contains("Only ")
            || block.contains("No leaked group")
            || block.contains("not available"),
        "{case}: Top 3 has {rows} rows and no reason: {block}"
    );

    // never "no leak" beside Critical; never "no fix is needed"
    assert!(!md.contains("no fix is needed"), "{case}");
    if sev == "Critical" {
        let tldr = j["executive_summary"]["tldr"].as_str().unwrap();
        assert!(!tldr.contains("no leak"), "{case}: {tldr}");
    }
}

#[test]
fn figures_agree_across_outputs_for_the_fixture_cases() {
    for case in ["full", "python", "gc", "noleak", "hostile", "c2"] {
        let (_tmp, out) = run_case(case);
        check(case, &out);
    }
}

#[test]
fn figures_agree_across_outputs_for_the_real_log_cases() {
    for case in ["oom", "short-far", "short-near", "applog", "oom-applog"] {
        let (_tmp, out) = run_case(case);
        check(case, &out);
    }
}

#[test]
fn figures_agree_across_outputs_for_the_demo() {
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_memsleuth"))
        .args(["demo", "--out", "d"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check("demo", &tmp.path().join("d"));
}
