//! The fix and the regression test the report proposes are JavaScript that parses: every
//! pattern template, for every API it distinguishes (EventEmitter, EventTarget, streams,
//! subscriptions, timers, Map/Set/Array/object caches, sockets, agents, pools, closures,
//! large datasets, detached DOM, unknown), with and without the function around the leaking
//! line, with hostile names, goes through `node --check`. Comments are whole words, the
//! regression test calls the function found at the location, and no sketch removes a
//! listener right after adding it.

use memsleuth::report::evidence::{
    Evidence, FindingView, LeaksView, LocationView, PathStepView, SnapshotInfoView,
};
use memsleuth::report::facts;
use memsleuth::report::patterns;
use std::process::Command;

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

struct Case {
    name: &'static str,
    pattern: &'static str,
    class: &'static str,
    code: &'static str,
    path: Vec<PathStepView>,
    source: Option<&'static str>,
    line: u32,
}

const HANDLER_SRC: &str = "'use strict';\nconst bus = require('./bus');\n\nfunction handleQuote(req, res) {\n  const table = [];\n  LEAK\n  res.end('ok');\n}\nmodule.exports = { handleQuote };\n";

fn cases() -> Vec<Case> {
    let ee = || {
        vec![
            step("(GC roots)", "1", "element"),
            step("system / Context", "configBus", "context"),
            step("EventEmitter", "_events", "property"),
            step("Object", "reload", "property"),
            step("Array", "3", "element"),
        ]
    };
    vec![
        Case {
            name: "emitter-in-handler",
            pattern: "event-listener",
            class: "Function",
            code: "  configBus.on('reload', function refreshPrices(next) {",
            path: ee(),
            source: Some(HANDLER_SRC),
            line: 6,
        },
        Case {
            name: "emitter-no-source",
            pattern: "event-listener",
            class: "Function",
            code: "  configBus.on('reload', function refreshPrices(next) {",
            path: ee(),
            source: None,
            line: 6,
        },
        Case {
            name: "emitter-anonymous-arrow",
            pattern: "event-listener",
            class: "Function",
            code: "  bus.addListener('tick', (a, b) => {",
            path: ee(),
            source: Some(HANDLER_SRC),
            line: 6,
        },
        Case {
            name: "emitter-named-handler",
            pattern: "event-listener",
            class: "Function",
            code: "  process.on('message', onMessage);",
            path: vec![],
            source: Some(HANDLER_SRC),
            line: 6,
        },
        Case {
            name: "event-target",
            pattern: "event-listener",
            class: "Function",
            code: "  window.addEventListener('resize', function onResize(e) {",
            path: vec![step("Window", "kEvents", "internal")],
            source: None,
            line: 6,
        },
        Case {
            name: "stream",
            pattern: "event-listener",
            class: "Function",
            code: "  process.stdout.on('drain', function onDrain() {",
            path: vec![
                step("WriteStream", "_events", "property"),
                step("Object", "drain", "property"),
            ],
            source: Some(HANDLER_SRC),
            line: 6,
        },
        Case {
            name: "subscription",
            pattern: "event-listener",
            class: "Subscriber",
            code: "  prices$.subscribe(onPrice);",
            path: vec![step("Subject", "observers", "property")],
            source: Some(HANDLER_SRC),
            line: 6,
        },
        Case {
            name: "interval",
            pattern: "timer",
            class: "Timeout",
            code: "  setInterval(() => poll(req), 1000);",
            path: vec![],
            source: Some(HANDLER_SRC),
            line: 6,
        },
        Case {
            name: "timeout-no-owner",
            pattern: "timer",
            class: "Timeout",
            code: "setTimeout(retry, 5000);",
            path: vec![],
            source: None,
            line: 1,
        },
        Case {
            name: "closure",
            pattern: "closure",
            class: "system / Context",
            code: "  return () => big.length;",
            path: vec![],
            source: Some(HANDLER_SRC),
            line: 6,
        },
        Case {
            name: "socket",
            pattern: "unclosed-connection",
            class: "Socket",
            code: "  const s = net.connect(port);",
            path: vec![step("TCP", "owner", "property")],
            source: Some(HANDLER_SRC),
            line: 6,
        },
        Case {
            name: "agent",
            pattern: "unclosed-connection",
            class: "Agent",
            code: "  const agent = new http.Agent({ keepAlive: true });",
            path: vec![step("Agent", "sockets", "property")],
            source: Some(HANDLER_SRC),
            line: 6,
        },
        Case {
            name: "pool",
            pattern: "unclosed-connection",
            class: "Client",
            code: "  const client = await pool.connect();",
            path: vec![step("Pool", "_clients", "property")],
            source: None,
            line: 6,
        },
        Case {
            name: "map-cache",
            pattern: "unbounded-collection",
            class: "Object",
            code: "  sessions.set(id, s);",
            path: vec![
                step("system / Context", "sessions", "context"),
                step("Map", "table", "internal"),
            ],
            source: Some(HANDLER_SRC),
            line: 6,
        },
        Case {
            name: "set",
            pattern: "unbounded-collection",
            class: "Object",
            code: "  seen.add(key);",
            path: vec![
                step("global", "seen", "property"),
                step("Set", "table", "internal"),
            ],
            source: None,
            line: 6,
        },
        Case {
            name: "array",
            pattern: "unbounded-collection",
            class: "Object",
            code: "  history.push(entry);",
            path: vec![
                step("global", "history", "property"),
                step("Array", "1", "element"),
            ],
            source: Some(HANDLER_SRC),
            line: 6,
        },
        Case {
            name: "object",
            pattern: "unbounded-collection",
            class: "Object",
            code: "  byId[id] = row;",
            path: vec![
                step("global", "byId", "property"),
                step("Object", "17", "element"),
            ],
            source: None,
            line: 6,
        },
        Case {
            name: "large-dataset",
            pattern: "large-dataset",
            class: "Array",
            code: "const rows = JSON.parse(fs.readFileSync(f));",
            path: vec![],
            source: None,
            line: 1,
        },
        Case {
            name: "detached-dom",
            pattern: "detached-dom",
            class: "Detached HTMLDivElement",
            code: "  cards.push(card);",
            path: vec![],
            source: None,
            line: 6,
        },
        Case {
            name: "unknown",
            pattern: "unknown",
            class: "Foo",
            code: "  registry[k] = new Foo();",
            path: vec![],
            source: Some(HANDLER_SRC),
            line: 6,
        },
        Case {
            name: "hostile",
            pattern: "event-listener",
            class: "<img src=x>",
            code: "  a'b.on('x*/\u{2028}process.exit(3)\u{2029}</script>', function class() {",
            path: vec![
                step("global", "</script>", "property"),
                step("EventEmitter", "_events", "property"),
                step("Object", "'); process.exit(1); ('", "property"),
            ],
            source: None,
            line: 6,
        },
    ]
}

