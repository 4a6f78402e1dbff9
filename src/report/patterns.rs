//! What the report says for each leak pattern, and the fix and regression test it proposes
//! for the code at hand. The code is specific to the API that leaks (an `EventEmitter` is
//! fixed with `off`/`once`, an `EventTarget` with `removeEventListener` or an `AbortSignal`,
//! a stream with `off` when it is done, a subscription with `unsubscribe`/`takeUntil`, a
//! timer with `clearInterval`, a cache with a bound, an LRU, a TTL or a `WeakMap`, sockets
//! and pools with `destroy`/`release` or one shared agent) and uses the names read from
//! the finding: the emitter, the event, the listener's function, the collection, and the
//! function that contains the leaking line, which the regression test calls.
//!
//! Every sketch is plain JavaScript that `node --check` accepts (tests/report_fixcode.rs
//! checks each template); comments are whole sentences wrapped at word boundaries.

use super::evidence::FindingView;
use super::facts::{LeakGroup, PatternKind, base_name};

/// The template's fix-strategy boxes, in order, and the patterns each one fixes.
pub const STRATEGIES: [(&str, &[PatternKind]); 5] = [
    (
        "Remove event listeners (use `removeListener()` or `once()`)",
        &[PatternKind::EventListener, PatternKind::DetachedDom],
    ),
    (
        "Close connections (use context managers or `try/finally`)",
        &[PatternKind::UnclosedConnection],
    ),
    (
        "Clear timers (use `clearInterval()`/`clearTimeout()`)",
        &[PatternKind::Timer],
    ),
    (
        "Use WeakMap/WeakSet (for cache)",
        &[PatternKind::UnboundedCollection],
    ),
    (
        "Implement generator/streaming (for large datasets)",
        &[PatternKind::LargeDataset],
    ),
];

/// The pattern in words, for "Pattern:" and the root cause.
pub fn label(p: PatternKind) -> &'static str {
    match p {
        PatternKind::EventListener => "Event listener leak (listeners added and never removed)",
        PatternKind::Timer => "Timer leak (interval or timeout never cleared)",
        PatternKind::Closure => "Closure trap (a closure's context keeps data it does not use)",
        PatternKind::UnclosedConnection => {
            "Unclosed connection (sockets, handles or pool clients never closed)"
        }
        PatternKind::UnboundedCollection => {
            "Unbounded collection (a long-lived Map/Set/Array/object that only grows)"
        }
        PatternKind::LargeDataset => "Large dataset kept in memory (one big allocation that stays)",
        PatternKind::DetachedDom => {
            "Detached DOM (elements removed from the page but still referenced)"
        }
        PatternKind::Unknown => "Unclassified leak (the retainer path is the evidence)",
    }
}

/// The fix strategy in one phrase (DESIGN.md wording).
pub fn strategy(p: PatternKind) -> &'static str {
    match p {
        PatternKind::EventListener => {
            "remove the listener when what it serves is done (`off`/`removeListener`, `removeEventListener` or an `AbortSignal`, `unsubscribe`), or register it with `once`"
        }
        PatternKind::Timer => {
            "keep the timer handle and `clearInterval`/`clearTimeout` it when its owner ends"
        }
        PatternKind::Closure => "narrow the closure's scope, or null out the captured data",
        PatternKind::UnclosedConnection => {
            "close it on every path (`destroy()` or the pool's `release()` in `finally`), or reuse one agent"
        }
        PatternKind::UnboundedCollection => "bound it (LRU, TTL), or use a `WeakMap`/`WeakSet`",
        PatternKind::LargeDataset => "stream or chunk the data (generators, streams)",
        PatternKind::DetachedDom => {
            "drop the references when the element is removed (null the variable, clear the array, remove the listener that closes over it)"
        }
        PatternKind::Unknown => "cut the reference the retainer path shows",
    }
}

/// Wraps evidence text in a Markdown code span that no content can break out of.
pub fn code(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    let pad = s.starts_with('`') || s.ends_with('`') || s.is_empty();
    if pad {
        format!("{fence} {s} {fence}")
    } else {
        format!("{fence}{s}{fence}")
    }
}

/// A JavaScript identifier made from evidence text (for sketches), or `fallback`.
pub fn ident(s: &str, fallback: &str) -> String {
    let mut out: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '$')
        .collect();
    if out.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if out.is_empty() || out.len() > 60 || is_reserved(&out) {
        fallback.to_string()
    } else {
        out
    }
}

/// A JavaScript expression made of identifiers and dots (`this.bus`, `process`), or `fallback`.
pub fn ident_path(s: &str, fallback: &str) -> String {
    let parts: Vec<String> = s.split('.').map(|p| ident(p, "")).collect();
    if parts.iter().any(|p| p.is_empty()) || parts.is_empty() || s.len() > 80 {
        fallback.to_string()
    } else {
        parts.join(".")
    }
}

fn is_reserved(s: &str) -> bool {
    matches!(
        s,
        "break"
            | "case"
            | "catch"
            | "class"
            | "const"
            | "continue"
            | "debugger"
            | "default"
            | "delete"
            | "do"
            | "else"
            | "export"
            | "extends"
            | "finally"
            | "for"
            | "function"
            | "if"
            | "import"
            | "in"
            | "instanceof"
            | "new"
            | "return"
            | "super"
            | "switch"
            | "throw"
            | "try"
            | "typeof"
            | "var"
            | "void"
            | "while"
            | "with"
            | "yield"
            | "let"
            | "static"
            | "enum"
            | "await"
            | "implements"
            | "package"
            | "protected"
            | "interface"
            | "private"
            | "public"
            | "null"
            | "true"
            | "false"
            | "arguments"
            | "eval"
    )
}

/// A JavaScript string literal (single-quoted) from evidence text.
pub fn js_str(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '<' => out.push_str("\\x3c"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Text as `//` comment lines of at most `width` characters, wrapped at spaces (a word longer
/// than the width gets a line of its own, never cut). `*/` and line breaks cannot escape.
pub fn comment(indent: &str, text: &str, width: usize) -> Vec<String> {
    // U+2028 and U+2029 end a line in JavaScript: inside a comment they would end it too
    let clean: String = text
        .chars()
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                ' '
            } else {
                c
            }
        })
        .collect();
    let mut lines = Vec::new();
    let mut cur = String::new();
    for w in clean.split_whitespace() {
        if !cur.is_empty() && cur.chars().count() + 1 + w.chars().count() > width {
            lines.push(format!("{indent}// {cur}"));
            cur.clear();
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(w);
    }
    if !cur.is_empty() {
        lines.push(format!("{indent}// {cur}"));
    }
    lines
}

/// Which API the leaking listener is registered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    EventEmitter,
    EventTarget,
    Stream,
    Subscription,
}

/// What kind of connection is left open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conn {
    Socket,
    Agent,
    Pool,
    Other,
}

/// A function declaration found around the leaking line.
#[derive(Clone, Debug, PartialEq)]
pub struct Func {
    pub name: String,
    pub params: Vec<String>,
    pub line: u32,
    pub is_async: bool,
}

/// Names read from a finding's code, its source and its retainer path.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Names {
    /// The emitter expression (`configBus`, `process`, `this.bus`).
    pub emitter: Option<String>,
    /// The event name (`reload`).
    pub event: Option<String>,
    /// The leaked function's own name, when it has one.
    pub handler: Option<String>,
    /// The leaked function's parameter list, as written.
    pub handler_params: Option<String>,
    pub api: Option<Api>,
    /// The timer function used (`setInterval`, `setTimeout`, `setImmediate`).
    pub timer_fn: Option<String>,
    /// The collection's variable or property name.
    pub collection: Option<String>,
    /// The collection's class (`Map`, `Set`, `Array`, `Object`).
    pub collection_class: Option<String>,
    pub conn: Option<Conn>,
    /// The function that contains the leaking line (the regression test calls it).
    pub enclosing: Option<Func>,
    /// The module file of the location, by its base name (`service.js`).
    pub module: Option<String>,
    /// Whether the module's source exports the enclosing function / the emitter or
    /// collection (unknown without the source).
    pub exports_function: Option<bool>,
    pub exports_holder: Option<bool>,
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$' || c == '.'
}

