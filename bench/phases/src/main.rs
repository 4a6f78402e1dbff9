//! Times the phases of memsleuth's heap engine on one snapshot: parsing, each step of the
//! graph (`HeapGraph::build_opts`) and the Summary view, as `memsleuth summary` runs them.
//!
//!     bench-heap-phases FILE.heapsnapshot [--full]
//!
//! `--full` reads and builds as `leaks` and `path` do (string contents and retainer lists).

use memsleuth::heap::{self, summary};
use std::sync::Mutex;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: bench-heap-phases FILE.heapsnapshot [--full]");
        std::process::exit(2);
    };
    let full = args.iter().any(|a| a == "--full");
    let start = Instant::now();
    let steps: Mutex<Vec<(&'static str, f64)>> = Mutex::new(Vec::new());
    let on_step = |what: &'static str| {
        if let Ok(mut s) = steps.lock() {
            s.push((what, start.elapsed().as_secs_f64()));
        }
    };
    let mut opts = if full {
        heap::LoadOptions::full()
    } else {
        heap::LoadOptions::summary()
    };
    opts.build.on_step = Some(&on_step);
    let raw = match heap::read_with(path, &|_| {}, opts.parse) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let parsed = start.elapsed().as_secs_f64();
    let (n, m) = (raw.node_count(), raw.edge_count());
    let g = heap::HeapGraph::build_opts(raw, &opts.build);
    let built = start.elapsed().as_secs_f64();
    let s = summary::summarize(&g, path, 10);
    let done = start.elapsed().as_secs_f64();
    println!("{n} nodes, {m} edges, {} classes", s.classes.len());
    println!("  {:>7.3} s  parse", parsed);
    for (what, at) in steps.lock().map(|s| s.clone()).unwrap_or_default() {
        println!("  {at:>7.3} s  graph: {what} done");
    }
    println!("  {:>7.3} s  graph built", built);
    println!("  {:>7.3} s  summary", done);
}
