//! The fix and the regression test proposed for a Python leak (findings in the shape of
//! `leaks::Finding`, contract C5), per pattern and per container: a dict cache bounded as an
//! LRU (or `functools.lru_cache(maxsize=...)`), a list as a `deque(maxlen=...)`, callbacks
//! unregistered when their owner ends, files and sockets closed by `with`, threads and
//! timers stopped. The test calls the function around the leaking line (found in the source
//! or the excerpt) with `tracemalloc`. Every sketch is Python that `py_compile` accepts
//! (tests/report_fixcode.rs checks each).

use super::facts::{LeakGroup, PatternKind, base_name};
use super::patterns::{Sketch, TestSketch};

/// A Python identifier (dots allowed: `Repo._cache`) from evidence text, or `fallback`.
fn py_ident(s: &str, fallback: &str) -> String {
    let ok = !s.is_empty()
        && s.len() <= 80
        && s.split('.').all(|p| {
            !p.is_empty()
                && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !p.chars().next().is_some_and(|c| c.is_ascii_digit())
                && !matches!(
                    p,
                    "def"
                        | "class"
                        | "return"
                        | "import"
                        | "from"
                        | "lambda"
                        | "None"
                        | "True"
                        | "False"
                        | "for"
                        | "while"
                        | "if"
                        | "else"
                        | "in"
                        | "is"
                        | "not"
                        | "and"
                        | "or"
                        | "with"
                        | "as"
                        | "pass"
                        | "del"
                        | "global"
                        | "yield"
                        | "try"
                        | "except"
                        | "finally"
                        | "raise"
                        | "async"
                        | "await"
                )
        });
    if ok {
        s.to_string()
    } else {
        fallback.to_string()
    }
}

fn comment(text: &str) -> Vec<String> {
    super::patterns::comment("", text, 96)
        .into_iter()
        .map(|l| l.replacen("//", "#", 1))
        .collect()
}

/// A `def name(params):` on a line (after indentation), as (name, params).
fn def_at(line: &str) -> Option<(String, Vec<String>)> {
    let t = line.trim_start();
    let t = t.strip_prefix("async ").unwrap_or(t);
    let rest = t.strip_prefix("def ")?;
    let open = rest.find('(')?;
    let name = rest[..open].trim().to_string();
    let close = rest.rfind(')')?;
    let params = rest
        .get(open + 1..close)?
        .split(',')
        .map(|p| {
            p.split([':', '='])
                .next()
                .unwrap_or("")
                .trim()
                .trim_start_matches('*')
                .to_string()
        })
        .filter(|p| !p.is_empty())
        .collect();
    (!name.is_empty()).then_some((name, params))
}

/// The function around `line` of the numbered `lines`: the nearest `def` above, indented less.
fn enclosing(lines: &[(u32, String)], line: u32) -> Option<(String, Vec<String>)> {
    let at = lines.iter().find(|(n, _)| *n == line)?;
    let indent = |s: &str| s.chars().take_while(|c| *c == ' ' || *c == '\t').count();
    let mut level = indent(&at.1);
    for (_, t) in lines.iter().rev().filter(|(n, _)| *n < line) {
        if t.trim().is_empty() || t.trim_start().starts_with('#') {
            continue;
        }
        let i = indent(t);
        if i < level {
            if let Some(d) = def_at(t) {
                return Some(d);
            }
            level = i;
            if i == 0 {
                return None;
            }
        }
    }
    None
}

/// `(line number, text)` of the location's source, or of the finding's excerpt.
fn numbered(g: &LeakGroup) -> Vec<(u32, String)> {
    match &g.source {
        Some(src) => src
            .lines()
            .enumerate()
            .map(|(i, l)| (i as u32 + 1, l.to_string()))
            .collect(),
        None => g
            .finding
            .excerpt
            .iter()
            .filter_map(|l| {
                let (n, t) = l.split_once('|')?;
                Some((
                    n.trim().parse().ok()?,
                    t.strip_prefix(' ').unwrap_or(t).to_string(),
                ))
            })
            .collect(),
    }
}

