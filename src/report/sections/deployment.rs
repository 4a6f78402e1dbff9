//! "Deployment and Results": the before-fix figures (the headline source), and what the
//! evidence cannot say yet about after the fix.

use super::{NA, source_rate_text};
use crate::report::alerts::AlertConfig;
use crate::report::facts::Facts;
use crate::report::grafana;
use crate::report::model::{DeploymentAndResults, Field};
use crate::report::words;

pub fn deployment(f: &Facts, cfg: &AlertConfig) -> DeploymentAndResults {
    let mut before = match f.headline_source() {
        Some(s) if s.fitted.len() >= 2 => {
            let a = s.fitted[0];
            let b = s.fitted[s.fitted.len() - 1];
            vec![
                Field {
                    label: "Memory baseline".into(),
                    value: format!("{} ({}, first point)", words::bytes(a.1), s.label),
                },
                Field {
                    label: format!("Memory after {}", words::duration(b.0 - a.0)),
                    value: format!("{} ({}, last point)", words::bytes(b.1), s.label),
                },
                Field {
                    label: "Growth rate".into(),
                    value: format!("{}{}", source_rate_text(s), super::too_short_note(s)),
                },
            ]
        }
        _ => vec![
            Field {
                label: "Memory baseline".into(),
                value: format!("{NA}no growth series in the evidence"),
            },
            Field {
                label: "Growth rate".into(),
                value: format!("{NA}no growth series in the evidence"),
            },
        ],
    };
    before.push(Field {
        label: "OOM incidents".into(),
        value: if f.oom_seen() {
            format!("{} in the evidence", words::count(f.oom_count()))
        } else if f.ev.gc.is_some() || !f.ev.app_logs.is_empty() {
            "0 in the logs given".into()
        } else {
            format!("{NA}no GC log or application log given")
        },
    });
    let after_na = format!(
        "{NA}no evidence from after a fix was given (run memsleuth report on new evidence after deploying it)"
    );
    let na_field = |label: &str| Field {
        label: label.into(),
        value: after_na.clone(),
    };
    DeploymentAndResults {
        environment: format!("{NA}no deployment in the evidence"),
        deployment_time: format!("{NA}no deployment in the evidence"),
        rollout: format!(
            "{NA}no deployment in the evidence (suggested: canary, watching the MemoryGrowth alert)"
        ),
        before_fix: before,
        after_fix: vec![
            na_field("Memory baseline"),
            na_field("Growth rate"),
            na_field("OOM incidents"),
        ],
        improvement: vec![
            na_field("Memory reduction"),
            na_field("OOM elimination"),
            na_field("GC pressure"),
        ],
        dashboard_link: format!(
            "grafana-dashboard.json in this report's folder (proposed, uid {}; import it into Grafana, the URL depends on your Grafana)",
            grafana::dashboard_uid(&cfg.service)
        ),
        key_panels: vec![
            Field {
                label: "Heap usage trend".into(),
                value: "panels \"Memory used (heap)\" and \"Memory growth\": growth should drop to about 0 MiB/h after the fix".into(),
            },
            Field {
                label: "GC pause duration".into(),
                value: "panel \"GC pause p95\": should fall as the heap stops growing".into(),
            },
            Field {
                label: "Error rate".into(),
                value: "panel \"Resident set size (RSS)\": restarts from OOM show as drops; prom-client has no OOM counter".into(),
            },
        ],
    }
}
