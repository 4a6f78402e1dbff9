//! tracemalloc evidence: the text of `Snapshot.statistics()` and `Snapshot.compare_to()`
//! (`str()` of each statistic, or the documentation's `display_top` listing) and
//! `Snapshot.dump()` files. Several files are points in time, in the order given.
//!
//! A line leaks when its size grew at every point; one `compare_to` listing is two points
//! (size minus diff, size); one `statistics` listing is one point and shows sizes, not
//! growth. Sizes in the text are rounded (`12.5 MiB`); dumps are exact, and their tracebacks
//! let a line deep in the standard library be charged to the program's own line that called it.

use super::pickle;
use super::{PyFinding, PythonReport, is_library_path};
use crate::error::InputError;
use crate::units;
use std::collections::BTreeMap;

/// One statistic: where, bytes and blocks now, and the change when the text has it.
#[derive(Clone, Debug, PartialEq)]
pub struct Stat {
    pub file: String,
    pub line: u32,
    pub size: u64,
    pub count: Option<u64>,
    pub size_diff: Option<i64>,
}

fn parse_size(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, unit) = s.split_once(' ')?;
    let v: f64 = num.trim_start_matches('+').parse().ok()?;
    let m = match unit.trim() {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1048576.0,
        "GiB" => 1073741824.0,
        "TiB" => 1099511627776.0,
        _ => return None,
    };
    Some(v * m)
}

/// `file:line` from the right (a file name may hold a colon).
fn split_frame(s: &str) -> Option<(String, u32)> {
    let (file, line) = s.trim().rsplit_once(':')?;
    let line: u32 = line.trim().parse().ok()?;
    (!file.is_empty()).then(|| (file.to_string(), line))
}

/// One line of `str(Statistic)` / `str(StatisticDiff)`:
/// `file:12: size=12.5 MiB (+6406 KiB), count=401 (+200), average=32.0 KiB`.
fn parse_stat_line(line: &str) -> Option<Stat> {
    let i = line.find(": size=")?;
    let (file, lineno) = split_frame(&line[..i])?;
    let rest = &line[i + ": size=".len()..];
    let (size_part, rest) = rest.split_once(", count=")?;
    let (size, size_diff) = match size_part.split_once(" (") {
        Some((s, d)) => (
            parse_size(s)?,
            Some(parse_size(d.trim_end_matches(')'))? as i64),
        ),
        None => (parse_size(size_part)?, None),
    };
    let count_part = rest.split(", average=").next()?;
    let count = count_part.split(" (").next()?.trim().parse().ok();
    Some(Stat {
        file,
        line: lineno,
        size: size as u64,
        count,
        size_diff,
    })
}

/// One line of the documentation's `display_top`: `#1: leaky.py:12: 12.5 KiB`.
fn parse_top_line(line: &str) -> Option<Stat> {
    let t = line.trim();
    let rest = t.strip_prefix('#')?;
    let (rank, rest) = rest.split_once(": ")?;
    rank.parse::<u32>().ok()?;
    let (frame, size) = rest.rsplit_once(": ")?;
    let (file, lineno) = split_frame(frame)?;
    Some(Stat {
        file,
        line: lineno,
        size: parse_size(size)? as u64,
        count: None,
        size_diff: None,
    })
}

/// True when `text` holds tracemalloc statistics.
pub fn is_text(text: &str) -> bool {
    text.lines()
        .take(200)
        .any(|l| parse_stat_line(l).is_some() || parse_top_line(l).is_some())
}

/// The statistics of one text file; lines that are not statistics (source lines, totals,
/// tracebacks) are skipped.
pub fn parse_text(name: &str, text: &str) -> Result<Vec<Stat>, InputError> {
    let stats: Vec<Stat> = text
        .lines()
        .filter_map(|l| parse_stat_line(l).or_else(|| parse_top_line(l)))
        .collect();
    if stats.is_empty() {
        return Err(InputError::whole(name, "no tracemalloc statistics in it"));
    }
    Ok(stats)
}

/// The statistics of a `Snapshot.dump()`, per line of the program: each trace is charged to
/// the innermost frame outside the standard library and installed packages (the allocating
/// frame when there is none).
pub fn parse_dump(name: &str, bytes: &[u8]) -> Result<Vec<Stat>, InputError> {
    let snap = pickle::load_snapshot(name, bytes)?;
    let mut per: BTreeMap<(String, u32), (u64, u64)> = BTreeMap::new();
    for t in &snap.traces {
        // Frames are stored most recent first.
        let Some(leaf) = t.frames.first() else {
            continue;
        };
        let f = t
            .frames
            .iter()
            .find(|f| !is_library_path(&f.0))
            .unwrap_or(leaf);
        let e = per.entry((f.0.clone(), f.1)).or_default();
        e.0 += t.size;
        e.1 += 1;
    }
    Ok(per
        .into_iter()
        .map(|((file, line), (size, count))| Stat {
            file,
            line,
            size,
            count: Some(count),
            size_diff: None,
        })
        .collect())
}

