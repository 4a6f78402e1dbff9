//! Scripts in a snapshot: script id -> file name and source text, code excerpts around a
//! location, and the line that declares a variable or property.
//!
//! V8 records no script-id table; it is rebuilt from closures: closure -> `shared` ->
//! `script_or_debug_info` (Node 20) or `script` (Node 22+) -> the Script node, whose name is
//! the file and whose `source` edge leads to the source string. Strings are cut to 1024
//! characters in snapshots, so callers may supply the full text from disk.

use super::graph::HeapGraph;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct Script {
    pub name: String,
    /// The source as the snapshot holds it (possibly cut at 1024 characters).
    pub source: Option<String>,
}

/// Script id -> script, for every script some closure points at.
pub fn scripts(g: &HeapGraph) -> HashMap<u32, Script> {
    let t = g.types;
    let mut out: HashMap<u32, Script> = HashMap::new();
    for o in 0..g.n_nodes() as u32 {
        if g.node_type(o) != t.n_closure {
            continue;
        }
        let Some([sid, _, _]) = g.location(o) else {
            continue;
        };
        if out.contains_key(&sid) {
            continue;
        }
        let Some(shared) = child(g, o, "shared") else {
            continue;
        };
        let script =
            child(g, shared, "script_or_debug_info").or_else(|| child(g, shared, "script"));
        let Some(script) = script else { continue };
        if g.node_type(script) != t.n_code {
            continue;
        }
        let name = g.raw_name(script).to_string();
        let source = child(g, script, "source").and_then(|s| {
            let ty = g.node_type(s);
            (ty == t.n_string).then(|| g.raw_name(s).to_string())
        });
        out.insert(sid, Script { name, source });
    }
    out
}

/// The target of the first edge of `o` named `name`.
pub fn child(g: &HeapGraph, o: u32, name: &str) -> Option<u32> {
    g.edges(o)
        .find(|&e| !g.edge_has_index(e) && g.edge_name(e) == name)
        .map(|e| g.raw.edge_to[e])
}

/// Whether a script name is the user's code rather than Node's own (`node:`) or internal.
pub fn is_user_script(name: &str) -> bool {
    !(name.is_empty()
        || name.starts_with("node:")
        || name.starts_with("internal/")
        || name.starts_with("evalmachine")
        || name == "<anonymous>")
}

/// The file path of a script name (`file:///x.js` -> `/x.js`).
pub fn file_path(name: &str) -> &str {
    name.strip_prefix("file://").unwrap_or(name)
}

/// `before` and `after` lines around 1-based `line`, each prefixed with its number.
pub fn excerpt(source: &str, line: u32, before: u32, after: u32) -> Vec<String> {
    let first = line.saturating_sub(before).max(1);
    let last = line + after;
    source
        .lines()
        .enumerate()
        .map(|(i, l)| (i as u32 + 1, l))
        .filter(|(n, _)| *n >= first && *n <= last)
        .map(|(n, l)| format!("{n:>5} | {}", l.trim_end()))
        .collect()
}

/// The text of 1-based `line`.
pub fn line_text(source: &str, line: u32) -> Option<String> {
    source
        .lines()
        .nth(line.checked_sub(1)? as usize)
        .map(|l| l.trim().to_string())
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$'
}

/// 1-based line that declares or assigns `name`, preferring (in order) `const/let/var name`,
/// `this.name =`, `globalThis.name =` and the like, `name =` or `name:`; among equals, the
/// one nearest `near` (a 1-based line), else the first.
pub fn declaration_line(source: &str, name: &str, near: Option<u32>) -> Option<u32> {
    if name.is_empty() || !name.bytes().all(is_ident_char) {
        return None;
    }
    let mut best: Option<(u8, u32, u32)> = None; // (rank, distance, line)
    for (i, line) in source.lines().enumerate() {
        let ln = i as u32 + 1;
        let b = line.as_bytes();
        let mut from = 0;
        while let Some(p) = line[from..].find(name) {
            let at = from + p;
            from = at + name.len();
            let end = at + name.len();
            if (at > 0 && is_ident_char(b[at - 1])) || (end < b.len() && is_ident_char(b[end])) {
                continue;
            }
            let before = line[..at].trim_end();
            let after = line[end..].trim_start();
            let assigns =
                (after.starts_with('=') && !after.starts_with("==")) || after.starts_with(':');
            let rank = if before.ends_with("const")
                || before.ends_with("let")
                || before.ends_with("var")
            {
                0
            } else if (before.ends_with("this.")
                || before.ends_with("globalThis.")
                || before.ends_with("global.")
                || before.ends_with("window."))
                && assigns
            {
                1
            } else if assigns {
                2
            } else {
                continue;
            };
            let dist = near.map_or(0, |n| n.abs_diff(ln));
            let cand = (rank, dist, ln);
            if best.is_none_or(|b| cand < b) {
                best = Some(cand);
            }
        }
    }
    best.map(|b| b.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_declarations() {
        let src = "const x = 1;\nfunction f() {\n  cache.get(1);\n}\nconst cache = new Map();\nthis.cache = 2;\n";
        assert_eq!(declaration_line(src, "cache", None), Some(5));
        assert_eq!(declaration_line(src, "nothing", None), None);
        let cls = "class A {\n  constructor() {\n    this.items = new Set();\n  }\n}\n";
        assert_eq!(declaration_line(cls, "items", Some(2)), Some(3));
    }

    #[test]
    fn excerpts_are_numbered() {
        let src = "a\nb\nc\nd\n";
        assert_eq!(
            excerpt(src, 2, 1, 1),
            vec!["    1 | a", "    2 | b", "    3 | c"]
        );
        assert_eq!(line_text(src, 3).as_deref(), Some("c"));
    }
}
