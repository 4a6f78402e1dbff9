//! The probe in real Python services over loopback: a stdlib `http.server` service with one
//! kind of leak per route (module dict cache, lru_cache(maxsize=None) on a per-request key,
//! callbacks registered per request, files opened per request and kept, a dataset loaded
//! whole per request and kept, raw descriptors never closed, a thread started per request
//! that never ends, a logger per tenant id, a database connection per request) and a
//! bounded route; each leaky route must come out as its pattern, at its line, with its owner
//! and referrer path, and the fixed build as no leak.

mod python_support;
use python_support::*;
use serde_json::Value;

struct Expect<'a> {
    pattern: &'a str,
    owner: &'a str,
    /// Code of the line the finding must point at.
    line: &'a str,
    unit: Option<&'a str>,
}

fn stdlib_case(route: &str, build: &str, per: u64) -> Value {
    stdlib_case_env(route, build, per, &[])
}

fn stdlib_case_env(route: &str, build: &str, per: u64, env: &[(&str, &str)]) -> Value {
    let dir = service("stdlib");
    let mut all = vec![("BUILD", build)];
    all.extend_from_slice(env);
    let svc = start(&dir, &["app.py"], &all);
    let (files, reqs) = checkpoints(&svc, route, per, 3);
    let forked = env != [("MEMSLEUTH_PROBE_FORK", "0")];
    for f in &files {
        let cp: Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        assert_eq!(cp["forked"], forked, "{}", f.display());
    }
    analyze(&files, &reqs)
}