/// The identifier (with dots) that ends right before byte `end` of `s`.
fn ident_before(s: &str, end: usize) -> Option<String> {
    let head = s.get(..end)?;
    let start = head
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_ident_char(*c))
        .last()
        .map(|(i, _)| i)?;
    let id = head.get(start..)?.trim_matches('.');
    (!id.is_empty()).then(|| id.to_string())
}

/// The first quoted string at the start of `s` (after spaces).
fn quoted_at(s: &str) -> Option<String> {
    let s = s.trim_start();
    let q = s.chars().next()?;
    if q != '\'' && q != '"' && q != '`' {
        return None;
    }
    let rest = &s[q.len_utf8()..];
    let end = rest.find(q)?;
    Some(rest[..end].to_string())
}

/// The identifier at the start of `s` (after spaces).
fn ident_at(s: &str) -> Option<String> {
    let id: String = s
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
        .collect();
    (!id.is_empty() && !id.chars().next().is_some_and(|c| c.is_ascii_digit())).then_some(id)
}

/// The text between the `(` at the start of `s` and its matching `)`.
fn parens(s: &str) -> Option<String> {
    let s = s.trim_start();
    if !s.starts_with('(') {
        return None;
    }
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(s[1..i].to_string());
                }
            }
            _ => {}
        }
    }
    None
}

fn split_params(p: &str) -> Vec<String> {
    p.split(',')
        .map(|x| {
            x.split('=')
                .next()
                .unwrap_or("")
                .trim()
                .trim_start_matches("...")
                .to_string()
        })
        .filter(|x| !x.is_empty())
        .collect()
}

/// A function declared on `line`: `function f(a)`, `async function f(a)`, `f = function (a)`,
/// `const f = (a) =>`, `const f = a =>`, or a method `f(a) {`.
pub fn declared_function(line: &str) -> Option<Func> {
    let t = line.trim_start();
    let is_async = t.starts_with("async ") || t.contains("= async");
    // function NAME(
    if let Some(i) = t.find("function") {
        let rest = t[i + "function".len()..]
            .trim_start_matches('*')
            .trim_start();
        if let Some(name) = ident_at(rest) {
            let after = &rest[rest.find(&name)? + name.len()..];
            if let Some(p) = parens(after) {
                // `x.on('e', function f(a) {` is a function passed as an argument, not a
                // declaration of a function the line runs in
                let before = &t[..i];
                if !before.contains('(') {
                    return Some(Func {
                        name,
                        params: split_params(&p),
                        line: 0,
                        is_async,
                    });
                }
            }
        }
    }
    // NAME = function (  /  NAME = (…) =>  /  NAME = a =>
    let decl = t
        .trim_start_matches("export ")
        .trim_start_matches("const ")
        .trim_start_matches("let ")
        .trim_start_matches("var ");
    if let Some(eq) = decl.find('=') {
        let lhs = decl[..eq].trim();
        let rhs = decl[eq + 1..].trim_start();
        let rhs = rhs.trim_start_matches("async ").trim_start();
        let name = lhs.rsplit('.').next().unwrap_or(lhs).trim();
        if !rhs.starts_with('=')
            && !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
        {
            if let Some(r) = rhs.strip_prefix("function") {
                let r = r.trim_start_matches('*').trim_start();
                let r = r.trim_start_matches(|c: char| c.is_alphanumeric() || c == '_' || c == '$');
                if let Some(p) = parens(r) {
                    return Some(Func {
                        name: name.into(),
                        params: split_params(&p),
                        line: 0,
                        is_async,
                    });
                }
            }
            if let Some(p) = parens(rhs)
                && rhs[p.len() + 2..].trim_start().starts_with("=>")
            {
                return Some(Func {
                    name: name.into(),
                    params: split_params(&p),
                    line: 0,
                    is_async,
                });
            }
            if let Some(a) = ident_at(rhs)
                && rhs[a.len()..].trim_start().starts_with("=>")
            {
                return Some(Func {
                    name: name.into(),
                    params: vec![a],
                    line: 0,
                    is_async,
                });
            }
        }
    }
    // method: NAME(params) {
    let m = t.trim_start_matches("async ").trim_start_matches("static ");
    if let Some(name) = ident_at(m)
        && !matches!(
            name.as_str(),
            "if" | "for" | "while" | "switch" | "catch" | "function" | "return" | "with"
        )
        && let Some(p) = parens(&m[name.len()..])
        && m[name.len()..].trim_start()[p.len() + 2..]
            .trim_start()
            .starts_with('{')
    {
        return Some(Func {
            name,
            params: split_params(&p),
            line: 0,
            is_async,
        });
    }
    None
}

fn indent_of(s: &str) -> usize {
    s.chars().take_while(|c| *c == ' ' || *c == '\t').count()
}

/// `(line number, text)` of a finding's excerpt (`"   24 | text"`).
fn excerpt_lines(f: &FindingView) -> Vec<(u32, String)> {
    f.excerpt
        .iter()
        .filter_map(|l| {
            let (n, t) = l.split_once('|')?;
            let n: u32 = n.trim().trim_start_matches('>').trim().parse().ok()?;
            Some((n, t.strip_prefix(' ').unwrap_or(t).to_string()))
        })
        .collect()
}

/// The function that contains line `line` of `lines` (numbered), found by the nearest
/// declaration above it that is indented less.
fn enclosing(lines: &[(u32, String)], line: u32) -> Option<Func> {
    let at = lines.iter().find(|(n, _)| *n == line)?;
    let mut indent = indent_of(&at.1);
    for (n, t) in lines.iter().rev().filter(|(n, _)| *n < line) {
        if t.trim().is_empty() {
            continue;
        }
        let i = indent_of(t);
        if i < indent {
            if let Some(mut f) = declared_function(t) {
                f.line = *n;
                return Some(f);
            }
            indent = i;
            if i == 0 {
                // a top-level statement that is not a function: the line runs at load time
                return None;
            }
        }
    }
    None
}

fn exported(source: &str, name: &str) -> bool {
    source.lines().any(|l| {
        let t = l.trim();
        (t.starts_with("module.exports") || t.starts_with("exports.") || t.starts_with("export "))
            && t.contains(name)
    }) || source.contains(&format!("export function {name}"))
        || source.contains(&format!("export async function {name}"))
}

