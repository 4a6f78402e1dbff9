//! `memsleuth diff BASE CUR`: DevTools' Comparison view of two snapshots of one process.

use super::summary::{cell, human_bytes};
use super::{Format, print_json, print_text};
use crate::heap::diff;
use std::fmt::Write;

/// Flags of `memsleuth diff`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The earlier snapshot
    pub base: String,
    /// The later snapshot of the same process
    pub current: String,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Rows to print (text)
    #[arg(long, default_value_t = 40)]
    pub top: usize,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let (base, cur) = rayon::join(
        || super::load_snapshot_with(&args.base, &crate::heap::LoadOptions::summary()),
        || super::load_snapshot_with(&args.current, &crate::heap::LoadOptions::summary()),
    );
    let (base, cur) = (base?, cur?);
    let c = diff::compare(&base, &cur, &args.base, &args.current);
    match args.format {
        Format::Json => print_json(&c)?,
        Format::Text => print_text(&render_text(&c, args.top))?,
    }
    Ok(0)
}

fn signed_bytes(v: i64) -> String {
    if v < 0 {
        format!("-{}", human_bytes(v.unsigned_abs()))
    } else {
        format!("+{}", human_bytes(v as u64))
    }
}

fn render_text(c: &diff::Comparison, top: usize) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "Comparison: {} -> {}\n", c.base, c.current);
    let _ = writeln!(
        o,
        "{:<48} {:>8} {:>9} {:>8} {:>11} {:>11} {:>11}",
        "Constructor", "# New", "# Deleted", "# Delta", "Alloc. Size", "Freed Size", "Size Delta"
    );
    for r in c.classes.iter().take(top) {
        let _ = writeln!(
            o,
            "{:<48} {:>8} {:>9} {:>+8} {:>11} {:>11} {:>11}",
            cell(&r.name, 48),
            r.added_count,
            r.removed_count,
            r.count_delta,
            human_bytes(r.added_bytes),
            human_bytes(r.removed_bytes),
            signed_bytes(r.size_delta)
        );
    }
    if c.classes.len() > top {
        let _ = writeln!(o, "… {} more classes (--top N)", c.classes.len() - top);
    }
    if c.classes.is_empty() {
        let _ = writeln!(o, "no change between the snapshots");
    }
    o
}
