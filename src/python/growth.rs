//! What grows across the probe's checkpoints of one Python process, and why.
//!
//! Stages, flowing one way:
//! 1. **lines**: tracemalloc bytes per allocation site (the innermost line of the program's
//!    own code), at every checkpoint; a line leaks when it grew at *every* interval, by a
//!    practical amount, not only between two checkpoints;
//! 2. **types** and **resources**: object counts per type, open descriptors by kind and live
//!    threads by kind at every checkpoint;
//! 3. **groups**: the probe's samples (the newest entries of the containers whose length grew,
//!    instances of types whose count grew) grouped by the container they accumulate in; a
//!    container inside the units of another growing container is part of that leak;
//! 4. **rules**: a group leaks when its container grew at every interval, by a practical
//!    number of bytes or, for open files and sockets, live threads and callbacks (small in
//!    bytes), of units; descriptors or threads that grow with no group holding them are a
//!    finding of their own, and so is a growing line nothing explains, so a leak verdict
//!    always comes with a finding;
//! 5. **classification** from what accumulates and where: callables (callbacks registered per
//!    call), open files and sockets, live threads and timers, an `lru_cache` without bound,
//!    large units (datasets loaded whole), any other container without bound;
//! 6. **location**: the user's line that creates the leak: the declaration of an unbounded
//!    lru_cache, the line that hands a callback over, the line that stores into a container
//!    of the program's own; for a container in a library or the standard library (threading's
//!    table of live threads), the program's line that allocates the unit or calls its
//!    constructor; the library named with the line inside it.
//!
//! Containers the path shows to be bounded (`deque(maxlen=N)`, `lru_cache(maxsize=N)`) are
//! never findings. Pure: no IO; source text comes from the caller's closure.

use super::finding::{Finding, Library, Owner};
use super::probe::{Checkpoint, Frame, PathStep as ProbeStep, Sample};
use crate::leaks::{Location, PathStep, Pattern};
use crate::series::trend::Verdict;
use crate::units;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Source text of a file, when the caller can read it.
pub type SourceFn<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Thresholds of [`analyze`].
#[derive(Clone, Debug)]
pub struct Options {
    /// A line or group must grow by at least this many bytes from the first checkpoint to
    /// the last to be a leak.
    pub min_growth_bytes: u64,
    /// Units at or above this size (bytes each) make a `large-dataset`.
    pub large_unit_bytes: u64,
    /// Open files and sockets, live threads and registered callbacks are small in bytes: a
    /// container of them, or a descriptor or thread count, that grows at every checkpoint by
    /// at least this many is a leak whatever its bytes.
    pub min_resource_growth: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            min_growth_bytes: 64 * 1024,
            large_unit_bytes: 1 << 20,
            min_resource_growth: 8,
        }
    }
}

/// One checkpoint as the analysis saw it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointSummary {
    pub seq: u64,
    pub label: String,
    /// Requests served before it, when the caller knows (capture).
    pub requests: Option<u64>,
    /// Seconds since the first checkpoint, on the process's monotonic clock.
    pub seconds: f64,
    pub traced_bytes: Option<u64>,
    pub rss_bytes: Option<u64>,
    pub open_fds: Option<u64>,
    /// Open descriptors by kind (socket, file, pipe, other).
    #[serde(default)]
    pub fds_by_kind: Option<BTreeMap<String, u64>>,
    pub threads: u64,
    /// Live threads by kind (thread, daemon, timer).
    #[serde(default)]
    pub threads_by_kind: Option<BTreeMap<String, u64>>,
    pub probe_seconds: f64,
}

/// tracemalloc bytes of one line of the program at every checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LineSeries {
    pub file: String,
    pub line: u32,
    pub sizes: Vec<u64>,
    pub counts: Vec<u64>,
    /// Grew at every interval between checkpoints.
    pub grows_every_interval: bool,
    /// Last minus first, bytes.
    pub growth_bytes: i64,
    /// The allocating line when it is in the standard library or a package (the largest).
    pub leaf: Option<Frame>,
}

/// Objects of one type at every checkpoint (None: not listed by the probe there).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TypeSeries {
    #[serde(rename = "type")]
    pub type_name: String,
    pub counts: Vec<Option<u64>>,
    pub sizes: Vec<Option<u64>>,
    pub grows_every_interval: bool,
}

/// Open descriptors or live threads of one kind at every checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceSeries {
    /// `socket`, `file`, `pipe` (descriptors); `thread`, `daemon`, `timer` (threads).
    pub kind: String,
    pub counts: Vec<Option<u64>>,
    /// Grew at every interval, by at least `min_resource_growth` in all.
    pub grows_every_interval: bool,
    /// Last minus first.
    pub growth: i64,
}

/// Everything [`analyze`] found for one process.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeAnalysis {
    pub pid: u64,
    pub python: String,
    pub checkpoints: Vec<CheckpointSummary>,
    /// Lines that grew, those growing at every interval first.
    pub lines: Vec<LineSeries>,
    /// Types whose count grew at every interval, by growth in bytes.
    pub types: Vec<TypeSeries>,
    pub findings: Vec<Finding>,
    /// Containers that grew but are bounded (a deque with maxlen, an lru_cache with maxsize).
    pub bounded: Vec<String>,
    /// Open descriptors and live threads by kind at every checkpoint.
    #[serde(default)]
    pub resources: Vec<ResourceSeries>,
    pub verdict: Verdict,
    pub reason: String,
    /// Traced bytes added per request between the first and the last checkpoint.
    pub bytes_per_request: Option<f64>,
    /// Referrer search hit its budget at some checkpoint: some paths may be missing.
    pub paths_incomplete: bool,
}

fn under(file: &str, dirs: &[String]) -> bool {
    dirs.iter()
        .any(|d| !d.is_empty() && file.starts_with(d.as_str()) && file[d.len()..].starts_with('/'))
}

/// Where a file belongs, by the interpreter's own folders.
struct Places<'a> {
    stdlib: &'a [String],
    site: &'a [String],
}

impl Places<'_> {
    fn is_user(&self, file: &str) -> bool {
        !(file.is_empty()
            || file.starts_with('<')
            || file.ends_with("memsleuth_probe.py")
            || under(file, self.site)
            || under(file, self.stdlib)
            || file.contains("/site-packages/")
            || file.contains("/dist-packages/"))
    }

    /// The standard library module a file is (`threading`, `logging.handlers`).
    fn stdlib_module(&self, file: &str) -> Option<String> {
        let d = self
            .stdlib
            .iter()
            .find(|d| under(file, std::slice::from_ref(d)))?;
        let rest = file[d.len() + 1..].trim_end_matches(".py");
        let rest = rest.strip_suffix("/__init__").unwrap_or(rest);
        (!rest.is_empty() && !rest.starts_with("lib-dynload")).then(|| rest.replace('/', "."))
    }

    /// The installed package a file belongs to (`flask`, `requests`).
    fn package(&self, file: &str) -> Option<String> {
        let rest = self
            .site
            .iter()
            .filter(|d| under(file, std::slice::from_ref(d)))
            .map(|d| &file[d.len() + 1..])
            .next()
            .or_else(|| {
                ["/site-packages/", "/dist-packages/"]
                    .iter()
                    .find_map(|m| file.find(m).map(|i| &file[i + m.len()..]))
            })?;
        let first = rest.split('/').next()?;
        let name = first.trim_end_matches(".py");
        (!name.is_empty()).then(|| name.to_string())
    }
}

