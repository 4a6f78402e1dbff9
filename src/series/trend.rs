//! Trend of a memory time series: robust slope (Theil-Sen), significance (Mann-Kendall), a
//! practical threshold, and a `leak` / `no-leak` / `inconclusive` verdict with a one-line reason.
//!
//! Pure: no IO, no printing. Time is in seconds, values in any unit (the caller converts).
//!
//! Memory of a garbage-collected process is a sawtooth: it climbs with garbage and drops at
//! each collection. The trend that matters is that of the post-GC *floor*, so callers either
//! pass floor points directly (heap after each full GC) or ask [`lower_envelope`] for one.
//!
//! The verdict never says `leak` for a flat series, nor for one that grew during warm-up and
//! then levelled off: the second half of the window must keep growing too.

use serde::{Deserialize, Serialize};

/// One observation: time in seconds, value in the caller's unit.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub t: f64,
    pub v: f64,
}

/// `leak`, `no-leak` or `inconclusive`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Leak,
    NoLeak,
    Inconclusive,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Leak => "leak",
            Verdict::NoLeak => "no-leak",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Thresholds of [`analyze`].
#[derive(Clone, Debug)]
pub struct Options {
    /// Fewer points than this: `inconclusive`.
    pub min_points: usize,
    /// A window shorter than this (seconds): `inconclusive`.
    pub min_span_s: f64,
    /// Mann-Kendall two-sided p-value below which a trend is significant.
    pub alpha: f64,
    /// Practical threshold: growth over the window must reach this fraction of the series'
    /// median level (0.05 = 5 %) ...
    pub min_relative_growth: f64,
    /// ... and this absolute amount per hour, in the caller's unit.
    pub min_growth_per_hour: f64,
    /// The human name of the unit, used in reasons ("MB", "bytes").
    pub unit: &'static str,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            min_points: 6,
            min_span_s: 5.0,
            alpha: 0.01,
            min_relative_growth: 0.05,
            min_growth_per_hour: 0.0,
            unit: "",
        }
    }
}

/// What [`analyze`] found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trend {
    pub verdict: Verdict,
    /// One line: why this verdict.
    pub reason: String,
    /// Theil-Sen slope of the whole window, unit per second (0 with fewer than 2 points).
    pub slope_per_s: f64,
    /// Theil-Sen slope of the second half of the window, unit per second.
    pub late_slope_per_s: f64,
    /// The growth rate the verdict stands on, unit per hour: the whole-window slope, or the
    /// late slope when growth stopped after a warm-up.
    pub growth_per_hour: f64,
    /// Mann-Kendall two-sided p-value of the whole window (1 when not computed).
    pub p_value: f64,
    /// Number of points analysed and the window they span, seconds.
    pub points: usize,
    pub span_s: f64,
}

/// Largest number of points the O(n^2) estimators look at; longer series are thinned evenly.
const MAX_POINTS: usize = 1500;

