//! The Memory Leak Investigation Report: the evidence it is built from, the reconciled facts,
//! the model (one struct per section of the template), and the renderers (Markdown, HTML
//! with SVG charts, JSON), plus the alert rules and Grafana dashboard.
//!
//! Flow: [`evidence::Evidence`] (what the commands found) -> [`facts::reconcile`] (every
//! figure decided once: growth per source, the headline, disagreements explained, growth
//! per request, time to OOM, severity; no IO) -> [`sections`] (one module per template
//! section, wording the facts) -> [`model::Investigation`] -> renderers, which only lay out
//! what the model holds. [`analysis::investigate`] runs the middle steps.

pub mod alerts;
pub mod analysis;
pub mod evidence;
pub mod facts;
pub mod grafana;
pub mod html;
pub mod json;
pub mod markdown;
pub mod model;
pub mod patterns;
pub mod pysketch;
pub mod sections;
pub mod svg;
pub mod text;
pub mod words;
