//! What grows across the probe's checkpoints of one Python process, and why.
//!
//! Stages, flowing one way:
//! 1. **lines**: tracemalloc bytes per allocation site (the innermost line of the program's
//!    own code), at every checkpoint; a line leaks when it grew at *every* interval, by a
//!    practical amount, not only between two checkpoints;
//! 2. **types**: object counts per type at every checkpoint;
//! 3. **groups**: the probe's sampled instances of the types that grew, grouped by the
//!    container they accumulate in (the element edge on their referrer path with the most
//!    entries), so a dict's keys, values and what they hold are one leak;
//! 4. **classification** from what accumulates and where: callables (callbacks registered per
//!    call), open files and sockets, live threads and timers, an `lru_cache` without bound,
//!    large units (datasets loaded whole), any other container without bound;
//! 5. **location**: the user's line, found from the allocation traceback, then the line in
//!    the same function that adds to the container or hands the callback over; the library
//!    named when the container lives in an installed package.
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
}

impl Default for Options {
    fn default() -> Self {
        Options {
            min_growth_bytes: 64 * 1024,
            large_unit_bytes: 1 << 20,
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
    pub threads: u64,
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
        && known.len() > needed.min(v.len() - 1)
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
            threads: c.process.threads,
            probe_seconds: c.probe_seconds,
        })
        .collect();

    let lines = line_series(cps, &places);
    let types = type_series(cps);
    let (findings, bounded) = groups(cps, &lines, &places, sources, opts);

