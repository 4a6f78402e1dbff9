//! The data of the HTML charts: memory over time with every source that carries growth,
//! each trend only over the window it was fitted on; growth per leaked group (retained
//! bytes); the retainer path. One memory chart per clock: sources placed on wall-clock time
//! share one chart, the others each get a chart on their own clock.

use super::edge_text;
use crate::report::facts::{Clock, Facts, GrowthSource, SourceKind, base_name};
use crate::report::model::{
    Bar, ChartMarker, ChartSeries, ChartTrend, Charts, MemoryChart, PathNode,
};
use crate::report::text::plain;
use crate::report::words;

/// Most points drawn per series (the SVG stays small; the figures are not affected).
const MAX_DRAWN: usize = 600;

fn thin(points: &[(f64, f64)], max: usize) -> Vec<(f64, f64)> {
    if points.len() <= max || max < 2 {
        return points.to_vec();
    }
    (0..max)
        .map(|i| points[i * (points.len() - 1) / (max - 1)])
        .collect()
}

/// A source's name short enough for a legend: the kind of evidence and what it measures.
fn short_name(s: &GrowthSource) -> String {
    match s.kind {
        SourceKind::Capture => "capture: heap after a forced full GC".into(),
        SourceKind::GcLog if s.tier == crate::report::facts::Tier::MajorGcFloor => {
            "GC log: heap after each mark-compact".into()
        }
        SourceKind::GcLog => "GC log: post-GC floor".into(),
        SourceKind::SnapshotTotals => "heap snapshot totals".into(),
        SourceKind::Prometheus => {
            let sel = plain(&s.label);
            let sel = sel.strip_prefix("Prometheus ").unwrap_or(&sel).to_string();
            let (name, labels) = sel.split_once('{').unwrap_or((sel.as_str(), ""));
            if sel.starts_with("old generation of ") {
                return "Prometheus: old generation".into();
            }
            match name {
                "nodejs_heap_size_used_bytes" => "Prometheus: heap used".into(),
                "nodejs_heap_space_size_used_bytes" if labels.contains("space=\"old\"") => {
                    "Prometheus: old space".into()
                }
                "process_resident_memory_bytes" => "Prometheus: resident memory".into(),
                _ => format!("Prometheus: {name}"),
            }
        }
        _ => plain(&s.label),
    }
}

fn color(s: &GrowthSource, i: usize) -> usize {
    match s.kind {
        SourceKind::Capture => 0,
        SourceKind::GcLog => 1,
        SourceKind::Prometheus => 2 + (i % 3),
        SourceKind::SnapshotTotals => 5,
        SourceKind::LeakedGroups | SourceKind::Python => 6,
    }
}

/// The chart a clock's sources go on: wall-clock when placed, else the clock itself.
fn chart_clock(f: &Facts, c: Clock) -> Clock {
    if f.clocks.offset(c).is_some() {
        Clock::Unix
    } else {
        c
    }
}

