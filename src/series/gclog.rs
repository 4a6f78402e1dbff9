//! Node `--trace-gc` logs: one event per collection, post-GC heap growth, GC pauses, OOM.
//!
//! Reads the output of Node 18 to 24 (V8 `GCTracer::Print`): `Scavenge`, `Mark-Compact`,
//! `Minor Mark-Compact`, `Minor Mark-Sweep`, the `(reduce)` / `(interleaved)` flags, the
//! `pooled: P MB` field of Node 22+, 1- or 2-decimal pauses, the OOM "Last few GCs" block whose
//! entries are run together on one line, and `--trace-gc-nvp` `key=value` lines. Lines of
//! `--trace-gc-verbose` and of the program's own output are counted as `other_lines`; lines that
//! look like a GC event but cannot be read are counted as `unparsed_lines`. Only a log with no
//! readable event at all is an error.
//!
//! The growth rate is the trend of the post-GC *floor*: the heap after each full (mark-compact)
//! collection when there are many of them; with fewer, the heap after every collection
//! (scavenges too) capped by the heap after the next full GC ([`trend::confirmed_floor`]), so
//! a ramp of promoted garbage that the next full GC collects is not growth. With fewer than two
//! full GCs nothing confirms that the heap is retained: the lower envelope of the heap after
//! every collection can show that growth is bounded, never that it is a leak. A log that ends
//! in an out-of-memory crash is never `no-leak`. Sizes are V8's "MB", which are MiB (2^20
//! bytes).

use crate::error::InputError;
use crate::series::trend::{self, Point, Trend, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One collection read from the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GcEvent {
    /// `pid:isolate` of the `[pid:0xisolate]` prefix.
    pub isolate: String,
    /// Milliseconds since the isolate started.
    pub t_ms: f64,
    /// `Scavenge`, `Mark-Compact`, `Minor Mark-Compact`, `Minor Mark-Sweep`, ...
    pub kind: String,
    /// A full (old generation) collection.
    pub full: bool,
    /// `(reduce)`: a memory-reducing full GC.
    pub reduce: bool,
    /// Live objects before and after, MiB.
    pub heap_before_mb: f64,
    pub heap_after_mb: f64,
    /// Committed heap after the GC, MiB, when printed.
    pub committed_after_mb: Option<f64>,
    /// Pause, ms.
    pub pause_ms: f64,
    /// Why V8 collected (`allocation failure`, `testing`, ...), when printed.
    pub reason: String,
    /// 1-based line of the log.
    pub line: u64,
}

/// `gc_pause_ms` of [`GcReport`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Pauses {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// `heap_after_gc_mb` of [`GcReport`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HeapRange {
    pub first: f64,
    pub last: f64,
    pub min: f64,
    pub max: f64,
}

/// A line that looked like a GC event but could not be read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unparsed {
    pub line: u64,
    pub text: String,
}

