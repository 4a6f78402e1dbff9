//! Growth per source, the headline, and the comparison of every source with the headline.
//!
//! Figures the analysis commands computed (`gc`, `metrics`, `python`: rate, interval, span,
//! verdict under contract C3) are taken as they are; only what the report measures itself
//! (capture checkpoints, snapshot totals, leaked groups) is fitted here, with the verdict of
//! `series::trend::analyze` so that `leak` means the same thing everywhere. When an older
//! output lacks the interval, it is computed on the points the trend was fitted on.

use super::clocks::{Clock, Clocks};
use super::leaks::LeakGroup;
use super::stats::{self, Fit};
use super::{Load, SnapshotFact, Verdict};
use crate::report::evidence::{Evidence, GrowthFields, TrendView};
use crate::report::words::{self, code};
use crate::series::trend::{self, Point};
use crate::units::MIB;

/// A window shorter than this gives no honest hourly figure (an hour would extrapolate it
/// more than tenfold); the figure is still shown, flagged. The same bound as the analyses'.
pub const MIN_SPAN_FOR_RATE_S: f64 = trend::MIN_SPAN_FOR_HOURLY_RATE_S;

/// Where a growth figure comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SourceKind {
    Capture,
    GcLog,
    Prometheus,
    SnapshotTotals,
    LeakedGroups,
    Python,
}

/// How much a source's growth figure can be trusted, most reliable first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    /// The heap after major (full) GCs: what survives collection.
    MajorGcFloor,
    /// Prometheus old-space: long-lived objects only.
    OldSpace,
    /// Heap used (includes garbage not yet collected), or its lower envelope.
    HeapUsed,
    /// Resident memory or another memory series.
    Resident,
    /// Totals of a few heap snapshots.
    SnapshotTotals,
    /// The leaked groups' retained size between snapshots.
    LeakedGroups,
    /// A profiler's estimate.
    Profile,
}

impl Tier {
    pub fn describe(self) -> &'static str {
        match self {
            Tier::MajorGcFloor => "post-GC floor after major GCs",
            Tier::OldSpace => "old-space heap",
            Tier::HeapUsed => "heap used",
            Tier::Resident => "process memory",
            Tier::SnapshotTotals => "heap snapshot totals",
            Tier::LeakedGroups => "leaked groups",
            Tier::Profile => "profiler estimate",
        }
    }
}

/// A growth rate in bytes per hour, with its 95 % interval when known.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub per_hour: f64,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

impl Rate {
    fn overlaps(&self, o: &Rate) -> bool {
        let (a0, a1) = (
            self.low.unwrap_or(self.per_hour),
            self.high.unwrap_or(self.per_hour),
        );
        let (b0, b1) = (o.low.unwrap_or(o.per_hour), o.high.unwrap_or(o.per_hour));
        a0 <= b1 && b0 <= a1
    }
}

/// The shape of a source's fitted points.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shape {
    /// Growth in both halves of the window, or no growth.
    Steady,
    /// Grew, then flat from `flat_from` (source clock) to the end.
    GrewThenFlat { flat_from: f64 },
    /// Too few points to tell.
    Unknown,
}

/// One source's growth.
#[derive(Clone, Debug, PartialEq)]
pub struct GrowthSource {
    pub kind: SourceKind,
    pub tier: Tier,
    /// Short name, for sentences ("post-GC heap after major GCs (GC log)").
    pub label: String,
    /// The file or series it was read from (inline code).
    pub detail: String,
    pub method: String,
    pub rate: Option<Rate>,
    pub verdict: Verdict,
    pub reason: String,
    pub too_short_for_rate: bool,
    pub clock: Clock,
    /// The window the trend was fitted on, on `clock`.
    pub window: Option<(f64, f64)>,
    pub span_s: f64,
    pub n_points: usize,
    /// The points the trend was fitted on, bytes.
    pub fitted: Vec<(f64, f64)>,
    /// Every sample (the sawtooth), bytes; for charts.
    pub samples: Vec<(f64, f64)>,
    /// The fitted line's value at the end of the window, bytes.
    pub level_end: Option<f64>,
    pub shape: Shape,
    /// Preference within a tier (lower first).
    pub sub: u8,
}

