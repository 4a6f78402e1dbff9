//! "Root Cause Analysis": the pattern, the vulnerable code, why it leaks, how to reproduce.

use super::{NA, group_size_text, lang_of, loc_text, one_line};
use crate::report::facts::{Facts, LeakGroup};
use crate::report::model::{CodeBlock, RootCauseAnalysis};
use crate::report::patterns;
use crate::report::words::{self, code};

/// The code at a finding's location, with its header.
pub fn finding_code_block(g: &LeakGroup) -> CodeBlock {
    let t = &g.finding;
    let lines = if !t.excerpt.is_empty() {
        t.excerpt.clone()
    } else if let Some(c) = &t.code {
        vec![c.clone()]
    } else {
        vec!["(the snapshot holds no source for this location)".into()]
    };
    CodeBlock {
        language: t
            .location
            .as_ref()
            .map(|l| lang_of(&l.file))
            .unwrap_or("javascript")
            .into(),
        location: t
            .location
            .as_ref()
            .map(|l| format!("{}:{}", l.file, l.line))
            .unwrap_or_else(|| "location unknown (no script position in the snapshot)".into()),
        explanation: format!(
            "{}: {}",
            g.pattern.id(),
            one_line(&t.reason, patterns::label(g.pattern))
        ),
        lines,
    }
}

fn reproduction_time(f: &Facts) -> String {
    let snap_span = match (f.snapshots.first(), f.snapshots.last()) {
        (Some(a), Some(b)) => match (a.unix, b.unix, a.name_time, b.name_time) {
            (Some(x), Some(y), _, _) if y > x => Some(y - x),
            (_, _, Some(x), Some(y)) if y > x => Some((y - x) as f64),
            _ => None,
        },
        _ => None,
    };
    match (snap_span, f.headline_source()) {
        (Some(s), _) => format!(
            "{}: the leak showed between the first and last snapshot",
            words::duration(s)
        ),
        (None, Some(h)) if h.span_s > 0.0 => format!(
            "{}: the {} shows the growth within this time",
            words::duration(h.span_s),
            h.label
        ),
        _ => format!("{NA}the evidence carries no times"),
    }
}

pub fn root_cause(f: &Facts) -> RootCauseAnalysis {
    let others: Vec<String> = f
        .leaks
        .iter()
        .skip(1)
        .map(|g| {
            format!(
                "{}: {} at {}",
                g.pattern.id(),
                group_size_text(g),
                loc_text(&g.finding)
            )
        })
        .collect();
    let drive = match &f.load {
        Some(l) => format!(
            "Send traffic that runs that code, as the capture did: {}{} ({} requests in {}).",
            l.url
                .as_ref()
                .map(|u| format!("{} {}", l.method.as_deref().unwrap_or("GET"), code(u)))
                .unwrap_or_else(|| "the same requests".into()),
            l.requests_per_second
                .map(|r| format!(" at {} requests/s", words::num(r)))
                .unwrap_or_default(),
            words::count(l.requests_total),
            words::duration(l.seconds)
        ),
        None => String::new(),
    };
    if let Some(g) = f.top_leak() {
        let loc = loc_text(&g.finding);
        return RootCauseAnalysis {
            pattern_id: g.pattern.id().into(),
            pattern: patterns::label(g.pattern).into(),
            pattern_reason: one_line(&g.finding.reason, "the classifier gave no reason"),
            vulnerable_code: finding_code_block(g),
            why_it_leaks: patterns::why_it_leaks(g, &loc),
            reproduction_steps: vec![
                "Start the service with `node --trace-gc --heapsnapshot-signal=SIGUSR2` in dev or staging.".into(),
                if drive.is_empty() {
                    format!("Send traffic that runs the code at {loc} (each call adds {}).", super::plural_for(g, 2))
                } else {
                    drive.replace("that code", &format!("the code at {loc}"))
                },
                "Take 3 heap snapshots a few minutes apart (`kill -USR2 <pid>`), then run `memsleuth report --snapshots S1 S2 S3`.".into(),
                format!("Observed result: {}.", group_size_text(g)),
            ],
            reproduction_time: reproduction_time(f),
            other_findings: others,
        };
    }
    let py =
        f.ev.python
            .iter()
            .flat_map(|p| p.view.findings.iter().map(move |x| (p, x)))
            .next();
    if let Some((pe, p)) = py {
        let loc = code(&format!("{}:{}", p.file, p.line));
        return RootCauseAnalysis {
            pattern_id: "python-allocation".into(),
            pattern: "Python allocation never freed (memory kept by a long-lived object)".into(),
            pattern_reason: one_line(&p.evidence, "reported by the profiler"),
            vulnerable_code: CodeBlock {
                language: "python".into(),
                location: format!("{}:{}", p.file, p.line),
                explanation: format!(
                    "{} reports this line{}",
                    pe.view.source,
                    p.leaked_bytes
                        .map(|b| format!(" keeps {} never freed", words::bytes(b)))
                        .unwrap_or_default()
                ),
                lines: vec![p.code.clone()],
            },
            why_it_leaks: vec![
                format!("The line at {loc} allocates on every call."),
                "What it allocates is stored in an object that lives as long as the process (a module-level list, dict or cache), so it is never freed.".into(),
                format!(
                    "Result: memory accumulates{}.",
                    p.leaked_bytes
                        .map(|b| format!(": {} not freed during the profile", words::bytes(b)))
                        .unwrap_or_default()
                ),
            ],
            reproduction_steps: vec![
                "Run the program under the profiler: `memray run --trace-python-allocators -o out.bin prog.py` (or `scalene run -o out.json prog.py`).".into(),
                format!("Drive the code path that runs {loc}."),
                "Run `memray transform csv --leaks out.bin` and `memsleuth report --python out.csv`.".into(),
                format!("Observed result: {loc} at the top of the leaking lines."),
            ],
            reproduction_time: match pe.view.elapsed_s {
                Some(s) if s.is_finite() && s > 0.0 => format!("{}: the profiled run", words::duration(s)),
                _ => format!("{NA}the profile carries no duration"),
            },
            other_findings: pe
                .view
                .findings
                .iter()
                .skip(1)
                .map(|x| {
                    format!(
                        "{} ({})",
                        code(&format!("{}:{}", x.file, x.line)),
                        code(x.code.trim())
                    )
                })
                .collect(),
        };
    }
    let leak_like = f.oom_seen() || f.status.verdict == crate::report::facts::Verdict::Leak;
    RootCauseAnalysis {
        pattern_id: "none".into(),
        pattern: if leak_like {
            format!(
                "{NA}not in this evidence: memory grows or ran out, but no heap snapshots were given"
            )
        } else if f.status.verdict == crate::report::facts::Verdict::Inconclusive {
            format!("{NA}not identified: the evidence is inconclusive")
        } else {
            "none: the evidence shows no leak".into()
        },
        pattern_reason: format!("{NA}no leak finding in the evidence"),
        vulnerable_code: CodeBlock {
            language: "text".into(),
            location: format!("{NA}no leak finding in the evidence"),
            explanation: "heap snapshots (memsleuth leaks) or a Python profile locate the code"
                .into(),
            lines: vec!["(no code identified)".into()],
        },
        why_it_leaks: vec![format!("{NA}no leak finding in the evidence")],
        reproduction_steps: vec![
            "Take 3 heap snapshots of the service a few minutes apart under normal traffic.".into(),
            "Run `memsleuth report --snapshots S1 S2 S3` with them.".into(),
        ],
        reproduction_time: format!("{NA}no leak reproduced"),
        other_findings: others,
    }
}