/// The container's name: the finding's owner, else the edge into the last dict/list on the path.
fn container(g: &LeakGroup) -> (Option<String>, Option<String>) {
    let f = &g.finding;
    let class = f
        .retainer_path
        .iter()
        .rev()
        .find(|s| {
            matches!(
                s.holder.as_str(),
                "dict" | "list" | "set" | "OrderedDict" | "deque"
            )
        })
        .map(|s| s.holder.clone());
    let name = f
        .owner
        .as_ref()
        .map(|o| o.name.clone())
        .filter(|n| !n.is_empty());
    (name, class)
}

/// The fix, sketched for the Python code at hand.
pub fn fixed_code(g: &LeakGroup) -> Sketch {
    let f = &g.finding;
    let mut out = comment(&format!(
        "Before: {}",
        super::sections::one_line(f.code.as_deref().unwrap_or(""), "a line that keeps memory")
    ));
    let (name, class) = container(g);
    let unit = g.unit.to_ascii_lowercase();
    match g.pattern {
        PatternKind::UnboundedCollection | PatternKind::Unknown | PatternKind::LargeDataset
            if unit.contains("lru_cache") =>
        {
            out.extend(comment(
                "A functools cache without a bound keeps every result: give it one.",
            ));
            out.push("import functools".into());
            out.push("".into());
            out.push("@functools.lru_cache(maxsize=10_000)".into());
            out.push("def cached(key):".into());
            out.push("    ...  # the function's body, unchanged".into());
        }
        PatternKind::UnboundedCollection | PatternKind::Unknown | PatternKind::LargeDataset
            if class.as_deref() == Some("list") || unit.contains("list") =>
        {
            let n = py_ident(name.as_deref().unwrap_or(""), "RECENT");
            out.extend(comment(&format!("Keep only the newest MAX_ENTRIES items of {n}: a deque drops the oldest on its own.")));
            out.push("import collections".into());
            out.push("".into());
            out.push("MAX_ENTRIES = 10_000".into());
            out.push(format!("{n} = collections.deque(maxlen=MAX_ENTRIES)"));
        }
        PatternKind::UnboundedCollection | PatternKind::Unknown | PatternKind::LargeDataset => {
            let n = py_ident(name.as_deref().unwrap_or(""), "CACHE");
            out.extend(comment(&format!(
                "Bound {n}: a least-recently-used dict of at most MAX_ENTRIES entries."
            )));
            out.push("import collections".into());
            out.push("".into());
            out.push("MAX_ENTRIES = 10_000".into());
            out.push(format!("{n} = collections.OrderedDict()"));
            out.push("".into());
            out.push("def remember(key, value):".into());
            out.push(format!("    {n}[key] = value"));
            out.push(format!("    {n}.move_to_end(key)"));
            out.push(format!("    if len({n}) > MAX_ENTRIES:"));
            out.push(format!("        {n}.popitem(last=False)"));
            out.extend(comment("If the keys are objects with their own lifetime, a weakref.WeakKeyDictionary frees each entry with its key."));
        }
        PatternKind::EventListener | PatternKind::Closure => {
            let n = py_ident(name.as_deref().unwrap_or(""), "callbacks");
            out.extend(comment(&format!("Unregister the callback when what it serves is done, so {n} does not keep it (and what it closes over).")));
            out.push("def subscribe_for(owner, callback):".into());
            out.push(format!("    {n}.append(callback)"));
            out.push("    def done():".into());
            out.push(format!("        {n}.remove(callback)"));
            out.push("    return done  # call it when the owner ends".into());
            out.extend(comment("Or hold callbacks weakly: weakref.WeakMethod for bound methods, a weakref.WeakSet of listeners."));
        }
        PatternKind::UnclosedConnection => {
            out.extend(comment("Close it on every path: a with block closes the file or socket even when the work raises."));
            out.push("import contextlib".into());
            out.push("import socket".into());
            out.push("".into());
            out.push("def fetch(host, port, payload):".into());
            out.push("    with contextlib.closing(socket.create_connection((host, port), timeout=30)) as s:".into());
            out.push("        s.sendall(payload)".into());
            out.push("        return s.recv(65536)".into());
        }
        PatternKind::Timer => {
            out.extend(comment(
                "Keep the timer or thread and stop it when its owner ends.",
            ));
            out.push("import threading".into());
            out.push("".into());
            out.push("def start(interval, work):".into());
            out.push("    timer = threading.Timer(interval, work)".into());
            out.push("    timer.daemon = True".into());
            out.push("    timer.start()".into());
            out.push("    return timer  # timer.cancel() when the owner ends".into());
        }
        PatternKind::DetachedDom => {
            out.extend(comment(
                "Drop the references to what was removed, so it can be freed.",
            ));
            out.push("def remove(item, items):".into());
            out.push("    items.remove(item)".into());
        }
    }
    Sketch {
        lines: out,
        notes: Vec::new(),
    }
}

