//! The investigation: one struct per section of `report-template.md`, filled by
//! [`super::analysis::investigate`]. Every figure and sentence is already computed here;
//! the renderers only lay it out.
//!
//! # JSON schema (`report.json`)
//!
//! `report.json` is this [`Investigation`] serialized with serde, field names as in the
//! Rust types (snake_case), `schema` = `"memsleuth.report.v1"`. Text fields are final
//! sentences (the Markdown and HTML show the same strings). Conventions:
//! - a [`Check`] is a template checkbox: `{"checked": bool, "text": str}`;
//! - a [`Field`] is a labelled value: `{"label": str, "value": str}`; a value that the
//!   evidence cannot give starts with `"not available: "` and says what would show it;
//! - numbers that charts use are raw (`mb`, `seconds`), with the unit in the field name;
//! - times are strings `YYYY-MM-DD HH:MM:SS` taken from the evidence, never from the clock.
//!
//! Top level: `schema`, `header`, `executive_summary`, `timeline`, `symptoms`,
//! `investigation`, `root_cause`, `fix`, `deployment`, `lessons`, `related`, `appendix`,
//! `footer`, `charts`, `alerts`, `evidence_used`.

use super::alerts::{AlertConfig, Rule};
use serde::Serialize;

/// The schema id written in `report.json`.
pub const SCHEMA: &str = "memsleuth.report.v1";

/// The whole report.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Investigation {
    pub schema: String,
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
    /// The growth rate used for the impact, MB per hour (null when no evidence shows it).
    pub growth_mb_per_hour: Option<f64>,
    /// Projected hours until the memory limit is reached (null when unknown).
    pub hours_to_oom: Option<f64>,
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
    pub mb_delta: f64,
}

/// One of the top memory consumers.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Consumer {
    pub rank: usize,
    pub class: String,
    pub retained_mb: f64,
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

/// Data of the HTML charts, all computed by the analysis.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Charts {
    pub heap: Option<HeapChart>,
    pub class_growth: Vec<Bar>,
    pub retainer: Vec<PathNode>,
}

/// Memory over time with its trend line.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct HeapChart {
    pub title: String,
    /// Where the points come from.
    pub source: String,
    /// `(seconds since the first point, MB)`.
    pub points: Vec<(f64, f64)>,
    /// Least-squares trend over the points: `(x0, y0, x1, y1)` in the same units.
    pub trend: Option<(f64, f64, f64, f64)>,
    /// The trend's slope, MB per hour.
    pub trend_mb_per_hour: Option<f64>,
    /// The memory limit, MB, drawn as a line when known.
    pub limit_mb: Option<f64>,
}

/// One bar of the growth-per-class chart.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Bar {
    pub label: String,
    pub mb: f64,
    pub instances: i64,
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
