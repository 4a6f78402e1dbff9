//! "Executive Summary": the TL;DR, the impact and the resolution. The TL;DR agrees with the
//! severity: an OOM seen says the heap ran out (with the cause, or that the cause is not in
//! this evidence, and what to collect next); a leak names the code and the fix; no leak is
//! said only when the evidence shows bounded growth.

use super::{NA, collect_next, group_size_text, headline_text, loc_text};
use crate::report::evidence::IncidentKind;
use crate::report::facts::{Facts, IncidentFact, Verdict};
use crate::report::model::{ExecutiveSummary, Field};
use crate::report::patterns;
use crate::report::words::{self, code};

fn kind_text(k: IncidentKind) -> &'static str {
    match k {
        IncidentKind::HeapOom => "V8 heap out of memory",
        IncidentKind::MemoryError => "MemoryError",
        IncidentKind::OomKill => "killed by the OOM killer",
        IncidentKind::Restart => "restart",
    }
}

fn when_text(i: &IncidentFact) -> String {
    match (i.unix, &i.time_text) {
        (Some(u), _) => format!(" at {}", words::datetime(words::unix_i(u))),
        (None, Some(t)) => format!(" ({t})"),
        (None, None) => String::new(),
    }
}

/// One incident in words: `` V8 heap out of memory: `FATAL ERROR: ...` in `gc.log` (+22 s ...) ``.
pub fn incident_text(i: &IncidentFact) -> String {
    let what = kind_text(i.kind);
    let n = if i.count > 1 {
        format!("{} × ", words::count(i.count))
    } else {
        String::new()
    };
    format!(
        "{n}{what}: {} in {}{}",
        code(&super::one_line(&i.message, what)),
        code(&i.source),
        when_text(i)
    )
}

