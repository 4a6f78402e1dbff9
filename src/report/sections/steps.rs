//! "Investigation Steps": the tools used, the snapshots, what grew between them (by retained
//! size, with what holds the bytes), the top consumers, and the retainer path.

use super::{
    NA, edge_text, group_added_text, group_size_text, loc_text, path_one_line, plural_for,
};
use crate::report::facts::{Facts, LeakGroup};
use crate::report::model::{Check, Consumer, GrowthRow, InvestigationSteps, SnapshotRow};
use crate::report::patterns;
use crate::report::words::{self, code};

/// How many consumers the template's list asks for.
pub const TOP_N: usize = 3;

/// What the leaked units keep alive, when the finder says (contract C2 `keeps`):
/// `` each keeps `table` → `Array` (8.0 KiB retained) ``.
pub fn keeps_text(g: &LeakGroup) -> Option<String> {
    let k = &g.finding.keeps;
    if k.is_empty() {
        return None;
    }
    let chain: Vec<String> = k
        .iter()
        .map(|s| {
            let edge = match s.edge_type.as_str() {
                "element" => format!("[{}]", s.edge),
                "internal" | "hidden" => format!("({})", s.edge),
                _ => s.edge.clone(),
            };
            format!(
                "{} → {} ({} retained)",
                code(&edge),
                code(&s.class),
                words::bytes(s.retained_bytes as f64)
            )
        })
        .collect();
    Some(format!("each {} keeps {}", g.unit, chain.join(", ")))
}

/// The retainer path in the template's arrow style.
pub fn path_arrows(g: &LeakGroup) -> Vec<String> {
    let f = &g.finding;
    let mut lines = Vec::new();
    let Some(first) = f.retainer_path.first() else {
        return vec!["(no retainer path in the evidence)".into()];
    };
    lines.push(first.holder.clone());
    let last = g.per_snapshot.last().copied().unwrap_or(g.count);
    for (i, step) in f.retainer_path.iter().enumerate() {
        let next = f
            .retainer_path
            .get(i + 1)
            .map(|s| s.holder.clone())
            .unwrap_or_else(|| {
                format!(
                    "{} ×{} (leaked {})",
                    f.class,
                    words::count(last),
                    crate::report::text::plain(&plural_for(g, last))
                )
            });
        let mark = if step.suspect { "   ← suspect" } else { "" };
        let times = if step.repeat > 1 {
            format!(" (this step repeats ×{})", step.repeat)
        } else {
            String::new()
        };
        lines.push(format!(
            "{}→ {}  {}{}{}",
            "  ".repeat(i + 1),
            edge_text(step),
            next,
            times,
            mark
        ));
    }
    lines
}

