//! The evidence a report is built from, and views of the other commands' JSON outputs.
//!
//! The report does not depend on how `gc`, `metrics`, `python` and `leaks` are implemented,
//! only on their documented JSON contracts (issue 3, issue 4, DESIGN.md). The `*View` types
//! below mirror those fields; extras that only some versions write are `#[serde(default)]`.
//! [`Evidence`] gathers every optional part plus what the user said (service, investigator,
//! severity, memory limit). Parsing is here; reading files is the caller's (`cli::report`).

use crate::error::InputError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `memsleuth gc --format json`.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
pub struct GcView {
    /// GC events read from the log.
    #[serde(default)]
    pub events: u64,
    /// Time the log covers, seconds.
    #[serde(default)]
    pub duration_s: Option<f64>,
    #[serde(default)]
    pub gc_pause_ms: Percentiles,
    #[serde(default)]
    pub time_in_gc_percent: Option<f64>,
    #[serde(default)]
    pub heap_after_gc_mb: HeapAfterGc,
    /// Trend of the post-GC heap, MiB per hour (V8 writes MiB as "MB").
    #[serde(default)]
    pub growth_mb_per_hour: Option<f64>,
    /// `leak`, `no-leak` or `inconclusive`.
    pub verdict: String,
    #[serde(default)]
    pub reason: String,
    /// `[t_ms since process start, heap after GC in MB]`.
    pub series: Vec<(f64, f64)>,
    /// The heap limit, when the log shows it.
    #[serde(default)]
    pub heap_limit_mb: Option<f64>,
    /// OOM seen in the log: `true`, a count, or an object; absent or `false` when none.
    #[serde(default)]
    pub oom: Option<serde_json::Value>,
    /// Lines that could not be read.
    #[serde(default, alias = "unparsed_lines")]
    pub unreadable_lines: Option<u64>,
    /// The message of the out-of-memory crash, when the log ends in one.
    #[serde(default)]
    pub oom_message: Option<String>,
    /// The last GC before that crash.
    #[serde(default)]
    pub oom_heap: Option<OomHeapView>,
    /// Where `heap_limit_mb` comes from.
    #[serde(default)]
    pub heap_limit_source: Option<String>,
    /// `[t_ms, heap after GC in MB]`: the points the trend was fitted on (post-GC floor).
    #[serde(default)]
    pub floor: Vec<(f64, f64)>,
    /// `mark-compact` (the heap after each full GC) or `lower-envelope`.
    #[serde(default)]
    pub floor_source: String,
    /// Number of full (mark-compact) GCs.
    #[serde(default)]
    pub full_gcs: Option<u64>,
    /// Growth with its interval (contract C3), when the `gc` command gives it.
    #[serde(flatten)]
    pub c3: GrowthFields,
    /// The trend object, when the `gc` command writes it (fit window, slopes).
    #[serde(default)]
    pub trend: Option<TrendView>,
}

/// The last GC before an out-of-memory crash (`memsleuth gc`'s `oom_heap`).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(default)]
pub struct OomHeapView {
    /// Isolate clock, ms.
    pub t_ms: f64,
    /// Live heap after it, MiB.
    pub heap_after_mb: f64,
    pub committed_after_mb: Option<f64>,
    pub line: u64,
}

/// Fields every analysed series carries under contract C3 (branch `series`): growth with its
/// confidence interval, the span it was fitted on, the method, and whether the span is too
/// short for an hourly figure. All optional: older outputs lack them.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(default)]
pub struct GrowthFields {
    pub growth_bytes_per_hour: Option<f64>,
    pub growth_low_bytes_per_hour: Option<f64>,
    pub growth_high_bytes_per_hour: Option<f64>,
    pub span_seconds: Option<f64>,
    pub method: Option<String>,
    pub too_short_for_rate: Option<bool>,
}

/// A `series::trend::Trend` as written in JSON (only the fields the report reads).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(default)]
pub struct TrendView {
    pub slope_per_s: Option<f64>,
    pub slope_low_per_s: Option<f64>,
    pub slope_high_per_s: Option<f64>,
    pub span_s: Option<f64>,
    /// Start and end of the fitted window, seconds on the series' own clock.
    pub t_start: Option<f64>,
    pub t_end: Option<f64>,
    pub method: Option<String>,
    pub points: Option<u64>,
}