fn group_for(c: &Case) -> (Evidence, String) {
    let file = "/srv/app/quotes.js".to_string();
    let src = c.source.map(|s| s.replace("LEAK", c.code.trim()));
    let f = FindingView {
        pattern: c.pattern.into(),
        class: c.class.into(),
        count: 100,
        retained_bytes: 819200,
        growth: vec![10, 60, 110],
        growth_bytes: vec![640, 3840, 7040],
        retainer_path: c.path.clone(),
        location: Some(LocationView {
            file: file.clone(),
            line: c.line,
            column: 3,
        }),
        code: Some(c.code.into()),
        reason: "test".into(),
        ..FindingView::default()
    };
    let mut ev = Evidence {
        leaks: Some(LeaksView {
            snapshots: vec![SnapshotInfoView::default(); 3],
            findings: vec![f],
        }),
        ..Evidence::default()
    };
    if let Some(s) = src {
        ev.sources.insert(file.clone(), s);
    }
    (ev, format!("{file}:{}", c.line))
}

fn node_check(dir: &std::path::Path, name: &str, lines: &[String]) -> Result<(), String> {
    let p = dir.join(format!("{name}.js"));
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    let out = Command::new("node")
        .arg("--check")
        .arg(&p)
        .output()
        .expect("node must be installed");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{name}: node --check failed:\n{}\n---\n{}",
            String::from_utf8_lossy(&out.stderr),
            lines.join("\n")
        ))
    }
}