fn thin(points: &[Point]) -> Vec<Point> {
    if points.len() <= MAX_POINTS {
        return points.to_vec();
    }
    let n = points.len();
    (0..MAX_POINTS)
        .map(|i| points[i * (n - 1) / (MAX_POINTS - 1)])
        .collect()
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Theil-Sen slope: the median of the slopes of all pairs of points with distinct times.
pub fn theil_sen(points: &[Point]) -> Option<f64> {
    let p = thin(points);
    let mut slopes = Vec::with_capacity(p.len() * p.len().saturating_sub(1) / 2);
    for i in 0..p.len() {
        for j in i + 1..p.len() {
            let dt = p[j].t - p[i].t;
            if dt.abs() > 1e-12 {
                slopes.push((p[j].v - p[i].v) / dt);
            }
        }
    }
    median(&mut slopes)
}

/// Mann-Kendall test on the values in time order: returns (S, two-sided p-value), with the
/// variance corrected for ties.
pub fn mann_kendall(points: &[Point]) -> (f64, f64) {
    let p = thin(points);
    let n = p.len();
    if n < 3 {
        return (0.0, 1.0);
    }
    let mut s: i64 = 0;
    for i in 0..n {
        for j in i + 1..n {
            let d = p[j].v - p[i].v;
            if d > 0.0 {
                s += 1;
            } else if d < 0.0 {
                s -= 1;
            }
        }
    }
    let mut vals: Vec<f64> = p.iter().map(|x| x.v).collect();
    vals.sort_by(|a, b| a.total_cmp(b));
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && vals[j] == vals[i] {
            j += 1;
        }
        let t = (j - i) as f64;
        if t > 1.0 {
            tie_term += t * (t - 1.0) * (2.0 * t + 5.0);
        }
        i = j;
    }
    let nf = n as f64;
    let var = (nf * (nf - 1.0) * (2.0 * nf + 5.0) - tie_term) / 18.0;
    if var <= 0.0 {
        return (s as f64, 1.0);
    }
    let z = if s > 0 {
        (s as f64 - 1.0) / var.sqrt()
    } else if s < 0 {
        (s as f64 + 1.0) / var.sqrt()
    } else {
        0.0
    };
    (s as f64, 2.0 * normal_sf(z.abs()))
}

/// Upper tail of the standard normal distribution (Abramowitz-Stegun 7.1.26 erfc).
fn normal_sf(z: f64) -> f64 {
    let x = z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erfc = poly * (-x * x).exp();
    (0.5 * erfc).clamp(0.0, 1.0)
}

/// The post-GC floor of a sawtooth series: the minimum of each of `buckets` equal slices of
/// the time window (at the time it was seen). Monotone series pass through nearly unchanged.
pub fn lower_envelope(points: &[Point], buckets: usize) -> Vec<Point> {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Vec::new();
    };
    let span = last.t - first.t;
    if buckets == 0 || span <= 0.0 || points.len() <= buckets {
        return points.to_vec();
    }
    let mut mins: Vec<Option<Point>> = vec![None; buckets];
    for p in points {
        let k = (((p.t - first.t) / span) * buckets as f64) as usize;
        let k = k.min(buckets - 1);
        match mins[k] {
            Some(m) if m.v <= p.v => {}
            _ => mins[k] = Some(*p),
        }
    }
    mins.into_iter().flatten().collect()
}

/// Number of envelope buckets for a series of `n` raw samples: about one per 5 samples,
/// at least 6 and at most 60.
pub fn envelope_buckets(n: usize) -> usize {
    (n / 5).clamp(6, 60)
}

fn fmt_rate(per_hour: f64, unit: &str) -> String {
    if unit == "bytes" {
        // Byte rates read better in MiB.
        return fmt_rate(per_hour / 1048576.0, "MiB");
    }
    let sep = if unit.is_empty() { "" } else { " " };
    if per_hour.abs() >= 100.0 || per_hour == 0.0 {
        format!("{per_hour:.0}{sep}{unit}/h")
    } else if per_hour.abs() >= 1.0 {
        format!("{per_hour:.1}{sep}{unit}/h")
    } else {
        format!("{per_hour:.3}{sep}{unit}/h")
    }
}

