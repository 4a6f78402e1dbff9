//! `memsleuth report`: gathers the evidence ([`gather_evidence`]), runs the analysis
//! (`report::analysis::investigate`: reconciliation, then the sections) and writes
//! `report.md`, `report.html`, `report.json`, `alerts.rules.yml` and
//! `grafana-dashboard.json` into `--out`. A report needs evidence: with none, it is an error.

use crate::report::evidence::{
    self, CaptureEvidence, Evidence, GcEvidence, MetricsEvidence, PythonEvidence, SeverityChoice,
    SnapshotFile,
};
use crate::report::{analysis, html, json, markdown, model::Investigation};
use anyhow::Context;
use std::path::{Path, PathBuf};

/// Flags of `memsleuth report`.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct Args {
    /// Heap snapshots of one process, oldest first (.heapsnapshot, gzipped or not)
    #[arg(long, num_args = 1.., value_name = "S")]
    pub snapshots: Vec<String>,
    /// A `node --trace-gc` log of the service
    #[arg(long, value_name = "F")]
    pub gc_log: Option<String>,
    /// A Prometheus server scraping the service
    #[arg(long, value_name = "URL", conflicts_with = "metrics_file")]
    pub prometheus: Option<String>,
    /// PromQL selecting the memory series (default: the known memory metrics found)
    #[arg(long, value_name = "Q", requires = "prometheus")]
    pub query: Option<String>,
    /// How far back to look in Prometheus (e.g. 6h)
    #[arg(long, value_name = "D", requires = "prometheus")]
    pub since: Option<String>,
    /// A saved Prometheus query_range JSON instead of a live server
    #[arg(long, value_name = "F")]
    pub metrics_file: Option<String>,
    /// Python memory evidence, as `memsleuth python` reads it: Scalene JSON, memray CSV,
    /// tracemalloc statistics text or `Snapshot.dump()` files, memory_profiler output, probe
    /// checkpoints (several tracemalloc files or checkpoints are points in time, oldest first)
    #[arg(long, num_args = 1.., value_name = "F")]
    pub python: Vec<String>,
    /// A capture directory (capture.json with request counts; its snapshots and GC log are
    /// used when --snapshots / --gc-log are not given)
    #[arg(long, value_name = "DIR")]
    pub capture: Option<String>,
    /// A capture from before the fix: the report investigates its leak, and shows --capture
    /// as the run after the fix (Load Test Results, Post-Deployment Metrics, Improvement)
    #[arg(long, value_name = "DIR", requires = "capture")]
    pub before: Option<String>,
    /// An application or system log with OOM crashes, OOM kills or restarts (repeatable)
    #[arg(long, value_name = "F")]
    pub app_log: Vec<String>,
    /// The service's name (also the `job` label in the generated alerts)
    #[arg(long)]
    pub service: Option<String>,
    /// Who investigates
    #[arg(long)]
    pub investigator: Option<String>,
    /// Severity: computed from the evidence (auto), or set
    #[arg(long, value_enum, default_value_t = SeverityChoice::Auto)]
    pub severity: SeverityChoice,
    /// The memory limit (bytes, or with a unit: 512M, 2G; K/M/G are KiB/MiB/GiB)
    #[arg(long, value_name = "SIZE", value_parser = parse_bytes)]
    pub memory_limit: Option<u64>,
    /// Directory for the report files
    #[arg(long, value_name = "DIR", default_value = "memsleuth-report")]
    pub out: PathBuf,
    /// Saved outputs of the analysis commands (hidden flags; boxed to keep `Args` small)
    #[command(flatten)]
    pub saved: Box<SavedOutputs>,
}

