//! V8 heap snapshots: parsing, the graph, and the numbers Chrome DevTools computes
//! (adjusted shallow sizes, dominators, retained sizes, distances, class names, Summary and
//! Comparison views), plus retainer paths and source locations for the leak finder.

pub mod alloc;
pub mod diff;
pub mod dominators;
pub mod graph;
pub mod ids;
pub mod names;
pub mod parse;
pub mod paths;
pub mod source;
pub mod summary;

pub use graph::HeapGraph;

use crate::error::InputError;

/// Reads and parses a snapshot, reporting compressed-or-plain bytes read to `progress`.
pub fn read(path: &str, progress: parse::Progress<'_>) -> Result<parse::RawSnapshot, InputError> {
    let (name, reader) = crate::input::open_stream(path)?;
    parse::parse_reader(reader, &name, progress)
}

/// Reads, parses and analyses a snapshot.
pub fn load(path: &str, progress: parse::Progress<'_>) -> Result<HeapGraph, InputError> {
    Ok(HeapGraph::build(read(path, progress)?))
}
