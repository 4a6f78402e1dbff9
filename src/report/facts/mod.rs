//! The reconciliation stage: [`Evidence`] in, one [`Facts`] out, before any wording. Every
//! figure the report prints is decided here, once, and every section and output format
//! (Markdown, HTML, JSON, alert annotations) words the same figures. Pure: no IO, no clock.
//!
//! What is decided here:
//! - **Growth per source** ([`GrowthSource`]): each source's rate with its 95 % interval, the
//!   method, the window it was fitted on (on the source's own clock), its verdict, and its
//!   reliability ([`Tier`]): the post-GC floor after major GCs (a capture's forced full GCs,
//!   the GC log's mark-compacts) > Prometheus old-space > heap used > resident memory >
//!   snapshot totals > leaked groups > profiles.
//! - **One headline** ([`Headline`]): the most reliable source with a usable trend; every
//!   other source is compared with it, and a disagreement is explained (warm-up then flat,
//!   load stopped, different windows, a span too short, garbage between GCs) or said to be
//!   unexplained ([`Comparison`]).
//! - **Growth per request** when a capture gives request counts ([`PerRequest`]).
//! - **Leaked groups** with their retained size (the bytes that leak), not their shallow size.
//! - **Time to OOM** ([`OomProjection`]): only from a headline judged `leak`, and only when
//!   the horizon is at most [`MAX_PROJECTION_FACTOR`] times the span the trend was fitted on.
//! - **Incidents** (OOM crashes and restarts) and the **severity** they imply.
//! - **Clocks**: which evidence can be placed on wall-clock time ([`Clocks`]).

mod clocks;
mod growth;
mod leaks;
pub mod stats;

pub use clocks::{Clock, Clocks};
pub use growth::{Comparison, GrowthSource, Headline, Rate, Shape, SourceKind, Tier};
pub use leaks::{LeakGroup, PatternKind};

use super::evidence::{Evidence, IncidentKind, SeverityChoice};
use super::words;
pub use crate::series::trend::Verdict;
use crate::units::MIB;

/// A time-to-OOM horizon longer than this many times the fitted span is not projected.
pub const MAX_PROJECTION_FACTOR: f64 = 10.0;

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

/// The severity and why; `auto` is memsleuth's own estimate when the investigator set it.
#[derive(Clone, Debug, PartialEq)]
pub struct SeverityFact {
    pub level: Severity,
    pub reason: String,
    pub auto: Severity,
    pub auto_reason: String,
    pub set_by_investigator: bool,
}

/// Whether the evidence shows a leak, in the one meaning of contract C3.
#[derive(Clone, Debug, PartialEq)]
pub struct LeakStatus {
    pub verdict: Verdict,
    /// One clause: why.
    pub reason: String,
}

/// The memory limit growth is measured against.
#[derive(Clone, Debug, PartialEq)]
pub struct Limit {
    pub bytes: f64,
    /// `--memory-limit`, or the heap limit the GC log shows.
    pub source: String,
}

/// Time to OOM, or why it cannot be projected.
#[derive(Clone, Debug, PartialEq)]
pub struct OomProjection {
    pub seconds: Option<f64>,
    /// Earliest and latest, from the ends of the headline's interval.
    pub earliest_seconds: Option<f64>,
    pub latest_seconds: Option<f64>,
    /// The level the projection starts from (bytes) and the limit.
    pub from_bytes: Option<f64>,
    /// Requests until the limit, at the measured growth per request.
    pub requests: Option<f64>,
    /// A sentence: how it was projected, or why it is not.
    pub reason: String,
}

/// Growth per request from a capture's request counts.
#[derive(Clone, Debug, PartialEq)]
pub struct PerRequest {
    pub bytes: f64,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub method: String,
    /// Requests between the first and last checkpoint used.
    pub requests: (u64, u64),
    /// Leaked units of the main group per request, between the first and last snapshot
    /// taken at a checkpoint: `(units per request, unit name)`.
    pub units_per_request: Option<(f64, String)>,
    /// Growth of the snapshots' heap totals per request, same snapshots.
    pub snapshot_bytes_per_request: Option<f64>,
}