/// Incidents in words, the same message said once with every place it was seen:
/// `` V8 heap out of memory: `FATAL ERROR: ...` (in `a.log:13`, `a.log:47`) ``.
pub fn incidents_text(list: &[&IncidentFact]) -> String {
    let mut groups: Vec<(IncidentKind, String, Vec<String>, u64)> = Vec::new();
    for i in list {
        let msg = super::one_line(&i.message, kind_text(i.kind));
        let at = format!("{}{}", code(&i.source), when_text(i));
        match groups
            .iter_mut()
            .find(|(k, m, _, _)| *k == i.kind && *m == msg)
        {
            Some(g) => {
                g.2.push(at);
                g.3 += i.count;
            }
            None => groups.push((i.kind, msg, vec![at], i.count)),
        }
    }
    groups
        .iter()
        .map(|(k, m, at, n)| {
            format!(
                "{}{}: {} in {}",
                if *n > 1 {
                    format!("{} × ", words::count(*n))
                } else {
                    String::new()
                },
                kind_text(*k),
                code(m),
                at.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The growth clause of the TL;DR: rate, per request, projection.
fn growth_clause(f: &Facts) -> Option<String> {
    let h = f.headline.as_ref()?;
    let s = f.headline_source()?;
    let mut c = format!("memory grows {} ({}", words::rate(h.rate.per_hour), s.label);
    if let Some(l) = &f.load
        && let Some(rps) = l.requests_per_second
        && s.kind == crate::report::facts::SourceKind::Capture
    {
        c.push_str(&format!(", at {} requests/s", words::num(rps)));
    }
    // An hourly figure from a few seconds is an extrapolation: the TL;DR says so where it
    // prints it, not only the Impact section.
    if s.too_short_for_rate {
        c.push_str(&format!(
            "; over {}: too short a window for an hourly figure",
            words::duration(s.span_s)
        ));
    }
    c.push(')');
    if let Some(p) = &f.per_request {
        c.push_str(&format!(", {}", words::per_request(p.bytes)));
    }
    match f.projection.seconds {
        Some(secs) => c.push_str(&format!(
            "; the memory limit is projected to be reached in {}",
            words::duration(secs)
        )),
        None if h.verdict == Verdict::Leak && !f.oom_seen() => {
            c.push_str("; the time to OOM cannot be projected (see Impact)")
        }
        None => {}
    }
    Some(c)
}

fn tldr(f: &Facts) -> String {
    let svc = f.service_name();
    let top = f.top_leak();
    let py =
        f.ev.python
            .iter()
            .flat_map(|p| p.view.leaking_lines().iter())
            .next();
    let cause = match (top, py) {
        (Some(g), _) => Some(format!(
            "{} at {} ({})",
            patterns::cause(g),
            loc_text(&g.finding),
            group_size_text(g)
        )),
        (None, Some(p)) => Some(format!(
            "Python line {} ({}) keeps memory that is never freed",
            code(&format!("{}:{}", p.file, p.line)),
            code(p.code.trim())
        )),
        _ => None,
    };
    let fix = match (top, py) {
        (Some(g), _) => Some(patterns::fix_short(g)),
        (None, Some(_)) => Some("bound or release what that line keeps".to_string()),
        _ => None,
    };
    let growth = growth_clause(f);
    if f.oom_seen() {
        let inc: Vec<&IncidentFact> = f.incidents.iter().filter(|i| i.kind.is_oom()).collect();
        let mut s = format!("{svc}: the memory ran out ({}).", incidents_text(&inc));
        match (&cause, &fix) {
            (Some(c), Some(x)) => s.push_str(&format!(" Cause: {c}. Fix: {x}.")),
            _ => s.push_str(&format!(
                " Cause: not in this evidence{}. Collect next: {}.",
                growth
                    .as_ref()
                    .map(|g| format!(" ({g})"))
                    .unwrap_or_default(),
                collect_next(f)
            )),
        }
        return s;
    }
    match f.status.verdict {
        Verdict::Leak => match (&cause, &fix) {
            (Some(c), Some(x)) => {
                let mut s = format!("{svc} leaks: {c}.");
                if let Some(g) = &growth {
                    s.push_str(&format!(" {}.", super::upper_first(g)));
                }
                s.push_str(&format!(" Fix: {x}."));
                s
            }
            _ => format!(
                "{svc}: {}; the leaking code is not identified yet. Collect next: {}.",
                growth.unwrap_or_else(|| f.status.reason.clone()),
                collect_next(f)
            ),
        },
        Verdict::Inconclusive => format!(
            "{svc}: no leak can be concluded from this evidence ({}){}. To decide, collect: {}.",
            f.status.reason,
            cause
                .map(|c| format!("; the snapshots point at {c}"))
                .unwrap_or_default(),
            collect_next(f)
        ),
        Verdict::NoLeak => format!(
            "{svc}: the evidence shows bounded memory, no leak ({}).",
            f.status.reason
        ),
    }
}

pub fn executive_summary(f: &Facts) -> ExecutiveSummary {
    let mut growth = match headline_text(f) {
        Some(h) => h,
        None => format!(
            "{NA}no growth series in the evidence (a capture, a --trace-gc log, a Prometheus range or dated heap snapshots show it)"
        ),
    };
    if let Some(p) = &f.per_request {
        growth.push_str(&format!(
            "; {} ({} to {} requests)",
            words::per_request(p.bytes),
            words::count(p.requests.0),
            words::count(p.requests.1)
        ));
    }
    let others = f.comparisons.len();
    if others > 0 {
        growth.push_str(&format!(
            "; {others} other source(s) compared in \"Detection Method\""
        ));
    }
    let oom = if f.oom_seen() {
        let inc: Vec<&IncidentFact> = f.incidents.iter().filter(|i| i.kind.is_oom()).collect();
        format!("{}: {}", words::count(f.oom_count()), incidents_text(&inc))
    } else {
        let mut looked: Vec<String> = Vec::new();
        if let Some(g) = &f.ev.gc {
            looked.push(format!("the GC log {}", code(&g.file)));
        }
        for a in &f.ev.app_logs {
            looked.push(format!("the log {}", code(a)));
        }
        if looked.is_empty() {
            format!(
                "{NA}no GC log or application log given (a --trace-gc log or --app-log shows OOM crashes)"
            )
        } else {
            format!("none in {}", looked.join(" or "))
        }
    };
    let restarts: u64 = f
        .incidents
        .iter()
        .filter(|i| i.kind == IncidentKind::Restart)
        .map(|i| i.count)
        .sum();
    let oom = if restarts > 0 {
        format!(
            "{oom}; {} restart(s) of unknown cause",
            words::count(restarts)
        )
    } else {
        oom
    };
    let projected = match f.projection.seconds {
        Some(s) => {
            let mut t = words::duration(s);
            if let (Some(a), Some(b)) = (f.projection.earliest_seconds, f.projection.latest_seconds)
                && words::duration(a) != words::duration(b)
            {
                t.push_str(&format!(
                    " (between {} and {} at the ends of the interval)",
                    words::duration(a),
                    words::duration(b)
                ));
            }
            if let Some(r) = f.projection.requests {
                t.push_str(&format!(
                    ", about {} more requests",
                    words::count(r.max(0.0).round() as u64)
                ));
            }
            format!("{t}: {}", f.projection.reason)
        }
        None => f.projection.reason.clone(),
    };
    let affected = match &f.load {
        Some(l) => format!(
            "{NA}the evidence is a load test, not user traffic ({} requests{})",
            words::count(l.requests_total),
            l.errors
                .map(|e| format!(", {} errors", words::count(e)))
                .unwrap_or_default()
        ),
        None => format!(
            "{NA}the evidence has no request or user data (request logs or an error-rate metric would show it)"
        ),
    };
    let duration = match (f.status.verdict, f.headline_source()) {
        (Verdict::NoLeak, _) => format!("{NA}no growth in the evidence analysed"),
        (_, Some(s)) if s.span_s > 0.0 => format!(
            "at least {} (the window of the {} that shows it); when it started is not in the evidence",
            words::duration(s.span_s),
            s.label
        ),
        _ => format!("{NA}the evidence has no time span"),
    };
    let top = f.top_leak();
    let root = match top {
        Some(g) => format!("{} at {}", patterns::label(g.pattern), loc_text(&g.finding)),
        None if f
            .ev
            .python
            .iter()
            .any(|p| !p.view.leaking_lines().is_empty()) =>
        {
            let p =
                f.ev.python
                    .iter()
                    .flat_map(|p| p.view.leaking_lines().iter())
                    .next();
            match p {
                Some(p) => format!(
                    "Python allocation never freed at {}",
                    code(&format!("{}:{}", p.file, p.line))
                ),
                None => format!("{NA}not identified"),
            }
        }
        None if f.oom_seen() || f.status.verdict == Verdict::Leak => {
            format!("{NA}not in this evidence: no heap snapshots given")
        }
        None if f.status.verdict == Verdict::NoLeak => "no leak in the evidence".into(),
        None => format!("{NA}not identified: the evidence is inconclusive"),
    };
    let status = if top.is_some() {
        "In Progress (root cause identified, fix proposed below, not yet deployed)"
    } else if f.oom_seen() || f.status.verdict == Verdict::Leak {
        "In Progress (growth or crashes seen, root cause not yet identified)"
    } else if f.status.verdict == Verdict::Inconclusive {
        "In Progress (more evidence needed to decide)"
    } else {
        "Monitoring (no leak in the evidence)"
    };
    ExecutiveSummary {
        tldr: tldr(f),
        impact: vec![
            Field {
                label: "Memory growth".into(),
                value: growth,
            },
            Field {
                label: "OOM incidents".into(),
                value: oom,
            },
            Field {
                label: "Projected time to OOM".into(),
                value: projected,
            },
            Field {
                label: "Affected users".into(),
                value: affected,
            },
            Field {
                label: "Duration".into(),
                value: duration,
            },
        ],
        resolution: vec![
            Field {
                label: "Root cause".into(),
                value: root,
            },
            Field {
                label: "Fix deployed".into(),
                value: "not yet: no evidence from after a fix was given".into(),
            },
            Field {
                label: "Status".into(),
                value: status.into(),
            },
        ],
    }
}
