//! `memsleuth path SNAP @ID`: the N shortest retainer paths from the GC roots to one object.

use super::{Format, print_json, print_text};
use crate::heap::{HeapGraph, paths};
use serde::Serialize;
use std::fmt::Write;

/// Flags of `memsleuth path`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Heap snapshot
    pub snapshot: String,
    /// Object id, as DevTools shows it (`@12345` or `12345`)
    pub id: String,
    /// How many paths to list
    #[arg(long, default_value_t = 5)]
    pub max: usize,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// One step: `holder` keeps the next object through `edge`.
#[derive(Serialize, Debug)]
pub struct Step {
    pub holder: String,
    pub holder_id: u32,
    pub edge: String,
    pub edge_type: String,
}

/// JSON of `memsleuth path`: `{"id", "class", "retained_bytes", "paths": [[Step, ...], ...]}`,
/// shortest first, each from the root to the object.
#[derive(Serialize, Debug)]
pub struct PathOutput {
    pub id: u32,
    pub class: String,
    pub shallow_bytes: u64,
    pub retained_bytes: u64,
    pub paths: Vec<Vec<Step>>,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let id: u32 = args
        .id
        .trim_start_matches('@')
        .parse()
        .map_err(|_| anyhow::anyhow!("{:?} is not an object id (like @12345)", args.id))?;
    let g = super::load_snapshot(&args.snapshot)?;
    let Some(o) = (0..g.n_nodes() as u32).find(|&o| g.id(o) == id) else {
        anyhow::bail!("{}: no object with id @{id}", args.snapshot);
    };
    let found = paths::k_shortest(&g, o, args.max.max(1), 200_000);
    let out = PathOutput {
        id,
        class: g.class_name(o).to_string(),
        shallow_bytes: g.self_size[o as usize],
        retained_bytes: g.retained[o as usize],
        paths: found.iter().map(|p| steps(&g, p)).collect(),
    };
    match args.format {
        Format::Json => print_json(&out)?,
        Format::Text => print_text(&render(&out))?,
    }
    Ok(0)
}

fn steps(g: &HeapGraph, edges: &[u32]) -> Vec<Step> {
    let mut from = crate::heap::graph::ROOT;
    edges
        .iter()
        .map(|&e| {
            let s = Step {
                holder: if from == crate::heap::graph::ROOT {
                    "(root)".into()
                } else {
                    g.class_name(from).to_string()
                },
                holder_id: g.id(from),
                edge: g.edge_name(e as usize).into_owned(),
                edge_type: g.edge_type_name(e as usize).to_string(),
            };
            from = g.raw.edge_to[e as usize];
            s
        })
        .collect()
}

fn render(p: &PathOutput) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "@{} {} (shallow {} B, retained {} B)",
        p.id, p.class, p.shallow_bytes, p.retained_bytes
    );
    if p.paths.is_empty() {
        let _ = writeln!(o, "not reachable from the GC roots over strong edges");
    }
    for (i, path) in p.paths.iter().enumerate() {
        let _ = writeln!(o, "\npath {} ({} steps)", i + 1, path.len());
        for (k, s) in path.iter().enumerate() {
            let _ = writeln!(
                o,
                "{}{} @{} --[{} {}]-->",
                "  ".repeat(k),
                s.holder,
                s.holder_id,
                s.edge_type,
                s.edge
            );
        }
        let _ = writeln!(o, "{}{} @{}", "  ".repeat(path.len()), p.class, p.id);
    }
    o
}