/// The load of a capture.
#[derive(Clone, Debug, PartialEq)]
pub struct Load {
    pub requests_total: u64,
    pub errors: Option<u64>,
    /// Seconds from the load's start to the last checkpoint.
    pub seconds: f64,
    pub requests_per_second: Option<f64>,
    pub concurrency: Option<u64>,
    pub url: Option<String>,
    pub method: Option<String>,
    pub started_unix: Option<f64>,
    pub latency_p50_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    /// `(requests, seconds, heap used after a forced full GC in bytes)` per checkpoint.
    pub checkpoints: Vec<(u64, f64, Option<f64>)>,
}

/// One heap snapshot as the report knows it.
#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotFact {
    pub file: String,
    /// As found in the name (host local time, Unix-like seconds), when it carries one.
    pub name_time: Option<i64>,
    /// Unix seconds when its time is placed on wall-clock time.
    pub unix: Option<f64>,
    /// Seconds since the capture's load started, when it was taken at a checkpoint.
    pub load_seconds: Option<f64>,
    /// Requests sent before it, when it was taken at a checkpoint.
    pub requests: Option<u64>,
    pub total_bytes: Option<u64>,
    pub nodes: Option<u64>,
    pub file_bytes: Option<u64>,
}

/// An out-of-memory crash or restart seen in the evidence.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentFact {
    pub kind: IncidentKind,
    pub count: u64,
    /// Unix seconds, when dated on wall-clock time.
    pub unix: Option<f64>,
    /// Seconds of process uptime (a GC log's crash), placed on wall-clock time when the log is.
    pub uptime_s: Option<f64>,
    /// The time as the evidence gives it otherwise ("uptime 22.8 s").
    pub time_text: Option<String>,
    /// Where it is written (`gc.log`, `app.log:812`).
    pub source: String,
    pub message: String,
}

/// The reconciled facts: everything the sections word.
#[derive(Clone, Debug)]
pub struct Facts<'a> {
    pub ev: &'a Evidence,
    /// The service's name, when `--service` or a Prometheus `job` label gives it.
    pub service: Option<String>,
    /// Where the name comes from.
    pub service_from_label: bool,
    pub clocks: Clocks,
    /// Every source with a growth figure, most reliable first.
    pub sources: Vec<GrowthSource>,
    pub headline: Option<Headline>,
    /// Every other source against the headline.
    pub comparisons: Vec<Comparison>,
    pub status: LeakStatus,
    pub leaks: Vec<LeakGroup>,
    pub snapshots: Vec<SnapshotFact>,
    pub load: Option<Load>,
    pub per_request: Option<PerRequest>,
    pub limit: Option<Limit>,
    pub projection: OomProjection,
    pub incidents: Vec<IncidentFact>,
    pub severity: SeverityFact,
    /// Unix seconds of the latest dated evidence (for the report's date).
    pub latest_unix: Option<f64>,
}

impl Facts<'_> {
    /// Whether the evidence shows the memory running out.
    pub fn oom_seen(&self) -> bool {
        self.incidents.iter().any(|i| i.kind.is_oom())
    }

    /// Number of OOM crashes seen.
    pub fn oom_count(&self) -> u64 {
        self.incidents
            .iter()
            .filter(|i| i.kind.is_oom())
            .map(|i| i.count)
            .sum()
    }

    /// The headline's source.
    pub fn headline_source(&self) -> Option<&GrowthSource> {
        self.headline
            .as_ref()
            .and_then(|h| self.sources.get(h.source))
    }

    /// The main leak finding.
    pub fn top_leak(&self) -> Option<&LeakGroup> {
        self.leaks.first()
    }

    /// The name to write for the service in sentences.
    pub fn service_name(&self) -> &str {
        self.service.as_deref().unwrap_or("The service")
    }
}