fn check_leak(r: &Value, e: &Expect<'_>, file: &str) {
    let leaks = r["leaks"].as_array().unwrap();
    assert_eq!(r["verdict"], "leak", "{}\n{r:#}", r["reason"]);
    // One leak, one finding: what the leak drags along (the entries' own lists, the
    // finalizers of its sockets) is part of it, not a finding of its own.
    assert_eq!(leaks.len(), 1, "{leaks:#?}");
    let f = &leaks[0];
    assert_eq!(f["pattern"], e.pattern, "{f:#}");
    assert!(
        f["owner"]["name"].as_str().unwrap().starts_with(e.owner),
        "owner {}: {f:#}",
        f["owner"]
    );
    let src = service("stdlib").join(file);
    assert!(
        f["location"]["file"].as_str().unwrap().ends_with(file),
        "{f:#}"
    );
    assert_eq!(f["location"]["line"], line_of(&src, e.line), "{f:#}");
    assert!(f["code"].as_str().unwrap().contains(e.line), "{f:#}");
    if let Some(u) = e.unit {
        assert_eq!(f["unit"], u, "{f:#}");
    }
    // The referrer path starts at the module and names the owner's variable.
    let path = f["retainer_path"].as_array().unwrap();
    let var = e
        .owner
        .split('.')
        .nth(1)
        .unwrap()
        .split('[')
        .next()
        .unwrap();
    assert!(
        path.iter().any(|s| s["edge"] == var),
        "path lacks {var}: {path:#?}"
    );
    assert_eq!(path[0]["edge_type"], "module", "{path:#?}");
    // It grew at every checkpoint after the first.
    let g: Vec<u64> = f["growth_bytes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(g.windows(2).all(|w| w[1] > w[0]), "{g:?}");
    assert!(f["suggestion"].as_str().unwrap().len() > 40);
}

fn check_clean(r: &Value, what: &str) {
    assert!(
        r["leaks"].as_array().unwrap().is_empty(),
        "{what}: {:#}",
        r["leaks"]
    );
    assert_ne!(r["verdict"], "leak", "{what}: {}", r["reason"]);
}

#[test]
fn stdlib_dict_cache_leak() {
    let r = stdlib_case("quote", "leaky", 120);
    check_leak(
        &r,
        &Expect {
            pattern: "unbounded-collection",
            owner: "handlers._rendered",
            line: "_rendered[key] = page",
            unit: Some("dict entry"),
        },
        "handlers.py",
    );
    assert!(r["bytes_per_request"].as_f64().unwrap() > 500.0, "{r:#}");
}

/// Where the probe cannot fork (MEMSLEUTH_PROBE_FORK=0, a platform without fork, fork
/// refused) it does the same work in the service's thread: slower, same answer.
#[test]
fn stdlib_dict_cache_leak_without_fork() {
    let r = stdlib_case_env("quote", "leaky", 120, &[("MEMSLEUTH_PROBE_FORK", "0")]);
    check_leak(
        &r,
        &Expect {
            pattern: "unbounded-collection",
            owner: "handlers._rendered",
            line: "_rendered[key] = page",
            unit: Some("dict entry"),
        },
        "handlers.py",
    );
}

#[test]
fn stdlib_lru_cache_without_bound() {
    let r = stdlib_case("price", "leaky", 120);
    check_leak(
        &r,
        &Expect {
            pattern: "unbounded-collection",
            owner: "handlers.price_of",
            line: "functools.lru_cache(maxsize=None)",
            unit: Some("lru_cache entry"),
        },
        "handlers.py",
    );
}

#[test]
fn stdlib_callbacks_registered_per_request() {
    let r = stdlib_case("subscribe", "leaky", 120);
    check_leak(
        &r,
        &Expect {
            pattern: "event-listener",
            owner: "events._listeners",
            line: "events.subscribe(\"rates\", on_rate_change)",
            unit: Some("callback"),
        },
        "handlers.py",
    );
    assert!(
        r["leaks"][0]["name"]
            .as_str()
            .unwrap()
            .contains("on_rate_change")
    );
    // Object counts by type: the callbacks' type grows at every checkpoint, by about the
    // 360 callbacks registered over the three intervals.
    let types = r["types"].as_array().unwrap();
    let func = types
        .iter()
        .find(|t| t["type"] == "function")
        .unwrap_or_else(|| panic!("{types:#?}"));
    assert_eq!(func["grows_every_interval"], true, "{func:#}");
    let counts: Vec<u64> = func["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect();
    assert!(counts.last().unwrap() - counts[0] >= 300, "{counts:?}");
}

#[test]
fn stdlib_files_opened_per_request_and_kept() {
    let r = stdlib_case("audit", "leaky", 120);
    check_leak(
        &r,
        &Expect {
            pattern: "unclosed-connection",
            owner: "handlers._audit_logs",
            line: "_audit_logs.append(log)",
            unit: Some("open file"),
        },
        "handlers.py",
    );
    let fds: Vec<u64> = r["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["open_fds"].as_u64().unwrap())
        .collect();
    assert!(fds.windows(2).all(|w| w[1] > w[0]), "{fds:?}");
}

#[test]
fn stdlib_dataset_loaded_whole_and_kept() {
    let r = stdlib_case("report", "leaky", 3);
    check_leak(
        &r,
        &Expect {
            pattern: "large-dataset",
            owner: "handlers._reports",
            line: "_reports.append(rows)",
            unit: None,
        },
        "handlers.py",
    );
}

#[test]
fn stdlib_bounded_deque_is_not_a_leak() {
    check_clean(
        &stdlib_case("recent", "leaky", 120),
        "recent (deque maxlen=200)",
    );
}

/// A descriptor kept open with no Python object holding it (`os.open` without `os.close`)
/// is small in bytes and invisible in the heap: the growing descriptor count is the
/// evidence.
#[test]
fn stdlib_raw_descriptors_never_closed() {
    let r = stdlib_case("checksum", "leaky", 60);
    assert_eq!(r["verdict"], "leak", "{}\n{r:#}", r["reason"]);
    let f = &r["leaks"][0];
    assert_eq!(f["pattern"], "unclosed-connection", "{f:#}");
    assert_eq!(f["unit"], "open file", "{f:#}");
    assert!(f["owner"].is_null(), "{f:#}");
    let g: Vec<u64> = f["growth"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(g.windows(2).all(|w| w[1] >= w[0] + 50), "{g:?}");
    assert!(f["reason"].as_str().unwrap().contains("audit-"), "{f:#}");
}

#[test]
fn stdlib_thread_started_per_request_never_ends() {
    let r = stdlib_case("watch", "leaky", 40);
    assert_eq!(r["verdict"], "leak", "{}\n{r:#}", r["reason"]);
    let f = &r["leaks"][0];
    assert_eq!(f["pattern"], "timer", "{f:#}");
    assert_eq!(f["unit"], "thread", "{f:#}");
    assert_eq!(f["owner"]["name"], "threading._active", "{f:#}");
    assert_eq!(f["library"]["name"], "threading", "{f:#}");
    let src = service("stdlib").join("handlers.py");
    assert!(
        f["location"]["file"]
            .as_str()
            .unwrap()
            .ends_with("handlers.py"),
        "{f:#}"
    );
    assert_eq!(
        f["location"]["line"],
        line_of(&src, "t = threading.Thread(target=_watch_order"),
        "{f:#}"
    );
}

/// Memory that grows where no container grows (a bytearray extended per request) is still a
/// leak with a finding: the line that grows at every checkpoint.
#[test]
fn stdlib_growing_buffer_is_found_by_its_line() {
    let r = stdlib_case("journal", "leaky", 60);
    assert_eq!(r["verdict"], "leak", "{}\n{r:#}", r["reason"]);
    let leaks = r["leaks"].as_array().unwrap();
    assert_eq!(leaks.len(), 1, "{leaks:#?}");
    let f = &leaks[0];
    assert_eq!(f["location_source"], "allocation-stack", "{f:#}");
    let src = service("stdlib").join("handlers.py");
    assert_eq!(
        f["location"]["line"],
        line_of(&src, "_journal.extend(entry)"),
        "{f:#}"
    );
    assert!(f["retained_bytes"].as_u64().unwrap() > 300_000, "{f:#}");
}

/// A database connection per request, kept open (sqlite3: no socket, no descriptor for an
/// in-memory database; the connection objects are the evidence).
#[test]
fn stdlib_db_connections_kept_per_request() {
    let r = stdlib_case("lookup", "leaky", 120);
    check_leak(
        &r,
        &Expect {
            pattern: "unclosed-connection",
            owner: "handlers._lookups",
            line: "_lookups.append(db)",
            unit: None,
        },
        "handlers.py",
    );
    assert_eq!(
        r["leaks"][0]["class"], "sqlite3.Connection",
        "{:#}",
        r["leaks"]
    );
    check_clean(&stdlib_case("lookup", "fixed", 120), "lookup fixed");
}

/// A logger per tenant id: the table that grows is the logging library's own
/// (`logging.Logger.manager.loggerDict`), so the finding names the library and its fix is the
/// user's call at the line (its advice was "Bound `logging.Logger.manager.loggerDict`: evict
/// old entries ... `del loggerDict[key]`", a table the user does not own).
#[test]
fn stdlib_logger_per_request_is_fixed_at_the_call_not_in_the_library() {
    let r = stdlib_case("tenant", "leaky", 120);
    assert_eq!(r["verdict"], "leak", "{}\n{r:#}", r["reason"]);
    let leaks = r["leaks"].as_array().unwrap();
    assert_eq!(leaks.len(), 1, "{leaks:#?}");
    let f = &leaks[0];
    assert_eq!(f["pattern"], "unbounded-collection", "{f:#}");
    assert_eq!(f["library"]["name"], "logging", "{f:#}");
    assert!(
        f["owner"]["name"].as_str().unwrap().ends_with("loggerDict"),
        "{f:#}"
    );
    let src = service("stdlib").join("handlers.py");
    assert_eq!(
        f["location"]["line"],
        line_of(&src, "log = logging.getLogger(\"quotes.tenant.%d\" % n)"),
        "{f:#}"
    );
    let fix = f["suggestion"].as_str().unwrap();
    assert!(
        fix.contains("handlers.py:") && fix.contains("logging's own table"),
        "{fix}"
    );
    assert!(!fix.contains("evict") && !fix.contains("del "), "{fix}");
    check_clean(&stdlib_case("tenant", "fixed", 120), "tenant fixed");
}

#[test]
fn stdlib_fixed_build_has_no_leak() {
    for (route, per) in [
        ("quote", 120),
        ("price", 120),
        ("subscribe", 120),
        ("journal", 60),
    ] {
        check_clean(&stdlib_case(route, "fixed", per), route);
    }
}

#[test]
fn stdlib_fixed_build_closes_and_stops_what_it_opens() {
    for (route, per) in [
        ("audit", 120),
        ("report", 3),
        ("checksum", 60),
        ("watch", 40),
    ] {
        check_clean(&stdlib_case(route, "fixed", per), route);
    }
}

/// A service with a multiprocessing pool: every forked worker starts its own probe, and the
/// newest-child guess picks a worker. The process holding the load's connections is the one
/// that serves.
#[test]
fn serving_process_is_told_from_its_pool_workers() {
    use memsleuth::python::driver::ProbeDir;
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let dir = service("stdlib");
    let svc = start(&dir, &["app.py"], &[("POOL", "2")]);
    let t0 = Instant::now();
    let procs = loop {
        let p = svc.probe.processes();
        if p.len() >= 3 || t0.elapsed() > Duration::from_secs(30) {
            break p;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(procs.len(), 3, "{procs:?}");
    let server = svc.child.id() as u64;
    // No connection yet: nothing to tell by.
    assert_eq!(ProbeDir::serving(&procs, svc.port), None);
    // A kept-alive connection, as the load holds them.
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", svc.port)).unwrap();
    write!(conn, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut buf = [0u8; 256];
    let n = conn.read(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1."), "{:?}", &buf[..n]);
    assert_eq!(
        ProbeDir::serving(&procs, svc.port).map(|p| p.pid),
        Some(server),
        "{procs:?}"
    );
}