/// Reads emitter, event, handler, API, timer, collection and the enclosing function from a
/// finding; `source` is the location's whole file when the caller could read it.
pub fn names(f: &FindingView, source: Option<&str>) -> Names {
    let mut n = Names::default();
    let code = f.code.clone().unwrap_or_default();
    for (method, api) in [
        (".addEventListener(", Api::EventTarget),
        (".subscribe(", Api::Subscription),
        (".prependListener(", Api::EventEmitter),
        (".addListener(", Api::EventEmitter),
        (".once(", Api::EventEmitter),
        (".on(", Api::EventEmitter),
    ] {
        if let Some(i) = code.find(method) {
            n.emitter = ident_before(&code, i);
            n.api = Some(api);
            let args = &code[i + method.len()..];
            if api == Api::Subscription {
                n.handler = ident_at(args).filter(|a| a != "function" && a != "async");
            } else {
                n.event = quoted_at(args);
                if let Some(c) = args.find(',') {
                    let second = args[c + 1..].trim_start();
                    if !second.starts_with("function") && !second.starts_with('(') {
                        n.handler = ident_at(second).filter(|a| a != "async");
                    }
                }
            }
            break;
        }
    }
    if let Some(i) = code.find("function") {
        let rest = code[i + "function".len()..]
            .trim_start_matches('*')
            .trim_start();
        if let Some(name) = ident_at(rest) {
            let after = &rest[name.len()..];
            n.handler_params = parens(after);
            if n.handler.is_none() {
                n.handler = Some(name);
            }
        } else {
            n.handler_params = parens(rest);
        }
    } else if let Some(i) = code.find("=>") {
        // `(next) => {` : the parameters before the arrow
        let head = code[..i].trim_end();
        if let Some(open) = head.rfind('(')
            && head.ends_with(')')
        {
            n.handler_params = Some(head[open + 1..head.len() - 1].to_string());
        }
    }
    if let Some(name) = f.name.as_ref().filter(|s| !s.is_empty()) {
        n.handler = Some(name.clone());
    }
    for t in ["setInterval", "setTimeout", "setImmediate"] {
        if code.contains(t) {
            n.timer_fn = Some(t.to_string());
            break;
        }
    }
    let steps = &f.retainer_path;
    // the emitter and event from the path: `<emitter var> -> EventEmitter ._events -> .<event>`.
    // The last `_events` is the one that holds the listeners: emitters above it only lead
    // there (a quote service's path went through `process._events.SIGTERM`, whose handler's
    // scope holds the `rateFeed` that leaks, and the report said `process.off('SIGTERM')`).
    if let Some(i) = steps.iter().rposition(|s| s.edge == "_events") {
        if n.emitter.is_none() && i > 0 {
            n.emitter = Some(steps[i - 1].edge.clone());
        }
        if n.event.is_none() {
            n.event = steps.get(i + 1).map(|s| s.edge.clone());
        }
        if n.api.is_none() {
            n.api = Some(Api::EventEmitter);
        }
        if let Some(h) = steps.get(i) {
            let c = h.holder.as_str();
            if matches!(
                c,
                "Readable"
                    | "Writable"
                    | "Duplex"
                    | "Transform"
                    | "PassThrough"
                    | "Socket"
                    | "TLSSocket"
                    | "ReadStream"
                    | "WriteStream"
                    | "IncomingMessage"
                    | "ServerResponse"
                    | "WriteWrap"
            ) {
                n.api = Some(Api::Stream);
            }
        }
    }
    if n.api.is_none() || n.api == Some(Api::EventEmitter) {
        let holders: Vec<&str> = steps.iter().map(|s| s.holder.as_str()).collect();
        let edges: Vec<&str> = steps.iter().map(|s| s.edge.as_str()).collect();
        if holders.iter().any(|h| {
            h.contains("EventTarget") || h.contains("AbortSignal") || h.starts_with("Window")
        }) || edges.iter().any(|e| e.contains("kEvents"))
        {
            n.api = Some(Api::EventTarget);
        } else if holders
            .iter()
            .any(|h| h.contains("Subject") || h.contains("Subscriber"))
            || edges
                .iter()
                .any(|e| *e == "observers" || *e == "_subscriptions" || *e == "subscribers")
        {
            n.api = Some(Api::Subscription);
        }
    }
    if let Some(o) = &f.owner
        && !o.name.is_empty()
    {
        match PatternKind::from_id(&f.pattern) {
            PatternKind::EventListener if n.emitter.is_none() => n.emitter = Some(o.name.clone()),
            PatternKind::UnboundedCollection => n.collection = Some(o.name.clone()),
            _ => {}
        }
    }
    // the collection: the last Map/Set/Array/Object holder on the path, named by the edge into it
    let coll = steps.iter().enumerate().rev().find(|(_, s)| {
        matches!(
            s.holder.as_str(),
            "Map" | "Set" | "Array" | "Object" | "WeakMap"
        ) && s.edge != "_events"
    });
    if let Some((i, s)) = coll {
        n.collection_class = Some(s.holder.clone());
        if i > 0 && n.collection.is_none() {
            let e = &steps[i - 1];
            if e.edge_type != "element" && e.edge_type != "internal" && e.edge_type != "hidden" {
                n.collection = Some(e.edge.clone());
            }
        }
    }
    let holders: Vec<&str> = steps.iter().map(|s| s.holder.as_str()).collect();
    n.conn = Some(
        if holders
            .iter()
            .any(|h| h.contains("Pool") || h.contains("Client"))
        {
            Conn::Pool
        } else if holders.contains(&"Agent") || f.class == "Agent" {
            Conn::Agent
        } else if holders
            .iter()
            .any(|h| matches!(*h, "Socket" | "TLSSocket" | "TCP" | "TLSWrap"))
            || matches!(f.class.as_str(), "Socket" | "TLSSocket" | "TCP")
        {
            Conn::Socket
        } else {
            Conn::Other
        },
    );
    // the enclosing function: from the whole source when given, else from the excerpt
    if let Some(loc) = &f.location {
        n.module = Some(base_name(&loc.file).to_string());
        let lines: Vec<(u32, String)> = match source {
            Some(src) => src
                .lines()
                .enumerate()
                .map(|(i, l)| (i as u32 + 1, l.to_string()))
                .collect(),
            None => excerpt_lines(f),
        };
        n.enclosing = enclosing(&lines, loc.line);
        if let Some(src) = source {
            n.exports_function = n.enclosing.as_ref().map(|e| exported(src, &e.name));
            let holder = match PatternKind::from_id(&f.pattern) {
                PatternKind::UnboundedCollection => n.collection.clone(),
                _ => n.emitter.clone(),
            };
            n.exports_holder = holder.map(|h| exported(src, &h));
        }
    }
    n
}

/// The parameter of the enclosing function whose end ends the leaked unit's use: an HTTP
/// response, a request, a socket or connection (Node's conventions for these names).
fn owner_param(n: &Names) -> Option<(String, &'static str)> {
    let f = n.enclosing.as_ref()?;
    // the response first: it closes when the exchange is over (Node emits 'close' on it)
    for names in [
        &["res", "response", "reply"][..],
        &[
            "socket",
            "sock",
            "conn",
            "connection",
            "ws",
            "client",
            "stream",
        ][..],
        &["req", "request"][..],
    ] {
        if let Some(p) = f
            .params
            .iter()
            .find(|p| names.contains(&p.to_ascii_lowercase().as_str()))
        {
            return Some((ident(p, "owner"), "close"));
        }
    }
    None
}

/// The names of a group, read with the location's source when the caller had it.
pub fn group_names(g: &LeakGroup) -> Names {
    names(&g.finding, g.source.as_deref())
}

/// The registration that leaks, as code: `configBus.on('reload', ...)`.
fn registration(n: &Names) -> String {
    let emitter = n.emitter.clone().unwrap_or_else(|| "emitter".into());
    match n.api {
        Some(Api::EventTarget) => format!(
            "{}.addEventListener({}, ...)",
            emitter,
            js_str(n.event.as_deref().unwrap_or("event"))
        ),
        Some(Api::Subscription) => format!("{emitter}.subscribe(...)"),
        _ => format!(
            "{}.on({}, ...)",
            emitter,
            js_str(n.event.as_deref().unwrap_or("event"))
        ),
    }
}

/// What an owner parameter stands for, in words.
fn owner_noun(p: &str) -> &'static str {
    match p.to_ascii_lowercase().as_str() {
        "res" | "response" | "reply" => "response",
        "req" | "request" => "request",
        "ws" => "WebSocket",
        "stream" => "stream",
        "client" => "client",
        _ => "connection",
    }
}

/// The cause as a clause, with the names found: `` `configBus.on('reload', ...)` adds a
/// listener on every call and never removes it ``.
pub fn cause(g: &LeakGroup) -> String {
    let n = group_names(g);
    if is_python(g) {
        let owner = n.collection.clone().or(n.emitter.clone());
        let held = owner
            .map(|o| code(&o))
            .unwrap_or_else(|| "a long-lived object".into());
        return match g.pattern {
            PatternKind::EventListener => {
                format!("a callback is registered with {held} on every call and never unregistered")
            }
            PatternKind::UnclosedConnection => format!("{} are opened and never closed", g.units),
            PatternKind::Timer => "threads or timers are started and never stopped".into(),
            _ => format!("{} are added to {held} and never removed", g.units),
        };
    }
    match g.pattern {
        PatternKind::EventListener => {
            let call = registration(&n);
            let what = match n.api {
                Some(Api::Subscription) => "subscribes on every call and never unsubscribes",
                _ => "adds a listener on every call and never removes it",
            };
            format!("{} {what}", code(&call))
        }
        PatternKind::Timer => format!(
            "a timer ({}) is started and never cleared",
            code(n.timer_fn.as_deref().unwrap_or("setInterval"))
        ),
        PatternKind::Closure => {
            "a long-lived closure keeps a context with data it does not use".into()
        }
        PatternKind::UnclosedConnection => match n.conn {
            Some(Conn::Agent) => {
                "a new HTTP agent (with its sockets) is made per call and never destroyed".into()
            }
            Some(Conn::Pool) => {
                "pool clients are checked out and not released on every path".into()
            }
            _ => "connections are opened and never closed".into(),
        },
        PatternKind::UnboundedCollection => format!(
            "entries are added to {} and never evicted",
            code(n.collection.as_deref().unwrap_or("a long-lived collection"))
        ),
        PatternKind::LargeDataset => "a whole dataset is loaded and kept in memory".into(),
        PatternKind::DetachedDom => "removed DOM elements stay referenced from JavaScript".into(),
        PatternKind::Unknown => "objects stay reachable through the retainer path below".into(),
    }
}