impl GrowthSource {
    /// Sort key: tier, then preference, then the longer window.
    pub fn order_key(&self) -> (Tier, u8, i64) {
        (self.tier, self.sub, -(self.span_s.clamp(0.0, 1e15) as i64))
    }

    /// The fitted line's value at `t` (source clock), when there is a line.
    pub fn line_at(&self, t: f64) -> Option<f64> {
        let (_, t1) = self.window?;
        let r = self.rate?;
        Some(self.level_end? + r.per_hour / 3600.0 * (t - t1))
    }
}

/// The one growth figure the report leads with.
#[derive(Clone, Debug, PartialEq)]
pub struct Headline {
    /// Index into `Facts::sources`.
    pub source: usize,
    pub rate: Rate,
    pub verdict: Verdict,
    pub span_s: f64,
    /// Why this source: a clause.
    pub why: String,
}

/// Another source against the headline.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// Index into `Facts::sources`.
    pub source: usize,
    pub agrees: bool,
    /// A clause: why it agrees, or what explains the difference.
    pub explanation: String,
}

/// A sentence of another analysis with its rates written the report's way: every
/// `<number> <unit>/h` (or `/hour`) becomes [`words::rate`] of the same bytes per hour, so a
/// figure quoted from `gc` or `metrics` reads exactly as the report writes it. V8 writes MiB
/// as "MB" and the analyses keep its unit, so MB, KB and GB are binary here too.
pub fn normalize_rates(s: &str) -> String {
    let units: [(&str, f64); 8] = [
        ("GiB", crate::units::GIB),
        ("MiB", MIB),
        ("KiB", crate::units::KIB),
        ("GB", crate::units::GIB),
        ("MB", MIB),
        ("KB", crate::units::KIB),
        ("kB", crate::units::KIB),
        ("B", 1.0),
    ];
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    'scan: while !rest.is_empty() {
        // a number starts here when the previous char is not part of a word
        let starts_number = rest.starts_with(|c: char| c.is_ascii_digit() || c == '-')
            && !out.ends_with(|c: char| c.is_alphanumeric() || c == '.' || c == '_');
        if starts_number {
            let len = rest
                .char_indices()
                .skip(1)
                .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
                .map_or(rest.len(), |(i, _)| i);
            let (num, after) = rest.split_at(len);
            if let (Ok(v), Some(after)) = (num.parse::<f64>(), after.strip_prefix(' ')) {
                for (u, mult) in units {
                    for per in ["/hour", "/h"] {
                        let tag = format!("{u}{per}");
                        if let Some(tail) = after.strip_prefix(tag.as_str())
                            && !tail.starts_with(|c: char| c.is_alphanumeric())
                        {
                            out.push_str(&words::rate(v * mult));
                            rest = tail;
                            continue 'scan;
                        }
                    }
                }
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

pub(crate) fn verdict_of(s: &str) -> Verdict {
    match s {
        "leak" => Verdict::Leak,
        "no-leak" | "no_leak" | "noleak" => Verdict::NoLeak,
        _ => Verdict::Inconclusive,
    }
}

fn shape_of(points: &[(f64, f64)]) -> Shape {
    let Some((early, late)) = stats::halves(points) else {
        return Shape::Unknown;
    };
    let (lo, hi) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.1), b.max(p.1))
        });
    let (t0, t1) = (points[0].0, points[points.len() - 1].0);
    // growth that matters (5 % of the level over the first half) and then under a quarter of it
    if early > 0.0 && early * (t1 - t0) / 2.0 > 0.05 * hi.abs() && late < early / 4.0 {
        let target = hi - 0.1 * (hi - lo);
        let flat_from = points.iter().find(|p| p.1 >= target).map_or(t0, |p| p.0);
        return Shape::GrewThenFlat { flat_from };
    }
    Shape::Steady
}

