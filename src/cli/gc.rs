//! `memsleuth gc`: post-GC heap growth, GC pauses and a verdict from a `--trace-gc` log.

use crate::cli::Format;
use crate::series::gclog::{self, GcReport};
use std::fmt::Write;

/// Flags of `memsleuth gc`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// `node --trace-gc` output (`-` for stdin, gzip allowed)
    pub log: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let (name, text) = crate::input::load_text(&args.log)?;
    let report = gclog::analyze(&name, &text)?;
    if report.unparsed_lines > 0 {
        eprintln!(
            "memsleuth: warning: {}: {} GC-like line(s) could not be read (first at line {})",
            report.file,
            report.unparsed_lines,
            report.unparsed_examples.first().map_or(0, |u| u.line)
        );
    }
    match args.format {
        Format::Json => crate::cli::print_json(&report)?,
        Format::Text => crate::cli::print_text(&render_text(&report))?,
    }
    Ok(0)
}

fn render_text(r: &GcReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: {} GC events over {:.1} s",
        r.file, r.events, r.duration_s
    );
    let types: Vec<String> = r
        .events_by_type
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let _ = writeln!(s, "  types:            {}", types.join(", "));
    let _ = writeln!(
        s,
        "  GC pause ms:      p50 {:.2}  p95 {:.2}  p99 {:.2}  max {:.2}",
        r.gc_pause_ms.p50, r.gc_pause_ms.p95, r.gc_pause_ms.p99, r.gc_pause_ms.max
    );
    let _ = writeln!(s, "  time in GC:       {:.2}%", r.time_in_gc_percent);
    let _ = writeln!(
        s,
        "  heap after GC MB: first {:.1}  last {:.1}  min {:.1}  max {:.1}",
        r.heap_after_gc_mb.first,
        r.heap_after_gc_mb.last,
        r.heap_after_gc_mb.min,
        r.heap_after_gc_mb.max
    );
    let _ = writeln!(
        s,
        "  growth:           {:.1} MB/h (post-GC floor from {}, {} points)",
        r.growth_mb_per_hour,
        r.floor_source,
        r.floor.len()
    );
    if r.oom {
        let _ = writeln!(
            s,
            "  out of memory:    {}",
            r.oom_message.as_deref().unwrap_or("yes")
        );
    }
    if let Some(l) = r.heap_limit_mb {
        let _ = writeln!(
            s,
            "  heap limit:       {l:.1} MB ({})",
            r.heap_limit_source.as_deref().unwrap_or("")
        );
    }
    if r.isolates > 1 {
        let _ = writeln!(
            s,
            "  isolates:         {} (analysed {}, {} events of others ignored)",
            r.isolates, r.isolate, r.other_isolate_events
        );
    }
    if r.unparsed_lines > 0 {
        let _ = writeln!(s, "  unreadable lines: {}", r.unparsed_lines);
    }
    let _ = writeln!(s, "verdict: {} ({})", r.verdict, r.reason);
    s
}