/// Whether any evidence at all was given (a report needs some).
pub fn has_evidence(ev: &Evidence) -> bool {
    !ev.snapshots.is_empty()
        || ev.leaks.is_some()
        || ev.gc.is_some()
        || ev.metrics.is_some()
        || !ev.python.is_empty()
        || ev.capture.is_some()
        || !ev.incidents.is_empty()
        || !ev.app_logs.is_empty()
        || ev.load_test.is_some()
}

/// Reconciles the evidence into one set of facts.
pub fn reconcile(ev: &Evidence) -> Facts<'_> {
    let (service, service_from_label) = match ev.service.as_ref().filter(|s| !s.trim().is_empty()) {
        Some(s) => (Some(s.clone()), false),
        None => {
            let job = ev.metrics.as_ref().and_then(|m| {
                m.view
                    .series
                    .iter()
                    .find_map(|s| s.labels.get("job").cloned())
            });
            let from_label = job.is_some();
            (job, from_label)
        }
    };
    let leaks = leaks::groups(ev);
    let load = load_facts(ev);
    let mut snapshots = snapshot_facts(ev);
    let clocks = clocks::align(ev, &snapshots);
    for s in &mut snapshots {
        s.unix = clocks.snapshot_unix(s);
    }
    let mut sources = growth::sources(ev, &clocks, &snapshots, &leaks);
    sources.sort_by_key(GrowthSource::order_key);
    let headline = growth::headline(&sources);
    let comparisons = growth::compare(&sources, headline.as_ref(), &clocks, load.as_ref());
    let status = leak_status(ev, &sources, headline.as_ref(), &leaks);
    let per_request = per_request(ev, &snapshots, &leaks);
    let limit = limit(ev);
    let mut incidents = incidents(ev);
    for i in &mut incidents {
        if i.unix.is_none()
            && let Some(t) = i.uptime_s
        {
            i.unix = clocks.to_unix(Clock::Uptime, t);
        }
    }
    let mut facts = Facts {
        ev,
        service,
        service_from_label,
        clocks,
        sources,
        headline,
        comparisons,
        status,
        leaks,
        snapshots,
        load,
        per_request,
        limit,
        projection: OomProjection {
            seconds: None,
            earliest_seconds: None,
            latest_seconds: None,
            from_bytes: None,
            requests: None,
            reason: String::new(),
        },
        incidents,
        severity: SeverityFact {
            level: Severity::Low,
            reason: String::new(),
            auto: Severity::Low,
            auto_reason: String::new(),
            set_by_investigator: false,
        },
        latest_unix: None,
    };
    facts.projection = projection(&facts);
    facts.severity = severity(&facts);
    facts.latest_unix = latest_unix(&facts);
    facts
}

fn load_facts(ev: &Evidence) -> Option<Load> {
    let c = ev.capture.as_ref()?;
    let v = &c.view;
    let last = v
        .checkpoints
        .iter()
        .filter(|k| k.seconds.is_finite())
        .max_by(|a, b| a.seconds.total_cmp(&b.seconds));
    let requests_total = v
        .requests_total
        .or(v.checkpoints.iter().filter_map(|k| k.requests).max())
        .unwrap_or(0);
    let seconds = last.map(|k| k.seconds).unwrap_or(0.0);
    Some(Load {
        requests_total,
        errors: v.errors,
        seconds,
        requests_per_second: last
            .filter(|k| k.seconds > 0.0)
            .and_then(|k| Some(k.requests? as f64 / k.seconds)),
        concurrency: v.concurrency,
        url: v.url.clone(),
        method: v.method.clone(),
        started_unix: c.started_unix,
        latency_p50_ms: v.latency_ms.as_ref().and_then(|l| l.p50),
        latency_p99_ms: v.latency_ms.as_ref().and_then(|l| l.p99),
        checkpoints: v
            .checkpoints
            .iter()
            .filter_map(|k| {
                Some((
                    k.requests?,
                    k.seconds,
                    k.heap_used_bytes.filter(|b| b.is_finite()),
                ))
            })
            .collect(),
    })
}

/// The file name without directories and without `.gz`.
pub fn base_name(path: &str) -> &str {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    name.strip_suffix(".gz").unwrap_or(name)
}