/// The analysis of one `--trace-gc` log; the JSON of `memsleuth gc --format json`.
///
/// ```text
/// {
///   "file": "app.log",
///   "events": 120,                      // GC events of the analysed isolate
///   "duration_s": 42.5,                 // first to last event
///   "gc_pause_ms": {"p50": 1.2, "p95": 9.8, "p99": 23.1, "max": 30.0},
///   "time_in_gc_percent": 3.4,          // sum of pauses / duration
///   "heap_after_gc_mb": {"first": 4.1, "last": 80.2, "min": 3.6, "max": 81.0},
///   "growth_mb_per_hour": 3600.0,       // trend of the post-GC floor, MiB per hour
///   "growth_bytes_per_hour": 3774873600.0,      // the same in bytes per hour, and the
///   "growth_low_bytes_per_hour": 3.5e9,         // 95 % interval of the Theil-Sen slope
///   "growth_high_bytes_per_hour": 4.0e9,
///   "span_seconds": 40.1,               // the window the growth was fitted on
///   "too_short_for_rate": true,         // span under 6 min: the hourly rate extrapolates >10x
///   "method": "Theil-Sen on ...",       // which points, which estimator
///   "verdict": "leak",                  // "leak" | "no-leak" | "inconclusive" (see trend)
///   "reason": "steady growth ...",      // one line
///   "series": [[t_ms, heap_after_mb], ...],   // every event, in time order
///   "floor": [[t_ms, heap_after_mb], ...],    // the points the trend was fitted on
///   "floor_source": "mark-compact",     // or "lower-envelope"
///   "full_gcs": 12,
///   "events_by_type": {"Mark-Compact": 12, "Scavenge": 108},
///   "start_ms": 15.0, "end_ms": 42515.0,  // isolate clock of the first and last event
///   "isolate": "9563:0x7edbc40", "isolates": 1, "other_isolate_events": 0,
///   "duplicate_events": 0,              // OOM "Last few GCs" entries already seen
///   "unparsed_lines": 0, "unparsed_examples": [{"line": 7, "text": "..."}],
///   "other_lines": 3,                   // program output, --trace-gc-verbose lines
///   "oom": false, "oom_message": null,  // "FATAL ERROR: ... heap out of memory"
///   "heap_limit_mb": null, "heap_limit_source": null,
///   "oom_heap": null | {"t_ms": 23061.0, "kind": "Mark-Compact", "heap_before_mb": 164.6,
///                "heap_after_mb": 162.9, "committed_after_mb": 200.6, "line": 3},
///   "trend": { ... }                    // see trend::Trend
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GcReport {
    pub file: String,
    pub events: usize,
    pub duration_s: f64,
    pub gc_pause_ms: Pauses,
    pub time_in_gc_percent: f64,
    pub heap_after_gc_mb: HeapRange,
    pub growth_mb_per_hour: f64,
    /// `growth_mb_per_hour` in bytes per hour, with the 95 % interval of the slope.
    #[serde(default)]
    pub growth_bytes_per_hour: f64,
    #[serde(default)]
    pub growth_low_bytes_per_hour: f64,
    #[serde(default)]
    pub growth_high_bytes_per_hour: f64,
    /// Length of the fitted window, seconds (`trend.t_start`..`trend.t_end`, isolate clock).
    #[serde(default)]
    pub span_seconds: f64,
    /// The fitted window is too short for an hourly rate (see `trend::Trend`).
    #[serde(default)]
    pub too_short_for_rate: bool,
    /// How the growth was obtained.
    #[serde(default)]
    pub method: String,
    pub verdict: Verdict,
    pub reason: String,
    pub series: Vec<[f64; 2]>,
    pub floor: Vec<[f64; 2]>,
    pub floor_source: String,
    pub full_gcs: usize,
    pub events_by_type: BTreeMap<String, usize>,
    pub start_ms: f64,
    pub end_ms: f64,
    pub isolate: String,
    pub isolates: usize,
    pub other_isolate_events: usize,
    pub duplicate_events: usize,
    pub unparsed_lines: usize,
    pub unparsed_examples: Vec<Unparsed>,
    pub other_lines: usize,
    pub oom: bool,
    pub oom_message: Option<String>,
    pub heap_limit_mb: Option<f64>,
    pub heap_limit_source: Option<String>,
    /// When the log ends in an out-of-memory crash: the last GC before it.
    #[serde(default)]
    pub oom_heap: Option<OomHeap>,
    pub trend: Trend,
}

/// `oom_heap` of [`GcReport`]: the heap figures of the last GC before an out-of-memory crash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OomHeap {
    /// Isolate clock, ms.
    pub t_ms: f64,
    /// `Mark-Compact`, `Scavenge`, ...
    pub kind: String,
    /// Live objects before and after that GC, MiB.
    pub heap_before_mb: f64,
    pub heap_after_mb: f64,
    /// Committed heap after it, MiB, when printed.
    pub committed_after_mb: Option<f64>,
    /// 1-based line of the log.
    pub line: u64,
}

/// What [`parse`] read from a log.
#[derive(Clone, Debug, Default)]
pub struct ParsedLog {
    /// Every event, in log order, duplicates included.
    pub events: Vec<GcEvent>,
    pub unparsed_lines: usize,
    pub unparsed_examples: Vec<Unparsed>,
    pub other_lines: usize,
    pub oom_message: Option<String>,
    /// Heap reservation (used + available of V8's memory allocator), MiB, from the last
    /// `--trace-gc-verbose` "Memory allocator" line.
    pub allocator_capacity_mb: Option<f64>,
}

