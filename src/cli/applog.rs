//! `memsleuth applog`: OOM crashes, OOM kills and restarts found in an application or system
//! log (the `--app-log` evidence of the report).

use crate::cli::Format;
use crate::series::applog::{self, AppLogReport};
use crate::units;
use std::fmt::Write;

/// Flags of `memsleuth applog`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Application, journald, dmesg or `kubectl describe` output (`-` for stdin, gzip allowed)
    pub log: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let (name, text) = crate::input::load_text(&args.log)?;
    let report = applog::analyze(&name, &text)?;
    match args.format {
        Format::Json => crate::cli::print_json(&report)?,
        Format::Text => crate::cli::print_text(&render_text(&report))?,
    }
    Ok(0)
}

fn render_text(r: &AppLogReport) -> String {
    let mut s = String::new();
    let counts: Vec<String> = r
        .counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    let _ = writeln!(
        s,
        "{}: {} lines, {}",
        r.file,
        r.lines,
        if counts.is_empty() {
            "no OOM crash, OOM kill or restart found".to_string()
        } else {
            counts.join(", ")
        }
    );
    for i in &r.incidents {
        let mut figures = Vec::new();
        if let Some(b) = i.heap_used_bytes {
            figures.push(format!("heap {}", units::bytes_u64(b)));
        }
        if let Some(b) = i.heap_limit_bytes {
            figures.push(format!("committed {}", units::bytes_u64(b)));
        }
        if let Some(b) = i.rss_bytes {
            figures.push(format!("RSS {}", units::bytes_u64(b)));
        }
        if let Some(l) = &i.location {
            figures.push(format!("at {l}"));
        }
        if i.count > 1 {
            figures.push(format!("{} times", i.count));
        }
        let who = match (&i.process, i.pid) {
            (Some(p), Some(pid)) => format!(" {p} ({pid})"),
            (Some(p), None) => format!(" {p}"),
            (None, Some(pid)) => format!(" pid {pid}"),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "  line {:>6}  {}{}  {}{}{}",
            i.line.unwrap_or(0),
            i.kind.as_str(),
            who,
            i.source,
            i.time
                .as_deref()
                .map_or(String::new(), |t| format!(" at {t}")),
            if figures.is_empty() {
                String::new()
            } else {
                format!(": {}", figures.join(", "))
            }
        );
    }
    s
}
