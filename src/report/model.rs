//! The investigation: one struct per section of `report-template.md`, filled by
//! [`super::analysis::investigate`] from one reconciled [`super::facts::Facts`]. Every
//! figure and sentence is already written here; the renderers only lay it out.
//!
//! # JSON schema (`report.json`)
//!
//! `report.json` is this [`Investigation`] serialized with serde, field names as in the
//! Rust types (snake_case), `schema` = `"memsleuth.report.v2"`. Text fields are final
//! sentences (the Markdown and HTML show the same strings). Conventions:
//! - a [`Check`] is a template checkbox: `{"checked": bool, "text": str}`;
//! - a [`Field`] is a labelled value: `{"label": str, "value": str}`; a value that the
//!   evidence cannot give starts with `"not available: "` and says what would show it;
//! - numbers are exact: sizes in bytes (`*_bytes`), rates in bytes per hour
//!   (`*_bytes_per_hour`), durations in seconds (`*_seconds`); text writes them in binary
//!   units (KiB, MiB, GiB, `MiB/h`), the same figure the same way everywhere;
//! - times are strings `YYYY-MM-DD HH:MM:SS` taken from the evidence, never from the clock.
//!
//! Top level: `schema`, `severity`, `headline_growth`, `oom_projection`, `leak_verdict`,
//! `growth_sources`, `per_request`, `incidents`, `leak_groups`, `header`, `executive_summary`,
//! `timeline`, `symptoms`, `investigation`, `root_cause`, `fix`, `deployment`, `lessons`,
//! `related`, `appendix`, `footer`, `charts`, `alerts`, `evidence_used`.
//!
//! The figures the report leads with (part of the contract):
//! - `severity`: `"Critical" | "High" | "Medium" | "Low"` (the header shows the same).
//! - `headline_growth`: the one growth figure of the report, or `null` when no evidence
//!   gives a rate: `{"bytes_per_hour": f64, "low_bytes_per_hour": f64 | null,
//!   "high_bytes_per_hour": f64 | null, "source": str, "span_seconds": f64}`; `low`/`high`
//!   are the 95 % interval; `source` names the evidence (the most reliable with a trend).
//! - `oom_projection`: `{"seconds": f64 | null, "reason": str}`: time until the memory limit
//!   at the headline growth, `null` when it cannot be projected (no `leak` trend, no limit, or
//!   a horizon more than 10x the span the trend was fitted on), `reason` says how or why not.
//! - `leak_verdict`: `{"verdict": "leak" | "no-leak" | "inconclusive", "reason": str}`.
//! - `growth_sources`: every source's figure, most reliable first, each compared with the
//!   headline.

use super::alerts::{AlertConfig, Rule};
use serde::Serialize;

/// The schema id written in `report.json`.
pub const SCHEMA: &str = "memsleuth.report.v2";

/// The whole report.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Investigation {
    pub schema: String,
    /// `Critical`, `High`, `Medium` or `Low` (the same as `header.severity`).
    pub severity: String,
    pub headline_growth: Option<HeadlineGrowth>,
    pub oom_projection: OomProjectionJson,
    pub leak_verdict: LeakVerdictJson,
    pub growth_sources: Vec<GrowthSourceJson>,
    pub per_request: Option<PerRequestJson>,
    pub incidents: Vec<IncidentJson>,
    /// The leaked groups as figures (the sections word the same numbers).
    pub leak_groups: Vec<LeakGroupJson>,
    pub header: Header,
    pub executive_summary: ExecutiveSummary,
    pub timeline: Timeline,
    pub symptoms: SymptomsAndDetection,
    pub investigation: InvestigationSteps,
    pub root_cause: RootCauseAnalysis,
    pub fix: FixImplementation,
    pub deployment: DeploymentAndResults,
    pub lessons: LessonsLearned,
    pub related: RelatedDocumentation,
    pub appendix: Appendix,
    pub footer: Footer,
    pub charts: Charts,
    pub alerts: AlertsSection,
    /// One line per kind of evidence given (and what was not given).
    pub evidence_used: Vec<String>,
}

