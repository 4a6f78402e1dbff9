//! `memsleuth leaks S1 S2 [S3 ...]`: leaked object groups, their retainer paths, pattern,
//! owning code and fix.

use super::summary::human_bytes;
use super::{Format, print_json, print_text};
use crate::leaks::{LeaksOutput, analyze};
use std::fmt::Write;

/// Flags of `memsleuth leaks`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Two or more snapshots of one process, oldest first (baseline, target, final, ...)
    #[arg(required = true, num_args = 2..)]
    pub snapshots: Vec<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Exit with code 1 when there are findings (for CI)
    #[arg(long)]
    pub fail_on_leak: bool,
    /// Groups with fewer leaked objects are not reported
    #[arg(long, default_value_t = 1)]
    pub min_count: u64,
}

/// Reads a source file named by a script, for code excerpts past the snapshot's 1024-char cut.
pub fn read_source(path: &str) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > 8 << 20 {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

/// Loads the snapshots and runs the leak finder.
pub fn find_leaks(paths: &[String], min_count: u64) -> anyhow::Result<LeaksOutput> {
    let mut graphs = Vec::with_capacity(paths.len());
    for p in paths {
        graphs.push(super::load_snapshot(p)?);
    }
    let snaps: Vec<analyze::Snap<'_>> = paths
        .iter()
        .zip(&graphs)
        .map(|(f, g)| analyze::Snap { file: f, graph: g })
        .collect();
    let opts = analyze::Options {
        min_count,
        ..Default::default()
    };
    // Sources past the snapshot's 1024-character cut: the file where the script ran, else a
    // file of the same name beside the snapshots (for snapshots taken on another machine).
    let dirs: Vec<std::path::PathBuf> = paths
        .iter()
        .filter(|p| p.as_str() != "-")
        .filter_map(|p| std::path::Path::new(p).parent().map(|d| d.to_path_buf()))
        .collect();
    let sources = |name: &str| {
        read_source(name).or_else(|| {
            let base = std::path::Path::new(name).file_name()?;
            dirs.iter()
                .find_map(|d| read_source(d.join(base).to_str()?))
        })
    };
    Ok(analyze::find(&snaps, &sources, &opts))
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let out = find_leaks(&args.snapshots, args.min_count)?;
    match args.format {
        Format::Json => print_json(&out)?,
        Format::Text => print_text(&render_text(&out))?,
    }
    Ok(if args.fail_on_leak && !out.findings.is_empty() {
        1
    } else {
        0
    })
}

/// LeakCanary-style traces: root at the top, one line per holder with the edge taken,
/// suspect references underlined with `~~~`.
pub fn render_text(out: &LeaksOutput) -> String {
    let mut o = String::new();
    for s in &out.snapshots {
        let _ = writeln!(
            o,
            "snapshot {}: {} nodes, {}",
            s.file,
            s.nodes,
            human_bytes(s.total_bytes)
        );
    }
    if out.findings.is_empty() {
        let _ = writeln!(
            o,
            "\nNo leak found: nothing allocated after the first snapshot keeps growing."
        );
        return o;
    }
    for (i, f) in out.findings.iter().enumerate() {
        let growth: Vec<String> = f.growth.iter().map(|g| g.to_string()).collect();
        let _ = writeln!(
            o,
            "\n#{} {} — {} × {} retaining {} (objects per snapshot: {})",
            i + 1,
            f.pattern.id(),
            f.count,
            f.class,
            human_bytes(f.retained_bytes),
            growth.join(" → ")
        );
        let _ = writeln!(o, "   {}", f.reason);
        let _ = writeln!(o, "┬───");
        for (k, s) in f.retainer_path.iter().enumerate() {
            let times = if s.repeat > 1 {
                format!(" (×{})", s.repeat)
            } else {
                String::new()
            };
            if k == 0 {
                let _ = writeln!(o, "│ GC root: {}", s.holder);
            } else {
                let _ = writeln!(o, "├─ {} @{}{}", s.holder, s.holder_id, times);
            }
            let edge = format!("↓ {} {}", s.edge_type, s.edge);
            let _ = writeln!(o, "│    {edge}");
            if s.suspect {
                let _ = writeln!(o, "│    {}", "~".repeat(edge.chars().count()));
            }
        }
        let _ = writeln!(o, "╰→ {} (leaking, {} objects)", f.class, f.count);
        if let Some(l) = &f.location {
            let _ = writeln!(o, "\n   at {}:{}:{}", l.file, l.line, l.column);
        }
        for line in &f.excerpt {
            let _ = writeln!(o, "   {line}");
        }
        let _ = writeln!(o, "\n   fix: {}", f.suggestion);
        let _ = writeln!(o, "   fingerprint {}", f.fingerprint);
    }
    o
}