/// Ranks the lines of one or more tracemalloc files (points in time, in order).
pub fn analyze(inputs: &[(String, Vec<u8>)]) -> Result<PythonReport, InputError> {
    let mut points: Vec<Vec<Stat>> = Vec::new();
    let mut exact = true;
    for (name, bytes) in inputs {
        if pickle::is_pickle(bytes) {
            points.push(parse_dump(name, bytes)?);
        } else {
            let text = std::str::from_utf8(bytes)
                .map_err(|e| InputError::at_byte(name, e.valid_up_to() as u64, "not UTF-8 text"))?;
            points.push(parse_text(name, text)?);
            exact = false;
        }
    }
    // One compare_to listing holds two points: before (size - diff) and now.
    if points.len() == 1 && points[0].iter().all(|s| s.size_diff.is_some()) {
        let before: Vec<Stat> = points[0]
            .iter()
            .map(|s| Stat {
                size: (s.size as i64 - s.size_diff.unwrap_or(0)).max(0) as u64,
                ..s.clone()
            })
            .collect();
        points.insert(0, before);
    }
    let n = points.len();
    let mut series: BTreeMap<(String, u32), Vec<Option<u64>>> = BTreeMap::new();
    for (i, p) in points.iter().enumerate() {
        for s in p {
            let e = series
                .entry((s.file.clone(), s.line))
                .or_insert_with(|| vec![None; n]);
            e[i] = Some(e[i].unwrap_or(0) + s.size);
        }
    }
    let mut report = PythonReport::new(&inputs[0].0, "tracemalloc");
    let min_growth: u64 = 64 * 1024;
    for ((file, line), sizes) in series {
        let known: Vec<u64> = sizes.iter().flatten().copied().collect();
        let last = sizes.last().copied().flatten();
        let first = known.first().copied().unwrap_or(0);
        let (likelihood, leaked, evidence) = if n == 1 {
            (
                0.5,
                None,
                format!(
                    "tracemalloc: {} live; one snapshot shows sizes, not growth",
                    units::bytes_u64(last.unwrap_or(0))
                ),
            )
        } else {
            // A line missing from the first listing was below its cut: count it as new.
            let from = sizes[0].unwrap_or(0);
            let now = last.unwrap_or(0);
            let growth = now as i64 - from as i64;
            let steady = sizes.iter().all(|v| v.is_some() || sizes[0].is_none())
                && known.len() >= 2
                && known.windows(2).all(|w| w[1] > w[0])
                && last.is_some();
            let like = if steady && growth >= min_growth as i64 {
                if n >= 3 { 1.0 } else { 0.9 }
            } else if growth >= min_growth as i64 {
                0.4
            } else if growth > 0 {
                0.2
            } else {
                0.05
            };
            (
                like,
                Some(growth.max(0) as u64),
                format!(
                    "tracemalloc: {} -> {} over {n} snapshots{}",
                    units::bytes_u64(from),
                    units::bytes_u64(now),
                    if steady && growth > 0 {
                        ", grew at every one"
                    } else if growth > 0 {
                        ", not at every one"
                    } else {
                        ", no growth"
                    }
                ),
            )
        };
        let _ = first;
        report.findings.push(PyFinding {
            file,
            line: line as u64,
            code: None,
            leaked_bytes: leaked,
            allocated_bytes: None,
            likelihood,
            evidence,
            sizes: sizes.iter().map(|v| v.unwrap_or(0)).collect(),
        });
    }
    report.finish_findings();
    if n == 1 {
        report.notes.push(
            "one tracemalloc snapshot shows what is allocated, not what grows: compare two or more (`snap2.compare_to(snap1, 'lineno')`, or give several files in time order)".into(),
        );
    } else {
        let leaking = report
            .findings
            .iter()
            .filter(|f| f.likelihood >= 0.9)
            .count();
        report.verdict = Some(if leaking > 0 {
            if n >= 3 {
                crate::series::trend::Verdict::Leak
            } else {
                crate::series::trend::Verdict::Inconclusive
            }
        } else {
            crate::series::trend::Verdict::NoLeak
        });
        report.reason = Some(if leaking > 0 {
            format!(
                "{leaking} line(s) grew at every one of {n} snapshots{}",
                if n < 3 {
                    "; two points cannot tell steady growth from warm-up"
                } else {
                    ""
                }
            )
        } else {
            format!(
                "no line grew by {} or more at every snapshot",
                units::bytes_u64(min_growth)
            )
        });
    }
    if !exact {
        report.notes.push(
            "tracemalloc's text rounds sizes (12.5 MiB) and lists only the lines printed; dumps (`Snapshot.dump`) are exact".into(),
        );
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines() {
        let s = parse_stat_line(
            "/srv/demo/py/leaky.py:12: size=12.5 MiB (+6406 KiB), count=401 (+200), average=32.0 KiB",
        )
        .unwrap();
        assert_eq!(s.file, "/srv/demo/py/leaky.py");
        assert_eq!(s.line, 12);
        assert_eq!(s.size, (12.5 * 1048576.0) as u64);
        assert_eq!(s.size_diff, Some(6406 * 1024));
        assert_eq!(s.count, Some(401));
        let s = parse_stat_line("C:\\app\\x.py:3: size=152 B, count=1, average=152 B").unwrap();
        assert_eq!(s.file, "C:\\app\\x.py");
        assert_eq!(s.size_diff, None);
        let s = parse_top_line("#1: leaky.py:12: 12.5 KiB").unwrap();
        assert_eq!((s.line, s.size), (12, 12800));
        assert!(parse_stat_line("    LEAK_LIST.append(x)").is_none());
        assert!(parse_top_line("Total allocated size: 5.0 KiB").is_none());
    }
}
