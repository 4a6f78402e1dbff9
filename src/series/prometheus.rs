//! Prometheus memory series: a live server over its HTTP API (`/api/v1/query_range`), or a
//! saved `query_range` JSON response. Each series gets a growth rate (Theil-Sen on its post-GC
//! floor, the lower envelope of the sawtooth) and a verdict.
//!
//! Without a query, the known memory metrics present on the server are listed
//! (`/api/v1/label/__name__/values`) and the first of [`MEMORY_METRICS`] found is used. When
//! prom-client's `nodejs_gc_duration_seconds` histogram is present, the GC pause p95 of each
//! job/instance over the window comes from `histogram_quantile` of its buckets. Every PromQL
//! expression run is recorded in `queries`, so a report can show how to detect the leak.

use crate::error::InputError;
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
    /// The trend in full (fitted window `t_start`..`t_end` in Unix seconds); absent in
    /// answers written before it existed.
    #[serde(default)]
    pub trend: Option<Trend>,
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
///                "trend": { ... } } ],                    // see trend::Trend
///   "gc_pause_p95_ms": 9.5 | null,      // the largest p95 of all series
///   "verdict": "leak",                  // leak if any series leaks, else inconclusive if any is
///   "notes": ["step raised to 2 s to stay under 11,000 points"]
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

fn trend_options() -> trend::Options {
    trend::Options {
        unit: "bytes",
        min_span_s: 30.0,
        ..trend::Options::default()
    }
}

/// Growth and verdict of each series, on the lower envelope of its samples.
pub fn analyze_series(raw: Vec<RawSeries>) -> Vec<SeriesReport> {
    raw.into_iter()
        .map(|s| {
            let floor = trend::lower_envelope(&s.points, trend::envelope_buckets(s.points.len()));
            let tr = trend::analyze(&floor, &trend_options());
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
                trend: Some(tr),
            }
        })
        .collect()
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
    let names: std::collections::BTreeSet<&String> = ans
        .series
        .iter()
        .filter_map(|s| s.labels.get("__name__"))
        .collect();
    let metric = (names.len() == 1)
        .then(|| names.into_iter().next().cloned())
        .flatten();
    let series = analyze_series(ans.series);
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
        notes: ans.warnings,
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
    let mut series = analyze_series(ans.series);
    if series.is_empty() {
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
