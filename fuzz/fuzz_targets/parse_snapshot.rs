//! Fuzzes the streaming heap snapshot parser in its three ways of reading (whole, without
//! the text of string nodes as `summary` reads, ids only as `leaks` reads earlier
//! snapshots), and the analysis (`HeapGraph::build`, the Summary view) on every input the
//! parser accepts. Any panic, abort or hang is a bug: bad input must come back as an
//! `InputError`. Differential too: numeric blocks cut into parts of 13 bytes (inputs here
//! are too small for the 256 KiB parts of real files) must give the same columns, or the
//! same first error, as the normal parse.
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
    let parsed = parse::parse_reader(data, "fuzz.heapsnapshot", &|_| {});
    match (&parsed, parse::parse_reader_parts(data, "fuzz.heapsnapshot", 13)) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.node_id, b.node_id);
            assert_eq!(a.node_type, b.node_type);
            assert_eq!(a.node_self, b.node_self);
            assert_eq!(a.first_edge, b.first_edge);
            assert_eq!(a.edge_to, b.edge_to);
            assert_eq!(a.edge_name, b.edge_name);
            assert_eq!(a.locations, b.locations);
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!("normal parse {a:?}, parts of 13 bytes {b:?}"),
    }
    let Ok(raw) = parsed else {
        return;
    };
    // Keep each run short: analysis is linear-ish, but huge inputs only slow the fuzzer.
    if raw.node_count() > 100_000 {
        return;
    }
    let g = HeapGraph::build(raw);
    let _ = summary::summarize(&g, "fuzz.heapsnapshot", 10);
});
