//! `memsleuth alerts`: Prometheus alert rules and a Grafana dashboard for a service.
//! The report writes the same two files with the same code (`report::alerts`, `report::grafana`).

use crate::report::{alerts, grafana};
use std::path::PathBuf;

/// Flags of `memsleuth alerts`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The service, matched as Prometheus' `job` label
    #[arg(long)]
    pub service: String,
    /// Memory metric: a name (the job matcher is added) or a full selector
    #[arg(long, default_value = alerts::DEFAULT_METRIC)]
    pub metric: String,
    /// Growth alert threshold in MiB per hour
    #[arg(long, default_value_t = alerts::DEFAULT_GROWTH_MB_PER_HOUR)]
    pub growth_mb_per_hour: f64,
    /// How long the growth must last before the alert fires (Prometheus duration)
    #[arg(long = "for", default_value = alerts::DEFAULT_FOR)]
    pub for_duration: String,
    /// The heap limit in bytes: adds the heap-near-limit and exhaustion-predicted alerts
    #[arg(long)]
    pub heap_limit_bytes: Option<u64>,
    /// Write alerts.rules.yml and grafana-dashboard.json here (else the rules go to stdout)
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let cfg = alerts::AlertConfig {
        service: args.service,
        metric: args.metric,
        growth_mb_per_hour: args.growth_mb_per_hour,
        for_duration: args.for_duration,
        heap_limit_bytes: args.heap_limit_bytes,
    };
    cfg.validate()?;
    let rules = alerts::rules_yaml(&cfg);
    let Some(dir) = args.out else {
        super::print_text(&rules)?;
        eprintln!("memsleuth: give --out DIR to also write the Grafana dashboard");
        return Ok(0);
    };
    let written = write_alert_files(&dir, &cfg)?;
    let mut msg = String::new();
    for p in written {
        msg.push_str(&format!("wrote {}\n", p.display()));
    }
    super::print_text(&msg)?;
    Ok(0)
}

/// Writes `alerts.rules.yml` and `grafana-dashboard.json` into `dir` (created if missing),
/// atomically; returns their paths.
pub fn write_alert_files(
    dir: &std::path::Path,
    cfg: &alerts::AlertConfig,
) -> anyhow::Result<Vec<PathBuf>> {
    use anyhow::Context;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let rules_path = dir.join("alerts.rules.yml");
    let rules = alerts::rules_yaml(cfg);
    crate::input::write_atomic(&rules_path, |w| w.write_all(rules.as_bytes()))?;
    let dash_path = dir.join("grafana-dashboard.json");
    let dash = grafana::dashboard_json(cfg);
    crate::input::write_atomic(&dash_path, |w| w.write_all(dash.as_bytes()))?;
    Ok(vec![rules_path, dash_path])
}
