//! Prometheus memory series: a live server over its HTTP API (`/api/v1/query_range`), or a
//! saved `query_range` JSON response. Each memory series gets a growth rate (Theil-Sen on its
//! post-GC floor, with Sen's 95 % interval) and a verdict (see `trend`).
//!
//! GC-aware: when prom-client's `nodejs_gc_duration_seconds_count{kind="major"}` is there for
//! the same target, the floor is the series capped by its value right after the next major GC
//! (on the old generation, from `nodejs_heap_space_size_used_bytes`, when the heap spaces are
//! there), so heap that ramps up between major GCs and is collected by the next one is not
//! growth, and fewer than two major GCs in the window confirm nothing (never `leak`). Without
//! the counter (other runtimes) the floor is the lower envelope of the samples.
//!
//! Only memory series are analysed as memory (known memory metrics, `*_bytes`, byte-valued
//! expressions); anything else (GC pause quantiles, counters) is listed in `other_series`.
//! kube-state-metrics restarts and `OOMKilled` terminations become `incidents`.
//!
//! Without a query, the known memory metrics present on the server are listed
//! (`/api/v1/label/__name__/values`) and the first of [`MEMORY_METRICS`] found is used. When
//! prom-client's `nodejs_gc_duration_seconds` histogram is present, the GC pause p95 of each
//! job/instance over the window comes from `histogram_quantile` of its buckets. Every PromQL
//! expression run is recorded in `queries`, so a report can show how to detect the leak.

use crate::error::InputError;
use crate::series::applog::Incident;
use crate::series::trend::{self, Point, Trend, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Memory metrics memsleuth knows, most specific first: prom-client's V8 heap, Go's heap,
/// then resident memory (prom-client, Python prometheus_client, Go, any process collector).
pub const MEMORY_METRICS: [&str; 4] = [
    "nodejs_heap_size_used_bytes",
    "go_memstats_heap_inuse_bytes",
    "process_resident_memory_bytes",
    "process_heap_bytes",
];

/// prom-client's GC pause histogram.
pub const GC_HISTOGRAM: &str = "nodejs_gc_duration_seconds_bucket";

/// Prometheus refuses ranges of more points than this per series.
pub const MAX_POINTS: f64 = 11_000.0;

/// One series of the answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeriesReport {
    /// All labels, `__name__` included when Prometheus kept it.
    pub labels: BTreeMap<String, String>,
    /// Number of finite samples.
    pub samples: usize,
    /// Trend of the post-GC floor, bytes per hour (or the query's unit per hour), with the
    /// 95 % interval of the Theil-Sen slope.
    pub growth_bytes_per_hour: f64,
    #[serde(default)]
    pub growth_low_bytes_per_hour: f64,
    #[serde(default)]
    pub growth_high_bytes_per_hour: f64,
    /// Length of the fitted window, seconds (`trend.t_start`..`trend.t_end`, Unix seconds).
    #[serde(default)]
    pub span_seconds: f64,
    /// The fitted window is too short for an hourly rate (see `trend::Trend`).
    #[serde(default)]
    pub too_short_for_rate: bool,
    /// How the growth was obtained (which points, which estimator).
    #[serde(default)]
    pub method: String,
    /// `leak` | `no-leak` | `inconclusive`, with the same meaning everywhere (see `trend`).
    pub verdict: Verdict,
    pub reason: String,
    /// First and last finite value.
    pub first_value: Option<f64>,
    pub last_value: Option<f64>,
    /// GC pause p95 over the window, ms, from `nodejs_gc_duration_seconds` (same job and
    /// instance), when present.
    pub gc_pause_p95_ms: Option<f64>,
    /// `[unix_seconds, value]` pairs as Prometheus returned them (non-finite values dropped).
    pub values: Vec<[f64; 2]>,
    /// What the trend was fitted on: the series itself, or its target's old generation.
    #[serde(default)]
    pub analysed: String,
    /// The points the trend was fitted on, `[unix_seconds, bytes]`.
    #[serde(default)]
    pub floor: Vec<[f64; 2]>,
    /// `after-major-gc` (capped by the value after the next major GC) or `lower-envelope`.
    #[serde(default)]
    pub floor_source: String,
    /// Major GCs in the window (prom-client's counter), when the exporter has it.
    #[serde(default)]
    pub major_gcs: Option<u64>,
    /// The trend in full (fitted window `t_start`..`t_end` in Unix seconds); absent in
    /// answers written before it existed.
    #[serde(default)]
    pub trend: Option<Trend>,
}

/// A series of the answer that is not memory (GC pauses, counters, ratios): listed, never
/// analysed for growth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OtherSeries {
    pub labels: BTreeMap<String, String>,
    /// `gc-pause` or `not-memory`.
    pub kind: String,
    pub samples: usize,
    pub last_value: Option<f64>,
    pub max_value: Option<f64>,
    pub note: String,
}