/// Grew at every interval, and by a comparable amount each time: the smallest step is at
/// least a fifth of the largest. A bounded cache that fills and then only turns its entries
/// over (a few bytes more as keys get longer) does not qualify.
fn grows_every(v: &[u64]) -> bool {
    if v.len() < 2 || !v.windows(2).all(|w| w[1] > w[0]) {
        return false;
    }
    let steps: Vec<u64> = v.windows(2).map(|w| w[1] - w[0]).collect();
    let max = steps.iter().copied().max().unwrap_or(0);
    let min = steps.iter().copied().min().unwrap_or(0);
    min as f64 >= 0.2 * max as f64
}

fn grows_every_known(v: &[Option<u64>]) -> bool {
    let known: Vec<u64> = v.iter().flatten().copied().collect();
    let needed = if v.len() >= 3 { 2 } else { 1 };
    v.last().copied().flatten().is_some()
        && known.len() >= needed.min(v.len())
        && grows_every(&known)
}

/// Analyses the checkpoints of one process (oldest first; other processes' are ignored:
/// call once per pid). `requests[i]` is the request count at checkpoint `i`, when known.
pub fn analyze(
    cps: &[Checkpoint],
    requests: Option<&[u64]>,
    sources: SourceFn<'_>,
    opts: &Options,
) -> ProbeAnalysis {
    let n = cps.len();
    let last = cps.last();
    let (stdlib, site): (&[String], &[String]) = match last {
        Some(c) => (&c.paths.stdlib, &c.paths.site_packages),
        None => (&[], &[]),
    };
    let places = Places { stdlib, site };
    let t0 = cps.first().map_or(0.0, |c| c.monotonic_s);
    let checkpoints: Vec<CheckpointSummary> = cps
        .iter()
        .enumerate()
        .map(|(i, c)| CheckpointSummary {
            seq: c.seq,
            label: c.label.clone(),
            requests: requests.and_then(|r| r.get(i).copied()),
            seconds: round3(c.monotonic_s - t0),
            traced_bytes: c.tracemalloc.as_ref().map(|t| t.traced_bytes),
            rss_bytes: c.process.rss_bytes,
            open_fds: c.process.open_fds,
            fds_by_kind: c.process.fds_by_kind.clone(),
            threads: c.process.threads,
            threads_by_kind: c.process.threads_by_kind.clone(),
            probe_seconds: c.probe_seconds,
        })
        .collect();

    let lines = line_series(cps, &places);
    let types = type_series(cps);
    let resources = resource_series(cps, opts);
    let (mut findings, bounded) = groups(cps, &lines, &resources, &places, sources, opts);

    let growing_lines: Vec<&LineSeries> = lines
        .iter()
        .filter(|l| l.grows_every_interval && l.growth_bytes >= opts.min_growth_bytes as i64)
        .collect();
    // A leak verdict always comes with a finding: when no sampled container explains the
    // growth, the line that grows at every checkpoint is the finding.
    if findings.is_empty()
        && n >= 3
        && let Some(l) = growing_lines.first()
    {
        findings.push(line_finding(l, n, sources));
    }
    let traced: Vec<u64> = checkpoints.iter().filter_map(|c| c.traced_bytes).collect();
    let bytes_per_request = match (requests, traced.first(), traced.last()) {
        (Some(r), Some(&a), Some(&b)) if r.len() == n && n >= 2 => {
            let dr = r[n - 1].saturating_sub(r[0]);
            (dr > 0).then(|| (b as f64 - a as f64) / dr as f64)
        }
        _ => None,
    };
    let (verdict, reason) = verdict(n, &findings, &growing_lines, &traced, opts);
    ProbeAnalysis {
        pid: last.map_or(0, |c| c.pid),
        python: last.map(|c| c.python.clone()).unwrap_or_default(),
        checkpoints,
        lines: lines
            .into_iter()
            .filter(|l| l.growth_bytes > 0)
            .take(50)
            .collect(),
        types,
        findings,
        bounded,
        resources,
        verdict,
        reason,
        bytes_per_request,
        paths_incomplete: cps.iter().any(|c| !c.paths_complete),
    }
}

