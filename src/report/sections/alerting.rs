//! The generated alert rules and dashboard: their settings from the facts (service, memory
//! metric, threshold from the headline growth, limit), and the section listing them.

use super::header::UNKNOWN_SERVICE;
use crate::report::alerts::{self, AlertConfig};
use crate::report::facts::{Facts, Verdict};
use crate::report::grafana;
use crate::report::model::AlertsSection;
use crate::report::words;
use crate::units::MIB;

/// `x` rounded down to 1, 2 or 5 times a power of ten.
pub fn nice_floor(x: f64) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return 1.0;
    }
    let p = 10f64.powi(x.log10().floor() as i32);
    let m = x / p;
    let n = if m >= 5.0 {
        5.0
    } else if m >= 2.0 {
        2.0
    } else {
        1.0
    };
    n * p
}

pub fn config(f: &Facts) -> AlertConfig {
    let metric =
        f.ev.metrics
            .as_ref()
            .and_then(|m| m.view.metric.clone())
            .filter(|m| !m.contains('{') && !m.is_empty())
            .unwrap_or_else(|| alerts::DEFAULT_METRIC.to_string());
    let threshold = match &f.headline {
        Some(h) if h.verdict == Verdict::Leak && h.rate.per_hour > 0.0 => {
            // half the observed growth, rounded down to 1/2/5 x 10^n, within [1, 50] MiB/h
            nice_floor(h.rate.per_hour / MIB / 2.0).clamp(1.0, 50.0)
        }
        _ => alerts::DEFAULT_GROWTH_MB_PER_HOUR,
    };
    AlertConfig {
        service: f
            .service
            .clone()
            .unwrap_or_else(|| UNKNOWN_SERVICE.to_string()),
        metric,
        growth_mb_per_hour: threshold,
        for_duration: alerts::DEFAULT_FOR.to_string(),
        heap_limit_bytes: f.limit.as_ref().map(|l| l.bytes as u64),
    }
}

pub fn section(f: &Facts, cfg: &AlertConfig) -> AlertsSection {
    let threshold_reason = match &f.headline {
        Some(h) if h.verdict == Verdict::Leak && h.rate.per_hour > 0.0 => format!(
            "half the headline growth ({}), rounded down, between 1 and 50 MiB/h",
            words::rate(h.rate.per_hour)
        ),
        _ => format!(
            "the default {} MiB/h (no leaking growth rate in the evidence)",
            alerts::num(alerts::DEFAULT_GROWTH_MB_PER_HOUR)
        ),
    };
    AlertsSection {
        config: cfg.clone(),
        rules: alerts::rules(cfg),
        rules_file: "alerts.rules.yml".into(),
        dashboard_file: "grafana-dashboard.json".into(),
        dashboard_uid: grafana::dashboard_uid(&cfg.service),
        dashboard_panels: grafana::panel_titles(cfg),
        threshold_reason,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn thresholds_are_round() {
        assert_eq!(super::nice_floor(37.0), 20.0);
        assert_eq!(super::nice_floor(7.0), 5.0);
        assert_eq!(super::nice_floor(0.3), 0.2);
    }
}