fn snapshot_facts(ev: &Evidence) -> Vec<SnapshotFact> {
    let infos = ev
        .leaks
        .as_ref()
        .map(|l| l.snapshots.clone())
        .unwrap_or_default();
    let n = ev.snapshots.len().max(infos.len());
    let checkpoints = ev
        .capture
        .as_ref()
        .map(|c| c.view.checkpoints.clone())
        .unwrap_or_default();
    (0..n)
        .map(|i| {
            let file = ev.snapshots.get(i);
            let info = infos.get(i);
            let name = file
                .map(|s| s.file.clone())
                .or_else(|| info.map(|s| s.file.clone()))
                .unwrap_or_default();
            let at = checkpoints.iter().find(|k| {
                k.snapshot
                    .as_deref()
                    .is_some_and(|s| base_name(s) == base_name(&name))
            });
            SnapshotFact {
                name_time: file
                    .and_then(|s| s.taken.as_ref())
                    .map(|t| t.unix_s)
                    .or_else(|| super::evidence::snapshot_time_from_name(&name).map(|t| t.unix_s)),
                unix: None,
                load_seconds: at.map(|k| k.seconds).filter(|s| s.is_finite()),
                requests: at.and_then(|k| k.requests),
                total_bytes: info.map(|s| s.total_bytes),
                nodes: info.map(|s| s.nodes),
                file_bytes: file.and_then(|s| s.file_bytes),
                file: name,
            }
        })
        .collect()
}

fn leak_status(
    ev: &Evidence,
    sources: &[GrowthSource],
    headline: Option<&Headline>,
    leaks: &[LeakGroup],
) -> LeakStatus {
    let groups = leaks.len();
    let py_findings: usize = ev.python.iter().map(|p| p.view.leaking_lines().len()).sum();
    match headline.and_then(|h| sources.get(h.source).map(|s| (h, s))) {
        Some((h, s)) => match h.verdict {
            Verdict::Leak => LeakStatus {
                verdict: Verdict::Leak,
                reason: format!("{} grows: {}", s.label, s.reason),
            },
            Verdict::NoLeak if groups > 0 => LeakStatus {
                verdict: Verdict::Inconclusive,
                reason: format!(
                    "the heap snapshots show {groups} leaked group(s), but {} shows bounded growth ({})",
                    s.label, s.reason
                ),
            },
            Verdict::NoLeak => LeakStatus {
                verdict: Verdict::NoLeak,
                reason: format!("{}: {}", s.label, s.reason),
            },
            Verdict::Inconclusive if groups > 0 => LeakStatus {
                verdict: Verdict::Leak,
                reason: format!(
                    "{groups} leaked group(s) grew in every snapshot interval; {} is inconclusive ({})",
                    s.label, s.reason
                ),
            },
            Verdict::Inconclusive => LeakStatus {
                verdict: Verdict::Inconclusive,
                reason: format!("{}: {}", s.label, s.reason),
            },
        },
        None if groups > 0 => LeakStatus {
            verdict: Verdict::Leak,
            reason: format!(
                "{groups} leaked group(s) grew in every snapshot interval (no dated growth series to measure the rate)"
            ),
        },
        None if py_findings > 0 => {
            // A profile whose analysis gave its own verdict says what grew (tracemalloc: "2
            // line(s) grew at every one of 3 snapshots"); its ranking lists every line it saw,
            // also those that did not grow, so counting them would overstate the leak.
            let own = ev.python.iter().find_map(|p| {
                let v = p.view.verdict.as_deref()?;
                let r = p.view.reason.as_deref().filter(|r| !r.is_empty())?;
                (!p.view.leaking_lines().is_empty())
                    .then(|| (v, format!("the {} profile: {r}", p.view.source)))
            });
            match own {
                Some((v, reason)) => LeakStatus {
                    verdict: growth::verdict_of(v),
                    reason,
                },
                None => LeakStatus {
                    verdict: Verdict::Leak,
                    reason: format!(
                        "the Python profile shows {py_findings} line(s) whose memory is never freed"
                    ),
                },
            }
        }
        None => LeakStatus {
            verdict: Verdict::Inconclusive,
            reason: "no growth series and no leaked group in the evidence".into(),
        },
    }
}

