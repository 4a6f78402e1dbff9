//! `report.md`: the template's headings in the template's order, each filled from the model.
//! Layout only: every figure and sentence comes from [`Investigation`].

use super::model::*;
use super::text::{inline_md, plain};
use std::fmt::Write;

/// The template's headings, in order (`report-template.md`). The report writes exactly these.
pub const TEMPLATE_HEADINGS: [&str; 29] = [
    "# Memory Leak Investigation Report",
    "## Executive Summary",
    "## Incident Timeline",
    "## Symptoms and Detection",
    "### Initial Symptoms",
    "### Detection Method",
    "## Investigation Steps",
    "### 1. Initial Data Collection",
    "### 2. Snapshot Comparison Analysis",
    "### 3. Retainer Path Analysis",
    "## Root Cause Analysis",
    "### Leak Pattern Identified",
    "### Reproduction Steps",
    "## Fix Implementation",
    "### Code Changes",
    "### Testing and Validation",
    "## Deployment and Results",
    "### Deployment Details",
    "### Post-Deployment Metrics",
    "### Grafana Dashboard",
    "## Lessons Learned",
    "### What Went Well",
    "### What Could Be Improved",
    "### Preventive Measures",
    "## Related Documentation",
    "## Appendix",
    "### Heap Snapshot Files",
    "### GC Logs",
    "### Prometheus Queries",
];

/// A fenced code block whose fence no content line can close.
fn fence(out: &mut String, lang: &str, lines: &[String]) {
    let mut longest = 0;
    for l in lines {
        let mut run = 0;
        for c in l.chars() {
            if c == '`' {
                run += 1;
                longest = longest.max(run);
            } else {
                run = 0;
            }
        }
    }
    let f = "`".repeat((longest + 1).max(3));
    let _ = writeln!(out, "{f}{lang}");
    for l in lines {
        let clean: String = l.chars().map(|c| if c == '\r' { ' ' } else { c }).collect();
        let _ = writeln!(out, "{clean}");
    }
    let _ = writeln!(out, "{f}");
}

fn check(c: &Check) -> String {
    format!(
        "- [{}] {}",
        if c.checked { "x" } else { " " },
        inline_md(&c.text, false)
    )
}

fn field(f: &Field) -> String {
    format!(
        "- {}: {}",
        inline_md(&f.label, false),
        inline_md(&f.value, false)
    )
}

fn plain_field(f: &Field) -> String {
    format!("- {}: {}", plain(&f.label), plain(&f.value))
}

fn code_block(out: &mut String, c: &CodeBlock) {
    let comment = if c.language == "python" || c.language == "text" {
        "#"
    } else {
        "//"
    };
    let mut lines = vec![
        format!("{comment} File: {}", plain(&c.location)),
        format!("{comment} {}", plain(&c.explanation)),
        String::new(),
    ];
    lines.extend(c.lines.iter().cloned());
    fence(out, &c.language, &lines);
}

