//! The title block: service, date, investigator, severity.

use super::NA;
use crate::report::facts::Facts;
use crate::report::model::Header;
use crate::report::words;

/// The `job` the generated alerts match when the evidence does not name the service.
pub const UNKNOWN_SERVICE: &str = "unknown-service";

pub fn header(f: &Facts) -> Header {
    let ev = f.ev;
    Header {
        service: match (&f.service, f.service_from_label) {
            (None, _) => format!(
                "{NA}no --service given and no Prometheus job label (the alerts use job=\"{UNKNOWN_SERVICE}\": set --service to the service's job label)"
            ),
            (Some(s), false) => s.clone(),
            (Some(s), true) => format!("{s} (the job label in Prometheus)"),
        },
        date: f
            .latest_unix
            .map(|t| format!("{} (date of the latest evidence)", words::date(words::unix_i(t))))
            .unwrap_or_else(|| {
                format!("{NA}no evidence given carries a date (snapshot file names, Prometheus timestamps or a capture would)")
            }),
        investigator: ev
            .investigator
            .clone()
            .filter(|s| !s.trim().is_empty())
            .map(|s| format!("{s} (with memsleuth)"))
            .unwrap_or_else(|| "memsleuth (automated analysis; no --investigator given)".into()),
        severity: f.severity.level.name().to_string(),
        severity_reason: f.severity.reason.clone(),
    }
}
