//! The Memory Leak Investigation Report: model and renderers (Markdown, HTML, JSON, alerts).
