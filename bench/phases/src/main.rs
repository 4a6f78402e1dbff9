//! Times the phases of memsleuth's heap engine on one snapshot: parsing, each step of the
//! graph (`HeapGraph::build_opts`) and the Summary view, as `memsleuth summary` runs them.
//!
//!     bench-heap-phases FILE.heapsnapshot [--full | --ids] [--repeat N]
//!
//! `--full` reads and builds as `leaks` and `path` do (string contents and retainer lists);
//! `--ids` reads only what `leaks` reads of its earlier snapshots.
//! `--repeat N` runs everything N times and prints each run (compare the fastest: on a busy
//! machine the others measure the neighbours).

use memsleuth::heap::{self, summary};
use std::sync::Mutex;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args
        .iter()
        .enumerate()
        .find(|(i, a)| !a.starts_with("--") && (*i == 0 || args[i - 1] != "--repeat"))
        .map(|(_, a)| a)
    else {
        eprintln!("usage: bench-heap-phases FILE.heapsnapshot [--full]");
        std::process::exit(2);
    };
    let full = args.iter().any(|a| a == "--full");
    if args.iter().any(|a| a == "--ids") {
        // What `leaks` reads of its earlier snapshots.
        let cpu0 = cpu();
        let start = Instant::now();
        let ids = heap::read_ids(path, &|_| {}).unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(2);
        });
        let (r, h) = rss();
        println!(
            "ids of {} nodes: {:.3} s (cpu {:.2} s, rss {r} MiB, peak {h} MiB)",
            ids.node_count,
            start.elapsed().as_secs_f64(),
            cpu() - cpu0
        );
        return;
    }
    let repeat: usize = args
        .iter()
        .position(|a| a == "--repeat")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    for run in 0..repeat.max(1) {
        if repeat > 1 {
            println!("run {}", run + 1);
        }
        once(path, full);
    }
}

/// CPU seconds (user + system) of this process so far, from /proc (10 ms resolution).
fn cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 of /proc/PID/stat, counted after the command name.
    (ticks(11) + ticks(12)) / 100.0
}

/// Resident memory of this process now and at its peak, MiB (from /proc).
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            / 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn once(path: &str, full: bool) {
    let cpu0 = cpu();
    let start = Instant::now();
    let steps: Mutex<Vec<(&'static str, f64, f64, (u64, u64))>> = Mutex::new(Vec::new());
    let on_step = |what: &'static str| {
        if let Ok(mut s) = steps.lock() {
            s.push((what, start.elapsed().as_secs_f64(), cpu() - cpu0, rss()));
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
    let cpu_parsed = cpu() - cpu0;
    let (rss_parsed, hwm_parsed) = rss();
    let (n, m) = (raw.node_count(), raw.edge_count());
    let g = heap::HeapGraph::build_opts(raw, &opts.build);
    let built = start.elapsed().as_secs_f64();
    let cpu_built = cpu() - cpu0;
    let s = summary::summarize(&g, path, 10);
    let done = start.elapsed().as_secs_f64();
    let cpu_done = cpu() - cpu0;
    println!("{n} nodes, {m} edges, {} classes", s.classes.len());
    let (r, h) = (rss_parsed, hwm_parsed);
    println!("  {parsed:>7.3} s  parse (cpu {cpu_parsed:.2} s, rss {r} MiB, peak {h} MiB)");
    for (what, at, c, (r, h)) in steps.lock().map(|s| s.clone()).unwrap_or_default() {
        println!("  {at:>7.3} s  graph: {what} done (cpu {c:.2} s, rss {r} MiB, peak {h} MiB)");
    }
    println!("  {:>7.3} s  graph built (cpu {cpu_built:.2} s)", built);
    let (r, h) = rss();
    println!("  {done:>7.3} s  summary (cpu {cpu_done:.2} s, rss {r} MiB, peak {h} MiB)");
}
