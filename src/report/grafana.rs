//! A Grafana dashboard for a leaking service, in Grafana's classic JSON model
//! (`schemaVersion` 39, what Grafana 10.4/11 export; newer Grafana migrates it on load).
//!
//! The Prometheus data source is a dashboard variable named `datasource`, and every panel
//! uses `${datasource}`, so the file imports through the UI, `POST /api/dashboards/db` and
//! file provisioning alike. Panels: heap used vs total (and the limit when known), growth
//! rate in MiB/h with the alert threshold, RSS, GC pause p95, active handles (sockets and
//! timers that are never closed show up there), event loop lag.

use super::alerts::{AlertConfig, GC_PAUSE_P95_SECONDS, GROWTH_WINDOW, num};
use serde_json::{Value, json};

/// The dashboard's `uid`: stable for a service, at most 40 characters of `[a-z0-9-]`.
pub fn dashboard_uid(service: &str) -> String {
    let mut s = String::from("memsleuth-");
    let mut last_dash = true;
    for c in service.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
            last_dash = false;
        } else if !last_dash {
            s.push('-');
            last_dash = true;
        }
    }
    if s.len() > 40 {
        s.truncate(40);
    }
    while s.ends_with('-') {
        s.pop();
    }
    s
}

fn ds() -> Value {
    json!({"type": "prometheus", "uid": "${datasource}"})
}

fn target(ref_id: &str, expr: String, legend: &str) -> Value {
    json!({
        "refId": ref_id,
        "datasource": ds(),
        "expr": expr,
        "legendFormat": legend,
        "range": true
    })
}

fn panel(
    id: u32,
    title: &str,
    grid: (u32, u32),
    unit: &str,
    targets: Vec<Value>,
    threshold: Option<f64>,
) -> Value {
    let mut defaults = json!({"unit": unit});
    if let Some(t) = threshold {
        defaults["thresholds"] = json!({
            "mode": "absolute",
            "steps": [
                {"color": "green", "value": null},
                {"color": "red", "value": t}
            ]
        });
        defaults["custom"] = json!({"thresholdsStyle": {"mode": "line"}});
    }
    json!({
        "id": id,
        "type": "timeseries",
        "title": title,
        "gridPos": {"x": grid.0, "y": grid.1, "w": 12, "h": 8},
        "datasource": ds(),
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": true},
            "tooltip": {"mode": "multi", "sort": "none"}
        },
        "targets": targets
    })
}

/// The dashboard's panel titles, in order (the report lists them).
pub fn panel_titles(cfg: &AlertConfig) -> Vec<String> {
    dashboard_panels(cfg)
        .iter()
        .filter_map(|p| p["title"].as_str().map(str::to_string))
        .collect()
}

fn dashboard_panels(cfg: &AlertConfig) -> Vec<Value> {
    let sel = cfg.selector();
    let job = cfg.job_matcher();
    let mut heap_targets = vec![target("A", sel.clone(), "used {{instance}}")];
    if !cfg.metric.contains('{') && cfg.metric == super::alerts::DEFAULT_METRIC {
        heap_targets.push(target(
            "B",
            format!("nodejs_heap_size_total_bytes{{{job}}}"),
            "total {{instance}}",
        ));
    }
    vec![
        panel(
            1,
            "Memory used (heap)",
            (0, 0),
            "bytes",
            heap_targets,
            cfg.heap_limit_bytes.map(|l| l as f64),
        ),
        panel(
            2,
            &format!("Memory growth (deriv over {GROWTH_WINDOW}), MiB/h"),
            (12, 0),
            "none",
            vec![target(
                "A",
                format!("deriv({sel}[{GROWTH_WINDOW}]) * 3600 / 1048576"),
                "{{instance}}",
            )],
            Some(cfg.growth_mb_per_hour),
        ),
        panel(
            3,
            "Resident set size (RSS)",
            (0, 8),
            "bytes",
            vec![target(
                "A",
                format!("process_resident_memory_bytes{{{job}}}"),
                "{{instance}}",
            )],
            None,
        ),
        panel(
            4,
            "GC pause p95",
            (12, 8),
            "s",
            vec![target(
                "A",
                format!(
                    "histogram_quantile(0.95, sum by (instance, le) (rate(nodejs_gc_duration_seconds_bucket{{{job}}}[5m])))"
                ),
                "{{instance}}",
            )],
            Some(GC_PAUSE_P95_SECONDS),
        ),
        panel(
            5,
            "Active handles (sockets, timers)",
            (0, 16),
            "none",
            vec![target(
                "A",
                format!("nodejs_active_handles_total{{{job}}}"),
                "{{instance}}",
            )],
            None,
        ),
        panel(
            6,
            "Event loop lag p99",
            (12, 16),
            "s",
            vec![target(
                "A",
                format!("nodejs_eventloop_lag_p99_seconds{{{job}}}"),
                "{{instance}}",
            )],
            None,
        ),
    ]
}

/// The whole dashboard as a JSON value (keys sorted, so the file is byte-stable).
pub fn dashboard(cfg: &AlertConfig) -> Value {
    json!({
        "id": null,
        "uid": dashboard_uid(&cfg.service),
        "title": format!("Memory leak: {}", cfg.service),
        "description": format!(
            "Generated by memsleuth. Growth alert threshold: {} MiB/h for {}.",
            num(cfg.growth_mb_per_hour),
            cfg.for_duration
        ),
        "tags": ["memory", "leak", "memsleuth"],
        "timezone": "utc",
        "editable": true,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [{
            "name": "datasource",
            "label": "Prometheus",
            "type": "datasource",
            "query": "prometheus",
            "hide": 0,
            "refresh": 1,
            "regex": "",
            "options": []
        }]},
        "annotations": {"list": []},
        "panels": dashboard_panels(cfg)
    })
}

/// The dashboard file's text: pretty JSON with a final newline.
pub fn dashboard_json(cfg: &AlertConfig) -> String {
    let mut s = serde_json::to_string_pretty(&dashboard(cfg)).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_is_stable_and_short() {
        assert_eq!(dashboard_uid("Checkout API"), "memsleuth-checkout-api");
        assert!(dashboard_uid(&"x".repeat(100)).len() <= 40);
        assert_eq!(dashboard_uid("<script>"), "memsleuth-script");
    }

    #[test]
    fn every_panel_uses_the_datasource_variable() {
        let cfg = AlertConfig {
            service: "svc".into(),
            metric: super::super::alerts::DEFAULT_METRIC.into(),
            growth_mb_per_hour: 5.0,
            for_duration: "30m".into(),
            heap_limit_bytes: Some(512 << 20),
        };
        let d = dashboard(&cfg);
        assert_eq!(d["schemaVersion"], 39);
        assert_eq!(d["templating"]["list"][0]["type"], "datasource");
        for p in d["panels"].as_array().unwrap() {
            assert_eq!(p["datasource"]["uid"], "${datasource}");
            for t in p["targets"].as_array().unwrap() {
                assert!(t["expr"].as_str().unwrap().contains("job=\"svc\""));
            }
        }
    }
}