/// Rate from an analysis' own figure and C3 fields, with the interval from `fit` when the
/// analysis gives none (widened to hold the analysis' figure).
fn rate_from(per_hour: f64, c3: &GrowthFields, fit: Option<&Fit>) -> Rate {
    let per_hour = c3
        .growth_bytes_per_hour
        .filter(|x| x.is_finite())
        .unwrap_or(per_hour);
    match (
        c3.growth_low_bytes_per_hour.filter(|x| x.is_finite()),
        c3.growth_high_bytes_per_hour.filter(|x| x.is_finite()),
    ) {
        (Some(l), Some(h)) => Rate {
            per_hour,
            low: Some(l.min(per_hour)),
            high: Some(h.max(per_hour)),
        },
        // The interval of the fit belongs to the figure only when the figure is the fit's
        // (an analysis may report another, such as the late slope after a warm-up).
        _ => match fit.filter(|f| {
            let (l, h) = (f.low * 3600.0, f.high * 3600.0);
            per_hour >= l - 1e-9 * l.abs() && per_hour <= h + 1e-9 * h.abs()
        }) {
            Some(f) => Rate {
                per_hour,
                low: Some(f.low * 3600.0),
                high: Some(f.high * 3600.0),
            },
            None => Rate {
                per_hour,
                low: None,
                high: None,
            },
        },
    }
}

/// The fitted window: the trend's own when written, else the points' first and last time.
fn window_of(trend: Option<&TrendView>, pts: &[(f64, f64)]) -> Option<(f64, f64)> {
    if let Some(t) = trend
        && let (Some(a), Some(b)) = (t.t_start, t.t_end)
        && a.is_finite()
        && b.is_finite()
        && b >= a
    {
        return Some((a, b));
    }
    Some((pts.first()?.0, pts.last()?.0))
}

fn within(pts: &[(f64, f64)], w: Option<(f64, f64)>) -> Vec<(f64, f64)> {
    match w {
        Some((a, b)) => pts
            .iter()
            .copied()
            .filter(|p| p.0 >= a - 1e-9 && p.0 <= b + 1e-9)
            .collect(),
        None => pts.to_vec(),
    }
}

#[allow(clippy::too_many_arguments)]
fn source(
    kind: SourceKind,
    tier: Tier,
    sub: u8,
    label: String,
    detail: String,
    method: String,
    clock: Clock,
    fitted: Vec<(f64, f64)>,
    samples: Vec<(f64, f64)>,
    rate: Option<Rate>,
    verdict: Verdict,
    reason: String,
    window: Option<(f64, f64)>,
    span_override: Option<f64>,
    too_short: Option<bool>,
) -> GrowthSource {
    let span_s = span_override
        .filter(|s| s.is_finite() && *s >= 0.0)
        .or_else(|| window.map(|(a, b)| b - a))
        .unwrap_or(0.0);
    let in_window = within(&fitted, window);
    let level_end = match (rate, window) {
        (Some(r), Some((_, t1))) => stats::anchor(&in_window, r.per_hour / 3600.0, t1),
        _ => None,
    };
    GrowthSource {
        kind,
        tier,
        label,
        detail,
        method,
        rate,
        verdict,
        reason,
        too_short_for_rate: too_short.unwrap_or(span_s < MIN_SPAN_FOR_RATE_S),
        clock,
        window,
        span_s,
        n_points: in_window.len(),
        shape: shape_of(&in_window),
        fitted,
        samples,
        level_end,
        sub,
    }
}

/// What a Prometheus metric measures, or `None` when it is not a memory series.
fn metric_tier(name: &str, labels: &std::collections::BTreeMap<String, String>) -> Option<Tier> {
    let n = name.to_ascii_lowercase();
    if n.is_empty() {
        return Some(Tier::HeapUsed);
    }
    if n.contains("gc_duration")
        || n.ends_with("_count")
        || n.ends_with("_total")
        || n.ends_with("_seconds")
        || n.ends_with("_bucket")
        || n.ends_with("_sum")
        || n.contains("restarts")
        || n.contains("terminated")
    {
        return None;
    }
    if n == "nodejs_heap_space_size_used_bytes" {
        return match labels.get("space").map(String::as_str) {
            // the other spaces are parts of heap used, not a measure of growth on their own
            Some("old") => Some(Tier::OldSpace),
            _ => None,
        };
    }
    if n.contains("heap_size_used") || n.contains("heap_inuse") || n == "process_heap_bytes" {
        return Some(Tier::HeapUsed);
    }
    if n.ends_with("_bytes") {
        return Some(Tier::Resident);
    }
    None
}