/// A cursor over one entry's text.
struct Cur<'a> {
    s: &'a str,
}

impl<'a> Cur<'a> {
    fn ws(&mut self) {
        self.s = self.s.trim_start();
    }
    fn eat(&mut self, lit: &str) -> bool {
        self.ws();
        match self.s.strip_prefix(lit) {
            Some(r) => {
                self.s = r;
                true
            }
            None => false,
        }
    }
    fn num(&mut self) -> Option<f64> {
        self.ws();
        let end = self
            .s
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == 'e'))
            .unwrap_or(self.s.len());
        if end == 0 {
            return None;
        }
        let v: f64 = self.s[..end].parse().ok()?;
        self.s = &self.s[end..];
        v.is_finite().then_some(v)
    }
}

/// Start offsets of every `[digits:0xhex]` prefix in `line`, with the offset just after it.
fn prefixes(line: &str) -> Vec<(usize, usize)> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'[' {
            let mut j = i + 1;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            if j > i + 1 && b[j..].starts_with(b":0x") {
                let mut k = j + 3;
                while k < b.len() && b[k].is_ascii_hexdigit() {
                    k += 1;
                }
                if k > j + 3 && k < b.len() && b[k] == b']' {
                    out.push((i, k + 1));
                    i = k + 1;
                    continue;
                }
            }
        }
        i += 1;
    }
    out
}

const KINDS: [(&str, bool); 7] = [
    ("Minor Mark-Compact", false),
    ("Minor Mark-Sweep", false),
    ("Mark-Sweep-Compact", true),
    ("Mark-Compact", true),
    ("Mark-sweep", true),
    ("Mark-Sweep", true),
    ("Scavenge", false),
];

enum Entry {
    Event(GcEvent),
    /// Looked like a GC event, could not be read.
    Broken,
    /// Anything else (verbose per-space lines, [HeapController], ...).
    Other,
}

fn parse_entry(isolate: &str, body: &str, line: u64) -> Entry {
    let mut c = Cur { s: body };
    let Some(t_ms) = c.num() else {
        return Entry::Other;
    };
    if !c.eat("ms:") {
        return Entry::Other;
    }
    c.ws();
    if c.s.starts_with("pause=") {
        return parse_nvp(isolate, t_ms, c.s, line);
    }
    let Some(&(kind, full)) = KINDS.iter().find(|(k, _)| c.s.starts_with(k)) else {
        return if c.s.contains(" -> ") && c.s.contains("MB") {
            Entry::Broken
        } else {
            Entry::Other
        };
    };
    c.s = &c.s[kind.len()..];
    let mut reduce = false;
    loop {
        c.ws();
        if c.s.starts_with('(') {
            let Some(end) = c.s.find(')') else {
                return Entry::Broken;
            };
            if c.s[1..end].contains("reduce") {
                reduce = true;
            }
            c.s = &c.s[end + 1..];
        } else {
            break;
        }
    }
    let parsed = (|| {
        let before = c.num()?;
        c.eat("(").then_some(())?;
        let _committed_before = c.num()?;
        c.eat(")").then_some(())?;
        c.eat("->").then_some(())?;
        let after = c.num()?;
        let mut committed_after = None;
        if c.eat("(") {
            committed_after = Some(c.num()?);
            c.eat(")").then_some(())?;
        }
        c.eat("MB").then_some(())?;
        c.eat(",");
        if c.eat("pooled:") {
            c.num()?;
            c.eat("MB");
            c.eat(",");
        }
        let pause = c.num()?;
        if c.eat("/") {
            c.num()?;
        }
        c.eat("ms").then_some(())?;
        Some((before, after, committed_after, pause))
    })();
    let Some((before, after, committed_after, pause)) = parsed else {
        return Entry::Broken;
    };
    // The reason follows the last ")" of "(average mu = ..., current mu = ...)".
    let rest = c.s;
    let reason_part = match rest.find("current mu") {
        Some(i) => match rest[i..].find(')') {
            Some(j) => &rest[i + j + 1..],
            None => "",
        },
        None => rest,
    };
    let reason = reason_part
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .trim_matches(|c| c == '[' || c == ']' || c == '.')
        .to_string();
    Entry::Event(GcEvent {
        isolate: isolate.to_string(),
        t_ms,
        kind: kind.to_string(),
        full,
        reduce,
        heap_before_mb: before,
        heap_after_mb: after,
        committed_after_mb: committed_after,
        pause_ms: pause,
        reason,
        line,
    })
}

