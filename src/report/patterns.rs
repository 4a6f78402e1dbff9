//! What the report says for each leak pattern: its name, why the objects are not collected,
//! how the leak happens, the fix sketched for the code at hand, and a regression test.
//! The sketches use names read from the finding (emitter, event, handler, collection).

use crate::leaks::{Finding, Pattern};

/// The template's fix-strategy boxes, in order, and the patterns each one fixes.
pub const STRATEGIES: [(&str, &[Pattern]); 5] = [
    (
        "Remove event listeners (use `removeListener()` or `once()`)",
        &[Pattern::EventListener],
    ),
    (
        "Close connections (use context managers or `try/finally`)",
        &[Pattern::UnclosedConnection],
    ),
    (
        "Clear timers (use `clearInterval()`/`clearTimeout()`)",
        &[Pattern::Timer],
    ),
    (
        "Use WeakMap/WeakSet (for cache)",
        &[Pattern::UnboundedCollection],
    ),
    (
        "Implement generator/streaming (for large datasets)",
        &[Pattern::LargeDataset],
    ),
];

/// The pattern in words, for "Pattern:" and the TL;DR.
pub fn label(p: Pattern) -> &'static str {
    match p {
        Pattern::EventListener => "EventEmitter listener leak (listeners added and never removed)",
        Pattern::Timer => "Timer leak (interval or timeout never cleared)",
        Pattern::Closure => "Closure trap (a closure's context keeps data it does not use)",
        Pattern::UnclosedConnection => {
            "Unclosed connection (sockets, handles or pool clients never closed)"
        }
        Pattern::UnboundedCollection => {
            "Unbounded collection (a long-lived Map/Set/Array/object that only grows)"
        }
        Pattern::LargeDataset => "Large dataset kept in memory (one big allocation that stays)",
        Pattern::DetachedDom => {
            "Detached DOM (elements removed from the page but still referenced)"
        }
        Pattern::Unknown => "Unclassified leak (the retainer path is the evidence)",
    }
}

/// What goes wrong, as a clause for the TL;DR ("... leak because {cause} at file:line").
pub fn cause(p: Pattern) -> &'static str {
    match p {
        Pattern::EventListener => "a listener is added on every call and never removed",
        Pattern::Timer => "a timer is started and never cleared",
        Pattern::Closure => "a long-lived closure keeps a context with data it does not use",
        Pattern::UnclosedConnection => "connections are opened and never closed",
        Pattern::UnboundedCollection => {
            "entries are added to a long-lived collection and never evicted"
        }
        Pattern::LargeDataset => "a whole dataset is loaded and kept in memory",
        Pattern::DetachedDom => "removed elements stay referenced from JavaScript",
        Pattern::Unknown => "they stay reachable through the retainer path below",
    }
}

