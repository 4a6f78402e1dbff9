//! Inline SVG charts for the HTML report: memory over time with its trend lines, growth per
//! class, and the retainer path drawn as boxes and arrows. Deterministic (fixed sizes, fixed
//! number formatting) and self-contained; every label is escaped.

use super::model::{Bar, MemoryChart, PathNode};
use super::text::html_escape;
use std::fmt::Write;

const W: f64 = 760.0;
const MR: f64 = 16.0;
const MT: f64 = 28.0;

fn r1(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.1}")
    } else {
        "0".into()
    }
}

/// Round tick step for a span.
fn tick_step(span: f64, target: f64) -> f64 {
    if !(span.is_finite() && span > 0.0) {
        return 1.0;
    }
    let raw = span / target;
    let p = 10f64.powi(raw.log10().floor() as i32);
    let m = raw / p;
    let n = if m > 5.0 {
        10.0
    } else if m > 2.0 {
        5.0
    } else if m > 1.0 {
        2.0
    } else {
        1.0
    };
    n * p
}

fn label_num(x: f64) -> String {
    if x.abs() >= 100.0 || x == x.trunc() {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// Colours of the series slots (the same source keeps its slot in every chart).
const PALETTE: [&str; 7] = [
    "#1f6feb", "#8250df", "#1a7f37", "#0a7b83", "#9a6700", "#d9480f", "#57606a",
];

fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// The unit the y axis is labelled in for a largest value of `max` bytes.
fn y_unit(max: f64) -> (f64, &'static str) {
    if max >= 2.0 * crate::units::GIB {
        (crate::units::GIB, "GiB")
    } else if max >= 2.0 * crate::units::MIB {
        (crate::units::MIB, "MiB")
    } else {
        (crate::units::KIB, "KiB")
    }
}

/// Memory over time: every series of the chart (lines, the fitted points, snapshot totals as
/// markers), each trend dashed over the window it was fitted on, vertical markers (snapshots,
/// load start and end, OOM), the memory limit, units on both axes and a legend.
pub fn memory_chart(c: &MemoryChart) -> String {
    let mut s = String::new();
    let mut xs: Vec<f64> = Vec::new();
    let mut ys: Vec<f64> = Vec::new();
    for se in &c.series {
        for &(x, y) in &se.points {
            xs.push(x);
            ys.push(y);
        }
    }
    for t in &c.trends {
        xs.extend([t.line.0, t.line.2]);
        ys.extend([t.line.1, t.line.3]);
    }
    let finite = |v: &Vec<f64>| {
        v.iter()
            .copied()
            .filter(|x| x.is_finite())
            .collect::<Vec<f64>>()
    };
    let (xs, ys) = (finite(&xs), finite(&ys));
    if xs.len() < 2 || ys.is_empty() {
        return s;
    }
    let mut xmin = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let mut xmax = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    for m in &c.markers {
        if m.x.is_finite()
            && m.x >= xmin - 0.25 * (xmax - xmin)
            && m.x <= xmax + 0.25 * (xmax - xmin)
        {
            xmin = xmin.min(m.x);
            xmax = xmax.max(m.x);
        }
    }
    let mut ymax = ys
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max)
        .max(0.0);
    let limit_in_range = c.limit_bytes.filter(|l| *l > 0.0 && *l <= ymax * 1.5);
    if let Some(l) = limit_in_range {
        ymax = ymax.max(l);
    }
    if ymax <= 0.0 {
        ymax = 1.0;
    }
    ymax *= 1.08;
    if xmax <= xmin {
        xmax = xmin + 1.0;
    }
    if !(ymax.is_finite() && (xmax - xmin).is_finite()) {
        return s;
    }
    let (div, unit) = y_unit(ymax);
    // legend below the plot, two columns: one row per two entries
    let mut entries: Vec<(String, usize, &str)> = c
        .series
        .iter()
        .map(|se| (se.name.clone(), se.color, se.style.as_str()))
        .collect();
    for t in &c.trends {
        entries.push((format!("{} {}", t.label, t.name), t.color, "trend"));
    }
    let legend_rows = entries.len().div_ceil(2) as f64;
    let ml = 72.0;
    let mt = 34.0;
    let plot_h = 250.0;
    let mb = 52.0 + 18.0 * legend_rows + 8.0;
    let h = mt + plot_h + mb;
    let px = |x: f64| ml + (x - xmin) / (xmax - xmin) * (W - ml - MR);
    let py = |y: f64| h - mb - (y / ymax) * (h - mt - mb);
    let _ = write!(
        s,
        r##"<svg class="chart" role="img" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {h}" width="{W}" height="{h}"><title>{}</title><rect x="0" y="0" width="{W}" height="{h}" fill="#ffffff"/>"##,
        html_escape(&c.title)
    );
    // y grid and ticks, in the axis unit
    let ys_step = tick_step(ymax / div, 5.0) * div;
    let mut y = 0.0;
    let mut n = 0;
    while y <= ymax && n < 50 {
        n += 1;
        let yy = py(y);
        let _ = write!(
            s,
            r##"<line x1="{ml}" y1="{0}" x2="{1}" y2="{0}" stroke="#e3e6ea"/><text x="{2}" y="{3}" text-anchor="end" font-size="11" fill="#444">{4}</text>"##,
            r1(yy),
            r1(W - MR),
            r1(ml - 6.0),
            r1(yy + 4.0),
            label_num(y / div)
        );
        y += ys_step;
    }
    // x ticks: wall-clock times, or seconds/minutes on the chart's own clock
    let span = xmax - xmin;
    let minutes = !c.wall_clock && span > 300.0;
    let unit_x = if minutes { 60.0 } else { 1.0 };
    let xs_step = if c.wall_clock {
        // round wall-clock steps: 1, 2, 5, 10, 15, 30 s, 1, 2, 5, 10, 15, 30 min, 1 h ...
        let steps = [
            1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0,
            7200.0, 21600.0, 43200.0, 86400.0,
        ];
        steps
            .iter()
            .copied()
            .find(|st| span / st <= 7.0)
            .unwrap_or(86400.0 * (span / 86400.0 / 7.0).ceil())
    } else {
        tick_step(span / unit_x, 6.0) * unit_x
    };
    let mut x = (xmin / xs_step).ceil() * xs_step;
    let mut n = 0;
    while x <= xmax && n < 50 {
        n += 1;
        let xx = px(x);
        let label = if c.wall_clock {
            let t = crate::report::words::time_of_day(crate::report::words::unix_i(x));
            if xs_step >= 60.0 {
                t.get(..5).unwrap_or(&t).to_string()
            } else {
                t
            }
        } else {
            label_num(x / unit_x)
        };
        let _ = write!(
            s,
            r##"<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#eef0f2"/><text x="{0}" y="{3}" text-anchor="middle" font-size="11" fill="#444">{4}</text>"##,
            r1(xx),
            r1(mt),
            r1(h - mb),
            r1(h - mb + 16.0),
            html_escape(&label)
        );
        x += xs_step;
    }
    let x_title = if c.wall_clock {
        format!(
            "{}, {}",
            c.x_label,
            crate::report::words::date(crate::report::words::unix_i(xmin))
        )
    } else if minutes {
        c.x_label.replace("(seconds)", "(minutes)")
    } else {
        c.x_label.clone()
    };
    let _ = write!(
        s,
        r##"<line x1="{ml}" y1="{0}" x2="{1}" y2="{0}" stroke="#333"/><line x1="{ml}" y1="{mt}" x2="{ml}" y2="{0}" stroke="#333"/><text x="{2}" y="{3}" text-anchor="middle" font-size="12" fill="#333">{4}</text><text x="16" y="{5}" text-anchor="middle" font-size="12" fill="#333" transform="rotate(-90 16 {5})">memory ({unit})</text>"##,
        r1(h - mb),
        r1(W - MR),
        r1((ml + W - MR) / 2.0),
        r1(mt + plot_h + 36.0),
        html_escape(&x_title),
        r1((mt + h - mb) / 2.0)
    );
    // markers: those closer than 2 % of the width share one line and one label
    let mut marks: Vec<(f64, String)> = Vec::new();
    let mut sorted: Vec<&crate::report::model::ChartMarker> = c
        .markers
        .iter()
        .filter(|m| m.x.is_finite() && m.x >= xmin && m.x <= xmax)
        .collect();
    sorted.sort_by(|a, b| a.x.total_cmp(&b.x));
    for m in sorted {
        match marks.last_mut() {
            Some((x, label)) if (px(m.x) - px(*x)).abs() < 0.02 * (W - ml - MR) => {
                label.push_str(", ");
                label.push_str(&m.label);
            }
            _ => marks.push((m.x, m.label.clone())),
        }
    }
    for (x, label) in &marks {
        let xx = px(*x);
        let _ = write!(
            s,
            r##"<line class="marker" x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#8c959f" stroke-dasharray="2 3"/><text x="{3}" y="{4}" font-size="10" fill="#57606a" transform="rotate(-90 {3} {4})" text-anchor="end">{5}</text>"##,
            r1(xx),
            r1(mt),
            r1(h - mb),
            r1(xx - 3.0),
            r1(mt + 2.0),
            html_escape(label)
        );
    }
    if let Some(l) = limit_in_range {
        let yy = py(l);
        let _ = write!(
            s,
            r##"<line x1="{ml}" y1="{0}" x2="{1}" y2="{0}" stroke="#b00020" stroke-width="1.5"/><text x="{2}" y="{3}" text-anchor="end" font-size="11" fill="#b00020">limit {4}</text>"##,
            r1(yy),
            r1(W - MR),
            r1(W - MR - 4.0),
            r1(yy - 4.0),
            html_escape(&crate::units::bytes(l))
        );
    }
    for se in &c.series {
        let col = color(se.color);
        match se.style.as_str() {
            "line" => {
                let mut pts = String::new();
                for &(x, y) in se
                    .points
                    .iter()
                    .filter(|p| p.0.is_finite() && p.1.is_finite())
                {
                    let _ = write!(pts, "{},{} ", r1(px(x)), r1(py(y)));
                }
                let _ = write!(
                    s,
                    r##"<polyline class="series" fill="none" stroke="{col}" stroke-width="1.4" stroke-opacity="0.75" points="{}"/>"##,
                    pts.trim_end()
                );
            }
            "markers" => {
                for &(x, y) in se
                    .points
                    .iter()
                    .filter(|p| p.0.is_finite() && p.1.is_finite())
                {
                    let _ = write!(
                        s,
                        r##"<rect class="series" x="{}" y="{}" width="10" height="10" fill="{col}" stroke="#fff" transform="rotate(45 {} {})"/>"##,
                        r1(px(x) - 5.0),
                        r1(py(y) - 5.0),
                        r1(px(x)),
                        r1(py(y))
                    );
                }
            }
            _ => {
                for &(x, y) in se
                    .points
                    .iter()
                    .filter(|p| p.0.is_finite() && p.1.is_finite())
                {
                    let _ = write!(
                        s,
                        r##"<circle class="series" cx="{}" cy="{}" r="3.2" fill="{col}"/>"##,
                        r1(px(x)),
                        r1(py(y))
                    );
                }
            }
        }
    }
    for t in &c.trends {
        let (x0, y0, x1, y1) = t.line;
        if !(x0.is_finite() && y0.is_finite() && x1.is_finite() && y1.is_finite()) {
            continue;
        }
        let col = color(t.color);
        let _ = write!(
            s,
            r##"<line class="trend" x1="{}" y1="{}" x2="{}" y2="{}" stroke="{col}" stroke-width="2.4" stroke-dasharray="7 4"/>"##,
            r1(px(x0)),
            r1(py(y0)),
            r1(px(x1)),
            r1(py(y1))
        );
    }
    // legend: one swatch per series, then each trend with its rate
    let col_w = (W - ml - MR) / 2.0;
    let max_chars = ((col_w - 28.0) / 6.0) as usize;
    for (i, (name, col_i, style)) in entries.iter().enumerate() {
        let lx = ml + col_w * (i % 2) as f64;
        let ly = mt + plot_h + 62.0 + 18.0 * (i / 2) as f64;
        let mut label: String = name.chars().take(max_chars).collect();
        if name.chars().count() > max_chars {
            label.push('…');
        }
        let col = color(*col_i);
        let sw = match *style {
            "line" => format!(
                r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{col}" stroke-width="2"/>"##,
                r1(lx),
                r1(ly - 4.0),
                r1(lx + 16.0),
                r1(ly - 4.0)
            ),
            "trend" => format!(
                r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{col}" stroke-width="2.4" stroke-dasharray="5 3"/>"##,
                r1(lx),
                r1(ly - 4.0),
                r1(lx + 16.0),
                r1(ly - 4.0)
            ),
            "markers" => format!(
                r##"<rect x="{}" y="{}" width="8" height="8" fill="{col}" transform="rotate(45 {} {})"/>"##,
                r1(lx + 4.0),
                r1(ly - 8.0),
                r1(lx + 8.0),
                r1(ly - 4.0)
            ),
            _ => format!(
                r##"<circle cx="{}" cy="{}" r="3.2" fill="{col}"/>"##,
                r1(lx + 8.0),
                r1(ly - 4.0)
            ),
        };
        let _ = write!(
            s,
            r##"{sw}<text x="{}" y="{}" font-size="11" fill="#333">{}</text>"##,
            r1(lx + 22.0),
            r1(ly),
            html_escape(&label)
        );
    }
    s.push_str("</svg>");
    s
}

/// Growth per class: one horizontal bar per leaked group (retained bytes added), labelled.
pub fn growth_bars(bars: &[Bar]) -> String {
    let mut s = String::new();
    if bars.is_empty() {
        return s;
    }
    let row = 30.0;
    let label_w = 220.0;
    let h = MT + row * bars.len() as f64 + 12.0;
    let max = bars
        .iter()
        .map(|b| b.bytes.abs())
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let _ = write!(
        s,
        r##"<svg class="chart" role="img" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {0}" width="{W}" height="{0}"><title>Growth per class between the first and last snapshot</title><rect x="0" y="0" width="{W}" height="{0}" fill="#ffffff"/>"##,
        r1(h)
    );
    let _ = write!(
        s,
        r##"<text x="8" y="18" font-size="12" fill="#333">retained size added between the first and last snapshot</text>"##
    );
    for (i, b) in bars.iter().enumerate() {
        let y = MT + row * i as f64;
        let w = (b.bytes.abs() / max) * (W - label_w - 300.0);
        let mut label: String = b.label.chars().take(34).collect();
        if b.label.chars().count() > 34 {
            label.push('…');
        }
        let _ = write!(
            s,
            r##"<text x="{0}" y="{1}" text-anchor="end" font-size="12" fill="#222">{2}</text><rect x="{3}" y="{4}" width="{5}" height="18" fill="#d9480f" rx="2"/><text x="{6}" y="{1}" font-size="12" fill="#222">{7}</text>"##,
            r1(label_w - 8.0),
            r1(y + 13.0),
            html_escape(&label),
            r1(label_w),
            r1(y),
            r1(w.max(1.0)),
            r1(label_w + w.max(1.0) + 6.0),
            html_escape(&b.text)
        );
    }
    s.push_str("</svg>");
    s
}

/// The retainer path: one box per holder, top to bottom, arrows labelled with the edge taken.
pub fn retainer_path(nodes: &[PathNode]) -> String {
    let mut s = String::new();
    if nodes.is_empty() {
        return s;
    }
    let box_h = 30.0;
    let gap = 34.0;
    let bw = 420.0;
    let x = 40.0;
    let h = 16.0 + nodes.len() as f64 * (box_h + gap) - gap + 16.0;
    let _ = write!(
        s,
        r##"<svg class="chart" role="img" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {0}" width="{W}" height="{0}"><title>Retainer path from a GC root to the leaked objects</title><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs><rect x="0" y="0" width="{W}" height="{0}" fill="#ffffff"/>"##,
        r1(h)
    );
    for (i, n) in nodes.iter().enumerate() {
        let y = 16.0 + i as f64 * (box_h + gap);
        let last = i + 1 == nodes.len();
        let (fill, stroke) = if last {
            ("#fde2d8", "#d9480f")
        } else if n.suspect {
            ("#fff4d6", "#c98a00")
        } else {
            ("#eef3fb", "#1f6feb")
        };
        let mut label: String = n.label.chars().take(56).collect();
        if n.label.chars().count() > 56 {
            label.push('…');
        }
        let _ = write!(
            s,
            r##"<rect x="{x}" y="{0}" width="{bw}" height="{box_h}" rx="5" fill="{fill}" stroke="{stroke}"/><text x="{1}" y="{2}" font-size="13" fill="#111" font-family="monospace">{3}</text>"##,
            r1(y),
            r1(x + 10.0),
            r1(y + 20.0),
            html_escape(&label)
        );
        if !last {
            let y1 = y + box_h;
            let y2 = y + box_h + gap - 2.0;
            let mut edge: String = n.edge.chars().take(60).collect();
            if n.edge.chars().count() > 60 {
                edge.push('…');
            }
            let _ = write!(
                s,
                r##"<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#555" stroke-width="1.5" marker-end="url(#arrow)"/><text x="{3}" y="{4}" font-size="12" fill="{5}" font-family="monospace">{6}</text>"##,
                r1(x + 30.0),
                r1(y1),
                r1(y2),
                r1(x + 44.0),
                r1(y1 + gap / 2.0 + 4.0),
                if n.suspect { "#c98a00" } else { "#444" },
                html_escape(&format!(
                    "{}{}",
                    edge,
                    if n.suspect { "  (suspect)" } else { "" }
                ))
            );
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        let s = retainer_path(&[
            PathNode {
                label: "<script>alert(1)</script>".into(),
                edge: "<img src=x onerror=alert(1)>".into(),
                suspect: true,
            },
            PathNode {
                label: "Leak".into(),
                edge: String::new(),
                suspect: true,
            },
        ]);
        assert!(!s.contains("<script>") && !s.contains("<img"));
        assert!(s.contains("&lt;script&gt;"));
    }

    #[test]
    fn extreme_values_do_not_hang_or_panic() {
        use crate::report::model::{ChartSeries, ChartTrend};
        let c = MemoryChart {
            title: "t".into(),
            x_label: "x".into(),
            wall_clock: true,
            series: vec![ChartSeries {
                name: "s".into(),
                style: "line".into(),
                color: 0,
                points: vec![(0.0, 1.7e308), (1e300, 1.0)],
            }],
            trends: vec![ChartTrend {
                name: "t".into(),
                color: 1,
                line: (0.0, f64::NAN, 1.0, f64::INFINITY),
                label: "x".into(),
            }],
            markers: vec![],
            limit_bytes: Some(1e308),
            caption: String::new(),
        };
        let _ = memory_chart(&c);
        let mut c2 = c.clone();
        c2.series[0].points = vec![(0.0, 1.0), (1.0, 1e15)];
        c2.wall_clock = false;
        assert!(memory_chart(&c2).matches("<text").count() < 120);
    }

    #[test]
    fn tick_steps_are_round() {
        assert_eq!(tick_step(100.0, 5.0), 20.0);
        assert_eq!(tick_step(7.0, 5.0), 2.0);
    }
}