/// Hidden flags: the saved JSON outputs of `leaks`, `gc`, `metrics` and `python`, used
/// instead of running those analyses (and by tests, with hand-written evidence).
#[derive(clap::Args, Debug, Default, Clone)]
pub struct SavedOutputs {
    /// Saved output of `memsleuth leaks --format json` (instead of analysing --snapshots)
    #[arg(long, value_name = "F", hide = true)]
    pub leaks_json: Option<String>,
    /// Saved output of `memsleuth gc --format json`
    #[arg(long, value_name = "F", hide = true)]
    pub gc_json: Option<String>,
    /// Saved output of `memsleuth metrics --format json`
    #[arg(long, value_name = "F", hide = true)]
    pub metrics_json: Option<String>,
    /// Load-test results: JSON `{"lines": ["Before fix: ...", "After fix: ..."]}`
    #[arg(long, value_name = "F", hide = true)]
    pub load_test_json: Option<String>,
    /// Saved output of `memsleuth python --format json` (repeatable)
    #[arg(long, value_name = "F", hide = true)]
    pub python_json: Vec<String>,
}

/// Parses a byte count: `268435456`, `256M`, `256MiB`, `1.5G` (`crate::units::parse_size`:
/// K/M/G are powers of 1024); a limit must be at least one byte.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    match crate::units::parse_size(s)? {
        0 => Err(format!("{s:?} is not a usable memory limit")),
        v => Ok(v),
    }
}

// The analyses behind the evidence flags: the same library calls as the `leaks`, `gc`,
// `metrics` and `python` commands, converted to the report's views through their JSON.

fn view<T: serde::Serialize, V: serde::de::DeserializeOwned>(out: &T) -> anyhow::Result<V> {
    Ok(serde_json::from_value(serde_json::to_value(out)?)?)
}

/// `--snapshots`: the leak finder (`memsleuth leaks S1 S2 S3`).
fn leaks_from_snapshots(paths: &[String]) -> anyhow::Result<Option<evidence::LeaksView>> {
    if paths.len() < 2 {
        return Ok(None);
    }
    Ok(Some(view(&super::leaks::find_leaks(paths, 1)?)?))
}

/// `--gc-log`: the GC log analysis (`memsleuth gc LOG`), given the log's name and text.
fn gc_from_log(name: &str, text: &str) -> anyhow::Result<Option<evidence::GcView>> {
    let r = crate::series::gclog::analyze(name, text)?;
    Ok(Some(view(&r)?))
}

/// `--prometheus URL [--query Q] [--since D]` or `--metrics-file F` (`memsleuth metrics`).
fn metrics_from_source(
    prometheus: Option<&str>,
    query: Option<&str>,
    since: Option<&str>,
    file: Option<&str>,
) -> anyhow::Result<Option<evidence::MetricsView>> {
    let args = super::metrics::Args {
        prometheus: prometheus.map(str::to_string),
        file: file.map(str::to_string),
        query: query.map(str::to_string),
        since: since.map(str::to_string),
        start: None,
        end: None,
        step: None,
        timeout: "30s".into(),
        format: super::Format::Json,
    };
    let r = super::metrics::fetch(&args)?;
    Ok(Some(metrics_view(&r)?))
}

/// The report's view of a metrics analysis (points for the charts, p95 in seconds). Each
/// series goes through its JSON, so fields the `metrics` command adds (contract C3) are read
/// by name.
fn metrics_view(
    r: &crate::series::prometheus::MetricsReport,
) -> anyhow::Result<evidence::MetricsView> {
    use evidence::{MetricSeries, QueryList};
    let mut series = Vec::new();
    for s in &r.series {
        let mut v = serde_json::to_value(s)?;
        if let Some(o) = v.as_object_mut() {
            let values = o
                .remove("values")
                .unwrap_or(serde_json::Value::Array(Vec::new()));
            o.insert("samples".into(), values);
            if let Some(verdict) = o.get("verdict").cloned()
                && !verdict.is_string()
            {
                o.insert(
                    "verdict".into(),
                    serde_json::Value::String(verdict.to_string()),
                );
            }
        }
        series.push(serde_json::from_value::<MetricSeries>(v)?);
    }
    Ok(evidence::MetricsView {
        series,
        incidents: serde_json::from_value(serde_json::to_value(&r.incidents)?)?,
        metric: r.metric.clone(),
        queries: QueryList::Many(r.queries.clone()),
        gc_pause_p95_seconds: r.gc_pause_p95_ms.map(|ms| ms / 1000.0),
    })
}