fn per_request(
    ev: &Evidence,
    snapshots: &[SnapshotFact],
    leaks: &[LeakGroup],
) -> Option<PerRequest> {
    let c = ev.capture.as_ref()?;
    let pts: Vec<(f64, f64)> = c
        .view
        .checkpoints
        .iter()
        .filter_map(|k| Some((k.requests? as f64, k.heap_used_bytes?)))
        .filter(|(r, b)| r.is_finite() && b.is_finite())
        .collect();
    let first_req = c.view.checkpoints.iter().filter_map(|k| k.requests).min()?;
    let last_req = c.view.checkpoints.iter().filter_map(|k| k.requests).max()?;
    let (bytes, low, high, method) = match &c.view.bytes_per_request {
        Some(b) if b.value.is_finite() => (
            b.value,
            b.low.filter(|x| x.is_finite()),
            b.high.filter(|x| x.is_finite()),
            b.method
                .clone()
                .unwrap_or_else(|| "as measured by the capture".into()),
        ),
        _ => {
            let f = stats::theil_sen(&pts).filter(|_| pts.len() >= 3)?;
            (
                f.slope,
                Some(f.low),
                Some(f.high),
                format!(
                    "{} at each checkpoint against requests sent, Theil–Sen",
                    c.view.memory_measure()
                ),
            )
        }
    };
    // The snapshots taken at checkpoints: leaked units and heap totals per request.
    let at: Vec<(usize, &SnapshotFact)> = snapshots
        .iter()
        .enumerate()
        .filter(|(_, s)| s.requests.is_some())
        .collect();
    let (mut units, mut totals) = (None, None);
    if let (Some((i0, s0)), Some((i1, s1))) = (at.first(), at.last())
        && let (Some(r0), Some(r1)) = (s0.requests, s1.requests)
        && r1 > r0
    {
        let dr = (r1 - r0) as f64;
        if let Some(g) = leaks.first()
            && let (Some(a), Some(b)) = (g.per_snapshot.get(*i0), g.per_snapshot.get(*i1))
        {
            units = Some(((*b as f64 - *a as f64) / dr, g.unit.clone()));
        }
        if let (Some(a), Some(b)) = (s0.total_bytes, s1.total_bytes) {
            totals = Some((b as f64 - a as f64) / dr);
        }
    }
    Some(PerRequest {
        bytes,
        low,
        high,
        method,
        requests: (first_req, last_req),
        units_per_request: units,
        snapshot_bytes_per_request: totals,
    })
}

fn limit(ev: &Evidence) -> Option<Limit> {
    if let Some(b) = ev.memory_limit_bytes {
        return Some(Limit {
            bytes: b as f64,
            source: "--memory-limit".into(),
        });
    }
    let g = ev.gc.as_ref()?;
    let l = g.view.heap_limit_mb.filter(|x| x.is_finite() && *x > 0.0)?;
    Some(Limit {
        bytes: l * MIB,
        source: match &g.view.heap_limit_source {
            Some(s) if !s.is_empty() => format!("the heap limit in the GC log ({s})"),
            _ => "the heap limit in the GC log".into(),
        },
    })
}

