//! Time series evidence: `--trace-gc` logs, Prometheus series, Python profiles, trends.