#[test]
fn every_fix_and_test_template_parses_with_node() {
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for c in cases() {
        let (ev, loc) = group_for(&c);
        let f = facts::reconcile(&ev);
        let g = &f.leaks[0];
        let fix = patterns::fixed_code(g);
        let test = patterns::regression_test(g, &loc);
        for (what, lines) in [("fix", &fix.lines), ("test", &test.lines)] {
            if let Err(e) = node_check(tmp.path(), &format!("{}-{what}", c.name), lines) {
                failures.push(e);
            }
            for l in lines.iter() {
                assert!(
                    l.chars().count() <= 140 || !l.trim_start().starts_with("//"),
                    "{}: long comment {l}",
                    c.name
                );
                assert!(
                    !l.trim_end().ends_with(" ...") || l.contains("unchanged ..."),
                    "{}: a line cut short: {l}",
                    c.name
                );
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_regression_test_calls_the_function_found_at_the_location() {
    let c = &cases()[0];
    let (ev, loc) = group_for(c);
    let f = facts::reconcile(&ev);
    let t = patterns::regression_test(&f.leaks[0], &loc)
        .lines
        .join("\n");
    assert!(t.contains("require('./quotes.js')"), "{t}");
    assert!(
        t.contains("handleQuote(fakeRequest(i), fakeResponse())"),
        "{t}"
    );
    assert!(t.contains("configBus.listenerCount('reload')"), "{t}");
    assert!(!t.contains("handleOneRequest"), "{t}");
    // without the function around the line, the test says so and invents no name
    let c = &cases()[1];
    let (ev, loc) = group_for(c);
    let f = facts::reconcile(&ev);
    let t = patterns::regression_test(&f.leaks[0], &loc)
        .lines
        .join("\n");
    assert!(t.contains("was not found"), "{t}");
    assert!(
        !t.contains("handleOneRequest") && !t.contains("handleQuote"),
        "{t}"
    );
}

#[test]
fn emitter_fixes_use_the_emitter_api_and_never_remove_at_once() {
    for c in cases().iter().filter(|c| c.pattern == "event-listener") {
        let (ev, _) = group_for(c);
        let f = facts::reconcile(&ev);
        let fix = patterns::fixed_code(&f.leaks[0]).lines.join("\n");
        // EventEmitter#on takes no options object: a signal goes to addEventListener or
        // events.once/events.on
        assert!(
            !fix.contains(".on('reload', refreshPrices, {"),
            "{}: {fix}",
            c.name
        );
        assert!(
            !fix.contains("finally"),
            "{}: try/finally removes at once: {fix}",
            c.name
        );
        let code_lines: Vec<&str> = fix
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect();
        // a removal is inside a callback or a function, never the statement after the add
        for w in code_lines.windows(2) {
            let added = w[0].contains(".on(") || w[0].contains(".addEventListener(");
            let removed_now = w[1]
                .trim_start()
                .starts_with(|ch: char| ch.is_alphanumeric())
                && (w[1].contains(".off(") || w[1].contains(".removeEventListener("))
                && !w[1].contains("=>");
            assert!(
                !(added && removed_now),
                "{}: removed right after it is added: {fix}",
                c.name
            );
        }
        match c.name {
            "event-target" => assert!(fix.contains("{ signal: controller.signal }"), "{fix}"),
            "subscription" => assert!(
                fix.contains("unsubscribe()") && fix.contains("takeUntil"),
                "{fix}"
            ),
            "emitter-in-handler" => assert!(
                fix.contains("res.once('close', () => configBus.off('reload', refreshPrices));"),
                "{fix}"
            ),
            _ => {}
        }
    }
}

const PY_SRC: &str = "import collections\n\nRENDERED = {}\n\n\nclass Pages:\n    def render(self, request, page_id):\n        html = str(page_id) * 100\n        LEAK\n        return html\n\n\ndef handle(request):\n    LEAK\n";

fn py_check(dir: &std::path::Path, name: &str, lines: &[String]) -> Result<(), String> {
    let p = dir.join(format!("{name}.py"));
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    let out = Command::new("python3")
        .args(["-m", "py_compile"])
        .arg(&p)
        .output()
        .expect("python3 must be installed");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{name}: py_compile failed:\n{}\n---\n{}",
            String::from_utf8_lossy(&out.stderr),
            lines.join("\n")
        ))
    }
}

/// A Python case: name, pattern, unit, the leaking line, its number, and the owner (name,
/// container type).
type PyCase = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    u32,
    Option<(&'static str, &'static str)>,
);

