//! `report.html`: one self-contained page (inline CSS and SVG, no scripts, no network) with
//! the same sections and text as the Markdown, plus the charts. Every string from the
//! evidence is HTML-escaped; a Content-Security-Policy that allows no scripts and no network
//! is a second line of defence, not the first.

use super::model::*;
use super::svg;
use super::text::{html_escape as esc, inline_html as inl};
use std::fmt::Write;

const CSS: &str = r#"
:root { color-scheme: light; }
body { font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1d2127; background: #f6f7f9; margin: 0; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 28px; margin: 8px 0 12px; }
h2 { font-size: 21px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 2px solid #e3e6ea; }
h3 { font-size: 17px; margin: 22px 0 8px; }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0 0 8px; }
.meta dt { font-weight: 600; }
.meta dd { margin: 0; }
.sev { display: inline-block; padding: 1px 10px; border-radius: 10px; color: #fff; font-weight: 700; }
.sev-Critical { background: #b00020; } .sev-High { background: #d9480f; } .sev-Medium { background: #c98a00; } .sev-Low { background: #2f7d32; }
.tldr { background: #fff8e6; border-left: 4px solid #d9480f; padding: 10px 14px; margin: 8px 0 14px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border: 1px solid #d8dce1; padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #f0f2f5; }
pre { background: #f5f7f9; border: 1px solid #e1e4e8; padding: 10px 12px; overflow-x: auto; font-size: 13px; line-height: 1.4; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.92em; background: #f0f2f5; padding: 0 3px; border-radius: 3px; }
pre code { background: none; padding: 0; }
ul.checks { list-style: none; padding-left: 4px; }
ul.checks li::before { content: "\2610\00a0"; }
ul.checks li.on::before { content: "\2611\00a0"; color: #2f7d32; font-weight: 700; }
.na { color: #6a737d; }
figure { margin: 10px 0 18px; }
figcaption { font-size: 13px; color: #555; }
svg.chart { max-width: 100%; height: auto; border: 1px solid #e3e6ea; }
.muted { color: #6a737d; font-size: 13px; }
"#;

fn checks(o: &mut String, items: &[Check]) {
    o.push_str("<ul class=\"checks\">");
    for c in items {
        let _ = write!(
            o,
            "<li class=\"{}\">{}</li>",
            if c.checked { "on" } else { "off" },
            inl(&c.text)
        );
    }
    o.push_str("</ul>\n");
}

fn fields(o: &mut String, items: &[Field]) {
    o.push_str("<ul>");
    for f in items {
        let _ = write!(
            o,
            "<li><strong>{}</strong>: {}</li>",
            inl(&f.label),
            value(&f.value)
        );
    }
    o.push_str("</ul>\n");
}

fn value(v: &str) -> String {
    if v.starts_with("not available: ") {
        format!("<span class=\"na\">{}</span>", inl(v))
    } else {
        inl(v)
    }
}

fn pre(o: &mut String, lines: &[String]) {
    o.push_str("<pre><code>");
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            o.push('\n');
        }
        o.push_str(&esc(l));
    }
    o.push_str("</code></pre>\n");
}

fn code_block(o: &mut String, c: &CodeBlock) {
    let _ = write!(
        o,
        "<p class=\"muted\">File: {} — {}</p>",
        inl(&format!("`{}`", super::text::plain(&c.location))),
        inl(&c.explanation)
    );
    let _ = write!(o, "<pre><code class=\"language-{}\">", esc(&c.language));
    for (i, l) in c.lines.iter().enumerate() {
        if i > 0 {
            o.push('\n');
        }
        o.push_str(&esc(l));
    }
    o.push_str("</code></pre>\n");
}

/// Renders the whole report as one HTML page.
pub fn render(inv: &Investigation) -> String {
    let mut o = String::new();
    let h = &inv.header;
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Memory Leak Investigation Report: {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n",
        esc(&super::text::plain(&h.service))
    );
    let _ = write!(
        o,
        "<h1>Memory Leak Investigation Report</h1>\n<dl class=\"meta\">"
    );
    let _ = write!(o, "<dt>Service</dt><dd>{}</dd>", inl(&h.service));
    let _ = write!(o, "<dt>Date</dt><dd>{}</dd>", value(&h.date));
    let _ = write!(o, "<dt>Investigator</dt><dd>{}</dd>", inl(&h.investigator));
    let _ = writeln!(
        o,
        "<dt>Severity</dt><dd><span class=\"sev sev-{0}\">{0}</span> <span class=\"muted\">{1}</span></dd></dl>",
        esc(&h.severity),
        inl(&h.severity_reason)
    );

    let es = &inv.executive_summary;
    o.push_str("<h2>Executive Summary</h2>\n");
    let _ = writeln!(
        o,
        "<p class=\"tldr\"><strong>TL;DR</strong>: {}</p>",
        inl(&es.tldr)
    );
    o.push_str("<p><strong>Impact</strong>:</p>");
    fields(&mut o, &es.impact);
    o.push_str("<p><strong>Resolution</strong>:</p>");
    fields(&mut o, &es.resolution);

    o.push_str("<h2>Incident Timeline</h2>\n<table><thead><tr><th>Time</th><th>Event</th><th>Details</th></tr></thead><tbody>");
    for r in &inv.timeline.rows {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            inl(&r.time),
            inl(&r.event),
            value(&r.details)
        );
    }
    let _ = write!(
        o,
        "</tbody></table>\n<p class=\"muted\">{}</p>\n",
        inl(&inv.timeline.note)
    );

    let s = &inv.symptoms;
    o.push_str("<h2>Symptoms and Detection</h2>\n<h3>Initial Symptoms</h3>\n");
    checks(&mut o, &s.initial_symptoms);
    o.push_str("<h3>Detection Method</h3>\n");
    let _ = write!(
        o,
        "<p><strong>How Discovered</strong>: {}</p>\n<p><strong>Monitoring Data</strong>:</p>",
        value(&s.how_discovered)
    );
    let mut lines: Vec<String> = s
        .prometheus_queries
        .iter()
        .map(|q| format!("Prometheus query: {}", super::text::plain(q)))
        .collect();
    lines.push(format!("Alert rule: {}", super::text::plain(&s.alert_rule)));
    lines.push(format!("Dashboard: {}", super::text::plain(&s.dashboard)));
    pre(&mut o, &lines);
    if inv.charts.memory.is_empty() {
        o.push_str("<p class=\"na\">No memory chart: no growth series with at least two points was given.</p>\n");
    }
    for c in &inv.charts.memory {
        let _ = writeln!(
            o,
            "<figure>{}<figcaption>{}</figcaption></figure>",
            svg::memory_chart(c),
            inl(&c.caption)
        );
    }
    o.push_str("<p><strong>Example Metrics</strong>:</p><p>Before:</p>");
    fields(&mut o, &s.before);
    o.push_str("<p>Current:</p>");
    fields(&mut o, &s.current);
    if !s.growth_by_source.is_empty() {
        o.push_str("<p><strong>Growth by source</strong> (most reliable first; the headline, and how each other source compares with it):</p>");
        o.push_str("<table><thead><tr><th>Source</th><th>Growth</th><th>Window and method</th><th>Verdict</th><th>Against the headline</th></tr></thead><tbody>");
        for r in &s.growth_by_source {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                inl(&r.source),
                inl(&r.growth),
                inl(&r.window),
                inl(&r.verdict),
                inl(&r.against_headline)
            );
        }
        o.push_str("</tbody></table>\n");
    }

    let st = &inv.investigation;
    o.push_str("<h2>Investigation Steps</h2>\n<h3>1. Initial Data Collection</h3>\n<p><strong>Tools Used</strong>:</p>");
    checks(&mut o, &st.tools_used);
    o.push_str("<p><strong>Heap Snapshots Collected</strong>:</p>");
    if !st.snapshots.is_empty() {
        o.push_str("<table><thead><tr><th>#</th><th>Time</th><th>Size</th><th>File</th></tr></thead><tbody>");
        for r in &st.snapshots {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                r.index,
                inl(&r.time),
                inl(&r.size),
                esc(&r.file)
            );
        }
        o.push_str("</tbody></table>\n");
    }
    if let Some(n) = &st.snapshots_note {
        let _ = writeln!(o, "<p>{}</p>", value(n));
    }
    o.push_str("<h3>2. Snapshot Comparison Analysis</h3>\n");
    let _ = writeln!(o, "<p><strong>Method</strong>: {}</p>", value(&st.method));
    o.push_str("<p><strong>Findings</strong>: objects growing between snapshots</p>");
    if !st.growing.is_empty() {
        o.push_str("<table><thead><tr><th>Object type</th><th>Growth between the first and last snapshot</th><th>Where</th></tr></thead><tbody>");
        for g in &st.growing {
            let _ = write!(
                o,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                esc(&g.class),
                inl(&g.text),
                inl(&g.context)
            );
        }
        o.push_str("</tbody></table>\n");
        let _ = writeln!(
            o,
            "<figure>{}<figcaption>Growth per class</figcaption></figure>",
            svg::growth_bars(&inv.charts.class_growth)
        );
    }
    if let Some(n) = &st.growing_note {
        let _ = writeln!(o, "<p>{}</p>", value(n));
    }
    o.push_str("<p><strong>Top 3 memory consumers</strong>:</p>");
    if !st.top_consumers.is_empty() {
        o.push_str("<ol>");
        for c in &st.top_consumers {
            let _ = write!(
                o,
                "<li>{} — <code>{}</code></li>",
                inl(&c.text),
                esc(&c.path)
            );
        }
        o.push_str("</ol>\n");
    }
    if let Some(n) = &st.top_consumers_note {
        let _ = writeln!(o, "<p>{}</p>", value(n));
    }
    o.push_str("<h3>3. Retainer Path Analysis</h3>\n");
    let _ = write!(
        o,
        "<p><strong>Leaked Object</strong>: {}</p>\n<p><strong>Retainer Path</strong>:</p>",
        value(&st.leaked_object)
    );
    pre(&mut o, &st.retainer_path);
    if !inv.charts.retainer.is_empty() {
        let _ = writeln!(
            o,
            "<figure>{}<figcaption>Retainer path, from a GC root (top) to the leaked objects (bottom)</figcaption></figure>",
            svg::retainer_path(&inv.charts.retainer)
        );
    }
    let _ = writeln!(
        o,
        "<p><strong>Why Not GC'd</strong>: {}</p>",
        value(&st.why_not_collected)
    );

    let rc = &inv.root_cause;
    o.push_str("<h2>Root Cause Analysis</h2>\n<h3>Leak Pattern Identified</h3>\n");
    let _ = write!(
        o,
        "<p><strong>Pattern</strong>: {} (<code>{}</code>)</p>\n<p><strong>Classified because</strong>: {}</p>\n<p><strong>Vulnerable Code</strong> (before fix):</p>",
        value(&rc.pattern),
        esc(&rc.pattern_id),
        value(&rc.pattern_reason)
    );
    code_block(&mut o, &rc.vulnerable_code);
    o.push_str("<p><strong>Why This Leaks</strong>:</p><ol>");
    for s in &rc.why_it_leaks {
        let _ = write!(o, "<li>{}</li>", value(s));
    }
    o.push_str("</ol>\n");
    if !rc.other_findings.is_empty() {
        o.push_str("<p><strong>Other findings</strong>:</p><ul>");
        for s in &rc.other_findings {
            let _ = write!(o, "<li>{}</li>", inl(s));
        }
        o.push_str("</ul>\n");
    }
    o.push_str("<h3>Reproduction Steps</h3>\n<ol>");
    for s in &rc.reproduction_steps {
        let _ = write!(o, "<li>{}</li>", inl(s));
    }
    let _ = write!(
        o,
        "</ol>\n<p><strong>Reproduction Time</strong>: {}</p>\n",
        value(&rc.reproduction_time)
    );

    let fx = &inv.fix;
    o.push_str("<h2>Fix Implementation</h2>\n<h3>Code Changes</h3>\n");
    let _ = write!(
        o,
        "<p><strong>Pull Request</strong>: {}</p>\n<p><strong>Files Modified</strong>:</p><ul>",
        value(&fx.pull_request)
    );
    for f in &fx.files_modified {
        let _ = write!(
            o,
            "<li><code>{}</code> — {}</li>",
            esc(&f.label),
            value(&f.value)
        );
    }
    o.push_str("</ul>\n<p><strong>Fixed Code</strong> (proposed):</p>");
    code_block(&mut o, &fx.fixed_code);
    for n in &fx.notes {
        let _ = writeln!(o, "<p>Note: {}</p>", inl(n));
    }
    o.push_str("<p><strong>Fix Strategy</strong>:</p>");
    checks(&mut o, &fx.strategy);
    o.push_str("<h3>Testing and Validation</h3>\n<p><strong>Tests Added</strong>:</p>");
    code_block(&mut o, &fx.test);
    o.push_str("<p><strong>Load Test Results</strong>:</p>");
    pre(&mut o, &fx.load_test);

    let d = &inv.deployment;
    o.push_str("<h2>Deployment and Results</h2>\n<h3>Deployment Details</h3>\n<ul>");
    let _ = writeln!(
        o,
        "<li><strong>Environment</strong>: {}</li><li><strong>Deployment Time</strong>: {}</li><li><strong>Rollout Strategy</strong>: {}</li></ul>",
        value(&d.environment),
        value(&d.deployment_time),
        value(&d.rollout)
    );
    o.push_str("<h3>Post-Deployment Metrics</h3>\n<p><strong>Before Fix</strong>:</p>");
    fields(&mut o, &d.before_fix);
    o.push_str("<p><strong>After Fix</strong>:</p>");
    fields(&mut o, &d.after_fix);
    o.push_str("<p><strong>Improvement</strong>:</p>");
    fields(&mut o, &d.improvement);
    o.push_str("<h3>Grafana Dashboard</h3>\n");
    let _ = write!(
        o,
        "<p><strong>Link</strong>: {}</p><p><strong>Key Panels</strong>:</p>",
        inl(&d.dashboard_link)
    );
    fields(&mut o, &d.key_panels);

    let l = &inv.lessons;
    o.push_str("<h2>Lessons Learned</h2>\n<h3>What Went Well</h3>\n<ul>");
    for s in &l.went_well {
        let _ = write!(o, "<li>{}</li>", value(s));
    }
    o.push_str("</ul>\n<h3>What Could Be Improved</h3>\n<ul>");
    for s in &l.could_improve {
        let _ = write!(o, "<li>{}</li>", inl(s));
    }
    o.push_str("</ul>\n<h3>Preventive Measures</h3>\n<p><strong>Monitoring Added</strong>:</p>");
    checks(&mut o, &l.monitoring);
    let a = &inv.alerts;
    let _ = write!(
        o,
        "<p>Generated alert rules (<code>{}</code>; growth threshold: {}):</p>",
        esc(&a.rules_file),
        inl(&a.threshold_reason)
    );
    o.push_str("<table><thead><tr><th>Rule</th><th>Expression</th><th>For</th><th>Severity</th></tr></thead><tbody>");
    for r in &a.rules {
        let _ = write!(
            o,
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            esc(&r.name),
            esc(&r.expr),
            esc(r.for_duration.as_deref().unwrap_or("—")),
            esc(r.severity.as_deref().unwrap_or("recording rule"))
        );
    }
    let _ = write!(
        o,
        "</tbody></table>\n<p>Generated dashboard (<code>{}</code>, uid <code>{}</code>): {}</p>\n",
        esc(&a.dashboard_file),
        esc(&a.dashboard_uid),
        esc(&a.dashboard_panels.join(", "))
    );
    o.push_str("<p><strong>Code Review Checklist Updated</strong>:</p>");
    checks(&mut o, &l.review_checklist);
    o.push_str("<p><strong>Testing Standards</strong>:</p>");
    checks(&mut o, &l.testing_standards);

    o.push_str("<h2>Related Documentation</h2>\n");
    fields(&mut o, &inv.related.items);

    let ap = &inv.appendix;
    o.push_str("<h2>Appendix</h2>\n<p><strong>Evidence used</strong>:</p><ul>");
    for e in &inv.evidence_used {
        let _ = write!(o, "<li>{}</li>", inl(e));
    }
    o.push_str("</ul>\n<h3>Heap Snapshot Files</h3>\n<ul>");
    for f in &ap.snapshot_files {
        let _ = write!(
            o,
            "<li><code>{}</code> — {}</li>",
            esc(&f.label),
            value(&f.value)
        );
    }
    o.push_str("</ul>\n<h3>GC Logs</h3>\n");
    pre(&mut o, &ap.gc_log);
    o.push_str("<h3>Prometheus Queries</h3>\n");
    let mut lines = Vec::new();
    for (i, q) in ap.prometheus_queries.iter().enumerate() {
        if i > 0 {
            lines.push(String::new());
        }
        lines.push(format!("# {}", super::text::plain(&q.label)));
        lines.push(super::text::plain(&q.value));
    }
    pre(&mut o, &lines);
    let _ = write!(
        o,
        "<hr>\n<p><strong>Report Completed</strong>: {}<br><strong>Next Review</strong>: {}</p>\n<p class=\"muted\">Generated by memsleuth from the evidence listed above; the same evidence gives the same report.</p>\n</main>\n</body>\n</html>\n",
        value(&inv.footer.completed),
        inl(&inv.footer.next_review)
    );
    o
}
