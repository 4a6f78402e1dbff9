//! `memsleuth metrics`: memory growth per series from a live Prometheus or a saved answer.

use crate::cli::Format;
use crate::series::prometheus::{self, MetricsReport, QueryOptions, SeriesReport};
use crate::units;
use anyhow::{Context, bail};
use std::fmt::Write;
use std::time::Duration;

/// Flags of `memsleuth metrics`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("from").required(true).args(["prometheus", "file"])))]
pub struct Args {
    /// Base URL of a Prometheus server, e.g. http://127.0.0.1:9090
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// A saved /api/v1/query_range JSON answer
    #[arg(long, value_name = "SAVED.json")]
    pub file: Option<String>,
    /// PromQL of the memory series (default: the first known memory metric present)
    #[arg(long, value_name = "PROMQL")]
    pub query: Option<String>,
    /// Window ending now (Prometheus duration: 30m, 1h, 2d); default 1h
    #[arg(long, value_name = "DUR", conflicts_with_all = ["start", "end"])]
    pub since: Option<String>,
    /// Window start: unix seconds or RFC 3339
    #[arg(long, value_name = "T", requires = "end")]
    pub start: Option<String>,
    /// Window end: unix seconds or RFC 3339
    #[arg(long, value_name = "T", requires = "start")]
    pub end: Option<String>,
    /// Resolution (default: window / 1000, at least 1 s); raised if over 11,000 points
    #[arg(long, value_name = "DUR")]
    pub step: Option<String>,
    /// HTTP timeout per request
    #[arg(long, value_name = "DUR", default_value = "30s")]
    pub timeout: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

fn duration(flag: &str, v: &str) -> anyhow::Result<f64> {
    match prometheus::parse_duration(v) {
        Some(d) => Ok(d),
        None => bail!("--{flag}: {v:?} is not a duration (like 90s, 5m, 1h30m)"),
    }
}

fn time(flag: &str, v: &str) -> anyhow::Result<f64> {
    match prometheus::parse_time(v) {
        Some(t) => Ok(t),
        None => bail!("--{flag}: {v:?} is not a time (unix seconds or RFC 3339)"),
    }
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let report = fetch(&args)?;
    for n in &report.notes {
        eprintln!("memsleuth: note: {n}");
    }
    match args.format {
        Format::Json => crate::cli::print_json(&report)?,
        Format::Text => crate::cli::print_text(&render_text(&report))?,
    }
    Ok(0)
}

/// Reads the saved answer or queries the server the flags name (the report uses it too).
pub fn fetch(args: &Args) -> anyhow::Result<MetricsReport> {
    Ok(if let Some(file) = &args.file {
        if args.query.is_some() || args.since.is_some() || args.start.is_some() {
            eprintln!(
                "memsleuth: warning: --query/--since/--start/--end apply to --prometheus only"
            );
        }
        let (name, text) = crate::input::load_text(file)?;
        prometheus::analyze_file(&name, &text)?
    } else {
        let url = args
            .prometheus
            .clone()
            .context("--prometheus or --file is required")?;
        if !url.starts_with("http://") && !url.starts_with("https://") {
            bail!("--prometheus: {url:?} is not an http:// URL");
        }
        let (start, end) = match (&args.start, &args.end) {
            (Some(s), Some(e)) => (time("start", s)?, time("end", e)?),
            _ => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .context("system clock before 1970")?
                    .as_secs_f64()
                    .floor();
                let since = duration("since", args.since.as_deref().unwrap_or("1h"))?;
                (now - since, now)
            }
        };
        if end <= start {
            bail!("the window is empty: end must be after start");
        }
        let step = match &args.step {
            Some(s) => {
                let v = duration("step", s)?;
                if v <= 0.0 {
                    bail!("--step must be positive");
                }
                Some(v)
            }
            None => None,
        };
        let timeout = duration("timeout", &args.timeout)?;
        let opts = QueryOptions {
            url,
            query: args.query.clone(),
            start,
            end,
            step,
            timeout: Duration::from_secs_f64(timeout.max(0.001)),
        };
        prometheus::query_server(&opts)?
    })
}

fn render_text(r: &MetricsReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: {} series of {}",
        r.source,
        r.series.len(),
        if r.query.is_empty() {
            "(saved answer)"
        } else {
            &r.query
        }
    );
    if let Some(m) = &r.metric {
        let _ = writeln!(
            s,
            "  metric: {m} (detected: {})",
            r.detected_metrics.join(", ")
        );
    }
    for x in &r.series {
        let labels: Vec<String> = x
            .labels
            .iter()
            .filter(|(k, _)| k.as_str() != "__name__")
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect();
        let _ = writeln!(s, "  {{{}}}", labels.join(", "));
        let _ = writeln!(
            s,
            "    {} samples, {}: {}{}{}",
            x.samples,
            x.verdict,
            growth_text(x),
            x.major_gcs
                .map_or(String::new(), |n| format!(", {n} major GC(s)")),
            x.gc_pause_p95_ms
                .map_or(String::new(), |p| format!(", GC pause p95 {p:.1} ms"))
        );
        let _ = writeln!(s, "    {}", x.reason);
        let _ = writeln!(s, "    method: {}", x.method);
    }
    for o in &r.other_series {
        let labels: Vec<String> = o.labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        let _ = writeln!(
            s,
            "  {{{}}}: {} ({} samples, last {})",
            labels.join(", "),
            o.note,
            o.samples,
            o.last_value.map_or("n/a".to_string(), |v| format!("{v}"))
        );
    }
    for i in &r.incidents {
        let _ = writeln!(
            s,
            "  incident: {} ({}): {}",
            i.kind.as_str(),
            i.source,
            i.message
        );
    }
    for q in &r.queries {
        let _ = writeln!(s, "  PromQL: {q}");
    }
    let _ = writeln!(s, "verdict: {}", r.verdict);
    s
}

/// The growth with its interval; a fitted window too short for an hourly rate leads with the
/// change it saw and marks the rate as an extrapolation.
fn growth_text(x: &SeriesReport) -> String {
    let rate = units::rate_per_hour(x.growth_bytes_per_hour);
    let interval = format!(
        "95% {} to {}",
        units::rate_per_hour(x.growth_low_bytes_per_hour),
        units::rate_per_hour(x.growth_high_bytes_per_hour)
    );
    let factor = 3600.0 / x.span_seconds.max(1e-9);
    let change = units::bytes_delta(x.growth_bytes_per_hour / 3600.0 * x.span_seconds);
    if x.span_seconds <= 0.0 {
        format!("no growth figure ({} floor points)", x.floor.len())
    } else if factor > 300.0 {
        format!(
            "{change} over {:.0} s; no hourly rate (it would extrapolate {factor:.0}x)",
            x.span_seconds
        )
    } else if x.too_short_for_rate {
        format!(
            "{change} over {:.0} s, as an hourly rate {rate} ({interval}), an extrapolation {factor:.0}x beyond the evidence",
            x.span_seconds
        )
    } else {
        format!("growth {rate} ({interval}) over {:.0} s", x.span_seconds)
    }
}
