//! The analysis step: [`Evidence`] in, [`Investigation`] out. Every figure of the report is
//! computed here (growth, projected time to OOM, severity, deltas, trend line), and every
//! sentence is written here, so the renderers only lay out. Pure: no IO, no clock.
//!
//! Decisions where the template is open:
//! - Growth rate: a Prometheus series judged `leak` (the fastest) first, then the GC log's
//!   post-GC trend, then the leaked bytes between the first and last snapshot over their
//!   time span, then the Python profile. The others are quoted beside it.
//! - Time to OOM: (limit - current) / growth, where the limit is `--memory-limit`, else the
//!   heap limit the GC log shows, and current is the last value of the same source.
//! - Severity (auto): Critical when an OOM is in the evidence or the projection is under
//!   24 h; High under 7 days or growth of 50 MB/hour or more; Medium for any other leak;
//!   Low when the evidence shows no leak.
//! - Times come only from the evidence: Prometheus timestamps (UTC), snapshot file names
//!   (host local time), GC log times (process uptime). Never the clock, never file mtimes.

use super::alerts::{self, AlertConfig};
use super::evidence::{Evidence, SeverityChoice, civil_from_days};
use super::grafana;
use super::model::*;
use super::patterns::{self, code};
use crate::leaks::{Finding, Pattern};

const MB: f64 = 1_048_576.0;
const NA: &str = "not available: ";
/// The `job` the generated alerts match when the evidence does not name the service.
const UNKNOWN_SERVICE: &str = "unknown-service";

