//! `memsleuth gc`: post-GC heap growth, GC pauses and a verdict from a `--trace-gc` log.

use crate::cli::Format;
use crate::series::gclog::{self, GcReport};
use crate::units;
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
        "  heap after GC:    first {}  last {}  min {}  max {}",
        mib(r.heap_after_gc_mb.first),
        mib(r.heap_after_gc_mb.last),
        mib(r.heap_after_gc_mb.min),
        mib(r.heap_after_gc_mb.max)
    );
    let _ = writeln!(s, "  growth:           {}", growth_line(r));
    let _ = writeln!(s, "  method:           {}", r.method);
    if let Some(h) = &r.oom_heap {
        let _ = writeln!(
            s,
            "  out of memory:    {} (last GC at {:.0} ms: {} {} -> {}{})",
            r.oom_message.as_deref().unwrap_or("yes"),
            h.t_ms,
            h.kind,
            mib(h.heap_before_mb),
            mib(h.heap_after_mb),
            h.committed_after_mb
                .map_or(String::new(), |c| format!(", committed {}", mib(c)))
        );
    } else if r.oom {
        let _ = writeln!(
            s,
            "  out of memory:    {}",
            r.oom_message.as_deref().unwrap_or("yes")
        );
    }
    if let Some(l) = r.heap_limit_mb {
        let _ = writeln!(
            s,
            "  heap limit:       {} ({})",
            mib(l),
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

/// V8's "MB" (MiB) in the tool's units.
fn mib(v: f64) -> String {
    units::bytes(v * units::MIB)
}

/// The growth figure with its interval and window; a window too short for an hourly rate
/// leads with the change it saw, and the rate is marked as an extrapolation.
pub(crate) fn growth_line(r: &GcReport) -> String {
    let t = &r.trend;
    let rate = units::rate_per_hour(r.growth_bytes_per_hour);
    let interval = format!(
        "95% {} to {}",
        units::rate_per_hour(r.growth_low_bytes_per_hour),
        units::rate_per_hour(r.growth_high_bytes_per_hour)
    );
    let basis = format!(
        "post-GC floor from {}, {} points, fitted on {:.1} s",
        r.floor_source, t.points, r.span_seconds
    );
    let factor = 3600.0 / r.span_seconds.max(1e-9);
    if factor > 300.0 {
        format!(
            "{} over {:.1} s ({basis}); no hourly rate: it would extrapolate the evidence {factor:.0}x",
            units::bytes_delta(t.change_over_span() * units::MIB),
            r.span_seconds
        )
    } else if r.too_short_for_rate {
        format!(
            "{} over {:.1} s ({basis}); as an hourly rate {rate} ({interval}), an extrapolation {factor:.0}x beyond the evidence",
            units::bytes_delta(t.change_over_span() * units::MIB),
            r.span_seconds
        )
    } else {
        format!("{rate} ({interval}; {basis})")
    }
}
