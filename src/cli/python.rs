//! `memsleuth python`: leaking Python lines, and for probe checkpoints the leaks themselves
//! (pattern, owner, referrer path, line, fix), from any Python memory evidence memsleuth reads.

use crate::cli::Format;
use crate::python::{self, PythonReport};
use crate::units;
use std::fmt::Write;

/// Flags of `memsleuth python`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Scalene JSON, memray CSV (`transform csv --leaks`), tracemalloc statistics text or
    /// `Snapshot.dump()` files, memory_profiler output (`@profile` text, `mprof` .dat), or
    /// memsleuth probe checkpoints. Several tracemalloc files or checkpoints are points in
    /// time, oldest first.
    #[arg(required_unless_present = "write_probe")]
    pub files: Vec<String>,
    /// Request counts at each probe checkpoint, comma-separated (for bytes per request)
    #[arg(long, value_delimiter = ',')]
    pub requests: Vec<u64>,
    /// Write memsleuth's probe into DIR and print the environment that loads it, as shell
    /// `export` lines: `eval "$(memsleuth python --write-probe DIR)"`, then start the service;
    /// `memsleuth capture --pid PID` attaches to it later
    #[arg(long, value_name = "DIR", conflicts_with_all = ["files", "requests"])]
    pub write_probe: Option<std::path::PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Source text of a program file, for code excerpts (files over 4 MiB are skipped).
pub fn read_source(path: &str) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > 4 << 20 {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    if let Some(dir) = &args.write_probe {
        return write_probe(dir);
    }
    let mut inputs = Vec::new();
    for f in &args.files {
        let inp = crate::input::load(f)?;
        inputs.push((inp.name, inp.bytes.to_vec()));
    }
    let requests = (!args.requests.is_empty()).then_some(args.requests.as_slice());
    if let Some(r) = requests
        && r.len() != inputs.len()
    {
        anyhow::bail!(
            "--requests has {} count(s) for {} file(s): give one per checkpoint",
            r.len(),
            inputs.len()
        );
    }
    let mut report = python::analyze_inputs(&inputs, requests, &read_source)?;
    fill_code(&mut report);
    match args.format {
        Format::Json => crate::cli::print_json(&report)?,
        Format::Text => crate::cli::print_text(&render_text(&report))?,
    }
    Ok(0)
}

/// `--write-probe DIR`: the probe written into DIR (with a new token), and the environment
/// that loads it printed for a shell; the caller's own PYTHONPATH stays after the probe's.
fn write_probe(dir: &std::path::Path) -> anyhow::Result<i32> {
    // The service may start in another folder: PYTHONPATH must not be relative.
    let dir = std::path::absolute(dir)?;
    let probe = crate::python::driver::ProbeDir::create(&dir)?;
    let theirs = std::env::var_os("PYTHONPATH");
    let mut o = String::new();
    for (k, v) in probe.env(theirs.as_deref()) {
        let v = v.to_string_lossy().replace('\'', "'\\''");
        let _ = writeln!(o, "export {}='{v}'", k.to_string_lossy());
    }
    crate::cli::print_text(&o)?;
    Ok(0)
}

/// Profiles without source text: read the line from the file when it is on this machine.
pub fn fill_code(report: &mut PythonReport) {
    let mut cache: std::collections::BTreeMap<String, Option<Vec<String>>> = Default::default();
    for f in report.findings.iter_mut().filter(|f| f.code.is_none()) {
        let lines = cache.entry(f.file.clone()).or_insert_with(|| {
            read_source(&f.file).map(|s| s.lines().map(str::to_string).collect())
        });
        if let Some(lines) = lines {
            f.code = (f.line as usize)
                .checked_sub(1)
                .and_then(|i| lines.get(i))
                .map(|s| s.trim_end().to_string());
        }
    }
}

fn growth_line(r: &PythonReport) -> Option<String> {
    let change = r.change_bytes?;
    let span = r.span_seconds?;
    let what = if r.too_short_for_rate {
        format!(
            "{} over {span:.0} s (too short for a rate per hour)",
            units::bytes_delta(change)
        )
    } else {
        let rate = r.growth_bytes_per_hour.unwrap_or(0.0);
        match (r.growth_low_bytes_per_hour, r.growth_high_bytes_per_hour) {
            (Some(lo), Some(hi)) if lo != hi => format!(
                "{} (95% interval {} to {}) over {span:.0} s",
                units::rate_per_hour(rate),
                units::rate_per_hour(lo),
                units::rate_per_hour(hi)
            ),
            _ => format!("{} over {span:.0} s", units::rate_per_hour(rate)),
        }
    };
    Some(what)
}

