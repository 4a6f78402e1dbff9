//! The leaked groups of the leak finder as facts: one count per snapshot, the units added
//! between the first and last snapshot, and the bytes that leak as the group's **retained**
//! size (what freeing the group would free), never the leaked objects' own shallow size.

use crate::report::evidence::{Evidence, FindingView};

/// A leak pattern (DESIGN.md, "Leak patterns"); unknown ids read as [`PatternKind::Unknown`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PatternKind {
    EventListener,
    Timer,
    Closure,
    UnclosedConnection,
    UnboundedCollection,
    LargeDataset,
    DetachedDom,
    Unknown,
}

impl PatternKind {
    pub fn from_id(id: &str) -> PatternKind {
        match id {
            "event-listener" => PatternKind::EventListener,
            "timer" => PatternKind::Timer,
            "closure" => PatternKind::Closure,
            "unclosed-connection" => PatternKind::UnclosedConnection,
            "unbounded-collection" => PatternKind::UnboundedCollection,
            "large-dataset" => PatternKind::LargeDataset,
            "detached-dom" => PatternKind::DetachedDom,
            _ => PatternKind::Unknown,
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            PatternKind::EventListener => "event-listener",
            PatternKind::Timer => "timer",
            PatternKind::Closure => "closure",
            PatternKind::UnclosedConnection => "unclosed-connection",
            PatternKind::UnboundedCollection => "unbounded-collection",
            PatternKind::LargeDataset => "large-dataset",
            PatternKind::DetachedDom => "detached-dom",
            PatternKind::Unknown => "unknown",
        }
    }
}

/// One leaked group.
#[derive(Clone, Debug, PartialEq)]
pub struct LeakGroup {
    pub pattern: PatternKind,
    pub class: String,
    /// What one unit is, singular and plural ("listener"/"listeners"); from the finding
    /// when it names it, else "`Class` object".
    pub unit: String,
    pub units: String,
    /// Units the retained size covers (allocated after the first snapshot, alive in the rest).
    pub count: u64,
    /// Units in each snapshot.
    pub per_snapshot: Vec<u64>,
    /// Units added between the first and last snapshot.
    pub added: i64,
    /// The bytes that leak: the group's retained size.
    pub retained_bytes: u64,
    /// Retained bytes per unit.
    pub bytes_per_unit: Option<f64>,
    /// Retained bytes of the units added between the first and last snapshot.
    pub added_bytes: Option<f64>,
    pub finding: FindingView,
    /// The whole source file of the location, when the evidence has it.
    pub source: Option<String>,
}

/// English plural of a unit name ("cache entry" -> "cache entries").
pub fn plural(unit: &str) -> String {
    if !unit.ends_with(|c: char| c.is_ascii_alphabetic()) {
        // "Detached <div class=\"card\">": a description, not a noun to inflect
        return format!("{unit} elements");
    }
    let lower = unit.to_ascii_lowercase();
    if lower.ends_with(" object") || lower.ends_with('s') || lower.ends_with('x') {
        if lower.ends_with(" object") {
            return format!("{unit}s");
        }
        return format!("{unit}es");
    }
    if let Some(stem) = unit.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'i', 'o', 'u'])
    {
        return format!("{stem}ies");
    }
    if lower.ends_with("ch") || lower.ends_with("sh") {
        return format!("{unit}es");
    }
    format!("{unit}s")
}

/// The leaked groups of the evidence, in the finder's order (most significant first).
pub fn groups(ev: &Evidence) -> Vec<LeakGroup> {
    let node = ev.leaks.iter().flat_map(|l| l.findings.iter());
    let python = ev.python.iter().flat_map(|p| p.view.leaks.iter());
    node.chain(python)
        .map(|f| {
            let unit = f
                .unit
                .clone()
                .filter(|u| !u.trim().is_empty())
                .unwrap_or_else(|| format!("{} object", f.class));
            let first = f.growth.first().copied().unwrap_or(0);
            let last = f.growth.last().copied().unwrap_or(f.count);
            let added = last as i64 - first as i64;
            let bytes_per_unit = (f.count > 0).then(|| f.retained_bytes as f64 / f.count as f64);
            LeakGroup {
                pattern: PatternKind::from_id(&f.pattern),
                class: f.class.clone(),
                units: plural(&unit),
                unit,
                count: f.count,
                per_snapshot: f.growth.clone(),
                added,
                retained_bytes: f.retained_bytes,
                added_bytes: bytes_per_unit.map(|b| b * added as f64),
                bytes_per_unit,
                source: f
                    .location
                    .as_ref()
                    .and_then(|l| ev.sources.get(&l.file).cloned()),
                finding: f.clone(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals() {
        assert_eq!(plural("listener"), "listeners");
        assert_eq!(plural("cache entry"), "cache entries");
        assert_eq!(plural("Function object"), "Function objects");
        assert_eq!(plural("socket"), "sockets");
        assert_eq!(plural("key"), "keys");
        assert_eq!(
            plural("Detached <div class=\"card\">"),
            "Detached <div class=\"card\"> elements"
        );
    }
}