/// The JSON of `memsleuth metrics --format json`.
///
/// ```text
/// {
///   "source": "http://127.0.0.1:9090" | "saved.json",
///   "metric": "nodejs_heap_size_used_bytes" | null,   // auto-detected (or the file's __name__)
///   "detected_metrics": ["nodejs_heap_size_used_bytes", "process_resident_memory_bytes"],
///   "query": "nodejs_heap_size_used_bytes",           // the PromQL of the series below
///   "queries": ["nodejs_heap_size_used_bytes", "histogram_quantile(0.95, ...)"],  // all run
///   "start": 1795536048.0, "end": 1795536148.0, "step_s": 1.0,   // null for a saved file
///   "series": [ {"labels": {...}, "samples": 61,
///                "growth_bytes_per_hour": 3.7e9,          // Theil-Sen slope of the floor
///                "growth_low_bytes_per_hour": 3.4e9,      // its 95 % interval
///                "growth_high_bytes_per_hour": 4.0e9,
///                "span_seconds": 60.0,                    // the fitted window
///                "too_short_for_rate": true,              // span under 6 min
///                "method": "Theil-Sen on ...",
///                "verdict": "leak", "reason": "...", "first_value": ..., "last_value": ...,
///                "gc_pause_p95_ms": 9.5 | null, "values": [[t, v], ...],
///                "analysed": "old generation (...)",      // what the trend was fitted on
///                "floor": [[t, v], ...], "floor_source": "after-major-gc" | "lower-envelope",
///                "major_gcs": 7 | null,                   // prom-client's counter, when there
///                "trend": { ... } } ],                    // see trend::Trend
///   "gc_pause_p95_ms": 9.5 | null,      // the largest p95 of all series
///   "verdict": "leak",                  // leak if any series leaks, else inconclusive if any is
///   "notes": ["step raised to 2 s to stay under 11,000 points"],
///   "other_series": [{"labels": {...}, "kind": "gc-pause" | "not-memory", "samples": 30,
///                     "last_value": 0.05, "max_value": 0.07, "note": "..."}],
///   "incidents": [ {see applog::Incident; "source": "kube-state-metrics"} ]
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricsReport {
    pub source: String,
    pub metric: Option<String>,
    pub detected_metrics: Vec<String>,
    pub query: String,
    pub queries: Vec<String>,
    pub start: Option<f64>,
    pub end: Option<f64>,
    pub step_s: Option<f64>,
    pub series: Vec<SeriesReport>,
    pub gc_pause_p95_ms: Option<f64>,
    pub verdict: Verdict,
    pub notes: Vec<String>,
    /// Series that are not memory (see [`OtherSeries`]).
    #[serde(default)]
    pub other_series: Vec<OtherSeries>,
    /// Restarts and OOM kills from kube-state-metrics, in time order (see
    /// `applog::Incident`; `source` is `kube-state-metrics`).
    #[serde(default)]
    pub incidents: Vec<Incident>,
}

/// What can go wrong talking to Prometheus.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("cannot reach Prometheus at {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("Prometheus at {url} did not answer within {secs} s")]
    Timeout { url: String, secs: f64 },
    #[error("Prometheus at {url} rejected the query ({error_type}): {message}")]
    Prometheus {
        url: String,
        error_type: String,
        message: String,
    },
    #[error("Prometheus at {url}: unexpected answer{status}: {message}")]
    BadResponse {
        url: String,
        status: String,
        message: String,
    },
    #[error(
        "Prometheus at {url} has none of the known memory metrics ({tried}) between start and end; give --query"
    )]
    NoMetric { url: String, tried: String },
    #[error(transparent)]
    Input(#[from] InputError),
}

