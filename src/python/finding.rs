//! The finding a Python leak becomes: the same JSON shape as `leaks::Finding` (contracts C2,
//! C5), so the report and `verify` read Python and Node findings alike. Steps of
//! `retainer_path` are referrer steps (holder type, edge, edge kind); `class` is the Python
//! type name of the leaked unit.

use crate::leaks::{Location, PathStep, Pattern};
use serde::{Deserialize, Serialize};

/// The named holder of the container a leak accumulates in.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Owner {
    /// `handlers._rendered`, `Repo._cache`, `thread Timer-3`.
    pub name: String,
    /// `module-variable`, `class-field`, `property`, `closure-variable`, `thread`,
    /// `local-variable`.
    pub kind: String,
    /// Python type of the object holding the name (`module`, a class, `frame`).
    pub holder_class: String,
}

/// The installed package the container lives in.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Library {
    pub name: String,
    pub holder: String,
}

/// One step below the leaked unit towards the memory it keeps alive.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct KeepStep {
    pub edge: String,
    pub edge_type: String,
    pub class: String,
    pub retained_bytes: u64,
}

/// One Python leak, in the shape of `leaks::Finding`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Finding {
    pub pattern: Pattern,
    pub reason: String,
    /// Python type of the leaked units (`str`, `function`, `_io.TextIOWrapper`).
    pub class: String,
    /// The function's name when the units are callables.
    pub name: Option<String>,
    /// What one leaked unit is: `cache entry`, `lru_cache entry`, `callback`, `open file`,
    /// `socket`, `thread`, `list element`.
    pub unit: String,
    /// Units in the container at the last checkpoint.
    pub count: u64,
    /// Bytes of the allocation sites of the units at the last checkpoint (tracemalloc).
    pub retained_bytes: u64,
    /// Units at each checkpoint (0 where not measured).
    pub growth: Vec<u64>,
    /// Bytes of the units' allocation sites at each checkpoint.
    pub growth_bytes: Vec<u64>,
    /// Root (module, class, thread) first, through the owner and the container to one unit.
    pub retainer_path: Vec<PathStep>,
    pub location: Option<Location>,
    pub code: Option<String>,
    pub excerpt: Vec<String>,
    /// `container-insert` (the line that adds to the container), `registration` (the line
    /// that hands a callback over), `declaration` (an lru_cache's decorator), or
    /// `allocation-stack` (the user frame of the allocation traceback).
    pub location_source: Option<String>,
    pub owner: Option<Owner>,
    pub library: Option<Library>,
    /// The allocating line inside a library, when the user's line calls into one.
    pub library_location: Option<Location>,
    pub keeps: Vec<KeepStep>,
    pub fingerprint: String,
    pub suggestion: String,
}
