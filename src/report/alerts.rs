//! Prometheus alerting rules for a leaking service: memory growth (deriv), exhaustion predicted
//! (predict_linear) and heap near its limit when the limit is known, and GC pause p95 from
//! prom-client's `nodejs_gc_duration_seconds` histogram.
//!
//! The rules file is written by hand (no YAML library): every scalar that can hold user text
//! is emitted as a JSON string, which is also a valid YAML double-quoted scalar. The output is
//! checked by `promtool check rules` and `promtool test rules` in `tests/alerts_promtool.rs`.

use serde::Serialize;
use std::fmt::Write;

/// The memory metric used when none is given: prom-client's default V8 heap gauge.
pub const DEFAULT_METRIC: &str = "nodejs_heap_size_used_bytes";
/// Growth threshold used when none is given, MB (MiB) per hour.
pub const DEFAULT_GROWTH_MB_PER_HOUR: f64 = 10.0;
/// How long a condition must hold before the alert fires, when none is given.
pub const DEFAULT_FOR: &str = "1h";
/// The window `deriv` and `predict_linear` look back over.
pub const GROWTH_WINDOW: &str = "30m";
/// The GC pause p95 that is worth an alert, seconds.
pub const GC_PAUSE_P95_SECONDS: f64 = 0.1;
/// The share of the heap limit that counts as "near the limit".
pub const NEAR_LIMIT_RATIO: f64 = 0.9;
/// How far ahead `predict_linear` looks for the exhaustion alert, hours.
pub const PREDICT_HOURS: u64 = 4;

/// What the alert rules and the dashboard are generated for.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertConfig {
    /// The service, matched as Prometheus' `job` label.
    pub service: String,
    /// The memory metric: a bare name (the `job` matcher is added) or a full selector.
    pub metric: String,
    /// Growth (MiB per hour) above which the growth alert fires.
    pub growth_mb_per_hour: f64,
    /// Prometheus duration the condition must hold (`for:`).
    pub for_duration: String,
    /// The heap limit in bytes, when known (`--heap-limit-bytes`, `--memory-limit`, GC log).
    pub heap_limit_bytes: Option<u64>,
}

/// A user mistake in the alert settings; each message names the flag.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AlertConfigError {
    #[error("--service must not be empty")]
    EmptyService,
    #[error("--for {0:?} is not a Prometheus duration (examples: 30s, 15m, 1h, 1h30m)")]
    BadDuration(String),
    #[error("--growth-mb-per-hour must be a positive number, not {0}")]
    BadGrowth(f64),
    #[error("--metric {0:?} is not a metric name or selector")]
    BadMetric(String),
    #[error("--heap-limit-bytes must be greater than 0")]
    ZeroLimit,
}

impl AlertConfig {
    /// Checks the settings; every error names the flag to fix.
    pub fn validate(&self) -> Result<(), AlertConfigError> {
        if self.service.trim().is_empty() {
            return Err(AlertConfigError::EmptyService);
        }
        if !is_prom_duration(&self.for_duration) {
            return Err(AlertConfigError::BadDuration(self.for_duration.clone()));
        }
        if !(self.growth_mb_per_hour.is_finite() && self.growth_mb_per_hour > 0.0) {
            return Err(AlertConfigError::BadGrowth(self.growth_mb_per_hour));
        }
        if !is_metric_or_selector(&self.metric) {
            return Err(AlertConfigError::BadMetric(self.metric.clone()));
        }
        if self.heap_limit_bytes == Some(0) {
            return Err(AlertConfigError::ZeroLimit);
        }
        Ok(())
    }

    /// The memory series of this service as a PromQL selector.
    pub fn selector(&self) -> String {
        if self.metric.contains('{') {
            self.metric.clone()
        } else {
            format!("{}{{job={}}}", self.metric, promql_string(&self.service))
        }
    }

    /// The `job` matcher alone, for the GC histogram and other prom-client metrics.
    pub fn job_matcher(&self) -> String {
        format!("job={}", promql_string(&self.service))
    }
}

/// True for a Prometheus duration such as `30s`, `5m`, `1h30m`, `2d`.
pub fn is_prom_duration(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
        let unit_start = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        match &s[unit_start..i] {
            "ms" | "s" | "m" | "h" | "d" | "w" | "y" => {}
            _ => return false,
        }
    }
    true
}

fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_metric_or_selector(s: &str) -> bool {
    match s.find('{') {
        None => is_metric_name(s),
        Some(i) => (i == 0 || is_metric_name(&s[..i])) && s.ends_with('}') && !s.contains('\n'),
    }
}

/// A PromQL double-quoted string literal.
pub fn promql_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A YAML double-quoted scalar (JSON string syntax is a subset of it).
fn yaml_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// A number as PromQL and YAML print it: integers without a fraction.
pub fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// One generated rule, as the report lists it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rule {
    /// Alert name (`alert:`) or recorded series name (`record:`).
    pub name: String,
    /// `alert` or `record`.
    pub kind: String,
    pub expr: String,
    /// The `for:` duration (alerts only).
    pub for_duration: Option<String>,
    /// `severity` label (alerts only).
    pub severity: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
}

/// The rules for `cfg`, in file order.
pub fn rules(cfg: &AlertConfig) -> Vec<Rule> {
    let sel = cfg.selector();
    let job = cfg.job_matcher();
    let svc = &cfg.service;
    let mut out = vec![
        Rule {
            name: "memsleuth:memory_growth_bytes_per_hour:deriv30m".into(),
            kind: "record".into(),
            expr: format!("deriv({sel}[{GROWTH_WINDOW}]) * 3600"),
            for_duration: None,
            severity: None,
            summary: None,
            description: None,
        },
        Rule {
            name: "MemoryGrowth".into(),
            kind: "alert".into(),
            expr: format!(
                "deriv({sel}[{GROWTH_WINDOW}]) * 3600 / 1048576 > {}",
                num(cfg.growth_mb_per_hour)
            ),
            for_duration: Some(cfg.for_duration.clone()),
            severity: Some("warning".into()),
            summary: Some(format!(
                "{svc}: memory of {{{{ $labels.instance }}}} grows faster than {} MiB/h",
                num(cfg.growth_mb_per_hour)
            )),
            description: Some(format!(
                "{} grows at {{{{ $value | printf \"%.1f\" }}}} MiB/h (deriv over {GROWTH_WINDOW}) for more than {}: a memory leak is likely. Take heap snapshots and run memsleuth report.",
                metric_name(&cfg.metric),
                cfg.for_duration
            )),
        },
    ];
    if let Some(limit) = cfg.heap_limit_bytes {
        let limit_s = num(limit as f64);
        out.push(Rule {
            name: "MemoryExhaustionPredicted".into(),
            kind: "alert".into(),
            expr: format!(
                "predict_linear({sel}[{GROWTH_WINDOW}], {}) > {limit_s}",
                PREDICT_HOURS * 3600
            ),
            for_duration: Some("15m".into()),
            severity: Some("critical".into()),
            summary: Some(format!(
                "{svc}: {{{{ $labels.instance }}}} will reach its memory limit within {PREDICT_HOURS} hours"
            )),
            description: Some(format!(
                "At the growth of the last {GROWTH_WINDOW}, {} reaches the limit of {limit_s} bytes within {PREDICT_HOURS} hours: an out-of-memory crash is coming.",
                metric_name(&cfg.metric)
            )),
        });
        out.push(Rule {
            name: "HeapNearLimit".into(),
            kind: "alert".into(),
            expr: format!("{sel} / {limit_s} > {}", num(NEAR_LIMIT_RATIO)),
            for_duration: Some("5m".into()),
            severity: Some("critical".into()),
            summary: Some(format!(
                "{svc}: memory of {{{{ $labels.instance }}}} above {}% of its limit",
                num(NEAR_LIMIT_RATIO * 100.0)
            )),
            description: Some(format!(
                "{} is at {{{{ $value | humanizePercentage }}}} of the limit of {limit_s} bytes.",
                metric_name(&cfg.metric)
            )),
        });
    }
    out.push(Rule {
        name: "GCPauseHigh".into(),
        kind: "alert".into(),
        expr: format!(
            "histogram_quantile(0.95, sum by (job, instance, le) (rate(nodejs_gc_duration_seconds_bucket{{{job}}}[5m]))) > {}",
            num(GC_PAUSE_P95_SECONDS)
        ),
        for_duration: Some("15m".into()),
        severity: Some("warning".into()),
        summary: Some(format!(
            "{svc}: GC pause p95 of {{{{ $labels.instance }}}} above {} ms",
            num(GC_PAUSE_P95_SECONDS * 1000.0)
        )),
        description: Some(
            "The 95th percentile of GC pauses is {{ $value | humanizeDuration }} over 5m: the collector works hard, often because the heap keeps growing."
                .into(),
        ),
    });
    out
}