/// Trend and verdict of `points` (sorted by time; unsorted input is sorted here). Points
/// with a non-finite time or value are dropped.
pub fn analyze(points: &[Point], opts: &Options) -> Trend {
    let mut pts: Vec<Point> = points
        .iter()
        .copied()
        .filter(|p| p.t.is_finite() && p.v.is_finite())
        .collect();
    pts.sort_by(|a, b| a.t.total_cmp(&b.t));
    let n = pts.len();
    let span = match (pts.first(), pts.last()) {
        (Some(a), Some(b)) => b.t - a.t,
        _ => 0.0,
    };
    let mut trend = Trend {
        verdict: Verdict::Inconclusive,
        reason: String::new(),
        slope_per_s: 0.0,
        late_slope_per_s: 0.0,
        growth_per_hour: 0.0,
        p_value: 1.0,
        points: n,
        span_s: span,
    };
    // The slope is reported even when it is too weak a basis for a verdict.
    let slope = theil_sen(&pts).unwrap_or(0.0);
    trend.slope_per_s = slope;
    trend.growth_per_hour = slope * 3600.0;
    if n < opts.min_points {
        trend.reason = format!("too few points: {n} (at least {} needed)", opts.min_points);
        return trend;
    }
    if span < opts.min_span_s {
        trend.reason = format!(
            "window too short: {span:.1} s (at least {:.0} s needed)",
            opts.min_span_s
        );
        return trend;
    }
    let (_, p) = mann_kendall(&pts);
    trend.p_value = p;
    let mut levels: Vec<f64> = pts.iter().map(|x| x.v.abs()).collect();
    let level = median(&mut levels).unwrap_or(0.0);
    let growth = slope * span;
    let practical = growth >= opts.min_relative_growth * level
        && slope * 3600.0 >= opts.min_growth_per_hour
        && slope > 0.0;
    let rate = fmt_rate(slope * 3600.0, opts.unit);

    // The second half of the window (by time) must keep growing for a leak.
    let mid_t = pts[0].t + span / 2.0;
    let late: Vec<Point> = pts.iter().copied().filter(|x| x.t >= mid_t).collect();
    let late_slope = if late.len() >= 3 {
        theil_sen(&late).unwrap_or(0.0)
    } else {
        slope
    };
    trend.late_slope_per_s = late_slope;

    if slope <= 0.0 || p >= 0.05 {
        trend.verdict = Verdict::NoLeak;
        trend.reason = if slope <= 0.0 {
            format!("no upward trend ({rate}, Mann-Kendall p={p:.2})")
        } else {
            format!("growth {rate} is not significant (Mann-Kendall p={p:.2})")
        };
        return trend;
    }
    if !practical {
        trend.verdict = Verdict::NoLeak;
        trend.reason = format!(
            "growth {rate} is within noise: {:.1}% of the level over the {:.0} s window",
            if level > 0.0 {
                100.0 * growth / level
            } else {
                0.0
            },
            span
        );
        return trend;
    }
    let late_growth = late_slope * span / 2.0;
    if late_slope < slope / 3.0 {
        trend.growth_per_hour = late_slope * 3600.0;
        let late_rate = fmt_rate(late_slope * 3600.0, opts.unit);
        if late_growth < opts.min_relative_growth * level / 2.0 {
            trend.verdict = Verdict::NoLeak;
            trend.reason = format!(
                "grew early ({rate}) then levelled off ({late_rate} in the second half): warm-up, not a leak"
            );
        } else {
            trend.verdict = Verdict::Inconclusive;
            trend.reason = format!(
                "growth slowed from {rate} to {late_rate} in the second half: may be levelling off"
            );
        }
        return trend;
    }
    if p >= opts.alpha {
        trend.verdict = Verdict::Inconclusive;
        trend.reason = format!("weak upward trend {rate} (Mann-Kendall p={p:.3})");
        return trend;
    }
    trend.verdict = Verdict::Leak;
    trend.reason = format!(
        "steady growth {rate} over {:.0} s, {n} points (Mann-Kendall p={p:.1e})",
        span
    );
    trend
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(n: usize, f: impl Fn(f64) -> f64) -> Vec<Point> {
        (0..n)
            .map(|i| {
                let t = i as f64;
                Point { t, v: f(t) }
            })
            .collect()
    }

    /// Deterministic pseudo-noise in [-1, 1].
    fn noise(i: f64) -> f64 {
        ((i * 12.9898).sin() * 43_758.545).fract() * 2.0 - 1.0
    }

    #[test]
    fn theil_sen_ignores_outliers() {
        let mut p = series(50, |t| 2.0 * t + 10.0);
        p[10].v = 1e6;
        p[20].v = -1e6;
        let s = theil_sen(&p).unwrap();
        assert!((s - 2.0).abs() < 1e-9, "{s}");
    }

    #[test]
    fn linear_growth_with_noise_is_a_leak() {
        let p = series(120, |t| 100.0 + 0.5 * t + 3.0 * noise(t));
        let tr = analyze(&p, &Options::default());
        assert_eq!(tr.verdict, Verdict::Leak, "{}", tr.reason);
        assert!((tr.slope_per_s - 0.5).abs() < 0.05, "{}", tr.slope_per_s);
    }

    #[test]
    fn flat_noisy_series_is_not_a_leak() {
        let p = series(200, |t| 100.0 + 5.0 * noise(t));
        let tr = analyze(&p, &Options::default());
        assert_eq!(tr.verdict, Verdict::NoLeak, "{}", tr.reason);
    }

    #[test]
    fn constant_series_is_not_a_leak() {
        let p = series(60, |_| 42.0);
        let tr = analyze(&p, &Options::default());
        assert_eq!(tr.verdict, Verdict::NoLeak, "{}", tr.reason);
    }

    #[test]
    fn warm_up_then_flat_is_never_a_leak() {
        // Rises for the first 40 % of the window, then stays flat with noise.
        for rise_end in [20.0, 40.0, 45.0] {
            let p = series(100, |t| 50.0 + 2.0 * t.min(rise_end) + noise(t));
            let tr = analyze(&p, &Options::default());
            assert_ne!(
                tr.verdict,
                Verdict::Leak,
                "rise_end {rise_end}: {}",
                tr.reason
            );
        }
        // Saturating (logarithmic-like) growth.
        let p = series(100, |t| 100.0 * (1.0 - (-t / 8.0).exp()));
        let tr = analyze(&p, &Options::default());
        assert_eq!(tr.verdict, Verdict::NoLeak, "{}", tr.reason);
    }

    #[test]
    fn sawtooth_floor_gives_the_leak_rate() {
        // Garbage climbs 30 units over each 10 s cycle on top of a floor growing 1 unit/s.
        let p = series(300, |t| 100.0 + t + 3.0 * (t % 10.0));
        let env = lower_envelope(&p, envelope_buckets(p.len()));
        let tr = analyze(&env, &Options::default());
        assert_eq!(tr.verdict, Verdict::Leak, "{}", tr.reason);
        assert!((tr.slope_per_s - 1.0).abs() < 0.05, "{}", tr.slope_per_s);
    }

    #[test]
    fn too_few_points_and_short_windows_are_inconclusive() {
        let tr = analyze(&series(3, |t| t), &Options::default());
        assert_eq!(tr.verdict, Verdict::Inconclusive);
        assert!(tr.reason.contains("too few points"), "{}", tr.reason);
        let p: Vec<Point> = (0..20)
            .map(|i| Point {
                t: i as f64 * 0.1,
                v: i as f64,
            })
            .collect();
        let tr = analyze(&p, &Options::default());
        assert_eq!(tr.verdict, Verdict::Inconclusive);
        assert!(tr.reason.contains("too short"), "{}", tr.reason);
    }

    #[test]
    fn non_finite_values_do_not_panic() {
        let mut p = series(30, |t| t);
        p[3].v = f64::NAN;
        p[4].t = f64::INFINITY;
        let tr = analyze(&p, &Options::default());
        assert_eq!(tr.points, 28);
        assert_eq!(tr.verdict, Verdict::Leak, "{}", tr.reason);
    }

    #[test]
    fn mann_kendall_p_is_small_for_a_monotone_series() {
        let (s, p) = mann_kendall(&series(30, |t| t));
        assert_eq!(s, 435.0);
        assert!(p < 1e-6, "{p}");
        let (_, p) = mann_kendall(&series(30, |_| 1.0));
        assert_eq!(p, 1.0);
    }
}
