//! "Incident Timeline": the dated events of the evidence (growth first seen, load, snapshots,
//! OOM crashes), on wall-clock time where the evidence places them, then the fix rows the
//! evidence cannot fill.

use super::{NA, loc_text};
use crate::report::facts::{Clock, Facts};
use crate::report::model::{Timeline, TimelineRow};
use crate::report::patterns;
use crate::report::words::{self, code};

/// A time on `clock` in words: wall-clock when placed, else on its own clock.
fn when(f: &Facts, clock: Clock, t: f64) -> (Option<f64>, String) {
    if let Some(u) = f.clocks.to_unix(clock, t) {
        return (Some(u), words::datetime(words::unix_i(u)));
    }
    let text = match clock {
        Clock::Unix => words::datetime(words::unix_i(t)),
        Clock::HostLocal => format!("{} (host local time)", words::datetime(words::unix_i(t))),
        Clock::Uptime => format!("+{} (process uptime)", words::duration(t.max(0.0))),
        Clock::Load => format!("+{} (since the load started)", words::duration(t.max(0.0))),
    };
    (None, text)
}

pub fn timeline(f: &Facts) -> Timeline {
    let mut rows: Vec<(Option<f64>, TimelineRow)> = Vec::new();
    let dash = "—".to_string();
    // Detection: where the headline's window starts.
    match (f.headline_source(), &f.headline) {
        (Some(s), Some(h)) if s.window.is_some() => {
            let (t0, _) = s.window.unwrap_or((0.0, 0.0));
            let (u, text) = when(f, s.clock, t0);
            rows.push((
                u,
                TimelineRow {
                    time: text,
                    event: "Detection".into(),
                    details: format!(
                        "start of the {} window: it grows {} over {} (verdict {})",
                        s.label,
                        words::rate(h.rate.per_hour),
                        words::duration(s.span_s),
                        code(h.verdict.as_str())
                    ),
                },
            ));
        }
        _ => rows.push((
            None,
            TimelineRow {
                time: dash.clone(),
                event: "Detection".into(),
                details: format!(
                    "{NA}no dated growth evidence (a capture, a Prometheus range or a --trace-gc log dates it)"
                ),
            },
        )),
    }
    if let Some(l) = &f.load {
        let (u, text) = when(f, Clock::Load, 0.0);
        rows.push((
            u,
            TimelineRow {
                time: text,
                event: "Load started".into(),
                details: format!(
                    "capture: {}{}{}",
                    l.requests_per_second
                        .map(|r| format!("{} requests/s", words::num(r)))
                        .unwrap_or_else(|| "requests".into()),
                    l.concurrency
                        .map(|c| format!(", concurrency {c}"))
                        .unwrap_or_default(),
                    l.url
                        .as_ref()
                        .map(|u| format!(" to {}", code(u)))
                        .unwrap_or_default()
                ),
            },
        ));
    }
    for (i, s) in f.snapshots.iter().enumerate() {
        let (u, text) = match (s.unix, s.load_seconds, s.name_time) {
            (Some(u), _, _) => (Some(u), words::datetime(words::unix_i(u))),
            (None, Some(t), _) => when(f, Clock::Load, t),
            (None, None, Some(t)) => when(f, Clock::HostLocal, t as f64),
            _ => (None, "time not in the evidence".to_string()),
        };
        let last = i + 1 == f.snapshots.len();
        let event = if i == 0 {
            "Investigation started".to_string()
        } else if last && !f.leaks.is_empty() {
            "Root cause identified".to_string()
        } else {
            format!("Snapshot {}", i + 1)
        };
        let mut details = format!(
            "heap snapshot {} of {}: {}",
            i + 1,
            f.snapshots.len(),
            code(crate::report::facts::base_name(&s.file))
        );
        if let Some(r) = s.requests {
            details.push_str(&format!(", after {} requests", words::count(r)));
        }
        if last && let Some(g) = f.top_leak() {
            details.push_str(&format!("; {} at {}", g.pattern.id(), loc_text(&g.finding)));
        }
        rows.push((
            u,
            TimelineRow {
                time: text,
                event,
                details,
            },
        ));
    }
    if f.snapshots.is_empty() {
        rows.push((
            None,
            TimelineRow {
                time: dash.clone(),
                event: "Investigation started".into(),
                details: format!("{NA}no heap snapshots given"),
            },
        ));
    }
    for i in &f.incidents {
        rows.push((
            i.unix,
            TimelineRow {
                time: match (i.unix, &i.time_text) {
                    (Some(u), _) => words::datetime(words::unix_i(u)),
                    (None, Some(t)) => t.clone(),
                    (None, None) => dash.clone(),
                },
                event: if i.kind.is_oom() {
                    "Out of memory".into()
                } else {
                    "Restart".into()
                },
                details: super::summary::incident_text(i),
            },
        ));
    }
    if let Some(l) = &f.load {
        let (u, text) = when(f, Clock::Load, l.seconds);
        rows.push((
            u,
            TimelineRow {
                time: text,
                event: "Load ended".into(),
                details: format!(
                    "last checkpoint: {} requests sent",
                    words::count(l.requests_total)
                ),
            },
        ));
    }
    if f.snapshots.len() < 2 || f.leaks.is_empty() {
        rows.push((
            None,
            TimelineRow {
                time: dash.clone(),
                event: "Root cause identified".into(),
                details: match f.top_leak() {
                    Some(g) => {
                        format!("{} at {}", patterns::label(g.pattern), loc_text(&g.finding))
                    }
                    None if f.ev.leaks.is_some() => {
                        "no leaked object group found in the snapshots".into()
                    }
                    None => format!("{NA}no heap snapshot analysis in the evidence"),
                },
            },
        ));
    }
    // Dated rows in time order when every dated row is on wall-clock time; the rest keep
    // the evidence's order.
    if rows.iter().all(|(u, r)| u.is_some() || r.time == dash) {
        rows.sort_by(|a, b| match (a.0, b.0) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
    }
    let mut rows: Vec<TimelineRow> = rows.into_iter().map(|(_, r)| r).collect();
    for (event, what) in [
        (
            "Fix implemented",
            "no fix in the evidence; the fix is proposed in \"Fix Implementation\"",
        ),
        ("Fix deployed", "no deployment in the evidence"),
        (
            "Validation complete",
            "not yet: run memsleuth report on evidence taken after the fix",
        ),
    ] {
        rows.push(TimelineRow {
            time: dash.clone(),
            event: event.into(),
            details: what.into(),
        });
    }
    let mut clocks: Vec<String> = Vec::new();
    let wall = f.sources.iter().any(|s| f.clocks.offset(s.clock).is_some())
        || f.snapshots.iter().any(|s| s.unix.is_some());
    if wall {
        clocks.push("wall-clock times are UTC".into());
    }
    if f.clocks.load.is_some() {
        clocks.push("the capture's start (`started_at`) dates its checkpoints".into());
    }
    if f.clocks.host_local.is_some() {
        clocks.push(format!(
            "snapshot file names are in the host's local time (UTC{}), placed by the capture's checkpoints",
            utc_offset(f.clocks.host_local.unwrap_or(0.0))
        ));
    } else if f
        .snapshots
        .iter()
        .any(|s| s.name_time.is_some() && s.unix.is_none())
    {
        clocks.push("snapshot times come from their file names (the host's local time)".into());
    }
    if f.ev.gc.is_some() {
        clocks.push(if f.clocks.uptime.is_some() {
            "the GC log counts process uptime, placed on wall-clock time by the full GCs V8 ran for each snapshot".into()
        } else {
            "the GC log counts process uptime".into()
        });
    }
    Timeline {
        rows,
        note: if clocks.is_empty() {
            "No evidence given carries a time; \"—\" marks what the evidence does not show.".into()
        } else {
            format!(
                "{}; \"—\" marks what the evidence does not show.",
                super::upper_first(&clocks.join("; "))
            )
        },
    }
}

/// `+02:00` style offset of a host's local time (local = UTC + offset).
fn utc_offset(unix_minus_local: f64) -> String {
    let off = -unix_minus_local;
    let sign = if off < 0.0 { '-' } else { '+' };
    let m = (off.abs() / 60.0).round() as i64;
    format!("{sign}{:02}:{:02}", m / 60, m % 60)
}