/// `--python F...`: each profile as `memsleuth python F` reads it, detected by content;
/// tracemalloc files (statistics text, `Snapshot.dump()`) and probe checkpoints given together
/// are points in time of one run, oldest first (`memsleuth python F1 F2 F3`). Returns the
/// first file of each set with its analysis.
fn python_from_profiles(paths: &[String]) -> anyhow::Result<Vec<(String, evidence::PythonView)>> {
    use crate::python::Kind;
    let mut inputs = Vec::new();
    for p in paths {
        let inp = crate::input::load(p)?;
        inputs.push((inp.name, inp.bytes.to_vec()));
    }
    // Sets of input indexes; a set of points in time is keyed by its kind's name.
    let mut sets: Vec<(Option<&'static str>, Vec<usize>)> = Vec::new();
    for (i, (_, bytes)) in inputs.iter().enumerate() {
        let points = crate::python::detect(bytes)
            .filter(|k| {
                matches!(
                    k,
                    Kind::TracemallocText | Kind::TracemallocDump | Kind::Probe
                )
            })
            .map(Kind::name);
        match sets
            .iter_mut()
            .find(|(k, _)| points.is_some() && *k == points)
        {
            Some(set) => set.1.push(i),
            None => sets.push((points, vec![i])),
        }
    }
    let mut out = Vec::new();
    for (_, set) in sets {
        let these: Vec<(String, Vec<u8>)> = set.iter().map(|&i| inputs[i].clone()).collect();
        let mut r = crate::python::analyze_inputs(&these, None, &super::python::read_source)?;
        super::python::fill_code(&mut r);
        out.push((paths[set[0]].clone(), view(&r)?));
    }
    Ok(out)
}

/// What to pass when no evidence was given.
pub const NO_EVIDENCE: &str = "no evidence given: pass at least one of --snapshots S1 S2 S3 (heap snapshots), --gc-log F (node --trace-gc output), --prometheus URL or --metrics-file F (Prometheus), --python F (Scalene, memray, tracemalloc, memory_profiler), --capture DIR (a load test with capture.json), --app-log F (a log with OOM crashes or restarts)";

/// A file inside a capture directory: the name as written, else with `.gz`.
fn in_capture(dir: &Path, name: &str) -> Option<String> {
    // capture.json names files inside DIR: a bare name, never a path out of it
    if name.contains(['/', '\\']) || name.starts_with('.') {
        return None;
    }
    [name.to_string(), format!("{name}.gz")]
        .into_iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
}

/// The analysis of a Python capture's probe checkpoints: its `python.json` (named by
/// `python_probe`), else the checkpoints analysed now (a capture taken with `--no-report`).
fn python_of_capture(
    dir: &Path,
    view: &evidence::CaptureView,
    name: &str,
    bytes: &[u8],
    out: &Path,
) -> anyhow::Result<PythonEvidence> {
    if let Some(f) = view
        .python_probe
        .as_deref()
        .and_then(|p| in_capture(dir, p))
    {
        let inp = crate::input::load(&f)?;
        return Ok(PythonEvidence {
            file: shown(&f, out),
            view: evidence::parse_python(&inp.name, &inp.bytes)?,
        });
    }
    let capture = crate::live::format::parse(name, bytes)?;
    let r = super::capture::analyse_probe(dir, &capture)?;
    Ok(PythonEvidence {
        file: shown(&dir.join("capture.json").to_string_lossy(), out),
        view: serde_json::from_value(serde_json::to_value(&r)?)?,
    })
}

/// Times (ms, log clock) of the GCs V8 ran to take a heap snapshot (reason `heap profiler`).
fn snapshot_gcs(text: &str) -> Vec<f64> {
    crate::series::gclog::parse(text)
        .events
        .iter()
        .filter(|e| e.reason.contains("heap profiler"))
        .map(|e| e.t_ms)
        .collect()
}

/// The source files of the findings' locations: at the path the snapshot names, else a file
/// of the same name beside the snapshots or in the capture directory. At most 4 MiB each.
fn finding_sources<'a>(
    findings: impl Iterator<Item = &'a evidence::FindingView>,
    dirs: &[PathBuf],
) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    for f in findings {
        let Some(l) = &f.location else { continue };
        if out.contains_key(&l.file) {
            continue;
        }
        let path = l.file.strip_prefix("file://").unwrap_or(&l.file);
        let base = Path::new(path).file_name().map(|b| b.to_owned());
        let candidates = std::iter::once(PathBuf::from(path))
            .chain(dirs.iter().filter_map(|d| base.as_ref().map(|b| d.join(b))));
        for c in candidates {
            if let Ok(meta) = std::fs::metadata(&c)
                && meta.is_file()
                && meta.len() <= 4 << 20
                && let Ok(text) = std::fs::read_to_string(&c)
            {
                out.insert(l.file.clone(), text);
                break;
            }
        }
    }
    out
}

