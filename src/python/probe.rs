//! The probe memsleuth injects into the Python services it starts, and the checkpoint JSON it
//! writes ("memsleuth.python-probe.v1").
//!
//! The probe is Python source shipped inside the binary ([`PROBE_PY`], [`SITECUSTOMIZE_PY`]);
//! [`crate::python::driver`] writes both into a folder put first on `PYTHONPATH`, so every
//! interpreter the service starts imports `sitecustomize`, which starts the probe. The types
//! below are what one checkpoint file holds; field by field documentation is in the probe's
//! own source, `src/python/probe/memsleuth_probe.py`.

use crate::error::InputError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The probe module.
pub const PROBE_PY: &str = include_str!("probe/memsleuth_probe.py");
/// The `sitecustomize.py` that imports it (and chains to the one it shadows).
pub const SITECUSTOMIZE_PY: &str = include_str!("probe/sitecustomize.py");
/// `schema` of a checkpoint file.
pub const SCHEMA: &str = "memsleuth.python-probe.v1";

/// A source position in a Python traceback.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Frame {
    pub file: String,
    pub line: u32,
}

/// One checkpoint of one process.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub schema: String,
    /// 1 for the first checkpoint the process answered, then 2, 3, ...
    pub seq: u64,
    #[serde(default)]
    pub label: String,
    pub pid: u64,
    #[serde(default)]
    pub python: String,
    #[serde(default)]
    pub argv: Vec<String>,
    /// The process's monotonic clock when the checkpoint started, seconds.
    #[serde(default)]
    pub monotonic_s: f64,
    #[serde(default)]
    pub paths: Paths,
    #[serde(default)]
    pub process: Process,
    pub tracemalloc: Option<Traced>,
    /// Allocation sites, largest first.
    #[serde(default)]
    pub sites: Vec<Site>,
    /// Objects per type (the largest types and every type that grew).
    #[serde(default)]
    pub types: Vec<TypeRow>,
    /// Types whose count grew since the previous checkpoint, with sampled instances.
    #[serde(default)]
    pub growing: Vec<Growing>,
    /// False when the referrer search stopped at its budget before reaching every sample.
    #[serde(default = "yes")]
    pub paths_complete: bool,
    #[serde(default)]
    pub probe_seconds: f64,
    /// True when the checkpoint was taken in a forked child (the service kept serving).
    #[serde(default)]
    pub forked: bool,
}

fn yes() -> bool {
    true
}

/// Folders of the standard library and of installed packages in that interpreter.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Paths {
    #[serde(default)]
    pub stdlib: Vec<String>,
    #[serde(default)]
    pub site_packages: Vec<String>,
}

/// Process facts at the checkpoint (after `gc.collect()`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Process {
    pub rss_bytes: Option<u64>,
    pub open_fds: Option<u64>,
    /// Open file descriptors by kind: `socket`, `file`, `pipe`, `other`.
    #[serde(default)]
    pub fds_by_kind: Option<BTreeMap<String, u64>>,
    /// Files open more than once, most first (a file opened per call and never closed).
    #[serde(default)]
    pub files_open_repeatedly: Vec<OpenFile>,
    #[serde(default)]
    pub threads: u64,
    /// Live threads by kind: `thread`, `daemon`, `timer` (threading.Timer).
    #[serde(default)]
    pub threads_by_kind: Option<BTreeMap<String, u64>>,
    /// What the live threads run (target function or class), most first.
    #[serde(default)]
    pub thread_groups: Vec<ThreadGroup>,
}

/// A file and how many descriptors have it open.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenFile {
    pub path: String,
    pub count: u64,
}

/// Live threads running one target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThreadGroup {
    pub runs: String,
    pub count: u64,
}

/// `tracemalloc.get_traced_memory()` and how the statistics were cut.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Traced {
    pub traceback_limit: u32,
    pub traced_bytes: u64,
    pub peak_bytes: u64,
    /// Sites smaller than this may be missing from `sites` (0: every site is listed).
    #[serde(default)]
    pub min_listed_size: u64,
}

/// Live allocations of one site: the innermost frame in the program's own code (`user`,
/// None when the whole stack is library code) and the frame that allocated (`leaf`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Site {
    pub user: Option<Frame>,
    pub leaf: Frame,
    pub size: u64,
    pub count: u64,
    #[serde(default)]
    pub size_diff: i64,
    #[serde(default)]
    pub count_diff: i64,
    /// The largest distinct stacks of the site, frames oldest first.
    #[serde(default)]
    pub tracebacks: Vec<Traceback>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Traceback {
    pub size: u64,
    pub count: u64,
    pub frames: Vec<Frame>,
}

/// Count and `sys.getsizeof` total of the objects of one type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TypeRow {
    #[serde(rename = "type")]
    pub type_name: String,
    pub count: u64,
    pub size: u64,
    #[serde(default)]
    pub count_diff: i64,
    #[serde(default)]
    pub size_diff: i64,
}