/// The fix in one clause, with the names found.
pub fn fix_short(g: &LeakGroup) -> String {
    let n = group_names(g);
    if is_python(g) {
        return match g.pattern {
            PatternKind::EventListener | PatternKind::Closure => {
                "unregister the callback when its owner ends, or hold it weakly".into()
            }
            PatternKind::UnclosedConnection => "close it with a `with` block on every path".into(),
            PatternKind::Timer => "keep the thread or timer and stop it when its owner ends".into(),
            _ => "bound the container (an LRU `OrderedDict`, `deque(maxlen=...)`, `lru_cache(maxsize=...)`) or key it weakly".into(),
        };
    }
    let emitter = ident_path(n.emitter.as_deref().unwrap_or("emitter"), "emitter");
    let event = js_str(n.event.as_deref().unwrap_or("event"));
    let handler = ident(n.handler.as_deref().unwrap_or(""), "onEvent");
    match g.pattern {
        PatternKind::EventListener => match (n.api, owner_param(&n)) {
            (Some(Api::EventTarget), _) => format!(
                "register it with an `AbortSignal` and abort it when done, or call {}",
                code(&format!(
                    "{emitter}.removeEventListener({event}, {handler})"
                ))
            ),
            (Some(Api::Subscription), _) => {
                "keep the subscription and call `unsubscribe()` when done (or `takeUntil`)".into()
            }
            (_, Some((owner, ev))) => format!(
                "remove the listener when the {} closes: {}",
                owner_noun(&owner),
                code(&format!(
                    "{owner}.once('{ev}', () => {emitter}.off({event}, {handler}))"
                ))
            ),
            _ => format!(
                "remove the listener when what it serves is done: {}, or register it with {}",
                code(&format!("{emitter}.off({event}, {handler})")),
                code("once")
            ),
        },
        p => strategy(p).to_string(),
    }
}

/// Why the leaked objects are not garbage-collected, for this group.
pub fn why_not_collected(g: &LeakGroup, path_line: &str) -> String {
    let n = group_names(g);
    let what = format!(
        "{} {}",
        crate::report::words::count(g.per_snapshot.last().copied().unwrap_or(g.count)),
        g.units
    );
    match g.pattern {
        PatternKind::EventListener => match n.api {
            Some(Api::EventTarget) => format!(
                "The event target {} keeps every listener registered for {} until `removeEventListener` is called or the listener's `AbortSignal` is aborted; nothing does, so each listener and everything its closure captured stay reachable ({what}, path: {path_line}).",
                code(n.emitter.as_deref().unwrap_or("(the target)")),
                code(n.event.as_deref().unwrap_or("(the event)"))
            ),
            Some(Api::Subscription) => format!(
                "The source keeps every subscriber until it unsubscribes; nothing unsubscribes, so each subscriber and what it captured stay reachable ({what}, path: {path_line})."
            ),
            _ => format!(
                "The emitter {} lives as long as the process and keeps every listener registered for {} in its `_events`; nothing calls `off`/`removeListener`, so each listener function, its closure context and everything the closure captured stay reachable ({what}, path: {path_line}).",
                code(n.emitter.as_deref().unwrap_or("(the emitter)")),
                code(n.event.as_deref().unwrap_or("(the event)")),
            ),
        },
        PatternKind::Timer if is_python(g) => format!(
            "A running thread is a root: the `threading` module keeps every started `Thread` (a `Timer` too) until its `run` returns, and the thread's frames keep what it uses. These never end, so {what} stay alive (path: {path_line})."
        ),
        PatternKind::Timer => format!(
            "An active timer is a GC root: Node's timer list keeps each `Timeout` and its callback until the timer is cleared, and an interval is never cleared on its own. The callbacks' closures keep {what} alive (path: {path_line})."
        ),
        PatternKind::Closure => format!(
            "All closures created in one scope share one context object. A long-lived closure keeps that context, so a variable another (short-lived) closure used is kept too, even though the long-lived one never reads it: {what} (path: {path_line})."
        ),
        PatternKind::UnclosedConnection if is_python(g) => format!(
            "A socket, file or session is closed when it is closed explicitly or when its last reference goes; here a long-lived object keeps a reference to each, so none is collected and each keeps its descriptor open: {what} (path: {path_line})."
        ),
        PatternKind::UnclosedConnection => format!(
            "Open sockets and handles are referenced by the event loop (libuv) until they are closed or destroyed; pool clients stay in the pool's bookkeeping until released. They, their buffers and their listeners stay reachable: {what} (path: {path_line})."
        ),
        PatternKind::UnboundedCollection => format!(
            "The collection {} is owned by a long-lived object (a module, a singleton or the global), and entries are added but never deleted; each entry is strongly referenced by it, so {what} can never be collected (path: {path_line}).",
            code(n.collection.as_deref().unwrap_or("(the collection)"))
        ),
        PatternKind::LargeDataset => format!(
            "The whole dataset was loaded into one structure that stays referenced after it is used ({what}, path: {path_line}); the GC cannot free any of it while one reference remains."
        ),
        PatternKind::DetachedDom => format!(
            "The elements were removed from the document, but JavaScript still references them (a variable, an array, or a listener's closure), so the whole detached subtree stays in memory ({what}, path: {path_line})."
        ),
        PatternKind::Unknown => format!(
            "Every object on the path keeps the next one alive, from a GC root down to {what} (path: {path_line}). Cutting any edge marked suspect frees the group."
        ),
    }
}

