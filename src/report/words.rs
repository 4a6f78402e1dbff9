//! How a figure is written, once for the whole report: sizes and rates in binary units
//! (`crate::units`), counts with thousands separators, durations in words, times from the
//! evidence. The same number always reads the same in every section and format, because
//! every section writes it through these functions.

use crate::units;

/// Bytes: `512 B`, `8.1 KiB`, `13.3 MiB`, `1.52 GiB`.
pub fn bytes(b: f64) -> String {
    units::bytes(b)
}

/// A signed size change: `+13.3 MiB`.
pub fn bytes_delta(b: f64) -> String {
    units::bytes_delta(b)
}

/// A growth rate in bytes per hour: `562 MiB/h`.
pub fn rate(bytes_per_hour: f64) -> String {
    units::rate_per_hour(bytes_per_hour)
}

/// A rate with its interval: `562 MiB/h (95% interval 540 MiB/h to 580 MiB/h)`.
pub fn rate_with_interval(per_hour: f64, low: Option<f64>, high: Option<f64>) -> String {
    match (low, high) {
        // an interval that reads the same as the figure says nothing
        (Some(l), Some(h))
            if l.is_finite()
                && h.is_finite()
                && (rate(l) != rate(per_hour) || rate(h) != rate(per_hour)) =>
        {
            format!(
                "{} (95% interval {} to {})",
                rate(per_hour),
                rate(l),
                rate(h)
            )
        }
        _ => rate(per_hour),
    }
}

/// Bytes per request: `8.2 KiB per request`.
pub fn per_request(b: f64) -> String {
    format!("{} per request", bytes(b))
}

/// A count, digits only (`1800`): the way the analysis commands write counts in their own
/// sentences, so a count quoted from them reads the same as the report's.
pub fn count(n: u64) -> String {
    n.to_string()
}

/// A signed count: `+1620`, `-3`, `0`.
pub fn count_delta(n: i64) -> String {
    match n.cmp(&0) {
        std::cmp::Ordering::Greater => format!("+{}", count(n as u64)),
        std::cmp::Ordering::Less => format!("-{}", count(n.unsigned_abs())),
        std::cmp::Ordering::Equal => "0".into(),
    }
}

/// A plain number with a sensible precision: `1234`, `12.3`, `1.23`.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    let a = x.abs();
    if a >= 1000.0 {
        format!("{x:.0}")
    } else if a >= 10.0 || a == 0.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// A duration in words: `42 s`, `5.2 minutes`, `3.1 hours`, `2.0 days`.
pub fn duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "n/a".into();
    }
    if secs < 120.0 {
        format!("{secs:.0} s")
    } else if secs < 2.0 * 3600.0 {
        format!("{:.1} minutes", secs / 60.0)
    } else if secs < 48.0 * 3600.0 {
        format!("{:.1} hours", secs / 3600.0)
    } else {
        format!("{:.1} days", secs / 86400.0)
    }
}

/// `YYYY-MM-DD HH:MM:SS` of a Unix time.
pub fn datetime(unix_s: i64) -> String {
    // years 0001..9999 only: anything else is not a real time (and would overflow the date math)
    if !(-62_135_596_800..=253_402_300_799).contains(&unix_s) {
        return format!("(invalid time {unix_s})");
    }
    let days = unix_s.div_euclid(86400);
    let secs = unix_s.rem_euclid(86400);
    let (y, m, d) = super::evidence::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// `HH:MM:SS` of a Unix time (for chart axes and the timeline, when the date is said once).
pub fn time_of_day(unix_s: i64) -> String {
    let d = datetime(unix_s);
    d.get(11..)
        .filter(|_| !d.starts_with('('))
        .unwrap_or(&d)
        .to_string()
}

/// `YYYY-MM-DD` of a Unix time.
pub fn date(unix_s: i64) -> String {
    let d = datetime(unix_s);
    d.get(..10)
        .filter(|_| !d.starts_with('('))
        .unwrap_or(&d)
        .to_string()
}

/// A Unix time given as seconds (fractions dropped), for [`datetime`].
pub fn unix_i(t: f64) -> i64 {
    if t.is_finite() {
        t.clamp(-9e15, 9e15).floor() as i64
    } else {
        i64::MIN
    }
}

/// Wraps evidence text in a Markdown code span that no content can break out of.
pub fn code(s: &str) -> String {
    super::patterns::code(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_the_same_everywhere() {
        assert_eq!(count(1800), "1800");
        assert_eq!(count(0), "0");
        assert_eq!(count_delta(1620), "+1620");
        assert_eq!(count_delta(-3), "-3");
        assert_eq!(duration(90.0), "90 s");
        assert_eq!(duration(3.0 * 3600.0), "3.0 hours");
        assert_eq!(datetime(0), "1970-01-01 00:00:00");
        assert!(datetime(i64::MAX).starts_with("(invalid"));
        assert!(date(i64::MIN).starts_with("(invalid"));
        assert_eq!(time_of_day(1795536048), "16:00:48");
        assert_eq!(num(1234.5), "1234");
        assert_eq!(num(1.2345), "1.23");
        assert_eq!(
            rate_with_interval(
                562.0 * units::MIB,
                Some(540.0 * units::MIB),
                Some(580.0 * units::MIB)
            ),
            "562 MiB/h (95% interval 540 MiB/h to 580 MiB/h)"
        );
    }
}