/// The report's one growth figure.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct HeadlineGrowth {
    pub bytes_per_hour: f64,
    pub low_bytes_per_hour: Option<f64>,
    pub high_bytes_per_hour: Option<f64>,
    /// The evidence it comes from (the most reliable source with a trend).
    pub source: String,
    /// The span the trend was fitted on.
    pub span_seconds: f64,
}

/// Time to OOM, or why it cannot be projected.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct OomProjectionJson {
    pub seconds: Option<f64>,
    pub reason: String,
    /// Earliest and latest, from the ends of the headline's interval.
    pub earliest_seconds: Option<f64>,
    pub latest_seconds: Option<f64>,
    /// Requests until the limit, when growth per request is known.
    pub requests: Option<f64>,
}

/// Whether the evidence shows a leak.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct LeakVerdictJson {
    /// `leak`, `no-leak` or `inconclusive`.
    pub verdict: String,
    pub reason: String,
}

/// One source's growth figure.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct GrowthSourceJson {
    pub source: String,
    /// Reliability class: `post-GC floor after major GCs`, `old-space heap`, `heap used`,
    /// `process memory`, `heap snapshot totals`, `leaked groups`, `profiler estimate`.
    pub reliability: String,
    pub method: String,
    pub bytes_per_hour: Option<f64>,
    pub low_bytes_per_hour: Option<f64>,
    pub high_bytes_per_hour: Option<f64>,
    pub span_seconds: f64,
    pub points: usize,
    pub verdict: String,
    pub reason: String,
    pub too_short_for_rate: bool,
    pub headline: bool,
    /// `null` for the headline itself.
    pub agrees_with_headline: Option<bool>,
    /// Why it agrees or differs.
    pub comparison: String,
}

/// Growth per request.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct PerRequestJson {
    pub bytes: f64,
    pub low_bytes: Option<f64>,
    pub high_bytes: Option<f64>,
    pub method: String,
    pub first_requests: u64,
    pub last_requests: u64,
}

/// One leaked group's figures.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct LeakGroupJson {
    pub pattern: String,
    pub class: String,
    /// What one unit is (`listener`, or `Class object`).
    pub unit: String,
    /// Units in each snapshot.
    pub per_snapshot: Vec<u64>,
    /// Units confirmed by the three-snapshot rule, which `retained_bytes` covers.
    pub count: u64,
    /// The bytes that leak: the group's retained size.
    pub retained_bytes: u64,
    /// Units added between the first and last snapshot, and their retained bytes.
    pub added: i64,
    pub added_retained_bytes: Option<f64>,
    /// `file:line`, when known.
    pub location: Option<String>,
}

/// An OOM crash or restart.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct IncidentJson {
    /// `heap-oom`, `memory-error`, `oom-kill` or `restart` (the kinds of `memsleuth applog`).
    pub kind: String,
    pub count: u64,
    pub time: Option<String>,
    pub source: String,
    pub message: String,
}

/// A template checkbox.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Check {
    pub checked: bool,
    pub text: String,
}

/// A labelled value.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Field {
    pub label: String,
    pub value: String,
}

/// A code excerpt with its file:line header.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct CodeBlock {
    /// Fence language: `javascript`, `typescript`, `python`, or `text`.
    pub language: String,
    /// `path:line`, or a sentence saying the location is unknown.
    pub location: String,
    /// One comment line: why this code leaks / what the fix does.
    pub explanation: String,
    pub lines: Vec<String>,
}

/// Title block: service, date, investigator, severity.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Header {
    pub service: String,
    pub date: String,
    pub investigator: String,
    /// `Critical`, `High`, `Medium` or `Low`.
    pub severity: String,
    /// How the severity was chosen.
    pub severity_reason: String,
}