/// `path` relative to the report directory when it lies inside it (`evidence/gc.log.gz`
/// rather than where the report happened to be written from).
fn shown(path: &str, out: &Path) -> String {
    let p = Path::new(path);
    let abs = |x: &Path| std::fs::canonicalize(x).ok();
    match (abs(p), abs(out)) {
        (Some(a), Some(o)) => match a.strip_prefix(&o) {
            Ok(rel) if !rel.as_os_str().is_empty() => rel.to_string_lossy().into_owned(),
            _ => path.to_string(),
        },
        _ => path.to_string(),
    }
}

/// Turns the command line into the evidence the report is built from.
pub fn gather_evidence(args: &Args) -> anyhow::Result<Evidence> {
    let mut ev = Evidence {
        service: args.service.clone(),
        investigator: args.investigator.clone(),
        severity: args.severity,
        memory_limit_bytes: args.memory_limit,
        ..Evidence::default()
    };
    let out = &args.out;

    // A capture: capture.json, and its snapshots and GC log unless given otherwise.
    let mut snapshots = args.snapshots.clone();
    let mut gc_log = args.gc_log.clone();
    // A Python capture's evidence is the analysis of its probe checkpoints (`python.json`).
    let mut probe_analysis: Option<PythonEvidence> = None;
    // With --before, the leak investigated is the one before the fix; --capture is the run
    // after it, compared below.
    if let Some(dir) = args.before.as_ref().or(args.capture.as_ref()) {
        let d = Path::new(dir);
        let path = d.join("capture.json");
        let inp = crate::input::load(&path.to_string_lossy()).with_context(|| {
            format!("{dir}: not a capture directory (no readable capture.json)")
        })?;
        let view = evidence::parse_capture(&inp.name, &inp.bytes)?;
        if snapshots.is_empty() {
            snapshots = view
                .snapshots
                .iter()
                .filter_map(|s| in_capture(d, s))
                .collect();
        }
        if gc_log.is_none() {
            gc_log = view.gc_log.as_deref().and_then(|g| in_capture(d, g));
        }
        if view.runtime.as_deref() == Some("python") && args.saved.python_json.is_empty() {
            probe_analysis = Some(python_of_capture(d, &view, &inp.name, &inp.bytes, out)?);
        }
        ev.notes
            .extend(view.notes.iter().map(|n| format!("capture: {n}")));
        ev.capture = Some(CaptureEvidence {
            dir: shown(dir, out),
            started_unix: view.started_at.as_deref().and_then(evidence::parse_rfc3339),
            view,
        });
    }

    for p in &snapshots {
        let meta = std::fs::metadata(p).with_context(|| format!("{p}: cannot read"))?;
        ev.snapshots.push(SnapshotFile {
            file: shown(p, out),
            file_bytes: Some(meta.len()),
            taken: evidence::snapshot_time_from_name(p),
        });
    }
    if let Some(f) = &args.saved.leaks_json {
        let inp = crate::input::load(f)?;
        ev.leaks = Some(evidence::parse_leaks(&inp.name, &inp.bytes)?);
    } else if !snapshots.is_empty() {
        match leaks_from_snapshots(&snapshots)? {
            Some(l) => ev.leaks = Some(l),
            None => ev.notes.push(
                "One heap snapshot (--snapshots) is not enough to find a leak: give 2 or more of the same process (3 a few minutes apart is best)".into(),
            ),
        }
    }

    let mut gc_text: Option<(String, String)> = None;
    if let Some(f) = &gc_log {
        gc_text = Some(crate::input::load_text(f)?);
    }
    let gc_view = if let Some(f) = &args.saved.gc_json {
        let inp = crate::input::load(f)?;
        Some((inp.name.clone(), evidence::parse_gc(&inp.name, &inp.bytes)?))
    } else if let Some((name, text)) = &gc_text {
        gc_from_log(name, text)?.map(|v| (name.clone(), v))
    } else {
        None
    };
    if let Some((json_name, view)) = gc_view {
        let (file, excerpt, snapshot_gcs_ms) = match &gc_text {
            Some((name, text)) => (
                shown(name, out),
                evidence::gc_log_excerpt(text),
                snapshot_gcs(text),
            ),
            None => (json_name, Vec::new(), Vec::new()),
        };
        ev.gc = Some(GcEvidence {
            file,
            view,
            excerpt,
            snapshot_gcs_ms,
        });
    }

    if let Some(f) = &args.saved.metrics_json {
        let inp = crate::input::load(f)?;
        ev.metrics = Some(MetricsEvidence {
            source: args
                .prometheus
                .clone()
                .or_else(|| args.metrics_file.as_deref().map(|m| shown(m, out)))
                .unwrap_or_else(|| inp.name.clone()),
            view: evidence::parse_metrics(&inp.name, &inp.bytes)?,
        });
    } else if args.prometheus.is_some() || args.metrics_file.is_some() {
        let source = args
            .prometheus
            .clone()
            .or_else(|| args.metrics_file.as_deref().map(|m| shown(m, out)))
            .unwrap_or_default();
        if let Some(view) = metrics_from_source(
            args.prometheus.as_deref(),
            args.query.as_deref(),
            args.since.as_deref(),
            args.metrics_file.as_deref(),
        )? {
            ev.metrics = Some(MetricsEvidence { source, view });
        }
    }

    if let Some(f) = &args.saved.load_test_json {
        let inp = crate::input::load(f)?;
        ev.load_test = Some(evidence::parse_load_test(&inp.name, &inp.bytes)?);
    }
    for f in &args.saved.python_json {
        let inp = crate::input::load(f)?;
        ev.python.push(PythonEvidence {
            file: inp.name.clone(),
            view: evidence::parse_python(&inp.name, &inp.bytes)?,
        });
    }
    ev.python.extend(probe_analysis);
    for (f, view) in python_from_profiles(&args.python)? {
        ev.python.push(PythonEvidence {
            file: shown(&f, out),
            view,
        });
    }
    // The source files of the findings' locations (Node and Python), for the function
    // around each leaking line: where the finding says, else beside the evidence.
    let mut dirs: Vec<PathBuf> = snapshots
        .iter()
        .chain(args.python.iter())
        .filter_map(|p| Path::new(p).parent().map(|d| d.to_path_buf()))
        .collect();
    if let Some(c) = args.before.as_ref().or(args.capture.as_ref()) {
        dirs.push(PathBuf::from(c));
    }
    let findings = ev
        .leaks
        .iter()
        .flat_map(|l| l.findings.iter())
        .chain(ev.python.iter().flat_map(|p| p.view.leaks.iter()));
    ev.sources = finding_sources(findings, &dirs);
    if let Some(m) = &ev.metrics {
        let incidents: Vec<evidence::Incident> = m
            .view
            .incidents
            .iter()
            .map(|i| i.to_incident(&m.source))
            .collect();
        ev.incidents.extend(incidents);
    }
    for f in &args.app_log {
        let (name, text) = crate::input::load_text(f)?;
        let r = crate::series::applog::analyze(&name, &text)?;
        let shown_name = shown(f, out);
        let v: evidence::AppLogView = serde_json::from_value(serde_json::to_value(&r)?)?;
        ev.incidents
            .extend(v.incidents.iter().map(|i| i.to_incident(&shown_name)));
        ev.app_logs.push(shown_name);
    }
    if let (Some(b), Some(a)) = (&args.before, &args.capture) {
        fix_verification(&mut ev, b, a, out)?;
    }
    if !crate::report::facts::has_evidence(&ev) {
        anyhow::bail!(NO_EVIDENCE);
    }
    Ok(ev)
}

