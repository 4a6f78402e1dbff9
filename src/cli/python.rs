//! `memsleuth python`: leaking Python lines from a Scalene JSON or a memray `--leaks` CSV.

use crate::cli::Format;
use crate::series::python::{self, PythonReport};
use std::fmt::Write;

/// Flags of `memsleuth python`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Scalene JSON (`scalene run -o FILE`) or memray CSV (`memray transform csv --leaks`)
    pub file: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let (name, text) = crate::input::load_text(&args.file)?;
    let mut report = python::analyze(&name, &text)?;
    fill_code(&mut report);
    match args.format {
        Format::Json => crate::cli::print_json(&report)?,
        Format::Text => crate::cli::print_text(&render_text(&report))?,
    }
    Ok(0)
}

/// memray does not carry source text: read the line from the file when it is on this machine.
pub fn fill_code(report: &mut PythonReport) {
    let mut cache: std::collections::BTreeMap<String, Option<Vec<String>>> = Default::default();
    for f in report.findings.iter_mut().filter(|f| f.code.is_none()) {
        let lines = cache.entry(f.file.clone()).or_insert_with(|| {
            std::fs::read_to_string(&f.file)
                .ok()
                .map(|s| s.lines().map(str::to_string).collect())
        });
        if let Some(lines) = lines {
            f.code = (f.line as usize)
                .checked_sub(1)
                .and_then(|i| lines.get(i))
                .map(|s| s.trim_end().to_string());
        }
    }
}

fn render_text(r: &PythonReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} ({}): {} line(s) ranked by leak likelihood",
        r.file,
        r.source,
        r.findings.len()
    );
    for f in &r.findings {
        let _ = writeln!(
            s,
            "  {:.3}  {}:{}  {} bytes  {}",
            f.likelihood,
            f.file,
            f.line,
            f.leaked_bytes,
            f.code.as_deref().unwrap_or("").trim()
        );
        let _ = writeln!(s, "         {}", f.evidence);
    }
    if let Some(g) = r.growth_mb_per_hour {
        let _ = writeln!(
            s,
            "growth: {g:.1} MB/h, verdict: {} ({})",
            r.verdict.map_or("-", |v| v.as_str()),
            r.reason.as_deref().unwrap_or("")
        );
    }
    s
}