fn selector(name: &str, labels: &std::collections::BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    format!("{name}{{{}}}", inner.join(","))
}

fn own_trend(points: &[(f64, f64)], method: &str) -> trend::Trend {
    let p: Vec<Point> = points.iter().map(|&(t, v)| Point { t, v }).collect();
    trend::analyze(
        &p,
        &trend::Options {
            unit: "bytes",
            method: method.to_string(),
            ..trend::Options::default()
        },
    )
}

/// A source the report fits itself, from `series::trend::analyze`'s figures.
#[allow(clippy::too_many_arguments)]
fn own_source(
    kind: SourceKind,
    tier: Tier,
    sub: u8,
    label: String,
    detail: String,
    method: &str,
    clock: Clock,
    points: Vec<(f64, f64)>,
) -> GrowthSource {
    let tr = own_trend(&points, method);
    let rate = Rate {
        per_hour: tr.growth_per_hour,
        low: Some(tr.growth_low_per_hour).filter(|x| x.is_finite()),
        high: Some(tr.growth_high_per_hour).filter(|x| x.is_finite()),
    };
    let window = (tr.span_s > 0.0 || points.len() >= 2).then_some((tr.t_start, tr.t_end));
    source(
        kind,
        tier,
        sub,
        label,
        detail,
        tr.method.clone(),
        clock,
        points.clone(),
        points,
        Some(rate),
        tr.verdict,
        tr.reason.clone(),
        window,
        Some(tr.span_s),
        Some(tr.too_short_for_rate),
    )
}

