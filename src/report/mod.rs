//! The Memory Leak Investigation Report: the evidence it is built from, the model (one
//! struct per section of the template), the analysis that fills it, and the renderers
//! (Markdown, HTML with SVG charts, JSON), plus the alert rules and Grafana dashboard.
//!
//! Flow: [`evidence::Evidence`] (what the commands found) -> [`analysis::investigate`]
//! (every figure and sentence computed here, no IO) -> [`model::Investigation`] ->
//! renderers, which only lay out what the model holds.

pub mod alerts;
pub mod analysis;
pub mod evidence;
pub mod grafana;
pub mod html;
pub mod json;
pub mod markdown;
pub mod model;
pub mod patterns;
pub mod svg;
pub mod text;