/// Samples of what grew: the newest entries of a container whose length grew (`container`
/// set), or instances of a type whose count grew.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Growing {
    #[serde(rename = "type")]
    pub type_name: String,
    #[serde(default)]
    pub site: Option<SiteRef>,
    #[serde(default)]
    pub container: Option<ContainerRef>,
    pub count: u64,
    pub count_diff: i64,
    pub size_diff: i64,
    #[serde(default)]
    pub samples: Vec<Sample>,
}

/// A container whose length grew since the previous checkpoint; samples' paths end in it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContainerRef {
    #[serde(rename = "type")]
    pub type_name: String,
    /// `id()` of the container in the service (the `holder_id` of its path step).
    pub id: u64,
    pub len: u64,
    /// Its length at the previous checkpoint.
    pub len_before: u64,
}

/// The allocation site a sample was chosen for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SiteRef {
    pub user: Option<Frame>,
    pub leaf: Frame,
}

/// One sampled instance.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub id: u64,
    /// Its Python type.
    #[serde(rename = "type", default)]
    pub type_name: Option<String>,
    pub size: u64,
    #[serde(default)]
    pub repr: String,
    /// Where it was allocated, oldest frame first (None: before tracing started).
    pub traceback: Option<Vec<Frame>>,
    /// `constructor` when the traceback is the stack at the constructor's call, rebuilt
    /// from what the constructor allocated (tracemalloc could not give the object's own).
    #[serde(default)]
    pub traceback_source: Option<String>,
    /// `sys.getsizeof` of the object and what it holds (not modules, classes, functions).
    #[serde(default)]
    pub deep_size: Option<u64>,
    /// The deep size stopped at its bound: a lower bound.
    #[serde(default)]
    pub deep_size_partial: bool,
    /// Open sockets and files found among what it holds (`{"socket": 2}`).
    #[serde(default)]
    pub holds: BTreeMap<String, u64>,
    /// The dict key the unit is stored under, when it is not a number.
    #[serde(default)]
    pub key: Option<KeySample>,
    /// Root first; None when no root reached it within the budget.
    pub path: Option<Vec<PathStep>>,
    /// `file`, `socket`, `thread`, `timer` or `closable` (a type with a `close` method).
    pub resource: Option<String>,
    pub closed: Option<bool>,
    pub fd: Option<i64>,
    pub alive: Option<bool>,
    #[serde(default)]
    pub daemon: Option<bool>,
    pub target: Option<String>,
    #[serde(default)]
    pub callable: bool,
    /// The function's qualified name and where it is defined (callables).
    pub function: Option<String>,
    pub defined_at: Option<Frame>,
    pub name: Option<String>,
}

/// The key a sampled dict value is stored under.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KeySample {
    #[serde(rename = "type")]
    pub type_name: String,
    #[serde(default)]
    pub repr: String,
    pub traceback: Option<Vec<Frame>>,
}

/// One step of a referrer path: the root (`{"root": "module", "name": "handlers"}`) or a
/// holder and the edge out of it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PathStep {
    /// `module` or `thread` for the first step.
    pub root: Option<String>,
    /// The root's name (module name, thread name).
    pub name: Option<String>,
    /// The root module's file, when it has one.
    pub file: Option<String>,
    pub holder_type: Option<String>,
    pub holder_id: Option<u64>,
    /// The variable, attribute, key (`['/quote/17']`) or index (`[3]`).
    pub edge: Option<String>,
    /// module-variable, class-attribute, attribute, key, dict-key, index, member,
    /// closure-variable, local-variable, bound-self, default, cell, caller, internal.
    pub edge_kind: Option<String>,
    /// Length of the holder when it is a built-in or `collections` container.
    pub len: Option<u64>,
    /// `collections.deque` bound (None: unbounded).
    #[serde(default, deserialize_with = "some_or_none")]
    pub maxlen: Option<Option<u64>>,
    /// `functools.lru_cache` bound (None: `maxsize=None`) and size.
    #[serde(default, deserialize_with = "some_or_none")]
    pub cache_maxsize: Option<Option<u64>>,
    pub cache_currsize: Option<u64>,
    /// For a function holder (an lru_cache wrapper) its name and definition; for a thread
    /// root or a frame holder, the frame's function and current line.
    pub function: Option<String>,
    pub defined_at: Option<Frame>,
}

/// Tells a present `null` (`Some(None)`) from an absent field (`None`).
fn some_or_none<'de, D>(d: D) -> Result<Option<Option<u64>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Option::<u64>::deserialize(d).map(Some)
}

/// True when `text` looks like a probe checkpoint.
pub fn is_checkpoint(text: &str) -> bool {
    let head: String = text.trim_start().chars().take(200).collect();
    head.starts_with('{') && head.contains(SCHEMA)
}

/// Parses one checkpoint file; `name` is used in errors.
pub fn parse(name: &str, text: &str) -> Result<Checkpoint, InputError> {
    let c: Checkpoint = serde_json::from_str(text).map_err(|e| {
        InputError::at_line(name, e.line() as u64, format!("probe checkpoint: {e}"))
    })?;
    if c.schema != SCHEMA {
        return Err(InputError::whole(
            name,
            format!(
                "probe checkpoint of schema {:?}; this memsleuth reads {SCHEMA:?}",
                c.schema
            ),
        ));
    }
    Ok(c)
}