/// Every source of growth in the evidence (unsorted).
pub fn sources(
    ev: &Evidence,
    clocks: &Clocks,
    snapshots: &[SnapshotFact],
    leaks: &[LeakGroup],
) -> Vec<GrowthSource> {
    let _ = clocks;
    let mut out = Vec::new();

    // A capture: heap used after a forced full GC at each checkpoint (for Python, what
    // tracemalloc traces after gc.collect()).
    if let Some(c) = &ev.capture {
        let pts: Vec<(f64, f64)> = c
            .view
            .checkpoints
            .iter()
            .filter_map(|k| k.heap_used_bytes.map(|b| (k.seconds, b)))
            .filter(|(t, b)| t.is_finite() && b.is_finite())
            .collect();
        if pts.len() >= 2 {
            let mut src = own_source(
                SourceKind::Capture,
                Tier::MajorGcFloor,
                0,
                format!("{} at each checkpoint (capture)", c.view.memory_measure()),
                code(&format!("{}/capture.json", c.dir.trim_end_matches('/'))),
                &format!(
                    "Theil–Sen over {} checkpoints, each after {}, Sen 95% interval",
                    pts.len(),
                    if c.view.is_python() {
                        "gc.collect()"
                    } else {
                        "a forced full GC"
                    }
                ),
                Clock::Load,
                pts,
            );
            // A Python capture's traced bytes are judged by the probe's analysis of the same
            // checkpoints: it knows which allocation sites grew at every checkpoint and by how
            // much, where the total alone mixes a bounded warm-up with a leak.
            if c.view.is_python()
                && let Some(p) = ev.python.iter().find(|p| p.view.source == "probe")
                && let Some(v) = p.view.verdict.as_deref()
            {
                src.verdict = verdict_of(v);
                src.reason = format!(
                    "the probe's analysis of these checkpoints: {}",
                    normalize_rates(p.view.reason.as_deref().unwrap_or(v))
                );
            }
            out.push(src);
        }
    }

    // The GC log: the post-GC floor.
    if let Some(g) = &ev.gc {
        let v = &g.view;
        let to_pts = |s: &[(f64, f64)]| -> Vec<(f64, f64)> {
            s.iter()
                .filter(|(t, m)| t.is_finite() && m.is_finite())
                .map(|(t, m)| (t / 1000.0, m * MIB))
                .collect()
        };
        let samples = to_pts(&v.series);
        let floor = if v.floor.is_empty() {
            samples.clone()
        } else {
            to_pts(&v.floor)
        };
        let major = v.floor_source == "mark-compact";
        let fit = stats::theil_sen(&floor);
        let per_hour = v
            .growth_mb_per_hour
            .filter(|x| x.is_finite())
            .map(|x| x * MIB)
            .or(fit.map(|f| f.slope * 3600.0));
        if let Some(per_hour) = per_hour {
            let rate = rate_from(per_hour, &v.c3, fit.as_ref());
            let window = window_of(v.trend.as_ref(), &floor);
            let n_full = v.full_gcs.map(|n| format!("{n} ")).unwrap_or_default();
            out.push(source(
                SourceKind::GcLog,
                if major {
                    Tier::MajorGcFloor
                } else {
                    Tier::HeapUsed
                },
                1,
                if major {
                    "post-GC heap after major GCs (GC log)".into()
                } else {
                    "post-GC heap floor (GC log)".into()
                },
                code(&g.file),
                v.c3.method.clone().unwrap_or_else(|| {
                    if major {
                        format!("Theil–Sen over the heap after each of the {n_full}mark-compacts")
                    } else {
                        "Theil–Sen over the lower envelope of the heap after every GC".into()
                    }
                }),
                Clock::Uptime,
                floor,
                samples,
                Some(rate),
                verdict_of(&v.verdict),
                normalize_rates(&v.reason),
                window,
                v.c3.span_seconds
                    .or(v.trend.as_ref().and_then(|t| t.span_s)),
                v.c3.too_short_for_rate,
            ));
        }
    }

    // Prometheus: every memory series (GC counts and pauses are not memory).
    if let Some(m) = &ev.metrics {
        for s in &m.view.series {
            let name = s
                .labels
                .get("__name__")
                .cloned()
                .or_else(|| m.view.metric.clone())
                .unwrap_or_default();
            let Some(mut tier) = metric_tier(&name, &s.labels) else {
                continue;
            };
            let samples = s.samples.points_s();
            if samples.is_empty() {
                continue;
            }
            // The analysis may fit the target's old generation confirmed by major GCs
            // rather than the series itself: that is the more reliable measure.
            let old_gen = s.analysed.starts_with("old generation");
            if old_gen {
                tier = tier.min(Tier::OldSpace);
            }
            let floor: Vec<(f64, f64)> = if s.floor.is_empty() {
                let pts: Vec<Point> = samples.iter().map(|&(t, v)| Point { t, v }).collect();
                trend::lower_envelope(&pts, trend::envelope_buckets(pts.len()))
                    .into_iter()
                    .map(|p| (p.t, p.v))
                    .collect()
            } else {
                s.floor
                    .iter()
                    .copied()
                    .filter(|(t, v)| t.is_finite() && v.is_finite())
                    .collect()
            };
            let fit = stats::theil_sen(&floor);
            let (per_hour, verdict, reason) = match s.growth_bytes_per_hour {
                Some(g) if g.is_finite() => (g, verdict_of(&s.verdict), normalize_rates(&s.reason)),
                _ => {
                    let tr = own_trend(&floor, trend::METHOD);
                    (tr.growth_per_hour, tr.verdict, tr.reason)
                }
            };
            let c3 = GrowthFields {
                growth_bytes_per_hour: None,
                growth_low_bytes_per_hour: s.growth_low_bytes_per_hour,
                growth_high_bytes_per_hour: s.growth_high_bytes_per_hour,
                span_seconds: s.span_seconds,
                method: s.method.clone(),
                too_short_for_rate: s.too_short_for_rate,
            };
            let rate = rate_from(per_hour, &c3, fit.as_ref());
            let sel = selector(&name, &s.labels);
            out.push(source(
                SourceKind::Prometheus,
                tier,
                2,
                if old_gen {
                    format!("Prometheus old generation of {}", code(&sel))
                } else {
                    format!("Prometheus {}", code(&sel))
                },
                code(&m.source),
                s.method.clone().unwrap_or_else(|| {
                    "Theil–Sen over the lower envelope of the samples (the post-GC floor of the sawtooth)".into()
                }),
                Clock::Unix,
                floor.clone(),
                samples,
                Some(rate),
                verdict,
                reason,
                window_of(s.trend.as_ref(), &floor),
                s.span_seconds,
                s.too_short_for_rate,
            ));
        }
    }

    // Snapshot totals and the leaked groups, on the snapshots' clock.
    let on_load = snapshots.iter().all(|s| s.load_seconds.is_some());
    let on_names = snapshots.iter().all(|s| s.name_time.is_some());
    let (clock, times): (Clock, Vec<Option<f64>>) = if on_load && !snapshots.is_empty() {
        (
            Clock::Load,
            snapshots.iter().map(|s| s.load_seconds).collect(),
        )
    } else if on_names {
        (
            Clock::HostLocal,
            snapshots
                .iter()
                .map(|s| s.name_time.map(|t| t as f64))
                .collect(),
        )
    } else {
        (Clock::HostLocal, vec![None; snapshots.len()])
    };
    let totals: Vec<(f64, f64)> = snapshots
        .iter()
        .zip(&times)
        .filter_map(|(s, t)| Some(((*t)?, s.total_bytes? as f64)))
        .collect();
    if totals.len() >= 2 {
        out.push(own_source(
            SourceKind::SnapshotTotals,
            Tier::SnapshotTotals,
            3,
            "heap snapshot totals".into(),
            format!("{} snapshots", totals.len()),
            "Theil–Sen over the total heap size of each snapshot",
            clock,
            totals,
        ));
    }
    if ev.leaks.is_some()
        && let (Some(Some(t0)), Some(Some(t1))) = (times.first(), times.last())
        && t1 > t0
    {
        let added: f64 = leaks.iter().filter_map(|g| g.added_bytes).sum();
        let span = t1 - t0;
        let (verdict, reason) = if leaks.is_empty() {
            (
                Verdict::NoLeak,
                "no object group grew between the snapshots".to_string(),
            )
        } else {
            (
                Verdict::Leak,
                format!(
                    "{} leaked group(s) grew in every snapshot interval, {} retained added",
                    leaks.len(),
                    words::bytes(added)
                ),
            )
        };
        out.push(source(
            SourceKind::LeakedGroups,
            Tier::LeakedGroups,
            4,
            "leaked groups' retained size (heap snapshots)".into(),
            format!("{} group(s)", leaks.len()),
            "retained size of the units each leaked group added between the first and last snapshot, over the time between them".into(),
            clock,
            vec![(*t0, 0.0), (*t1, added)],
            Vec::new(),
            Some(Rate {
                per_hour: added / span * 3600.0,
                low: None,
                high: None,
            }),
            verdict,
            reason,
            Some((*t0, *t1)),
            None,
            None,
        ));
    }

    // Python profiles.
    for p in &ev.python {
        let per_hour = p
            .view
            .c3
            .growth_bytes_per_hour
            .or(p.view.growth_mb_per_hour.map(|m| m * MIB))
            .filter(|x| x.is_finite());
        if let Some(per_hour) = per_hour {
            let span = p
                .view
                .c3
                .span_seconds
                .or(p.view.elapsed_s)
                .filter(|s| s.is_finite());
            let verdict = match &p.view.verdict {
                Some(v) => verdict_of(v),
                None if !p.view.findings.is_empty() && per_hour > 0.0 => Verdict::Leak,
                None => Verdict::Inconclusive,
            };
            out.push(GrowthSource {
                too_short_for_rate: p
                    .view
                    .c3
                    .too_short_for_rate
                    .unwrap_or(span.is_some_and(|s| s < MIN_SPAN_FOR_RATE_S)),
                ..source(
                    SourceKind::Python,
                    Tier::Profile,
                    5,
                    format!("{} profile", p.view.source),
                    code(&p.file),
                    p.view
                        .c3
                        .method
                        .clone()
                        .unwrap_or_else(|| "memory never freed over the profiled run".into()),
                    Clock::Uptime,
                    Vec::new(),
                    Vec::new(),
                    Some(rate_from(per_hour, &p.view.c3, None)),
                    verdict,
                    normalize_rates(p.view.reason.as_deref().unwrap_or_default()),
                    None,
                    span,
                    Some(false),
                )
            });
        }
    }
    out
}

