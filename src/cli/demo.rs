//! `memsleuth demo`: the main job on built-in evidence. The binary embeds real evidence of a
//! small leaky Node service (`demo/service.js`, made by `demo/make-demo-evidence.sh`): a
//! capture (`capture.json`: a load test with request counts and a forced-GC heap figure at
//! each checkpoint), three gzipped heap snapshots taken at checkpoints, the service's
//! `--trace-gc` log, and a Prometheus range of its heap. The demo writes that evidence into
//! `DIR/evidence/` under the names Node gave the snapshots (they carry the time each was
//! taken), then runs exactly what
//! `memsleuth report --capture DIR/evidence --metrics-file DIR/evidence/prometheus-range.json.gz`
//! runs.

use super::report::{self as report_cmd, Args as ReportArgs};
use crate::report::evidence;
use anyhow::Context;
use std::collections::BTreeMap;
use std::path::PathBuf;

const MANIFEST: &str = include_str!("../../demo/evidence/MANIFEST");
const CAPTURE: &[u8] = include_bytes!("../../demo/evidence/capture.json");
const SNAPSHOTS: [&[u8]; 3] = [
    include_bytes!("../../demo/evidence/snapshot-1.heapsnapshot.gz"),
    include_bytes!("../../demo/evidence/snapshot-2.heapsnapshot.gz"),
    include_bytes!("../../demo/evidence/snapshot-3.heapsnapshot.gz"),
];
/// The demo service's source, written beside the snapshots so the report can quote it.
const SERVICE_JS: &[u8] = include_bytes!("../../demo/service.js");
const GC_LOG: &[u8] = include_bytes!("../../demo/evidence/gc.log.gz");
const PROMETHEUS_RANGE: &[u8] = include_bytes!("../../demo/evidence/prometheus-range.json.gz");

/// Flags of `memsleuth demo`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where to write the demo's evidence and report
    #[arg(long, value_name = "DIR", default_value = "memsleuth-demo")]
    pub out: PathBuf,
}

/// `key=value` lines of the embedded MANIFEST.
fn manifest() -> BTreeMap<&'static str, &'static str> {
    MANIFEST
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

/// A bare file name from the embedded capture.json, or `fallback` for anything else.
fn bare(name: &str, fallback: &str) -> String {
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        fallback.to_string()
    } else {
        name.to_string()
    }
}

/// Writes the embedded evidence into `dir/evidence/` and returns the `report` flags that use it.
pub fn demo_report_args(out: &std::path::Path) -> anyhow::Result<ReportArgs> {
    let m = manifest();
    let capture = evidence::parse_capture("demo/evidence/capture.json", CAPTURE)?;
    let ev_dir = out.join("evidence");
    std::fs::create_dir_all(&ev_dir)
        .with_context(|| format!("cannot create {}", ev_dir.display()))?;
    let write = |name: &str, bytes: &[u8]| -> anyhow::Result<String> {
        let p = ev_dir.join(name);
        crate::input::write_atomic(&p, |w| w.write_all(bytes))?;
        Ok(p.to_string_lossy().into_owned())
    };
    write("capture.json", CAPTURE)?;
    for (i, bytes) in SNAPSHOTS.iter().enumerate() {
        let fallback = format!("snapshot-{}.heapsnapshot", i + 1);
        let name = bare(
            capture.snapshots.get(i).map(String::as_str).unwrap_or(""),
            &fallback,
        );
        write(&format!("{name}.gz"), bytes)?;
    }
    write("service.js", SERVICE_JS)?;
    let gc_name = bare(capture.gc_log.as_deref().unwrap_or(""), "gc.log");
    write(&format!("{gc_name}.gz"), GC_LOG)?;
    let range = write("prometheus-range.json.gz", PROMETHEUS_RANGE)?;
    Ok(ReportArgs {
        capture: Some(ev_dir.to_string_lossy().into_owned()),
        metrics_file: Some(range),
        service: m.get("service").map(|s| s.to_string()),
        investigator: None,
        memory_limit: m.get("memory_limit_bytes").and_then(|s| s.parse().ok()),
        out: out.to_path_buf(),
        ..ReportArgs::default()
    })
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let rargs = demo_report_args(&args.out)?;
    let ev = report_cmd::gather_evidence(&rargs)?;
    let w = report_cmd::write_report(&args.out, &ev)?;
    let mut text = report_cmd::summary(&w);
    text.push_str(&format!(
        "The demo's evidence (a leaky Node service under a load test, made by demo/make-demo-evidence.sh) is in {}.\nOpen {} in a browser.\n",
        args.out.join("evidence").display(),
        args.out.join("report.html").display()
    ));
    super::print_text(&text)?;
    Ok(0)
}