fn render_text(r: &PythonReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} ({}): {} line(s) ranked by leak likelihood",
        r.files.join(", "),
        r.source,
        r.findings.len()
    );
    if !r.checkpoints.is_empty() {
        let _ = writeln!(s, "checkpoints:");
        for c in &r.checkpoints {
            let _ = writeln!(
                s,
                "  #{:<3} {:>8.1} s  traced {:>10}  rss {:>10}  fds {:>5}  threads {:>3}{}",
                c.seq,
                c.seconds,
                c.traced_bytes.map_or("-".into(), units::bytes_u64),
                c.rss_bytes.map_or("-".into(), units::bytes_u64),
                c.open_fds.map_or("-".into(), |f| f.to_string()),
                c.threads,
                c.requests
                    .map(|q| format!("  after {q} requests"))
                    .unwrap_or_default()
            );
        }
    }
    for (i, f) in r.leaks.iter().enumerate() {
        let _ = writeln!(
            s,
            "\nleak {}: {} — {} {}(s) of {}, {}",
            i + 1,
            f.pattern.id(),
            f.count,
            f.unit,
            f.class,
            units::bytes_u64(f.retained_bytes)
        );
        if let Some(o) = &f.owner {
            let _ = writeln!(s, "  owner: {} ({})", o.name, o.kind);
        }
        if let Some(l) = &f.library {
            let _ = writeln!(s, "  library: {} (holder {})", l.name, l.holder);
        }
        let _ = writeln!(s, "  why: {}", f.reason);
        let path: Vec<String> = f
            .retainer_path
            .iter()
            .map(|p| {
                if p.holder.starts_with('(') {
                    format!("{} {}", p.edge_type, p.edge)
                } else if p.edge_type == "key" || p.edge_type == "index" || p.edge.starts_with('[')
                {
                    format!("{}{}", p.holder, p.edge)
                } else if p.edge_type == "internal" {
                    format!("{} (internal)", p.holder)
                } else {
                    format!("{} .{}", p.holder, p.edge)
                }
            })
            .collect();
        let _ = writeln!(s, "  path: {} -> {}", path.join(" -> "), f.class);
        if let Some(l) = &f.location {
            let _ = writeln!(
                s,
                "  at {}:{} ({}){}",
                l.file,
                l.line,
                f.location_source.as_deref().unwrap_or("-"),
                f.code
                    .as_deref()
                    .map(|c| format!(": {c}"))
                    .unwrap_or_default()
            );
        }
        if let Some(l) = &f.library_location {
            let _ = writeln!(s, "  inside the library at {}:{}", l.file, l.line);
        }
        let growth: Vec<String> = f
            .growth_bytes
            .iter()
            .map(|b| units::bytes_u64(*b))
            .collect();
        let _ = writeln!(s, "  per checkpoint: {}", growth.join(" -> "));
        let _ = writeln!(s, "  fix: {}", f.suggestion);
    }
    if !r.leaks.is_empty() {
        s.push('\n');
    }
    for f in &r.findings {
        let _ = writeln!(
            s,
            "  {:.3}  {}:{}  {}  {}",
            f.likelihood,
            f.file,
            f.line,
            f.leaked_bytes
                .map_or("retained ?".to_string(), units::bytes_u64),
            f.code.as_deref().unwrap_or("").trim()
        );
        let _ = writeln!(s, "         {}", f.evidence);
    }
    for t in &r.types {
        let counts: Vec<String> = t
            .counts
            .iter()
            .map(|c| c.map_or("?".into(), |v| v.to_string()))
            .collect();
        let _ = writeln!(s, "  type {} grows: {}", t.type_name, counts.join(" -> "));
    }
    for b in &r.bounded {
        let _ = writeln!(s, "  bounded: {b}");
    }
    if let Some(g) = growth_line(r) {
        let _ = writeln!(s, "growth: {g}");
    }
    if let Some(b) = r.bytes_per_request {
        let _ = writeln!(s, "per request: {}", units::bytes_delta(b));
    }
    if let Some(v) = r.verdict {
        let _ = writeln!(s, "verdict: {v} ({})", r.reason.as_deref().unwrap_or(""));
    }
    for n in &r.notes {
        let _ = writeln!(s, "note: {n}");
    }
    s
}
