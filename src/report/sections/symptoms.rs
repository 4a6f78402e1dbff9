//! "Symptoms and Detection": the symptoms the evidence shows, how the growth is seen (with
//! every source compared against the headline), the queries and generated alert, and the
//! before/current figures of the headline source.

use super::{NA, plural_for, source_rate_text};
use crate::report::alerts::{self, AlertConfig};
use crate::report::facts::{Facts, PatternKind, Verdict};
use crate::report::grafana;
use crate::report::model::{Check, Field, SourceRow, SymptomsAndDetection};
use crate::report::words::{self, code};

/// Every source against the headline, most reliable first.
pub fn growth_by_source(f: &Facts) -> Vec<SourceRow> {
    f.sources
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let head = f.headline.as_ref().is_some_and(|h| h.source == i);
            let cmp = f.comparisons.iter().find(|c| c.source == i);
            SourceRow {
                source: format!("{} {}", s.label, s.detail),
                growth: source_rate_text(s),
                window: format!(
                    "{}, {} point(s), {}{}",
                    words::duration(s.span_s),
                    s.n_points,
                    s.method,
                    if s.too_short_for_rate {
                        "; too short a window for an hourly figure"
                    } else {
                        ""
                    }
                ),
                verdict: if s.reason.is_empty() {
                    code(s.verdict.as_str())
                } else {
                    format!("{}: {}", code(s.verdict.as_str()), s.reason)
                },
                against_headline: if head {
                    format!(
                        "headline: {}",
                        f.headline.as_ref().map(|h| h.why.as_str()).unwrap_or("")
                    )
                } else {
                    cmp.map(|c| super::upper_first(&c.explanation))
                        .unwrap_or_default()
                },
            }
        })
        .collect()
}

