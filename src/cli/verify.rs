//! `memsleuth verify --before DIR --after DIR`: did the fix hold? Reads two captures
//! (`capture.json`, `leaks.json` or the snapshots, `gc.log`), compares them with
//! `live::verify::compare`, prints the comparison (Markdown, or JSON), and exits 0 when the
//! fix holds, 1 when the leak persists, 2 on error.

use super::{Format, print_json, print_text};
use crate::live::capture::{is_plain_name, read_capture};
use crate::live::format::Capture;
use crate::live::verify::{self, GcFigures, Side};
use crate::report::evidence::LeaksView;
use std::path::{Path, PathBuf};

/// Flags of `memsleuth verify`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The capture before the fix (a `memsleuth capture --out` folder)
    #[arg(long, value_name = "DIR")]
    pub before: PathBuf,
    /// The capture after the fix, under the same load
    #[arg(long, value_name = "DIR")]
    pub after: PathBuf,
    /// Growth of the post-GC heap per request the fixed build may keep (bytes; 1K = 1024)
    /// [default: 10 % of the growth before the fix]
    #[arg(long, value_name = "B", value_parser = crate::units::parse_size)]
    pub max_bytes_per_request: Option<u64>,
    /// Run the leak finder on the snapshots again instead of reading leaks.json
    #[arg(long)]
    pub reanalyze: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// One side, read from its folder.
pub struct Loaded {
    pub dir: String,
    pub capture: Capture,
    pub leaks: LeaksView,
    pub gc: Option<GcFigures>,
}

/// The leak finder's output of a capture: its `leaks.json`, or the finder run on its snapshots.
fn leaks_of(dir: &Path, c: &Capture, reanalyze: bool) -> anyhow::Result<LeaksView> {
    if c.runtime == "python" {
        return python_leaks_of(dir, c, reanalyze);
    }
    if !reanalyze && let Some(name) = c.leaks.as_deref().filter(|n| is_plain_name(n)) {
        let p = dir.join(name);
        if p.exists() {
            let inp = crate::input::load(&p.to_string_lossy())?;
            return Ok(crate::report::evidence::parse_leaks(&inp.name, &inp.bytes)?);
        }
    }
    let mut paths = Vec::new();
    for s in &c.snapshots {
        if !is_plain_name(s) {
            anyhow::bail!(
                "{}: snapshot name {s:?} is not a file name inside the folder",
                dir.join("capture.json").display()
            );
        }
        paths.push(dir.join(s).to_string_lossy().into_owned());
    }
    if paths.len() < 2 {
        anyhow::bail!(
            "{}: fewer than two snapshots to look for leaks in",
            dir.display()
        );
    }
    let out = super::leaks::find_leaks(&paths, 1)?;
    Ok(serde_json::from_value(serde_json::to_value(&out)?)?)
}

/// The Python findings of a Python capture (its `python.json`, or the probe's checkpoints
/// analysed again), in the leak finder's shape: they share the JSON contract (C5).
fn python_leaks_of(dir: &Path, c: &Capture, reanalyze: bool) -> anyhow::Result<LeaksView> {
    if !reanalyze && let Some(name) = c.python_probe.as_deref().filter(|n| is_plain_name(n)) {
        let p = dir.join(name);
        if p.exists() {
            let inp = crate::input::load(&p.to_string_lossy())?;
            let view = crate::report::evidence::parse_python(&inp.name, &inp.bytes)?;
            return Ok(LeaksView {
                snapshots: Vec::new(),
                findings: view.leaks,
            });
        }
    }
    let r = super::capture::analyse_probe(dir, c)?;
    let findings = serde_json::from_value(serde_json::to_value(&r.leaks)?)?;
    Ok(LeaksView {
        snapshots: Vec::new(),
        findings,
    })
}

/// GC figures of a capture's GC log, when it has a readable one.
fn gc_of(dir: &Path, c: &Capture) -> Option<GcFigures> {
    let name = c.gc_log.as_deref().filter(|n| is_plain_name(n))?;
    let (file, text) = crate::input::load_text(&dir.join(name).to_string_lossy()).ok()?;
    let r = crate::series::gclog::analyze(&file, &text).ok()?;
    Some(GcFigures {
        pause_p95_ms: r.gc_pause_ms.p95,
        time_in_gc_percent: r.time_in_gc_percent,
        oom: r.oom,
    })
}

/// Reads both captures; the leak finder runs again on both when their leaks.json were
/// written by different memsleuth versions (fingerprints are only comparable within one).
pub fn load_pair(before: &Path, after: &Path, reanalyze: bool) -> anyhow::Result<(Loaded, Loaded)> {
    let (cb, ca) = (read_capture(before)?, read_capture(after)?);
    let again = reanalyze || cb.memsleuth_version != ca.memsleuth_version;
    let load = |dir: &Path, c: Capture| -> anyhow::Result<Loaded> {
        Ok(Loaded {
            dir: dir.to_string_lossy().into_owned(),
            leaks: leaks_of(dir, &c, again)?,
            gc: gc_of(dir, &c),
            capture: c,
        })
    };
    Ok((load(before, cb)?, load(after, ca)?))
}

/// Compares two loaded captures.
pub fn compare(b: &Loaded, a: &Loaded, max_bytes_per_request: Option<u64>) -> verify::Verification {
    fn side(l: &Loaded) -> Side<'_> {
        Side {
            dir: &l.dir,
            capture: &l.capture,
            leaks: &l.leaks,
            gc: l.gc.clone(),
        }
    }
    verify::compare(&side(b), &side(a), max_bytes_per_request.map(|v| v as f64))
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let (b, a) = load_pair(&args.before, &args.after, args.reanalyze)?;
    let v = compare(&b, &a, args.max_bytes_per_request);
    match args.format {
        Format::Json => print_json(&v)?,
        Format::Text => print_text(&verify::markdown(&v))?,
    }
    Ok(if v.verdict == "fixed" { 0 } else { 1 })
}