/// p50/p95/p99/max of GC pauses, milliseconds.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(default)]
pub struct Percentiles {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

/// The heap after GC, MB.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(default)]
pub struct HeapAfterGc {
    pub first: Option<f64>,
    pub last: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl GcView {
    /// Number of OOM crashes the log shows (0 when none).
    pub fn oom_count(&self) -> u64 {
        match &self.oom {
            None | Some(serde_json::Value::Null) | Some(serde_json::Value::Bool(false)) => 0,
            Some(serde_json::Value::Bool(true)) => 1,
            Some(serde_json::Value::Number(n)) => n.as_u64().unwrap_or(1),
            Some(serde_json::Value::Object(o)) => {
                o.get("count").and_then(|c| c.as_u64()).unwrap_or(1)
            }
            Some(serde_json::Value::Array(a)) => a.len() as u64,
            Some(serde_json::Value::String(s)) => u64::from(!s.is_empty()),
        }
    }
}

/// `memsleuth metrics --format json`.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
pub struct MetricsView {
    pub series: Vec<MetricSeries>,
    /// The memory metric used (found or given).
    #[serde(default, alias = "detected_metric", alias = "metric_used")]
    pub metric: Option<String>,
    /// The PromQL actually run.
    #[serde(default, alias = "promql", alias = "query")]
    pub queries: QueryList,
    /// GC pause p95 from `nodejs_gc_duration_seconds`, seconds, when present.
    #[serde(default, alias = "gc_pause_p95_s", alias = "gc_p95_seconds")]
    pub gc_pause_p95_seconds: Option<f64>,
    /// Restarts and OOM kills from kube-state-metrics.
    #[serde(default)]
    pub incidents: Vec<IncidentView>,
}

/// The queries run: a list, or a single string.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(untagged)]
pub enum QueryList {
    Many(Vec<String>),
    One(String),
}

impl Default for QueryList {
    fn default() -> Self {
        QueryList::Many(Vec::new())
    }
}

impl QueryList {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            QueryList::Many(v) => v.clone(),
            QueryList::One(s) => vec![s.clone()],
        }
    }
}

/// One Prometheus series and its trend.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(default)]
pub struct MetricSeries {
    pub labels: BTreeMap<String, String>,
    /// The samples `[[t, value], ...]` (t in seconds, or milliseconds when over 1e11), or
    /// just how many there were.
    pub samples: Samples,
    pub growth_bytes_per_hour: Option<f64>,
    pub verdict: String,
    pub reason: String,
    /// Interval, span, method (contract C3); `growth_bytes_per_hour` above is its centre.
    pub growth_low_bytes_per_hour: Option<f64>,
    pub growth_high_bytes_per_hour: Option<f64>,
    pub span_seconds: Option<f64>,
    pub method: Option<String>,
    pub too_short_for_rate: Option<bool>,
    /// The trend object, when written (its fit window).
    pub trend: Option<TrendView>,
    /// What the trend was fitted on: the series itself, or its target's old generation.
    pub analysed: String,
    /// The points the trend was fitted on, `[unix_seconds, bytes]`.
    pub floor: Vec<(f64, f64)>,
    /// `after-major-gc` or `lower-envelope`.
    pub floor_source: String,
    /// Major GCs in the window (prom-client's counter), when the exporter has it.
    pub major_gcs: Option<u64>,
}

/// Samples of a series: the points, or only their count.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(untagged)]
pub enum Samples {
    Points(Vec<(f64, SampleValue)>),
    Count(u64),
}

/// A sample value: a number, or a string as Prometheus' API writes it (`"93613584"`,
/// `"NaN"`, `"+Inf"`; values that are not finite numbers are dropped).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(untagged)]
pub enum SampleValue {
    Num(f64),
    Text(String),
}

impl SampleValue {
    pub fn value(&self) -> Option<f64> {
        match self {
            SampleValue::Num(v) => Some(*v),
            SampleValue::Text(t) => t.trim().parse::<f64>().ok(),
        }
        .filter(|v| v.is_finite())
    }
}

impl Default for Samples {
    fn default() -> Self {
        Samples::Count(0)
    }
}