/// Renders the whole report as Markdown.
pub fn render(inv: &Investigation) -> String {
    let mut o = String::new();
    let h = &inv.header;
    let _ = writeln!(o, "{}\n", TEMPLATE_HEADINGS[0]);
    let _ = writeln!(o, "**Service**: {}  ", inline_md(&h.service, false));
    let _ = writeln!(o, "**Date**: {}  ", inline_md(&h.date, false));
    let _ = writeln!(
        o,
        "**Investigator**: {}  ",
        inline_md(&h.investigator, false)
    );
    let _ = writeln!(
        o,
        "**Severity**: {} ({})",
        inline_md(&h.severity, false),
        inline_md(&h.severity_reason, false)
    );
    let _ = writeln!(o, "\n---\n");

    // Executive summary
    let es = &inv.executive_summary;
    let _ = writeln!(o, "## Executive Summary\n");
    let _ = writeln!(o, "**TL;DR**: {}\n", inline_md(&es.tldr, false));
    let _ = writeln!(o, "**Impact**:");
    for f in &es.impact {
        let _ = writeln!(o, "{}", field(f));
    }
    let _ = writeln!(o, "\n**Resolution**:");
    for f in &es.resolution {
        let _ = writeln!(o, "{}", field(f));
    }
    let _ = writeln!(o, "\n---\n");

    // Timeline
    let _ = writeln!(o, "## Incident Timeline\n");
    let _ = writeln!(o, "| Time | Event | Details |");
    let _ = writeln!(o, "|------|-------|---------|");
    for r in &inv.timeline.rows {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            inline_md(&r.time, true),
            inline_md(&r.event, true),
            inline_md(&r.details, true)
        );
    }
    let _ = writeln!(o, "\n{}", inline_md(&inv.timeline.note, false));
    let _ = writeln!(o, "\n---\n");

    // Symptoms
    let s = &inv.symptoms;
    let _ = writeln!(o, "## Symptoms and Detection\n");
    let _ = writeln!(o, "### Initial Symptoms\n");
    for c in &s.initial_symptoms {
        let _ = writeln!(o, "{}", check(c));
    }
    let _ = writeln!(o, "\n### Detection Method\n");
    let _ = writeln!(
        o,
        "**How Discovered**: {}\n",
        inline_md(&s.how_discovered, false)
    );
    let _ = writeln!(o, "**Monitoring Data**:");
    let mut lines: Vec<String> = s
        .prometheus_queries
        .iter()
        .map(|q| format!("Prometheus query: {}", plain(q)))
        .collect();
    lines.push(format!("Alert rule: {}", plain(&s.alert_rule)));
    lines.push(format!("Dashboard: {}", plain(&s.dashboard)));
    fence(&mut o, "", &lines);
    let _ = writeln!(o, "\n**Example Metrics**:");
    let mut lines = vec!["Before:".to_string()];
    lines.extend(s.before.iter().map(plain_field));
    lines.push(String::new());
    lines.push("Current:".into());
    lines.extend(s.current.iter().map(plain_field));
    fence(&mut o, "", &lines);
    if !s.growth_by_source.is_empty() {
        let _ = writeln!(
            o,
            "\n**Growth by source** (most reliable first; the headline, and how each other source compares with it):\n"
        );
        let _ = writeln!(
            o,
            "| Source | Growth | Window and method | Verdict | Against the headline |"
        );
        let _ = writeln!(
            o,
            "|--------|--------|-------------------|---------|----------------------|"
        );
        for r in &s.growth_by_source {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                inline_md(&r.source, true),
                inline_md(&r.growth, true),
                inline_md(&r.window, true),
                inline_md(&r.verdict, true),
                inline_md(&r.against_headline, true)
            );
        }
    }
    let _ = writeln!(o, "\n---\n");

    // Investigation steps
    let st = &inv.investigation;
    let _ = writeln!(o, "## Investigation Steps\n");
    let _ = writeln!(o, "### 1. Initial Data Collection\n");
    let _ = writeln!(o, "**Tools Used**:");
    for c in &st.tools_used {
        let _ = writeln!(o, "{}", check(c));
    }
    let _ = writeln!(o, "\n**Heap Snapshots Collected**:");
    let mut lines: Vec<String> = st
        .snapshots
        .iter()
        .map(|r| {
            format!(
                "Snapshot {}: {} - {} - {}",
                r.index,
                plain(&r.time),
                plain(&r.size),
                plain(&r.file)
            )
        })
        .collect();
    if let Some(n) = &st.snapshots_note {
        lines.push(plain(n));
    }
    fence(&mut o, "", &lines);
    let _ = writeln!(o, "\n### 2. Snapshot Comparison Analysis\n");
    let _ = writeln!(o, "**Method**: {}\n", inline_md(&st.method, false));
    let _ = writeln!(o, "**Findings**:");
    let mut lines = vec!["Objects growing between snapshots:".to_string()];
    for g in &st.growing {
        lines.push(format!(
            "- {}: {} - {}",
            g.class,
            plain(&g.text),
            plain(&g.context)
        ));
    }
    if let Some(n) = &st.growing_note {
        lines.push(format!("- {}", plain(n)));
    }
    lines.push(String::new());
    lines.push("Top 3 memory consumers:".into());
    for c in &st.top_consumers {
        lines.push(format!("{}. {} - {}", c.rank, plain(&c.text), c.path));
    }
    if let Some(n) = &st.top_consumers_note {
        lines.push(plain(n));
    }
    fence(&mut o, "", &lines);
    let _ = writeln!(o, "\n### 3. Retainer Path Analysis\n");
    let _ = writeln!(
        o,
        "**Leaked Object**: {}\n",
        inline_md(&st.leaked_object, false)
    );
    let _ = writeln!(o, "**Retainer Path**:");
    fence(&mut o, "", &st.retainer_path);
    let _ = writeln!(
        o,
        "\n**Why Not GC'd**: {}",
        inline_md(&st.why_not_collected, false)
    );
    let _ = writeln!(o, "\n---\n");

    // Root cause
    let rc = &inv.root_cause;
    let _ = writeln!(o, "## Root Cause Analysis\n");
    let _ = writeln!(o, "### Leak Pattern Identified\n");
    let _ = writeln!(
        o,
        "**Pattern**: {} ({})\n",
        inline_md(&rc.pattern, false),
        inline_md(&format!("`{}`", rc.pattern_id), false)
    );
    let _ = writeln!(
        o,
        "**Classified because**: {}\n",
        inline_md(&rc.pattern_reason, false)
    );
    let _ = writeln!(o, "**Vulnerable Code** (before fix):");
    code_block(&mut o, &rc.vulnerable_code);
    let _ = writeln!(o, "\n**Why This Leaks**:");
    for (i, s) in rc.why_it_leaks.iter().enumerate() {
        let _ = writeln!(o, "{}. {}", i + 1, inline_md(s, false));
    }
    if !rc.other_findings.is_empty() {
        let _ = writeln!(o, "\n**Other findings**:");
        for s in &rc.other_findings {
            let _ = writeln!(o, "- {}", inline_md(s, false));
        }
    }
    let _ = writeln!(o, "\n### Reproduction Steps\n");
    for (i, s) in rc.reproduction_steps.iter().enumerate() {
        let _ = writeln!(o, "{}. {}", i + 1, inline_md(s, false));
    }
    let _ = writeln!(
        o,
        "\n**Reproduction Time**: {}",
        inline_md(&rc.reproduction_time, false)
    );
    let _ = writeln!(o, "\n---\n");

    // Fix
    let fx = &inv.fix;
    let _ = writeln!(o, "## Fix Implementation\n");
    let _ = writeln!(o, "### Code Changes\n");
    let _ = writeln!(
        o,
        "**Pull Request**: {}\n",
        inline_md(&fx.pull_request, false)
    );
    let _ = writeln!(o, "**Files Modified**:");
    for f in &fx.files_modified {
        let _ = writeln!(
            o,
            "- {} - {}",
            inline_md(&format!("`{}`", f.label), false),
            inline_md(&f.value, false)
        );
    }
    let _ = writeln!(o, "\n**Fixed Code** (proposed):");
    code_block(&mut o, &fx.fixed_code);
    for n in &fx.notes {
        let _ = writeln!(o, "\nNote: {}", inline_md(n, false));
    }
    let _ = writeln!(o, "\n**Fix Strategy**:");
    for c in &fx.strategy {
        let _ = writeln!(o, "{}", check(c));
    }
    let _ = writeln!(o, "\n### Testing and Validation\n");
    let _ = writeln!(o, "**Tests Added**:");
    code_block(&mut o, &fx.test);
    let _ = writeln!(o, "\n**Load Test Results**:");
    fence(&mut o, "", &fx.load_test);
    let _ = writeln!(o, "\n---\n");

    // Deployment
    let d = &inv.deployment;
    let _ = writeln!(o, "## Deployment and Results\n");
    let _ = writeln!(o, "### Deployment Details\n");
    let _ = writeln!(o, "**Environment**: {}  ", inline_md(&d.environment, false));
    let _ = writeln!(
        o,
        "**Deployment Time**: {}  ",
        inline_md(&d.deployment_time, false)
    );
    let _ = writeln!(o, "**Rollout Strategy**: {}", inline_md(&d.rollout, false));
    let _ = writeln!(o, "\n### Post-Deployment Metrics\n");
    let _ = writeln!(o, "**Before Fix**:");
    fence(
        &mut o,
        "",
        &d.before_fix.iter().map(plain_field).collect::<Vec<_>>(),
    );
    let _ = writeln!(o, "\n**After Fix**:");
    fence(
        &mut o,
        "",
        &d.after_fix.iter().map(plain_field).collect::<Vec<_>>(),
    );
    let _ = writeln!(o, "\n**Improvement**:");
    for f in &d.improvement {
        let _ = writeln!(o, "{}", field(f));
    }
    let _ = writeln!(o, "\n### Grafana Dashboard\n");
    let _ = writeln!(o, "**Link**: {}\n", inline_md(&d.dashboard_link, false));
    let _ = writeln!(o, "**Key Panels**:");
    for f in &d.key_panels {
        let _ = writeln!(o, "{}", field(f));
    }
    let _ = writeln!(o, "\n---\n");

    // Lessons
    let l = &inv.lessons;
    let _ = writeln!(o, "## Lessons Learned\n");
    let _ = writeln!(o, "### What Went Well\n");
    for s in &l.went_well {
        let _ = writeln!(o, "- {}", inline_md(s, false));
    }
    let _ = writeln!(o, "\n### What Could Be Improved\n");
    for s in &l.could_improve {
        let _ = writeln!(o, "- {}", inline_md(s, false));
    }
    let _ = writeln!(o, "\n### Preventive Measures\n");
    let _ = writeln!(o, "**Monitoring Added**:");
    for c in &l.monitoring {
        let _ = writeln!(o, "{}", check(c));
    }
    let a = &inv.alerts;
    let _ = writeln!(
        o,
        "\nGenerated alert rules ({}, growth threshold: {}):",
        inline_md(&format!("`{}`", a.rules_file), false),
        inline_md(&a.threshold_reason, false)
    );
    let mut lines = Vec::new();
    for r in &a.rules {
        lines.push(format!(
            "{} {}{}",
            r.kind,
            r.name,
            r.severity
                .as_ref()
                .map(|s| format!(" (severity {s})"))
                .unwrap_or_default()
        ));
        lines.push(format!("  expr: {}", r.expr));
        if let Some(f) = &r.for_duration {
            lines.push(format!("  for: {f}"));
        }
    }
    fence(&mut o, "", &lines);
    let _ = writeln!(
        o,
        "\nGenerated dashboard ({}, uid {}): {}",
        inline_md(&format!("`{}`", a.dashboard_file), false),
        inline_md(&format!("`{}`", a.dashboard_uid), false),
        inline_md(&a.dashboard_panels.join(", "), false)
    );
    let _ = writeln!(o, "\n**Code Review Checklist Updated**:");
    for c in &l.review_checklist {
        let _ = writeln!(o, "{}", check(c));
    }
    let _ = writeln!(o, "\n**Testing Standards**:");
    for c in &l.testing_standards {
        let _ = writeln!(o, "{}", check(c));
    }
    let _ = writeln!(o, "\n---\n");

    // Related
    let _ = writeln!(o, "## Related Documentation\n");
    for f in &inv.related.items {
        let _ = writeln!(
            o,
            "- **{}**: {}",
            inline_md(&f.label, false),
            inline_md(&f.value, false)
        );
    }
    let _ = writeln!(o, "\n---\n");

    // Appendix
    let ap = &inv.appendix;
    let _ = writeln!(o, "## Appendix\n");
    let _ = writeln!(o, "**Evidence used**:");
    for e in &inv.evidence_used {
        let _ = writeln!(o, "- {}", inline_md(e, false));
    }
    let _ = writeln!(o, "\n### Heap Snapshot Files\n");
    for f in &ap.snapshot_files {
        let _ = writeln!(
            o,
            "- {} - {}",
            inline_md(&format!("`{}`", f.label), false),
            inline_md(&format!("`{}`", f.value), false)
        );
    }
    let _ = writeln!(o, "\n### GC Logs\n");
    fence(&mut o, "", &ap.gc_log);
    let _ = writeln!(o, "\n### Prometheus Queries\n");
    let mut lines = Vec::new();
    for (i, q) in ap.prometheus_queries.iter().enumerate() {
        if i > 0 {
            lines.push(String::new());
        }
        lines.push(format!("# {}", plain(&q.label)));
        lines.push(plain(&q.value));
    }
    fence(&mut o, "promql", &lines);
    let _ = writeln!(o, "\n---\n");
    let _ = writeln!(
        o,
        "**Report Completed**: {}  ",
        inline_md(&inv.footer.completed, false)
    );
    let _ = writeln!(
        o,
        "**Next Review**: {}",
        inline_md(&inv.footer.next_review, false)
    );
    o
}
