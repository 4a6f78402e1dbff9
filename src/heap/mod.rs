//! V8 heap snapshots: parsing, the graph, and the numbers Chrome DevTools computes.