impl Samples {
    /// The points with t in Unix seconds (milliseconds are converted), finite values only.
    pub fn points_s(&self) -> Vec<(f64, f64)> {
        match self {
            Samples::Points(p) => p
                .iter()
                .filter_map(|(t, v)| v.value().map(|v| (*t, v)))
                .filter(|(t, _)| t.is_finite())
                .map(|(t, v)| if t > 1e11 { (t / 1000.0, v) } else { (t, v) })
                .collect(),
            Samples::Count(_) => Vec::new(),
        }
    }
    pub fn len(&self) -> u64 {
        match self {
            Samples::Points(p) => p.len() as u64,
            Samples::Count(n) => *n,
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `memsleuth python --format json`.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
pub struct PythonView {
    /// `scalene` or `memray`.
    #[serde(default)]
    pub source: String,
    pub findings: Vec<PythonFinding>,
    #[serde(default)]
    pub growth_mb_per_hour: Option<f64>,
    /// `leak`, `no-leak` or `inconclusive`, when the profile gives a trend.
    #[serde(default)]
    pub verdict: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    /// How long the profiled run took, seconds.
    #[serde(default)]
    pub elapsed_s: Option<f64>,
    /// Leaks in the shape of `leaks::Finding` (contract C5), from probe checkpoints.
    #[serde(default)]
    pub leaks: Vec<FindingView>,
    /// Interval, span, method (contract C3), when given.
    #[serde(flatten)]
    pub c3: GrowthFields,
}

impl PythonView {
    /// The lines the report presents as leaking: none when the analysis itself found the
    /// memory bounded (`no-leak`; its ranking is then of lines that did not leak).
    pub fn leaking_lines(&self) -> &[PythonFinding] {
        if self.verdict.as_deref() == Some("no-leak") {
            &[]
        } else {
            &self.findings
        }
    }
}

/// One leaking Python line.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
pub struct PythonFinding {
    pub file: String,
    pub line: u32,
    /// The line's text; `memsleuth python` writes null when the source cannot be read
    /// (code run from a string, `<string>`, or a file not on this machine).
    #[serde(default, deserialize_with = "null_as_default")]
    pub code: String,
    #[serde(default)]
    pub leaked_bytes: Option<f64>,
    #[serde(default)]
    pub likelihood: Option<f64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub evidence: String,
}

/// A field written as null reads as its default (an empty string): the writers' `Option`
/// fields serialize as null, and the report treats empty as unknown.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `memsleuth leaks --format json` as the report reads it. The fields of contract C2 (branch
/// `finder`: `name`, `unit`, `owner`, `library`, `library_location`, `location_source`,
/// `keeps`) are optional, so outputs written before and after them both read.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
pub struct LeaksView {
    #[serde(default)]
    pub snapshots: Vec<SnapshotInfoView>,
    pub findings: Vec<FindingView>,
}

/// One snapshot the leak finder read.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(default)]
pub struct SnapshotInfoView {
    pub file: String,
    pub nodes: u64,
    pub total_bytes: u64,
}

/// One leaked group (`leaks::Finding`).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(default)]
pub struct FindingView {
    /// Pattern id: `event-listener`, `timer`, `closure`, `unclosed-connection`,
    /// `unbounded-collection`, `large-dataset`, `detached-dom`, `unknown`.
    pub pattern: String,
    pub reason: String,
    pub class: String,
    /// Leaked units the retained size covers (objects allocated after the first snapshot and
    /// still alive in the later ones).
    pub count: u64,
    /// The group's retained size: the bytes that leak.
    pub retained_bytes: u64,
    /// Group size (units) in each snapshot.
    pub growth: Vec<u64>,
    /// Group shallow bytes in each snapshot.
    pub growth_bytes: Vec<u64>,
    pub retainer_path: Vec<PathStepView>,
    pub location: Option<LocationView>,
    pub code: Option<String>,
    pub excerpt: Vec<String>,
    pub fingerprint: String,
    pub suggestion: String,
    /// The function's name when the leaked group is functions (C2).
    pub name: Option<String>,
    /// What one leaked unit is: "listener", "cache entry", ... (C2).
    pub unit: Option<String>,
    /// The named holder a developer recognises (C2).
    pub owner: Option<OwnerView>,
    /// The dependency the accumulating container lives in (C2).
    pub library: Option<LibraryView>,
    pub library_location: Option<LocationView>,
    /// How the location was found: `allocation-stack`, `function`, `declaration`, ... (C2).
    pub location_source: Option<String>,
    /// What the leaked objects keep alive, outermost first (C2).
    pub keeps: Vec<KeepView>,
}

/// One step of a retainer path.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
pub struct PathStepView {
    #[serde(default)]
    pub holder: String,
    #[serde(default)]
    pub holder_id: u64,
    #[serde(default)]
    pub edge: String,
    #[serde(default)]
    pub edge_type: String,
    #[serde(default)]
    pub suspect: bool,
    #[serde(default = "one")]
    pub repeat: u32,
}

fn one() -> u32 {
    1
}

/// A source position.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(default)]
pub struct LocationView {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

/// The holder of a leak (C2).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(default)]
pub struct OwnerView {
    pub name: String,
    /// module-variable, closure-variable, property, class-field, global, map-entry, ...
    pub kind: String,
    pub holder_class: Option<String>,
}

/// A dependency holding the accumulating container (C2).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(default)]
pub struct LibraryView {
    pub name: String,
    pub holder: Option<String>,
}

/// One step past the leaked object to the memory it keeps (C2).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(default)]
pub struct KeepView {
    pub edge: String,
    pub edge_type: String,
    pub class: String,
    pub retained_bytes: u64,
}

/// `DIR/capture.json` (contract C4, schema `memsleuth.capture.v1`), written by
/// `memsleuth capture` (and by `demo/make-demo-evidence.sh`).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(default)]
pub struct CaptureView {
    pub schema: String,
    pub runtime: Option<String>,
    pub runtime_version: Option<String>,
    pub command: Vec<String>,
    pub url: Option<String>,
    pub method: Option<String>,
    pub concurrency: Option<u64>,
    /// Wall clock when the load started, RFC 3339 UTC.
    pub started_at: Option<String>,
    pub checkpoints: Vec<CheckpointView>,
    pub bytes_per_request: Option<PerRequestView>,
    pub latency_ms: Option<Percentiles>,
    pub requests_total: Option<u64>,
    pub errors: Option<u64>,
    pub gc_log: Option<String>,
    pub snapshots: Vec<String>,
    pub python_probe: Option<String>,
    /// Lines the capture wants its readers to know (a load that ended early, ...).
    pub notes: Vec<String>,
}

impl CaptureView {
    /// Whether the service captured is a Python one (its figures come from the probe).
    pub fn is_python(&self) -> bool {
        self.runtime.as_deref() == Some("python")
    }

    /// What `heap_used_bytes` measures, in words: a Python capture's is what tracemalloc
    /// traces after `gc.collect()`, a Node capture's the V8 heap after a forced full GC.
    pub fn memory_measure(&self) -> &'static str {
        if self.is_python() {
            "memory traced by tracemalloc after gc.collect()"
        } else {
            "heap used after a forced full GC"
        }
    }
}

/// One capture checkpoint: requests sent so far and memory after a forced full GC.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(default)]
pub struct CheckpointView {
    /// Requests completed before it (null when the load was not counted).
    pub requests: Option<u64>,
    /// Seconds since the load started.
    pub seconds: f64,
    pub heap_used_bytes: Option<f64>,
    pub heap_total_bytes: Option<f64>,
    pub rss_bytes: Option<f64>,
    pub external_bytes: Option<f64>,
    /// The snapshot taken at this checkpoint (file name inside the capture directory).
    pub snapshot: Option<String>,
}

/// Growth per request measured by the capture.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(default)]
pub struct PerRequestView {
    pub value: f64,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub method: Option<String>,
}

/// The capture part of the evidence: where it was read, and what it says.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CaptureEvidence {
    /// The capture directory as given.
    pub dir: String,
    pub view: CaptureView,
    /// `started_at` as Unix seconds, when it parses.
    pub started_unix: Option<f64>,
}

/// What kind of out-of-memory incident or restart the evidence shows (the kinds of
/// `memsleuth applog`, with the same names in JSON).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum IncidentKind {
    /// The runtime's heap ran out (V8's `FATAL ERROR: ... JavaScript heap out of memory`).
    HeapOom,
    /// An allocation failed inside the program (Python's `MemoryError`).
    MemoryError,
    /// The kernel's (or a cgroup's) OOM killer killed the process; Kubernetes' `OOMKilled`.
    OomKill,
    /// A restart of the service (its cause not known to be memory).
    Restart,
}

impl IncidentKind {
    /// Whether the incident is the memory running out (not a restart of unknown cause).
    pub fn is_oom(self) -> bool {
        !matches!(self, IncidentKind::Restart)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentKind::HeapOom => "heap-oom",
            IncidentKind::MemoryError => "memory-error",
            IncidentKind::OomKill => "oom-kill",
            IncidentKind::Restart => "restart",
        }
    }
}