fn verdict(
    n: usize,
    findings: &[Finding],
    growing_lines: &[&LineSeries],
    traced: &[u64],
    opts: &Options,
) -> (Verdict, String) {
    if n < 2 {
        return (
            Verdict::Inconclusive,
            "one checkpoint: growth needs two or more (three to tell steady growth from warm-up)"
                .into(),
        );
    }
    if n == 2 && (!findings.is_empty() || !growing_lines.is_empty()) {
        return (
            Verdict::Inconclusive,
            "memory grew between the two checkpoints; a third tells steady growth from warm-up"
                .into(),
        );
    }
    if let Some(f) = findings.first() {
        let Some(o) = &f.owner else {
            // Descriptors, threads or a line with no holder: the finding says what grew.
            return (Verdict::Leak, f.reason.clone());
        };
        return (
            Verdict::Leak,
            format!(
                "`{}` grew at every one of {} checkpoints: {} {}(s), {}",
                o.name,
                n,
                f.count,
                f.unit,
                units::bytes_u64(f.retained_bytes)
            ),
        );
    }
    if let Some(l) = growing_lines.first() {
        return (
            Verdict::Leak,
            format!(
                "{}:{} grew at every one of {} checkpoints ({}), but no referrer path to what it allocates was found",
                l.file,
                l.line,
                n,
                units::bytes_delta(l.growth_bytes as f64)
            ),
        );
    }
    if traced.len() >= 2 {
        let a = traced[traced.len() - 2] as f64;
        let b = traced[traced.len() - 1] as f64;
        let bound = (opts.min_growth_bytes as f64 * 4.0).max(0.01 * b);
        if b - a < bound {
            return (
                Verdict::NoLeak,
                format!(
                    "no allocation site grew by {} or more at every checkpoint, and traced memory changed by {} between the last two (under {})",
                    units::bytes(opts.min_growth_bytes as f64),
                    units::bytes_delta(b - a),
                    units::bytes(bound)
                ),
            );
        }
        return (
            Verdict::Inconclusive,
            format!(
                "traced memory grew by {} between the last two checkpoints, but no allocation site grew by {} or more at every one",
                units::bytes_delta(b - a),
                units::bytes(opts.min_growth_bytes as f64)
            ),
        );
    }
    (
        Verdict::Inconclusive,
        "tracemalloc was off in the process: no per-line evidence".into(),
    )
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Key of a site: the user's line, or the allocating line when no user code is on the stack.
fn site_key(user: &Option<Frame>, leaf: &Frame) -> Frame {
    user.clone().unwrap_or_else(|| leaf.clone())
}

fn line_series(cps: &[Checkpoint], places: &Places<'_>) -> Vec<LineSeries> {
    let n = cps.len();
    // key -> (sizes, counts, bytes per library leaf at the last checkpoint)
    type Acc = (Vec<u64>, Vec<u64>, BTreeMap<Frame, u64>);
    let mut map: BTreeMap<Frame, Acc> = BTreeMap::new();
    for (i, c) in cps.iter().enumerate() {
        for s in &c.sites {
            let key = site_key(&s.user, &s.leaf);
            let e = map
                .entry(key)
                .or_insert_with(|| (vec![0; n], vec![0; n], BTreeMap::new()));
            e.0[i] += s.size;
            e.1[i] += s.count;
            if i + 1 == n && !places.is_user(&s.leaf.file) {
                *e.2.entry(s.leaf.clone()).or_default() += s.size;
            }
        }
    }
    let mut out: Vec<LineSeries> = map
        .into_iter()
        .map(|(k, (sizes, counts, leaves))| {
            let growth = *sizes.last().unwrap_or(&0) as i64 - *sizes.first().unwrap_or(&0) as i64;
            let leaf = leaves
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
                .map(|(f, _)| f)
                .filter(|f| f != &k);
            LineSeries {
                file: k.file,
                line: k.line,
                grows_every_interval: grows_every(&sizes),
                sizes,
                counts,
                growth_bytes: growth,
                leaf,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.grows_every_interval
            .cmp(&a.grows_every_interval)
            .then(b.growth_bytes.cmp(&a.growth_bytes))
            .then(a.file.cmp(&b.file))
            .then(a.line.cmp(&b.line))
    });
    out
}

fn type_series(cps: &[Checkpoint]) -> Vec<TypeSeries> {
    let n = cps.len();
    type Acc = (Vec<Option<u64>>, Vec<Option<u64>>);
    let mut map: BTreeMap<&str, Acc> = BTreeMap::new();
    for (i, c) in cps.iter().enumerate() {
        for t in &c.types {
            let e = map
                .entry(t.type_name.as_str())
                .or_insert_with(|| (vec![None; n], vec![None; n]));
            e.0[i] = Some(t.count);
            e.1[i] = Some(t.size);
        }
    }
    let mut out: Vec<TypeSeries> = map
        .into_iter()
        .map(|(name, (counts, sizes))| TypeSeries {
            type_name: name.to_string(),
            grows_every_interval: n >= 2 && grows_every_known(&counts),
            counts,
            sizes,
        })
        .filter(|t| t.grows_every_interval)
        .collect();
    let growth = |t: &TypeSeries| {
        let known: Vec<u64> = t.sizes.iter().flatten().copied().collect();
        known.last().copied().unwrap_or(0) as i64 - known.first().copied().unwrap_or(0) as i64
    };
    out.sort_by(|a, b| {
        growth(b)
            .cmp(&growth(a))
            .then(a.type_name.cmp(&b.type_name))
    });
    out.truncate(30);
    out
}

const ELEMENT_EDGES: &[&str] = &["key", "index", "member", "dict-key"];
const NAMED_EDGES: &[&str] = &[
    "module-variable",
    "class-attribute",
    "attribute",
    "closure-variable",
    "local-variable",
    "bound-self",
];

/// Where on a path the units accumulate: the step out of the container the probe saw grow
/// (`container`), else the element edge whose holder has the most entries.
fn accumulation(path: &[ProbeStep], container: Option<u64>) -> Option<usize> {
    if let Some(id) = container
        && let Some(i) = path.iter().rposition(|s| s.holder_id == Some(id))
    {
        return Some(i);
    }
    let mut best: Option<(usize, u64)> = None;
    for (i, s) in path.iter().enumerate() {
        let kind = s.edge_kind.as_deref().unwrap_or("");
        if !ELEMENT_EDGES.contains(&kind) {
            continue;
        }
        let len = s.len.unwrap_or(1);
        if len >= 2 && best.is_none_or(|(_, l)| len > l) {
            best = Some((i, len));
        }
    }
    best.map(|(i, _)| i)
}

/// The path's steps up to the accumulation step, with element labels folded, as text.
fn fingerprint(path: &[ProbeStep], acc: usize) -> String {
    let mut s = String::new();
    for (i, st) in path.iter().enumerate().take(acc + 1) {
        if let Some(r) = &st.root {
            s.push_str(&format!("{r} {}", st.name.as_deref().unwrap_or("")));
            continue;
        }
        let kind = st.edge_kind.as_deref().unwrap_or("");
        let edge =
            if (ELEMENT_EDGES.contains(&kind) && i == acc) || kind == "index" || kind == "member" {
                "[*]".to_string()
            } else {
                st.edge.clone().unwrap_or_default()
            };
        s.push_str(&format!(
            " / {} {kind} {edge}",
            st.holder_type.as_deref().unwrap_or("?")
        ));
    }
    s
}

fn fnv(s: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

/// One sample in a group.
struct Member<'a> {
    s: &'a Sample,
    /// Its type.
    ty: &'a str,
    /// Checkpoint index.
    ci: usize,
    /// The container's length at this checkpoint and at the one before, when the probe
    /// sampled it as a growing container.
    len: Option<u64>,
    len_before: Option<u64>,
}

impl Member<'_> {
    fn path(&self) -> &[ProbeStep] {
        self.s.path.as_deref().unwrap_or(&[])
    }
}

/// Samples accumulating in one container (one fingerprint).
struct Group<'a> {
    fp: String,
    acc: usize,
    members: Vec<Member<'a>>,
}

impl Group<'_> {
    /// `id()`s of the container at every checkpoint (one object, unless it was replaced).
    fn container_ids(&self) -> BTreeSet<u64> {
        self.members
            .iter()
            .filter_map(|m| m.path().get(self.acc).and_then(|s| s.holder_id))
            .collect()
    }

    /// Whether a sample is a unit itself (an entry of the container), not something a unit
    /// holds.
    fn is_unit(&self, m: &Member<'_>) -> bool {
        m.path().len() == self.acc + 1
    }
}

fn resource_kind(s: &Sample) -> Option<&str> {
    match s.resource.as_deref() {
        Some(r @ ("file" | "socket")) if s.closed == Some(false) => Some(r),
        Some(r @ ("thread" | "timer")) if s.alive != Some(false) => Some(r),
        Some("closable") => Some("closable"),
        _ => None,
    }
}

/// Kinds of open resources the units hold among what they keep (`socket`, `file`).
fn held_resources(units: &[&Sample]) -> BTreeSet<String> {
    units
        .iter()
        .flat_map(|s| {
            s.holds
                .iter()
                .filter(|(_, c)| **c > 0)
                .map(|(k, _)| k.clone())
        })
        .collect()
}

/// Descriptor and thread counts at every checkpoint, by kind.
fn resource_series(cps: &[Checkpoint], opts: &Options) -> Vec<ResourceSeries> {
    let mut out = Vec::new();
    let kinds: [(&str, bool); 6] = [
        ("socket", true),
        ("file", true),
        ("pipe", true),
        ("timer", false),
        ("thread", false),
        ("daemon", false),
    ];
    for (kind, fd) in kinds {
        let counts: Vec<Option<u64>> = cps
            .iter()
            .map(|c| {
                let m = if fd {
                    c.process.fds_by_kind.as_ref()
                } else {
                    c.process.threads_by_kind.as_ref()
                };
                m.and_then(|m| m.get(kind).copied())
            })
            .collect();
        let known: Vec<u64> = counts.iter().flatten().copied().collect();
        if known.len() != counts.len() || known.is_empty() {
            continue;
        }
        let growth = *known.last().unwrap_or(&0) as i64 - known[0] as i64;
        let grows = known.len() >= 3 && grows_every(&known);
        out.push(ResourceSeries {
            kind: kind.to_string(),
            counts,
            grows_every_interval: grows && growth >= opts.min_resource_growth as i64,
            growth,
        });
    }
    out
}

/// What one checkpoint series of a group says, computed once for the rules and the finding.
struct Measured {
    /// Units in the container at every checkpoint (0: not measured).
    counts: Vec<u64>,
    /// Bytes at every checkpoint: the larger of the units' allocation lines (tracemalloc) and
    /// units times one unit's deep size.
    bytes: Vec<u64>,
    /// Deep size of one unit (median of the sampled units).
    per_unit: u64,
    steady: bool,
}