/// The most reliable source with a usable trend (sources are sorted most reliable first).
pub fn headline(sources: &[GrowthSource]) -> Option<Headline> {
    let pick =
        |ok: &dyn Fn(&GrowthSource) -> bool| sources.iter().position(|s| s.rate.is_some() && ok(s));
    let (i, why) = if let Some(i) = pick(&|s| !s.too_short_for_rate && s.n_points >= 6) {
        (i, "the most reliable source with a trend")
    } else if let Some(i) = pick(&|s| s.n_points >= 3) {
        (
            i,
            "the most reliable source, though its trend rests on few points or a short window",
        )
    } else {
        (
            pick(&|_| true)?,
            "the only kind of growth figure in the evidence",
        )
    };
    let s = &sources[i];
    Some(Headline {
        source: i,
        rate: s.rate?,
        verdict: s.verdict,
        span_s: s.span_s,
        why: format!("{why} ({})", s.tier.describe()),
    })
}

/// Each other source against the headline: agreement, or what explains the difference.
pub fn compare(
    sources: &[GrowthSource],
    headline: Option<&Headline>,
    clocks: &Clocks,
    load: Option<&Load>,
) -> Vec<Comparison> {
    let Some(h) = headline else {
        return Vec::new();
    };
    let Some(hs) = sources.get(h.source) else {
        return Vec::new();
    };
    let load_end = load.and_then(|l| Some(l.started_unix? + l.seconds));
    let unix_window = |s: &GrowthSource| -> Option<(f64, f64)> {
        let (a, b) = s.window?;
        Some((clocks.to_unix(s.clock, a)?, clocks.to_unix(s.clock, b)?))
    };
    let hw = unix_window(hs);
    sources
        .iter()
        .enumerate()
        .filter(|(i, s)| *i != h.source && s.rate.is_some())
        .map(|(i, s)| {
            let r = s.rate.unwrap_or(h.rate);
            let diff = (r.per_hour - h.rate.per_hour).abs();
            let scale = r.per_hour.abs().max(h.rate.per_hour.abs());
            let agrees = r.overlaps(&h.rate)
                || diff <= 0.25 * scale
                || (r.per_hour.abs() < MIB && h.rate.per_hour.abs() < MIB);
            let explanation = if agrees {
                format!(
                    "agrees with the headline ({} against {})",
                    words::rate(r.per_hour),
                    words::rate(h.rate.per_hour)
                )
            } else {
                explain(s, hs, unix_window(s), hw, clocks, load_end)
            };
            Comparison {
                source: i,
                agrees,
                explanation,
            }
        })
        .collect()
}