    let growing_lines: Vec<&LineSeries> = lines
        .iter()
        .filter(|l| l.grows_every_interval && l.growth_bytes >= opts.min_growth_bytes as i64)
        .collect();
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
        return (
            Verdict::Leak,
            format!(
                "{} grew at every one of {} checkpoints: {} {}(s), {}",
                f.owner
                    .as_ref()
                    .map_or_else(|| format!("a {}", f.class), |o| format!("`{}`", o.name)),
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
                    "no allocation site grew at every checkpoint and traced memory changed by {} between the last two (under {})",
                    units::bytes_delta(b - a),
                    units::bytes(bound)
                ),
            );
        }
        return (
            Verdict::Inconclusive,
            format!(
                "traced memory grew by {} between the last two checkpoints, but no allocation site grew at every one",
                units::bytes_delta(b - a)
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

/// Where on a path the units accumulate: the element edge whose holder has the most entries.
fn accumulation(path: &[ProbeStep]) -> Option<usize> {
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

struct Group<'a> {
    fp: String,
    acc: usize,
    /// (sample, its type, checkpoint index)
    samples: Vec<(&'a Sample, &'a str, usize)>,
}

fn groups(
    cps: &[Checkpoint],
    lines: &[LineSeries],
    places: &Places<'_>,
    sources: SourceFn<'_>,
    opts: &Options,
) -> (Vec<Finding>, Vec<String>) {
    let n = cps.len();
    let mut groups: BTreeMap<String, Group<'_>> = BTreeMap::new();
    for (ci, c) in cps.iter().enumerate() {
        for g in &c.growing {
            for s in &g.samples {
                let Some(path) = &s.path else { continue };
                let Some(acc) = accumulation(path) else {
                    continue;
                };
                let fp = fingerprint(path, acc);
                groups
                    .entry(fp.clone())
                    .or_insert_with(|| Group {
                        fp,
                        acc,
                        samples: Vec::new(),
                    })
                    .samples
                    .push((s, s.type_name.as_deref().unwrap_or(&g.type_name), ci));
            }
        }
    }
    let line_of: BTreeMap<(&str, u32), &LineSeries> = lines
        .iter()
        .map(|l| ((l.file.as_str(), l.line), l))
        .collect();
    let mut out = Vec::new();
    let mut bounded = BTreeSet::new();
    for g in groups.values() {
        // The representative: a sample of the last checkpoint that has a path, the unit itself
        // when it was sampled.
        let Some(&(rep, rep_type, _)) = g
            .samples
            .iter()
            .filter(|(_, _, ci)| *ci + 1 == n)
            .min_by_key(|(s, _, _)| s.path.as_ref().map_or(usize::MAX, |p| p.len()))
        else {
            continue;
        };
        let Some(path) = rep.path.as_ref() else {
            continue;
        };
        if let Some(b) = bound_of(path, g.acc) {
            bounded.insert(b);
            continue;
        }
        let unit_class = path
            .get(g.acc + 1)
            .and_then(|s| s.holder_type.clone())
            .unwrap_or_else(|| rep_type.to_string());
        // Units in the container at each checkpoint where it was sampled.
        let mut growth = vec![0u64; n];
        for (s, _, ci) in &g.samples {
            if let Some(st) = s.path.as_ref().and_then(|p| p.get(g.acc)) {
                growth[*ci] = growth[*ci].max(st.len.unwrap_or(0));
            }
        }
        // Bytes: the allocation lines of the group's samples.
        let mut keys: BTreeSet<(&str, u32)> = BTreeSet::new();
        for (s, _, _) in &g.samples {
            if let Some(f) = s.traceback.as_ref().and_then(|tb| user_frame(tb, places)) {
                keys.insert((f.file.as_str(), f.line));
            }
        }
        let mut growth_bytes = vec![0u64; n];
        for k in &keys {
            if let Some(l) = line_of.get(k) {
                for (i, v) in l.sizes.iter().enumerate() {
                    growth_bytes[i] += v;
                }
            }
        }
        let bytes_grow = grows_every(&growth_bytes)
            && growth_bytes[n - 1] - growth_bytes[0] >= opts.min_growth_bytes;
        let measured: Vec<u64> = growth.iter().copied().filter(|&v| v > 0).collect();
        let count_grows = measured.len() >= 2 && grows_every(&measured);
        if !(bytes_grow || (count_grows && growth_bytes[n - 1] >= opts.min_growth_bytes)) {
            continue;
        }
        let count = growth[n - 1];
        let retained = growth_bytes[n - 1];
        out.push(build(
            g,
            rep,
            rep_type,
            path,
            unit_class,
            count,
            retained,
            growth,
            growth_bytes,
            cps,
            places,
            sources,
            opts,
        ));
    }
    out.sort_by(|a, b| {
        b.retained_bytes
            .cmp(&a.retained_bytes)
            .then(a.fingerprint.cmp(&b.fingerprint))
    });
    // One container can show up under two prefixes (a dict reached through a module variable
    // and through a class attribute): keep the first finding per owner and location.
    let mut seen = BTreeSet::new();
    out.retain(|f| {
        seen.insert((
            f.owner.as_ref().map(|o| o.name.clone()),
            f.location.as_ref().map(|l| (l.file.clone(), l.line)),
        ))
    });
    (out, bounded.into_iter().collect())
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

fn to_steps(path: &[ProbeStep], acc: usize, unit_class: &str) -> Vec<PathStep> {
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
    let _ = unit_class;
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
        // `name[key] = value` (not a read `x = name[key]`).
        return rest.find(']').is_some_and(|e| {
            let after = rest[e + 1..].trim_start();
            after.starts_with('=') && !after.starts_with("==")
        }) || rest.contains("] =");
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
        let before = code[..i].chars().last();
        let after = code[i + name.len()..].chars().next();
        before.is_some_and(|c| c == '(' || c == ',' || c == ' ' || c == '=')
            && !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            && after.is_some_and(|c| c == ')' || c == ',' || c == ' ')
    }) && code.contains('(')
}

fn excerpt(src: &str, line: u32) -> Vec<String> {
    crate::heap::source::excerpt(src, line, 3, 3)
}

#[allow(clippy::too_many_arguments)]
fn build(
    g: &Group<'_>,
    rep: &Sample,
    rep_type: &str,
    path: &[ProbeStep],
    unit_class: String,
    count: u64,
    retained: u64,
    growth: Vec<u64>,
    growth_bytes: Vec<u64>,
    cps: &[Checkpoint],
    places: &Places<'_>,
    sources: SourceFn<'_>,
    opts: &Options,
) -> Finding {
    let n = cps.len();
    let acc_step = &path[g.acc];
    let owner = owner(path, g.acc);
    // The sample that is the unit itself (its resource and callable facts), else any.
    // Prefer a sample that sits right in the container (the unit itself).
    let unit_sample = g
        .samples
        .iter()
        .filter(|(_, t, ci)| *t == unit_class && *ci + 1 == n)
        .map(|(s, _, _)| *s)
        .min_by_key(|s| s.path.as_ref().map_or(usize::MAX, |p| p.len()))
        .unwrap_or(rep);
    let any_res = |pred: &dyn Fn(&Sample) -> bool| {
        g.samples.iter().any(|(s, t, _)| {
            (*t == unit_class || s.path.as_ref().is_some_and(|p| p.len() > g.acc + 1)) && pred(s)
        })
    };
    let lru = path.iter().take(g.acc + 1).find(|s| {
        s.holder_type
            .as_deref()
            .is_some_and(|t| t.starts_with("functools._lru_cache_wrapper"))
    });
    let per_unit = retained.checked_div(count).unwrap_or(retained);
    let thread_unit = unit_sample
        .resource
        .as_deref()
        .is_some_and(|r| r == "thread" || r == "timer")
        && unit_sample.alive != Some(false);
    let open_resource = any_res(&|s: &Sample| {
        matches!(s.resource.as_deref(), Some("file") | Some("socket")) && s.closed == Some(false)
    }) || unit_sample.resource.as_deref() == Some("closable");
    let elem_kind = acc_step.edge_kind.as_deref().unwrap_or("");
    let container = acc_step.holder_type.clone().unwrap_or_default();
    let owner_name = owner
        .as_ref()
        .map_or("the container".to_string(), |o| o.name.clone());
    let (pattern, unit, reason) = if thread_unit {
        let what = unit_sample.resource.clone().unwrap_or_default();
        (
            Pattern::Timer,
            what.clone(),
            format!(
                "live {what}s ({unit_class}) accumulate in `{owner_name}`: one is started per call and never stopped"
            ),
        )
    } else if open_resource {
        let what = match unit_sample.resource.as_deref() {
            Some("socket") => "socket".to_string(),
            Some("file") => "open file".to_string(),
            _ => format!("unclosed {unit_class}"),
        };
        (
            Pattern::UnclosedConnection,
            what.clone(),
            format!(
                "{what}s ({unit_class}) accumulate in `{owner_name}` and are never closed{}",
                cps.last()
                    .and_then(|c| c.process.open_fds)
                    .map(|f| format!(" ({f} open file descriptors at the last checkpoint)"))
                    .unwrap_or_default()
            ),
        )
    } else if unit_sample.callable || rep.callable && rep_type == unit_class {
        (
            Pattern::EventListener,
            "callback".into(),
            format!(
                "a callback ({}) is added to `{owner_name}` on every call and never removed",
                unit_sample.function.as_deref().unwrap_or(&unit_class)
            ),
        )
    } else if let Some(l) = lru {
        (
            Pattern::UnboundedCollection,
            "lru_cache entry".into(),
            format!(
                "`{}` is an lru_cache without a bound (maxsize=None or @cache) called with a new key each time: {} entries",
                l.function.as_deref().unwrap_or(&owner_name),
                l.cache_currsize.unwrap_or(count)
            ),
        )
    } else if per_unit >= opts.large_unit_bytes {
        (
            Pattern::LargeDataset,
            "dataset copy".into(),
            format!(
                "each unit kept in `{owner_name}` is a whole dataset ({} per {unit_class}): data loaded whole and kept",
                units::bytes_u64(per_unit)
            ),
        )
    } else {
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
    };

    // Location: the user's frame of the unit's allocation, then the line that stores it.
    let tb: Vec<Frame> = unit_sample
        .traceback
        .clone()
        .or_else(|| rep.traceback.clone())
        .unwrap_or_default();
    let alloc_user = user_frame(&tb, places).cloned();
    let leaf = tb.last().cloned();
    let mut location = alloc_user.as_ref().map(loc);
    let mut location_source = location.as_ref().map(|_| "allocation-stack".to_string());
    let mut code = None;
    let mut exc = Vec::new();
    let short = short_name(&owner);
    // Frames to search for the line that stores into the container: the unit's own
    // traceback first, then those of the group's other samples, closest to the container first
    // (a value allocated in a helper the handler calls, a key built by the caller).
    let mut by_depth: Vec<&Sample> = g.samples.iter().map(|(s, _, _)| *s).collect();
    by_depth.sort_by_key(|s| s.path.as_ref().map_or(usize::MAX, |p| p.len()));
    let mut user_frames: Vec<&Frame> = tb
        .iter()
        .rev()
        .filter(|f| places.is_user(&f.file))
        .collect();
    for s in by_depth {
        for f in s.traceback.iter().flatten().rev() {
            if places.is_user(&f.file) && !user_frames.contains(&f) {
                user_frames.push(f);
            }
        }
    }
    let mut found: Option<(Frame, String, &str)> = None;
    if let Some(l) = lru {
        if let Some(def) = &l.defined_at
            && let Some(src) = sources(&def.file)
        {
            let fname = l.function.clone().unwrap_or_default();
            let short_fn = fname.rsplit('.').next().unwrap_or("").to_string();
            let wrapper = short.clone().unwrap_or_default();
            let names_it = |c: &str| {
                (!short_fn.is_empty() && c.contains(short_fn.as_str()))
                    || (!wrapper.is_empty() && c.contains(wrapper.as_str()))
            };
            // The decorator is the definition's first line; else the line that wraps the
            // function by a call (`f = functools.lru_cache(maxsize=None)(g)`).
            let above = (def.line as usize)
                .checked_sub(1)
                .and_then(|i| src.lines().nth(i))
                .filter(|t| t.contains("cache"))
                .map(|t| (def.line, t.trim_end().to_string()));
            // An unbounded cache is declared with `maxsize=None` or `cache`; prefer the line
            // that says so over a bounded variant of the same function.
            let unbounded = l.cache_maxsize == Some(None);
            let says_unbounded = |c: &str| {
                c.contains("maxsize=None")
                    || (c.contains("cache") && !c.contains("lru_cache") && !c.contains("maxsize"))
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
            let pick = above.or_else(|| {
                candidates
                    .iter()
                    .find(|(_, t)| unbounded && says_unbounded(t))
                    .or(candidates.first())
                    .cloned()
            });
            if let Some((line, text)) = pick {
                found = Some((
                    Frame {
                        file: def.file.clone(),
                        line,
                    },
                    text,
                    "declaration",
                ));
            }
        }
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
    if found.is_none()
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
            .nth(f.line as usize - 1)
            .map(|s| s.trim().to_string());
        exc = excerpt(&src, f.line);
    }
    let library_location = leaf
        .as_ref()
        .filter(|l| !places.is_user(&l.file) && places.package(&l.file).is_some())
        .map(loc);
    let root_file = path
        .first()
        .and_then(|r| r.file.clone())
        .unwrap_or_default();
    let library = places.package(&root_file).map(|name| Library {
        name,
        holder: owner.as_ref().map(|o| o.name.clone()).unwrap_or_default(),
    });
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
    let suggestion = fix(
        pattern,
        &unit,
        &owner_name,
        unit_sample,
        lru.is_some(),
        short.as_deref(),
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
        growth,
        growth_bytes,
        retainer_path: to_steps(path, g.acc, &unit_class),
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

fn short_file(f: &str) -> &str {
    f.rsplit('/').next().unwrap_or(f)
}

/// The fix, per pattern, in Python terms and with the names of the finding.
fn fix(
    pattern: Pattern,
    unit: &str,
    owner: &str,
    s: &Sample,
    lru: bool,
    short: Option<&str>,
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
        assert!(passes_name(
            "    events.subscribe(\"rates\", on_rate_change)",
            "on_rate_change"
        ));
        assert!(!passes_name(
            "    def on_rate_change(value):",
            "on_rate_change"
        ));
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
