//! Inline SVG charts for the HTML report: memory over time with its trend line, growth per
//! class, and the retainer path drawn as boxes and arrows. Deterministic (fixed sizes, fixed
//! number formatting) and self-contained; every label is escaped.

use super::model::{Bar, HeapChart, PathNode};
use super::text::html_escape;
use std::fmt::Write;

const W: f64 = 760.0;
const H: f64 = 300.0;
const ML: f64 = 64.0;
const MR: f64 = 16.0;
const MT: f64 = 28.0;
const MB_: f64 = 44.0;

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

/// Memory over time: the points, the least-squares trend (dashed), and the limit when in range.
pub fn heap_chart(c: &HeapChart) -> String {
    let mut s = String::new();
    if c.points.len() < 2 {
        return s;
    }
    let (mut xmin, mut xmax) = (f64::INFINITY, f64::NEG_INFINITY);
    let ymin = 0.0;
    let mut ymax = f64::NEG_INFINITY;
    for &(x, y) in &c.points {
        xmin = xmin.min(x);
        xmax = xmax.max(x);
        ymax = ymax.max(y);
    }
    let limit_in_range = c.limit_mb.filter(|l| *l <= ymax * 1.5 && *l > 0.0);
    if let Some(l) = limit_in_range {
        ymax = ymax.max(l);
    }
    if ymax <= ymin {
        ymax = ymin + 1.0;
    }
    ymax *= 1.05;
    if xmax <= xmin {
        xmax = xmin + 1.0;
    }
    if !(ymax.is_finite() && xmin.is_finite() && xmax.is_finite() && (xmax - xmin).is_finite()) {
        return s;
    }
    let minutes = xmax - xmin > 300.0;
    let px = |x: f64| ML + (x - xmin) / (xmax - xmin) * (W - ML - MR);
    let py = |y: f64| H - MB_ - (y - ymin) / (ymax - ymin) * (H - MT - MB_);
    let _ = write!(
        s,
        r##"<svg class="chart" role="img" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}"><title>{}</title>"##,
        html_escape(&c.title)
    );
    let _ = write!(
        s,
        r##"<rect x="0" y="0" width="{W}" height="{H}" fill="#ffffff"/>"##
    );
    // grid and y ticks
    let ys = tick_step(ymax - ymin, 5.0);
    let mut y = (ymin / ys).ceil() * ys;
    let mut n_ticks = 0;
    while y <= ymax && n_ticks < 50 {
        n_ticks += 1;
        let yy = py(y);
        let _ = write!(
            s,
            r##"<line x1="{ML}" y1="{0}" x2="{1}" y2="{0}" stroke="#e3e6ea"/><text x="{2}" y="{3}" text-anchor="end" font-size="11" fill="#555">{4}</text>"##,
            r1(yy),
            r1(W - MR),
            r1(ML - 6.0),
            r1(yy + 4.0),
            label_num(y)
        );
        y += ys;
    }
    // x ticks
    let unit = if minutes { 60.0 } else { 1.0 };
    let xs = tick_step((xmax - xmin) / unit, 6.0) * unit;
    let mut x = (xmin / xs).ceil() * xs;
    let mut n_ticks = 0;
    while x <= xmax && n_ticks < 50 {
        n_ticks += 1;
        let xx = px(x);
        let _ = write!(
            s,
            r##"<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#e3e6ea"/><text x="{0}" y="{3}" text-anchor="middle" font-size="11" fill="#555">{4}</text>"##,
            r1(xx),
            r1(MT),
            r1(H - MB_),
            r1(H - MB_ + 16.0),
            label_num(x / unit)
        );
        x += xs;
    }
    let _ = write!(
        s,
        r##"<line x1="{ML}" y1="{0}" x2="{1}" y2="{0}" stroke="#333"/><line x1="{ML}" y1="{MT}" x2="{ML}" y2="{0}" stroke="#333"/>"##,
        r1(H - MB_),
        r1(W - MR)
    );
    let _ = write!(
        s,
        r##"<text x="{0}" y="{1}" text-anchor="middle" font-size="12" fill="#333">time since the first point ({2})</text><text x="14" y="{3}" text-anchor="middle" font-size="12" fill="#333" transform="rotate(-90 14 {3})">MB</text>"##,
        r1((ML + W - MR) / 2.0),
        r1(H - 8.0),
        if minutes { "minutes" } else { "seconds" },
        r1((MT + H - MB_) / 2.0)
    );
    if let Some(l) = limit_in_range {
        let yy = py(l);
        let _ = write!(
            s,
            r##"<line x1="{ML}" y1="{0}" x2="{1}" y2="{0}" stroke="#b00020" stroke-width="1.5"/><text x="{2}" y="{3}" text-anchor="end" font-size="11" fill="#b00020">limit {4} MB</text>"##,
            r1(yy),
            r1(W - MR),
            r1(W - MR - 4.0),
            r1(yy - 4.0),
            label_num(l)
        );
    }
    let mut pts = String::new();
    for &(x, y) in &c.points {
        let _ = write!(pts, "{},{} ", r1(px(x)), r1(py(y)));
    }
    let _ = write!(
        s,
        r##"<polyline fill="none" stroke="#1f6feb" stroke-width="1.6" points="{}"/>"##,
        pts.trim_end()
    );
    if let Some((x0, y0, x1, y1)) = c.trend {
        let _ = write!(
            s,
            r##"<line class="trend" x1="{}" y1="{}" x2="{}" y2="{}" stroke="#d9480f" stroke-width="2" stroke-dasharray="6 4"/>"##,
            r1(px(x0)),
            r1(py(y0)),
            r1(px(x1)),
            r1(py(y1))
        );
    }
    let legend = match c.trend_mb_per_hour {
        Some(t) => format!("trend (least squares): {} MB/hour", label_num(t)),
        None => "no trend".into(),
    };
    let _ = write!(
        s,
        r##"<text x="{ML}" y="18" font-size="12" fill="#1f6feb">— memory (MB)</text><text x="{}" y="18" font-size="12" fill="#d9480f">- - {}</text>"##,
        r1(ML + 130.0),
        html_escape(&legend)
    );
    if let (Some(l), None) = (c.limit_mb, limit_in_range) {
        let _ = write!(
            s,
            r##"<text x="{}" y="18" text-anchor="end" font-size="11" fill="#b00020">limit {} MB (off scale)</text>"##,
            r1(W - MR),
            label_num(l)
        );
    }
    s.push_str("</svg>");
    s
}

