//! The probe on a Flask service (Flask 3.1.3 from the venv). These cases were written after
//! the analysis rules and were not used to build them (hold-outs): a class-attribute session
//! store, a threading.Timer started per request, sockets kept per request, functools.cache on
//! a per-request key; a deque(maxlen) is the bounded control, and BUILD=fixed the fixed code.

mod python_support;
use python_support::*;
use serde_json::Value;

fn flask_case(route: &str, build: &str, per: u64) -> Value {
    let dir = service("flask");
    let svc = start(&dir, &["app.py"], &[("BUILD", build)]);
    let (files, reqs) = checkpoints(&svc, route, per, 3);
    analyze(&files, &reqs)
}

fn first_leak<'a>(r: &'a Value, pattern: &str) -> &'a Value {
    assert_eq!(r["verdict"], "leak", "{}\n{r:#}", r["reason"]);
    // One leak, one finding: what the leak drags along (the entries' own lists, the
    // finalizers of its sockets) is part of it, not a finding of its own.
    assert_eq!(r["leaks"].as_array().unwrap().len(), 1, "{:#}", r["leaks"]);
    let f = &r["leaks"][0];
    assert_eq!(f["pattern"], pattern, "{f:#}");
    assert!(
        f["location"]["file"]
            .as_str()
            .unwrap()
            .ends_with("flask/app.py"),
        "{f:#}"
    );
    f
}

fn check_line(f: &Value, code: &str) {
    let src = service("flask").join("app.py");
    assert_eq!(f["location"]["line"], line_of(&src, code), "{f:#}");
}

#[test]
fn flask_class_attribute_session_store() {
    let r = flask_case("session", "leaky", 120);
    let f = first_leak(&r, "unbounded-collection");
    // The script's module is `__main__`; the owner is named after its file (app.py).
    assert_eq!(f["owner"]["name"], "app.SessionStore._sessions", "{f:#}");
    assert_eq!(f["owner"]["kind"], "class-field", "{f:#}");
    check_line(f, "cls._sessions[sid] = session");
}

#[test]
fn flask_timer_per_request() {
    let r = flask_case("notify", "leaky", 80);
    let f = first_leak(&r, "timer");
    check_line(f, "t = threading.Timer(3600, _expire, args=(n,))");
}

#[test]
fn flask_socket_per_request() {
    let r = flask_case("fetch", "leaky", 80);
    let f = first_leak(&r, "unclosed-connection");
    assert_eq!(f["unit"], "socket", "{f:#}");
    assert!(
        f["owner"]["name"].as_str().unwrap().ends_with("_upstreams"),
        "{f:#}"
    );
    check_line(f, "_upstreams.append(conn)");
}

#[test]
fn flask_functools_cache_per_request_key() {
    let r = flask_case("label", "leaky", 120);
    let f = first_leak(&r, "unbounded-collection");
    assert_eq!(f["unit"], "lru_cache entry", "{f:#}");
    check_line(f, "functools.cache(_label)");
}

#[test]
fn flask_bounded_history_and_fixed_build_have_no_leak() {
    for (route, build, per) in [
        ("history", "leaky", 120),
        ("session", "fixed", 120),
        ("label", "fixed", 120),
        ("fetch", "fixed", 80),
        ("notify", "fixed", 80),
    ] {
        let r = flask_case(route, build, per);
        assert!(
            r["leaks"].as_array().unwrap().is_empty(),
            "{route} {build}: {:#}",
            r["leaks"]
        );
        assert_ne!(r["verdict"], "leak", "{route} {build}: {}", r["reason"]);
    }
}