/// One raw series of a `query_range` answer.
#[derive(Clone, Debug, PartialEq)]
pub struct RawSeries {
    pub labels: BTreeMap<String, String>,
    pub points: Vec<Point>,
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<serde_json::Value>,
    #[serde(rename = "errorType", default)]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

#[derive(Deserialize)]
struct MatrixItem {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(f64, String)>,
    #[serde(default)]
    value: Option<(f64, String)>,
}

/// A parsed API answer: the series (matrix or vector) and the warnings.
struct Answer {
    series: Vec<RawSeries>,
    warnings: Vec<String>,
}

/// Parses a Prometheus API answer (`query_range` matrix or `query` vector). An error answer
/// becomes `Err((errorType, error))`; malformed JSON an `InputError`.
fn parse_answer(name: &str, text: &str) -> Result<Result<Answer, (String, String)>, InputError> {
    let env: Envelope = serde_json::from_str(text).map_err(|e| {
        InputError::at_line(
            name,
            e.line() as u64,
            format!("not a Prometheus API JSON answer: {e}"),
        )
    })?;
    if env.status != "success" {
        return Ok(Err((
            env.error_type.unwrap_or_else(|| "error".into()),
            env.error
                .unwrap_or_else(|| format!("status {}", env.status)),
        )));
    }
    let data: Data = env
        .data
        .ok_or_else(|| InputError::whole(name, "Prometheus answer has no `data`"))
        .and_then(|d| {
            serde_json::from_value(d)
                .map_err(|e| InputError::whole(name, format!("Prometheus `data`: {e}")))
        })?;
    if data.result_type != "matrix" && data.result_type != "vector" {
        return Err(InputError::whole(
            name,
            format!(
                "Prometheus answer is a {}, not a range of series (matrix)",
                data.result_type
            ),
        ));
    }
    let items: Vec<MatrixItem> = serde_json::from_value(data.result)
        .map_err(|e| InputError::whole(name, format!("Prometheus `result`: {e}")))?;
    let series = items
        .into_iter()
        .map(|it| {
            let mut points: Vec<Point> = it
                .values
                .iter()
                .chain(it.value.iter())
                .filter_map(|(t, v)| {
                    let v: f64 = v.parse().ok()?;
                    (v.is_finite() && t.is_finite()).then_some(Point { t: *t, v })
                })
                .collect();
            points.sort_by(|a, b| a.t.total_cmp(&b.t));
            RawSeries {
                labels: it.metric,
                points,
            }
        })
        .collect();
    Ok(Ok(Answer {
        series,
        warnings: env.warnings,
    }))
}

/// prom-client's GC counter (label `kind`: `major`, `minor`, `incremental`, `weakcb`).
pub const GC_COUNT: &str = "nodejs_gc_duration_seconds_count";
/// prom-client's V8 heap space sizes (label `space`).
pub const HEAP_SPACE_USED: &str = "nodejs_heap_space_size_used_bytes";
/// kube-state-metrics: container restarts (counter) and the last termination reason.
pub const KUBE_RESTARTS: &str = "kube_pod_container_status_restarts_total";
pub const KUBE_LAST_TERMINATED: &str = "kube_pod_container_status_last_terminated_reason";

/// V8 spaces of the young generation; every other space is collected only by a major GC.
const YOUNG_SPACES: [&str; 2] = ["new", "new_large_object"];

/// The series of one or more answers, sorted by what they are.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// Memory in bytes: analysed for growth.
    pub memory: Vec<RawSeries>,
    /// `nodejs_heap_space_size_used_bytes`, one series per space.
    pub heap_spaces: Vec<RawSeries>,
    /// `nodejs_gc_duration_seconds_count{kind="major"}`.
    pub major_gc: Vec<RawSeries>,
    /// kube-state-metrics restarts and last-terminated-reason series.
    pub restarts: Vec<RawSeries>,
    pub terminated: Vec<RawSeries>,
    /// Anything else: reported, never analysed as memory.
    pub other: Vec<RawSeries>,
}

/// Values that look like byte counts: non-negative, mostly whole numbers, median at least
/// 4 KiB (a pause in seconds or a ratio is none of these).
fn looks_like_bytes(points: &[Point]) -> bool {
    if points.is_empty() {
        return false;
    }
    let whole = points.iter().filter(|p| p.v.fract() == 0.0).count();
    let mut v: Vec<f64> = points.iter().map(|p| p.v).collect();
    v.sort_by(|a, b| a.total_cmp(b));
    v[0] >= 0.0 && whole * 10 >= points.len() * 9 && v[v.len() / 2] >= 4096.0
}

impl Inputs {
    /// Sorts series by their `__name__` (memory: the known memory metrics, `*_bytes`, and
    /// byte-valued `*mem*`/`*heap*`/`*rss*`) and, for expressions without a name, by whether
    /// the values are byte counts.
    pub fn add(&mut self, raw: Vec<RawSeries>) {
        for s in raw {
            let name = s.labels.get("__name__").map(String::as_str);
            match name {
                Some(GC_COUNT) => {
                    if s.labels.get("kind").map(String::as_str) == Some("major") {
                        self.major_gc.push(s)
                    } else {
                        self.other.push(s)
                    }
                }
                Some(HEAP_SPACE_USED) => self.heap_spaces.push(s),
                Some(KUBE_RESTARTS) => self.restarts.push(s),
                Some(KUBE_LAST_TERMINATED) => self.terminated.push(s),
                Some(n)
                    if MEMORY_METRICS.contains(&n)
                        || (n.ends_with("_bytes") && !n.contains("_seconds")) =>
                {
                    self.memory.push(s)
                }
                Some(n)
                    if looks_like_bytes(&s.points)
                        && ["mem", "heap", "rss"].iter().any(|w| n.contains(w)) =>
                {
                    self.memory.push(s)
                }
                Some(_) => self.other.push(s),
                None if looks_like_bytes(&s.points) => self.memory.push(s),
                None => self.other.push(s),
            }
        }
    }
}

/// The labels that name a target: all but `__name__` and the per-metric `space`, `kind`.
fn target_key(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    labels
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "__name__" | "space" | "kind"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The candidate (of several per target) matching `labels`: same target labels, else the
/// same job and instance, else the only one when there is one target of each.
fn matching<'a, T>(
    labels: &BTreeMap<String, String>,
    candidates: &'a [(BTreeMap<String, String>, T)],
    targets: usize,
) -> Option<&'a T> {
    let key = target_key(labels);
    if let Some((_, t)) = candidates.iter().find(|(k, _)| *k == key) {
        return Some(t);
    }
    let ji = |l: &BTreeMap<String, String>| (l.get("job").cloned(), l.get("instance").cloned());
    let mine = ji(labels);
    if mine.0.is_some() && mine.1.is_some() {
        let hits: Vec<&T> = candidates
            .iter()
            .filter(|(k, _)| ji(k) == mine)
            .map(|(_, t)| t)
            .collect();
        if hits.len() == 1 {
            return hits.first().copied();
        }
    }
    (candidates.len() == 1 && targets == 1).then(|| &candidates[0].1)
}

