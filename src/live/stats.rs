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

/// The first checkpoint after warm-up, where growth per request is measured from: the first
/// with a heap snapshot, or in a Python capture (probe checkpoints, no snapshots) the first
/// under load. `verify` measures its spans and baselines from the same checkpoint.
pub fn warm_checkpoint(checkpoints: &[Checkpoint]) -> Option<&Checkpoint> {
    let python = checkpoints.iter().any(|c| c.probe.is_some());
    checkpoints
        .iter()
        .find(|c| c.snapshot.is_some() || (python && c.requests.is_some_and(|r| r > 0)))
}

/// Growth of the post-GC heap per request across checkpoints, from the first checkpoint with
/// a snapshot on (the requests before it are the warm-up: module loading, JIT, caches filling
/// once). A Python capture (probe checkpoints, no snapshots) counts from its first checkpoint
/// under load, for the same reason (imports and caches on the first requests). Checkpoints
/// without a request count are skipped; `None` with fewer than two.
pub fn bytes_per_request(checkpoints: &[Checkpoint]) -> Option<Slope> {
    let python = checkpoints.iter().any(|c| c.probe.is_some());
    let warm = warm_checkpoint(checkpoints)
        .and_then(|c| c.requests)
        .unwrap_or(0);
    let what = if python {
        "bytes traced by tracemalloc after gc.collect()"
    } else {
        "post-GC heap used"
    };
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
            "{what}, Theil-Sen over {} checkpoints from {warm} requests on (95 % interval: Sen)",
            points.len()
        ),
        points: points.len(),
    })
}

/// Latencies in logarithmic buckets 1 % wide: at most ~18 KiB per load however many
/// requests it sends, percentiles within 1 % of the exact ones, the maximum exact.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Histogram {
    counts: Vec<u64>,
    n: u64,
    max_us: u32,
}

/// Width of a bucket: each is 1 % wider than the one before.
const GROWTH: f64 = 1.01;

impl Histogram {
    fn bucket(us: u32) -> usize {
        if us <= 1 {
            0
        } else {
            (f64::from(us).ln() / GROWTH.ln()).ceil() as usize
        }
    }

    /// The upper end of a bucket, microseconds.
    fn upper(b: usize) -> f64 {
        GROWTH.powi(b as i32)
    }

    /// Records one duration in microseconds.
    pub fn record(&mut self, us: u32) {
        let b = Self::bucket(us);
        if self.counts.len() <= b {
            self.counts.resize(b + 1, 0);
        }
        self.counts[b] += 1;
        self.n += 1;
        self.max_us = self.max_us.max(us);
    }

    /// Durations recorded.
    pub fn len(&self) -> u64 {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    pub fn merge(&mut self, other: &Histogram) {
        if self.counts.len() < other.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.n += other.n;
        self.max_us = self.max_us.max(other.max_us);
    }

    /// The nearest-rank percentile `p` (0-100), microseconds: the upper end of its bucket,
    /// never above the maximum.
    fn percentile(&self, p: f64) -> f64 {
        let rank = ((p / 100.0) * self.n as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Self::upper(b).min(f64::from(self.max_us));
            }
        }
        f64::from(self.max_us)
    }

    /// p50/p90/p99/max in milliseconds; `None` when empty.
    pub fn latency(&self) -> Option<Latency> {
        if self.n == 0 {
            return None;
        }
        Some(Latency {
            p50: self.percentile(50.0) / 1000.0,
            p90: self.percentile(90.0) / 1000.0,
            p99: self.percentile(99.0) / 1000.0,
            max: f64::from(self.max_us) / 1000.0,
        })
    }
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
            probe: None,
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
    fn percentiles_within_one_percent_and_exact_max() {
        let mut h = Histogram::default();
        for i in 1..=100u32 {
            h.record(i * 1000);
        }
        let mut other = Histogram::default();
        other.record(0);
        h.merge(&other);
        let l = h.latency().unwrap();
        for (got, want) in [(l.p50, 50.0), (l.p90, 90.0), (l.p99, 99.0)] {
            assert!(got >= want && got <= want * 1.01, "{got} vs {want}");
        }
        assert_eq!(l.max, 100.0);
        assert_eq!(h.len(), 101);
        assert_eq!(Histogram::default().latency(), None);
        // A huge duration fits too.
        h.record(u32::MAX);
        assert_eq!(h.latency().unwrap().max, f64::from(u32::MAX) / 1000.0);
    }
}