fn measure(
    g: &Group<'_>,
    lines: &BTreeMap<(&str, u32), &LineSeries>,
    places: &Places<'_>,
    n: usize,
) -> Measured {
    let mut counts = vec![0u64; n];
    for m in &g.members {
        let len = m
            .len
            .or_else(|| m.path().get(g.acc).and_then(|s| s.len))
            .unwrap_or(0);
        counts[m.ci] = counts[m.ci].max(len);
    }
    // The length before a checkpoint's growth fills the checkpoint before it.
    for m in &g.members {
        if let Some(b) = m.len_before
            && m.ci > 0
            && counts[m.ci - 1] == 0
        {
            counts[m.ci - 1] = b;
        }
    }
    let mut sizes: Vec<u64> = g
        .members
        .iter()
        .filter(|m| g.is_unit(m))
        .filter_map(|m| m.s.deep_size.or(Some(m.s.size)))
        .collect();
    if sizes.is_empty() {
        sizes = g
            .members
            .iter()
            .map(|m| m.s.deep_size.unwrap_or(m.s.size))
            .collect();
    }
    sizes.sort_unstable();
    let per_unit = sizes.get(sizes.len() / 2).copied().unwrap_or(0);
    // Bytes of the allocation lines of the units and of their keys.
    let mut keys: BTreeSet<(&str, u32)> = BTreeSet::new();
    for m in &g.members {
        let tbs = [
            m.s.traceback.as_deref(),
            m.s.key.as_ref().and_then(|k| k.traceback.as_deref()),
        ];
        for tb in tbs.into_iter().flatten() {
            if let Some(f) = user_frame(tb, places) {
                keys.insert((f.file.as_str(), f.line));
            }
        }
    }
    let mut site = vec![0u64; n];
    for k in &keys {
        if let Some(l) = lines.get(k) {
            for (i, v) in l.sizes.iter().enumerate() {
                site[i] += v;
            }
        }
    }
    let bytes: Vec<u64> = (0..n)
        .map(|i| site[i].max(counts[i].saturating_mul(per_unit)))
        .collect();
    let measured: Vec<u64> = counts.iter().copied().filter(|&v| v > 0).collect();
    let steady = measured.len() >= 2.min(n) && measured.len() >= 2 && grows_every(&measured);
    Measured {
        counts,
        bytes,
        per_unit,
        steady,
    }
}

/// Findings from the sampled containers, the containers bounded by construction, and the
/// process resources no finding explains.
fn groups(
    cps: &[Checkpoint],
    lines: &[LineSeries],
    resources: &[ResourceSeries],
    places: &Places<'_>,
    sources: SourceFn<'_>,
    opts: &Options,
) -> (Vec<Finding>, Vec<String>) {
    let n = cps.len();
    let mut groups: BTreeMap<String, Group<'_>> = BTreeMap::new();
    for (ci, c) in cps.iter().enumerate() {
        for g in &c.growing {
            let cid = g.container.as_ref().map(|c| c.id);
            for s in &g.samples {
                let Some(path) = &s.path else { continue };
                let Some(acc) = accumulation(path, cid) else {
                    continue;
                };
                let fp = fingerprint(path, acc);
                let from_container =
                    cid.is_some() && path.get(acc).and_then(|s| s.holder_id) == cid;
                groups
                    .entry(fp.clone())
                    .or_insert_with(|| Group {
                        fp,
                        acc,
                        members: Vec::new(),
                    })
                    .members
                    .push(Member {
                        s,
                        ty: s.type_name.as_deref().unwrap_or(&g.type_name),
                        ci,
                        len: g
                            .container
                            .as_ref()
                            .filter(|_| from_container)
                            .map(|c| c.len),
                        len_before: g
                            .container
                            .as_ref()
                            .filter(|_| from_container)
                            .map(|c| c.len_before),
                    });
            }
        }
    }
    // A container inside the units of another growing container (each callback's own list)
    // grows because of that leak: it is part of it, not a leak of its own.
    let ids: BTreeMap<u64, &str> = groups
        .values()
        .flat_map(|g| {
            g.container_ids()
                .into_iter()
                .map(move |id| (id, g.fp.as_str()))
        })
        .collect();
    let nested: BTreeSet<String> = groups
        .values()
        .filter(|g| {
            g.members.iter().any(|m| {
                m.path().iter().take(g.acc).any(|st| {
                    ELEMENT_EDGES.contains(&st.edge_kind.as_deref().unwrap_or(""))
                        && st
                            .holder_id
                            .and_then(|id| ids.get(&id))
                            .is_some_and(|fp| *fp != g.fp)
                })
            })
        })
        .map(|g| g.fp.clone())
        .collect();
    let line_of: BTreeMap<(&str, u32), &LineSeries> = lines
        .iter()
        .map(|l| ((l.file.as_str(), l.line), l))
        .collect();
    let mut out = Vec::new();
    let mut bounded = BTreeSet::new();
    for g in groups.values() {
        if nested.contains(&g.fp) {
            continue;
        }
        // The representative: a unit of the last checkpoint, else any sample there.
        let Some(rep) = g
            .members
            .iter()
            .filter(|m| m.ci + 1 == n)
            .min_by_key(|m| (!g.is_unit(m), m.path().len()))
        else {
            continue;
        };
        let path = rep.path();
        if let Some(b) = bound_of(path, g.acc) {
            bounded.insert(b);
            continue;
        }
        let unit_class = path
            .get(g.acc + 1)
            .and_then(|s| s.holder_type.clone())
            .unwrap_or_else(|| rep.ty.to_string());
        let m = measure(g, &line_of, places, n);
        let units: Vec<&Member<'_>> = g
            .members
            .iter()
            .filter(|x| g.is_unit(x) || x.ty == unit_class)
            .collect();
        let resource = units.iter().find_map(|x| resource_kind(x.s));
        let callable = units.iter().any(|x| x.s.callable);
        let first = m.counts.iter().copied().find(|&v| v > 0).unwrap_or(0);
        let count_growth = m.counts[n - 1].saturating_sub(first);
        let first_bytes = m.bytes.iter().copied().find(|&v| v > 0).unwrap_or(0);
        let bytes_growth = m.bytes[n - 1].saturating_sub(first_bytes);
        // A leak grows at every interval; by a practical number of bytes, or, for open
        // descriptors, live threads and registered callbacks (small in bytes, costly in
        // what they hold or do), by a practical number of units.
        let practical = bytes_growth >= opts.min_growth_bytes
            || ((resource.is_some() || callable) && count_growth >= opts.min_resource_growth);
        if !(m.steady && practical) {
            continue;
        }
        let mut held = held_resources(&units.iter().map(|x| x.s).collect::<Vec<_>>());
        if let Some(r) = resource {
            held.insert(r.to_string());
        }
        let f = build(
            g, rep, path, unit_class, &m, resources, cps, places, sources, opts,
        );
        out.push((f, held));
    }
    out.sort_by(|(a, _), (b, _)| {
        b.retained_bytes
            .cmp(&a.retained_bytes)
            .then(a.fingerprint.cmp(&b.fingerprint))
    });
    // One container can show up under two prefixes (a dict reached through a module variable
    // and through a class attribute): keep the first finding per owner and location.
    let mut seen = BTreeSet::new();
    out.retain(|(f, _)| {
        seen.insert((
            f.owner.as_ref().map(|o| o.name.clone()),
            f.location.as_ref().map(|l| (l.file.clone(), l.line)),
        ))
    });
    // Descriptors or threads that grow at every checkpoint with no finding holding them:
    // sockets or files whose Python objects are gone (`detach()`, `os.open`), threads
    // nothing named keeps.
    let mut extra = Vec::new();
    for r in resources.iter().filter(|r| r.grows_every_interval) {
        let explained = out.iter().any(|(f, held)| match r.kind.as_str() {
            "socket" | "file" => held.contains(r.kind.as_str()),
            "pipe" => f.pattern == Pattern::UnclosedConnection,
            _ => f.pattern == Pattern::Timer,
        });
        if !explained {
            extra.push(resource_finding(r, cps, n));
        }
    }
    let mut out: Vec<Finding> = out.into_iter().map(|(f, _)| f).collect();
    out.extend(extra);
    (out, bounded.into_iter().collect())
}

