//! "Lessons Learned": what helped, what to improve, and the preventive measures. Alerts and
//! the dashboard are generated files, not deployed monitoring, so they are listed as
//! proposals and never ticked.

use super::{NA, loc_text};
use crate::report::alerts::{self, AlertConfig};
use crate::report::facts::{Facts, PatternKind};
use crate::report::model::{Check, LessonsLearned};
use crate::report::patterns;

pub fn lessons(f: &Facts, cfg: &AlertConfig) -> LessonsLearned {
    let ev = f.ev;
    let mut well = Vec::new();
    if let Some(g) = f.top_leak() {
        well.push(format!(
            "Heap snapshots located the leak: {} at {} with its retainer path.",
            g.pattern.id(),
            loc_text(&g.finding)
        ));
    }
    if f.per_request.is_some() {
        well.push("A load test with request counts measured the growth per request.".into());
    }
    if let Some(g) = &ev.gc {
        well.push(format!(
            "The `--trace-gc` log gave the post-GC heap ({} GC events).",
            g.view.events
        ));
    }
    if ev.metrics.is_some() {
        well.push("Prometheus metrics showed the memory over time.".into());
    }
    if ev.python.iter().any(|p| !p.view.findings.is_empty()) {
        well.push("The Python profile pointed at the leaking lines.".into());
    }
    if well.is_empty() {
        well.push(format!(
            "{NA}the evidence given says nothing about how the investigation went"
        ));
    }
    let mut improve = Vec::new();
    if ev.metrics.is_none() {
        improve.push("No Prometheus data was given: scrape the service (prom-client) so growth is seen before it becomes an incident.".into());
    } else {
        improve.push("No alert fired on the growth before the investigation: review and deploy the proposed MemoryGrowth alert.".into());
    }
    if ev.snapshots.is_empty() && ev.leaks.is_none() {
        improve.push("No heap snapshots were given: enable `--heapsnapshot-signal=SIGUSR2` (or `--heapsnapshot-near-heap-limit=3`) so they can be taken in production.".into());
    }
    if f.limit.is_none() {
        improve.push("The memory limit is not known: set `--max-old-space-size` explicitly and give it to memsleuth (--memory-limit) so the time to OOM can be projected.".into());
    }
    if f.comparisons.iter().any(|c| !c.agrees) {
        improve.push("The growth sources disagree (see \"Growth by source\"): measure over one window, under steady load, with request counts.".into());
    }
    let limit_known = cfg.heap_limit_bytes.is_some();
    let monitoring = vec![
        Check {
            checked: false,
            text: format!(
                "Alert: Memory growth >{} MiB/h for >{} (proposed: MemoryGrowth in alerts.rules.yml, not deployed)",
                alerts::num(cfg.growth_mb_per_hour),
                cfg.for_duration
            ),
        },
        Check {
            checked: false,
            text: if limit_known {
                format!(
                    "Alert: Heap usage >{}% of limit (proposed: HeapNearLimit and MemoryExhaustionPredicted in alerts.rules.yml, not deployed)",
                    alerts::num(alerts::NEAR_LIMIT_RATIO * 100.0)
                )
            } else {
                "Alert: Heap usage >90% of limit (not proposed: no memory limit known; give --memory-limit)".into()
            },
        },
        Check {
            checked: false,
            text: "Dashboard: Memory trend visualization (proposed: grafana-dashboard.json, not imported)".into(),
        },
        Check {
            checked: false,
            text: "Alert: Connection pool saturation >80% (not proposed: prom-client has no pool metric; export one if the service uses a pool)".into(),
        },
        Check {
            checked: false,
            text: format!(
                "Alert: GC pause p95 >{} ms (proposed: GCPauseHigh in alerts.rules.yml, not deployed)",
                alerts::num(alerts::GC_PAUSE_P95_SECONDS * 1000.0)
            ),
        },
    ];
    let concerned: Vec<usize> = f
        .leaks
        .iter()
        .filter_map(|g| patterns::checklist_index(g.pattern))
        .collect();
    let items = [
        "Event listeners properly cleaned up",
        "Database connections closed",
        "Timers/intervals cleared",
        "Large datasets processed with streaming/chunking",
    ];
    let review_checklist = items
        .iter()
        .enumerate()
        .map(|(i, t)| Check {
            checked: false,
            text: if concerned.contains(&i) {
                format!("{t} (this leak: add it to the checklist)")
            } else {
                (*t).to_string()
            },
        })
        .collect();
    let pat = f.top_leak().map(|g| g.pattern);
    let testing_standards = vec![
        Check {
            checked: false,
            text: if pat == Some(PatternKind::EventListener) {
                "Memory leak tests for event listeners (one is proposed above for this leak)".into()
            } else {
                "Memory leak tests for event listeners".into()
            },
        },
        Check {
            checked: false,
            text: "Load tests with memory monitoring (`memsleuth capture`, or memsleuth report on snapshots taken during the load test)".into(),
        },
        Check {
            checked: false,
            text: if pat == Some(PatternKind::UnclosedConnection) {
                "CI/CD checks for connection cleanup (one is proposed above for this leak)".into()
            } else {
                "CI/CD checks for connection cleanup (`memsleuth leaks --fail-on-leak` in CI)".into()
            },
        },
    ];
    LessonsLearned {
        went_well: well,
        could_improve: improve,
        monitoring,
        review_checklist,
        testing_standards,
    }
}