/// The metric name of a bare name or selector, for messages.
fn metric_name(metric: &str) -> &str {
    match metric.find('{') {
        Some(0) => "the memory series",
        Some(i) => &metric[..i],
        None => metric,
    }
}

/// The rules file for `cfg` (Prometheus 2.x rule file syntax).
pub fn rules_yaml(cfg: &AlertConfig) -> String {
    let mut y = String::new();
    let _ = writeln!(
        y,
        "# Memory leak alerts for {}, generated by memsleuth.",
        one_line(&cfg.service)
    );
    let _ = writeln!(y, "# Check: promtool check rules alerts.rules.yml");
    if cfg.heap_limit_bytes.is_none() {
        let _ = writeln!(
            y,
            "# No heap limit was given (--heap-limit-bytes / --memory-limit), so the heap-near-limit"
        );
        let _ = writeln!(y, "# and exhaustion-predicted alerts are not generated.");
    }
    let _ = writeln!(y, "groups:");
    let _ = writeln!(
        y,
        "  - name: {}",
        yaml_str(&format!("memsleuth-memory-leak-{}", cfg.service))
    );
    let _ = writeln!(y, "    rules:");
    for r in rules(cfg) {
        let _ = writeln!(y, "      - {}: {}", r.kind, yaml_str(&r.name));
        let _ = writeln!(y, "        expr: {}", yaml_str(&r.expr));
        if let Some(f) = &r.for_duration {
            let _ = writeln!(y, "        for: {f}");
        }
        if r.kind == "alert" {
            let _ = writeln!(y, "        labels:");
            if let Some(s) = &r.severity {
                let _ = writeln!(y, "          severity: {s}");
            }
            let _ = writeln!(y, "          service: {}", yaml_str(&cfg.service));
            let _ = writeln!(y, "        annotations:");
            if let Some(s) = &r.summary {
                let _ = writeln!(y, "          summary: {}", yaml_str(s));
            }
            if let Some(d) = &r.description {
                let _ = writeln!(y, "          description: {}", yaml_str(d));
            }
        } else {
            let _ = writeln!(y, "        labels:");
            let _ = writeln!(y, "          service: {}", yaml_str(&cfg.service));
        }
    }
    y
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> AlertConfig {
        AlertConfig {
            service: "checkout".into(),
            metric: DEFAULT_METRIC.into(),
            growth_mb_per_hour: 10.0,
            for_duration: "1h".into(),
            heap_limit_bytes: None,
        }
    }

    #[test]
    fn durations() {
        for ok in ["30s", "5m", "1h30m", "2d", "100ms"] {
            assert!(is_prom_duration(ok), "{ok}");
        }
        for bad in ["", "5", "5x", "m", "1.5h", "-1h"] {
            assert!(!is_prom_duration(bad), "{bad}");
        }
    }

    #[test]
    fn service_with_quotes_is_escaped_in_promql_and_yaml() {
        let mut c = cfg();
        c.service = "a\"b\\c".into();
        assert_eq!(
            c.selector(),
            r#"nodejs_heap_size_used_bytes{job="a\"b\\c"}"#
        );
        let y = rules_yaml(&c);
        assert!(y.contains(r#"job=\"a\\\"b\\\\c\"}"#), "{y}");
    }

    #[test]
    fn limit_adds_two_alerts() {
        assert_eq!(rules(&cfg()).len(), 3);
        let mut c = cfg();
        c.heap_limit_bytes = Some(1 << 30);
        let names: Vec<_> = rules(&c).into_iter().map(|r| r.name).collect();
        assert!(names.contains(&"HeapNearLimit".to_string()));
        assert!(names.contains(&"MemoryExhaustionPredicted".to_string()));
    }

    #[test]
    fn validation_names_the_flag() {
        let mut c = cfg();
        c.for_duration = "5x".into();
        assert!(c.validate().unwrap_err().to_string().contains("--for"));
        let mut c = cfg();
        c.metric = "bad metric".into();
        assert!(c.validate().unwrap_err().to_string().contains("--metric"));
    }
}