fn time_key(t: f64) -> i64 {
    (t * 1000.0).round() as i64
}

/// Old generation per target: the sum of every space but the young ones at each time.
fn old_generation(spaces: &[RawSeries]) -> Vec<(BTreeMap<String, String>, Vec<Point>)> {
    let mut groups: BTreeMap<BTreeMap<String, String>, BTreeMap<i64, (f64, f64)>> = BTreeMap::new();
    for s in spaces {
        let space = s.labels.get("space").map(String::as_str).unwrap_or("");
        if YOUNG_SPACES.contains(&space) {
            continue;
        }
        let g = groups.entry(target_key(&s.labels)).or_default();
        for p in &s.points {
            let e = g.entry(time_key(p.t)).or_insert((p.t, 0.0));
            e.1 += p.v;
        }
    }
    groups
        .into_iter()
        .map(|(k, m)| (k, m.into_values().map(|(t, v)| Point { t, v }).collect()))
        .collect()
}

fn trend_options(method: String) -> trend::Options {
    trend::Options {
        unit: "bytes",
        min_span_s: 30.0,
        min_growth_per_hour: 1048576.0,
        method,
        ..trend::Options::default()
    }
}

const ESTIMATOR: &str = "Theil-Sen slope (Sen 95% interval, Mann-Kendall test)";

/// Growth and verdict of one memory series. With prom-client's major-GC counter for the same
/// target, the floor is the series capped by its value right after the next major GC
/// ([`trend::confirmed_floor`]), on the old generation when the heap spaces are there; a
/// ramp between major GCs is then not growth, and without two major GCs nothing is a leak.
/// Without GC counts (other runtimes), the lower envelope of the samples.
fn analyze_one(
    s: RawSeries,
    old_gen: Option<&Vec<Point>>,
    major: Option<&Vec<Point>>,
) -> SeriesReport {
    let name = s
        .labels
        .get("__name__")
        .cloned()
        .unwrap_or_else(|| "the query".to_string());
    let heap_metric = name == "nodejs_heap_size_used_bytes";
    let (basis, analysed) = match old_gen {
        Some(o) if heap_metric && o.len() * 2 >= s.points.len() && !o.is_empty() => (
            o.clone(),
            format!(
                "old generation ({HEAP_SPACE_USED} of every space but new and new_large_object)"
            ),
        ),
        _ => (s.points.clone(), name.clone()),
    };
    let mut major_gcs = None;
    let (floor, floor_source, method, cap) = match major {
        Some(counts) => {
            let by_t: BTreeMap<i64, f64> = counts.iter().map(|p| (time_key(p.t), p.v)).collect();
            let mut full = vec![false; basis.len()];
            let mut n = 0u64;
            for i in 1..basis.len() {
                if let (Some(a), Some(b)) = (
                    by_t.get(&time_key(basis[i - 1].t)),
                    by_t.get(&time_key(basis[i].t)),
                ) && b > a
                {
                    full[i] = true;
                    n += (b - a).round().max(1.0) as u64;
                }
            }
            major_gcs = Some(n);
            let marked: Vec<Point> = basis
                .iter()
                .zip(&full)
                .filter(|(_, f)| **f)
                .map(|(p, _)| *p)
                .collect();
            if marked.len() >= 2 {
                let c = trend::confirmed_floor(&basis, &full);
                let b = trend::envelope_buckets(c.len());
                (
                    trend::lower_envelope(&c, b),
                    "after-major-gc",
                    format!(
                        "{ESTIMATOR} of {analysed} capped by its value right after the next major GC ({GC_COUNT}{{kind=\"major\"}}; lower envelope, {b} buckets)"
                    ),
                    marked
                        .first()
                        .zip(marked.last())
                        .map(|(a, z)| (a.v, z.v, marked.len())),
                )
            } else {
                let b = trend::envelope_buckets(basis.len());
                (
                    trend::lower_envelope(&basis, b),
                    "lower-envelope",
                    format!(
                        "{ESTIMATOR} of the lower envelope of {analysed} ({b} buckets); {} major GC(s) in the window confirm nothing",
                        marked.len()
                    ),
                    Some((0.0, 0.0, marked.len())),
                )
            }
        }
        None => {
            let b = trend::envelope_buckets(basis.len());
            (
                trend::lower_envelope(&basis, b),
                "lower-envelope",
                format!("{ESTIMATOR} of the lower envelope of {analysed} ({b} buckets)"),
                None,
            )
        }
    };
    let opts = trend_options(method);
    let mut tr = trend::analyze(&floor, &opts);
    match cap {
        Some((_, _, k)) if k < 2 => tr.cap_at_inconclusive(&format!(
            "only {k} major GC(s) in the window: a rise between major GCs may be garbage the next one collects"
        )),
        Some((a, z, _)) if z - a < opts.min_relative_growth * tr.level => {
            tr.cap_at_inconclusive(&format!(
                "the value right after major GCs did not grow ({} -> {})",
                crate::units::bytes(a),
                crate::units::bytes(z)
            ))
        }
        _ => {}
    }
    if let Some((_, _, k)) = cap
        && (2..trend::MIN_FULL_GCS_TO_BOUND).contains(&k)
        && floor_source == "after-major-gc"
    {
        tr.cap_no_leak(&format!(
            "{k} major GCs are too few independent measurements to bound growth"
        ));
    }
    SeriesReport {
        labels: s.labels,
        samples: s.points.len(),
        growth_bytes_per_hour: tr.growth_per_hour.round(),
        growth_low_bytes_per_hour: tr.growth_low_per_hour.round(),
        growth_high_bytes_per_hour: tr.growth_high_per_hour.round(),
        span_seconds: tr.span_s,
        too_short_for_rate: tr.too_short_for_rate,
        method: tr.method.clone(),
        verdict: tr.verdict,
        reason: tr.reason.clone(),
        first_value: s.points.first().map(|p| p.v),
        last_value: s.points.last().map(|p| p.v),
        gc_pause_p95_ms: None,
        values: s.points.iter().map(|p| [p.t, p.v]).collect(),
        analysed,
        floor: floor.iter().map(|p| [p.t, p.v]).collect(),
        floor_source: floor_source.to_string(),
        major_gcs,
        trend: Some(tr),
    }
}

