//! `memsleuth report`: gathers the evidence ([`gather_evidence`]), runs the analysis
//! (`report::analysis::investigate`) and writes `report.md`, `report.html`, `report.json`,
//! `alerts.rules.yml` and `grafana-dashboard.json` into `--out`.

use crate::report::evidence::{
    self, Evidence, GcEvidence, MetricsEvidence, PythonEvidence, SeverityChoice, SnapshotFile,
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
    /// Scalene JSON or memray `transform csv --leaks` output
    #[arg(long, num_args = 1.., value_name = "F")]
    pub python: Vec<String>,
    /// The service's name (also the `job` label in the generated alerts)
    #[arg(long)]
    pub service: Option<String>,
    /// Who investigates
    #[arg(long)]
    pub investigator: Option<String>,
    /// Severity: computed from growth and time to OOM (auto), or set
    #[arg(long, value_enum, default_value_t = SeverityChoice::Auto)]
    pub severity: SeverityChoice,
    /// The memory limit in bytes (suffixes K, M, G, Ki, Mi, Gi, KB, MB, GB, MiB... allowed)
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes)]
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
fn leaks_from_snapshots(paths: &[String]) -> anyhow::Result<Option<crate::leaks::LeaksOutput>> {
    if paths.len() < 2 {
        return Ok(None);
    }
    Ok(Some(super::leaks::find_leaks(paths, 1)?))
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
    Ok(Some(metrics_view(&r)))
}

/// The report's view of a metrics analysis (points for the charts, p95 in seconds).
fn metrics_view(r: &crate::series::prometheus::MetricsReport) -> evidence::MetricsView {
    use evidence::{MetricSeries, QueryList, SampleValue, Samples};
    evidence::MetricsView {
        series: r
            .series
            .iter()
            .map(|s| MetricSeries {
                labels: s.labels.clone(),
                samples: Samples::Points(
                    s.values
                        .iter()
                        .map(|p| (p[0], SampleValue::Num(p[1])))
                        .collect(),
                ),
                growth_bytes_per_hour: Some(s.growth_bytes_per_hour),
                verdict: s.verdict.as_str().to_string(),
                reason: s.reason.clone(),
            })
            .collect(),
        metric: r.metric.clone(),
        queries: QueryList::Many(r.queries.clone()),
        gc_pause_p95_seconds: r.gc_pause_p95_ms.map(|ms| ms / 1000.0),
    }
}

/// `--python F`: Scalene JSON or memray CSV (`memsleuth python F`).
fn python_from_profile(path: &str) -> anyhow::Result<Option<evidence::PythonView>> {
    let (name, text) = crate::input::load_text(path)?;
    let r = crate::series::python::analyze(&name, &text)?;
    Ok(Some(view(&r)?))
}

fn not_in_build(what: &str, flag: &str, hidden: &str, cmd: &str) -> String {
    format!(
        "{what} ({flag}) not analysed: that analysis is not in this build; give the saved output of `{cmd}` with {hidden} instead"
    )
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

    for p in &args.snapshots {
        let meta = std::fs::metadata(p).with_context(|| format!("{p}: cannot read"))?;
        ev.snapshots.push(SnapshotFile {
            file: p.clone(),
            file_bytes: Some(meta.len()),
            taken: evidence::snapshot_time_from_name(p),
        });
    }
    if let Some(f) = &args.saved.leaks_json {
        let inp = crate::input::load(f)?;
        ev.leaks = Some(evidence::parse_leaks(&inp.name, &inp.bytes)?);
    } else if !args.snapshots.is_empty() {
        match leaks_from_snapshots(&args.snapshots)? {
            Some(l) => ev.leaks = Some(l),
            None => ev.notes.push(not_in_build(
                "Heap snapshots",
                "--snapshots",
                "--leaks-json",
                "memsleuth leaks --format json",
            )),
        }
    }

    let mut gc_text: Option<(String, String)> = None;
    if let Some(f) = &args.gc_log {
        gc_text = Some(crate::input::load_text(f)?);
    }
    let gc_view = if let Some(f) = &args.saved.gc_json {
        let inp = crate::input::load(f)?;
        Some((inp.name.clone(), evidence::parse_gc(&inp.name, &inp.bytes)?))
    } else if let Some((name, text)) = &gc_text {
        match gc_from_log(name, text)? {
            Some(v) => Some((name.clone(), v)),
            None => {
                ev.notes.push(not_in_build(
                    "A GC log",
                    "--gc-log",
                    "--gc-json",
                    "memsleuth gc --format json",
                ));
                None
            }
        }
    } else {
        None
    };
    if let Some((json_name, view)) = gc_view {
        let (file, excerpt) = match &gc_text {
            Some((name, text)) => (name.clone(), evidence::gc_log_excerpt(text)),
            None => (json_name, Vec::new()),
        };
        ev.gc = Some(GcEvidence {
            file,
            view,
            excerpt,
        });
    }

    if let Some(f) = &args.saved.metrics_json {
        let inp = crate::input::load(f)?;
        ev.metrics = Some(MetricsEvidence {
            source: args
                .prometheus
                .clone()
                .or_else(|| args.metrics_file.clone())
                .unwrap_or_else(|| inp.name.clone()),
            view: evidence::parse_metrics(&inp.name, &inp.bytes)?,
        });
    } else if args.prometheus.is_some() || args.metrics_file.is_some() {
        let source = args
            .prometheus
            .clone()
            .or_else(|| args.metrics_file.clone())
            .unwrap_or_default();
        match metrics_from_source(
            args.prometheus.as_deref(),
            args.query.as_deref(),
            args.since.as_deref(),
            args.metrics_file.as_deref(),
        )? {
            Some(view) => ev.metrics = Some(MetricsEvidence { source, view }),
            None => ev.notes.push(not_in_build(
                "Prometheus data",
                if args.prometheus.is_some() {
                    "--prometheus"
                } else {
                    "--metrics-file"
                },
                "--metrics-json",
                "memsleuth metrics --format json",
            )),
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
    for f in &args.python {
        match python_from_profile(f)? {
            Some(view) => ev.python.push(PythonEvidence {
                file: f.clone(),
                view,
            }),
            None => ev.notes.push(not_in_build(
                "A Python profile",
                "--python",
                "--python-json",
                "memsleuth python --format json",
            )),
        }
    }
    Ok(ev)
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