/// "Why This Leaks": the steps from the code to the growth.
pub fn why_it_leaks(g: &LeakGroup, loc: &str) -> Vec<String> {
    let n = group_names(g);
    let result = format!(
        "Result: memory accumulates: {}.",
        crate::report::sections::group_size_text(g)
    );
    let inside = n
        .enclosing
        .as_ref()
        .map(|e| format!(" (inside {})", code(&format!("{}()", e.name))))
        .unwrap_or_default();
    match g.pattern {
        PatternKind::EventListener if is_python(g) => vec![
            format!("The code at {loc}{inside} registers a callback every time it runs."),
            "Nothing unregisters it, and the registry lives for the whole process, so it only grows; each callback keeps what it closes over.".into(),
            result,
        ],
        PatternKind::EventListener => vec![
            format!(
                "The code at {loc}{inside} runs {} every time it is called (per request or per call), registering a new listener function.",
                code(&registration(&n))
            ),
            "No code path removes it, and the emitter lives for the whole process, so its listener list only grows; each listener keeps what its closure captured.".into(),
            result,
        ],
        PatternKind::Timer if is_python(g) => vec![
            format!("The code at {loc}{inside} starts a thread or timer on every call."),
            "Nothing stops it or waits for it to end, so the threads pile up, each with its stack and what its target uses.".into(),
            result,
        ],
        PatternKind::Timer => vec![
            format!(
                "The code at {loc}{inside} starts a timer ({}) whose handle is dropped or never cleared.",
                code(n.timer_fn.as_deref().unwrap_or("setInterval"))
            ),
            "Node keeps active timers (and what their callbacks capture) reachable until they are cleared.".into(),
            result,
        ],
        PatternKind::Closure => vec![
            format!("The function at {loc}{inside} creates a closure that outlives the call (stored, scheduled, or registered)."),
            "That closure shares its scope's context with the data created in the same call, so the data stays reachable through the context.".into(),
            result,
        ],
        PatternKind::UnclosedConnection if is_python(g) => vec![
            format!("The code at {loc}{inside} opens a socket, file or session and keeps it in a long-lived object."),
            "No path closes it (no `with` block or `close()`), and the object holding it lives for the whole process, so neither the object nor its descriptor is released.".into(),
            result,
        ],
        PatternKind::UnclosedConnection => vec![
            format!("The code at {loc}{inside} opens a connection, makes an agent, or checks out a pool client."),
            "An error path or a missing `destroy()`/`release()` leaves it open, so the socket, its buffers and listeners stay referenced.".into(),
            result,
        ],
        PatternKind::UnboundedCollection => vec![
            format!(
                "The code at {loc}{inside} adds an entry to {} on every call.",
                code(n.collection.as_deref().unwrap_or("a long-lived collection"))
            ),
            "Nothing evicts entries: there is no size bound, TTL, or delete on the paths that end an entry's use.".into(),
            result,
        ],
        PatternKind::LargeDataset => vec![
            format!("The code at {loc}{inside} loads a whole dataset into memory at once."),
            "The result stays referenced after use (kept in a variable or a cache).".into(),
            result,
        ],
        PatternKind::DetachedDom => vec![
            format!("The code at {loc}{inside} removes elements from the page but keeps references to them."),
            "A detached element keeps its whole subtree, and a listener on it keeps its closure.".into(),
            result,
        ],
        PatternKind::Unknown => vec![
            format!("Objects created by the code at {loc}{inside} stay reachable through the retainer path shown above."),
            "No pattern of the catalog matched the path, so the path itself is the evidence.".into(),
            result,
        ],
    }
}

/// A proposed fix: the code, and notes on names that had to be assumed.
#[derive(Debug, Clone, PartialEq)]
pub struct Sketch {
    pub lines: Vec<String>,
    pub notes: Vec<String>,
}

fn before_line(original: &str, fallback: &str) -> Vec<String> {
    let t = crate::report::sections::one_line(original, fallback);
    comment("", &format!("Before: {t}"), 96)
}

/// Whether the group's code is Python (a finding of `memsleuth python`, contract C5).
pub fn is_python(g: &LeakGroup) -> bool {
    g.finding
        .location
        .as_ref()
        .is_some_and(|l| l.file.to_ascii_lowercase().ends_with(".py"))
}

