//! Fuzzes the streaming heap snapshot parser, and the analysis (`HeapGraph::build`, the
//! Summary view) on every input the parser accepts. Any panic, abort or hang is a bug:
//! bad input must come back as an `InputError`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memsleuth::heap::{HeapGraph, parse, summary};

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = parse::parse_reader(data, "fuzz.heapsnapshot", &|_| {}) else {
        return;
    };
    // Keep each run short: analysis is linear-ish, but huge inputs only slow the fuzzer.
    if raw.node_count() > 100_000 {
        return;
    }
    let g = HeapGraph::build(raw);
    let _ = summary::summarize(&g, "fuzz.heapsnapshot", 10);
});
