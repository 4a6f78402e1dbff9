//! Bad cases of `memsleuth capture` and `verify`: a service that exits at once, a URL that
//! never answers, a port already in use, a service that dies under load, Ctrl-C in the
//! middle of a capture, something that is not node, broken capture folders. Each must end
//! with a clear message and exit code 2, the service stopped, and nothing half-written.

mod live_support;
use live_support::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `memsleuth capture --out DIR ARGS`, expects exit 2, and returns stderr.
fn capture_fails(dir: &std::path::Path, args: &[&str]) -> String {
    let mut a = vec!["capture", "--out", dir.to_str().unwrap()];
    a.extend_from_slice(args);
    let out = memsleuth(&a);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "memsleuth {a:?}\n{err}");
    assert!(err.contains("memsleuth: error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn a_command_that_exits_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cap");
    let err = capture_fails(
        &dir,
        &[
            "--",
            "node",
            "-e",
            "console.error('config file missing'); process.exit(3)",
        ],
    );
    assert!(err.contains("exited at once (exit status 3)"), "{err}");
    assert!(
        err.contains("config file missing"),
        "its output is shown: {err}"
    );
    assert!(!dir.exists(), "nothing written: {:?}", entries(&dir));
}

#[test]
fn a_url_that_never_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cap");
    // Runs, but listens nowhere.
    let err = capture_fails(
        &dir,
        &[
            "--start-timeout",
            "3s",
            "--",
            "node",
            "-e",
            "setInterval(() => {}, 1000)",
        ],
    );
    assert!(
        err.contains("did not answer") && err.contains("within 3 s"),
        "{err}"
    );
    let pid = started_pid(&err).expect("memsleuth names the pid it started");
    assert!(
        gone_within(pid, Duration::from_secs(5)),
        "pid {pid} still runs"
    );
    assert!(
        err.contains(&format!("the service (pid {pid}) is stopped")),
        "{err}"
    );
    assert!(!dir.exists(), "nothing written: {:?}", entries(&dir));
}

#[test]
fn a_port_in_use() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cap");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let p = taken.local_addr().unwrap().port();
    let src = service("http");
    let err = capture_fails(
        &dir,
        &[
            "--url",
            &format!("http://127.0.0.1:{p}/quote/{{i}}"),
            "--",
            "node",
            src.to_str().unwrap(),
        ],
    );
    assert!(
        err.contains(&format!("port {p}")) && err.contains("already in use"),
        "{err}"
    );
    assert!(
        started_pid(&err).is_none(),
        "the service is not even started: {err}"
    );
    assert!(!dir.exists());
    drop(taken);
}

#[test]
fn a_service_that_dies_under_load() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cap");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let script = "const http = require('http'); let n = 0; \
                  http.createServer((q, s) => { if (++n === 500) { console.error('out of file descriptors'); process.exit(7); } s.end('ok'); }) \
                  .listen(Number(process.env.PORT), '127.0.0.1');";
    let err = capture_fails(&dir, &["--requests", "3000", "--", "node", "-e", script]);
    assert!(
        err.contains("exited during the load (exit status 7)"),
        "{err}"
    );
    assert!(err.contains("out of file descriptors"), "{err}");
    assert_eq!(
        entries(&dir),
        vec!["notes.txt"],
        "the folder as it was before"
    );
}

#[test]
fn a_load_that_never_succeeds() {
    // The quote service has no POST route: every request answers 404.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cap");
    let src = service("http");
    let err = capture_fails(
        &dir,
        &[
            "--requests",
            "200",
            "--checkpoints",
            "50,100,200",
            "--samples",
            "0",
            "--url",
            "http://127.0.0.1:{port}/quote/{i}",
            "--method",
            "POST",
            "--header",
            "X-Request: r-{i}",
            "--body",
            "{\"n\": {i}}",
            "--",
            "node",
            src.to_str().unwrap(),
        ],
    );
    assert!(
        err.contains("none of the 200 requests succeeded (HTTP 404: 200)"),
        "{err}"
    );
    assert!(!dir.exists());
}

#[test]
fn not_a_node_command() {
    let tmp = tempfile::tempdir().unwrap();
    let err = capture_fails(&tmp.path().join("cap"), &["--", "npm", "start"]);
    assert!(err.contains("`npm` is neither node nor python"), "{err}");
    let err = capture_fails(&tmp.path().join("cap"), &["--requests", "100"]);
    assert!(err.contains("nothing to capture"), "{err}");
    let err = capture_fails(
        &tmp.path().join("cap"),
        &["--checkpoints", "10,20", "--", "node", "x.js"],
    );
    assert!(err.contains("at least three"), "{err}");
    let err = capture_fails(
        &tmp.path().join("cap"),
        &["--url", "https://127.0.0.1:{port}/", "--", "node", "x.js"],
    );
    assert!(err.contains("https is not supported"), "{err}");
}