/// "Executive Summary".
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ExecutiveSummary {
    pub tldr: String,
    /// Memory growth, OOM incidents, affected users, duration, projected time to OOM.
    pub impact: Vec<Field>,
    /// Root cause, fix deployed, status.
    pub resolution: Vec<Field>,
}

/// "Incident Timeline".
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Timeline {
    pub rows: Vec<TimelineRow>,
    /// Which clock the times are on.
    pub note: String,
}

/// One row of the timeline table.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct TimelineRow {
    pub time: String,
    pub event: String,
    pub details: String,
}

/// "Symptoms and Detection".
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct SymptomsAndDetection {
    pub initial_symptoms: Vec<Check>,
    pub how_discovered: String,
    /// The PromQL that was run (or the one to run).
    pub prometheus_queries: Vec<String>,
    pub alert_rule: String,
    pub dashboard: String,
    /// "Before" figures: baseline, later value, growth rate.
    pub before: Vec<Field>,
    /// "Current" figures: heap usage, active connections, GC pause p95.
    pub current: Vec<Field>,
    /// Every source of growth against the headline, most reliable first.
    pub growth_by_source: Vec<SourceRow>,
}

/// One row of "Growth by source".
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct SourceRow {
    /// The source and the file or series it was read from.
    pub source: String,
    /// The rate with its interval.
    pub growth: String,
    /// The window it was fitted on, its points and the method.
    pub window: String,
    /// The verdict and why.
    pub verdict: String,
    /// `headline`, or how it compares with the headline.
    pub against_headline: String,
}

/// One heap snapshot in the list.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct SnapshotRow {
    pub index: usize,
    pub time: String,
    /// Heap size, or the file size when the heap size is unknown.
    pub size: String,
    pub file: String,
}

/// One group of objects that grew between snapshots.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct GrowthRow {
    pub class: String,
    /// What holds them, short (pattern and location).
    pub context: String,
    pub instances_delta: i64,
    /// Retained bytes added between the first and last snapshot (the bytes that leak).
    pub retained_bytes_delta: Option<f64>,
    /// The growth in words: count, retained bytes, and what holds the bytes.
    pub text: String,
}

/// One of the top memory consumers.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Consumer {
    pub rank: usize,
    pub class: String,
    pub retained_bytes: u64,
    /// The consumer in words (count, retained size).
    pub text: String,
    /// The retainer path on one line (`holder.edge → ...`).
    pub path: String,
}

/// "Investigation Steps".
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct InvestigationSteps {
    pub tools_used: Vec<Check>,
    pub snapshots: Vec<SnapshotRow>,
    /// Said when there are no snapshots, or when their times are unknown.
    pub snapshots_note: Option<String>,
    pub method: String,
    pub growing: Vec<GrowthRow>,
    pub growing_note: Option<String>,
    pub top_consumers: Vec<Consumer>,
    /// Says why the "Top 3" list has fewer rows, when it does.
    pub top_consumers_note: Option<String>,
    pub leaked_object: String,
    /// The retainer path in the template's arrow style, one line each, already indented.
    pub retainer_path: Vec<String>,
    pub why_not_collected: String,
}

/// "Root Cause Analysis".
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct RootCauseAnalysis {
    /// Pattern id (`event-listener`, ...) or `none`.
    pub pattern_id: String,
    /// Pattern in words.
    pub pattern: String,
    /// Why the classifier chose it.
    pub pattern_reason: String,
    pub vulnerable_code: CodeBlock,
    pub why_it_leaks: Vec<String>,
    pub reproduction_steps: Vec<String>,
    pub reproduction_time: String,
    /// Further findings beyond the main one, one line each.
    pub other_findings: Vec<String>,
}