/// One incident from an application log, a system log or kube-state-metrics.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Incident {
    pub kind: IncidentKind,
    /// Unix seconds when the evidence dates it.
    pub unix_s: Option<f64>,
    /// The time as the evidence writes it, when it is not a Unix time (uptime, a log stamp).
    pub time_text: Option<String>,
    /// Where: `file:line` or the Prometheus series.
    pub source: String,
    /// The line or message, as written.
    pub message: String,
    /// How many incidents this row stands for (restart counters count several).
    pub count: u64,
    /// A heap OOM's live heap after the last GC before it, bytes (to tell one crash seen in
    /// two logs from two crashes).
    #[serde(default)]
    pub heap_used_bytes: Option<u64>,
}

/// An incident as `memsleuth applog --format json` (and `metrics`, for kube-state-metrics)
/// write it; only the fields the report reads.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
pub struct IncidentView {
    pub kind: IncidentKind,
    /// `node`, `python`, `kernel`, `systemd`, `kubernetes`, `kube-state-metrics`.
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub line: Option<u64>,
    #[serde(default)]
    pub time: Option<String>,
    #[serde(default)]
    pub unix_s: Option<f64>,
    #[serde(default)]
    pub process: Option<String>,
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Python: `file:line` of the innermost frame.
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub heap_used_bytes: Option<u64>,
}