/// Growth and verdict of each memory series of `inputs`, GC-aware where prom-client's
/// counters are there.
pub fn analyze_inputs(inputs: &Inputs) -> Vec<SeriesReport> {
    let old: Vec<(BTreeMap<String, String>, Vec<Point>)> = old_generation(&inputs.heap_spaces);
    let major: Vec<(BTreeMap<String, String>, Vec<Point>)> = inputs
        .major_gc
        .iter()
        .map(|s| (target_key(&s.labels), s.points.clone()))
        .collect();
    let targets = inputs.memory.len();
    inputs
        .memory
        .iter()
        .map(|s| {
            let o = matching(&s.labels, &old, targets);
            let m = matching(&s.labels, &major, targets);
            analyze_one(s.clone(), o, m)
        })
        .collect()
}

/// Growth and verdict of each series, on the lower envelope of its samples (no GC counts).
pub fn analyze_series(raw: Vec<RawSeries>) -> Vec<SeriesReport> {
    analyze_inputs(&Inputs {
        memory: raw,
        ..Inputs::default()
    })
}

/// Series that are not memory, as reported (never analysed for growth).
fn other_series(inputs: &Inputs) -> Vec<OtherSeries> {
    inputs
        .other
        .iter()
        .map(|s| {
            let name = s.labels.get("__name__").map(String::as_str).unwrap_or("");
            let kind = if name.starts_with("nodejs_gc_duration_seconds") {
                "gc-pause"
            } else {
                "not-memory"
            };
            OtherSeries {
                labels: s.labels.clone(),
                kind: kind.to_string(),
                samples: s.points.len(),
                last_value: s.points.last().map(|p| p.v),
                max_value: s.points.iter().map(|p| p.v).reduce(f64::max),
                note: if kind == "gc-pause" {
                    "GC pauses (seconds), not memory".to_string()
                } else {
                    "not a memory series (no byte counts): not analysed for growth".to_string()
                },
            }
        })
        .collect()
}