pub fn symptoms(f: &Facts, cfg: &AlertConfig) -> SymptomsAndDetection {
    let ev = f.ev;
    let hs = f.headline_source();
    let linear = Check {
        checked: f
            .headline
            .as_ref()
            .is_some_and(|h| h.verdict == Verdict::Leak),
        text: match (hs, &f.headline) {
            (Some(s), Some(h)) => format!(
                "Linear memory growth ({}, {}; verdict {})",
                words::rate(h.rate.per_hour),
                s.label,
                code(h.verdict.as_str())
            ),
            _ => format!("Linear memory growth ({NA}no growth series in the evidence)"),
        },
    };
    let oom = Check {
        checked: f.oom_seen(),
        text: if f.oom_seen() {
            let over = hs
                .filter(|s| s.span_s > 0.0)
                .map(|s| format!(" in the {} of evidence", words::duration(s.span_s)))
                .unwrap_or_default();
            format!(
                "OOM crashes (frequency: {}{over})",
                words::count(f.oom_count())
            )
        } else if ev.gc.is_some() || !ev.app_logs.is_empty() {
            "OOM crashes (frequency: none in the logs given)".into()
        } else {
            format!("OOM crashes (frequency: {NA}no GC log or application log given)")
        },
    };
    let (gc_checked, gc_text) = match &ev.gc {
        Some(g) => {
            let t = g.view.time_in_gc_percent;
            let p95 = g.view.gc_pause_ms.p95;
            let pressured = t.is_some_and(|t| t >= 5.0) || p95.is_some_and(|p| p >= 100.0);
            (
                pressured,
                format!(
                    "GC pressure (time in GC {}, pause p95 {}{})",
                    t.map(|t| format!("{}%", words::num(t)))
                        .unwrap_or_else(|| "unknown".into()),
                    p95.map(|p| format!("{} ms", words::num(p)))
                        .unwrap_or_else(|| "unknown".into()),
                    if pressured {
                        ""
                    } else {
                        ": below 5% and 100 ms, not a symptom yet"
                    }
                ),
            )
        }
        None => match ev
            .metrics
            .as_ref()
            .and_then(|m| m.view.gc_pause_p95_seconds)
        {
            Some(p) => (
                p >= 0.1,
                format!(
                    "GC pressure (GC pause p95 {} ms from Prometheus)",
                    words::num(p * 1000.0)
                ),
            ),
            None => (
                false,
                format!("GC pressure ({NA}no GC log or GC histogram given)"),
            ),
        },
    };
    let conn = f
        .leaks
        .iter()
        .find(|g| g.pattern == PatternKind::UnclosedConnection);
    let degradation = match &f.load {
        Some(l) if l.latency_p50_ms.is_some() || l.latency_p99_ms.is_some() => format!(
            "Service degradation (slow responses) (load-test latency p50 {}, p99 {}; no baseline to compare with)",
            l.latency_p50_ms
                .map(|x| format!("{} ms", words::num(x)))
                .unwrap_or_else(|| "unknown".into()),
            l.latency_p99_ms
                .map(|x| format!("{} ms", words::num(x)))
                .unwrap_or_else(|| "unknown".into())
        ),
        _ => format!("Service degradation (slow responses) ({NA}no latency data given)"),
    };
    let py = ev.python.iter().any(|p| !p.view.findings.is_empty());
    let symptoms = vec![
        linear,
        oom,
        Check {
            checked: gc_checked,
            text: gc_text,
        },
        Check {
            checked: conn.is_some(),
            text: match conn {
                Some(c) => format!(
                    "Connection pool exhaustion ({} {} never closed in the last snapshot)",
                    words::count(c.per_snapshot.last().copied().unwrap_or(c.count)),
                    plural_for(c, 2)
                ),
                None => "Connection pool exhaustion (not shown by the evidence: no unclosed connections among the findings)".into(),
            },
        },
        Check {
            checked: false,
            text: degradation,
        },
        Check {
            checked: py,
            text: if py {
                "Other: Python lines that allocate and never free (profile findings)".into()
            } else {
                "Other: none in the evidence".into()
            },
        },
    ];

    let how = if f.oom_seen() {
        format!(
            "an out-of-memory crash ({})",
            f.incidents
                .iter()
                .filter(|i| i.kind.is_oom())
                .map(|i| code(&i.source))
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        match (hs, &f.headline) {
            (Some(s), Some(h)) => format!(
                "the {} {} grows {} (verdict {})",
                s.label,
                s.detail,
                words::rate(h.rate.per_hour),
                code(h.verdict.as_str())
            ),
            _ if !f.leaks.is_empty() => "heap snapshot comparison (memsleuth leaks)".into(),
            _ => format!("{NA}no monitoring evidence given"),
        }
    };
    let mut queries: Vec<String> = ev
        .metrics
        .as_ref()
        .map(|m| m.view.queries.to_vec())
        .unwrap_or_default();
    if queries.is_empty() {
        let why = match &ev.metrics {
            Some(m) => format!("the saved range `{}` does not record its PromQL", m.source),
            None => "no Prometheus given".to_string(),
        };
        queries.push(format!(
            "{NA}{why}; the query to run: deriv({}[{}]) * 3600 / 1048576 (MiB/h)",
            cfg.selector(),
            alerts::GROWTH_WINDOW
        ));
    }
    let rules = alerts::rules(cfg);
    let alert_rule = rules
        .iter()
        .find(|r| r.name == "MemoryGrowth")
        .map(|r| {
            format!(
                "MemoryGrowth: {} for {} (proposed in alerts.rules.yml, not deployed)",
                r.expr,
                r.for_duration.clone().unwrap_or_default()
            )
        })
        .unwrap_or_default();
    let dashboard = format!(
        "grafana-dashboard.json (proposed; uid {}, import it into Grafana)",
        grafana::dashboard_uid(&cfg.service)
    );

    let (before, current) = match hs {
        Some(s) if s.fitted.len() >= 2 => {
            let first = s.fitted[0];
            let last = s.fitted[s.fitted.len() - 1];
            (
                vec![
                    Field {
                        label: "Heap usage baseline".into(),
                        value: format!("{} ({}, first point)", words::bytes(first.1), s.label),
                    },
                    Field {
                        label: format!("After {}", words::duration(last.0 - first.0)),
                        value: format!("{} ({}, last point)", words::bytes(last.1), s.label),
                    },
                    Field {
                        label: "Growth rate".into(),
                        value: format!("{}{}", source_rate_text(s), super::too_short_note(s)),
                    },
                ],
                s.level_end.map(|b| {
                    format!(
                        "{} ({}, its trend at the end of the window)",
                        words::bytes(b),
                        s.label
                    )
                }),
            )
        }
        _ => (
            vec![
                Field {
                    label: "Heap usage baseline".into(),
                    value: format!("{NA}no growth series in the evidence"),
                },
                Field {
                    label: "Growth rate".into(),
                    value: format!("{NA}no growth series in the evidence"),
                },
            ],
            None,
        ),
    };
    let gc_p95 = ev
        .gc
        .as_ref()
        .and_then(|g| g.view.gc_pause_ms.p95)
        .map(|p| format!("{} ms (GC log)", words::num(p)))
        .or_else(|| {
            ev.metrics
                .as_ref()
                .and_then(|m| m.view.gc_pause_p95_seconds)
                .map(|p| format!("{} ms (Prometheus)", words::num(p * 1000.0)))
        })
        .unwrap_or_else(|| format!("{NA}no GC log or GC histogram given"));
    let conns = match conn {
        Some(c) => format!(
            "{} {} never closed in the last snapshot",
            words::count(c.per_snapshot.last().copied().unwrap_or(c.count)),
            plural_for(c, 2)
        ),
        None => format!(
            "{NA}not in the evidence (prom-client's nodejs_active_handles_total shows open sockets)"
        ),
    };
    SymptomsAndDetection {
        initial_symptoms: symptoms,
        how_discovered: how,
        prometheus_queries: queries,
        alert_rule,
        dashboard,
        before,
        current: vec![
            Field {
                label: "Heap usage".into(),
                value: current
                    .unwrap_or_else(|| format!("{NA}no current memory figure in the evidence")),
            },
            Field {
                label: "Active connections".into(),
                value: conns,
            },
            Field {
                label: "GC pause duration".into(),
                value: format!("p95 {gc_p95}"),
            },
        ],
        growth_by_source: growth_by_source(f),
    }
}