/// `--before B --capture A`: `memsleuth verify --before B --after A`, into the evidence: the
/// load-test lines before and after, the post-deployment fields and the verdict.
fn fix_verification(
    ev: &mut Evidence,
    before: &str,
    after: &str,
    out: &Path,
) -> anyhow::Result<()> {
    let (b, a) = super::verify::load_pair(Path::new(before), Path::new(after), false)?;
    let v = super::verify::compare(&b, &a, None);
    let mut lines = vec!["Before fix:".to_string()];
    lines.extend(v.load_test.before.iter().map(|l| format!("- {l}")));
    lines.push(String::new());
    lines.push("After fix:".into());
    lines.extend(v.load_test.after.iter().map(|l| format!("- {l}")));
    ev.load_test = Some(evidence::LoadTest { lines });
    let pairs = |f: &[crate::report::model::Field]| {
        f.iter()
            .map(|x| (x.label.clone(), x.value.clone()))
            .collect::<Vec<_>>()
    };
    ev.notes.push(format!(
        "Fix verification ({} before, {} after): {}; {}",
        shown(before, out),
        shown(after, out),
        v.verdict,
        v.reasons.join("; ")
    ));
    ev.fix_verification = Some(evidence::FixVerification {
        before_dir: shown(before, out),
        after_dir: shown(after, out),
        verdict: v.verdict.clone(),
        reasons: v.reasons.clone(),
        before_fix: pairs(&v.post_deployment.before),
        after_fix: pairs(&v.post_deployment.after),
        improvement: pairs(&v.improvement),
    });
    Ok(())
}