/// "Fix Implementation".
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct FixImplementation {
    pub pull_request: String,
    pub files_modified: Vec<Field>,
    pub fixed_code: CodeBlock,
    pub strategy: Vec<Check>,
    /// Notes on the fix: names that had to be guessed, the library to change, ...
    pub notes: Vec<String>,
    /// The regression test proposed for the pattern.
    pub test: CodeBlock,
    /// Load test results, or why there are none.
    pub load_test: Vec<String>,
}

/// "Deployment and Results".
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct DeploymentAndResults {
    pub environment: String,
    pub deployment_time: String,
    pub rollout: String,
    pub before_fix: Vec<Field>,
    pub after_fix: Vec<Field>,
    pub improvement: Vec<Field>,
    pub dashboard_link: String,
    pub key_panels: Vec<Field>,
}

/// "Lessons Learned".
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct LessonsLearned {
    pub went_well: Vec<String>,
    pub could_improve: Vec<String>,
    pub monitoring: Vec<Check>,
    pub review_checklist: Vec<Check>,
    pub testing_standards: Vec<Check>,
}

/// "Related Documentation".
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct RelatedDocumentation {
    pub items: Vec<Field>,
}

/// "Appendix".
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Appendix {
    pub snapshot_files: Vec<Field>,
    pub gc_log: Vec<String>,
    /// `(comment, query)` pairs.
    pub prometheus_queries: Vec<Field>,
}

/// The closing lines.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Footer {
    pub completed: String,
    pub next_review: String,
}

/// Data of the HTML charts, all decided by the analysis.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Charts {
    /// Memory over time: one chart per clock the evidence can be placed on.
    pub memory: Vec<MemoryChart>,
    pub class_growth: Vec<Bar>,
    pub retainer: Vec<PathNode>,
}

/// Memory over time: series, trends drawn over the windows they were fitted on, markers.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct MemoryChart {
    pub title: String,
    /// The x axis: what the times are (`UTC`, `process uptime (GC log)`, ...).
    pub x_label: String,
    /// True when x is Unix seconds (the axis shows wall-clock times).
    pub wall_clock: bool,
    pub series: Vec<ChartSeries>,
    pub trends: Vec<ChartTrend>,
    pub markers: Vec<ChartMarker>,
    /// The memory limit, bytes, drawn as a line when known.
    pub limit_bytes: Option<f64>,
    /// One sentence under the chart.
    pub caption: String,
}

/// One series of a memory chart.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ChartSeries {
    pub name: String,
    /// `line`, `points` (the fitted floor) or `markers` (snapshot totals).
    pub style: String,
    /// Colour slot (the same source keeps its colour in every chart).
    pub color: usize,
    /// `(seconds on the chart's clock, bytes)`.
    pub points: Vec<(f64, f64)>,
}

/// A trend line, drawn only over the window it was fitted on.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ChartTrend {
    pub name: String,
    pub color: usize,
    /// `(x0, bytes0, x1, bytes1)` on the chart's clock.
    pub line: (f64, f64, f64, f64),
    /// The rate in words (`562 MiB/h`).
    pub label: String,
}

/// A labelled vertical mark (snapshot, load start or end, OOM).
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ChartMarker {
    pub x: f64,
    pub label: String,
}

/// One bar of the growth-per-class chart.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Bar {
    pub label: String,
    /// Retained bytes added (the bytes that leak).
    pub bytes: f64,
    pub instances: i64,
    /// The bar's figures in words (`+1,620 listeners, +13.0 MiB`).
    pub text: String,
}

/// One node of the drawn retainer path: the holder, and the edge taken out of it.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct PathNode {
    pub label: String,
    /// The edge to the next node (empty for the leaked object at the end).
    pub edge: String,
    pub suspect: bool,
}

/// The generated alert rules and dashboard.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct AlertsSection {
    pub config: AlertConfig,
    pub rules: Vec<Rule>,
    pub rules_file: String,
    pub dashboard_file: String,
    pub dashboard_uid: String,
    pub dashboard_panels: Vec<String>,
    /// Why the growth threshold is what it is.
    pub threshold_reason: String,
}