/// A pytest regression test that calls the function around the leaking line and checks the
/// memory it keeps with `tracemalloc`.
pub fn regression_test(g: &LeakGroup, loc: &str) -> TestSketch {
    let module_file = g
        .finding
        .location
        .as_ref()
        .map(|l| base_name(&l.file).to_string())
        .unwrap_or_else(|| "module.py".into());
    let module = py_ident(
        module_file.strip_suffix(".py").unwrap_or(&module_file),
        "module",
    );
    let line = g.finding.location.as_ref().map_or(0, |l| l.line);
    let func = enclosing(&numbered(g), line);
    let mut t = comment(&format!(
        "Regression test for the leak at {} (run: python -m pytest test_{module}_leak.py).",
        super::text::plain(loc)
    ));
    t.push("import tracemalloc".into());
    t.push("".into());
    let call = match &func {
        Some((name, params)) => {
            let name = py_ident(name, "run");
            t.push(format!("from {module} import {name}"));
            t.push("".into());
            let real: Vec<&String> = params
                .iter()
                .filter(|p| p.as_str() != "self" && p.as_str() != "cls")
                .collect();
            if params.first().is_some_and(|p| p == "self" || p == "cls") {
                t.extend(comment(&format!(
                    "{name} is a method: call it on an instance, as the service does."
                )));
            }
            if real.is_empty() {
                format!("{name}()")
            } else {
                t.extend(comment("The arguments of one real call:"));
                t.push("ARGS = (".into());
                t.extend(
                    real.iter()
                        .map(|p| format!("    None,  # {}", py_ident(p, "arg"))),
                );
                t.push(")".into());
                format!("{name}(*ARGS)")
            }
        }
        None => {
            t.extend(comment(&format!(
                "The function around {} was not found: call the code path that runs it.",
                super::text::plain(loc)
            )));
            t.push("def run():".into());
            t.push("    pass".into());
            "run()".into()
        }
    };
    let fname = func
        .as_ref()
        .map(|(n, _)| py_ident(n, "run"))
        .unwrap_or_else(|| "run".into());
    t.push("".into());
    t.push("".into());
    t.push(format!("def test_{fname}_does_not_keep_memory():"));
    t.push("    for _ in range(100):".into());
    t.push(format!("        {call}  # warm-up"));
    t.push("    tracemalloc.start()".into());
    t.push("    before = tracemalloc.take_snapshot()".into());
    t.push("    for _ in range(2000):".into());
    t.push(format!("        {call}"));
    t.push("    after = tracemalloc.take_snapshot()".into());
    t.push("    tracemalloc.stop()".into());
    t.push("    kept = sum(d.size_diff for d in after.compare_to(before, \"filename\") if d.size_diff > 0)".into());
    t.push("    assert kept < 2000 * 512, f\"{kept} bytes kept by 2000 calls\"".into());
    TestSketch {
        explanation: match &func {
            Some((n, _)) => format!("proposed regression test: calls {n}() as the leaking code runs, with tracemalloc"),
            None => "proposed regression test (the function around the leaking line is not in the evidence: fill in `run`)".into(),
        },
        lines: t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defs_are_read() {
        assert_eq!(
            def_at("    async def handle(self, request: Request, n=3) -> None:"),
            Some((
                "handle".into(),
                vec!["self".into(), "request".into(), "n".into()]
            ))
        );
        assert_eq!(def_at("x = 1"), None);
        let lines: Vec<(u32, String)> = "def outer(a):\n    x = 1\n    CACHE[a] = x\n"
            .lines()
            .enumerate()
            .map(|(i, l)| (i as u32 + 1, l.to_string()))
            .collect();
        assert_eq!(
            enclosing(&lines, 3),
            Some(("outer".into(), vec!["a".into()]))
        );
        assert_eq!(py_ident("Repo._cache", "C"), "Repo._cache");
        assert_eq!(py_ident("a b", "C"), "C");
    }
}
