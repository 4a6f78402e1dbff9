//! "Related Documentation", "Appendix" (evidence used, snapshot files, GC log excerpt,
//! queries) and the closing lines.

use super::NA;
use crate::report::alerts::{self, AlertConfig};
use crate::report::evidence::Evidence;
use crate::report::facts::{Facts, base_name};
use crate::report::model::{Appendix, Field, Footer, RelatedDocumentation};
use crate::report::patterns;
use crate::report::words::{self, code};

pub fn related(f: &Facts) -> RelatedDocumentation {
    RelatedDocumentation {
        items: vec![
            Field {
                label: "Pattern Catalog".into(),
                value: match f.top_leak() {
                    Some(g) => format!(
                        "memsleuth's leak patterns (DESIGN.md, \"Leak patterns\"): {} — {}",
                        code(g.pattern.id()),
                        patterns::strategy(g.pattern)
                    ),
                    None => "memsleuth's leak patterns (DESIGN.md, \"Leak patterns\")".into(),
                },
            },
            Field {
                label: "Similar Incidents".into(),
                value: format!("{NA}no earlier reports were given"),
            },
            Field {
                label: "Runbook".into(),
                value: format!(
                    "{NA}none given; the steps memsleuth took are in \"Investigation Steps\" above"
                ),
            },
        ],
    }
}

pub fn footer(f: &Facts) -> Footer {
    Footer {
        completed: f
            .latest_unix
            .map(|t| format!("{} (date of the latest evidence)", words::date(words::unix_i(t))))
            .unwrap_or_else(|| format!("{NA}no evidence given carries a date")),
        next_review: f
            .latest_unix
            .map(|t| {
                format!(
                    "{} (one week after the latest evidence: take new snapshots and run memsleuth report again)",
                    words::date(words::unix_i(t) + 7 * 86400)
                )
            })
            .unwrap_or_else(|| {
                "one week after the fix is deployed: take new snapshots and run memsleuth report again".into()
            }),
    }
}

pub fn evidence_used(ev: &Evidence) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(c) = &ev.capture {
        v.push(format!(
            "Capture: {} ({} checkpoints, {} requests)",
            code(&c.dir),
            c.view.checkpoints.len(),
            words::count(
                c.view
                    .requests_total
                    .or(c.view.checkpoints.iter().filter_map(|k| k.requests).max())
                    .unwrap_or(0)
            )
        ));
    }
    if ev.snapshots.is_empty() && ev.leaks.is_none() {
        v.push("Heap snapshots: none given".to_string());
    } else {
        v.push(format!(
            "Heap snapshots: {} ({} leak finding(s))",
            ev.snapshots
                .len()
                .max(ev.leaks.as_ref().map_or(0, |l| l.snapshots.len())),
            ev.leaks.as_ref().map_or(0, |l| l.findings.len())
        ));
    }
    v.push(match &ev.gc {
        Some(g) => format!("GC log: {} ({} GC events)", code(&g.file), g.view.events),
        None => "GC log: none given".into(),
    });
    v.push(match &ev.metrics {
        Some(m) => format!(
            "Prometheus: {} ({} series)",
            code(&m.source),
            m.view.series.len()
        ),
        None => "Prometheus: none given".into(),
    });
    if ev.app_logs.is_empty() {
        v.push("Application logs: none given".into());
    } else {
        for a in &ev.app_logs {
            v.push(format!("Application log: {}", code(a)));
        }
    }
    if ev.python.is_empty() {
        v.push("Python profile: none given".into());
    } else {
        for p in &ev.python {
            v.push(format!(
                "Python profile: {} ({}, {} finding(s))",
                code(&p.file),
                p.view.source,
                p.view.findings.len()
            ));
        }
    }
    v.extend(ev.notes.iter().map(|n| format!("Note: {n}")));
    v
}

pub fn appendix(f: &Facts, cfg: &AlertConfig) -> Appendix {
    let ev = f.ev;
    let mut files: Vec<Field> = f
        .snapshots
        .iter()
        .map(|s| Field {
            label: base_name(&s.file).to_string(),
            value: format!(
                "{}{}",
                s.file,
                s.file_bytes
                    .map(|b| format!(" ({} on disk)", words::bytes(b as f64)))
                    .unwrap_or_default()
            ),
        })
        .collect();
    if files.is_empty() {
        files.push(Field {
            label: "none".into(),
            value: format!("{NA}no heap snapshots given"),
        });
    }
    let gc_log = match &ev.gc {
        Some(g) if !g.excerpt.is_empty() => g.excerpt.clone(),
        Some(g) => {
            let mut v = vec![format!(
                "(the raw log was not read; post-GC heap from memsleuth gc, {} points)",
                g.view.series.len()
            )];
            let pts = &g.view.series;
            let pick: Vec<usize> = if pts.len() <= 6 {
                (0..pts.len()).collect()
            } else {
                vec![0, 1, 2, pts.len() - 3, pts.len() - 2, pts.len() - 1]
            };
            for i in pick {
                v.push(format!(
                    "{:>10} ms: heap after GC {}",
                    words::num(pts[i].0),
                    words::bytes(pts[i].1 * crate::units::MIB)
                ));
            }
            v
        }
        None => vec![format!(
            "{NA}no GC log given (run the service with `node --trace-gc`)"
        )],
    };
    let mut queries: Vec<Field> = ev
        .metrics
        .as_ref()
        .map(|m| {
            m.view
                .queries
                .to_vec()
                .into_iter()
                .map(|q| Field {
                    label: "Query run by memsleuth".into(),
                    value: q,
                })
                .collect()
        })
        .unwrap_or_default();
    let sel = cfg.selector();
    queries.push(Field {
        label: "Memory growth rate, MiB/h".into(),
        value: format!("deriv({sel}[{}]) * 3600 / 1048576", alerts::GROWTH_WINDOW),
    });
    queries.push(Field {
        label: "Memory in 4 hours at the current trend, bytes".into(),
        value: format!("predict_linear({sel}[{}], 14400)", alerts::GROWTH_WINDOW),
    });
    queries.push(Field {
        label: "GC pause duration p95, seconds".into(),
        value: format!(
            "histogram_quantile(0.95, sum by (instance, le) (rate(nodejs_gc_duration_seconds_bucket{{{}}}[5m])))",
            cfg.job_matcher()
        ),
    });
    Appendix {
        snapshot_files: files,
        gc_log,
        prometheus_queries: queries,
    }
}