/// The files a report run wrote.
pub struct Written {
    pub investigation: Investigation,
    pub paths: Vec<PathBuf>,
}

/// Analyses the evidence and writes the five report files into `dir` (atomically, each).
pub fn write_report(dir: &Path, ev: &Evidence) -> anyhow::Result<Written> {
    let inv = analysis::investigate(ev);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut paths = Vec::new();
    for (name, text) in [
        ("report.md", markdown::render(&inv)),
        ("report.html", html::render(&inv)),
        ("report.json", json::render(&inv)),
    ] {
        let p = dir.join(name);
        crate::input::write_atomic(&p, |w| w.write_all(text.as_bytes()))?;
        paths.push(p);
    }
    paths.extend(super::alerts::write_alert_files(dir, &inv.alerts.config)?);
    Ok(Written {
        investigation: inv,
        paths,
    })
}

/// The short summary printed after a run.
pub fn summary(w: &Written) -> String {
    use crate::report::text::plain;
    let inv = &w.investigation;
    let mut s = format!(
        "Memory Leak Investigation Report: {}\nSeverity: {} ({})\nTL;DR: {}\n",
        plain(&inv.header.service),
        inv.header.severity,
        plain(&inv.header.severity_reason),
        plain(&inv.executive_summary.tldr)
    );
    for e in &inv.evidence_used {
        if e.starts_with("Note: ") {
            s.push_str(&format!("{}\n", plain(e)));
        }
    }
    s.push_str("Wrote:\n");
    for p in &w.paths {
        s.push_str(&format!("  {}\n", p.display()));
    }
    s
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let ev = gather_evidence(&args)?;
    let w = write_report(&args.out, &ev)?;
    super::print_text(&summary(&w))?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts() {
        assert_eq!(parse_bytes("268435456"), Ok(268435456));
        assert_eq!(parse_bytes("256M"), Ok(268435456));
        assert_eq!(parse_bytes("256MiB"), Ok(268435456));
        assert_eq!(parse_bytes("1.5G"), Ok(1610612736));
        assert!(parse_bytes("12Q").is_err());
        assert!(parse_bytes("").is_err());
    }
}