/// The fix, sketched for the code at hand (JavaScript, or Python for a Python finding).
pub fn fixed_code(g: &LeakGroup) -> Sketch {
    if is_python(g) {
        return super::pysketch::fixed_code(g);
    }
    let f = &g.finding;
    let n = group_names(g);
    let original = f.code.clone().unwrap_or_default();
    let mut out = Vec::new();
    let mut notes = Vec::new();
    let emitter = ident_path(n.emitter.as_deref().unwrap_or(""), "emitter");
    let event = js_str(n.event.as_deref().unwrap_or("event"));
    let handler = ident(n.handler.as_deref().unwrap_or(""), "onEvent");
    let params = n
        .handler_params
        .as_deref()
        .map(|p| {
            split_params(p)
                .iter()
                .map(|x| ident(x, "arg"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    if n.emitter.is_none() && g.pattern == PatternKind::EventListener {
        notes.push("The emitter's name is not in the evidence: `emitter` stands for it.".into());
    }
    if n.handler.is_none() && g.pattern == PatternKind::EventListener {
        notes.push(
            "The listener is anonymous: give it a name (`onEvent` here) so it can be removed."
                .into(),
        );
    }
    if let Some(lib) = &f.library
        && !lib.name.is_empty()
    {
        notes.push(format!(
            "The growing container lives in the dependency {}{}: fix how your code calls it (below), or upgrade/patch the library.",
            code(&lib.name),
            f.library_location
                .as_ref()
                .map(|l| format!(" (at {})", code(&format!("{}:{}", l.file, l.line))))
                .unwrap_or_default()
        ));
    }
    match g.pattern {
        PatternKind::EventListener => {
            out.extend(before_line(&original, "a listener added on every call"));
            match n.api {
                Some(Api::EventTarget) => {
                    out.extend(comment(
                        "",
                        "Tie the listener to a lifetime: aborting the signal removes it.",
                        96,
                    ));
                    out.push("const controller = new AbortController();".into());
                    out.push(format!("function {handler}({params}) {{"));
                    out.push("  // ... the listener's body, unchanged ...".into());
                    out.push("}".into());
                    out.push(format!(
                        "{emitter}.addEventListener({event}, {handler}, {{ signal: controller.signal }});"
                    ));
                    out.extend(comment("", "When what the listener serves is done (the request ends, the component unmounts):", 96));
                    out.push("function stopListening() {".into());
                    out.push("  controller.abort(); // same as removeEventListener with the same function".into());
                    out.push("}".into());
                    out.extend(comment("", &format!("Without a signal: {emitter}.removeEventListener({event}, {handler}). For one event only: {{ once: true }}."), 96));
                }
                Some(Api::Subscription) => {
                    out.extend(comment(
                        "",
                        "Keep the subscription and end it when its owner ends.",
                        96,
                    ));
                    out.push(format!(
                        "const subscription = {emitter}.subscribe({handler});"
                    ));
                    out.push("function stopListening() {".into());
                    out.push("  subscription.unsubscribe();".into());
                    out.push("}".into());
                    out.extend(comment("", &format!("With RxJS, end it with the owner's lifetime instead: {emitter}.pipe(takeUntil(destroyed$)).subscribe({handler}), then destroyed$.next() when done."), 96));
                }
                _ => {
                    let stream = n.api == Some(Api::Stream);
                    out.push(format!("function {handler}({params}) {{"));
                    out.push("  // ... the listener's body, unchanged ...".into());
                    out.push("}".into());
                    out.push(format!("{emitter}.on({event}, {handler});"));
                    match owner_param(&n) {
                        Some((owner, ev)) => {
                            let encl = n
                                .enclosing
                                .as_ref()
                                .map(|e| e.name.clone())
                                .unwrap_or_default();
                            out.extend(comment(
                                "",
                                &format!(
                                    "The listener serves one call{}: remove it when that call's {} closes.",
                                    if encl.is_empty() { String::new() } else { format!(" of {encl}()") },
                                    owner_noun(&owner)
                                ),
                                96,
                            ));
                            out.push(format!(
                                "{owner}.once('{ev}', () => {emitter}.off({event}, {handler}));"
                            ));
                        }
                        None => {
                            out.extend(comment("", "Remove the listener when what it serves is done (closed, finished, destroyed):", 96));
                            out.push("function stopListening() {".into());
                            out.push(format!("  {emitter}.off({event}, {handler});"));
                            out.push("}".into());
                        }
                    }
                    out.extend(comment(
                        "",
                        &if stream {
                            format!("If only the next event matters, use {emitter}.once({event}, {handler}), or await events.once({emitter}, {event}) in an async function; stream.finished() tells when the stream is done.")
                        } else {
                            format!("If only the next event matters: {emitter}.once({event}, {handler}). In an async function, await events.once({emitter}, {event}, {{ signal }}) also removes its listener when the signal aborts.")
                        },
                        96,
                    ));
                }
            }
        }
        PatternKind::Timer => {
            let t = n.timer_fn.clone().unwrap_or_else(|| "setInterval".into());
            let clear = match t.as_str() {
                "setTimeout" => "clearTimeout",
                "setImmediate" => "clearImmediate",
                _ => "clearInterval",
            };
            out.extend(before_line(&original, "a timer whose handle is lost"));
            out.push("const periodMs = 1000; // the period the code uses".into());
            out.push("function tick() {".into());
            out.push("  // ... the timer's body, unchanged ...".into());
            out.push("}".into());
            out.push(format!("const handle = {t}(tick, periodMs);"));
            match owner_param(&n) {
                Some((owner, ev)) => {
                    out.extend(comment(
                        "",
                        &format!(
                            "The timer serves one {0}: clear it when the {0} closes.",
                            owner_noun(&owner)
                        ),
                        96,
                    ));
                    out.push(format!("{owner}.once('{ev}', () => {clear}(handle));"));
                }
                None => {
                    out.extend(comment(
                        "",
                        "Clear it when its owner (request, connection, component) ends:",
                        96,
                    ));
                    out.push("function stop() {".into());
                    out.push(format!("  {clear}(handle);"));
                    out.push("}".into());
                }
            }
            out.extend(comment(
                "",
                "A timer that must not keep the process alive: handle.unref().",
                96,
            ));
        }
        PatternKind::Closure => {
            out.extend(before_line(
                &original,
                "a closure that captures a large scope",
            ));
            out.extend(comment("", "Copy only what the long-lived closure needs, so it does not share a context with the large data, and drop the large data once it is used.", 96));
            out.push("function makeCallback(largeData) {".into());
            out.push(
                "  const needed = largeData.length; // the small part the callback reads".into(),
            );
            out.push("  return () => needed;".into());
            out.push("}".into());
        }
        PatternKind::UnclosedConnection => {
            out.extend(before_line(
                &original,
                "a connection opened and not always closed",
            ));
            match n.conn {
                Some(Conn::Agent) => {
                    out.extend(comment("", "Make one agent for the module and reuse it; an agent per request keeps its sockets until it is destroyed.", 96));
                    out.push("const http = require('node:http');".into());
                    out.push(
                        "const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });".into(),
                    );
                    out.push("function get(url, onResponse) {".into());
                    out.push("  return http.get(url, { agent }, onResponse);".into());
                    out.push("}".into());
                    out.extend(comment(
                        "",
                        "If an agent must be per use: agent.destroy() when done.",
                        96,
                    ));
                }
                Some(Conn::Pool) => {
                    out.extend(comment(
                        "",
                        "Release the pool client on every path, errors included.",
                        96,
                    ));
                    out.push("async function withClient(pool, work) {".into());
                    out.push("  const client = await pool.connect();".into());
                    out.push("  try {".into());
                    out.push("    return await work(client);".into());
                    out.push("  } finally {".into());
                    out.push("    client.release();".into());
                    out.push("  }".into());
                    out.push("}".into());
                }
                _ => {
                    out.extend(comment("", "Destroy the socket on every path: when the work ends, on error, and after an idle timeout.", 96));
                    out.push("const net = require('node:net');".into());
                    out.push("function connect(port, host, onData) {".into());
                    out.push("  const socket = net.connect(port, host);".into());
                    out.push("  socket.setTimeout(30_000, () => socket.destroy());".into());
                    out.push("  socket.on('error', () => socket.destroy());".into());
                    out.push("  socket.on('data', onData);".into());
                    out.push("  socket.once('end', () => socket.destroy());".into());
                    out.push("  return socket;".into());
                    out.push("}".into());
                }
            }
        }
        PatternKind::UnboundedCollection => {
            let name = ident_path(n.collection.as_deref().unwrap_or(""), "cache");
            out.extend(before_line(&original, "entries added and never evicted"));
            match n.collection_class.as_deref() {
                Some("Array") => {
                    out.extend(comment(
                        "",
                        &format!("Bound {name}: keep only the newest MAX_ENTRIES items."),
                        96,
                    ));
                    out.push("const MAX_ENTRIES = 10_000;".into());
                    out.push("function remember(item) {".into());
                    out.push(format!("  {name}.push(item);"));
                    out.push(format!("  if ({name}.length > MAX_ENTRIES) {name}.splice(0, {name}.length - MAX_ENTRIES);"));
                    out.push("}".into());
                }
                Some("Set") => {
                    out.extend(comment("", &format!("Bound {name}: drop the oldest value past MAX_ENTRIES (a Set keeps insertion order)."), 96));
                    out.push("const MAX_ENTRIES = 10_000;".into());
                    out.push("function remember(value) {".into());
                    out.push(format!("  {name}.delete(value);"));
                    out.push(format!("  {name}.add(value);"));
                    out.push(format!("  if ({name}.size > MAX_ENTRIES) {name}.delete({name}.values().next().value);"));
                    out.push("}".into());
                    out.extend(comment("", &format!("If the values are objects with their own lifetime: const {name} = new WeakSet();"), 96));
                }
                _ => {
                    out.extend(comment("", &format!("Bound {name}: a least-recently-used Map of at most MAX_ENTRIES, each entry living at most TTL_MS."), 96));
                    out.push("const MAX_ENTRIES = 10_000;".into());
                    out.push("const TTL_MS = 10 * 60 * 1000;".into());
                    out.push("function remember(key, value) {".into());
                    out.push(format!(
                        "  {name}.delete(key); // re-inserted keys move to the end"
                    ));
                    out.push(format!("  {name}.set(key, {{ value, at: Date.now() }});"));
                    out.push(format!("  if ({name}.size > MAX_ENTRIES) {name}.delete({name}.keys().next().value);"));
                    out.push("}".into());
                    out.push("function recall(key) {".into());
                    out.push(format!("  const e = {name}.get(key);"));
                    out.push("  if (!e) return undefined;".into());
                    out.push(format!("  if (Date.now() - e.at > TTL_MS) {{ {name}.delete(key); return undefined; }}"));
                    out.push(format!("  {name}.delete(key);"));
                    out.push(format!("  {name}.set(key, e);"));
                    out.push("  return e.value;".into());
                    out.push("}".into());
                    out.extend(comment("", &format!("If the keys are objects that have their own lifetime (requests, sockets, components), a WeakMap frees each entry with its key: const {name} = new WeakMap();"), 96));
                }
            }
            if n.collection_class.as_deref() == Some("Object") {
                notes.push(format!(
                    "{} is a plain object: make it a `Map` to use the bound above.",
                    code(&name)
                ));
            }
        }
        PatternKind::LargeDataset => {
            out.extend(before_line(&original, "the whole dataset loaded at once"));
            out.extend(comment(
                "",
                "Process the data as a stream, one record at a time, instead of loading it whole.",
                96,
            ));
            out.push("const fs = require('node:fs');".into());
            out.push("const readline = require('node:readline');".into());
            out.push("async function eachRecord(path, handle) {".into());
            out.push("  const rl = readline.createInterface({ input: fs.createReadStream(path), crlfDelay: Infinity });".into());
            out.push("  for await (const line of rl) {".into());
            out.push("    handle(JSON.parse(line));".into());
            out.push("  }".into());
            out.push("}".into());
        }
        PatternKind::DetachedDom => {
            out.extend(before_line(
                &original,
                "elements removed but still referenced",
            ));
            out.extend(comment("", "When an element is removed, drop every reference to it: the variable or array that holds it, and the listeners that close over it.", 96));
            out.push("function removeCard(card, cards, controller) {".into());
            out.push("  card.remove();".into());
            out.push("  const i = cards.indexOf(card);".into());
            out.push("  if (i !== -1) cards.splice(i, 1);".into());
            out.push(
                "  controller.abort(); // listeners added with { signal: controller.signal }"
                    .into(),
            );
            out.push("}".into());
        }
        PatternKind::Unknown => {
            out.extend(before_line(
                &original,
                "objects kept by the retainer path above",
            ));
            out.extend(comment("", "Remove the reference held by the first suspect edge of the retainer path when the object's work is done: delete it, set it to null, or hold it through a WeakRef or WeakMap.", 96));
        }
    }
    Sketch { lines: out, notes }
}

/// A regression test and a line saying how to run it.
#[derive(Debug, Clone, PartialEq)]
pub struct TestSketch {
    pub explanation: String,
    pub lines: Vec<String>,
}

/// Stand-ins for the arguments of the enclosing function, by Node's naming conventions;
/// `(setup lines, call arguments)`.
fn call_args(f: &Func) -> (Vec<String>, String) {
    let mut setup = Vec::new();
    let mut args = Vec::new();
    let mut need_emitter = false;
    for p in &f.params {
        let id = ident(p, "arg");
        match p.to_ascii_lowercase().as_str() {
            "req" | "request" => {
                args.push("fakeRequest(i)".to_string());
                setup.push(
                    "const fakeRequest = (i) => ({ method: 'GET', url: '/', headers: { 'x-request-id': String(i) } });"
                        .to_string(),
                );
            }
            "res" | "response" | "reply" => {
                need_emitter = true;
                args.push("fakeResponse()".into());
                setup.push("// An HTTP response stand-in: end() finishes it and closes it, as Node's does.".into());
                setup.push("const fakeResponse = () => Object.assign(new EventEmitter(), {".into());
                setup.push("  headersSent: false, statusCode: 200,".into());
                setup.push("  setHeader() {}, getHeader() {}, writeHead() { return this; }, write() { return true; },".into());
                setup.push("  end() { this.headersSent = true; this.emit('finish'); this.emit('close'); return this; },".into());
                setup.push("});".into());
            }
            "next" | "cb" | "callback" | "done" => {
                args.push("() => {}".into());
            }
            _ => {
                args.push(id.clone());
                setup.push(format!(
                    "const {id} = undefined; // give {id} the value one real call passes"
                ));
            }
        }
    }
    if need_emitter {
        setup.insert(0, "const { EventEmitter } = require('node:events');".into());
    }
    setup.dedup();
    (setup, args.join(", "))
}

/// A regression test for the group, for `node --test`, that calls the function containing
/// the leaking line (found in the source or the excerpt) and checks what leaked stays flat.
pub fn regression_test(g: &LeakGroup, loc: &str) -> TestSketch {
    if is_python(g) {
        return super::pysketch::regression_test(g, loc);
    }
    let n = group_names(g);
    let module = n.module.clone().unwrap_or_else(|| "module.js".into());
    let module_id = module
        .strip_suffix(".js")
        .or_else(|| module.strip_suffix(".cjs"))
        .unwrap_or(&module)
        .to_string();
    let emitter = ident_path(n.emitter.as_deref().unwrap_or(""), "emitter");
    let emitter_root = emitter.split('.').next().unwrap_or("emitter").to_string();
    let collection = ident_path(n.collection.as_deref().unwrap_or(""), "cache");
    let coll_root = collection.split('.').next().unwrap_or("cache").to_string();
    let event = js_str(n.event.as_deref().unwrap_or("event"));
    let (func, setup, args) = match &n.enclosing {
        Some(f) => {
            let (s, a) = call_args(f);
            (ident(&f.name, "run"), s, a)
        }
        None => (
            "run".to_string(),
            vec![
                format!(
                    "// The function around {} was not found: call the code path that runs it here.",
                    crate::report::text::plain(loc)
                ),
                "const run = async (i) => { void i; };".to_string(),
            ],
            "i".to_string(),
        ),
    };
    let found = n.enclosing.is_some();
    let holder = match g.pattern {
        PatternKind::EventListener => Some(emitter_root.clone()),
        PatternKind::UnboundedCollection => Some(coll_root.clone()),
        _ => None,
    }
    .filter(|h| h != "process" && h != "globalThis" && h != "window" && h != "document");
    let mut imports: Vec<String> = Vec::new();
    if found {
        imports.push(func.clone());
    }
    if let Some(h) = &holder
        && !imports.contains(h)
    {
        imports.push(h.clone());
    }
    let mut t: Vec<String> = comment(
        "",
        &format!(
            "Regression test for the leak at {} (run: node{} --test {module_id}.leak.test.js).",
            crate::report::text::plain(loc),
            if matches!(
                g.pattern,
                PatternKind::EventListener
                    | PatternKind::Timer
                    | PatternKind::UnclosedConnection
                    | PatternKind::UnboundedCollection
            ) && !(g.pattern == PatternKind::EventListener && n.api == Some(Api::Subscription))
            {
                ""
            } else {
                " --expose-gc"
            }
        ),
        96,
    );
    t.push("const { test } = require('node:test');".into());
    t.push("const assert = require('node:assert');".into());
    if !imports.is_empty() {
        let exported = match (found, n.exports_function, n.exports_holder) {
            (true, Some(true), Some(true)) | (false, _, Some(true)) => true,
            (true, Some(true), None) if holder.is_none() => true,
            _ => false,
        };
        t.push(format!(
            "const {{ {} }} = require('./{module}');{}",
            imports.join(", "),
            if exported {
                ""
            } else {
                " // export these from the module for the test"
            }
        ));
    }
    t.extend(setup);
    t.push(String::new());
    let call = if found {
        format!("await {func}({args})")
    } else {
        "await run(i)".to_string()
    };
    let heap_test = |t: &mut Vec<String>, what: &str| {
        t.push(format!(
            "test('{func} does not keep {what} per call', async () => {{"
        ));
        t.push("  for (let i = 0; i < 100; i++) {".into());
        t.push(format!("    {call}; // warm-up"));
        t.push("  }".into());
        t.push("  global.gc();".into());
        t.push("  const before = process.memoryUsage().heapUsed;".into());
        t.push("  for (let i = 0; i < 2000; i++) {".into());
        t.push(format!("    {call};"));
        t.push("  }".into());
        t.push("  global.gc();".into());
        t.push("  const perCall = (process.memoryUsage().heapUsed - before) / 2000;".into());
        t.push("  assert.ok(perCall < 512, `${perCall.toFixed(0)} bytes kept per call`);".into());
        t.push("});".into());
    };
    match g.pattern {
        PatternKind::EventListener if n.api != Some(Api::Subscription) => {
            let count = match n.api {
                Some(Api::EventTarget) => {
                    t.insert(
                        t.len() - 1,
                        "const { getEventListeners } = require('node:events');".into(),
                    );
                    format!("getEventListeners({emitter}, {event}).length")
                }
                _ => format!("{emitter}.listenerCount({event})"),
            };
            t.push(format!(
                "test('{func} leaves no {} listener on {emitter}', async () => {{",
                crate::report::text::plain(n.event.as_deref().unwrap_or("event"))
                    .replace(['\'', '\\'], "")
            ));
            t.push(format!("  const before = {count};"));
            t.push("  for (let i = 0; i < 100; i++) {".into());
            t.push(format!("    {call};"));
            t.push("  }".into());
            t.push(format!("  assert.strictEqual({count}, before);"));
            t.push("});".into());
        }
        PatternKind::Timer => {
            t.push("const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;".into());
            t.push(format!(
                "test('{func} leaves no timer running', async () => {{"
            ));
            t.push("  const before = timers();".into());
            t.push("  for (let i = 0; i < 100; i++) {".into());
            t.push(format!("    {call};"));
            t.push("  }".into());
            t.push("  await new Promise((r) => setImmediate(r));".into());
            t.push("  assert.strictEqual(timers(), before);".into());
            t.push("});".into());
        }
        PatternKind::UnclosedConnection => {
            t.push("const handles = () => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length;".into());
            t.push(format!(
                "test('{func} closes every connection it opens', async () => {{"
            ));
            t.push("  const before = handles();".into());
            t.push("  for (let i = 0; i < 50; i++) {".into());
            t.push("    try {".into());
            t.push(format!("      {call};"));
            t.push("    } catch {".into());
            t.push("      // error paths must close their connection too".into());
            t.push("    }".into());
            t.push("  }".into());
            t.push("  await new Promise((r) => setTimeout(r, 100));".into());
            t.push("  assert.strictEqual(handles(), before);".into());
            t.push("});".into());
        }
        PatternKind::UnboundedCollection => {
            let size = if n.collection_class.as_deref() == Some("Array") {
                "length"
            } else {
                "size"
            };
            t.push("const MAX_ENTRIES = 10_000; // the bound the fix sets".into());
            t.push(format!(
                "test('{func} keeps {collection} bounded', async () => {{"
            ));
            t.push("  for (let i = 0; i < 2 * MAX_ENTRIES; i++) {".into());
            t.push(format!("    {call};"));
            t.push("  }".into());
            t.push(format!("  assert.ok({collection}.{size} <= MAX_ENTRIES);"));
            t.push("});".into());
        }
        PatternKind::EventListener => heap_test(&mut t, "subscriptions"),
        PatternKind::Closure | PatternKind::LargeDataset | PatternKind::Unknown => {
            heap_test(&mut t, "memory")
        }
        PatternKind::DetachedDom => heap_test(&mut t, "detached elements"),
    }
    let explanation = if found {
        format!(
            "proposed regression test: calls {}() as the leaking code runs, with node:test",
            func
        )
    } else {
        "proposed regression test (the function around the leaking line is not in the evidence: fill in `run`)".to_string()
    };
    TestSketch {
        explanation,
        lines: t,
    }
}

/// The Python fix sketch for a line that keeps memory.
pub fn python_fix(original: &str) -> Vec<String> {
    let mut v = vec![format!(
        "# Before: {}",
        crate::report::sections::one_line(original, "a line that keeps memory")
    )];
    v.push("# Keep at most MAX entries: a bounded deque (or an LRU cache) instead of an ever-growing list or dict.".into());
    v.push("from collections import deque".into());
    v.push("MAX = 10_000".into());
    v.push("RECENT = deque(maxlen=MAX)".into());
    v.push("# for a cache of function results: functools.lru_cache(maxsize=MAX)".into());
    v
}

/// The Python regression test sketch.
pub fn python_test(_original: &str) -> Vec<String> {
    vec![
        "import tracemalloc".into(),
        "".into(),
        "def test_no_leak(run_once):".into(),
        "    # run_once: a fixture that runs the code path of the leaking line once".into(),
        "    for _ in range(100):".into(),
        "        run_once()  # warm-up".into(),
        "    tracemalloc.start()".into(),
        "    before, _ = tracemalloc.get_traced_memory()".into(),
        "    for _ in range(10_000):".into(),
        "        run_once()".into(),
        "    after, _ = tracemalloc.get_traced_memory()".into(),
        "    tracemalloc.stop()".into(),
        "    assert after - before < 1024 * 1024  # under 1 MiB for 10k calls".into(),
    ]
}

/// Index (into the template's code-review checklist) of the item this pattern concerns.
pub fn checklist_index(p: PatternKind) -> Option<usize> {
    match p {
        PatternKind::EventListener | PatternKind::Closure | PatternKind::DetachedDom => Some(0),
        PatternKind::UnclosedConnection => Some(1),
        PatternKind::Timer => Some(2),
        PatternKind::LargeDataset | PatternKind::UnboundedCollection => Some(3),
        PatternKind::Unknown => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::evidence::PathStepView;

    fn step(holder: &str, edge: &str, edge_type: &str) -> PathStepView {
        PathStepView {
            holder: holder.into(),
            holder_id: 1,
            edge: edge.into(),
            edge_type: edge_type.into(),
            suspect: false,
            repeat: 1,
        }
    }

    fn finding(pattern: &str, code_line: &str, path: Vec<PathStepView>) -> FindingView {
        FindingView {
            pattern: pattern.into(),
            class: "Function".into(),
            count: 3,
            retained_bytes: 100,
            growth: vec![0, 1, 3],
            growth_bytes: vec![0, 10, 30],
            retainer_path: path,
            code: Some(code_line.into()),
            ..FindingView::default()
        }
    }

    #[test]
    fn code_spans_cannot_be_broken() {
        assert_eq!(code("a"), "`a`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
    }

    #[test]
    fn listener_names_from_code_and_path() {
        let f = finding(
            "event-listener",
            "  configBus.on('reload', function refreshPrices(next) {",
            vec![],
        );
        let n = names(&f, None);
        assert_eq!(n.emitter.as_deref(), Some("configBus"));
        assert_eq!(n.event.as_deref(), Some("reload"));
        assert_eq!(n.handler.as_deref(), Some("refreshPrices"));
        assert_eq!(n.handler_params.as_deref(), Some("next"));
        assert_eq!(n.api, Some(Api::EventEmitter));
        let f = finding(
            "event-listener",
            "",
            vec![
                step("global", "bus", "property"),
                step("EventEmitter", "_events", "property"),
                step("Object", "tick", "property"),
                step("Array", "3", "element"),
            ],
        );
        let n = names(&f, None);
        assert_eq!(n.emitter.as_deref(), Some("bus"));
        assert_eq!(n.event.as_deref(), Some("tick"));
    }

    #[test]
    fn the_emitter_is_the_one_holding_the_listeners_not_one_above_it() {
        // A signal handler's scope holds the module's emitter: the shortest path reaches the
        // leaking listeners through `process._events.SIGTERM` first.
        let f = finding(
            "event-listener",
            "  const refresh = (next) => { quote.price = next[currency]; };",
            vec![
                step("system / Context", "process", "context"),
                step("process", "_events", "property"),
                step("Object", "SIGTERM", "property"),
                step("Function", "context", "internal"),
                step("system / Context", "rateFeed", "context"),
                step("EventEmitter", "_events", "property"),
                step("Object", "rates", "property"),
                step("Array", "1082", "element"),
            ],
        );
        let n = names(&f, None);
        assert_eq!(n.emitter.as_deref(), Some("rateFeed"));
        assert_eq!(n.event.as_deref(), Some("rates"));
    }

    #[test]
    fn the_function_around_the_line_is_found() {
        let src = "const x = 1;\nfunction handleQuote(req, res) {\n  const t = 1;\n  configBus.on('reload', function refreshPrices(next) {\n    t;\n  });\n}\n";
        let mut f = finding(
            "event-listener",
            "  configBus.on('reload', function refreshPrices(next) {",
            vec![],
        );
        f.location = Some(crate::report::evidence::LocationView {
            file: "/srv/app/service.js".into(),
            line: 4,
            column: 3,
        });
        let n = names(&f, Some(src));
        let e = n.enclosing.unwrap();
        assert_eq!(e.name, "handleQuote");
        assert_eq!(e.params, vec!["req", "res"]);
        assert_eq!(e.line, 2);
        assert_eq!(n.module.as_deref(), Some("service.js"));
        assert_eq!(n.exports_function, Some(false));
        // a top-level line runs at load time: no function to call
        let mut f2 = f.clone();
        f2.location.as_mut().unwrap().line = 1;
        assert!(names(&f2, Some(src)).enclosing.is_none());
    }

    #[test]
    fn declarations_of_every_shape() {
        let d = |s: &str| declared_function(s).map(|f| (f.name, f.params));
        assert_eq!(
            d("async function load(a, b = 2) {"),
            Some(("load".into(), vec!["a".into(), "b".into()]))
        );
        assert_eq!(
            d("const f = async (x) => {"),
            Some(("f".into(), vec!["x".into()]))
        );
        assert_eq!(
            d("module.exports.g = function (y) {"),
            Some(("g".into(), vec!["y".into()]))
        );
        assert_eq!(
            d("  handle(req, res) {"),
            Some(("handle".into(), vec!["req".into(), "res".into()]))
        );
        assert_eq!(
            d("const h = z => z + 1;"),
            Some(("h".into(), vec!["z".into()]))
        );
        assert_eq!(d("  if (x) {"), None);
        assert_eq!(d("bus.on('e', function named(a) {"), None);
    }

    #[test]
    fn comments_wrap_at_word_boundaries() {
        let lines = comment("  ", &"word ".repeat(60), 40);
        assert!(lines.len() > 5);
        for l in &lines {
            assert!(l.starts_with("  // "));
            assert!(l.ends_with("word"), "{l}");
        }
    }

    #[test]
    fn hostile_names_become_safe_identifiers() {
        assert_eq!(ident("<img src=x>", "cache"), "imgsrcx");
        assert_eq!(ident("", "cache"), "cache");
        assert_eq!(ident("class", "cache"), "cache");
        assert_eq!(ident_path("this.bus", "e"), "this.bus");
        assert_eq!(ident_path("a..b", "e"), "e");
        assert_eq!(js_str("a'</script>"), "'a\\'\\x3c/script>'");
    }
}