pub fn steps(f: &Facts) -> InvestigationSteps {
    let ev = f.ev;
    let has_snapshots = !ev.snapshots.is_empty() || ev.leaks.is_some();
    let py_sources: Vec<&str> = ev.python.iter().map(|p| p.view.source.as_str()).collect();
    let scalene = py_sources.iter().any(|s| s.eq_ignore_ascii_case("scalene"));
    let mut others: Vec<String> = py_sources
        .iter()
        .filter(|s| !s.eq_ignore_ascii_case("scalene"))
        .map(|s| s.to_string())
        .collect();
    if ev.capture.is_some() {
        others.push("a load test with checkpoints (capture.json)".into());
    }
    let tools = vec![
        Check {
            checked: has_snapshots,
            text: if has_snapshots {
                "Chrome DevTools heap snapshots (analysed with memsleuth leaks)".into()
            } else {
                "Chrome DevTools heap snapshots (none given)".into()
            },
        },
        Check {
            checked: ev.gc.is_some(),
            text: "Node.js `--trace-gc` logs".into(),
        },
        Check {
            checked: scalene,
            text: "Python Scalene profiling".into(),
        },
        Check {
            checked: ev.metrics.is_some(),
            text: "Prometheus metrics".into(),
        },
        Check {
            checked: !ev.app_logs.is_empty(),
            text: if ev.app_logs.is_empty() {
                "Application logs (none given)".into()
            } else {
                format!(
                    "Application logs ({})",
                    ev.app_logs
                        .iter()
                        .map(|a| code(a))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        },
        Check {
            checked: true,
            text: if others.is_empty() {
                "Other: memsleuth".to_string()
            } else {
                format!("Other: memsleuth, {}", others.join(", "))
            },
        },
    ];
    let snapshots: Vec<SnapshotRow> = f
        .snapshots
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut time = match (s.unix, s.name_time) {
                (Some(u), _) => format!("{} UTC", words::datetime(words::unix_i(u))),
                (None, Some(t)) => format!(
                    "{} (from the file name, host local time)",
                    words::datetime(t)
                ),
                _ => "time not in the evidence (the file name carries no date)".into(),
            };
            if let Some(r) = s.requests {
                time.push_str(&format!(", after {} requests", words::count(r)));
            }
            let size = match (s.total_bytes, s.nodes, s.file_bytes) {
                (Some(b), Some(n), _) => {
                    format!(
                        "{} heap ({} objects)",
                        words::bytes(b as f64),
                        words::count(n)
                    )
                }
                (Some(b), None, _) => format!("{} heap", words::bytes(b as f64)),
                (None, _, Some(b)) => format!("{} file", words::bytes(b as f64)),
                _ => "size not in the evidence".into(),
            };
            SnapshotRow {
                index: i + 1,
                time,
                size,
                file: s.file.clone(),
            }
        })
        .collect();
    let snapshots_note = if f.snapshots.is_empty() {
        Some(format!(
            "{NA}no heap snapshots given (take 3 a few minutes apart: `node --heapsnapshot-signal=SIGUSR2` and `kill -USR2 <pid>`)"
        ))
    } else if ev.leaks.is_none() {
        Some("The snapshots were given but not analysed in this build (see the notes in \"Evidence used\").".into())
    } else {
        None
    };
    let method = if ev.leaks.is_some() {
        "memsleuth leaks: objects allocated after the first snapshot and still alive in the last (DevTools' Comparison view by object id), grouped by retainer path, sized by what they retain".to_string()
    } else {
        format!("{NA}no snapshot comparison in the evidence")
    };
    let growing: Vec<GrowthRow> = f
        .leaks
        .iter()
        .map(|g| {
            let mut text = group_added_text(g);
            if let Some(k) = keeps_text(g) {
                text.push_str(&format!("; {k}"));
            }
            GrowthRow {
                class: g.class.clone(),
                context: format!("{} at {}", g.pattern.id(), loc_text(&g.finding)),
                instances_delta: g.added,
                retained_bytes_delta: g.added_bytes,
                text,
            }
        })
        .collect();
    let growing_note = if growing.is_empty() {
        Some(if ev.leaks.is_some() {
            "No object group grew between the snapshots: memsleuth leaks found no leak.".into()
        } else {
            format!("{NA}no snapshot comparison in the evidence")
        })
    } else {
        None
    };
    let mut by_retained: Vec<&LeakGroup> = f.leaks.iter().collect();
    by_retained.sort_by_key(|g| std::cmp::Reverse(g.retained_bytes));
    let top_consumers: Vec<Consumer> = by_retained
        .iter()
        .take(TOP_N)
        .enumerate()
        .map(|(i, g)| Consumer {
            rank: i + 1,
            class: g.class.clone(),
            retained_bytes: g.retained_bytes,
            text: format!(
                "{} ({}): {} retained by {} leaked {}",
                g.class,
                g.pattern.id(),
                words::bytes(g.retained_bytes as f64),
                words::count(g.count),
                crate::report::text::plain(&plural_for(g, g.count))
            ),
            path: path_one_line(&g.finding),
        })
        .collect();
    let top_consumers_note = if top_consumers.len() < TOP_N {
        Some(if ev.leaks.is_none() {
            format!("{NA}no snapshot comparison in the evidence")
        } else if top_consumers.is_empty() {
            "No leaked group, so no leaking consumer to list (`memsleuth summary SNAPSHOT` lists the largest objects of a snapshot).".into()
        } else {
            format!(
                "Only {} listed: the snapshots show {} leaked group(s); the rest of the heap did not grow between them (`memsleuth summary SNAPSHOT` lists the largest objects overall).",
                top_consumers.len(),
                f.leaks.len()
            )
        })
    } else {
        None
    };
    let (leaked_object, retainer_path, why) = match f.top_leak() {
        Some(g) => (
            format!(
                "{} ({}): {}",
                code(&g.class),
                g.pattern.id(),
                group_size_text(g)
            ),
            path_arrows(g),
            patterns::why_not_collected(g, &code(&path_one_line(&g.finding))),
        ),
        None => (
            format!("{NA}no leaked object group in the evidence"),
            vec!["(no retainer path: no leak finding in the evidence)".to_string()],
            format!("{NA}no leaked object to explain"),
        ),
    };
    InvestigationSteps {
        tools_used: tools,
        snapshots,
        snapshots_note,
        method,
        growing,
        growing_note,
        top_consumers,
        top_consumers_note,
        leaked_object,
        retainer_path,
        why_not_collected: why,
    }
}