fn incidents(ev: &Evidence) -> Vec<IncidentFact> {
    let mut out = Vec::new();
    // The crash a GC log ends in may be one an application log shows too (the GC trace is
    // on the process's own output): the same live heap after the last GC is the same crash,
    // counted once, from the application log.
    let same_crash = |g: &super::evidence::GcEvidence| {
        let Some(h) = &g.view.oom_heap else {
            return false;
        };
        ev.incidents.iter().any(|i| {
            i.kind == IncidentKind::HeapOom
                && i.heap_used_bytes
                    .is_some_and(|b| (b as f64 - h.heap_after_mb * MIB).abs() < 0.06 * MIB)
        })
    };
    if let Some(g) = &ev.gc
        && g.view.oom_count() > 0
        && !same_crash(g)
    {
        let last_ms = g.view.oom_heap.as_ref().map(|h| h.t_ms).or_else(|| {
            g.view
                .series
                .iter()
                .map(|p| p.0)
                .filter(|t| t.is_finite())
                .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.max(t))))
        });
        let message = g
            .view
            .oom_message
            .clone()
            .unwrap_or_else(|| "JavaScript heap out of memory".into());
        let heap = g
            .view
            .oom_heap
            .as_ref()
            .filter(|h| h.heap_after_mb.is_finite())
            .map(|h| {
                format!(
                    ", heap {} after the last GC",
                    super::words::bytes(h.heap_after_mb * MIB)
                )
            })
            .unwrap_or_default();
        out.push(IncidentFact {
            kind: IncidentKind::HeapOom,
            count: g.view.oom_count(),
            unix: None,
            uptime_s: last_ms.map(|ms| ms / 1000.0),
            time_text: last_ms.map(|ms| {
                format!(
                    "+{} of process uptime{heap}",
                    super::words::duration(ms.max(0.0) / 1000.0)
                )
            }),
            source: g.file.clone(),
            message,
        });
    }
    for i in &ev.incidents {
        out.push(IncidentFact {
            kind: i.kind,
            count: i.count.max(1),
            unix: i.unix_s.filter(|t| t.is_finite()),
            uptime_s: None,
            time_text: i.time_text.clone(),
            source: i.source.clone(),
            message: i.message.clone(),
        });
    }
    out
}

fn projection(f: &Facts) -> OomProjection {
    let mut p = OomProjection {
        seconds: None,
        earliest_seconds: None,
        latest_seconds: None,
        from_bytes: None,
        requests: None,
        reason: String::new(),
    };
    if f.oom_seen() {
        p.reason =
            "not projected: the memory already ran out in this evidence (see OOM incidents)".into();
        return p;
    }
    let Some(h) = &f.headline else {
        p.reason = "cannot be projected: no growth trend in the evidence".into();
        return p;
    };
    let Some(src) = f.sources.get(h.source) else {
        p.reason = "cannot be projected: no growth trend in the evidence".into();
        return p;
    };
    if h.verdict != Verdict::Leak {
        p.reason = format!(
            "cannot be projected: the headline trend ({}) is judged `{}`, not `leak`",
            src.label,
            h.verdict.as_str()
        );
        return p;
    }
    if h.rate.per_hour <= 0.0 {
        p.reason = "cannot be projected: memory is not growing".into();
        return p;
    }
    let Some(limit) = &f.limit else {
        p.reason = "cannot be projected: no memory limit known (give --memory-limit, or a GC log that shows the heap limit)".into();
        return p;
    };
    let Some(level) = src.level_end else {
        p.reason = format!("cannot be projected: {} gives no current level", src.label);
        return p;
    };
    p.from_bytes = Some(level);
    let room = limit.bytes - level;
    if room <= 0.0 {
        p.seconds = Some(0.0);
        p.reason = format!(
            "already reached: {} is at {}, the limit is {} ({})",
            src.label,
            words::bytes(level),
            words::bytes(limit.bytes),
            limit.source
        );
        return p;
    }
    let per_s = h.rate.per_hour / 3600.0;
    let horizon = room / per_s;
    let allowed = MAX_PROJECTION_FACTOR * h.span_s;
    if !(horizon.is_finite() && horizon <= allowed) {
        p.reason = format!(
            "cannot be projected: at {} the limit of {} is {} away, more than {}x the {} the trend was fitted on",
            words::rate(h.rate.per_hour),
            words::bytes(limit.bytes),
            words::duration(horizon),
            MAX_PROJECTION_FACTOR,
            words::duration(h.span_s)
        );
        return p;
    }
    p.seconds = Some(horizon);
    p.earliest_seconds = h
        .rate
        .high
        .filter(|r| *r > 0.0)
        .map(|r| room / (r / 3600.0));
    p.latest_seconds = h.rate.low.filter(|r| *r > 0.0).map(|r| room / (r / 3600.0));
    p.requests = f
        .per_request
        .as_ref()
        .filter(|r| r.bytes > 0.0)
        .map(|r| room / r.bytes);
    p.reason = format!(
        "from {} ({} at the end of its window) to the {} limit ({}) at {}",
        words::bytes(level),
        src.label,
        words::bytes(limit.bytes),
        limit.source,
        words::rate(h.rate.per_hour)
    );
    p
}