/// Growth per class: one horizontal bar per leaked group (+MB), labelled with +instances.
pub fn growth_bars(bars: &[Bar]) -> String {
    let mut s = String::new();
    if bars.is_empty() {
        return s;
    }
    let row = 30.0;
    let label_w = 300.0;
    let h = MT + row * bars.len() as f64 + 12.0;
    let max = bars
        .iter()
        .map(|b| b.mb.abs())
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let _ = write!(
        s,
        r##"<svg class="chart" role="img" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {0}" width="{W}" height="{0}"><title>Growth per class between the first and last snapshot</title><rect x="0" y="0" width="{W}" height="{0}" fill="#ffffff"/>"##,
        r1(h)
    );
    let _ = write!(
        s,
        r##"<text x="8" y="18" font-size="12" fill="#333">growth between the first and last snapshot (MB, +instances)</text>"##
    );
    for (i, b) in bars.iter().enumerate() {
        let y = MT + row * i as f64;
        let w = (b.mb.abs() / max) * (W - label_w - 200.0);
        let mut label: String = b.label.chars().take(48).collect();
        if b.label.chars().count() > 48 {
            label.push('…');
        }
        let _ = write!(
            s,
            r##"<text x="{0}" y="{1}" text-anchor="end" font-size="12" fill="#222">{2}</text><rect x="{3}" y="{4}" width="{5}" height="18" fill="#d9480f" rx="2"/><text x="{6}" y="{1}" font-size="12" fill="#222">{7:+.2} MB, {8:+} objects</text>"##,
            r1(label_w - 8.0),
            r1(y + 13.0),
            html_escape(&label),
            r1(label_w),
            r1(y),
            r1(w.max(1.0)),
            r1(label_w + w.max(1.0) + 6.0),
            b.mb,
            b.instances
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
        let c = HeapChart {
            title: "t".into(),
            source: "s".into(),
            points: vec![(0.0, 1.7e308), (1e300, 1.0)],
            trend: Some((0.0, f64::NAN, 1.0, f64::INFINITY)),
            trend_mb_per_hour: None,
            limit_mb: Some(1e308),
        };
        let _ = heap_chart(&c);
        let c = HeapChart {
            points: vec![(0.0, 1.0), (1.0, 1e15)],
            ..c
        };
        assert!(heap_chart(&c).matches("<text").count() < 120);
    }

    #[test]
    fn tick_steps_are_round() {
        assert_eq!(tick_step(100.0, 5.0), 20.0);
        assert_eq!(tick_step(7.0, 5.0), 2.0);
    }
}