fn explain(
    s: &GrowthSource,
    h: &GrowthSource,
    sw: Option<(f64, f64)>,
    hw: Option<(f64, f64)>,
    clocks: &Clocks,
    load_end: Option<f64>,
) -> String {
    let r = s.rate.map(|r| r.per_hour).unwrap_or(0.0);
    let hr = h.rate.map(|r| r.per_hour).unwrap_or(0.0);
    let lower = r < hr;
    if s.kind == SourceKind::LeakedGroups {
        return format!(
            "counts only what the leaked groups retain ({}): {} than the headline, so {}",
            words::rate(r),
            if lower { "lower" } else { "higher" },
            if lower {
                "part of the growth is outside the groups the finder grouped (or before the first snapshot)"
            } else {
                "the headline's window saw less of the leak"
            }
        );
    }
    if s.too_short_for_rate {
        return format!(
            "its window ({}) is too short for an hourly figure",
            words::duration(s.span_s)
        );
    }
    if let Shape::GrewThenFlat { flat_from } = s.shape {
        let flat_unix = clocks.to_unix(s.clock, flat_from);
        return match (flat_unix, load_end) {
            (Some(f), Some(end)) if f >= end - 0.1 * s.span_s.max(1.0) => format!(
                "it grew until the load stopped ({}) and was flat after: the memory grows with requests, so a window that includes idle time gives a lower hourly figure",
                words::datetime(words::unix_i(end))
            ),
            _ => format!(
                "it grew early in its window, then stayed flat ({}): warm-up, or growth that stopped",
                match flat_unix {
                    Some(f) => format!("from {}", words::datetime(words::unix_i(f))),
                    None => format!("from {} on its clock", words::duration(flat_from.max(0.0))),
                }
            ),
        };
    }
    if let (Some((a0, a1)), Some((b0, b1))) = (sw, hw) {
        let overlap = (a1.min(b1) - a0.max(b0)).max(0.0);
        let union = a1.max(b1) - a0.min(b0);
        if union > 0.0 && overlap / union < 0.5 {
            return format!(
                "it was measured over a different window ({} to {}, against {} to {})",
                words::datetime(words::unix_i(a0)),
                words::datetime(words::unix_i(a1)),
                words::datetime(words::unix_i(b0)),
                words::datetime(words::unix_i(b1))
            );
        }
    }
    if sw.is_none() || hw.is_none() {
        if matches!(s.tier, Tier::HeapUsed | Tier::Resident) {
            return format!(
                "{} includes memory the GC has not collected yet, and the two were not measured on one clock",
                s.tier.describe()
            );
        }
        if s.kind == SourceKind::Python {
            return "it comes from a profiled run, not from the same process and window".into();
        }
        return "the two were not measured on one clock, so their windows cannot be compared"
            .into();
    }
    if matches!(s.tier, Tier::HeapUsed | Tier::Resident) {
        return format!(
            "{} includes memory the GC has not collected yet; between major GCs it ramps and drops",
            s.tier.describe()
        );
    }
    "not explained by this evidence: the two sources cover the same window".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_that_stops_is_seen() {
        let pts: Vec<(f64, f64)> = (0..40)
            .map(|i| (i as f64, 100.0 + 10.0 * (i.min(20) as f64)))
            .collect();
        match shape_of(&pts) {
            Shape::GrewThenFlat { flat_from } => assert!((18.0..=20.0).contains(&flat_from)),
            s => panic!("{s:?}"),
        }
        let steady: Vec<(f64, f64)> = (0..40).map(|i| (i as f64, 100.0 + i as f64)).collect();
        assert_eq!(shape_of(&steady), Shape::Steady);
    }

    #[test]
    fn quoted_rates_read_the_report_way() {
        assert_eq!(
            normalize_rates(
                "steady growth 6149 MB/h (95% interval 6027 MB/h to 6649 MB/h) over 28 s"
            ),
            "steady growth 6.00 GiB/h (95% interval 5.89 GiB/h to 6.49 GiB/h) over 28 s"
        );
        assert_eq!(
            normalize_rates("grows 36.7 MB/hour over 90 minutes"),
            "grows 36.7 MiB/h over 90 minutes"
        );
        assert_eq!(
            normalize_rates("p=0.26, 12 points, v2.5 MB/h"),
            "p=0.26, 12 points, v2.5 MB/h"
        );
        assert_eq!(normalize_rates("-72 MiB/h"), "-72.0 MiB/h");
    }

    #[test]
    fn only_memory_series_are_growth() {
        let mut l = std::collections::BTreeMap::new();
        assert_eq!(
            metric_tier("nodejs_heap_size_used_bytes", &l),
            Some(Tier::HeapUsed)
        );
        assert_eq!(metric_tier("nodejs_gc_duration_seconds_count", &l), None);
        assert_eq!(metric_tier("nodejs_gc_duration_seconds_bucket", &l), None);
        assert_eq!(
            metric_tier("process_resident_memory_bytes", &l),
            Some(Tier::Resident)
        );
        l.insert("space".into(), "old".into());
        assert_eq!(
            metric_tier("nodejs_heap_space_size_used_bytes", &l),
            Some(Tier::OldSpace)
        );
        l.insert("space".into(), "new".into());
        assert_eq!(metric_tier("nodejs_heap_space_size_used_bytes", &l), None);
    }
}