#[test]
fn ctrl_c_mid_capture_stops_the_service_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cap");
    let src = service("http");
    let mut child = Command::new(bin())
        .args([
            "capture",
            "--out",
            dir.to_str().unwrap(),
            "--requests",
            "2000000",
            "--checkpoints",
            "1000,1000000,2000000",
            "--url",
            "http://127.0.0.1:{port}/quote/{i}",
            "--",
            "node",
            src.to_str().unwrap(),
            "leaky",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for l in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(l);
        }
    });
    let me = Guard(child);
    // Wait until the first snapshot (at 1000 requests) is written and the load runs again.
    let started = wait_line(&rx, Duration::from_secs(60), |l| l.contains("(pid "));
    let pid = started_pid(&started).unwrap();
    wait_line(&rx, Duration::from_secs(120), |l| {
        l.contains("checkpoint 2/")
    });
    std::thread::sleep(Duration::from_millis(300));
    signal(me.0.id(), "INT");
    let t0 = Instant::now();
    let mut me = me;
    let status = loop {
        if let Some(s) = me.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "memsleuth did not stop after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let rest: Vec<String> = rx.try_iter().collect();
    let err = rest.join("\n");
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("interrupted by SIGINT"), "{err}");
    assert!(
        err.contains(&format!("the service (pid {pid}) is stopped")),
        "{err}"
    );
    assert!(
        gone_within(pid, Duration::from_secs(5)),
        "service pid {pid} still runs"
    );
    assert!(!dir.exists(), "nothing written: {:?}", entries(&dir));
}

#[test]
fn a_killed_memsleuth_leaves_no_service_behind() {
    // SIGKILL cannot be handled: the watchdog stops the service, and the next capture into
    // the same folder removes the staging folder left behind.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cap");
    let src = service("http");
    let mut child = Command::new(bin())
        .args([
            "capture",
            "--out",
            dir.to_str().unwrap(),
            "--requests",
            "2000000",
            "--url",
            "http://127.0.0.1:{port}/quote/{i}",
            "--",
            "node",
            src.to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for l in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(l);
        }
    });
    let mut me = Guard(child);
    let started = wait_line(&rx, Duration::from_secs(60), |l| l.contains("(pid "));
    let pid = started_pid(&started).unwrap();
    wait_line(&rx, Duration::from_secs(60), |l| {
        l.contains("checkpoint 1/")
    });
    me.0.kill().unwrap();
    me.0.wait().unwrap();
    assert!(
        gone_within(pid, Duration::from_secs(10)),
        "service pid {pid} outlived memsleuth"
    );
    let left = entries(&dir);
    assert!(
        left.iter().all(|e| e.starts_with(".memsleuth-capture.")),
        "{left:?}"
    );
    let err = capture_fails(&dir, &["--", "node", "-e", "process.exit(1)"]);
    assert!(err.contains("exited at once"), "{err}");
    assert!(
        entries(&dir).is_empty(),
        "stale staging removed: {:?}",
        entries(&dir)
    );
}

#[test]
fn verify_on_broken_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let run = |x: &std::path::Path, y: &std::path::Path| {
        let out = memsleuth(&[
            "verify",
            "--before",
            x.to_str().unwrap(),
            "--after",
            y.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
        text(&out.stderr)
    };
    let err = run(&a, &b);
    assert!(
        err.contains("capture.json") && err.contains("cannot read"),
        "{err}"
    );
    std::fs::write(
        a.join("capture.json"),
        "{\n  \"schema\": \"memsleuth.capture.v1\",\n  \"runtime\": 5\n",
    )
    .unwrap();
    let err = run(&a, &b);
    assert!(err.contains("capture.json"), "{err}");
    std::fs::write(
        a.join("capture.json"),
        "{\"schema\": \"memsleuth.capture.v1\", \"runtime\": [}",
    )
    .unwrap();
    let err = run(&a, &b);
    assert!(err.contains("capture.json at line 1"), "{err}");
    // A hostile snapshot name must not reach outside the folder.
    let hostile = r#"{"schema":"memsleuth.capture.v1","runtime":"node","runtime_version":"v20","command":[],
        "url":null,"method":null,"concurrency":null,"started_at":"x","checkpoints":[],"bytes_per_request":null,
        "latency_ms":null,"requests_total":null,"errors":null,"gc_log":"../../etc/passwd",
        "snapshots":["../../etc/passwd","s2"],"python_probe":null}"#;
    std::fs::write(a.join("capture.json"), hostile).unwrap();
    std::fs::write(b.join("capture.json"), hostile).unwrap();
    let err = run(&a, &b);
    assert!(err.contains("not a file name inside the folder"), "{err}");
}