/// A finding from a descriptor or thread count alone.
fn resource_finding(r: &ResourceSeries, cps: &[Checkpoint], n: usize) -> Finding {
    let counts: Vec<u64> = r.counts.iter().map(|c| c.unwrap_or(0)).collect();
    let last = cps.last();
    let (pattern, unit, reason, suggestion) = match r.kind.as_str() {
        "socket" | "file" | "pipe" => {
            let what = if r.kind == "file" {
                "open file"
            } else {
                r.kind.as_str()
            }
            .to_string();
            let files = last
                .map(|c| &c.process.files_open_repeatedly)
                .filter(|f| !f.is_empty())
                .map(|f| {
                    format!(
                        "; open more than once: {}",
                        f.iter()
                            .take(3)
                            .map(|x| format!("{} ({}x)", x.path, x.count))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
                .unwrap_or_default();
            (
                Pattern::UnclosedConnection,
                what.clone(),
                format!(
                    "open {} descriptors grew at every one of {n} checkpoints ({}), and no Python object the probe sampled holds them: they are opened and never closed (a `detach()`ed socket, `os.open`, a C library){files}",
                    r.kind,
                    counts
                        .iter()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join(" -> ")
                ),
                format!(
                    "Close every {what} on all paths (`with` blocks, `try/finally`); check code that takes the descriptor out of its object (`sock.detach()`, `os.dup`, `os.open`)."
                ),
            )
        }
        _ => {
            let runs = last
                .and_then(|c| c.process.thread_groups.first())
                .map(|g| format!("; most live threads run `{}` ({})", g.runs, g.count))
                .unwrap_or_default();
            (
                Pattern::Timer,
                r.kind.clone(),
                format!(
                    "live {} threads grew at every one of {n} checkpoints ({}){runs}",
                    r.kind,
                    counts.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(" -> ")
                ),
                "Do not start a thread or timer per call: keep the handle and stop it (`t.cancel()`, `t.join()`), or hand the work to one long-lived worker (`concurrent.futures.ThreadPoolExecutor`).".to_string(),
            )
        }
    };
    Finding {
        pattern,
        reason,
        class: r.kind.clone(),
        name: None,
        unit,
        count: *counts.last().unwrap_or(&0),
        retained_bytes: 0,
        growth: counts,
        growth_bytes: vec![0; n],
        retainer_path: Vec::new(),
        location: None,
        code: None,
        excerpt: Vec::new(),
        location_source: None,
        owner: None,
        library: None,
        library_location: None,
        keeps: Vec::new(),
        fingerprint: fnv(&format!("resource|{}", r.kind)),
        suggestion,
    }
}

/// A finding from a line that grew at every checkpoint when nothing the probe sampled
/// explains it (the memory is not in a container it could see grow).
fn line_finding(l: &LineSeries, n: usize, sources: SourceFn<'_>) -> Finding {
    let src = sources(&l.file);
    let code = src
        .as_deref()
        .and_then(|s| s.lines().nth((l.line as usize).saturating_sub(1)))
        .map(|s| s.trim().to_string());
    Finding {
        pattern: Pattern::Unknown,
        reason: format!(
            "memory allocated at {}:{} grew at every one of {n} checkpoints ({}), but no growing container the probe sampled holds it (a C extension's buffer, a bytearray, objects behind C references)",
            short_file(&l.file),
            l.line,
            units::bytes_delta(l.growth_bytes as f64)
        ),
        class: "bytes".into(),
        name: None,
        unit: "allocation".into(),
        count: *l.counts.last().unwrap_or(&0),
        retained_bytes: *l.sizes.last().unwrap_or(&0),
        growth: l.counts.clone(),
        growth_bytes: l.sizes.clone(),
        retainer_path: Vec::new(),
        location: Some(loc(&Frame {
            file: l.file.clone(),
            line: l.line,
        })),
        code,
        excerpt: src.as_deref().map(|s| excerpt(s, l.line)).unwrap_or_default(),
        location_source: Some("allocation-stack".into()),
        owner: None,
        library: None,
        library_location: l.leaf.as_ref().map(loc),
        keeps: Vec::new(),
        fingerprint: fnv(&format!("line|{}|{}", l.file, l.line)),
        suggestion: "Find what keeps the result of this line: run `memsleuth python` on more checkpoints, or look for a container, cache or buffer filled here and never emptied.".into(),
    }
}

#[allow(clippy::too_many_arguments)]
fn build(
    g: &Group<'_>,
    rep: &Member<'_>,
    path: &[ProbeStep],
    unit_class: String,
    m: &Measured,
    resources: &[ResourceSeries],
    cps: &[Checkpoint],
    places: &Places<'_>,
    sources: SourceFn<'_>,
    opts: &Options,
) -> Finding {
    let n = cps.len();
    let acc_step = &path[g.acc];
    let owner = owner(path, g.acc);
    // The sample that is the unit itself (its resource and callable facts): a unit of the
    // last checkpoint, one with a traceback first.
    let unit_sample = g
        .members
        .iter()
        .filter(|x| g.is_unit(x) && x.ci + 1 == n)
        .min_by_key(|x| (x.s.traceback.is_none(), x.path().len()))
        .or_else(|| g.members.iter().find(|x| g.is_unit(x)))
        .map_or(rep.s, |x| x.s);
    let units: Vec<&Sample> = g
        .members
        .iter()
        .filter(|x| g.is_unit(x) || x.ty == unit_class)
        .map(|x| x.s)
        .collect();
    let lru = path.iter().take(g.acc + 1).find(|s| {
        s.holder_type
            .as_deref()
            .is_some_and(|t| t.starts_with("functools._lru_cache_wrapper"))
    });
    let count = m.counts[n - 1];
    let retained = m.bytes[n - 1];
    let resource = units
        .iter()
        .find_map(|s| resource_kind(s))
        .or_else(|| resource_kind(unit_sample));
    let elem_kind = acc_step.edge_kind.as_deref().unwrap_or("");
    let container = acc_step.holder_type.clone().unwrap_or_default();
    let owner_name = owner
        .as_ref()
        .map_or("the container".to_string(), |o| o.name.clone());
    // What the process's own counts say about resources of this kind.
    let evidence = |kinds: &[&str], what: &dyn Fn(&str) -> String| {
        resources
            .iter()
            .filter(|r| r.grows_every_interval && kinds.contains(&r.kind.as_str()))
            .map(|r| {
                format!(
                    "; {} grew at every checkpoint: {}",
                    what(&r.kind),
                    r.counts
                        .iter()
                        .map(|c| c.map_or("?".into(), |c| c.to_string()))
                        .collect::<Vec<_>>()
                        .join(" -> ")
                )
            })
            .next()
            .unwrap_or_default()
    };
    let (pattern, unit, reason) = match resource {
        Some(what @ ("thread" | "timer")) => (
            Pattern::Timer,
            what.to_string(),
            format!(
                "live {what}s ({unit_class}) accumulate in `{owner_name}`: one is started per call and never stopped ({count} alive){}",
                evidence(&["timer", "thread", "daemon"], &|k| format!(
                    "live {k} threads"
                ))
            ),
        ),
        Some(r) => {
            let held = held_resources(&units);
            let mut fds = String::new();
            if r == "socket" || held.contains("socket") {
                fds.push_str(&evidence(&["socket"], &|_| {
                    "open socket descriptors".into()
                }));
            }
            if r == "file" || held.contains("file") {
                fds.push_str(&evidence(&["file"], &|_| "open file descriptors".into()));
            }
            let holding = match (held.contains("socket"), held.contains("file")) {
                (true, true) => ", each holding open sockets and files",
                (true, false) => ", each holding open sockets",
                (false, true) => ", each holding open files",
                _ => "",
            };
            let (what, text) = match r {
                "socket" => ("socket".to_string(), format!("sockets ({unit_class})")),
                "file" => (
                    "open file".to_string(),
                    format!("open files ({unit_class})"),
                ),
                _ => {
                    let short = unit_class.rsplit('.').next().unwrap_or(&unit_class);
                    (
                        short.to_string(),
                        format!("`{short}` objects ({unit_class}, which have a close())"),
                    )
                }
            };
            (
                Pattern::UnclosedConnection,
                what,
                format!(
                    "{text} accumulate in `{owner_name}` and are never closed ({count} open{holding}){fds}"
                ),
            )
        }
        None if unit_sample.callable || units.iter().any(|s| s.callable) => (
            Pattern::EventListener,
            "callback".into(),
            format!(
                "a callback ({}) is added to `{owner_name}` on every call and never removed ({count} registered)",
                unit_sample.function.as_deref().unwrap_or(&unit_class)
            ),
        ),
        None if lru.is_some() => {
            let l = lru.unwrap_or(acc_step);
            (
                Pattern::UnboundedCollection,
                "lru_cache entry".into(),
                format!(
                    "`{}` is an lru_cache without a bound (maxsize=None or @cache) called with a new key each time: {} entries",
                    l.function.as_deref().unwrap_or(&owner_name),
                    l.cache_currsize.unwrap_or(count)
                ),
            )
        }
        None if m.per_unit >= opts.large_unit_bytes => (
            Pattern::LargeDataset,
            "dataset copy".into(),
            format!(
                "each unit kept in `{owner_name}` is a whole dataset ({} per {unit_class}): data loaded whole and kept",
                units::bytes_u64(m.per_unit)
            ),
        ),
        None => {
            let unit = match elem_kind {
                "key" | "dict-key" => "dict entry",
                "member" => "set member",
                _ => "list element",
            };
            (
                Pattern::UnboundedCollection,
                unit.into(),
                format!(
                    "`{owner_name}` ({container}) gains an entry per call and nothing removes them: {count} entries"
                ),
            )
        }
    };

    // Where the container lives: the program, a package, or the standard library.
    let root_file = path
        .first()
        .and_then(|r| {
            r.file
                .clone()
                .or_else(|| r.defined_at.as_ref().map(|f| f.file.clone()))
        })
        .unwrap_or_default();
    let library = places
        .package(&root_file)
        .or_else(|| places.stdlib_module(&root_file))
        .map(|name| Library {
            name,
            holder: owner.as_ref().map(|o| o.name.clone()).unwrap_or_default(),
        });

    // Location: the user's line that creates the leak.
    let tb: Vec<Frame> = unit_sample
        .traceback
        .clone()
        .or_else(|| units.iter().find_map(|s| s.traceback.clone()))
        .unwrap_or_default();
    let alloc_user = user_frame(&tb, places).cloned();
    let leaf = tb.last().cloned();
    let alloc_source = if unit_sample.traceback_source.as_deref() == Some("constructor") {
        "constructor"
    } else {
        "allocation-stack"
    };
    let mut location = alloc_user.as_ref().map(loc);
    let mut location_source = location.as_ref().map(|_| alloc_source.to_string());
    let mut code = None;
    let mut exc = Vec::new();
    let short = short_name(&owner);
    // Frames to search for the line that stores into the container: the unit's own
    // traceback first, then those of the group's other samples and keys, closest to the
    // container first (a value allocated in a helper the handler calls, a key built by the
    // caller).
    let mut by_depth: Vec<&Sample> = g.members.iter().map(|x| x.s).collect();
    by_depth.sort_by_key(|s| s.path.as_ref().map_or(usize::MAX, |p| p.len()));
    let mut user_frames: Vec<&Frame> = tb
        .iter()
        .rev()
        .filter(|f| places.is_user(&f.file))
        .collect();
    for s in by_depth {
        let tbs = [
            s.traceback.as_deref(),
            s.key.as_ref().and_then(|k| k.traceback.as_deref()),
        ];
        for f in tbs.into_iter().flatten().flat_map(|t| t.iter().rev()) {
            if places.is_user(&f.file) && !user_frames.contains(&f) {
                user_frames.push(f);
            }
        }
    }
    let mut found: Option<(Frame, String, &str)> = None;
    if let Some(l) = lru {
        found = lru_declaration(l, &short, sources);
    } else if pattern == Pattern::EventListener {
        let fname = unit_sample
            .function
            .as_deref()
            .and_then(|f| f.rsplit('.').next())
            .unwrap_or("")
            .to_string();
        if !fname.is_empty() && !fname.starts_with('<') {
            for f in &user_frames {
                if let Some(src) = sources(&f.file)
                    && let Some((line, text)) =
                        scan_function(&src, f.line, &|l| passes_name(l, &fname))
                {
                    found = Some((
                        Frame {
                            file: f.file.clone(),
                            line,
                        },
                        text,
                        "registration",
                    ));
                    break;
                }
            }
        }
    }
    // A container of the program's own is filled by one of its lines; a container in a
    // library or the standard library (threading's table of live threads, a package's
    // registry) is filled by library code the program calls: its line is the call, the
    // unit's allocation (or constructor call) in the program's code.
    if found.is_none()
        && library.is_none()
        && let Some(name) = &short
    {
        for f in &user_frames {
            if let Some(src) = sources(&f.file)
                && let Some((line, text)) = scan_function(&src, f.line, &|l| stores_into(l, name))
            {
                found = Some((
                    Frame {
                        file: f.file.clone(),
                        line,
                    },
                    text,
                    "container-insert",
                ));
                break;
            }
        }
    }
    if let Some((f, text, how)) = found {
        location = Some(loc(&f));
        location_source = Some(how.to_string());
        code = Some(text.trim().to_string());
        if let Some(src) = sources(&f.file) {
            exc = excerpt(&src, f.line);
        }
    } else if let Some(f) = &alloc_user
        && let Some(src) = sources(&f.file)
    {
        code = src
            .lines()
            .nth((f.line as usize).saturating_sub(1))
            .map(|s| s.trim().to_string());
        exc = excerpt(&src, f.line);
    }
    let library_location = leaf
        .as_ref()
        .filter(|l| !places.is_user(&l.file) && places.package(&l.file).is_some())
        .map(loc);
    let mut reason = reason;
    if let (Some(a), Some(l)) = (&alloc_user, &location)
        && (a.file != l.file || a.line != l.line)
    {
        reason.push_str(&format!(
            "; the memory is allocated at {}:{}",
            short_file(&a.file),
            a.line
        ));
    }
    // The user's call that feeds a library's own table: where the fix goes.
    let caller = location
        .as_ref()
        .filter(|l| places.is_user(&l.file))
        .map(|l| {
            let at = format!("{}:{}", short_file(&l.file), l.line);
            match &code {
                Some(c) => format!("{at} (`{c}`)"),
                None => at,
            }
        });
    let suggestion = fix(
        pattern,
        &unit,
        &owner_name,
        unit_sample,
        lru.is_some(),
        short.as_deref(),
        library
            .as_ref()
            .map(|l| l.name.as_str())
            .zip(caller.as_deref()),
    );
    let fp_text = format!("{}|{}|{unit_class}", pattern.id(), g.fp);
    Finding {
        pattern,
        reason,
        class: unit_class.clone(),
        name: unit_sample
            .function
            .clone()
            .filter(|_| pattern == Pattern::EventListener),
        unit,
        count,
        retained_bytes: retained,
        growth: m.counts.clone(),
        growth_bytes: m.bytes.clone(),
        retainer_path: to_steps(path, g.acc),
        location,
        code,
        excerpt: exc,
        location_source,
        owner,
        library,
        library_location,
        keeps: Vec::new(),
        fingerprint: fnv(&fp_text),
        suggestion,
    }
}

/// The line that declares an unbounded lru_cache: the decorator above the function, else the
/// line that wraps it by a call (`f = functools.lru_cache(maxsize=None)(g)`), preferring one
/// that says it is unbounded.
fn lru_declaration<'a>(
    l: &ProbeStep,
    short: &Option<String>,
    sources: SourceFn<'_>,
) -> Option<(Frame, String, &'a str)> {
    let def = l.defined_at.as_ref()?;
    let src = sources(&def.file)?;
    let fname = l.function.clone().unwrap_or_default();
    let short_fn = fname.rsplit('.').next().unwrap_or("").to_string();
    let wrapper = short.clone().unwrap_or_default();
    let names_it = |c: &str| {
        (!short_fn.is_empty() && c.contains(short_fn.as_str()))
            || (!wrapper.is_empty() && c.contains(wrapper.as_str()))
    };
    // A decorated function's first line is its first decorator.
    let above = src
        .lines()
        .enumerate()
        .skip((def.line as usize).saturating_sub(1))
        .take_while(|(_, t)| t.trim_start().starts_with('@'))
        .find(|(_, t)| t.contains("cache"))
        .map(|(i, t)| (i as u32 + 1, t.trim_end().to_string()));
    let unbounded = l.cache_maxsize == Some(None);
    let says_unbounded = |c: &str| {
        c.contains("maxsize=None")
            || c.contains(".cache(")
            || c.contains("@cache")
            || c.contains("@functools.cache")
    };
    let candidates: Vec<(u32, String)> = src
        .lines()
        .enumerate()
        .filter(|(_, t)| {
            let c = t.split('#').next().unwrap_or("");
            c.contains("cache") && !c.trim_start().starts_with("def ") && names_it(c)
        })
        .map(|(i, t)| (i as u32 + 1, t.trim_end().to_string()))
        .collect();
    let (line, text) = above.or_else(|| {
        candidates
            .iter()
            .find(|(_, t)| unbounded && says_unbounded(t))
            .or(candidates.first())
            .cloned()
    })?;
    Some((
        Frame {
            file: def.file.clone(),
            line,
        },
        text,
        "declaration",
    ))
}

/// A bound the path shows on the container: `deque(maxlen=N)` or `lru_cache(maxsize=N)`.
fn bound_of(path: &[ProbeStep], acc: usize) -> Option<String> {
    for s in path.iter().take(acc + 1) {
        if let Some(Some(m)) = s.maxlen {
            return Some(format!(
                "{} is a deque bounded at {m} entries (maxlen)",
                s.holder_type.as_deref().unwrap_or("container")
            ));
        }
        if let Some(Some(m)) = s.cache_maxsize {
            return Some(format!(
                "lru_cache of {} is bounded at {m} entries (maxsize), {} in use",
                s.function.as_deref().unwrap_or("a function"),
                s.cache_currsize.unwrap_or(0)
            ));
        }
    }
    None
}

fn user_frame<'a>(tb: &'a [Frame], places: &Places<'_>) -> Option<&'a Frame> {
    tb.iter().rev().find(|f| places.is_user(&f.file))
}

/// The owner: the dotted names from the root down to the accumulation holder.
fn owner(path: &[ProbeStep], acc: usize) -> Option<Owner> {
    let root = path.first()?;
    let mut name = root.name.clone().unwrap_or_default();
    // The script run as `python app.py` is the module `__main__`; its developer calls it
    // `app`.
    if name == "__main__"
        && let Some(stem) = root
            .file
            .as_deref()
            .and_then(|f| std::path::Path::new(f).file_stem())
            .and_then(|s| s.to_str())
    {
        name = stem.to_string();
    }
    let is_thread = root.root.as_deref() == Some("thread");
    if is_thread {
        name = format!("thread {name}");
    }
    let mut kind = if is_thread {
        "thread"
    } else {
        "module-variable"
    }
    .to_string();
    let mut holder_class = if is_thread { "frame" } else { "module" }.to_string();
    let mut keyed = false;
    for st in path.iter().take(acc).skip(1) {
        let k = st.edge_kind.as_deref().unwrap_or("");
        let e = st.edge.clone().unwrap_or_default();
        if NAMED_EDGES.contains(&k) {
            name.push('.');
            name.push_str(&e);
            kind = match k {
                "module-variable" => "module-variable",
                "class-attribute" => "class-field",
                "closure-variable" => "closure-variable",
                "local-variable" => "local-variable",
                _ => "property",
            }
            .to_string();
            holder_class = st.holder_type.clone().unwrap_or_default();
            keyed = false;
        } else if k == "key" || k == "index" {
            name.push_str(&e);
            keyed = true;
        }
    }
    if keyed {
        kind = "map-entry".into();
    }
    Some(Owner {
        name,
        kind,
        holder_class,
    })
}

fn to_steps(path: &[ProbeStep], acc: usize) -> Vec<PathStep> {
    let mut out = Vec::new();
    for (i, st) in path.iter().enumerate() {
        if let Some(r) = &st.root {
            out.push(PathStep {
                holder: format!("({r}s)"),
                holder_id: 0,
                edge: st.name.clone().unwrap_or_default(),
                edge_type: r.clone(),
                suspect: false,
                repeat: 1,
            });
            continue;
        }
        out.push(PathStep {
            holder: st.holder_type.clone().unwrap_or_default(),
            holder_id: st.holder_id.unwrap_or(0),
            edge: st.edge.clone().unwrap_or_default(),
            edge_type: st.edge_kind.clone().unwrap_or_default(),
            suspect: i >= acc,
            repeat: 1,
        });
    }
    out
}

fn loc(f: &Frame) -> Location {
    Location {
        file: f.file.clone(),
        line: f.line,
        column: 1,
    }
}

/// The last name of the owner (`_rendered` of `handlers._rendered`).
fn short_name(owner: &Option<Owner>) -> Option<String> {
    let o = owner.as_ref()?;
    let base = o.name.split('[').next().unwrap_or(&o.name);
    let last = base.rsplit('.').next()?.trim();
    (!last.is_empty() && !last.contains(' ')).then(|| last.to_string())
}

fn indent(s: &str) -> usize {
    s.len() - s.trim_start().len()
}

/// From `line` (1-based) forward, within the function that contains it, the first line for
/// which `hit` holds.
fn scan_function(src: &str, line: u32, hit: &dyn Fn(&str) -> bool) -> Option<(u32, String)> {
    let lines: Vec<&str> = src.lines().collect();
    let start = (line as usize).checked_sub(1)?;
    let first = *lines.get(start)?;
    // The indentation of the function body: the smallest indentation seen from the start
    // line up, until a `def` with less indentation.
    let mut def_indent = None;
    for l in lines[..=start].iter().rev() {
        let t = l.trim_start();
        if (t.starts_with("def ") || t.starts_with("async def ")) && indent(l) < indent(first) {
            def_indent = Some(indent(l));
            break;
        }
    }
    for (i, l) in lines.iter().enumerate().skip(start).take(60) {
        let t = l.trim_start();
        if i > start
            && !t.is_empty()
            && let Some(d) = def_indent
            && indent(l) <= d
        {
            break;
        }
        if hit(l) {
            return Some((i as u32 + 1, l.trim_end().to_string()));
        }
    }
    None
}

fn stores_into(line: &str, name: &str) -> bool {
    let code = line.split('#').next().unwrap_or("");
    let Some(pos) = code.find(name) else {
        return false;
    };
    let before = code[..pos].chars().last();
    if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
        return false;
    }
    let rest = &code[pos + name.len()..];
    if rest.starts_with('[') {
        // `name[key] = value` or `name[a][b] = value` (not a read `x = name[key]`, nor a
        // comparison `name[key] == 1`).
        let mut depth = 0usize;
        let mut end = None;
        for (i, ch) in rest.char_indices() {
            match ch {
                '[' => depth += 1,
                ']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = Some(i + 1);
                        if !rest[i + 1..].trim_start().starts_with('[') {
                            break;
                        }
                    }
                }
                _ => {}
            }
        }
        return end.is_some_and(|e| {
            let after = rest[e..].trim_start();
            after.starts_with('=') && !after.starts_with("==")
        });
    }
    [
        ".append(",
        ".add(",
        ".setdefault(",
        ".extend(",
        ".insert(",
        ".update(",
        ".appendleft(",
        ".put(",
        ".push(",
    ]
    .iter()
    .any(|m| rest.starts_with(m))
}