/// Severity levels, most severe first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Critical => "Critical",
            Severity::High => "High",
            Severity::Medium => "Medium",
            Severity::Low => "Low",
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS` of a Unix time.
pub fn datetime(unix_s: i64) -> String {
    // years 0001..9999 only: anything else is not a real time (and would overflow the date math)
    if !(-62_135_596_800..=253_402_300_799).contains(&unix_s) {
        return format!("(invalid time {unix_s})");
    }
    let days = unix_s.div_euclid(86400);
    let secs = unix_s.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// `YYYY-MM-DD` of a Unix time.
pub fn date(unix_s: i64) -> String {
    let d = datetime(unix_s);
    d.get(..10)
        .filter(|_| !d.starts_with('('))
        .unwrap_or(&d)
        .to_string()
}

/// A figure with one decimal (two under 10, none over 1000).
pub fn fig(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    let a = x.abs();
    if a >= 1000.0 {
        format!("{x:.0}")
    } else if a >= 10.0 || a == 0.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// Bytes as MB (2^20 bytes, the unit V8's logs use).
pub fn mb(bytes: f64) -> String {
    format!("{} MB", fig(bytes / MB))
}

/// A duration in words from seconds.
pub fn duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "n/a".into();
    }
    if secs < 120.0 {
        format!("{} s", fig(secs))
    } else if secs < 2.0 * 3600.0 {
        format!("{} minutes", fig(secs / 60.0))
    } else if secs < 48.0 * 3600.0 {
        format!("{} hours", fig(secs / 3600.0))
    } else {
        format!("{} days", fig(secs / 86400.0))
    }
}

/// The growth rate chosen for the report, and where it comes from.
#[derive(Clone, Debug, PartialEq)]
struct Growth {
    bytes_per_hour: f64,
    /// Short description of the source, with its verdict.
    source: String,
    /// The last value of the same source, bytes (for the OOM projection).
    current_bytes: Option<f64>,
    /// Whether the source judged it a leak.
    leak: bool,
}

/// Everything derived once and used by several sections.
struct Facts<'a> {
    ev: &'a Evidence,
    findings: Vec<&'a Finding>,
    /// The service's name, or "The service" when neither `--service` nor a `job` label names it.
    service: String,
    service_known: bool,
    growth: Option<Growth>,
    other_growth: Vec<String>,
    limit: Option<(f64, String)>,
    hours_to_oom: Option<f64>,
    oom_count: Option<u64>,
    leak_seen: bool,
    snapshot_times: Vec<Option<i64>>,
    /// `(unix seconds, what)` of every dated event in the evidence.
    latest_time: Option<i64>,
    metric_points: Vec<(f64, f64)>,
    metric_label: String,
}

fn labels_text(labels: &std::collections::BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    let name = labels.get("__name__").cloned().unwrap_or_default();
    format!("{name}{{{}}}", inner.join(","))
}

fn facts(ev: &Evidence) -> Facts<'_> {
    let findings: Vec<&Finding> = ev.leaks.iter().flat_map(|l| l.findings.iter()).collect();
    let service = ev
        .service
        .clone()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| {
            ev.metrics.as_ref().and_then(|m| {
                m.view
                    .series
                    .iter()
                    .find_map(|s| s.labels.get("job").cloned())
            })
        })
        .unwrap_or_else(|| "The service".to_string());
    let service_known =
        ev.service.as_ref().is_some_and(|s| !s.trim().is_empty()) || service != "The service";

    let mut candidates: Vec<Growth> = Vec::new();
    let mut metric_points = Vec::new();
    let mut metric_label = String::new();
    if let Some(m) = &ev.metrics {
        let metric = m.view.metric.clone().unwrap_or_default();
        // the fastest-growing leak series, else the first series with a figure
        let best = m
            .view
            .series
            .iter()
            .filter(|s| s.growth_bytes_per_hour.is_some_and(f64::is_finite))
            .max_by(|a, b| {
                let ka = (a.verdict == "leak", a.growth_bytes_per_hour.unwrap_or(0.0));
                let kb = (b.verdict == "leak", b.growth_bytes_per_hour.unwrap_or(0.0));
                ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
            });
        if let Some(s) = best {
            let mut labels = s.labels.clone();
            if !labels.contains_key("__name__") && !metric.is_empty() {
                labels.insert("__name__".into(), metric.clone());
            }
            metric_label = labels_text(&labels);
            metric_points = s.samples.points_s();
            candidates.push(Growth {
                bytes_per_hour: s.growth_bytes_per_hour.unwrap_or(0.0),
                source: format!(
                    "Prometheus {} (verdict {}{})",
                    code(&metric_label),
                    code(&s.verdict),
                    if s.reason.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", s.reason)
                    }
                ),
                current_bytes: metric_points.last().map(|p| p.1),
                leak: s.verdict == "leak",
            });
        }
    }
    if let Some(g) = &ev.gc
        && let Some(rate) = g.view.growth_mb_per_hour.filter(|r| r.is_finite())
    {
        candidates.push(Growth {
            bytes_per_hour: rate * MB,
            source: format!(
                "post-GC heap in the `--trace-gc` log (verdict {}{})",
                code(&g.view.verdict),
                if g.view.reason.is_empty() {
                    String::new()
                } else {
                    format!(": {}", g.view.reason)
                }
            ),
            current_bytes: g.view.heap_after_gc_mb.last.map(|x| x * MB),
            leak: g.view.verdict == "leak",
        });
    }
    let snapshot_times: Vec<Option<i64>> = ev
        .snapshots
        .iter()
        .map(|s| s.taken.as_ref().map(|t| t.unix_s))
        .collect();
    if !findings.is_empty()
        && let (Some(Some(t0)), Some(Some(t1))) = (snapshot_times.first(), snapshot_times.last())
        && t1 > t0
    {
        let leaked: f64 = findings
            .iter()
            .map(|f| {
                let first = f.growth_bytes.first().copied().unwrap_or(0) as f64;
                let last = f.growth_bytes.last().copied().unwrap_or(0) as f64;
                last - first
            })
            .sum();
        let current = ev
            .leaks
            .as_ref()
            .and_then(|l| l.snapshots.last())
            .map(|s| s.total_bytes as f64);
        candidates.push(Growth {
            bytes_per_hour: leaked / (*t1 - *t0) as f64 * 3600.0,
            source: format!(
                "leaked objects between the first and last heap snapshot ({} in {})",
                mb(leaked),
                duration((*t1 - *t0) as f64)
            ),
            current_bytes: current,
            leak: leaked > 0.0,
        });
    }
    for p in &ev.python {
        if let Some(rate) = p.view.growth_mb_per_hour.filter(|r| r.is_finite()) {
            candidates.push(Growth {
                bytes_per_hour: rate * MB,
                source: format!("{} profile {}", p.view.source, code(&p.file)),
                current_bytes: None,
                leak: rate > 0.0 && !p.view.findings.is_empty(),
            });
        }
    }
    // the first leak source in priority order, else the first source
    let chosen = candidates
        .iter()
        .position(|g| g.leak)
        .or(if candidates.is_empty() { None } else { Some(0) });
    let growth = chosen.map(|i| candidates[i].clone());
    let other_growth: Vec<String> = candidates
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != chosen)
        .map(|(_, g)| format!("{} MB/hour from {}", fig(g.bytes_per_hour / MB), g.source))
        .collect();

    let limit = ev
        .memory_limit_bytes
        .map(|b| (b as f64, format!("--memory-limit {}", mb(b as f64))))
        .or_else(|| {
            ev.gc.as_ref().and_then(|g| {
                g.view
                    .heap_limit_mb
                    .filter(|x| x.is_finite() && *x > 0.0)
                    .map(|l| {
                        (
                            l * MB,
                            format!("heap limit {} seen in the GC log", mb(l * MB)),
                        )
                    })
            })
        });
    let hours_to_oom = match (&growth, &limit) {
        (Some(g), Some((lim, _))) if g.bytes_per_hour > 0.0 && g.leak => g
            .current_bytes
            .map(|cur| ((lim - cur) / g.bytes_per_hour).max(0.0)),
        _ => None,
    };
    let oom_count = ev.gc.as_ref().map(|g| g.view.oom_count());
    let leak_seen = !findings.is_empty()
        || growth.as_ref().is_some_and(|g| g.leak)
        || ev.python.iter().any(|p| !p.view.findings.is_empty());

    let mut times: Vec<i64> = snapshot_times.iter().flatten().copied().collect();
    if let Some(last) = metric_points.last() {
        times.push(last.0 as i64);
    }
    let latest_time = times.into_iter().max();
    Facts {
        ev,
        findings,
        service,
        service_known,
        growth,
        other_growth,
        limit,
        hours_to_oom,
        oom_count,
        leak_seen,
        snapshot_times,
        latest_time,
        metric_points,
        metric_label,
    }
}

fn severity(f: &Facts) -> (Severity, String) {
    let g = f.growth.as_ref().map(|g| g.bytes_per_hour / MB);
    if f.oom_count.unwrap_or(0) > 0 {
        return (
            Severity::Critical,
            format!(
                "auto: the GC log shows {} out-of-memory crash(es)",
                f.oom_count.unwrap_or(0)
            ),
        );
    }
    if let Some(h) = f.hours_to_oom {
        if h < 24.0 {
            return (
                Severity::Critical,
                format!(
                    "auto: memory limit projected to be reached in {}",
                    duration(h * 3600.0)
                ),
            );
        }
        if h < 24.0 * 7.0 {
            return (
                Severity::High,
                format!(
                    "auto: memory limit projected to be reached in {}",
                    duration(h * 3600.0)
                ),
            );
        }
    }
    if f.leak_seen {
        if let Some(g) = g.filter(|g| *g >= 50.0) {
            return (
                Severity::High,
                format!("auto: a leak growing {} MB/hour", fig(g)),
            );
        }
        return (
            Severity::Medium,
            match (g, f.hours_to_oom) {
                (Some(g), Some(h)) => format!(
                    "auto: a leak growing {} MB/hour, limit reached in {}",
                    fig(g),
                    duration(h * 3600.0)
                ),
                (Some(g), None) => format!(
                    "auto: a leak growing {} MB/hour; no memory limit known to project an OOM",
                    fig(g)
                ),
                _ => "auto: a leak was found; its growth rate is not in the evidence".into(),
            },
        );
    }
    (
        Severity::Low,
        if f.ev.notes.is_empty() {
            "auto: the evidence given shows no leak".to_string()
        } else {
            "auto: the evidence analysed shows no leak, but some evidence given was not analysed (see Evidence used)".to_string()
        },
    )
}

fn loc_text(f: &Finding) -> String {
    match &f.location {
        Some(l) => code(&format!("{}:{}", l.file, l.line)),
        None => "an unknown location (the snapshot has no script position for it)".into(),
    }
}

fn edge_text(step: &crate::leaks::PathStep) -> String {
    match step.edge_type.as_str() {
        "element" => format!("[{}]", step.edge),
        "context" => format!("{} (closure variable)", step.edge),
        "internal" | "hidden" => format!("({})", step.edge),
        _ => format!(".{}", step.edge),
    }
}

/// The retainer path on one line: `global .configBus → EventEmitter ._events → ...`.
fn path_one_line(f: &Finding) -> String {
    if f.retainer_path.is_empty() {
        return "no retainer path in the evidence".into();
    }
    let mut s = String::new();
    for step in &f.retainer_path {
        s.push_str(&step.holder);
        s.push(' ');
        s.push_str(&edge_text(step));
        s.push_str(" → ");
    }
    s.push_str(&f.class);
    s
}

/// The retainer path in the template's arrow style.
fn path_arrows(f: &Finding) -> Vec<String> {
    let mut lines = Vec::new();
    let Some(first) = f.retainer_path.first() else {
        return vec!["(no retainer path in the evidence)".into()];
    };
    lines.push(first.holder.clone());
    for (i, step) in f.retainer_path.iter().enumerate() {
        let next = f
            .retainer_path
            .get(i + 1)
            .map(|s| s.holder.clone())
            .unwrap_or_else(|| format!("{} ×{} (leaked)", f.class, f.count));
        let mark = if step.suspect { "   ← suspect" } else { "" };
        let times = if step.repeat > 1 {
            format!(" (this step repeats ×{})", step.repeat)
        } else {
            String::new()
        };
        lines.push(format!(
            "{}→ {}  {}{}{}",
            "  ".repeat(i + 1),
            edge_text(step),
            next,
            times,
            mark
        ));
    }
    lines
}

fn lang_of(file: &str) -> &'static str {
    let f = file.to_ascii_lowercase();
    if f.ends_with(".ts") || f.ends_with(".tsx") || f.ends_with(".mts") || f.ends_with(".cts") {
        "typescript"
    } else if f.ends_with(".py") {
        "python"
    } else {
        "javascript"
    }
}

/// Builds the whole investigation from the evidence.
pub fn investigate(ev: &Evidence) -> Investigation {
    let f = facts(ev);
    let (sev_auto, sev_reason_auto) = severity(&f);
    let (severity_name, severity_reason) = match ev.severity {
        SeverityChoice::Auto => (sev_auto.name().to_string(), sev_reason_auto),
        c => (
            match c {
                SeverityChoice::Critical => "Critical",
                SeverityChoice::High => "High",
                SeverityChoice::Medium => "Medium",
                _ => "Low",
            }
            .to_string(),
            format!(
                "set by the investigator (--severity); memsleuth's own estimate: {} ({})",
                sev_auto.name(),
                sev_reason_auto
            ),
        ),
    };
    let alert_cfg = alert_config(&f);
    let top = f.findings.first().copied();
    let py_top = ev
        .python
        .iter()
        .flat_map(|p| p.view.findings.iter().map(move |x| (p, x)))
        .next();

    let header = Header {
        service: if !f.service_known {
            format!(
                "{NA}no --service given and no Prometheus job label (the alerts use job=\"{UNKNOWN_SERVICE}\": set --service to the service's job label)"
            )
        } else if ev.service.as_ref().is_some_and(|s| !s.trim().is_empty()) {
            f.service.clone()
        } else {
            format!("{} (the job label in Prometheus)", f.service)
        },
        date: f
            .latest_time
            .map(|t| format!("{} (date of the latest evidence)", date(t)))
            .unwrap_or_else(|| {
                format!("{NA}no evidence given carries a date (snapshot file names or Prometheus timestamps would)")
            }),
        investigator: ev
            .investigator
            .clone()
            .filter(|s| !s.trim().is_empty())
            .map(|s| format!("{s} (with memsleuth)"))
            .unwrap_or_else(|| "memsleuth (automated analysis; no --investigator given)".into()),
        severity: severity_name,
        severity_reason,
    };

    Investigation {
        schema: SCHEMA.to_string(),
        executive_summary: executive_summary(&f, top, py_top.map(|p| p.1)),
        timeline: timeline(&f, top),
        symptoms: symptoms(&f, &alert_cfg),
        investigation: investigation_steps(&f, top),
        root_cause: root_cause(&f, top, py_top),
        fix: fix(&f, top, py_top.map(|p| p.1)),
        deployment: deployment(&f, &alert_cfg),
        lessons: lessons(&f, &alert_cfg, top),
        related: RelatedDocumentation {
            items: vec![
                Field {
                    label: "Pattern Catalog".into(),
                    value: match top {
                        Some(t) => format!(
                            "memsleuth's leak patterns (DESIGN.md, \"Leak patterns\"): {} — {}",
                            code(t.pattern.id()),
                            patterns::strategy(t.pattern)
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
        },
        appendix: appendix(&f, &alert_cfg),
        footer: Footer {
            completed: f
                .latest_time
                .map(|t| format!("{} (date of the latest evidence)", date(t)))
                .unwrap_or_else(|| format!("{NA}no evidence given carries a date")),
            next_review: f
                .latest_time
                .map(|t| {
                    format!(
                        "{} (one week after the latest evidence: take new snapshots and run memsleuth report again)",
                        date(t + 7 * 86400)
                    )
                })
                .unwrap_or_else(|| {
                    "one week after the fix is deployed: take new snapshots and run memsleuth report again".into()
                }),
        },
        charts: charts(&f),
        alerts: alerts_section(&f, &alert_cfg),
        evidence_used: evidence_used(ev),
        header,
    }
}

fn evidence_used(ev: &Evidence) -> Vec<String> {
    let mut v = Vec::new();
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

fn alert_config(f: &Facts) -> AlertConfig {
    let metric =
        f.ev.metrics
            .as_ref()
            .and_then(|m| m.view.metric.clone())
            .filter(|m| !m.contains('{') && !m.is_empty())
            .unwrap_or_else(|| alerts::DEFAULT_METRIC.to_string());
    let growth_mb = f.growth.as_ref().map(|g| g.bytes_per_hour / MB);
    let threshold = match growth_mb {
        Some(g) if g > 0.0 && f.growth.as_ref().is_some_and(|x| x.leak) => {
            // half the observed growth, rounded down to 1/2/5 x 10^n, within [1, 50]
            nice_floor(g / 2.0).clamp(1.0, 50.0)
        }
        _ => alerts::DEFAULT_GROWTH_MB_PER_HOUR,
    };
    AlertConfig {
        service: if f.service_known {
            f.service.clone()
        } else {
            UNKNOWN_SERVICE.to_string()
        },
        metric,
        growth_mb_per_hour: threshold,
        for_duration: alerts::DEFAULT_FOR.to_string(),
        heap_limit_bytes: f.limit.as_ref().map(|(l, _)| *l as u64),
    }
}

fn nice_floor(x: f64) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return 1.0;
    }
    let p = 10f64.powi(x.log10().floor() as i32);
    let m = x / p;
    let n = if m >= 5.0 {
        5.0
    } else if m >= 2.0 {
        2.0
    } else {
        1.0
    };
    n * p
}

fn executive_summary(
    f: &Facts,
    top: Option<&Finding>,
    py: Option<&super::evidence::PythonFinding>,
) -> ExecutiveSummary {
    let growth_text = match &f.growth {
        Some(g) => format!("{} MB/hour", fig(g.bytes_per_hour / MB)),
        None => String::new(),
    };
    let tldr = match (top, py) {
        (Some(t), _) => format!(
            "{}: {} {} objects leak ({} across the snapshots) because {} at {} ({}){}; fix: {}.",
            f.service,
            t.count,
            code(&t.class),
            t.growth
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(" → "),
            patterns::cause(t.pattern),
            loc_text(t),
            t.code
                .as_deref()
                .map(|c| code(c.trim()))
                .unwrap_or_else(|| "code not in the snapshot".into()),
            if growth_text.is_empty() {
                String::new()
            } else {
                format!(", memory grows {growth_text}")
            },
            patterns::strategy(t.pattern)
        ),
        (None, Some(p)) => format!(
            "{}: Python line {} ({}) keeps allocating memory that is never freed{}; fix: bound or release what it keeps.",
            f.service,
            code(&format!("{}:{}", p.file, p.line)),
            code(p.code.trim()),
            if growth_text.is_empty() {
                String::new()
            } else {
                format!(", memory grows {growth_text}")
            }
        ),
        (None, None) if f.leak_seen => format!(
            "{}: memory grows {growth_text} ({}), but no heap snapshots were given, so the leaking code is not identified yet; take 3 heap snapshots a few minutes apart and run memsleuth report with them.",
            f.service,
            f.growth.as_ref().map(|g| g.source.as_str()).unwrap_or("")
        ),
        (None, None) if !f.ev.notes.is_empty() => format!(
            "{}: no leak can be concluded yet: evidence was given that this build could not analyse (see Evidence used in the Appendix){}.",
            f.service,
            if growth_text.is_empty() {
                String::new()
            } else {
                format!("; growth {growth_text}")
            }
        ),
        (None, None) => format!(
            "{}: the evidence given shows no memory leak{}; no fix is needed on this evidence.",
            f.service,
            if growth_text.is_empty() {
                String::new()
            } else {
                format!(" (growth {growth_text} judged not a leak)")
            }
        ),
    };

    let mut growth_value = match &f.growth {
        Some(g) => format!("{} MB/hour ({})", fig(g.bytes_per_hour / MB), g.source),
        None => format!(
            "{NA}no time series given (a Prometheus range, a --trace-gc log, or dated heap snapshots show it)"
        ),
    };
    if !f.other_growth.is_empty() {
        growth_value.push_str(&format!("; also {}", f.other_growth.join("; ")));
    }
    let oom = match f.oom_count {
        Some(0) => "none in the GC log".to_string(),
        Some(n) => format!("{n} in the GC log (\"JavaScript heap out of memory\")"),
        None => format!("{NA}no GC log given (a --trace-gc log shows OOM crashes)"),
    };
    let span = evidence_span(f);
    let duration_value = match span {
        Some(_) if !f.leak_seen => format!("{NA}no growth in the evidence analysed"),
        Some((secs, what)) => format!(
            "at least {} (the span of the {what} that shows growth); when it started is not in the evidence",
            duration(secs)
        ),
        None => format!("{NA}the evidence has no time span"),
    };
    let projected = match (&f.growth, &f.limit, f.hours_to_oom) {
        (_, _, Some(h)) => format!(
            "{} (from {} at the current growth, against the {})",
            duration(h * 3600.0),
            f.growth
                .as_ref()
                .and_then(|g| g.current_bytes)
                .map(mb)
                .unwrap_or_default(),
            f.limit.as_ref().map(|l| l.1.as_str()).unwrap_or("")
        ),
        (Some(g), _, None) if g.bytes_per_hour <= 0.0 => {
            "no OOM projected: memory is not growing".into()
        }
        (Some(g), _, None) if !g.leak => {
            "no OOM projected: the growth seen is judged not a leak".into()
        }
        (Some(_), None, None) => format!(
            "{NA}no memory limit known (give --memory-limit, or a GC log that shows the heap limit)"
        ),
        (Some(_), Some(_), None) => {
            format!("{NA}the current memory level is not in the growth evidence")
        }
        (None, _, None) => format!("{NA}no growth rate in the evidence"),
    };
    let root = match (top, py) {
        (Some(t), _) => format!("{} at {}", patterns::label(t.pattern), loc_text(t)),
        (None, Some(p)) => format!(
            "Python allocation never freed at {}",
            code(&format!("{}:{}", p.file, p.line))
        ),
        (None, None) if f.leak_seen => {
            format!("{NA}not identified yet: no heap snapshots given")
        }
        (None, None) if !f.ev.notes.is_empty() => {
            format!("{NA}not identified: evidence was given but not analysed")
        }
        (None, None) => "no leak in the evidence".into(),
    };
    let status = if top.is_some() || py.is_some() {
        "In Progress (root cause identified, fix proposed below, not yet deployed)"
    } else if f.leak_seen {
        "In Progress (growth seen, root cause not yet identified)"
    } else if !f.ev.notes.is_empty() {
        "In Progress (evidence given but not analysed)"
    } else {
        "Monitoring (no leak in the evidence)"
    };
    ExecutiveSummary {
        tldr,
        impact: vec![
            Field {
                label: "Memory growth".into(),
                value: growth_value,
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
                value: format!(
                    "{NA}the evidence has no request or user data (request logs or an error-rate metric would show it)"
                ),
            },
            Field {
                label: "Duration".into(),
                value: duration_value,
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
        growth_mb_per_hour: f.growth.as_ref().map(|g| g.bytes_per_hour / MB),
        hours_to_oom: f.hours_to_oom,
    }
}

/// The longest time span in the evidence that shows the growth.
fn evidence_span(f: &Facts) -> Option<(f64, &'static str)> {
    let mut best: Option<(f64, &'static str)> = None;
    let mut consider = |s: f64, what: &'static str| {
        if s.is_finite() && s > 0.0 && best.is_none_or(|b| s > b.0) {
            best = Some((s, what));
        }
    };
    if let (Some(a), Some(b)) = (f.metric_points.first(), f.metric_points.last()) {
        consider(b.0 - a.0, "Prometheus range");
    }
    if let Some(g) = &f.ev.gc
        && let Some(d) = g.view.duration_s
    {
        consider(d, "GC log");
    }
    if let (Some(Some(a)), Some(Some(b))) = (f.snapshot_times.first(), f.snapshot_times.last()) {
        consider((b - a) as f64, "heap snapshots");
    }
    best
}

fn timeline(f: &Facts, top: Option<&Finding>) -> Timeline {
    let mut rows = Vec::new();
    let na_time = "—".to_string();
    // Detection
    if let (Some(first), Some(g)) = (f.metric_points.first(), &f.growth)
        && g.source.starts_with("Prometheus")
    {
        rows.push(TimelineRow {
            time: datetime(first.0 as i64),
            event: "Detection".into(),
            details: format!(
                "Prometheus range starts; {} grows {} MB/hour over the range",
                code(&f.metric_label),
                fig(g.bytes_per_hour / MB)
            ),
        });
    } else if let Some(g) = &f.ev.gc {
        rows.push(TimelineRow {
            time: format!(
                "+{} (process uptime, GC log clock)",
                duration(g.view.series.first().map(|p| p.0 / 1000.0).unwrap_or(0.0))
            ),
            event: "Detection".into(),
            details: format!(
                "`--trace-gc` log: {} GC events over {}, post-GC heap {} → {} MB (verdict {})",
                g.view.events,
                g.view
                    .duration_s
                    .map(duration)
                    .unwrap_or_else(|| "an unknown time".into()),
                g.view
                    .heap_after_gc_mb
                    .first
                    .map(fig)
                    .unwrap_or_else(|| "?".into()),
                g.view
                    .heap_after_gc_mb
                    .last
                    .map(fig)
                    .unwrap_or_else(|| "?".into()),
                code(&g.view.verdict)
            ),
        });
    } else {
        rows.push(TimelineRow {
            time: na_time.clone(),
            event: "Detection".into(),
            details: format!(
                "{NA}no monitoring evidence given (a Prometheus range or a --trace-gc log dates it)"
            ),
        });
    }
    // Investigation started: first snapshot
    match (f.ev.snapshots.first(), f.snapshot_times.first()) {
        (Some(s), Some(t)) => rows.push(TimelineRow {
            time: t
                .map(datetime)
                .unwrap_or_else(|| "time not in the evidence".into()),
            event: "Investigation started".into(),
            details: format!(
                "first heap snapshot {} of {}",
                code(&s.file),
                f.ev.snapshots.len()
            ),
        }),
        _ => rows.push(TimelineRow {
            time: na_time.clone(),
            event: "Investigation started".into(),
            details: format!("{NA}no heap snapshots given"),
        }),
    }
    // Root cause identified: last snapshot
    let last_time = f
        .snapshot_times
        .last()
        .copied()
        .flatten()
        .map(datetime)
        .unwrap_or_else(|| na_time.clone());
    match top {
        Some(t) => rows.push(TimelineRow {
            time: last_time,
            event: "Root cause identified".into(),
            details: format!(
                "last snapshot: {} at {}, {} leaked {} objects",
                t.pattern.id(),
                loc_text(t),
                t.count,
                code(&t.class)
            ),
        }),
        None => rows.push(TimelineRow {
            time: na_time.clone(),
            event: "Root cause identified".into(),
            details: if f.findings.is_empty() && !f.ev.snapshots.is_empty() {
                "no leaked object group found in the snapshots".into()
            } else {
                format!("{NA}no heap snapshot analysis in the evidence")
            },
        }),
    }
    for (event, what) in [
        (
            "Fix implemented",
            "no fix in the evidence; the fix is proposed in \"Fix Implementation\"",
        ),
        ("Fix deployed", "no deployment in the evidence"),
        (
            "Validation complete",
            "not yet: run memsleuth report on evidence taken after the fix",
        ),
    ] {
        rows.push(TimelineRow {
            time: na_time.clone(),
            event: event.into(),
            details: what.into(),
        });
    }
    let mut clocks = Vec::new();
    if !f.metric_points.is_empty() {
        clocks.push("Prometheus times are UTC");
    }
    if f.snapshot_times.iter().any(Option::is_some) {
        clocks.push("snapshot times come from their file names (the host's local time)");
    }
    if f.ev.gc.is_some() {
        clocks.push("GC log times are process uptime");
    }
    Timeline {
        rows,
        note: if clocks.is_empty() {
            "No evidence given carries a time; \"—\" marks what the evidence does not show.".into()
        } else {
            format!(
                "{}; \"—\" marks what the evidence does not show.",
                clocks.join("; ")
            )
        },
    }
}

fn symptoms(f: &Facts, cfg: &AlertConfig) -> SymptomsAndDetection {
    let growth_mb = f.growth.as_ref().map(|g| g.bytes_per_hour / MB);
    let linear = Check {
        checked: f.growth.as_ref().is_some_and(|g| g.leak)
            || f.findings
                .iter()
                .any(|x| x.growth.windows(2).all(|w| w[1] >= w[0]) && x.growth.len() >= 2),
        text: match &f.growth {
            Some(g) => format!(
                "Linear memory growth ({} MB/hour, {})",
                fig(g.bytes_per_hour / MB),
                g.source
            ),
            None if !f.findings.is_empty() => format!(
                "Linear memory growth (leaked groups grow in every snapshot: {})",
                patterns::growth_text(f.findings[0])
            ),
            None => format!("Linear memory growth ({NA}no time series given)"),
        },
    };
    let oom = Check {
        checked: f.oom_count.unwrap_or(0) > 0,
        text: match f.oom_count {
            Some(0) => "OOM crashes (frequency: none in the GC log)".into(),
            Some(n) => {
                let over =
                    f.ev.gc
                        .as_ref()
                        .and_then(|g| g.view.duration_s)
                        .map(|d| format!(" in {}", duration(d)))
                        .unwrap_or_default();
                format!("OOM crashes (frequency: {n} in the GC log{over})")
            }
            None => format!("OOM crashes (frequency: {NA}no GC log given)"),
        },
    };
    let (gc_checked, gc_text) = match &f.ev.gc {
        Some(g) => {
            let t = g.view.time_in_gc_percent;
            let p95 = g.view.gc_pause_ms.p95;
            let pressured = t.is_some_and(|t| t >= 5.0) || p95.is_some_and(|p| p >= 100.0);
            (
                pressured,
                format!(
                    "GC pressure (time in GC {}, pause p95 {}{})",
                    t.map(|t| format!("{}%", fig(t)))
                        .unwrap_or_else(|| "unknown".into()),
                    p95.map(|p| format!("{} ms", fig(p)))
                        .unwrap_or_else(|| "unknown".into()),
                    if pressured {
                        ""
                    } else {
                        ": below 5% and 100 ms, not a symptom yet"
                    }
                ),
            )
        }
        None => match f
            .ev
            .metrics
            .as_ref()
            .and_then(|m| m.view.gc_pause_p95_seconds)
        {
            Some(p) => (
                p >= 0.1,
                format!(
                    "GC pressure (GC pause p95 {} ms from Prometheus)",
                    fig(p * 1000.0)
                ),
            ),
            None => (
                false,
                format!("GC pressure ({NA}no GC log or GC histogram given)"),
            ),
        },
    };
    let conn = f
        .findings
        .iter()
        .find(|x| x.pattern == Pattern::UnclosedConnection);
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
                    "Connection pool exhaustion ({} unclosed {} objects in the snapshots)",
                    c.count,
                    code(&c.class)
                ),
                None => "Connection pool exhaustion (not shown by the evidence: no unclosed connections among the findings)".into(),
            },
        },
        Check {
            checked: false,
            text: format!(
                "Service degradation (slow responses) ({NA}no latency data given)"
            ),
        },
        Check {
            checked: f.ev.python.iter().any(|p| !p.view.findings.is_empty()),
            text: if f.ev.python.iter().any(|p| !p.view.findings.is_empty()) {
                "Other: Python lines that allocate and never free (profile findings)".into()
            } else {
                "Other: none in the evidence".into()
            },
        },
    ];

    let how = match &f.growth {
        Some(g) if g.source.starts_with("Prometheus") => format!(
            "Prometheus metrics: {} grows {} MB/hour",
            code(&f.metric_label),
            fig(g.bytes_per_hour / MB)
        ),
        Some(g) => format!(
            "{} shows growth of {} MB/hour",
            upper_first(&g.source),
            fig(g.bytes_per_hour / MB)
        ),
        None if !f.findings.is_empty() => "heap snapshot comparison (memsleuth leaks)".into(),
        None => format!("{NA}no monitoring evidence given"),
    };
    let mut queries: Vec<String> =
        f.ev.metrics
            .as_ref()
            .map(|m| m.view.queries.to_vec())
            .unwrap_or_default();
    if queries.is_empty() {
        let why = match &f.ev.metrics {
            Some(m) => format!("the saved range `{}` does not record its PromQL", m.source),
            None => "no Prometheus given".to_string(),
        };
        queries.push(format!(
            "{NA}{why}; the query to run: deriv({}[30m]) * 3600",
            cfg.selector()
        ));
    }
    let rules = alerts::rules(cfg);
    let growth_rule = rules.iter().find(|r| r.name == "MemoryGrowth");
    let alert_rule = growth_rule
        .map(|r| {
            format!(
                "MemoryGrowth: {} for {} (alerts.rules.yml, generated)",
                r.expr,
                r.for_duration.clone().unwrap_or_default()
            )
        })
        .unwrap_or_default();
    let dashboard = format!(
        "grafana-dashboard.json (generated; uid {}, import it into Grafana)",
        grafana::dashboard_uid(&cfg.service)
    );

    type Ends = (String, Option<(f64, f64)>, Option<(f64, f64)>);
    let (series_desc, first, last): Ends = if f.metric_points.len() >= 2 {
        (
            "Prometheus".into(),
            f.metric_points.first().copied(),
            f.metric_points.last().copied(),
        )
    } else if let Some(g) = &f.ev.gc {
        (
            "post-GC heap".into(),
            g.view.series.first().map(|p| (p.0 / 1000.0, p.1 * MB)),
            g.view.series.last().map(|p| (p.0 / 1000.0, p.1 * MB)),
        )
    } else {
        (String::new(), None, None)
    };
    let before = match (first, last) {
        (Some(a), Some(b)) => vec![
            Field {
                label: "Heap usage baseline".into(),
                value: format!("{} ({series_desc}, first point)", mb(a.1)),
            },
            Field {
                label: format!("After {}", duration(b.0 - a.0)),
                value: format!("{} ({series_desc}, last point)", mb(b.1)),
            },
            Field {
                label: "Growth rate".into(),
                value: growth_mb
                    .map(|g| format!("{} MB/hour", fig(g)))
                    .unwrap_or_else(|| format!("{NA}no trend computed")),
            },
        ],
        _ => vec![
            Field {
                label: "Heap usage baseline".into(),
                value: format!("{NA}no time series given"),
            },
            Field {
                label: "Growth rate".into(),
                value: growth_mb
                    .map(|g| format!("{} MB/hour", fig(g)))
                    .unwrap_or_else(|| format!("{NA}no time series given")),
            },
        ],
    };
    let gc_p95 =
        f.ev.gc
            .as_ref()
            .and_then(|g| g.view.gc_pause_ms.p95)
            .map(|p| format!("{} ms (GC log)", fig(p)))
            .or_else(|| {
                f.ev.metrics
                    .as_ref()
                    .and_then(|m| m.view.gc_pause_p95_seconds)
                    .map(|p| format!("{} ms (Prometheus)", fig(p * 1000.0)))
            })
            .unwrap_or_else(|| format!("{NA}no GC log or GC histogram given"));
    let current_heap = f
        .growth
        .as_ref()
        .and_then(|g| g.current_bytes)
        .map(|b| format!("{} (last value of the growth source)", mb(b)))
        .unwrap_or_else(|| format!("{NA}no current memory figure in the evidence"));
    let conns = match conn {
        Some(c) => format!(
            "{} unclosed {} objects in the last snapshot",
            c.count,
            code(&c.class)
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
                value: current_heap,
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
    }
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn investigation_steps(f: &Facts, top: Option<&Finding>) -> InvestigationSteps {
    let ev = f.ev;
    let has_snapshots = !ev.snapshots.is_empty() || ev.leaks.is_some();
    let py_sources: Vec<&str> = ev.python.iter().map(|p| p.view.source.as_str()).collect();
    let scalene = py_sources.iter().any(|s| s.eq_ignore_ascii_case("scalene"));
    let others: Vec<String> = py_sources
        .iter()
        .filter(|s| !s.eq_ignore_ascii_case("scalene"))
        .map(|s| s.to_string())
        .collect();
    let tools = vec![
        Check {
            checked: has_snapshots,
            text: if has_snapshots {
                "Chrome DevTools heap snapshots (analysed with memsleuth leaks)".into()
            } else {
                "Chrome DevTools heap snapshots (none given)".into()
            },
        },
        Check {
            checked: ev.gc.is_some(),
            text: "Node.js `--trace-gc` logs".into(),
        },
        Check {
            checked: scalene,
            text: "Python Scalene profiling".into(),
        },
        Check {
            checked: ev.metrics.is_some(),
            text: "Prometheus metrics".into(),
        },
        Check {
            checked: false,
            text: "Application logs (none given)".into(),
        },
        Check {
            checked: true,
            text: if others.is_empty() {
                "Other: memsleuth".to_string()
            } else {
                format!("Other: memsleuth, {}", others.join(", "))
            },
        },
    ];
    let snap_infos = ev
        .leaks
        .as_ref()
        .map(|l| l.snapshots.clone())
        .unwrap_or_default();
    let n = ev.snapshots.len().max(snap_infos.len());
    let mut snapshots = Vec::new();
    for i in 0..n {
        let file = ev.snapshots.get(i);
        let info = snap_infos.get(i);
        let name = file
            .map(|s| s.file.clone())
            .or_else(|| info.map(|s| s.file.clone()))
            .unwrap_or_default();
        let time = file
            .and_then(|s| s.taken.as_ref())
            .map(|t| {
                format!(
                    "{} (from the file name, host local time)",
                    datetime(t.unix_s)
                )
            })
            .unwrap_or_else(|| "time not in the evidence (the file name carries no date)".into());
        let size = match (info, file.and_then(|s| s.file_bytes)) {
            (Some(si), _) => format!("{} heap ({} objects)", mb(si.total_bytes as f64), si.nodes),
            (None, Some(b)) => format!("{} file", mb(b as f64)),
            (None, None) => "size not in the evidence".into(),
        };
        snapshots.push(SnapshotRow {
            index: i + 1,
            time,
            size,
            file: name,
        });
    }
    let snapshots_note = if n == 0 {
        Some(format!(
            "{NA}no heap snapshots given (take 3 a few minutes apart: `node --heapsnapshot-signal=SIGUSR2` and `kill -USR2 <pid>`)"
        ))
    } else if ev.leaks.is_none() {
        Some("The snapshots were given but not analysed in this build (see the notes in \"Evidence used\").".into())
    } else {
        None
    };
    let method = if ev.leaks.is_some() {
        "memsleuth leaks: objects allocated after the first snapshot and still alive in the last (DevTools' Comparison view by object id), grouped by retainer path, noise from V8 internals filtered".to_string()
    } else {
        format!("{NA}no snapshot comparison in the evidence")
    };
    let growing: Vec<GrowthRow> = f
        .findings
        .iter()
        .map(|x| {
            let c0 = x.growth.first().copied().unwrap_or(0) as i64;
            let c1 = x.growth.last().copied().unwrap_or(x.count) as i64;
            let b0 = x.growth_bytes.first().copied().unwrap_or(0) as f64;
            let b1 = x.growth_bytes.last().copied().unwrap_or(0) as f64;
            GrowthRow {
                class: x.class.clone(),
                context: format!("{} at {}", x.pattern.id(), loc_text(x)),
                instances_delta: c1 - c0,
                mb_delta: (b1 - b0) / MB,
            }
        })
        .collect();
    let growing_note = if growing.is_empty() {
        Some(if ev.leaks.is_some() {
            "No object group grew between the snapshots: memsleuth leaks found no leak.".into()
        } else {
            format!("{NA}no snapshot comparison in the evidence")
        })
    } else {
        None
    };
    let mut by_retained: Vec<&Finding> = f.findings.clone();
    by_retained.sort_by_key(|b| std::cmp::Reverse(b.retained_bytes));
    let top_consumers = by_retained
        .iter()
        .take(3)
        .enumerate()
        .map(|(i, x)| Consumer {
            rank: i + 1,
            class: x.class.clone(),
            retained_mb: x.retained_bytes as f64 / MB,
            path: path_one_line(x),
        })
        .collect();
    let (leaked_object, retainer_path, why) = match top {
        Some(t) => (
            format!(
                "{} ×{} ({} retained), {}",
                code(&t.class),
                t.count,
                mb(t.retained_bytes as f64),
                t.pattern.id()
            ),
            path_arrows(t),
            patterns::why_not_collected(t, &code(&path_one_line(t))),
        ),
        None => (
            format!("{NA}no leaked object group in the evidence"),
            vec![format!(
                "(no retainer path: no leak finding in the evidence)"
            )],
            format!("{NA}no leaked object to explain"),
        ),
    };
    InvestigationSteps {
        tools_used: tools,
        snapshots,
        snapshots_note,
        method,
        growing,
        growing_note,
        top_consumers,
        leaked_object,
        retainer_path,
        why_not_collected: why,
    }
}

fn finding_code_block(t: &Finding) -> CodeBlock {
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
            t.pattern.id(),
            first_sentence(&t.reason, patterns::label(t.pattern))
        ),
        lines,
    }
}

fn first_sentence(s: &str, fallback: &str) -> String {
    let s = s.trim();
    if s.is_empty() {
        fallback.to_string()
    } else {
        s.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect()
    }
}

fn root_cause(
    f: &Facts,
    top: Option<&Finding>,
    py: Option<(
        &super::evidence::PythonEvidence,
        &super::evidence::PythonFinding,
    )>,
) -> RootCauseAnalysis {
    let snapshot_span = match (f.snapshot_times.first(), f.snapshot_times.last()) {
        (Some(Some(a)), Some(Some(b))) if b > a => Some((b - a) as f64),
        _ => None,
    };
    let others: Vec<String> = f
        .findings
        .iter()
        .skip(1)
        .map(|x| {
            format!(
                "{}: {} {} objects ({} retained) at {}",
                x.pattern.id(),
                x.count,
                code(&x.class),
                mb(x.retained_bytes as f64),
                loc_text(x)
            )
        })
        .collect();
    if let Some(t) = top {
        let loc = loc_text(t);
        return RootCauseAnalysis {
            pattern_id: t.pattern.id().into(),
            pattern: patterns::label(t.pattern).into(),
            pattern_reason: first_sentence(&t.reason, "the classifier gave no reason"),
            vulnerable_code: finding_code_block(t),
            why_it_leaks: patterns::why_it_leaks(t, &loc),
            reproduction_steps: vec![
                format!(
                    "Start the service with `node --trace-gc --heapsnapshot-signal=SIGUSR2` in dev or staging."
                ),
                format!(
                    "Send traffic that runs the code at {loc} (each call adds {} objects).",
                    code(&t.class)
                ),
                "Take 3 heap snapshots a few minutes apart (`kill -USR2 <pid>`), then run `memsleuth report --snapshots S1 S2 S3`.".into(),
                format!("Observed result: {}.", patterns::growth_text(t)),
            ],
            reproduction_time: match snapshot_span {
                Some(s) => format!(
                    "{}: the leak showed between the first and last snapshot",
                    duration(s)
                ),
                None => match f.ev.gc.as_ref().and_then(|g| g.view.duration_s) {
                    Some(d) => format!("{}: the GC log shows the growth within this time", duration(d)),
                    None => format!("{NA}the snapshots carry no times"),
                },
            },
            other_findings: others,
        };
    }
    if let Some((pe, p)) = py {
        let loc = code(&format!("{}:{}", p.file, p.line));
        return RootCauseAnalysis {
            pattern_id: "python-allocation".into(),
            pattern: "Python allocation never freed (memory kept by a long-lived object)".into(),
            pattern_reason: first_sentence(&p.evidence, "reported by the profiler"),
            vulnerable_code: CodeBlock {
                language: "python".into(),
                location: format!("{}:{}", p.file, p.line),
                explanation: format!(
                    "{} reports this line{}",
                    pe.view.source,
                    p.leaked_bytes
                        .map(|b| format!(" keeps {} never freed", mb(b)))
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
                        .map(|b| format!(": {} not freed during the profile", mb(b)))
                        .unwrap_or_default()
                ),
            ],
            reproduction_steps: vec![
                format!("Run the program under the profiler: `memray run --trace-python-allocators -o out.bin prog.py` (or `scalene run -o out.json prog.py`)."),
                format!("Drive the code path that runs {loc}."),
                "Run `memray transform csv --leaks out.bin` and `memsleuth report --python out.csv`.".into(),
                format!("Observed result: {loc} at the top of the leaking lines."),
            ],
            reproduction_time: format!("{NA}the profile carries no duration"),
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
    RootCauseAnalysis {
        pattern_id: "none".into(),
        pattern: if f.leak_seen {
            format!("{NA}not identified: memory grows but no heap snapshots were given")
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

fn fix(
    f: &Facts,
    top: Option<&Finding>,
    py: Option<&super::evidence::PythonFinding>,
) -> FixImplementation {
    let patterns_found: Vec<Pattern> = {
        let mut v: Vec<Pattern> = f.findings.iter().map(|x| x.pattern).collect();
        v.sort();
        v.dedup();
        v
    };
    let mut strategy: Vec<Check> = patterns::STRATEGIES
        .iter()
        .map(|(text, pats)| Check {
            checked: pats.iter().any(|p| patterns_found.contains(p)),
            text: (*text).to_string(),
        })
        .collect();
    let other_patterns: Vec<&str> = patterns_found
        .iter()
        .filter(|p| matches!(p, Pattern::Closure | Pattern::Unknown))
        .map(|p| patterns::strategy(*p))
        .collect();
    strategy.push(Check {
        checked: !other_patterns.is_empty() || (top.is_none() && py.is_some()),
        text: if !other_patterns.is_empty() {
            format!("Other: {}", other_patterns.join("; "))
        } else if top.is_none() && py.is_some() {
            "Other: bound or release what the Python line keeps".into()
        } else {
            "Other: none needed for the patterns found".into()
        },
    });
    match (top, py) {
        (Some(t), _) => {
            let block = finding_code_block(t);
            let loc = block.location.clone();
            let mut files: Vec<Field> = Vec::new();
            for x in &f.findings {
                if let Some(l) = &x.location
                    && !files.iter().any(|fl| fl.label == l.file)
                {
                    files.push(Field {
                        label: l.file.clone(),
                        value: format!("line {}: {} (proposed)", l.line, patterns::strategy(x.pattern)),
                    });
                }
            }
            if files.is_empty() {
                files.push(Field {
                    label: "location unknown".into(),
                    value: format!(
                        "{NA}the snapshot has no script position; follow the retainer path"
                    ),
                });
            }
            FixImplementation {
                pull_request: format!("{NA}no fix has been made yet; the fix below is proposed by memsleuth"),
                files_modified: files,
                fixed_code: CodeBlock {
                    language: block.language.clone(),
                    location: loc.clone(),
                    explanation: format!("fix: {}", patterns::strategy(t.pattern)),
                    lines: patterns::fixed_code(t),
                },
                strategy,
                test: CodeBlock {
                    language: block.language,
                    location: loc.clone(),
                    explanation: "the regression test proposed for this pattern".into(),
                    lines: patterns::regression_test(t, &loc),
                },
                load_test: load_test_lines(f),
            }
        }
        (None, Some(p)) => FixImplementation {
            pull_request: format!("{NA}no fix has been made yet; the fix below is proposed by memsleuth"),
            files_modified: vec![Field {
                label: p.file.clone(),
                value: format!("line {}: bound or release what this line keeps (proposed)", p.line),
            }],
            fixed_code: CodeBlock {
                language: "python".into(),
                location: format!("{}:{}", p.file, p.line),
                explanation: "fix: keep a bounded number of entries, or drop them when done".into(),
                lines: vec![
                    format!("# Before: {}", p.code.trim()),
                    "# Keep at most MAX entries: a bounded deque (or an LRU cache) instead of an ever-growing list/dict".into(),
                    "from collections import deque".into(),
                    "RECENT = deque(maxlen=MAX)".into(),
                    "RECENT.append(item)".into(),
                    "# for a cache of function results: functools.lru_cache(maxsize=MAX)".into(),
                ],
            },
            strategy,
            test: CodeBlock {
                language: "python".into(),
                location: format!("{}:{}", p.file, p.line),
                explanation: "the regression test proposed: memory after many calls stays flat".into(),
                lines: vec![
                    "import tracemalloc".into(),
                    "".into(),
                    "def test_no_leak():".into(),
                    "    for _ in range(100):".into(),
                    "        handle_one_request()  # warm up".into(),
                    "    tracemalloc.start()".into(),
                    "    before, _ = tracemalloc.get_traced_memory()".into(),
                    "    for _ in range(10_000):".into(),
                    "        handle_one_request()".into(),
                    "    after, _ = tracemalloc.get_traced_memory()".into(),
                    "    tracemalloc.stop()".into(),
                    "    assert after - before < 1024 * 1024  # < 1 MB for 10k calls".into(),
                ],
            },
            load_test: load_test_lines(f),
        },
        (None, None) => FixImplementation {
            pull_request: format!("{NA}no leak identified, so no fix"),
            files_modified: vec![Field {
                label: "none".into(),
                value: format!("{NA}no leaking code identified in the evidence"),
            }],
            fixed_code: CodeBlock {
                language: "text".into(),
                location: format!("{NA}no leaking code identified"),
                explanation: "heap snapshots locate the code to fix".into(),
                lines: vec!["(no fix to show)".into()],
            },
            strategy,
            test: CodeBlock {
                language: "javascript".into(),
                location: "any request handler".into(),
                explanation: "a generic memory regression test".into(),
                lines: vec![
                    "describe('Memory', () => {".into(),
                    "  it('does not retain memory per request', async () => {".into(),
                    "    // run with node --expose-gc".into(),
                    "    global.gc();".into(),
                    "    const before = process.memoryUsage().heapUsed;".into(),
                    "    for (let i = 0; i < 10_000; i++) await handleOneRequest();".into(),
                    "    global.gc();".into(),
                    "    expect(process.memoryUsage().heapUsed - before).toBeLessThan(1024 * 1024);".into(),
                    "  });".into(),
                    "});".into(),
                ],
            },
            load_test: load_test_lines(f),
        },
    }
}

fn load_test_lines(f: &Facts) -> Vec<String> {
    match &f.ev.load_test {
        Some(l) if !l.lines.is_empty() => l.lines.clone(),
        _ => vec![
            "Before fix: not run (no load test results were given)".into(),
            "After fix: not run (no load test results were given)".into(),
        ],
    }
}

fn deployment(f: &Facts, cfg: &AlertConfig) -> DeploymentAndResults {
    let growth = f
        .growth
        .as_ref()
        .map(|g| format!("{} MB/hour ({})", fig(g.bytes_per_hour / MB), g.source))
        .unwrap_or_else(|| format!("{NA}no time series given"));
    let baseline = if let (Some(a), Some(b)) = (f.metric_points.first(), f.metric_points.last()) {
        vec![
            Field {
                label: "Memory baseline".into(),
                value: format!("{} (Prometheus, first point)", mb(a.1)),
            },
            Field {
                label: format!("Memory after {}", duration(b.0 - a.0)),
                value: format!("{} (Prometheus, last point)", mb(b.1)),
            },
        ]
    } else if let Some(g) = &f.ev.gc {
        vec![
            Field {
                label: "Memory baseline".into(),
                value: g
                    .view
                    .heap_after_gc_mb
                    .first
                    .map(|x| format!("{} (first post-GC heap)", mb(x * MB)))
                    .unwrap_or_else(|| format!("{NA}the GC log has no heap figures")),
            },
            Field {
                label: format!(
                    "Memory after {}",
                    g.view
                        .duration_s
                        .map(duration)
                        .unwrap_or_else(|| "the log".into())
                ),
                value: g
                    .view
                    .heap_after_gc_mb
                    .last
                    .map(|x| format!("{} (last post-GC heap)", mb(x * MB)))
                    .unwrap_or_else(|| format!("{NA}the GC log has no heap figures")),
            },
        ]
    } else {
        vec![Field {
            label: "Memory baseline".into(),
            value: format!("{NA}no time series given"),
        }]
    };
    let mut before = baseline;
    before.push(Field {
        label: "Growth rate".into(),
        value: growth,
    });
    before.push(Field {
        label: "OOM incidents".into(),
        value: match f.oom_count {
            Some(n) => format!("{n} in the GC log"),
            None => format!("{NA}no GC log given"),
        },
    });
    let after_na = format!(
        "{NA}no evidence from after a fix was given (run memsleuth report on new evidence after deploying it)"
    );
    DeploymentAndResults {
        environment: format!("{NA}no deployment in the evidence"),
        deployment_time: format!("{NA}no deployment in the evidence"),
        rollout: format!(
            "{NA}no deployment in the evidence (suggested: canary, watching the MemoryGrowth alert)"
        ),
        before_fix: before,
        after_fix: vec![
            Field {
                label: "Memory baseline".into(),
                value: after_na.clone(),
            },
            Field {
                label: "Growth rate".into(),
                value: after_na.clone(),
            },
            Field {
                label: "OOM incidents".into(),
                value: after_na.clone(),
            },
        ],
        improvement: vec![
            Field {
                label: "Memory reduction".into(),
                value: after_na.clone(),
            },
            Field {
                label: "OOM elimination".into(),
                value: after_na.clone(),
            },
            Field {
                label: "GC pressure".into(),
                value: after_na,
            },
        ],
        dashboard_link: format!(
            "grafana-dashboard.json in this report's folder (uid {}; import it into Grafana, the URL depends on your Grafana)",
            grafana::dashboard_uid(&cfg.service)
        ),
        key_panels: vec![
            Field {
                label: "Heap usage trend".into(),
                value: "panel \"Memory used (heap)\" and \"Memory growth\": growth should drop to about 0 MB/hour after the fix".into(),
            },
            Field {
                label: "GC pause duration".into(),
                value: "panel \"GC pause p95\": should fall as the heap stops growing".into(),
            },
            Field {
                label: "Error rate".into(),
                value: "panel \"Resident set size (RSS)\": restarts from OOM show as drops; prom-client has no OOM counter".into(),
            },
        ],
    }
}

fn lessons(f: &Facts, cfg: &AlertConfig, top: Option<&Finding>) -> LessonsLearned {
    let mut well = Vec::new();
    if let Some(t) = top {
        well.push(format!(
            "Heap snapshots located the leak: {} at {} with its retainer path.",
            t.pattern.id(),
            loc_text(t)
        ));
    }
    if let Some(g) = &f.ev.gc {
        well.push(format!(
            "The `--trace-gc` log gave the post-GC heap trend ({} GC events).",
            g.view.events
        ));
    }
    if f.ev.metrics.is_some() {
        well.push("Prometheus metrics measured the growth rate over time.".into());
    }
    if f.ev.python.iter().any(|p| !p.view.findings.is_empty()) {
        well.push("The Python profile pointed at the leaking lines.".into());
    }
    if well.is_empty() {
        well.push(format!(
            "{NA}the evidence given says nothing about how the investigation went"
        ));
    }
    let mut improve = Vec::new();
    if f.ev.metrics.is_none() {
        improve.push("No Prometheus data was given: scrape the service (prom-client) so growth is seen before it becomes an incident.".into());
    } else {
        improve.push("No alert fired on the growth before the investigation: deploy the generated MemoryGrowth alert.".into());
    }
    if f.ev.snapshots.is_empty() && f.ev.leaks.is_none() {
        improve.push("No heap snapshots were given: enable `--heapsnapshot-signal=SIGUSR2` so they can be taken in production.".into());
    }
    if f.limit.is_none() {
        improve.push("The memory limit is not known: set `--max-old-space-size` explicitly and give it to memsleuth (--memory-limit) so the time to OOM can be projected.".into());
    }
    let near_limit = cfg.heap_limit_bytes.is_some();
    let monitoring = vec![
        Check {
            checked: true,
            text: format!(
                "Alert: Memory growth >{} MB/hour for >{} (MemoryGrowth, alerts.rules.yml)",
                alerts::num(cfg.growth_mb_per_hour),
                cfg.for_duration
            ),
        },
        Check {
            checked: near_limit,
            text: if near_limit {
                format!(
                    "Alert: Heap usage >{}% of limit (HeapNearLimit and MemoryExhaustionPredicted, alerts.rules.yml)",
                    alerts::num(alerts::NEAR_LIMIT_RATIO * 100.0)
                )
            } else {
                "Alert: Heap usage >90% of limit (not generated: no memory limit known; give --memory-limit)".into()
            },
        },
        Check {
            checked: true,
            text: "Dashboard: Memory trend visualization (grafana-dashboard.json)".into(),
        },
        Check {
            checked: false,
            text: "Alert: Connection pool saturation >80% (not generated: prom-client has no pool metric; export one if the service uses a pool)".into(),
        },
        Check {
            checked: true,
            text: format!(
                "Alert: GC pause p95 >{} ms (GCPauseHigh, alerts.rules.yml)",
                alerts::num(alerts::GC_PAUSE_P95_SECONDS * 1000.0)
            ),
        },
    ];
    let concerned: Vec<usize> = f
        .findings
        .iter()
        .filter_map(|x| patterns::checklist_index(x.pattern))
        .collect();
    let items = [
        "Event listeners properly cleaned up",
        "Database connections closed",
        "Timers/intervals cleared",
        "Large datasets processed with streaming/chunking",
    ];
    let review_checklist = items
        .iter()
        .enumerate()
        .map(|(i, t)| Check {
            checked: false,
            text: if concerned.contains(&i) {
                format!("{t} (this leak: add it to the checklist)")
            } else {
                (*t).to_string()
            },
        })
        .collect();
    let pat = top.map(|t| t.pattern);
    let testing_standards = vec![
        Check {
            checked: false,
            text: if pat == Some(Pattern::EventListener) {
                "Memory leak tests for event listeners (proposed above for this leak)".into()
            } else {
                "Memory leak tests for event listeners".into()
            },
        },
        Check {
            checked: false,
            text: "Load tests with memory monitoring (memsleuth report on snapshots taken during the load test)".into(),
        },
        Check {
            checked: false,
            text: if pat == Some(Pattern::UnclosedConnection) {
                "CI/CD checks for connection cleanup (proposed above for this leak)".into()
            } else {
                "CI/CD checks for connection cleanup (`memsleuth leaks --fail-on-leak` in CI)".into()
            },
        },
    ];
    LessonsLearned {
        went_well: well,
        could_improve: improve,
        monitoring,
        review_checklist,
        testing_standards,
    }
}

fn appendix(f: &Facts, cfg: &AlertConfig) -> Appendix {
    let mut files: Vec<Field> =
        f.ev.snapshots
            .iter()
            .map(|s| {
                let name = s
                    .file
                    .rsplit(['/', '\\'])
                    .next()
                    .unwrap_or(&s.file)
                    .to_string();
                Field {
                    label: name,
                    value: format!(
                        "{}{}",
                        s.file,
                        s.file_bytes
                            .map(|b| format!(" ({} on disk)", mb(b as f64)))
                            .unwrap_or_default()
                    ),
                }
            })
            .collect();
    if files.is_empty()
        && let Some(l) = &f.ev.leaks
    {
        files = l
            .snapshots
            .iter()
            .map(|s| Field {
                label: s
                    .file
                    .rsplit(['/', '\\'])
                    .next()
                    .unwrap_or(&s.file)
                    .to_string(),
                value: s.file.clone(),
            })
            .collect();
    }
    if files.is_empty() {
        files.push(Field {
            label: "none".into(),
            value: format!("{NA}no heap snapshots given"),
        });
    }
    let gc_log = match &f.ev.gc {
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
                    "{:>10} ms: heap after GC {} MB",
                    fig(pts[i].0),
                    fig(pts[i].1)
                ));
            }
            v
        }
        None => vec![format!(
            "{NA}no GC log given (run the service with `node --trace-gc`)"
        )],
    };
    let mut queries: Vec<Field> =
        f.ev.metrics
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
        label: "Memory growth rate, MB/hour".into(),
        value: format!("deriv({sel}[{}]) * 3600 / 1048576", alerts::GROWTH_WINDOW),
    });
    queries.push(Field {
        label: "Memory in 4 hours at the current trend".into(),
        value: format!("predict_linear({sel}[{}], 14400)", alerts::GROWTH_WINDOW),
    });
    queries.push(Field {
        label: "GC pause duration p95".into(),
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

/// Least squares over points: `(slope, intercept)`.
fn least_squares(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx <= 0.0 || !sxx.is_finite() {
        return None;
    }
    let slope = sxy / sxx;
    Some((slope, my - slope * mx))
}

/// At most `max` points, evenly picked, first and last kept.
fn thin(points: &[(f64, f64)], max: usize) -> Vec<(f64, f64)> {
    if points.len() <= max || max < 2 {
        return points.to_vec();
    }
    (0..max)
        .map(|i| points[i * (points.len() - 1) / (max - 1)])
        .collect()
}

fn charts(f: &Facts) -> Charts {
    let heap = if f.metric_points.len() >= 2 {
        let t0 = f.metric_points[0].0;
        let pts: Vec<(f64, f64)> = f
            .metric_points
            .iter()
            .map(|p| (p.0 - t0, p.1 / MB))
            .collect();
        Some(("Memory over time (Prometheus)", f.metric_label.clone(), pts))
    } else if let Some(g) = f.ev.gc.as_ref().filter(|g| g.view.series.len() >= 2) {
        let t0 = g.view.series[0].0;
        let pts: Vec<(f64, f64)> = g
            .view
            .series
            .iter()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .map(|p| ((p.0 - t0) / 1000.0, p.1))
            .collect();
        Some(("Heap after GC over time (--trace-gc)", g.file.clone(), pts))
    } else {
        None
    };
    let heap = heap.map(|(title, source, pts)| {
        let pts = thin(&pts, 600);
        let fit = least_squares(&pts);
        let (x0, x1) = (
            pts.first().map(|p| p.0).unwrap_or(0.0),
            pts.last().map(|p| p.0).unwrap_or(0.0),
        );
        HeapChart {
            title: title.into(),
            source,
            trend: fit.map(|(a, b)| (x0, a * x0 + b, x1, a * x1 + b)),
            trend_mb_per_hour: fit.map(|(a, _)| a * 3600.0),
            limit_mb: f.limit.as_ref().map(|l| l.0 / MB),
            points: pts,
        }
    });
    let class_growth = f
        .findings
        .iter()
        .take(8)
        .map(|x| {
            let b0 = x.growth_bytes.first().copied().unwrap_or(0) as f64;
            let b1 = x.growth_bytes.last().copied().unwrap_or(0) as f64;
            let c0 = x.growth.first().copied().unwrap_or(0) as i64;
            let c1 = x.growth.last().copied().unwrap_or(x.count) as i64;
            Bar {
                label: format!(
                    "{} ({})",
                    x.class,
                    x.location
                        .as_ref()
                        .map(|l| format!(
                            "{}:{}",
                            l.file.rsplit(['/', '\\']).next().unwrap_or(&l.file),
                            l.line
                        ))
                        .unwrap_or_else(|| x.pattern.id().to_string())
                ),
                mb: (b1 - b0) / MB,
                instances: c1 - c0,
            }
        })
        .collect();
    let retainer = f
        .findings
        .first()
        .map(|t| {
            let mut v: Vec<PathNode> = t
                .retainer_path
                .iter()
                .map(|s| PathNode {
                    label: s.holder.clone(),
                    edge: edge_text(s),
                    suspect: s.suspect,
                })
                .collect();
            v.push(PathNode {
                label: format!("{} ×{}", t.class, t.count),
                edge: String::new(),
                suspect: true,
            });
            v
        })
        .unwrap_or_default();
    Charts {
        heap,
        class_growth,
        retainer,
    }
}

fn alerts_section(f: &Facts, cfg: &AlertConfig) -> AlertsSection {
    let threshold_reason = match &f.growth {
        Some(g) if g.leak && g.bytes_per_hour > 0.0 => format!(
            "half the growth seen ({} MB/hour), rounded down, between 1 and 50 MB/hour",
            fig(g.bytes_per_hour / MB)
        ),
        _ => format!(
            "the default {} MB/hour (no leaking growth rate in the evidence)",
            alerts::num(alerts::DEFAULT_GROWTH_MB_PER_HOUR)
        ),
    };
    AlertsSection {
        config: cfg.clone(),
        rules: alerts::rules(cfg),
        rules_file: "alerts.rules.yml".into(),
        dashboard_file: "grafana-dashboard.json".into(),
        dashboard_uid: grafana::dashboard_uid(&cfg.service),
        dashboard_panels: grafana::panel_titles(cfg),
        threshold_reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(datetime(0), "1970-01-01 00:00:00");
        assert!(datetime(i64::MAX).starts_with("(invalid"));
        assert!(date(i64::MIN).starts_with("(invalid"));
        assert_eq!(datetime(1795536048), "2026-11-24 16:00:48");
        assert_eq!(fig(1234.5), "1234");
        assert_eq!(fig(12.345), "12.3");
        assert_eq!(fig(1.2345), "1.23");
        assert_eq!(duration(90.0), "90.0 s");
        assert_eq!(duration(3.0 * 3600.0), "3.00 hours");
        assert_eq!(nice_floor(37.0), 20.0);
        assert_eq!(nice_floor(7.0), 5.0);
        assert_eq!(nice_floor(0.3), 0.2);
    }

    #[test]
    fn empty_evidence_still_makes_a_report_saying_what_is_missing() {
        let inv = investigate(&Evidence::default());
        assert_eq!(inv.header.severity, "Low");
        assert!(inv.header.date.starts_with(NA));
        assert!(inv.executive_summary.tldr.contains("no memory leak"));
    }

    #[test]
    fn least_squares_of_a_line() {
        let (a, b) = least_squares(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]).unwrap();
        assert!((a - 2.0).abs() < 1e-12 && (b - 1.0).abs() < 1e-12);
        assert!(least_squares(&[(1.0, 1.0)]).is_none());
    }
}