fn parse_nvp(isolate: &str, t_ms: f64, body: &str, line: u64) -> Entry {
    let mut pause = None;
    let mut gc = None;
    let mut before = None;
    let mut after = None;
    let mut reduce = false;
    for kv in body.split_whitespace() {
        let Some((k, v)) = kv.split_once('=') else {
            continue;
        };
        match k {
            "pause" => pause = v.parse::<f64>().ok(),
            "gc" => gc = Some(v.to_string()),
            "total_size_before" => before = v.parse::<f64>().ok(),
            "total_size_after" => after = v.parse::<f64>().ok(),
            "reduce_memory" => reduce = v == "1",
            _ => {}
        }
    }
    let (Some(pause), Some(gc), Some(before), Some(after)) = (pause, gc, before, after) else {
        return Entry::Broken;
    };
    let (kind, full) = match gc.as_str() {
        "s" => ("Scavenge", false),
        "mc" => ("Mark-Compact", true),
        "mmc" => ("Minor Mark-Compact", false),
        "mms" => ("Minor Mark-Sweep", false),
        _ => return Entry::Broken,
    };
    const MIB: f64 = 1048576.0;
    Entry::Event(GcEvent {
        isolate: isolate.to_string(),
        t_ms,
        kind: kind.to_string(),
        full,
        reduce,
        heap_before_mb: before / MIB,
        heap_after_mb: after / MIB,
        committed_after_mb: None,
        pause_ms: pause,
        reason: String::new(),
        line,
    })
}

/// Reads every event of a `--trace-gc` log. Never fails: what it cannot read is counted.
pub fn parse(text: &str) -> ParsedLog {
    let mut out = ParsedLog::default();
    for (idx, line) in text.lines().enumerate() {
        let lineno = idx as u64 + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if out.oom_message.is_none()
            && (trimmed.contains("JavaScript heap out of memory")
                || trimmed.contains("Reached heap limit")
                || trimmed.contains("Ineffective mark-compacts near heap limit"))
        {
            out.oom_message = Some(trimmed.chars().take(300).collect());
        }
        let pre = prefixes(line);
        if pre.is_empty() {
            out.other_lines += 1;
            continue;
        }
        let mut any_event = false;
        let mut any_broken = false;
        for (n, &(start, body_start)) in pre.iter().enumerate() {
            let body_end = pre.get(n + 1).map_or(line.len(), |p| p.0);
            let isolate = &line[start + 1..body_start - 1];
            let body = &line[body_start..body_end];
            if let Some(cap) = allocator_capacity(body) {
                out.allocator_capacity_mb = Some(cap);
            }
            match parse_entry(isolate, body, lineno) {
                Entry::Event(e) => {
                    any_event = true;
                    out.events.push(e);
                }
                Entry::Broken => any_broken = true,
                Entry::Other => {}
            }
        }
        if any_broken {
            out.unparsed_lines += 1;
            if out.unparsed_examples.len() < 5 {
                out.unparsed_examples.push(Unparsed {
                    line: lineno,
                    text: trimmed.chars().take(200).collect(),
                });
            }
        } else if !any_event {
            out.other_lines += 1;
        }
    }
    out
}