impl IncidentView {
    /// The report's incident, read from `file` (the log given, or the Prometheus source).
    pub fn to_incident(&self, file: &str) -> Incident {
        let mut source = match self.line {
            Some(l) => format!("{file}:{l}"),
            None => format!("{file} ({})", self.source),
        };
        if let Some(p) = self.labels.get("pod").or(self.labels.get("container")) {
            source.push_str(&format!(", {p}"));
        }
        let mut message = self.message.clone();
        if let Some(loc) = &self.location {
            message.push_str(&format!(" (at {loc})"));
        }
        Incident {
            kind: self.kind,
            unix_s: self.unix_s.filter(|t| t.is_finite()),
            time_text: self.time.clone(),
            source,
            message,
            count: self.count.unwrap_or(1).max(1),
            heap_used_bytes: self.heap_used_bytes,
        }
    }
}

/// `memsleuth applog --format json`: the incidents of one log.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(default)]
pub struct AppLogView {
    pub incidents: Vec<IncidentView>,
}

/// A point in time taken from the evidence itself (never from the clock or file mtimes).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct EvidenceTime {
    /// Seconds since the Unix epoch, as the evidence states it.
    pub unix_s: i64,
    /// Where it comes from, e.g. "snapshot file name (host local time)".
    pub source: String,
}

/// One heap snapshot file given to the report.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SnapshotFile {
    /// The path as given.
    pub file: String,
    /// Size of the file on disk, bytes (compressed if it is gzipped).
    pub file_bytes: Option<u64>,
    /// When it was taken, from its name (`Heap.20261124.155431.9885.0.001.heapsnapshot`).
    pub taken: Option<EvidenceTime>,
}

/// Load-test figures, when a load test was run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct LoadTest {
    /// Free-text lines describing the runs and the memory they ended with.
    pub lines: Vec<String>,
}

/// The severity the user chose, or `auto`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SeverityChoice {
    #[default]
    Auto,
    Critical,
    High,
    Medium,
    Low,
}

/// The GC log part: the analysis and a few raw lines for the appendix.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct GcEvidence {
    pub file: String,
    pub view: GcView,
    /// Raw lines worth quoting (first and last GCs, the OOM block), when the log itself was read.
    pub excerpt: Vec<String>,
    /// Times (ms, log clock) of the full GCs V8 ran to take a heap snapshot (reason
    /// `heap profiler`), one per snapshot: they place the log on the snapshots' clock.
    #[serde(default)]
    pub snapshot_gcs_ms: Vec<f64>,
}

/// The Prometheus part: where it came from and what was found.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct MetricsEvidence {
    /// The server URL or the saved file.
    pub source: String,
    pub view: MetricsView,
}

/// One Python profile.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PythonEvidence {
    pub file: String,
    pub view: PythonView,
}

