//! Leak finding across snapshots of one process: which objects leaked, grouped by the
//! fingerprint of their retainer path, classified into a leak pattern, located in the code.
//!
//! The output types below are the JSON contract of `memsleuth leaks --format json`
//! (DESIGN.md); the report consumes them too.

pub mod analyze;
pub mod patterns;

use serde::{Deserialize, Serialize};

/// A leak pattern (DESIGN.md, "Leak patterns").
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Pattern {
    EventListener,
    Timer,
    Closure,
    UnclosedConnection,
    UnboundedCollection,
    LargeDataset,
    Unknown,
}

impl Pattern {
    pub fn id(self) -> &'static str {
        match self {
            Pattern::EventListener => "event-listener",
            Pattern::Timer => "timer",
            Pattern::Closure => "closure",
            Pattern::UnclosedConnection => "unclosed-connection",
            Pattern::UnboundedCollection => "unbounded-collection",
            Pattern::LargeDataset => "large-dataset",
            Pattern::Unknown => "unknown",
        }
    }
}

/// One snapshot that took part, as listed in the output.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SnapshotInfo {
    pub file: String,
    pub nodes: u64,
    pub total_bytes: u64,
}

/// One step of a retainer path: `holder` keeps the next step through `edge`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PathStep {
    /// DevTools class name of the holding object (`(GC roots)`, `global`, `Map`, ...).
    pub holder: String,
    /// Heap snapshot id of the holder in the last snapshot.
    pub holder_id: u64,
    /// The edge taken out of the holder: property or variable name, or the index.
    pub edge: String,
    /// V8 edge type: context, element, property, internal, hidden, shortcut.
    pub edge_type: String,
    /// Part of the suspect subpath: the edge leads to an object allocated after the first
    /// snapshot (from the last long-lived holder down to the leaked object).
    pub suspect: bool,
    /// How many times this step repeats in a row (linked lists, closure chains); 1 if not.
    #[serde(default = "one")]
    pub repeat: u32,
}

fn one() -> u32 {
    1
}

/// A source position: file, 1-based line and column.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Location {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

/// One group of leaked objects that share a retainer path.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Finding {
    pub pattern: Pattern,
    /// Why this pattern was chosen, one sentence.
    pub reason: String,
    /// DevTools class name of the leaked objects.
    pub class: String,
    /// Leaked objects in the group (in the last snapshot).
    pub count: u64,
    pub retained_bytes: u64,
    /// Group size (objects) in each snapshot.
    pub growth: Vec<u64>,
    /// Group shallow bytes in each snapshot.
    pub growth_bytes: Vec<u64>,
    pub retainer_path: Vec<PathStep>,
    pub location: Option<Location>,
    /// The line of code at `location`.
    pub code: Option<String>,
    /// A few lines around `location`, each prefixed with its 1-based line number.
    pub excerpt: Vec<String>,
    pub fingerprint: String,
    pub suggestion: String,
}

/// The whole output of `memsleuth leaks`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LeaksOutput {
    pub snapshots: Vec<SnapshotInfo>,
    pub findings: Vec<Finding>,
}
