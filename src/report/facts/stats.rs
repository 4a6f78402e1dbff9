//! Small helpers over `series::trend`'s estimators: a Theil–Sen line placed through the
//! points (its level at a given time, to draw a trend another analysis computed), and the
//! slopes of the two halves of a window (to tell "grew, then flat" from steady growth).
//! Verdicts are not decided here: they come from `series::trend::analyze`, so a verdict
//! means the same in `gc`, `metrics`, `python` and `report`.

use crate::series::trend::{self, Point};

/// A straight line fitted through `(t, v)` points.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fit {
    /// Theil–Sen slope, value per second.
    pub slope: f64,
    /// 95 % confidence interval of the slope.
    pub low: f64,
    pub high: f64,
    /// The fitted window: first and last time.
    pub t0: f64,
    pub t1: f64,
    /// The line's value at `t1`.
    pub v1: f64,
    pub n: usize,
}

impl Fit {
    /// The line's value at `t`.
    pub fn at(&self, t: f64) -> f64 {
        self.v1 + self.slope * (t - self.t1)
    }
}

fn finite(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut p: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(t, v)| t.is_finite() && v.is_finite())
        .collect();
    p.sort_by(|a, b| a.0.total_cmp(&b.0));
    p
}

/// Median of a slice (sorted here); `None` when empty.
pub fn median(v: &mut [f64]) -> Option<f64> {
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

/// Theil–Sen fit with the 95 % interval of its slope (`series::trend`'s estimator), placed
/// through the points. `None` with fewer than two distinct times.
pub fn theil_sen(points: &[(f64, f64)]) -> Option<Fit> {
    let p = finite(points);
    let pts: Vec<Point> = p.iter().map(|&(t, v)| Point { t, v }).collect();
    let (slope, low, high) = trend::theil_sen_interval(&pts, trend::CONFIDENCE)?;
    let (t0, t1) = (p.first()?.0, p.last()?.0);
    Some(Fit {
        slope,
        low,
        high,
        t0,
        t1,
        v1: anchor(&p, slope, t1)?,
        n: p.len(),
    })
}

/// The value at `t` of the line with `slope` that best fits `points` (median residual):
/// used to draw a trend whose slope another analysis computed.
pub fn anchor(points: &[(f64, f64)], slope: f64, t: f64) -> Option<f64> {
    let mut r: Vec<f64> = points
        .iter()
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .map(|(a, b)| b - slope * (a - t))
        .filter(|x| x.is_finite())
        .collect();
    median(&mut r)
}

/// The slope of the second half of the points (by time) against the first half's: used to
/// tell "grew, then flat" from steady growth. `(early, late)`, each Theil–Sen.
pub fn halves(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let p = finite(points);
    let (a, b) = (p.first()?.0, p.last()?.0);
    let mid = a + (b - a) / 2.0;
    let early: Vec<(f64, f64)> = p.iter().copied().filter(|x| x.0 <= mid).collect();
    let late: Vec<(f64, f64)> = p.iter().copied().filter(|x| x.0 >= mid).collect();
    if early.len() < 3 || late.len() < 3 {
        return None;
    }
    Some((theil_sen(&early)?.slope, theil_sen(&late)?.slope))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_fitted_exactly() {
        let p: Vec<(f64, f64)> = (0..20).map(|i| (i as f64, 3.0 * i as f64 + 5.0)).collect();
        let f = theil_sen(&p).unwrap();
        assert_eq!(f.slope, 3.0);
        assert_eq!((f.low, f.high), (3.0, 3.0));
        assert_eq!(f.at(0.0), 5.0);
        assert_eq!((f.t0, f.t1, f.n), (0.0, 19.0, 20));
    }

    #[test]
    fn the_interval_widens_with_noise_and_holds_the_slope() {
        let p: Vec<(f64, f64)> = (0..40)
            .map(|i| {
                let t = i as f64;
                let noise = ((t * 12.9898).sin() * 43_758.545).fract() * 2.0 - 1.0;
                (t, 2.0 * t + 8.0 * noise)
            })
            .collect();
        let f = theil_sen(&p).unwrap();
        assert!(f.low < 2.0 && 2.0 < f.high, "{f:?}");
        assert!(f.low < f.slope && f.slope < f.high);
        // three points: the interval spans the pairwise slopes
        let f = theil_sen(&[(0.0, 0.0), (1.0, 1.0), (2.0, 4.0)]).unwrap();
        assert!(f.low <= 1.0 && f.slope == 2.0 && f.high >= 3.0, "{f:?}");
    }

    #[test]
    fn degenerate_inputs_give_nothing() {
        assert!(theil_sen(&[]).is_none());
        assert!(theil_sen(&[(1.0, 1.0), (1.0, 2.0)]).is_none());
        assert!(theil_sen(&[(f64::NAN, 1.0), (2.0, f64::INFINITY)]).is_none());
    }

    #[test]
    fn halves_see_growth_that_stopped() {
        let p: Vec<(f64, f64)> = (0..40).map(|i| (i as f64, (i.min(20)) as f64)).collect();
        let (early, late) = halves(&p).unwrap();
        assert!(early > 0.9 && late.abs() < 1e-9, "{early} {late}");
    }
}