/// Everything a report is built from. Every part is optional; the report says what is missing.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Evidence {
    pub service: Option<String>,
    pub investigator: Option<String>,
    pub severity: SeverityChoice,
    /// `--memory-limit`, bytes.
    pub memory_limit_bytes: Option<u64>,
    pub snapshots: Vec<SnapshotFile>,
    pub leaks: Option<LeaksView>,
    pub gc: Option<GcEvidence>,
    pub metrics: Option<MetricsEvidence>,
    pub python: Vec<PythonEvidence>,
    pub load_test: Option<LoadTest>,
    /// `--capture DIR`: a load test with request counts (capture.json, contract C4).
    pub capture: Option<CaptureEvidence>,
    /// Out-of-memory incidents and restarts from `--app-log` and kube-state-metrics.
    pub incidents: Vec<Incident>,
    /// The application or system logs given (`--app-log`), as named.
    pub app_logs: Vec<String>,
    /// Source files of the findings' locations, by the file name the finding gives (read by
    /// the caller from that path or from beside the snapshots).
    #[serde(default)]
    pub sources: BTreeMap<String, String>,
    /// Things the user gave that could not be used, said in the report.
    pub notes: Vec<String>,
    /// `--before DIR`: the capture before the fix compared with `--capture` (after it).
    #[serde(default)]
    pub fix_verification: Option<FixVerification>,
}

impl Evidence {
    /// Whether the service investigated is a Python one: a Python capture, or Python
    /// profiles with nothing from Node (no snapshots, leak finder output or GC log).
    pub fn is_python_service(&self) -> bool {
        match &self.capture {
            Some(c) => c.view.is_python(),
            None => {
                !self.python.is_empty()
                    && self.snapshots.is_empty()
                    && self.leaks.is_none()
                    && self.gc.is_none()
            }
        }
    }
}

/// A capture before a fix compared with one after it by `live::verify` (`report --before`):
/// the verdict and the template's before/after sections, as shown.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct FixVerification {
    pub before_dir: String,
    pub after_dir: String,
    /// `fixed` or `persists`.
    pub verdict: String,
    /// Why, one sentence each.
    pub reasons: Vec<String>,
    /// "Post-Deployment Metrics", before the fix: (label, value).
    pub before_fix: Vec<(String, String)>,
    /// "Post-Deployment Metrics", after the fix.
    pub after_fix: Vec<(String, String)>,
    /// "Improvement".
    pub improvement: Vec<(String, String)>,
}

fn parse_json<T: serde::de::DeserializeOwned>(
    name: &str,
    bytes: &[u8],
    what: &str,
) -> Result<T, InputError> {
    serde_json::from_slice(bytes).map_err(|e| {
        InputError::at_line(
            name,
            e.line() as u64,
            format!("not the JSON output of `{what}`: {e}"),
        )
    })
}

/// Parses the output of `memsleuth gc --format json`.
pub fn parse_gc(name: &str, bytes: &[u8]) -> Result<GcView, InputError> {
    parse_json(name, bytes, "memsleuth gc --format json")
}

/// Parses the output of `memsleuth metrics --format json`.
pub fn parse_metrics(name: &str, bytes: &[u8]) -> Result<MetricsView, InputError> {
    parse_json(name, bytes, "memsleuth metrics --format json")
}

/// Parses the output of `memsleuth python --format json`.
pub fn parse_python(name: &str, bytes: &[u8]) -> Result<PythonView, InputError> {
    parse_json(name, bytes, "memsleuth python --format json")
}

/// Parses the output of `memsleuth leaks --format json`.
pub fn parse_leaks(name: &str, bytes: &[u8]) -> Result<LeaksView, InputError> {
    parse_json(name, bytes, "memsleuth leaks --format json")
}

/// Parses `capture.json` (schema `memsleuth.capture.v1`).
pub fn parse_capture(name: &str, bytes: &[u8]) -> Result<CaptureView, InputError> {
    let v: CaptureView = parse_json(name, bytes, "memsleuth capture (capture.json)")?;
    if !v.schema.is_empty() && !v.schema.starts_with("memsleuth.capture.") {
        return Err(InputError::whole(
            name,
            format!(
                "schema {:?} is not a memsleuth capture (expected memsleuth.capture.v1)",
                v.schema
            ),
        ));
    }
    Ok(v)
}