fn severity(f: &Facts) -> SeverityFact {
    let (auto, auto_reason) = if f.oom_seen() {
        let n = f.oom_count();
        let where_: Vec<String> = f
            .incidents
            .iter()
            .filter(|i| i.kind.is_oom())
            .map(|i| i.source.clone())
            .collect();
        (
            Severity::Critical,
            format!(
                "auto: the memory ran out {} ({})",
                if n == 1 {
                    "once".to_string()
                } else {
                    format!("{n} times")
                },
                where_.join(", ")
            ),
        )
    } else if let Some(s) = f.projection.seconds.filter(|s| *s < 24.0 * 3600.0) {
        (
            Severity::Critical,
            format!(
                "auto: the memory limit is projected to be reached in {}",
                words::duration(s)
            ),
        )
    } else if let Some(s) = f.projection.seconds.filter(|s| *s < 7.0 * 24.0 * 3600.0) {
        (
            Severity::High,
            format!(
                "auto: the memory limit is projected to be reached in {}",
                words::duration(s)
            ),
        )
    } else if f.status.verdict == Verdict::Leak {
        match f.headline.as_ref().filter(|h| h.verdict == Verdict::Leak) {
            Some(h) if h.rate.per_hour >= 50.0 * MIB => (
                Severity::High,
                format!(
                    "auto: a leak growing {}{}",
                    words::rate(h.rate.per_hour),
                    f.headline_source()
                        .filter(|s| s.too_short_for_rate)
                        .map(|s| format!(
                            " (over {}: too short a window for an hourly figure)",
                            words::duration(s.span_s)
                        ))
                        .unwrap_or_default()
                ),
            ),
            Some(h) => (
                Severity::Medium,
                format!(
                    "auto: a leak growing {}; {}",
                    words::rate(h.rate.per_hour),
                    f.projection.reason
                ),
            ),
            None => (
                Severity::Medium,
                format!(
                    "auto: a leak ({}); its growth rate is not measured",
                    f.status.reason
                ),
            ),
        }
    } else if f.status.verdict == Verdict::Inconclusive {
        (
            Severity::Low,
            format!("auto: no leak can be concluded ({})", f.status.reason),
        )
    } else {
        (
            Severity::Low,
            "auto: the evidence shows bounded memory, no leak".to_string(),
        )
    };
    match f.ev.severity {
        SeverityChoice::Auto => SeverityFact {
            level: auto,
            reason: auto_reason.clone(),
            auto,
            auto_reason,
            set_by_investigator: false,
        },
        c => {
            let level = match c {
                SeverityChoice::Critical => Severity::Critical,
                SeverityChoice::High => Severity::High,
                SeverityChoice::Medium => Severity::Medium,
                _ => Severity::Low,
            };
            SeverityFact {
                level,
                reason: format!(
                    "set by the investigator (--severity); memsleuth's own estimate: {} ({})",
                    auto.name(),
                    auto_reason
                ),
                auto,
                auto_reason,
                set_by_investigator: true,
            }
        }
    }
}

fn latest_unix(f: &Facts) -> Option<f64> {
    let mut t: Vec<f64> = Vec::new();
    for s in &f.sources {
        if let Some((_, b)) = s.window
            && let Some(u) = f.clocks.to_unix(s.clock, b)
        {
            t.push(u);
        }
    }
    t.extend(f.snapshots.iter().filter_map(|s| s.unix));
    t.extend(
        f.snapshots
            .iter()
            .filter(|s| s.unix.is_none())
            .filter_map(|s| s.name_time.map(|x| x as f64)),
    );
    t.extend(f.incidents.iter().filter_map(|i| i.unix));
    t.into_iter()
        .filter(|x| x.is_finite())
        .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))
}
