//! `memsleuth leaks S1 S2 [S3 ...]`: leaked object groups, their retainer paths, pattern,
//! owning code and fix.

use super::summary::human_bytes;
use super::{Format, print_json, print_text};
use crate::heap::ids::SnapshotIds;
use crate::leaks::{self, LeaksOutput};
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
    /// Groups with fewer leaked units are not reported
    #[arg(long, default_value_t = 1)]
    pub min_count: u64,
    /// Show only the N most significant findings
    #[arg(long)]
    pub top: Option<usize>,
}

/// Reads a source file named by a script, for code excerpts past the snapshot's 1024-char cut.
pub fn read_source(path: &str) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > 8 << 20 {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

/// Loads the snapshots and runs the leak finder (all findings).
pub fn find_leaks(paths: &[String], min_count: u64) -> anyhow::Result<LeaksOutput> {
    find_leaks_with(
        paths,
        &leaks::Options {
            min_count,
            ..Default::default()
        },
    )
}

/// Loads the snapshots and runs the leak finder. Only the last snapshot is analysed as a
/// whole graph; each earlier one is reduced to its ids as soon as it is read.
pub fn find_leaks_with(paths: &[String], opts: &leaks::Options) -> anyhow::Result<LeaksOutput> {
    let Some((last_path, earlier_paths)) = paths.split_last() else {
        anyhow::bail!("no snapshots given");
    };
    if paths.iter().filter(|p| p.as_str() == "-").count() > 1 {
        anyhow::bail!("only one snapshot can be read from standard input (`-`)");
    }
    let mut earlier_ids: Vec<SnapshotIds> = Vec::with_capacity(earlier_paths.len());
    for p in earlier_paths {
        earlier_ids.push(super::load_snapshot_ids(p)?);
    }
    let last = super::load_snapshot(last_path)?;
    let earlier: Vec<leaks::Earlier<'_>> = earlier_paths
        .iter()
        .zip(&earlier_ids)
        .map(|(f, ids)| leaks::Earlier { file: f, ids })
        .collect();
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
    Ok(leaks::find(&earlier, last_path, &last, &sources, opts)?)
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let opts = leaks::Options {
        min_count: args.min_count,
        top: args.top,
        ..Default::default()
    };
    let out = find_leaks_with(&args.snapshots, &opts)?;
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
        let unit = if f.unit.is_empty() {
            "objects"
        } else {
            &f.unit
        };
        let name = f
            .name
            .as_deref()
            .map(|n| format!(" `{n}`"))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "\n#{} {} — {} × {}{} ({}) retaining {} ({} per snapshot: {})",
            i + 1,
            f.pattern.id(),
            f.count,
            unit,
            name,
            f.class,
            human_bytes(f.retained_bytes),
            unit,
            growth.join(" → ")
        );
        let _ = writeln!(o, "   {}", f.reason);
        if let Some(ow) = &f.owner {
            let _ = writeln!(
                o,
                "   owner: `{}` ({}, held by {})",
                ow.name, ow.kind, ow.holder_class
            );
        }
        if let Some(l) = &f.library {
            let at = f
                .library_location
                .as_ref()
                .map(|l| format!(" at {}:{}", l.file, l.line))
                .unwrap_or_default();
            let _ = writeln!(o, "   library: {} ({}){at}", l.name, l.holder);
        }
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
        let _ = writeln!(o, "╰→ {} (leaking: {} × {})", f.class, f.count, unit);
        for k in &f.keeps {
            let _ = writeln!(
                o,
                "     ↳ {} {} → {} ({})",
                k.edge_type,
                k.edge,
                k.class,
                human_bytes(k.retained_bytes)
            );
        }
        if let Some(l) = &f.location {
            let how = f
                .location_source
                .as_deref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            let _ = writeln!(o, "\n   at {}:{}:{}{how}", l.file, l.line, l.column);
        }
        for line in &f.excerpt {
            let _ = writeln!(o, "   {line}");
        }
        let _ = writeln!(o, "\n   fix: {}", f.suggestion);
        let _ = writeln!(o, "   fingerprint {}", f.fingerprint);
    }
    o
}