/// `Memory allocator, used: U KB, available: A KB` -> (U + A) in MiB.
fn allocator_capacity(body: &str) -> Option<f64> {
    let rest = body.trim_start().strip_prefix("Memory allocator,")?;
    let mut c = Cur { s: rest };
    c.eat("used:").then_some(())?;
    let used = c.num()?;
    c.eat("KB").then_some(())?;
    c.eat(",");
    c.eat("available:").then_some(())?;
    let avail = c.num()?;
    Some((used + avail) / 1024.0)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    // Nearest rank.
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn round(v: f64, digits: i32) -> f64 {
    let m = 10f64.powi(digits);
    (v * m).round() / m
}

/// V8's "MB" are MiB.
const MIB: f64 = 1048576.0;

/// Full GCs from which their post-GC heap alone is the floor.
const MANY_FULL_GCS: usize = 6;

/// Fewer full GCs than this confirm nothing: a rising heap may be garbage.
const MIN_FULL_GCS: usize = 2;

/// Reads and analyses a `--trace-gc` log; `name` is the file name used in errors.
pub fn analyze(name: &str, text: &str) -> Result<GcReport, InputError> {
    let parsed = parse(text);
    if parsed.events.is_empty() {
        let msg = if text.trim().is_empty() {
            "empty: no --trace-gc output".to_string()
        } else if parsed.unparsed_lines > 0 {
            format!(
                "none of the {} GC-like lines could be read (first at line {})",
                parsed.unparsed_lines,
                parsed.unparsed_examples.first().map_or(0, |u| u.line)
            )
        } else {
            "no `node --trace-gc` lines found (expected lines like \
             `[pid:0x...]   16 ms: Scavenge 3.8 (4.0) -> 3.6 (5.0) MB, ...`)"
                .to_string()
        };
        return Err(match parsed.unparsed_examples.first() {
            Some(u) => InputError::at_line(name, u.line, msg),
            None => InputError::whole(name, msg),
        });
    }
    Ok(summarize(name, parsed))
}

/// Turns parsed events into the report (the isolate with the most events is analysed).
pub fn summarize(name: &str, parsed: ParsedLog) -> GcReport {
    let mut per_isolate: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &parsed.events {
        *per_isolate.entry(e.isolate.as_str()).or_default() += 1;
    }
    let isolate = per_isolate
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(k, _)| k.to_string())
        .unwrap_or_default();
    let isolates = per_isolate.len();
    let mut events: Vec<GcEvent> = Vec::new();
    let mut other_isolate_events = 0;
    let mut duplicate_events = 0;
    let mut seen = std::collections::HashSet::new();
    for e in parsed.events {
        if e.isolate != isolate {
            other_isolate_events += 1;
            continue;
        }
        let key = (
            e.t_ms.to_bits(),
            e.kind.clone(),
            e.heap_before_mb.to_bits(),
            e.heap_after_mb.to_bits(),
            e.pause_ms.to_bits(),
        );
        if !seen.insert(key) {
            duplicate_events += 1;
            continue;
        }
        events.push(e);
    }
    events.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));

    let start_ms = events.first().map_or(0.0, |e| e.t_ms);
    let end_ms = events.last().map_or(0.0, |e| e.t_ms);
    let duration_s = (end_ms - start_ms) / 1000.0;
    let mut pauses: Vec<f64> = events.iter().map(|e| e.pause_ms).collect();
    pauses.sort_by(|a, b| a.total_cmp(b));
    let gc_pause_ms = Pauses {
        p50: percentile(&pauses, 0.50),
        p95: percentile(&pauses, 0.95),
        p99: percentile(&pauses, 0.99),
        max: pauses.last().copied().unwrap_or(0.0),
    };
    let total_pause: f64 = pauses.iter().sum();
    let time_in_gc_percent = if duration_s > 0.0 {
        round(100.0 * total_pause / (duration_s * 1000.0), 3)
    } else {
        0.0
    };
    let afters: Vec<f64> = events.iter().map(|e| e.heap_after_mb).collect();
    let heap_after_gc_mb = HeapRange {
        first: afters.first().copied().unwrap_or(0.0),
        last: afters.last().copied().unwrap_or(0.0),
        min: afters.iter().copied().fold(f64::INFINITY, f64::min),
        max: afters.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    };
    let mut events_by_type = BTreeMap::new();
    for e in &events {
        let label = if e.reduce {
            format!("{} (reduce)", e.kind)
        } else {
            e.kind.clone()
        };
        *events_by_type.entry(label).or_insert(0usize) += 1;
    }

    let all: Vec<Point> = events
        .iter()
        .map(|e| Point {
            t: e.t_ms / 1000.0,
            v: e.heap_after_mb,
        })
        .collect();
    let is_full: Vec<bool> = events.iter().map(|e| e.full).collect();
    let full: Vec<Point> = all
        .iter()
        .zip(&is_full)
        .filter(|(_, f)| **f)
        .map(|(p, _)| *p)
        .collect();
    let full_span = match (full.first(), full.last()) {
        (Some(a), Some(b)) => b.t - a.t,
        _ => 0.0,
    };
    const ESTIMATOR: &str = "Theil-Sen slope (Sen 95% interval, Mann-Kendall test)";
    let (floor, floor_source, method, confirmed) = if full.len() >= MANY_FULL_GCS
        && full_span >= 0.5 * duration_s
    {
        (
            full.clone(),
            "mark-compact",
            format!("{ESTIMATOR} of the heap after each full (mark-compact) GC"),
            true,
        )
    } else if full.len() >= MIN_FULL_GCS {
        let c = trend::confirmed_floor(&all, &is_full);
        let buckets = trend::envelope_buckets(c.len());
        (
            trend::lower_envelope(&c, buckets),
            if full.len() == all.len() {
                "mark-compact"
            } else {
                "mark-compact+scavenge"
            },
            format!(
                "{ESTIMATOR} of the heap after every GC capped by the heap after the next full GC (lower envelope, {buckets} buckets)"
            ),
            true,
        )
    } else {
        let buckets = trend::envelope_buckets(all.len());
        (
            trend::lower_envelope(&all, buckets),
            "lower-envelope",
            format!(
                "{ESTIMATOR} of the lower envelope of the heap after every GC ({buckets} buckets; no full GC confirms it)"
            ),
            false,
        )
    };
    let opts = trend::Options {
        // V8's "MB" are MiB; reasons say so.
        unit: "MiB",
        min_span_s: 5.0,
        min_growth_per_hour: 1.0,
        // The log prints one decimal.
        resolution: 0.1,
        method,
        ..trend::Options::default()
    };
    let mut tr = trend::analyze(&floor, &opts);
    if !confirmed {
        tr.cap_at_inconclusive(&format!(
            "{} full GC(s) in the log: heap that grows between full GCs may be garbage the next one collects",
            full.len()
        ));
    } else if full.len() < trend::MIN_FULL_GCS_TO_BOUND {
        tr.cap_no_leak(&format!(
            "{} full GC(s) are too few independent measurements to bound growth",
            full.len()
        ));
    }
    if confirmed
        && let (Some(a), Some(b)) = (full.first(), full.last())
        && b.v - a.v < opts.min_relative_growth * tr.level
    {
        tr.cap_at_inconclusive(&format!(
            "the heap after full GCs did not grow ({:.1} -> {:.1} MiB)",
            a.v, b.v
        ));
    }

    let oom = parsed.oom_message.is_some();
    let (heap_limit_mb, heap_limit_source) = match parsed.allocator_capacity_mb {
        Some(c) => (
            Some(round(c, 1)),
            Some("V8 memory allocator used + available (--trace-gc-verbose)".to_string()),
        ),
        None if oom => (
            events.iter().rev().find_map(|e| e.committed_after_mb),
            Some("committed heap after the last GC before the out-of-memory crash".to_string()),
        ),
        None => (None, None),
    };
    let oom_heap = if oom {
        events.last().map(|e| OomHeap {
            t_ms: e.t_ms,
            kind: e.kind.clone(),
            heap_before_mb: e.heap_before_mb,
            heap_after_mb: e.heap_after_mb,
            committed_after_mb: e.committed_after_mb,
            line: e.line,
        })
    } else {
        None
    };
    if let Some(h) = &oom_heap {
        // A crash is never evidence of health, and it is what the reader must see first.
        let crash = format!(
            "the process ran out of heap memory ({:.1} MiB live after the last GC{})",
            h.heap_after_mb,
            heap_limit_mb.map_or(String::new(), |l| format!(", limit about {l:.1} MiB"))
        );
        if tr.verdict == Verdict::Leak {
            tr.reason = format!("{crash}; {}", tr.reason);
        } else {
            tr.verdict = Verdict::Inconclusive;
            tr.reason = format!(
                "{crash}; the GC log alone cannot tell a leak from one large allocation; trend: {}",
                tr.reason
            );
        }
    }

    GcReport {
        file: name.to_string(),
        events: events.len(),
        duration_s: round(duration_s, 3),
        gc_pause_ms,
        time_in_gc_percent,
        heap_after_gc_mb,
        growth_mb_per_hour: round(tr.growth_per_hour, 3),
        growth_bytes_per_hour: (tr.growth_per_hour * MIB).round(),
        growth_low_bytes_per_hour: (tr.growth_low_per_hour * MIB).round(),
        growth_high_bytes_per_hour: (tr.growth_high_per_hour * MIB).round(),
        span_seconds: round(tr.span_s, 3),
        too_short_for_rate: tr.too_short_for_rate,
        method: tr.method.clone(),
        verdict: tr.verdict,
        reason: tr.reason.clone(),
        series: events.iter().map(|e| [e.t_ms, e.heap_after_mb]).collect(),
        floor: floor
            .iter()
            .map(|p| [round(p.t * 1000.0, 3), p.v])
            .collect(),
        floor_source: floor_source.to_string(),
        full_gcs: full.len(),
        events_by_type,
        start_ms,
        end_ms,
        isolate,
        isolates,
        other_isolate_events,
        duplicate_events,
        unparsed_lines: parsed.unparsed_lines,
        unparsed_examples: parsed.unparsed_examples,
        other_lines: parsed.other_lines,
        oom,
        oom_message: parsed.oom_message,
        heap_limit_mb,
        heap_limit_source,
        oom_heap,
        trend: tr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_line_shape_of_the_reference() {
        let text = "\
[9563:0x7edbc40]       16 ms: Scavenge 3.8 (4.0) -> 3.6 (5.0) MB, 1.14 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure; 
[9563:0x7edbc40]      153 ms: Mark-Compact 66.6 (84.7) -> 12.6 (46.6) MB, 9.40 / 0.00 ms  (+ 0.1 ms in 2 steps since start of marking, biggest step 0.1 ms, walltime since start of marking 14 ms) (average mu = 1.000, current mu = 1.000) finalize incremental marking via stack guard; GC in old space requested
[9588:0x12fd6090]       94 ms: Mark-Compact (reduce) 19.1 (32.4) -> 14.8 (16.7) MB, 24.99 / 0.00 ms  (average mu = 1.000, current mu = 1.000) heap profiler; GC in old space requested
[14319:0x337abc40]       15 ms: Minor Mark-Compact 3.8 (4.0) -> 3.7 (4.5) MB, 1.20 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure; 
[14305:0x2980a000]       18 ms: Scavenge 4.4 (5.1) -> 4.1 (6.1) MB, pooled: 0 MB, 1.15 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure; 
[16699:0x2c117000]       23 ms: Minor Mark-Sweep 4.3 (5.6) -> 4.0 (5.6) MB, pooled: 0 MB, 0.75 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure; 
[1:0x1]    5 ms: Scavenge 2.1 (3.0) -> 1.9 (4.0) MB, 0.7 / 0.0 ms  [allocation failure].
";
        let p = parse(text);
        assert_eq!(p.events.len(), 7);
        assert_eq!(p.unparsed_lines, 0);
        let mc = &p.events[1];
        assert!(mc.full);
        assert_eq!(mc.heap_after_mb, 12.6);
        assert_eq!(mc.pause_ms, 9.40);
        assert_eq!(mc.reason, "finalize incremental marking via stack guard");
        assert!(p.events[2].reduce);
        assert_eq!(p.events[3].kind, "Minor Mark-Compact");
        assert!(!p.events[3].full);
        assert_eq!(p.events[4].heap_after_mb, 4.1);
        assert_eq!(p.events[5].kind, "Minor Mark-Sweep");
        assert_eq!(p.events[6].reason, "allocation failure");
    }

    #[test]
    fn oom_block_entries_run_together_are_split() {
        let text = "<--- Last few GCs --->\n\n[9885:0x3e7545a0]    22807 ms: Mark-Compact 149.1 (183.9) -> 148.9 (185.4) MB, 14.04 / 0.00 ms  (+ 105.2 ms in 26 steps since start of marking, biggest step 23.0 ms, walltime since start of marking 304 ms) (average mu = 0.893, current mu = 0.764) finalize[9885:0x3e7545a0]    23061 ms: Mark-Compact 164.6 (185.4) -> 162.9 (200.6) MB, 237.30 / 0.00 ms  (average mu = 0.749, current mu = 0.065) allocation failure; scavenge might not succeed\n\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n";
        let r = analyze("oom.log", text).unwrap();
        assert_eq!(r.events, 2);
        assert!(r.oom);
        assert_eq!(r.heap_limit_mb, Some(200.6));
        assert_eq!(r.heap_after_gc_mb.last, 162.9);
    }

    #[test]
    fn broken_gc_lines_are_counted_not_fatal() {
        let text = "[1:0x1]   10 ms: Scavenge 3.8 (4.0) -> 3.6 (5.0) MB, 1.1 / 0.0 ms  (average mu = 1.000, current mu = 1.000) allocation failure; \n[1:0x1]   12 ms: Scavenge 3.8 (4.0) -> garbage MB\nhello from the program\n";
        let r = analyze("x.log", text).unwrap();
        assert_eq!(r.events, 1);
        assert_eq!(r.unparsed_lines, 1);
        assert_eq!(r.unparsed_examples[0].line, 2);
        assert_eq!(r.other_lines, 1);
    }

    #[test]
    fn log_collector_prefixes_old_names_and_worker_isolates() {
        let mut text = String::new();
        for i in 0..10 {
            text.push_str(&format!(
                "2026-11-24T17:00:{i:02}Z stdout F [7:0x55aa]   {} ms: Mark-sweep (reduce) {}.0 (20.0) -> {}.0 (20.0) MB, 2.6 / 0.0 ms  (average mu = 0.990, current mu = 0.980) memory reducer; GC in old space requested\n",
                i * 1000,
                10 + i,
                5 + i
            ));
            text.push_str(&format!(
                "[7:0x66bb]   {} ms: Scavenge 3.0 (4.0) -> 2.0 (4.0) MB, 0.5 / 0.0 ms  (average mu = 1.000, current mu = 1.000) allocation failure; \n",
                i * 700
            ));
        }
        let r = analyze("k8s.log", &text).unwrap();
        assert_eq!(r.isolate, "7:0x55aa");
        assert_eq!(r.isolates, 2);
        assert_eq!(r.events, 10);
        assert_eq!(r.other_isolate_events, 10);
        assert_eq!(r.full_gcs, 10);
        assert_eq!(r.floor_source, "mark-compact");
        assert_eq!(r.events_by_type.get("Mark-sweep (reduce)"), Some(&10));
        // 1 MB per second.
        assert!(
            (r.growth_mb_per_hour - 3600.0).abs() < 1e-6,
            "{}",
            r.growth_mb_per_hour
        );
        assert_eq!(r.verdict, Verdict::Leak, "{}", r.reason);
    }

    #[test]
    fn truncated_and_mangled_lines_never_panic() {
        let line = "[9563:0x7edbc40]      153 ms: Mark-Compact (reduce) 66.6 (84.7) -> 12.6 (46.6) MB, pooled: 0 MB, 9.40 / 0.00 ms  (+ 0.1 ms in 2 steps since start of marking) (average mu = 1.000, current mu = 1.000) finalize; GC in old space requested[1:0x2] 5 ms: pause=1.5 gc=s total_size_before=1 total_size_after=2 é";
        let chars: Vec<(usize, char)> = line.char_indices().collect();
        for &(i, _) in &chars {
            let _ = parse(&line[..i]);
            let _ = parse(&line[i..]);
            let mut m = line.to_string();
            m.replace_range(
                i..i + line[i..].chars().next().map_or(0, char::len_utf8),
                "(",
            );
            let _ = analyze("m.log", &m);
        }
    }

    #[test]
    fn nothing_readable_is_an_error_naming_the_file() {
        for text in ["", "hello\nworld\n", "\u{0}\u{1}\u{fffd}\u{fffd}"] {
            let e = analyze("bad.log", text).unwrap_err();
            assert_eq!(e.file, "bad.log");
        }
    }
}
