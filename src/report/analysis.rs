//! The analysis step: [`Evidence`] in, [`Investigation`] out. First the reconciliation
//! ([`facts::reconcile`]: every figure, once), then one module per template section
//! ([`super::sections`]) that words those figures. Pure: no IO, no clock.

use super::evidence::Evidence;
use super::facts::{self, Facts};
use super::model::*;
use super::sections::{
    alerting, appendix, charts, deployment, fix, header, lessons, root_cause, steps, summary,
    symptoms, timeline,
};
use super::words;

/// Builds the whole investigation from the evidence.
pub fn investigate(ev: &Evidence) -> Investigation {
    let f = facts::reconcile(ev);
    render_facts(&f)
}

/// Words the reconciled facts into every section.
pub fn render_facts(f: &Facts) -> Investigation {
    let alert_cfg = alerting::config(f);
    let headline_growth = f.headline.as_ref().and_then(|h| {
        let s = f.headline_source()?;
        Some(HeadlineGrowth {
            bytes_per_hour: h.rate.per_hour,
            low_bytes_per_hour: h.rate.low,
            high_bytes_per_hour: h.rate.high,
            source: super::text::plain(&format!("{} {}", s.label, s.detail)),
            span_seconds: h.span_s,
        })
    });
    let growth_sources = f
        .sources
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let head = f.headline.as_ref().is_some_and(|h| h.source == i);
            let cmp = f.comparisons.iter().find(|c| c.source == i);
            GrowthSourceJson {
                source: super::text::plain(&format!("{} {}", s.label, s.detail)),
                reliability: s.tier.describe().into(),
                method: s.method.clone(),
                bytes_per_hour: s.rate.map(|r| r.per_hour),
                low_bytes_per_hour: s.rate.and_then(|r| r.low),
                high_bytes_per_hour: s.rate.and_then(|r| r.high),
                span_seconds: s.span_s,
                points: s.n_points,
                verdict: s.verdict.as_str().into(),
                reason: s.reason.clone(),
                too_short_for_rate: s.too_short_for_rate,
                headline: head,
                agrees_with_headline: cmp.map(|c| c.agrees),
                comparison: if head {
                    f.headline
                        .as_ref()
                        .map(|h| h.why.clone())
                        .unwrap_or_default()
                } else {
                    cmp.map(|c| c.explanation.clone()).unwrap_or_default()
                },
            }
        })
        .collect();
    Investigation {
        schema: SCHEMA.to_string(),
        severity: f.severity.level.name().to_string(),
        headline_growth,
        oom_projection: OomProjectionJson {
            seconds: f.projection.seconds,
            reason: f.projection.reason.clone(),
            earliest_seconds: f.projection.earliest_seconds,
            latest_seconds: f.projection.latest_seconds,
            requests: f.projection.requests,
        },
        leak_verdict: LeakVerdictJson {
            verdict: f.status.verdict.as_str().into(),
            reason: f.status.reason.clone(),
        },
        growth_sources,
        per_request: f.per_request.as_ref().map(|p| PerRequestJson {
            bytes: p.bytes,
            low_bytes: p.low,
            high_bytes: p.high,
            method: p.method.clone(),
            first_requests: p.requests.0,
            last_requests: p.requests.1,
        }),
        incidents: f
            .incidents
            .iter()
            .map(|i| IncidentJson {
                kind: i.kind.as_str().into(),
                count: i.count,
                time: i
                    .unix
                    .map(|u| words::datetime(words::unix_i(u)))
                    .or(i.time_text.clone()),
                source: i.source.clone(),
                message: i.message.clone(),
            })
            .collect(),
        leak_groups: f
            .leaks
            .iter()
            .map(|g| LeakGroupJson {
                pattern: g.pattern.id().into(),
                class: g.class.clone(),
                unit: g.unit.clone(),
                per_snapshot: g.per_snapshot.clone(),
                count: g.count,
                retained_bytes: g.retained_bytes,
                added: g.added,
                added_retained_bytes: g.added_bytes,
                location: g
                    .finding
                    .location
                    .as_ref()
                    .map(|l| format!("{}:{}", l.file, l.line)),
            })
            .collect(),
        header: header::header(f),
        executive_summary: summary::executive_summary(f),
        timeline: timeline::timeline(f),
        symptoms: symptoms::symptoms(f, &alert_cfg),
        investigation: steps::steps(f),
        root_cause: root_cause::root_cause(f),
        fix: fix::fix(f),
        deployment: deployment::deployment(f, &alert_cfg),
        lessons: lessons::lessons(f, &alert_cfg),
        related: appendix::related(f),
        appendix: appendix::appendix(f, &alert_cfg),
        footer: appendix::footer(f),
        charts: charts::charts(f),
        alerts: alerting::section(f, &alert_cfg),
        evidence_used: appendix::evidence_used(f.ev),
    }
}
