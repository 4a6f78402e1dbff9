//! Fuzzes the streaming heap snapshot parser in its three ways of reading (whole, without
//! the text of string nodes as `summary` reads, ids only as `leaks` reads earlier
//! snapshots), and the analysis (`HeapGraph::build`, the Summary view) on every input the
//! parser accepts. Any panic, abort or hang is a bug: bad input must come back as an
//! `InputError`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memsleuth::heap::{HeapGraph, parse, summary};
use memsleuth::input::ReadBlocks;

fuzz_target!(|data: &[u8]| {
    let lean = parse::ParseOptions {
        string_contents: false,
    };
    let _ = parse::parse_blocks(ReadBlocks::new(data), "fuzz.heapsnapshot", &|_| {}, lean);
    let _ = parse::parse_ids(ReadBlocks::new(data), "fuzz.heapsnapshot", &|_| {});
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
