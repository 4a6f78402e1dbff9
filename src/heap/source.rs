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

/// Where a script comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The application's own code.
    User,
    /// A dependency: an npm package (`node_modules/<name>`) or a vendor bundle; the name.
    Library(String),
    /// The runtime: Node's own modules (`node:`, `internal/`), extensions, eval code.
    Runtime,
}

/// Classifies a script name (any form: `/abs/path`, `file:///`, `system / Script / <url>`,
/// `node:internal/...`, `webpack://...`).
pub fn origin(name: &str) -> Origin {
    let name = name.strip_prefix("system / Script / ").unwrap_or(name);
    if name.is_empty()
        || name.starts_with("node:")
        || name.starts_with("internal/")
        || name.starts_with("evalmachine")
        || name.starts_with("chrome-extension://")
        || name.starts_with("chrome://")
        || name.starts_with("extensions::")
        || name.starts_with("v8/")
        || name == "<anonymous>"
        || name == "native"
        || name.starts_with("native ")
    {
        return Origin::Runtime;
    }
    if let Some(pkg) = package_name(name) {
        return Origin::Library(pkg);
    }
    let file = name.rsplit('/').next().unwrap_or(name);
    let stem = file.split(['?', '#']).next().unwrap_or(file);
    let lower = stem.to_ascii_lowercase();
    if lower.starts_with("vendor")
        || lower.contains("vendors~")
        || lower.contains("vendors-")
        || lower.contains("chunk-vendors")
        || name.contains("/vendor/")
    {
        return Origin::Library(stem.to_string());
    }
    Origin::User
}

/// The npm package of a path inside `node_modules` (`@scope/name` or `name`), innermost.
pub fn package_name(path: &str) -> Option<String> {
    let at = path.rfind("node_modules/")?;
    let rest = &path[at + "node_modules/".len()..];
    let mut parts = rest.split('/');
    let first = parts.next().filter(|p| !p.is_empty())?;
    if first.starts_with('@') {
        let second = parts.next().filter(|p| !p.is_empty())?;
        Some(format!("{first}/{second}"))
    } else {
        Some(first.to_string())
    }
}

/// Whether a script name is the user's code (not Node's own, not a dependency).
pub fn is_user_script(name: &str) -> bool {
    origin(name) == Origin::User
}

/// The file path of a script name: `system / Script / ` and `file://` stripped, `%XX`
/// escapes of file URLs decoded, `webpack://<namespace>/./src/x.js` -> `src/x.js`.
pub fn file_path(name: &str) -> String {
    let name = name.strip_prefix("system / Script / ").unwrap_or(name);
    if let Some(rest) = name.strip_prefix("file://") {
        let rest = rest.strip_prefix("localhost").unwrap_or(rest);
        return percent_decode(rest);
    }
    if let Some(rest) = name.strip_prefix("webpack://") {
        let rest = rest.split_once('/').map_or(rest, |x| x.1);
        return rest.trim_start_matches("./").to_string();
    }
    if let Some(rest) = name.strip_prefix("webpack-internal:///") {
        return rest.trim_start_matches("./").to_string();
    }
    name.to_string()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Whether the script's source in the snapshot is only a fragment of the file its
/// positions count lines in (inline `<script>` of a page).
pub fn positions_in_page(name: &str) -> bool {
    let p = file_path(name);
    let p = p
        .split(['?', '#'])
        .next()
        .unwrap_or(&p)
        .to_ascii_lowercase();
    p.ends_with(".html") || p.ends_with(".htm") || !p.contains('.') && p.starts_with("http")
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
    let bare = name.strip_prefix('#').unwrap_or(name);
    if bare.is_empty() || !bare.bytes().all(is_ident_char) {
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
            // `exports.a = exports.b = void 0;` (tsc's hoisted exports), `x = null`: a
            // placeholder, not where the value is made; ranked after every real assignment.
            let value = after
                .trim_start_matches(['=', ':'])
                .trim()
                .trim_end_matches(';')
                .trim_end();
            let placeholder = assigns
                && ["void 0", "undefined", "null"]
                    .iter()
                    .any(|p| value.ends_with(p))
                && !value.contains(['{', '(', '['])
                && !value.contains("new ");
            let rank = if placeholder {
                3
            } else if before.ends_with("const")
                || before.ends_with("let")
                || before.ends_with("var")
            {
                0
            } else if (before.ends_with("this.")
                || before.ends_with("globalThis.")
                || before.ends_with("global.")
                || before.ends_with("window.")
                || before.ends_with("exports."))
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
        let tsc = "exports.project = exports.cache = void 0;\nconst x = 1;\nexports.cache = {};\nlet y = null;\ny = new Map();\n";
        assert_eq!(declaration_line(tsc, "cache", None), Some(3));
        assert_eq!(declaration_line(tsc, "y", None), Some(5));
        let private = "class S {\n  #seen = new Map();\n  add(k) { this.#seen.set(k, 1); }\n}\n";
        assert_eq!(declaration_line(private, "#seen", None), Some(2));
    }

    #[test]
    fn script_names_in_every_form() {
        assert_eq!(file_path("/srv/app.js"), "/srv/app.js");
        assert_eq!(file_path("file:///srv/my%20app/a.mjs"), "/srv/my app/a.mjs");
        assert_eq!(
            file_path("system / Script / file:///tmp/page.html"),
            "/tmp/page.html"
        );
        assert_eq!(file_path("webpack://shop/./src/cart.js"), "src/cart.js");
        assert_eq!(origin("node:internal/timers"), Origin::Runtime);
        assert_eq!(origin("system / Script / file:///tmp/p.html"), Origin::User);
        assert_eq!(
            origin("/srv/node_modules/@acme/cache/lib/x.js"),
            Origin::Library("@acme/cache".into())
        );
        assert_eq!(
            origin("webpack://shop/./node_modules/rxjs/dist/cjs/Subject.js"),
            Origin::Library("rxjs".into())
        );
        assert_eq!(
            origin("https://x.test/static/js/vendors~main.3f2.js"),
            Origin::Library("vendors~main.3f2.js".into())
        );
        assert!(positions_in_page("system / Script / file:///tmp/p.html"));
        assert!(!positions_in_page("/srv/app.js"));
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