/// kube-state-metrics incidents: each increase of a container's restart counter (an OOM
/// kill when its last terminated reason is `OOMKilled` then), and an `OOMKilled` reason seen
/// without a restart in the window.
pub fn kube_incidents(inputs: &Inputs) -> Vec<Incident> {
    use crate::series::applog::IncidentKind;
    let container = |l: &BTreeMap<String, String>| -> BTreeMap<String, String> {
        l.iter()
            .filter(|(k, _)| matches!(k.as_str(), "namespace" | "pod" | "container" | "uid"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let oom: Vec<(BTreeMap<String, String>, &Vec<Point>)> = inputs
        .terminated
        .iter()
        .filter(|s| s.labels.get("reason").map(String::as_str) == Some("OOMKilled"))
        .map(|s| (container(&s.labels), &s.points))
        .collect();
    let oom_at = |c: &BTreeMap<String, String>, t: f64| -> bool {
        oom.iter().any(|(k, pts)| {
            k == c
                && pts
                    .iter()
                    .any(|p| p.v >= 1.0 && p.t >= t - 0.5 && p.t <= t + 120.0)
        })
    };
    let mut out = Vec::new();
    let mut explained: Vec<BTreeMap<String, String>> = Vec::new();
    let who = |c: &BTreeMap<String, String>| {
        format!(
            "container {} of pod {}/{}",
            c.get("container").map_or("?", String::as_str),
            c.get("namespace").map_or("?", String::as_str),
            c.get("pod").map_or("?", String::as_str)
        )
    };
    for s in &inputs.restarts {
        let c = container(&s.labels);
        for w in s.points.windows(2) {
            let d = w[1].v - w[0].v;
            if d <= 0.0 {
                continue;
            }
            let killed = oom_at(&c, w[1].t);
            let kind = if killed {
                IncidentKind::OomKill
            } else {
                IncidentKind::Restart
            };
            if killed {
                explained.push(c.clone());
            }
            out.push(Incident {
                kind,
                source: "kube-state-metrics".into(),
                line: None,
                time: None,
                unix_s: Some(w[1].t),
                process: c.get("container").cloned(),
                pid: None,
                heap_used_bytes: None,
                heap_limit_bytes: None,
                rss_bytes: None,
                anon_rss_bytes: None,
                total_vm_bytes: None,
                count: d.round().max(1.0) as u64,
                labels: c.clone(),
                location: None,
                message: format!(
                    "{} restarted {} time(s){}",
                    who(&c),
                    d.round().max(1.0),
                    if killed {
                        " (last terminated reason OOMKilled)"
                    } else {
                        ""
                    }
                ),
            });
        }
    }
    for (c, pts) in &oom {
        if explained.contains(c) {
            continue;
        }
        if let Some(p) = pts.iter().find(|p| p.v >= 1.0) {
            out.push(Incident {
                kind: IncidentKind::OomKill,
                source: "kube-state-metrics".into(),
                line: None,
                time: None,
                unix_s: Some(p.t),
                process: c.get("container").cloned(),
                pid: None,
                heap_used_bytes: None,
                heap_limit_bytes: None,
                rss_bytes: None,
                anon_rss_bytes: None,
                total_vm_bytes: None,
                count: 1,
                labels: c.clone(),
                location: None,
                message: format!(
                    "{} was last terminated OOMKilled (before or early in the window; first seen here)",
                    who(c)
                ),
            });
        }
    }
    out.sort_by(|a, b| {
        a.unix_s
            .unwrap_or(0.0)
            .total_cmp(&b.unix_s.unwrap_or(0.0))
            .then_with(|| a.labels.cmp(&b.labels))
    });
    out
}

fn overall(series: &[SeriesReport]) -> Verdict {
    if series.iter().any(|s| s.verdict == Verdict::Leak) {
        Verdict::Leak
    } else if series.is_empty() || series.iter().any(|s| s.verdict == Verdict::Inconclusive) {
        Verdict::Inconclusive
    } else {
        Verdict::NoLeak
    }
}

/// Analyses a saved `query_range` answer (`curl .../api/v1/query_range ... > saved.json`).
pub fn analyze_file(name: &str, text: &str) -> Result<MetricsReport, InputError> {
    if text.trim().is_empty() {
        return Err(InputError::whole(
            name,
            "empty: expected a Prometheus query_range JSON answer",
        ));
    }
    let ans = match parse_answer(name, text)? {
        Ok(a) => a,
        Err((t, m)) => {
            return Err(InputError::whole(
                name,
                format!("the saved answer is a Prometheus error ({t}): {m}"),
            ));
        }
    };
    let mut inputs = Inputs::default();
    inputs.add(ans.series);
    let names: std::collections::BTreeSet<&String> = inputs
        .memory
        .iter()
        .filter_map(|s| s.labels.get("__name__"))
        .collect();
    let metric = (names.len() == 1)
        .then(|| names.into_iter().next().cloned())
        .flatten();
    let mut notes = ans.warnings;
    if inputs.memory.is_empty() && !inputs.other.is_empty() {
        notes.push(format!(
            "none of the {} series is memory (byte counts): nothing analysed for growth",
            inputs.other.len()
        ));
    }
    let series = analyze_inputs(&inputs);
    Ok(MetricsReport {
        source: name.to_string(),
        metric: metric.clone(),
        detected_metrics: metric.iter().cloned().collect(),
        query: metric.clone().unwrap_or_default(),
        queries: Vec::new(),
        start: None,
        end: None,
        step_s: None,
        verdict: overall(&series),
        series,
        gc_pause_p95_ms: None,
        notes,
        other_series: other_series(&inputs),
        incidents: kube_incidents(&inputs),
    })
}

/// What to ask a live Prometheus.
#[derive(Clone, Debug)]
pub struct QueryOptions {
    /// Base URL, e.g. `http://127.0.0.1:9090`.
    pub url: String,
    /// PromQL; `None` finds a known memory metric.
    pub query: Option<String>,
    /// Unix seconds.
    pub start: f64,
    pub end: f64,
    /// Seconds; `None` picks one.
    pub step: Option<f64>,
    pub timeout: Duration,
}

struct Client {
    agent: ureq::Agent,
    base: String,
    timeout: Duration,
}

impl Client {
    fn get(&self, path: &str, params: &[(&str, String)]) -> Result<String, MetricsError> {
        let url = format!("{}{}", self.base, path);
        let mut req = self.agent.get(&url);
        for (k, v) in params {
            req = req.query(*k, v);
        }
        let mut resp = req.call().map_err(|e| self.map_err(e))?;
        let status = resp.status();
        let body = resp
            .body_mut()
            .with_config()
            .limit(512 << 20)
            .read_to_string()
            .map_err(|e| self.map_err(e))?;
        if !status.is_success() && !body.trim_start().starts_with('{') {
            return Err(MetricsError::BadResponse {
                url: self.base.clone(),
                status: format!(" (HTTP {})", status.as_u16()),
                message: body.chars().take(200).collect(),
            });
        }
        Ok(body)
    }

    fn map_err(&self, e: ureq::Error) -> MetricsError {
        match e {
            ureq::Error::Timeout(_) => MetricsError::Timeout {
                url: self.base.clone(),
                secs: self.timeout.as_secs_f64(),
            },
            ureq::Error::Io(ref io) if io.kind() == std::io::ErrorKind::TimedOut => {
                MetricsError::Timeout {
                    url: self.base.clone(),
                    secs: self.timeout.as_secs_f64(),
                }
            }
            ureq::Error::Io(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::HostNotFound
            | ureq::Error::BadUri(_) => MetricsError::Unreachable {
                url: self.base.clone(),
                message: e.to_string(),
            },
            other => MetricsError::BadResponse {
                url: self.base.clone(),
                status: String::new(),
                message: other.to_string(),
            },
        }
    }

    /// Runs an API call that answers with series; Prometheus' own errors become
    /// `MetricsError::Prometheus` with its message.
    fn series(&self, path: &str, params: &[(&str, String)]) -> Result<Answer, MetricsError> {
        let body = self.get(path, params)?;
        match parse_answer(&self.base, &body) {
            Ok(Ok(a)) => Ok(a),
            Ok(Err((error_type, message))) => Err(MetricsError::Prometheus {
                url: self.base.clone(),
                error_type,
                message,
            }),
            Err(e) => Err(MetricsError::BadResponse {
                url: self.base.clone(),
                status: String::new(),
                message: e.message,
            }),
        }
    }
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// Queries a live Prometheus: finds the memory metric (unless a query is given), fetches the
/// range, and the GC pause p95 when prom-client's histogram is there.
pub fn query_server(opts: &QueryOptions) -> Result<MetricsReport, MetricsError> {
    let base = opts.url.trim_end_matches('/').to_string();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(opts.timeout))
        .http_status_as_error(false)
        .build()
        .into();
    let client = Client {
        agent,
        base: base.clone(),
        timeout: opts.timeout,
    };
    let mut notes = Vec::new();
    let span = (opts.end - opts.start).max(0.0);
    let min_step = (span / MAX_POINTS).ceil().max(1.0);
    let step = match opts.step {
        Some(s) if s * MAX_POINTS >= span && s > 0.0 => s,
        Some(s) => {
            notes.push(format!(
                "step raised from {} s to {} s to stay under Prometheus' 11,000 points per series",
                fmt_num(s),
                fmt_num(min_step)
            ));
            min_step
        }
        None => (span / 1000.0).ceil().max(1.0),
    };
    let (start, end) = (fmt_num(opts.start), fmt_num(opts.end));

    // Metric names present in the window (also tells whether the GC histogram is there).
    let names_body = client.get(
        "/api/v1/label/__name__/values",
        &[("start", start.clone()), ("end", end.clone())],
    )?;
    let names: Vec<String> = serde_json::from_str::<serde_json::Value>(&names_body)
        .ok()
        .and_then(|v| v.get("data").cloned())
        .and_then(|d| serde_json::from_value(d).ok())
        .unwrap_or_default();
    let detected: Vec<String> = MEMORY_METRICS
        .iter()
        .filter(|m| names.iter().any(|n| n == *m))
        .map(|m| m.to_string())
        .collect();
    let range = |q: &str| {
        client.series(
            "/api/v1/query_range",
            &[
                ("query", q.to_string()),
                ("start", start.clone()),
                ("end", end.clone()),
                ("step", fmt_num(step)),
            ],
        )
    };
    let mut queries = Vec::new();
    let (query, metric, ans) = match &opts.query {
        Some(q) => {
            queries.push(q.clone());
            (q.clone(), None, range(q)?)
        }
        None => match detected.first() {
            Some(m) => {
                queries.push(m.clone());
                (m.clone(), Some(m.clone()), range(m)?)
            }
            None if names.is_empty() => {
                // The names API gave nothing (older server, or no data): try each metric.
                let mut found = None;
                for m in MEMORY_METRICS {
                    queries.push(m.to_string());
                    let a = range(m)?;
                    if !a.series.is_empty() {
                        found = Some((m.to_string(), Some(m.to_string()), a));
                        break;
                    }
                }
                found.ok_or_else(|| MetricsError::NoMetric {
                    url: base.clone(),
                    tried: MEMORY_METRICS.join(", "),
                })?
            }
            None => {
                return Err(MetricsError::NoMetric {
                    url: base,
                    tried: MEMORY_METRICS.join(", "),
                });
            }
        },
    };
    notes.extend(ans.warnings);
    let mut inputs = Inputs::default();
    inputs.add(ans.series);
    let has = |n: &str| names.iter().any(|x| x == n);
    // GC-aware floors: prom-client's major-GC counter and heap spaces of the same targets.
    let mut extra = Vec::new();
    if has(GC_COUNT) && !inputs.memory.is_empty() {
        extra.push(format!("{GC_COUNT}{{kind=\"major\"}}"));
    }
    if has(HEAP_SPACE_USED)
        && inputs.memory.iter().any(|s| {
            s.labels.get("__name__").map(String::as_str) == Some("nodejs_heap_size_used_bytes")
        })
    {
        extra.push(HEAP_SPACE_USED.to_string());
    }
    // Impact: kube-state-metrics restarts and OOM kills.
    if has(KUBE_RESTARTS) {
        extra.push(KUBE_RESTARTS.to_string());
    }
    if has(KUBE_LAST_TERMINATED) {
        extra.push(format!("{KUBE_LAST_TERMINATED}{{reason=\"OOMKilled\"}}"));
    }
    for q in extra {
        queries.push(q.clone());
        let a = range(&q)?;
        notes.extend(a.warnings);
        let mut more = Inputs::default();
        more.add(a.series);
        inputs.major_gc.extend(more.major_gc);
        inputs.heap_spaces.extend(more.heap_spaces);
        inputs.restarts.extend(more.restarts);
        inputs.terminated.extend(more.terminated);
    }
    if inputs.memory.is_empty() && !inputs.other.is_empty() {
        notes.push(format!(
            "none of the {} series of the query is memory (byte counts): nothing analysed for growth",
            inputs.other.len()
        ));
    }
    let mut series = analyze_inputs(&inputs);
    if series.is_empty() && inputs.other.is_empty() {
        notes.push(format!(
            "the query returned no series between {start} and {end}"
        ));
    }

    let mut gc_p95 = None;
    if names.iter().any(|n| n == GC_HISTOGRAM) {
        let window = span.max(2.0 * step).ceil();
        let q = format!(
            "histogram_quantile(0.95, sum by (job, instance, le) (increase({GC_HISTOGRAM}[{window:.0}s])))"
        );
        queries.push(q.clone());
        let gc = client.series("/api/v1/query", &[("query", q), ("time", end.clone())])?;
        for g in gc.series {
            let Some(v) = g.points.last().map(|p| p.v * 1000.0) else {
                continue;
            };
            let v = (v * 1000.0).round() / 1000.0;
            gc_p95 = Some(gc_p95.map_or(v, |m: f64| m.max(v)));
            for s in series.iter_mut().filter(|s| {
                s.labels.get("job") == g.labels.get("job")
                    && s.labels.get("instance") == g.labels.get("instance")
            }) {
                s.gc_pause_p95_ms = Some(v);
            }
        }
    }

    Ok(MetricsReport {
        source: base,
        metric,
        detected_metrics: detected,
        query,
        queries,
        start: Some(opts.start),
        end: Some(opts.end),
        step_s: Some(step),
        verdict: overall(&series),
        series,
        gc_pause_p95_ms: gc_p95,
        notes,
        other_series: other_series(&inputs),
        incidents: kube_incidents(&inputs),
    })
}

/// Parses a Prometheus duration (`90s`, `5m`, `1h30m`, `2d`, `1w`, `500ms`) or plain seconds.
pub fn parse_duration(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Ok(v) = s.parse::<f64>() {
        return (v.is_finite() && v >= 0.0).then_some(v);
    }
    let mut total = 0.0;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n_end = rest.find(|c: char| !c.is_ascii_digit() && c != '.')?;
        if n_end == 0 {
            return None;
        }
        let n: f64 = rest[..n_end].parse().ok()?;
        rest = &rest[n_end..];
        let u_end = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let mult = match &rest[..u_end] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            "w" => 604800.0,
            "y" => 31536000.0,
            _ => return None,
        };
        total += n * mult;
        rest = &rest[u_end..];
    }
    Some(total)
}

/// Parses unix seconds or an RFC 3339 time (`2026-11-24T17:00:00Z`, `...+01:00`).
pub fn parse_time(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Ok(v) = s.parse::<f64>() {
        return v.is_finite().then_some(v);
    }
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut frac = 0.0;
    if let Some(r) = rest.strip_prefix('.') {
        let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
        frac = format!("0.{}", &r[..end]).parse().ok()?;
        rest = &r[end..];
    }
    let offset = match rest {
        "Z" | "z" | "" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) => {
            let oh: i64 = o.get(1..3)?.parse().ok()?;
            let om: i64 = o.get(4..6)?.parse().ok()?;
            let v = oh * 3600 + om * 60;
            if o.starts_with('-') { -v } else { v }
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some((days * 86400 + h * 3600 + mi * 60 + sec - offset) as f64 + frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_times() {
        assert_eq!(parse_duration("90s"), Some(90.0));
        assert_eq!(parse_duration("1h30m"), Some(5400.0));
        assert_eq!(parse_duration("500ms"), Some(0.5));
        assert_eq!(parse_duration("12"), Some(12.0));
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_time("2026-11-24T17:00:00Z"), Some(1_795_539_600.0));
        assert_eq!(
            parse_time("2026-11-24T18:00:00+01:00"),
            Some(1_795_539_600.0)
        );
        assert_eq!(parse_time("1795539600.5"), Some(1_795_539_600.5));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn error_answer_is_reported() {
        let text = r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        let e = analyze_file("x.json", text).unwrap_err();
        assert!(e.message.contains("bad_data") && e.message.contains("parse error"));
    }
}