/// The fix strategy in one phrase (DESIGN.md wording).
pub fn strategy(p: Pattern) -> &'static str {
    match p {
        Pattern::EventListener => {
            "remove the listener (`off`/`removeListener`), or register it with `once` or an `AbortSignal`"
        }
        Pattern::Timer => {
            "keep the timer handle and `clearInterval`/`clearTimeout` it; `unref()` it"
        }
        Pattern::Closure => "narrow the closure's scope, or null out the captured data",
        Pattern::UnclosedConnection => "close it in `finally`, or use the pool's `release()`",
        Pattern::UnboundedCollection => "bound it (LRU, TTL), or use a `WeakMap`/`WeakSet`",
        Pattern::LargeDataset => "stream or chunk the data (generators, streams)",
        Pattern::DetachedDom => {
            "drop references to removed elements (clear the array, null the variable, remove the listener)"
        }
        Pattern::Unknown => "cut the reference the retainer path shows",
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
    if out.is_empty() || out.len() > 60 {
        fallback.to_string()
    } else {
        out
    }
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
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Names read from a finding's code line and retainer path.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Names {
    /// The emitter expression (`configBus`, `process`, `this.bus`).
    pub emitter: Option<String>,
    /// The event name (`reload`).
    pub event: Option<String>,
    /// The function's own name, when it has one.
    pub handler: Option<String>,
    /// The timer function used (`setInterval`, `setTimeout`).
    pub timer_fn: Option<String>,
    /// The collection's variable or property name.
    pub collection: Option<String>,
    /// The collection's class (`Map`, `Set`, `Array`, `Object`).
    pub collection_class: Option<String>,
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

/// Reads emitter, event, handler, timer and collection names from a finding.
pub fn names(f: &Finding) -> Names {
    let mut n = Names::default();
    let code = f.code.clone().unwrap_or_default();
    for method in [".on(", ".addListener(", ".once(", ".prependListener("] {
        if let Some(i) = code.find(method) {
            n.emitter = ident_before(&code, i);
            n.event = quoted_at(&code[i + method.len()..]);
            break;
        }
    }
    if let Some(i) = code.find("function ") {
        let rest = &code[i + "function ".len()..];
        let name: String = rest
            .trim_start_matches('*')
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
            .collect();
        if !name.is_empty() {
            n.handler = Some(name);
        }
    }
    for t in ["setInterval", "setTimeout", "setImmediate"] {
        if code.contains(t) {
            n.timer_fn = Some(t.to_string());
            break;
        }
    }
    let steps = &f.retainer_path;
    // emitter and event from the path: `<emitter var> -> EventEmitter ._events -> .<event>`
    if let Some(i) = steps.iter().position(|s| s.edge == "_events") {
        if n.emitter.is_none() && i > 0 {
            n.emitter = Some(steps[i - 1].edge.clone());
        }
        if n.event.is_none() {
            n.event = steps.get(i + 1).map(|s| s.edge.clone());
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
        if i > 0 {
            let e = &steps[i - 1];
            if e.edge_type != "element" && e.edge_type != "internal" && e.edge_type != "hidden" {
                n.collection = Some(e.edge.clone());
            }
        }
    }
    n
}

/// Why the leaked objects are not garbage-collected, for this finding.
pub fn why_not_collected(f: &Finding, path_line: &str) -> String {
    let n = names(f);
    let what = format!("{} {} objects", f.count, code(&f.class));
    match f.pattern {
        Pattern::EventListener => format!(
            "The emitter {} lives as long as the process and keeps every listener registered for {} in its `_events` list; nothing calls `off`/`removeListener`, so each listener function, its closure context and everything the closure captured stay reachable ({what}, path: {path_line}).",
            code(n.emitter.as_deref().unwrap_or("(the emitter)")),
            code(n.event.as_deref().unwrap_or("(the event)")),
        ),
        Pattern::Timer => format!(
            "An active timer is a GC root: Node's timer list keeps each `Timeout` and its callback until the timer is cleared, and an interval is never cleared on its own. The callbacks' closures keep {what} alive (path: {path_line})."
        ),
        Pattern::Closure => format!(
            "All closures created in one scope share one context object. A long-lived closure keeps that context, so a variable another (short-lived) closure used is kept too, even though the long-lived one never reads it: {what} (path: {path_line})."
        ),
        Pattern::UnclosedConnection => format!(
            "Open sockets and handles are referenced by the event loop (libuv) until they are closed or destroyed; pool clients stay in the pool's bookkeeping until released. They, their buffers and their listeners stay reachable: {what} (path: {path_line})."
        ),
        Pattern::UnboundedCollection => format!(
            "The collection {} is owned by a long-lived object (a module, a singleton or the global), and entries are added but never deleted; each entry is strongly referenced by it, so {what} can never be collected (path: {path_line}).",
            code(n.collection.as_deref().unwrap_or("(the collection)"))
        ),
        Pattern::LargeDataset => format!(
            "The whole dataset was loaded into one structure that stays referenced after it is used ({what}, path: {path_line}); the GC cannot free any of it while one reference remains."
        ),
        Pattern::DetachedDom => format!(
            "The elements were removed from the document, but JavaScript still references them, so each detached tree and everything it holds stays reachable: {what} (path: {path_line})."
        ),
        Pattern::Unknown => format!(
            "Every object on the path keeps the next one alive, from a GC root down to {what} (path: {path_line}). Cutting any edge marked suspect frees the group."
        ),
    }
}

/// "Why This Leaks": the steps from the code to the growth.
pub fn why_it_leaks(f: &Finding, loc: &str) -> Vec<String> {
    let n = names(f);
    let per_snapshot = growth_text(f);
    match f.pattern {
        Pattern::EventListener => vec![
            format!(
                "The code at {loc} calls {} every time it runs (per request or per call), registering a new listener function.",
                code(&format!(
                    "{}.on({}, ...)",
                    n.emitter.as_deref().unwrap_or("emitter"),
                    js_str(n.event.as_deref().unwrap_or("event"))
                ))
            ),
            "No code path removes the listener, and the emitter lives for the whole process, so its listener array only grows.".into(),
            format!("Result: memory accumulates: {per_snapshot}."),
        ],
        Pattern::Timer => vec![
            format!("The code at {loc} starts a timer ({}) whose handle is dropped or never cleared.", code(n.timer_fn.as_deref().unwrap_or("setInterval"))),
            "Node keeps active timers (and what their callbacks capture) reachable until they are cleared.".into(),
            format!("Result: memory accumulates: {per_snapshot}."),
        ],
        Pattern::Closure => vec![
            format!("The function at {loc} creates a closure that outlives the call (stored, scheduled, or registered)."),
            "That closure shares its scope's context with the data created in the same call, so the data stays reachable through the context.".into(),
            format!("Result: memory accumulates: {per_snapshot}."),
        ],
        Pattern::UnclosedConnection => vec![
            format!("The code at {loc} opens a connection or checks out a pool client."),
            "An error path or a missing `close()`/`release()` leaves it open, so the socket, its buffers and listeners stay referenced.".into(),
            format!("Result: connections and memory accumulate: {per_snapshot}."),
        ],
        Pattern::UnboundedCollection => vec![
            format!(
                "The code at {loc} adds an entry to {} on every call.",
                code(n.collection.as_deref().unwrap_or("a long-lived collection"))
            ),
            "Nothing evicts entries: there is no size bound, TTL, or delete on the paths that end an entry's use.".into(),
            format!("Result: memory accumulates: {per_snapshot}."),
        ],
        Pattern::LargeDataset => vec![
            format!("The code at {loc} loads a whole dataset into memory at once."),
            "The result stays referenced after use (kept in a variable or a cache).".into(),
            format!("Result: memory stays high: {per_snapshot}."),
        ],
        Pattern::DetachedDom => vec![
            format!("The code at {loc} removes elements from the page but keeps references to them."),
            "A detached element cannot be collected while JavaScript references it, and it keeps its whole subtree.".into(),
            format!("Result: memory accumulates: {per_snapshot}."),
        ],
        Pattern::Unknown => vec![
            format!("Objects created by the code at {loc} stay reachable through the retainer path shown above."),
            "No pattern of the catalog matched the path, so the path itself is the evidence.".into(),
            format!("Result: memory accumulates: {per_snapshot}."),
        ],
    }
}

/// `"0 → 1500 → 3000 objects per snapshot"`.
pub fn growth_text(f: &Finding) -> String {
    let counts: Vec<String> = f.growth.iter().map(|c| c.to_string()).collect();
    if counts.is_empty() {
        format!("{} leaked {} objects", f.count, code(&f.class))
    } else {
        format!(
            "{} {} objects across the snapshots ({})",
            f.count,
            code(&f.class),
            counts.join(" → ")
        )
    }
}

/// The fix, sketched for the code at hand (JavaScript).
pub fn fixed_code(f: &Finding) -> Vec<String> {
    let n = names(f);
    let original = f.code.clone().unwrap_or_default();
    let mut out = Vec::new();
    match f.pattern {
        Pattern::EventListener => {
            let emitter = n.emitter.clone().unwrap_or_else(|| "emitter".into());
            let event = js_str(n.event.as_deref().unwrap_or("event"));
            let handler = ident(n.handler.as_deref().unwrap_or(""), "onEvent");
            out.push(format!(
                "// Before: {}",
                one_line(&original, "a listener added on every call")
            ));
            out.push(
                "// Keep a reference to the listener and remove it when its owner is done:"
                    .to_string(),
            );
            out.push(format!("function {handler}(...args) {{"));
            out.push("  // ... the listener's body, unchanged ...".into());
            out.push("}".into());
            out.push(format!("{emitter}.on({event}, {handler});"));
            out.push("try {".into());
            out.push("  // ... the work that needs the listener ...".into());
            out.push("} finally {".into());
            out.push(format!("  {emitter}.off({event}, {handler});"));
            out.push("}".into());
            out.push(format!(
                "// If one notification is enough: {emitter}.once({event}, {handler});"
            ));
            out.push(format!(
                "// Or tie it to a lifetime: {emitter}.on({event}, {handler}, {{ signal }}) with an AbortController (EventTarget), or events.on(..., {{ signal }})."
            ));
        }
        Pattern::Timer => {
            let t = n.timer_fn.clone().unwrap_or_else(|| "setInterval".into());
            let clear = if t == "setTimeout" {
                "clearTimeout"
            } else if t == "setImmediate" {
                "clearImmediate"
            } else {
                "clearInterval"
            };
            out.push(format!(
                "// Before: {}",
                one_line(&original, "a timer whose handle is lost")
            ));
            out.push(format!("const handle = {t}(tick, periodMs);"));
            out.push("handle.unref(); // does not keep the process alive on its own".into());
            out.push("// when the owner (request, connection, component) ends:".into());
            out.push(format!("{clear}(handle);"));
        }
        Pattern::Closure => {
            out.push(format!(
                "// Before: {}",
                one_line(&original, "a closure that captures a large scope")
            ));
            out.push("// Copy only what the long-lived closure needs, so it does not share".into());
            out.push("// a context with the large data:".into());
            out.push("const needed = pick(largeData); // small".into());
            out.push("const callback = () => use(needed);".into());
            out.push("largeData = null; // drop the reference once it is used".into());
        }
        Pattern::UnclosedConnection => {
            out.push(format!(
                "// Before: {}",
                one_line(&original, "a connection opened and not always closed")
            ));
            out.push("const client = await pool.connect();".into());
            out.push("try {".into());
            out.push("  return await client.query(sql, params);".into());
            out.push("} finally {".into());
            out.push("  client.release(); // or socket.destroy() / stream.close()".into());
            out.push("}".into());
        }
        Pattern::UnboundedCollection => {
            let name = ident(n.collection.as_deref().unwrap_or(""), "cache");
            out.push(format!(
                "// Before: {}",
                one_line(&original, "entries added and never evicted")
            ));
            out.push(format!(
                "// Bound {name}: evict the oldest entry past a maximum size (LRU by insertion order)"
            ));
            out.push("const MAX_ENTRIES = 10_000;".into());
            out.push("function remember(key, value) {".to_string());
            out.push(format!("  {name}.delete(key);"));
            out.push(format!("  {name}.set(key, value);"));
            out.push(format!("  if ({name}.size > MAX_ENTRIES) {{"));
            out.push(format!("    {name}.delete({name}.keys().next().value);"));
            out.push("  }".into());
            out.push("}".into());
            out.push("// If entries belong to objects with their own lifetime, key them in a WeakMap instead:".to_string());
            out.push(format!("// const {name} = new WeakMap();"));
        }
        Pattern::LargeDataset => {
            out.push(format!(
                "// Before: {}",
                one_line(&original, "the whole dataset loaded at once")
            ));
            out.push("// Process the data as a stream, one record at a time:".into());
            out.push(
                "const rl = readline.createInterface({ input: fs.createReadStream(path) });".into(),
            );
            out.push("for await (const line of rl) {".into());
            out.push("  handle(JSON.parse(line));".into());
            out.push("}".into());
        }
        Pattern::DetachedDom | Pattern::Unknown => {
            out.push(format!(
                "// Before: {}",
                one_line(&original, "objects kept by the retainer path above")
            ));
            out.push(
                "// Remove the reference held by the first suspect edge of the retainer".into(),
            );
            out.push(
                "// path when the object's work is done (delete it, set it to null, or".into(),
            );
            out.push("// hold it through a WeakRef/WeakMap).".into());
        }
    }
    if !f.suggestion.trim().is_empty() {
        out.push(format!("// memsleuth: {}", one_line(&f.suggestion, "")));
    }
    out
}

fn one_line(s: &str, fallback: &str) -> String {
    let t: String = s
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if t.is_empty() {
        fallback.to_string()
    } else if t.chars().count() > 160 {
        let mut c: String = t.chars().take(160).collect();
        c.push_str(" ...");
        c
    } else {
        t
    }
}

/// A regression test for the pattern, written against the code at hand (JavaScript, Jest/Mocha style).
pub fn regression_test(f: &Finding, loc: &str) -> Vec<String> {
    let n = names(f);
    let mut t = vec![
        format!(
            "// Regression test for the leak at {}",
            one_line(loc, "the location above")
        ),
        "describe('Memory leak fix', () => {".to_string(),
    ];
    match f.pattern {
        Pattern::EventListener => {
            let emitter = n.emitter.clone().unwrap_or_else(|| "emitter".into());
            let event = js_str(n.event.as_deref().unwrap_or("event"));
            t.push("  it('does not leak listeners', async () => {".into());
            t.push(format!(
                "    const before = {emitter}.listenerCount({event});"
            ));
            t.push("    for (let i = 0; i < 100; i++) await handleOneRequest(); // the code path that registers it".into());
            t.push(format!(
                "    const after = {emitter}.listenerCount({event});"
            ));
            t.push("    expect(after).toBe(before); // no listener left behind".into());
        }
        Pattern::Timer => {
            t.push("  it('does not leak timers', async () => {".into());
            t.push("    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;".into());
            t.push("    const before = timers();".into());
            t.push("    for (let i = 0; i < 100; i++) await startAndStopOwner(); // creates and ends the timer's owner".into());
            t.push("    expect(timers()).toBe(before);".into());
        }
        Pattern::UnclosedConnection => {
            t.push("  it('closes every connection it opens', async () => {".into());
            t.push("    const handles = () => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length;".into());
            t.push("    const before = handles();".into());
            t.push("    for (let i = 0; i < 50; i++) await doWorkThatConnects().catch(() => {}); // include error paths".into());
            t.push("    expect(handles()).toBe(before); // with a pool: expect(pool.totalCount).toBe(pool.idleCount)".into());
        }
        Pattern::UnboundedCollection => {
            let name = ident(n.collection.as_deref().unwrap_or(""), "cache");
            let size = if n.collection_class.as_deref() == Some("Array") {
                "length"
            } else {
                "size"
            };
            t.push("  it('keeps the collection bounded', async () => {".into());
            t.push(
                "    for (let i = 0; i < 2 * MAX_ENTRIES; i++) await handleOneRequest(i);".into(),
            );
            t.push(format!(
                "    expect({name}.{size}).toBeLessThanOrEqual(MAX_ENTRIES);"
            ));
        }
        Pattern::Closure | Pattern::LargeDataset | Pattern::DetachedDom | Pattern::Unknown => {
            t.push("  it('does not retain memory per call', async () => {".into());
            t.push("    // run with node --expose-gc".into());
            t.push("    for (let i = 0; i < 100; i++) await handleOneRequest(); // warm up".into());
            t.push("    global.gc();".into());
            t.push("    const before = process.memoryUsage().heapUsed;".into());
            t.push("    for (let i = 0; i < 10_000; i++) await handleOneRequest();".into());
            t.push("    global.gc();".into());
            t.push("    const after = process.memoryUsage().heapUsed;".into());
            t.push(
                "    expect(after - before).toBeLessThan(1024 * 1024); // < 1 MB for 10k calls"
                    .into(),
            );
        }
    }
    t.push("  });".into());
    t.push("});".into());
    t
}

/// Index (into the template's code-review checklist) of the item this pattern concerns.
pub fn checklist_index(p: Pattern) -> Option<usize> {
    match p {
        Pattern::EventListener | Pattern::Closure => Some(0),
        Pattern::UnclosedConnection => Some(1),
        Pattern::Timer => Some(2),
        Pattern::LargeDataset | Pattern::UnboundedCollection => Some(3),
        Pattern::DetachedDom | Pattern::Unknown => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leaks::PathStep;

    fn step(holder: &str, edge: &str, edge_type: &str) -> PathStep {
        PathStep {
            holder: holder.into(),
            holder_id: 1,
            edge: edge.into(),
            edge_type: edge_type.into(),
            suspect: false,
            repeat: 1,
        }
    }

    fn finding(pattern: Pattern, code_line: &str, path: Vec<PathStep>) -> Finding {
        Finding {
            pattern,
            reason: String::new(),
            class: "Function".into(),
            count: 3,
            retained_bytes: 100,
            growth: vec![0, 1, 3],
            growth_bytes: vec![0, 10, 30],
            retainer_path: path,
            location: None,
            code: Some(code_line.into()),
            excerpt: vec![],
            fingerprint: "f".into(),
            suggestion: String::new(),
            name: None,
            unit: String::new(),
            location_source: None,
            owner: None,
            library: None,
            library_location: None,
            keeps: vec![],
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
            Pattern::EventListener,
            "  configBus.on('reload', function refreshPrices(next) {",
            vec![],
        );
        let n = names(&f);
        assert_eq!(n.emitter.as_deref(), Some("configBus"));
        assert_eq!(n.event.as_deref(), Some("reload"));
        assert_eq!(n.handler.as_deref(), Some("refreshPrices"));
        let f = finding(
            Pattern::EventListener,
            "",
            vec![
                step("global", "bus", "property"),
                step("EventEmitter", "_events", "property"),
                step("Object", "tick", "property"),
                step("Array", "3", "element"),
            ],
        );
        let n = names(&f);
        assert_eq!(n.emitter.as_deref(), Some("bus"));
        assert_eq!(n.event.as_deref(), Some("tick"));
        assert!(fixed_code(&f).iter().any(|l| l.contains("bus.off('tick'")));
    }

    #[test]
    fn collection_name_from_path() {
        let f = finding(
            Pattern::UnboundedCollection,
            "sessions.set(id, s);",
            vec![
                step("(GC roots)", "1", "element"),
                step("system / Context", "sessions", "context"),
                step("Map", "table", "internal"),
            ],
        );
        let n = names(&f);
        assert_eq!(n.collection.as_deref(), Some("sessions"));
        assert!(
            regression_test(&f, "a.js:1")
                .iter()
                .any(|l| l.contains("sessions.size"))
        );
    }

    #[test]
    fn hostile_names_become_safe_identifiers() {
        assert_eq!(ident("<img src=x>", "cache"), "imgsrcx");
        assert_eq!(ident("", "cache"), "cache");
        assert_eq!(js_str("a'</script>"), "'a\\'\\x3c/script>'");
    }
}