/// Python findings (contract C5) get Python: every template compiles, and the test calls the
/// function around the leaking line.
#[test]
fn every_python_fix_and_test_template_compiles() {
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let cases: [PyCase; 7] = [
        (
            "dict-cache",
            "unbounded-collection",
            "cache entry",
            "    RENDERED[page_id] = html",
            9,
            Some(("RENDERED", "dict")),
        ),
        (
            "list",
            "unbounded-collection",
            "list element",
            "    HISTORY.append(request)",
            14,
            Some(("HISTORY", "list")),
        ),
        (
            "lru",
            "unbounded-collection",
            "lru_cache entry",
            "    return load(request)",
            14,
            None,
        ),
        (
            "callback",
            "event-listener",
            "callback",
            "    bus.callbacks.append(lambda: request)",
            14,
            Some(("bus.callbacks", "list")),
        ),
        (
            "file",
            "unclosed-connection",
            "open file",
            "    f = open(request.path)",
            14,
            None,
        ),
        (
            "thread",
            "timer",
            "thread",
            "    threading.Thread(target=poll).start()",
            14,
            None,
        ),
        ("no-source", "unknown", "object", "x = 1", 3, None),
    ];
    for (name, pattern, unit, code, line, owner) in cases {
        let src = PY_SRC.replace("    LEAK", code);
        let f = FindingView {
            pattern: pattern.into(),
            class: "str".into(),
            unit: Some(unit.into()),
            count: 100,
            retained_bytes: 409600,
            growth: vec![0, 50, 100],
            location: Some(LocationView {
                file: "/srv/app/pages.py".into(),
                line,
                column: 1,
            }),
            code: Some(code.trim().into()),
            owner: owner.map(|(n, _)| memsleuth::report::evidence::OwnerView {
                name: n.into(),
                kind: "module-variable".into(),
                holder_class: Some("module".into()),
            }),
            retainer_path: owner
                .map(|(n, c)| vec![step("module", n, "property"), step(c, "1", "element")])
                .unwrap_or_default(),
            ..FindingView::default()
        };
        let mut ev = Evidence {
            python: vec![memsleuth::report::evidence::PythonEvidence {
                file: "probe.json".into(),
                view: memsleuth::report::evidence::PythonView {
                    source: "probe".into(),
                    leaks: vec![f],
                    ..Default::default()
                },
            }],
            ..Evidence::default()
        };
        if name != "no-source" {
            ev.sources.insert("/srv/app/pages.py".into(), src);
        }
        let facts = facts::reconcile(&ev);
        let g = &facts.leaks[0];
        let fix = patterns::fixed_code(g);
        let test = patterns::regression_test(g, &format!("/srv/app/pages.py:{line}"));
        for (what, lines) in [("fix", &fix.lines), ("test", &test.lines)] {
            if let Err(e) = py_check(
                tmp.path(),
                &format!("{}_{what}", name.replace('-', "_")),
                lines,
            ) {
                failures.push(e);
            }
        }
        let t = test.lines.join("\n");
        match name {
            "dict-cache" => {
                assert!(t.contains("from pages import render"), "{t}");
                assert!(
                    t.contains("render(*ARGS)") && t.contains("None,  # page_id"),
                    "{t}"
                );
                assert!(
                    fix.lines
                        .join("\n")
                        .contains("RENDERED = collections.OrderedDict()")
                );
            }
            "list" => {
                assert!(
                    t.contains("from pages import handle") && t.contains("handle(*ARGS)"),
                    "{t}"
                );
                assert!(
                    fix.lines
                        .join("\n")
                        .contains("HISTORY = collections.deque(maxlen=MAX_ENTRIES)")
                );
            }
            "lru" => assert!(fix.lines.join("\n").contains("lru_cache(maxsize=10_000)")),
            "no-source" => assert!(t.contains("was not found"), "{t}"),
            _ => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
