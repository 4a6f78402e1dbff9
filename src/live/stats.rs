//! Figures of a capture: growth of the post-GC heap per request (Theil–Sen slope with Sen's
//! confidence interval) and latency percentiles. Pure: no IO.

use super::format::{Checkpoint, Latency, Slope};

/// Theil–Sen slope of `(x, y)` points with its 95 % confidence interval (Sen 1968: the
/// interval between two order statistics of the pairwise slopes, from the variance of
/// Kendall's S). `None` with fewer than two distinct x.
pub fn theil_sen_interval(points: &[(f64, f64)]) -> Option<(f64, f64, f64)> {
    let mut slopes = Vec::new();
    for i in 0..points.len() {
        for j in i + 1..points.len() {
            let dx = points[j].0 - points[i].0;
            if dx.abs() > 0.0 {
                slopes.push((points[j].1 - points[i].1) / dx);
            }
        }
    }
    if slopes.is_empty() {
        return None;
    }
    slopes.sort_by(|a, b| a.total_cmp(b));
    let m = slopes.len();
    let median = if m % 2 == 1 {
        slopes[m / 2]
    } else {
        (slopes[m / 2 - 1] + slopes[m / 2]) / 2.0
    };
    let n = points.len() as f64;
    let c = 1.96 * (n * (n - 1.0) * (2.0 * n + 5.0) / 18.0).sqrt();
    // 1-based ranks of the interval's ends: M1 = (m - c) / 2 and M2 + 1 = (m + c) / 2 + 1.
    let lo_rank = ((m as f64 - c) / 2.0).floor().max(1.0) as usize;
    let hi_rank = (((m as f64 + c) / 2.0).ceil() as usize + 1).min(m);
    Some((median, slopes[lo_rank - 1], slopes[hi_rank - 1]))
}

/// Growth of the post-GC heap per request across checkpoints, from the first checkpoint with
/// a snapshot on (the requests before it are the warm-up: module loading, JIT, caches filling
/// once). Checkpoints without a request count are skipped; `None` with fewer than two.
pub fn bytes_per_request(checkpoints: &[Checkpoint]) -> Option<Slope> {
    let warm = checkpoints
        .iter()
        .find(|c| c.snapshot.is_some())
        .and_then(|c| c.requests)
        .unwrap_or(0);
    let points: Vec<(f64, f64)> = checkpoints
        .iter()
        .filter_map(|c| Some((c.requests?, c.heap_used_bytes)))
        .filter(|&(r, _)| r >= warm)
        .map(|(r, h)| (r as f64, h as f64))
        .collect();
    let (value, low, high) = theil_sen_interval(&points)?;
    Some(Slope {
        value,
        low,
        high,
        method: format!(
            "post-GC heap used, Theil-Sen over {} checkpoints from {warm} requests on (95 % interval: Sen)",
            points.len()
        ),
        points: points.len(),
    })
}

/// Latency percentiles (nearest rank) of durations in microseconds; `None` when empty.
pub fn latency(mut micros: Vec<u32>) -> Option<Latency> {
    if micros.is_empty() {
        return None;
    }
    micros.sort_unstable();
    let n = micros.len();
    let at = |p: f64| {
        let rank = ((p / 100.0) * n as f64).ceil().max(1.0) as usize;
        f64::from(micros[rank.min(n) - 1]) / 1000.0
    };
    Some(Latency {
        p50: at(50.0),
        p90: at(90.0),
        p99: at(99.0),
        max: f64::from(micros[n - 1]) / 1000.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp(requests: u64, heap: u64, snap: bool) -> Checkpoint {
        Checkpoint {
            requests: Some(requests),
            seconds: requests as f64 / 1000.0,
            heap_used_bytes: heap,
            heap_total_bytes: heap * 2,
            rss_bytes: heap * 4,
            external_bytes: 0,
            snapshot: snap.then(|| format!("s{requests}.heapsnapshot")),
            array_buffers_bytes: None,
            snapshot_bytes: None,
            gc_ms: 0.0,
            snapshot_ms: None,
            pause_ms: 0.0,
        }
    }

    #[test]
    fn exact_line_has_a_point_interval() {
        let pts: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 3.0 * i as f64 + 7.0)).collect();
        assert_eq!(theil_sen_interval(&pts), Some((3.0, 3.0, 3.0)));
        assert_eq!(theil_sen_interval(&[(1.0, 2.0)]), None);
        assert_eq!(theil_sen_interval(&[(1.0, 2.0), (1.0, 3.0)]), None);
    }

    #[test]
    fn interval_contains_the_estimate_and_widens_with_noise() {
        let noise = [0.0, 40.0, -30.0, 10.0, -50.0, 25.0, 5.0, -20.0, 45.0, -10.0];
        let pts: Vec<(f64, f64)> = (0..10)
            .map(|i| (i as f64 * 100.0, i as f64 * 100.0 * 2.0 + noise[i]))
            .collect();
        let (v, lo, hi) = theil_sen_interval(&pts).unwrap();
        assert!(lo < v && v < hi, "{lo} {v} {hi}");
        assert!((v - 2.0).abs() < 0.2, "{v}");
    }

    #[test]
    fn warm_up_before_the_first_snapshot_is_left_out() {
        // A service that grows 1 MiB while warming up, then stays flat.
        let cps = vec![
            cp(0, 5_000_000, false),
            cp(100, 6_000_000, false),
            cp(300, 6_048_576, true),
            cp(600, 6_048_000, false),
            cp(900, 6_049_000, false),
            cp(1500, 6_048_576, true),
            cp(3000, 6_048_700, true),
        ];
        let s = bytes_per_request(&cps).unwrap();
        assert_eq!(s.points, 5);
        assert!(s.value.abs() < 1.0, "{s:?}");
        assert!(s.method.contains("from 300 requests"), "{}", s.method);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let l = latency((1..=100).map(|i| i * 1000).collect()).unwrap();
        assert_eq!((l.p50, l.p90, l.p99, l.max), (50.0, 90.0, 99.0, 100.0));
        assert_eq!(latency(Vec::new()), None);
    }
}
