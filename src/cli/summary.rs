//! `memsleuth summary SNAP`: DevTools' Summary view of one heap snapshot.

use super::{Format, print_json, print_text};
use crate::heap::{self, summary};
use std::fmt::Write;

/// Flags of `memsleuth summary`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Heap snapshot (.heapsnapshot, optionally gzipped; `-` for stdin)
    pub snapshot: String,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Class rows to print (text); with JSON, limits `classes` too (default: all)
    #[arg(long)]
    pub top: Option<usize>,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let g = super::load_snapshot_with(&args.snapshot, &heap::LoadOptions::summary())?;
    let mut s = summary::summarize(&g, &args.snapshot, 10);
    match args.format {
        Format::Json => {
            if let Some(n) = args.top {
                s.classes.truncate(n);
            }
            print_json(&s)?;
        }
        Format::Text => print_text(&render_text(&s, args.top.unwrap_or(40)))?,
    }
    Ok(0)
}

/// Bytes in a short human form, in the tool's one unit convention (`crate::units`: KiB,
/// MiB, GiB). JSON outputs carry the exact bytes.
pub fn human_bytes(b: u64) -> String {
    crate::units::bytes_u64(b)
}

pub fn distance_text(d: i32) -> String {
    if !(0..heap::graph::BASE_SYSTEM_DISTANCE).contains(&d) {
        "-".into()
    } else {
        d.to_string()
    }
}

fn pct(part: u64, total: u64) -> String {
    if total == 0 {
        return "0 %".into();
    }
    format!("{:.0} %", part as f64 * 100.0 / total as f64)
}

/// Cuts a name to `max` characters for a table cell, on a character boundary.
pub fn cell(name: &str, max: usize) -> String {
    let clean: String = name
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.chars().count() <= max {
        clean
    } else {
        let mut s: String = clean.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

fn render_text(s: &summary::Summary, top: usize) -> String {
    let mut o = String::new();
    let total = s.total_bytes;
    let _ = writeln!(
        o,
        "{}: {} nodes, {} edges, total {} ({} bytes)\n",
        s.file,
        s.node_count,
        s.edge_count,
        human_bytes(total),
        total
    );
    let _ = writeln!(
        o,
        "{:<48} {:>9} {:>10} {:>5} {:>10} {:>5} {:>8}",
        "Constructor", "Count", "Shallow", "%", "Retained", "%", "Distance"
    );
    for r in s.classes.iter().take(top) {
        let _ = writeln!(
            o,
            "{:<48} {:>9} {:>10} {:>5} {:>10} {:>5} {:>8}",
            cell(&r.name, 48),
            r.count,
            human_bytes(r.shallow_bytes),
            pct(r.shallow_bytes, total),
            human_bytes(r.retained_bytes),
            pct(r.retained_bytes, total),
            distance_text(r.distance)
        );
    }
    if s.classes.len() > top {
        let _ = writeln!(o, "… {} more classes (--top N)", s.classes.len() - top);
    }
    let st = &s.statistics;
    let _ = writeln!(o, "\nStatistics");
    for (k, v) in [
        ("Code", st.code),
        ("Strings", st.strings),
        ("JS arrays", st.js_arrays),
        ("Typed arrays", st.typed_arrays),
        ("System objects", st.system),
        ("Native (other)", st.native.saturating_sub(st.typed_arrays)),
        ("Total", st.total),
    ] {
        let _ = writeln!(o, "  {:<16} {:>10} {:>5}", k, human_bytes(v), pct(v, total));
    }
    let _ = writeln!(o, "\nLargest retained sizes");
    let _ = writeln!(
        o,
        "  {:>10} {:<48} {:>10} {:>10}",
        "@id", "Class", "Shallow", "Retained"
    );
    for t in &s.top_retainers {
        let _ = writeln!(
            o,
            "  {:>10} {:<48} {:>10} {:>10}",
            format!("@{}", t.id),
            cell(&t.class, 48),
            human_bytes(t.shallow_bytes),
            human_bytes(t.retained_bytes)
        );
    }
    o
}