/// Unix seconds of an RFC 3339 UTC time (`2026-11-26T10:00:00Z`, fractions and `+00:00`
/// allowed; other offsets are applied).
pub fn parse_rfc3339(s: &str) -> Option<f64> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 19 || !(b[10] == b'T' || b[10] == b't' || b[10] == b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())
            .flatten()
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut frac = 0.0;
    if let Some(r) = rest.strip_prefix('.') {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        frac = format!("0.{}", &r[..n]).parse().ok()?;
        rest = &r[n..];
    }
    let offset = match rest {
        "Z" | "z" | "" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) && &o[3..4] == ":" => {
            let oh: i64 = o[1..3].parse().ok()?;
            let om: i64 = o[4..6].parse().ok()?;
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    Some((days * 86400 + h * 3600 + mi * 60 + sec - offset) as f64 + frac)
}

/// Parses load-test results: `{"lines": [...]}`.
pub fn parse_load_test(name: &str, bytes: &[u8]) -> Result<LoadTest, InputError> {
    parse_json(name, bytes, "load test results ({\"lines\": [...]})")
}

/// The time a snapshot was taken, from Node's or DevTools' default file name:
/// `Heap.YYYYMMDD.HHMMSS.<pid>.<tid>.<seq>.heapsnapshot` or `Heap-YYYYMMDDTHHMMSS.heapsnapshot`.
/// Node writes the host's local time; the report says so.
pub fn snapshot_time_from_name(path: &str) -> Option<EvidenceTime> {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let b = name.as_bytes();
    for i in 0..b.len() {
        if b.len() < i + 15 {
            break;
        }
        let date = &b[i..i + 8];
        let sep = b[i + 8];
        let time = &b[i + 9..i + 15];
        let before_ok = i == 0 || !b[i - 1].is_ascii_digit();
        let after_ok = b.get(i + 15).is_none_or(|c| !c.is_ascii_digit());
        if before_ok
            && after_ok
            && (sep == b'.' || sep == b'T' || sep == b'-' || sep == b'_')
            && date.iter().all(u8::is_ascii_digit)
            && time.iter().all(u8::is_ascii_digit)
        {
            let d = |s: &[u8]| s.iter().fold(0i64, |a, c| a * 10 + i64::from(c - b'0'));
            let (y, mo, da) = (d(&date[0..4]), d(&date[4..6]), d(&date[6..8]));
            let (h, mi, s) = (d(&time[0..2]), d(&time[2..4]), d(&time[4..6]));
            if !(1970..=9999).contains(&y)
                || !(1..=12).contains(&mo)
                || !(1..=31).contains(&da)
                || h > 23
                || mi > 59
                || s > 60
            {
                continue;
            }
            let unix = days_from_civil(y, mo, da) * 86400 + h * 3600 + mi * 60 + s;
            return Some(EvidenceTime {
                unix_s: unix,
                source: "snapshot file name (host local time)".into(),
            });
        }
    }
    None
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The civil date of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Lines of a `--trace-gc` log worth quoting in the appendix: the first two and last three
/// GC lines, and the OOM block when there is one. At most 14 lines, each cut to 240 chars.
pub fn gc_log_excerpt(text: &str) -> Vec<String> {
    let gc_lines: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.contains(" ms: ")
                && (l.contains("Mark-Compact")
                    || l.contains("Scavenge")
                    || l.contains("Mark-Sweep")
                    || l.contains("Minor"))
        })
        .collect();
    let mut out: Vec<String> = Vec::new();
    let cut = |l: &str| -> String {
        let l = l.trim_end();
        if l.chars().count() > 240 {
            let mut s: String = l.chars().take(240).collect();
            s.push_str(" ...");
            s
        } else {
            l.to_string()
        }
    };
    if gc_lines.len() <= 5 {
        out.extend(gc_lines.iter().map(|l| cut(l)));
    } else {
        out.extend(gc_lines[..2].iter().map(|l| cut(l)));
        out.push(format!(
            "... ({} GC lines left out) ...",
            gc_lines.len() - 5
        ));
        out.extend(gc_lines[gc_lines.len() - 3..].iter().map(|l| cut(l)));
    }
    let mut in_oom = false;
    let mut n_oom = 0;
    for l in text.lines() {
        if l.contains("<--- Last few GCs --->") || l.contains("FATAL ERROR") {
            in_oom = true;
        }
        if in_oom && !l.trim().is_empty() && n_oom < 6 {
            out.push(cut(l));
            n_oom += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_read_with_and_without_request_counts() {
        // as `memsleuth capture` writes it with an external load (`--load`): no counts
        let c = br#"{"schema": "memsleuth.capture.v1", "runtime": "node", "runtime_version": "v20.20.2",
            "command": ["node", "s.js"], "url": null, "method": null, "concurrency": null,
            "started_at": "2026-11-26T10:00:00Z",
            "checkpoints": [{"requests": null, "seconds": 1.5, "heap_used_bytes": 8123456,
              "heap_total_bytes": 11000000, "rss_bytes": 60000000, "external_bytes": 1500000,
              "snapshot": null, "gc_ms": 3.1}],
            "bytes_per_request": null, "latency_ms": null, "requests_total": null, "errors": null,
            "gc_log": "gc.log", "snapshots": [], "python_probe": null, "mode": "start"}"#;
        let v = parse_capture("capture.json", c).unwrap();
        assert_eq!(v.checkpoints[0].requests, None);
        assert_eq!(
            parse_rfc3339(v.started_at.as_deref().unwrap()),
            Some(1795687200.0)
        );
        let bad = parse_capture("capture.json", br#"{"schema": "other"}"#).unwrap_err();
        assert!(bad.to_string().contains("capture.json"), "{bad}");
        assert_eq!(
            parse_rfc3339("2026-11-26T10:00:00.250+01:00"),
            Some(1795683600.25)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn python_json_with_a_null_code_reads() {
        // `memsleuth python` writes null for a line it has no source of (`<string>`).
        let j = br#"{"source": "probe", "findings": [{"file": "<string>", "line": 1,
            "code": null, "leaked_bytes": 11176, "likelihood": 0.2, "evidence": null}]}"#;
        let v = parse_python("python.json", j).unwrap();
        assert_eq!(v.findings[0].code, "");
        assert_eq!(v.findings[0].evidence, "");
    }

    #[test]
    fn snapshot_names_give_times() {
        let t =
            snapshot_time_from_name("/x/Heap.20261124.155431.9885.0.001.heapsnapshot.gz").unwrap();
        assert_eq!(civil_from_days(t.unix_s.div_euclid(86400)), (2026, 11, 24));
        assert_eq!(t.unix_s.rem_euclid(86400), 15 * 3600 + 54 * 60 + 31);
        assert!(snapshot_time_from_name("Heap-20240102T030405.heapsnapshot").is_some());
        assert!(snapshot_time_from_name("s1.heapsnapshot").is_none());
        assert!(snapshot_time_from_name("Heap.20261399.155431.heapsnapshot").is_none());
    }

    #[test]
    fn civil_round_trip() {
        for d in [-1000, 0, 1, 19000, 20416, 40000] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }

    #[test]
    fn views_accept_the_documented_fields() {
        let gc = r#"{"events": 12, "duration_s": 60.5, "gc_pause_ms": {"p50": 1, "p95": 5, "p99": 9, "max": 12},
            "time_in_gc_percent": 2.5, "heap_after_gc_mb": {"first": 10, "last": 20, "min": 9, "max": 21},
            "growth_mb_per_hour": 600, "verdict": "leak", "reason": "grows", "series": [[0, 10], [1000, 11]]}"#;
        let v = parse_gc("gc.json", gc.as_bytes()).unwrap();
        assert_eq!(v.series.len(), 2);
        assert_eq!(v.oom_count(), 0);
        let m = r#"{"series": [{"labels": {"job": "a"}, "samples": 30, "growth_bytes_per_hour": 1e6,
            "verdict": "leak", "reason": "r"}], "queries": "up"}"#;
        let v = parse_metrics("m.json", m.as_bytes()).unwrap();
        assert_eq!(v.series[0].samples.len(), 30);
        assert_eq!(v.queries.to_vec(), vec!["up".to_string()]);
        let m = r#"{"series": [{"labels": {}, "samples": [[1795536048, "93613584"], [1795536050, "NaN"]]}]}"#;
        let v = parse_metrics("m.json", m.as_bytes()).unwrap();
        assert_eq!(
            v.series[0].samples.points_s(),
            vec![(1795536048.0, 93613584.0)]
        );
        let bad = parse_gc("gc.json", b"{\"x\": 1}").unwrap_err();
        assert!(bad.to_string().contains("gc.json"));
    }
}