fn memory_charts(f: &Facts) -> Vec<MemoryChart> {
    let mut clocks: Vec<Clock> = f
        .sources
        .iter()
        .filter(|s| !s.samples.is_empty() || !s.fitted.is_empty())
        .filter(|s| !matches!(s.kind, SourceKind::LeakedGroups | SourceKind::Python))
        .map(|s| chart_clock(f, s.clock))
        .collect();
    clocks.sort();
    clocks.dedup();
    let mut charts = Vec::new();
    for cc in clocks {
        let mut series = Vec::new();
        let mut trends = Vec::new();
        let mut names = Vec::new();
        for (i, s) in f.sources.iter().enumerate() {
            if matches!(s.kind, SourceKind::LeakedGroups | SourceKind::Python)
                || chart_clock(f, s.clock) != cc
            {
                continue;
            }
            let off = if cc == Clock::Unix {
                f.clocks.offset(s.clock).unwrap_or(0.0)
            } else {
                0.0
            };
            let shift = |p: &[(f64, f64)]| -> Vec<(f64, f64)> {
                p.iter().map(|(t, v)| (t + off, *v)).collect()
            };
            let col = color(s, i);
            let name = short_name(s);
            match s.kind {
                SourceKind::SnapshotTotals => series.push(ChartSeries {
                    name: name.clone(),
                    style: "markers".into(),
                    color: col,
                    points: shift(&s.fitted),
                }),
                SourceKind::GcLog => {
                    series.push(ChartSeries {
                        name: "GC log: heap after every GC".into(),
                        style: "line".into(),
                        color: col,
                        points: thin(&shift(&s.samples), MAX_DRAWN),
                    });
                    if s.fitted.len() != s.samples.len() {
                        series.push(ChartSeries {
                            name: name.clone(),
                            style: "points".into(),
                            color: col,
                            points: thin(&shift(&s.fitted), MAX_DRAWN),
                        });
                    }
                }
                SourceKind::Capture => series.push(ChartSeries {
                    name: name.clone(),
                    style: "points".into(),
                    color: col,
                    points: shift(&s.fitted),
                }),
                _ => series.push(ChartSeries {
                    name: name.clone(),
                    style: "line".into(),
                    color: col,
                    points: thin(&shift(&s.samples), MAX_DRAWN),
                }),
            }
            if let (Some((t0, t1)), Some(r)) = (s.window, s.rate)
                && let (Some(y0), Some(y1)) = (s.line_at(t0), s.line_at(t1))
                && s.kind != SourceKind::SnapshotTotals
            {
                trends.push(ChartTrend {
                    name: format!("trend ({name})"),
                    color: col,
                    line: (t0 + off, y0, t1 + off, y1),
                    label: words::rate(r.per_hour),
                });
            }
            names.push(name);
        }
        let mut markers = Vec::new();
        for (i, s) in f.snapshots.iter().enumerate() {
            let x = match cc {
                Clock::Unix => s.unix,
                Clock::HostLocal => s.name_time.map(|t| t as f64),
                Clock::Load => s.load_seconds,
                Clock::Uptime => None,
            };
            if let Some(x) = x {
                markers.push(ChartMarker {
                    x,
                    label: format!("snapshot {}", i + 1),
                });
            }
        }
        if let Some(l) = &f.load {
            let (a, b) = match cc {
                Clock::Unix => (
                    f.clocks.to_unix(Clock::Load, 0.0),
                    f.clocks.to_unix(Clock::Load, l.seconds),
                ),
                Clock::Load => (Some(0.0), Some(l.seconds)),
                _ => (None, None),
            };
            if let (Some(a), Some(b)) = (a, b) {
                markers.push(ChartMarker {
                    x: a,
                    label: "load starts".into(),
                });
                markers.push(ChartMarker {
                    x: b,
                    label: "load ends".into(),
                });
            }
        }
        for inc in f.incidents.iter().filter(|i| i.kind.is_oom()) {
            if cc == Clock::Unix
                && let Some(u) = inc.unix
            {
                markers.push(ChartMarker {
                    x: u,
                    label: "out of memory".into(),
                });
            }
        }
        let (title, x_label) = match cc {
            Clock::Unix => ("Memory over time".to_string(), "time (UTC)".to_string()),
            c => (
                format!("Memory over {}", c.describe()),
                format!("{} (seconds)", c.describe()),
            ),
        };
        charts.push(MemoryChart {
            title,
            x_label,
            wall_clock: cc == Clock::Unix,
            caption: format!(
                "{}. Each dashed trend is drawn only over the window it was fitted on{}.",
                names.join("; "),
                match f.headline_source() {
                    Some(h) => format!("; the headline is the {}", plain(&h.label)),
                    None => String::new(),
                }
            ),
            series,
            trends,
            markers,
            limit_bytes: f.limit.as_ref().map(|l| l.bytes),
        });
    }
    charts
}

pub fn charts(f: &Facts) -> Charts {
    let class_growth = f
        .leaks
        .iter()
        .take(8)
        .map(|g| Bar {
            label: format!(
                "{} ({})",
                g.class,
                g.finding
                    .location
                    .as_ref()
                    .map(|l| format!("{}:{}", base_name(&l.file), l.line))
                    .unwrap_or_else(|| g.pattern.id().to_string())
            ),
            bytes: g.added_bytes.unwrap_or(0.0),
            instances: g.added,
            text: match g.added_bytes {
                Some(b) => format!(
                    "{} {}, about {}",
                    words::count_delta(g.added),
                    plain(&super::plural_for(g, g.added.unsigned_abs())),
                    words::bytes_delta(b)
                ),
                None => format!(
                    "{} {}",
                    words::count_delta(g.added),
                    plain(&super::plural_for(g, g.added.unsigned_abs()))
                ),
            },
        })
        .collect();
    let retainer = f
        .top_leak()
        .map(|g| {
            let t = &g.finding;
            let mut v: Vec<PathNode> = t
                .retainer_path
                .iter()
                .map(|s| PathNode {
                    label: s.holder.clone(),
                    edge: edge_text(s),
                    suspect: s.suspect,
                })
                .collect();
            v.push(PathNode {
                label: format!(
                    "{} ×{}",
                    t.class,
                    words::count(g.per_snapshot.last().copied().unwrap_or(g.count))
                ),
                edge: String::new(),
                suspect: true,
            });
            v
        })
        .unwrap_or_default();
    Charts {
        memory: memory_charts(f),
        class_growth,
        retainer,
    }
}
