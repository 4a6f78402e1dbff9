//! V8 heap snapshots: parsing, the graph, and the numbers Chrome DevTools computes
//! (adjusted shallow sizes, dominators, retained sizes, distances, class names, Summary and
//! Comparison views), plus retainer paths and source locations for the leak finder.

pub mod alloc;
pub mod diff;
pub mod dominators;
pub mod fxhash;
pub mod graph;
pub mod ids;
pub mod mem;
pub mod names;
pub mod parse;
pub mod paths;
pub mod source;
pub mod summary;

pub use graph::{BuildOptions, HeapGraph};

use crate::error::InputError;

/// Reads and parses a snapshot, reporting compressed-or-plain bytes read to `progress`.
pub fn read(path: &str, progress: parse::Progress<'_>) -> Result<parse::RawSnapshot, InputError> {
    read_with(path, progress, parse::ParseOptions::default())
}

/// Like [`read`], keeping what `opts` says.
pub fn read_with(
    path: &str,
    progress: parse::Progress<'_>,
    opts: parse::ParseOptions,
) -> Result<parse::RawSnapshot, InputError> {
    let (name, blocks) = crate::input::open_stream(path)?;
    parse::parse_blocks(blocks, &name, progress, opts)
}

/// Reads a snapshot as far as the leak finder needs earlier snapshots ([`parse::parse_ids`]),
/// without building a graph: the one way `leaks` loads every snapshot but the last.
pub fn read_ids(path: &str, progress: parse::Progress<'_>) -> Result<ids::SnapshotIds, InputError> {
    let (name, blocks) = crate::input::open_stream(path)?;
    parse::parse_ids(blocks, &name, progress)
}

/// What to read and build of a snapshot.
#[derive(Clone, Copy, Default)]
pub struct LoadOptions<'a> {
    pub parse: parse::ParseOptions,
    pub build: BuildOptions<'a>,
}

impl LoadOptions<'_> {
    /// Everything: string contents and retainer lists (`leaks`, `path`).
    pub fn full() -> Self {
        LoadOptions {
            parse: parse::ParseOptions::default(),
            build: BuildOptions {
                retainers: true,
                ..Default::default()
            },
        }
    }
    /// What the Summary and Comparison views read: no retainer lists, no text of strings
    /// that only name `string` nodes. Their results are the same as with [`Self::full`].
    pub fn summary() -> Self {
        LoadOptions {
            parse: parse::ParseOptions {
                string_contents: false,
            },
            build: BuildOptions::default(),
        }
    }
}

/// Reads, parses and analyses a snapshot, with everything ([`LoadOptions::full`]).
pub fn load(path: &str, progress: parse::Progress<'_>) -> Result<HeapGraph, InputError> {
    load_with(path, progress, &LoadOptions::full())
}

/// Reads, parses and analyses a snapshot as `opts` says.
pub fn load_with(
    path: &str,
    progress: parse::Progress<'_>,
    opts: &LoadOptions<'_>,
) -> Result<HeapGraph, InputError> {
    Ok(HeapGraph::build_opts(
        read_with(path, progress, opts.parse)?,
        &opts.build,
    ))
}