fn passes_name(line: &str, name: &str) -> bool {
    let t = line.trim_start();
    if t.starts_with("def ") || t.starts_with("async def ") {
        return false;
    }
    let code = line.split('#').next().unwrap_or("");
    code.match_indices(name).any(|(i, _)| {
        // The name alone or as an attribute: a bound method (`self.on_price`) is handed over
        // as `obj.name`.
        let mut start = i;
        if code[..i].ends_with('.') {
            start = code[..i - 1]
                .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
                .map_or(0, |p| p + 1);
        }
        let before = code[..start].chars().last();
        let after = code[i + name.len()..].chars().next();
        before.is_some_and(|c| c == '(' || c == ',' || c == ' ' || c == '=')
            && (start == i || start < i - 1)
            && after.is_some_and(|c| c == ')' || c == ',' || c == ' ')
    }) && code.contains('(')
}

fn excerpt(src: &str, line: u32) -> Vec<String> {
    crate::heap::source::excerpt(src, line, 3, 3)
}

fn short_file(f: &str) -> &str {
    f.rsplit('/').next().unwrap_or(f)
}

/// The fix, per pattern, in Python terms and with the names of the finding. `library` is the
/// library whose own table holds the entries, with the user's call that adds them.
fn fix(
    pattern: Pattern,
    unit: &str,
    owner: &str,
    s: &Sample,
    lru: bool,
    short: Option<&str>,
    library: Option<(&str, &str)>,
) -> String {
    let var = short.unwrap_or("the container");
    match pattern {
        Pattern::Timer => format!(
            "Do not start a {unit} per call: keep the handle and stop it (`t.cancel()` for a threading.Timer, `t.join()` after telling the thread to exit), or hand the work to one long-lived worker (`concurrent.futures.ThreadPoolExecutor`, `sched`, a queue){}.",
            s.target
                .as_deref()
                .map(|t| format!("; the thread runs `{t}`"))
                .unwrap_or_default()
        ),
        Pattern::UnclosedConnection => format!(
            "Close each {unit} when the call is done: `with open(...) as f:` / `with socket.create_connection(...) as s:` / `contextlib.closing(obj)`, and do not keep it in `{owner}`; for HTTP or DB sessions create one per process (or use the pool) and `close()` it at shutdown."
        ),
        Pattern::EventListener => format!(
            "Remove the callback when the call ends (`unsubscribe`/`remove` in a `finally:`), register it once at start-up instead of per call, or keep it weakly (`weakref.WeakMethod`, `weakref.WeakSet`) so `{owner}` does not keep{} alive.",
            s.function
                .as_deref()
                .map(|f| format!(" every `{f}` and what it closes over"))
                .unwrap_or_else(|| " the callbacks".into())
        ),
        Pattern::UnboundedCollection if lru => format!(
            "Give the cache a bound: `@functools.lru_cache(maxsize=1024)` instead of `maxsize=None` / `@functools.cache`, or key it on something with few values (not the request's id); `{var}.cache_clear()` empties it."
        ),
        Pattern::LargeDataset => format!(
            "Do not keep a whole copy per call in `{owner}`: load the data once at start-up and share it, or stream it (iterate the file, `csv.reader` row by row, `ijson`) and keep only the aggregate you need."
        ),
        // A library's registry is not the user's to bound: what grows it is a new key per
        // call from the user's code (a logger, a named object, a registered type per request).
        Pattern::UnboundedCollection if let Some((lib, call)) = library => format!(
            "`{owner}` is {lib}'s own table and keeps every key it is given: the call at {call} adds a new one per call. Call it with a fixed set of names or keys (one per component, not per request or per id) and pass the per-call values as arguments, or undo the registration when the call is done."
        ),
        _ => format!(
            "Bound `{owner}`: evict old entries (`functools.lru_cache(maxsize=...)` on the function that computes them, `collections.OrderedDict` with `popitem(last=False)` past a size, `cachetools.LRUCache`/`TTLCache`), use `collections.deque(maxlen=...)` for a history, or `weakref.WeakValueDictionary` when the values live elsewhere; delete the entry (`del {var}[key]`) when its request is done."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_detection() {
        assert!(stores_into("        _rendered[key] = page", "_rendered"));
        assert!(stores_into("    _audit_logs.append(log)", "_audit_logs"));
        assert!(!stores_into("    page = _rendered.get(key)", "_rendered"));
        assert!(!stores_into("    x = my_rendered[key]", "_rendered"));
        assert!(!stores_into("    if _rendered[key] == 1:", "_rendered"));
        assert!(stores_into("    _rendered[a][b] = 1", "_rendered"));
        assert!(stores_into("    cls._sessions[sid] = session", "_sessions"));
        assert!(passes_name(
            "    events.subscribe(\"rates\", on_rate_change)",
            "on_rate_change"
        ));
        assert!(!passes_name(
            "    def on_rate_change(value):",
            "on_rate_change"
        ));
        assert!(passes_name(
            "        bus.register(self.on_event)",
            "on_event"
        ));
        assert!(!passes_name("        x = self.on_event_count", "on_event"));
    }

    #[test]
    fn function_scan_stops_at_the_function_end() {
        let src = "def a():\n    x = 1\n    cache[x] = 2\n\ndef b():\n    cache[1] = 3\n";
        assert_eq!(
            scan_function(src, 2, &|l| stores_into(l, "cache")).map(|x| x.0),
            Some(3)
        );
        let src = "def a():\n    x = 1\n\ndef b():\n    cache[1] = 3\n";
        assert_eq!(scan_function(src, 2, &|l| stores_into(l, "cache")), None);
    }

    #[test]
    fn growth_at_every_interval() {
        assert!(grows_every(&[1, 2, 3]));
        assert!(!grows_every(&[1, 3, 3]));
        // Filled, then turned over: +130, +70, +2.
        assert!(!grows_every(&[10, 140, 210, 212]));
        assert!(!grows_every(&[5]));
        assert!(grows_every_known(&[None, Some(2), Some(3)]));
        assert!(!grows_every_known(&[Some(1), Some(2), None]));
    }
}
