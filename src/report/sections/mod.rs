//! One module per section of the template. Each words the reconciled [`Facts`] into its
//! part of the [`super::model::Investigation`]; none computes a figure of its own, so the
//! same count, size or rate reads the same in every section (written through
//! [`super::words`]).

pub mod alerting;
pub mod appendix;
pub mod charts;
pub mod deployment;
pub mod fix;
pub mod header;
pub mod lessons;
pub mod root_cause;
pub mod steps;
pub mod summary;
pub mod symptoms;
pub mod timeline;

use super::evidence::{FindingView, PathStepView};
use super::facts::{Facts, GrowthSource, LeakGroup};
use super::words::{self, code};

/// Prefix of a value the evidence cannot give (the renderers grey it out).
pub const NA: &str = "not available: ";

/// `file:line` of a finding, as inline code, or a sentence saying it is unknown.
pub fn loc_text(f: &FindingView) -> String {
    match &f.location {
        Some(l) => code(&format!("{}:{}", l.file, l.line)),
        None => "an unknown location (the snapshot has no script position for it)".into(),
    }
}

/// An edge as the retainer path shows it.
pub fn edge_text(step: &PathStepView) -> String {
    match step.edge_type.as_str() {
        "element" => format!("[{}]", step.edge),
        "context" => format!("{} (closure variable)", step.edge),
        "internal" | "hidden" => format!("({})", step.edge),
        _ => format!(".{}", step.edge),
    }
}

/// The retainer path on one line: `global .configBus → EventEmitter ._events → ...`.
pub fn path_one_line(f: &FindingView) -> String {
    if f.retainer_path.is_empty() {
        return "no retainer path in the evidence".into();
    }
    let mut s = String::new();
    for step in &f.retainer_path {
        s.push_str(&step.holder);
        s.push(' ');
        s.push_str(&edge_text(step));
        if step.repeat > 1 {
            s.push_str(&format!(" (×{})", step.repeat));
        }
        s.push_str(" → ");
    }
    s.push_str(&f.class);
    s
}

/// A leaked group's size in words, the one way every section writes it:
/// `1800 leaked listeners retaining 14.2 MiB (8.1 KiB each); 0 → 900 → 1800 across the
/// snapshots`. The count is the finder's (units the retained size covers); the series is the
/// units alive in each snapshot.
pub fn group_size_text(g: &LeakGroup) -> String {
    let mut s = format!(
        "{} leaked {} retaining {}",
        words::count(g.count),
        plural_for(g, g.count),
        words::bytes(g.retained_bytes as f64)
    );
    if let Some(b) = g.bytes_per_unit {
        s.push_str(&format!(" ({} each)", words::bytes(b)));
    }
    let series: Vec<String> = g.per_snapshot.iter().map(|c| words::count(*c)).collect();
    if series.len() >= 2 {
        s.push_str(&format!("; {} across the snapshots", series.join(" → ")));
    }
    s
}

/// The unit, singular or plural for `n`, as inline code when it is a class name.
pub fn plural_for(g: &LeakGroup, n: u64) -> String {
    let u = if n == 1 { &g.unit } else { &g.units };
    if g.finding.unit.is_some() {
        u.clone()
    } else {
        // "Function objects": the class as code
        let rest = u.strip_prefix(g.class.as_str()).unwrap_or(u);
        format!("{}{}", code(&g.class), rest)
    }
}

/// What one group adds between the first and last snapshot: `+1620 listeners (about
/// +12.9 MiB retained, 8.1 KiB each)`.
pub fn group_added_text(g: &LeakGroup) -> String {
    let mut s = format!(
        "{} {}",
        words::count_delta(g.added),
        plural_for(g, g.added.unsigned_abs())
    );
    if let (Some(b), Some(each)) = (g.added_bytes, g.bytes_per_unit) {
        s.push_str(&format!(
            " (about {} retained, {} each)",
            words::bytes_delta(b),
            words::bytes(each)
        ));
    }
    s
}

/// A source's figure in words: `562 MiB/h (95% interval ...)`.
pub fn source_rate_text(s: &GrowthSource) -> String {
    match s.rate {
        Some(r) => words::rate_with_interval(r.per_hour, r.low, r.high),
        None => "no rate".into(),
    }
}

/// `", too short a window for an hourly figure"` when the source's window is under the
/// bound (the figure extrapolates it more than tenfold), else nothing.
pub fn too_short_note(s: &GrowthSource) -> &'static str {
    if s.too_short_for_rate {
        " (too short a window for an hourly figure: the hour extrapolates it more than tenfold)"
    } else {
        ""
    }
}

/// The headline in words: `562 MiB/h (95% interval ...) from the post-GC heap ... over 5.0
/// minutes`.
pub fn headline_text(f: &Facts) -> Option<String> {
    let s = f.headline_source()?;
    Some(format!(
        "{} from the {}, fitted over {}{}",
        source_rate_text(s),
        s.label,
        words::duration(s.span_s),
        too_short_note(s)
    ))
}

/// Language of a code fence for a file name.
pub fn lang_of(file: &str) -> &'static str {
    let f = file.to_ascii_lowercase();
    if f.ends_with(".ts") || f.ends_with(".tsx") || f.ends_with(".mts") || f.ends_with(".cts") {
        "typescript"
    } else if f.ends_with(".py") {
        "python"
    } else {
        "javascript"
    }
}

/// Evidence text on one line (control characters become spaces), or `fallback`.
pub fn one_line(s: &str, fallback: &str) -> String {
    let t: String = s
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if t.is_empty() {
        fallback.to_string()
    } else {
        t
    }
}

/// Upper-cases the first letter.
pub fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// What to collect next to decide or to find the cause, given what is missing.
pub fn collect_next(f: &Facts) -> String {
    let ev = f.ev;
    let mut v: Vec<&str> = Vec::new();
    if ev.leaks.is_none() && ev.snapshots.is_empty() {
        v.push("3 heap snapshots a few minutes apart under traffic (`node --heapsnapshot-signal=SIGUSR2`, then `kill -USR2 <pid>`; or `--heapsnapshot-near-heap-limit=3` to have Node write them before it runs out)");
    }
    if ev.gc.is_none() {
        v.push("a `node --trace-gc` log over the same time");
    }
    if ev.metrics.is_none() {
        v.push("a Prometheus range of the heap (prom-client's `nodejs_heap_space_size_used_bytes` and `nodejs_gc_duration_seconds_count`)");
    }
    if ev.capture.is_none() && f.per_request.is_none() {
        v.push("request counts (`memsleuth capture`) to measure growth per request");
    }
    if v.is_empty() {
        "a longer window of the same evidence".into()
    } else {
        v.join("; ")
    }
}
