//! `memsleuth capture -- python app.py` and `memsleuth verify` on Python captures, over
//! loopback with the built-in load: the probe's checkpoints land in the capture folder, the
//! analysis in `python.json` (named by `capture.json`'s `python_probe`), the report beside
//! them; `verify` tells the fixed build from the leaky one. Also attaching by pid to a
//! process started with the probe's environment, and the cases memsleuth cannot measure
//! (a Python process without the probe, an interpreter told to ignore PYTHONPATH).

mod python_support;
use memsleuth::python::driver::ProbeDir;
use python_support::{free_port, get, line_of, python, service};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `memsleuth ARGS` in `cwd` with `env`.
fn memsleuth(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_memsleuth"));
    cmd.args(args).current_dir(cwd).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run memsleuth")
}

/// `memsleuth capture --out OUT --requests N --url .../ROUTE/{i} --format json [EXTRA] --
/// python SCRIPT` in the service's folder with BUILD set; asserts the exit code and returns
/// the JSON it printed.
fn capture(
    out: &Path,
    svc: &str,
    build: &str,
    route: &str,
    requests: u64,
    extra: &[&str],
    want: i32,
) -> Value {
    let url = format!("http://127.0.0.1:{{port}}/{route}/{{i}}");
    let n = requests.to_string();
    let py = python();
    let mut args = vec![
        "capture",
        "--out",
        out.to_str().unwrap(),
        "--requests",
        &n,
        "--concurrency",
        "8",
        "--url",
        &url,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    args.extend(["--", py.to_str().unwrap(), "app.py"]);
    let o = memsleuth(
        &service(svc),
        &args,
        &[("BUILD", build), ("MAX_SECONDS", "300")],
    );
    assert_eq!(
        o.status.code(),
        Some(want),
        "memsleuth {args:?}\nstdout:\n{}\nstderr:\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o.stdout)))
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn python_capture_names_the_leak_and_verify_tells_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let leaky = tmp.path().join("leaky");
    let fixed = tmp.path().join("fixed");
    let again = tmp.path().join("leaky-again");
    let out = capture(
        &leaky,
        "stdlib",
        "leaky",
        "quote",
        600,
        &["--fail-on-leak"],
        1,
    );

    // capture.json (contract C4) for a Python service.
    let c = read_json(&leaky.join("capture.json"));
    assert_eq!(c["schema"], "memsleuth.capture.v1");
    assert_eq!(c["runtime"], "python");
    assert!(
        c["runtime_version"].as_str().unwrap().starts_with("3."),
        "{c:#}"
    );
    assert_eq!(c["python_probe"], "python.json");
    assert!(c["gc_log"].is_null() && c["snapshots"].as_array().unwrap().is_empty());
    let cps = c["checkpoints"].as_array().unwrap();
    assert!(cps.len() >= 4, "{c:#}");
    for cp in cps {
        let probe = cp["probe"].as_str().unwrap();
        assert!(leaky.join(probe).exists(), "{probe}");
        assert!(cp["heap_used_bytes"].as_u64().unwrap() > 0, "{cp:#}");
    }
    assert_eq!(cps.last().unwrap()["requests"], 600);
    let bpr = c["bytes_per_request"]["value"].as_f64().unwrap();
    assert!(bpr > 500.0, "{bpr} bytes per request");
    // The probe's own folder does not stay behind.
    assert!(!leaky.join(".probe").exists());

    // The analysis names the leak, its line and its owner.
    let f = &out["python"]["leaks"][0];
    assert_eq!(f["pattern"], "unbounded-collection", "{f:#}");
    assert_eq!(f["owner"]["name"], "handlers._rendered", "{f:#}");
    let src = service("stdlib").join("handlers.py");
    assert_eq!(
        f["location"]["line"],
        line_of(&src, "_rendered[key] = page"),
        "{f:#}"
    );
    assert_eq!(out["leaks"]["findings"].as_array().unwrap().len(), 1);
    let report = std::fs::read_to_string(leaky.join("report.md")).unwrap();
    assert!(report.contains("handlers._rendered"), "{report}");

    // `report --capture DIR` on its own reads the probe's analysis (python.json) as the
    // evidence: the root cause is the leak the capture found, at its line.
    let rep = tmp.path().join("report-leaky");
    let r = memsleuth(
        tmp.path(),
        &[
            "report",
            "--capture",
            leaky.to_str().unwrap(),
            "--out",
            rep.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    let rj = read_json(&rep.join("report.json"));
    let rc = &rj["root_cause"];
    assert_eq!(rc["pattern_id"], "unbounded-collection", "{rc:#}");
    let at = format!("handlers.py:{}", f["location"]["line"]);
    assert!(
        rc["vulnerable_code"]["location"]
            .as_str()
            .unwrap()
            .ends_with(&at),
        "{rc:#}"
    );
    let md = std::fs::read_to_string(rep.join("report.md")).unwrap();
    assert!(
        md.contains("handlers._rendered") && md.contains("memory traced by tracemalloc"),
        "{md}"
    );

    capture(
        &fixed,
        "stdlib",
        "fixed",
        "quote",
        600,
        &["--fail-on-leak"],
        0,
    );
    let fx = read_json(&fixed.join("python.json"));
    assert!(fx["leaks"].as_array().unwrap().is_empty(), "{fx:#}");
    // Its report does not call the fixed build leaky (a line ranking of lines that did not
    // leak is no root cause).
    let fr = read_json(&fixed.join("report.json"));
    assert_ne!(
        fr["leak_verdict"]["verdict"], "leak",
        "{:#}",
        fr["leak_verdict"]
    );
    assert_eq!(
        fr["root_cause"]["pattern_id"], "none",
        "{:#}",
        fr["root_cause"]
    );

    let v = memsleuth(
        tmp.path(),
        &[
            "verify",
            "--before",
            leaky.to_str().unwrap(),
            "--after",
            fixed.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[],
    );
    let vj: Value = serde_json::from_slice(&v.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&v.stdout), text(&v.stderr)));
    assert_eq!(v.status.code(), Some(0), "{vj:#}");
    assert_eq!(vj["verdict"], "fixed", "{vj:#}");
    assert_eq!(vj["before"]["runtime"], "python");

    capture(&again, "stdlib", "leaky", "quote", 600, &[], 0);
    let v = memsleuth(
        tmp.path(),
        &[
            "verify",
            "--before",
            leaky.to_str().unwrap(),
            "--after",
            again.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(v.status.code(), Some(1), "{}", text(&v.stdout));
    let md = text(&v.stdout);
    assert!(md.contains("persists"), "{md}");
    // Its load test and baseline come from the probe's checkpoints (they said "no checkpoint
    // was taken" and "not measured" of a Python capture), in tracemalloc's terms.
    assert!(
        !md.contains("no checkpoint was taken") && !md.contains("not measured"),
        "{md}"
    );
    assert!(
        md.contains("traced by tracemalloc after gc.collect()"),
        "{md}"
    );
}

/// A leak small in bytes on a framework: sockets kept per request on Flask; the fixed build
/// is told from it by verify.
#[test]
fn python_capture_on_flask_finds_sockets_kept_per_request() {
    let tmp = tempfile::tempdir().unwrap();
    let out = capture(
        &tmp.path().join("cap"),
        "flask",
        "leaky",
        "fetch",
        400,
        &["--fail-on-leak"],
        1,
    );
    let f = &out["python"]["leaks"][0];
    assert_eq!(f["pattern"], "unclosed-connection", "{f:#}");
    assert_eq!(f["unit"], "socket", "{f:#}");
    let src = service("flask").join("app.py");
    assert_eq!(
        f["location"]["line"],
        line_of(&src, "_upstreams.append(conn)"),
        "{f:#}"
    );

    // The fixed build under the same load, and verify tells them apart (the framework's
    // leaky and fixed builds, as the stdlib service's above).
    let fixed = tmp.path().join("fixed");
    let fx = capture(
        &fixed,
        "flask",
        "fixed",
        "fetch",
        400,
        &["--fail-on-leak"],
        0,
    );
    assert!(
        fx["python"]["leaks"].as_array().unwrap().is_empty(),
        "{:#}",
        fx["python"]["leaks"]
    );
    let v = memsleuth(
        tmp.path(),
        &[
            "verify",
            "--before",
            tmp.path().join("cap").to_str().unwrap(),
            "--after",
            fixed.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[],
    );
    let vj: Value = serde_json::from_slice(&v.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&v.stdout), text(&v.stderr)));
    assert_eq!(v.status.code(), Some(0), "{vj:#}");
    assert_eq!(vj["verdict"], "fixed", "{vj:#}");
}

/// Stops a process on drop.
struct Kill(std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The environment `memsleuth python --write-probe DIR` prints (`export K='V'` lines), as a
/// user's shell would apply it.
fn probe_env(dir: &Path) -> Vec<(String, String)> {
    let o = memsleuth(
        dir.parent().unwrap(),
        &["python", "--write-probe", dir.to_str().unwrap()],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let env: Vec<(String, String)> = out
        .lines()
        .map(|l| {
            let (k, v) = l.strip_prefix("export ").unwrap().split_once('=').unwrap();
            let v = v.strip_prefix('\'').unwrap().strip_suffix('\'').unwrap();
            (k.to_string(), v.replace("'\\''", "'"))
        })
        .collect();
    assert!(env.iter().any(|(k, _)| k == "PYTHONPATH"), "{out}");
    assert!(dir.join("sitecustomize.py").exists());
    env
}

fn start_by_hand(env: &[(String, String)], port: u16) -> Kill {
    let mut cmd = Command::new(python());
    cmd.arg("app.py")
        .current_dir(service("stdlib"))
        .env("PORT", port.to_string())
        .env("BUILD", "leaky")
        .env("MAX_SECONDS", "300")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = Kill(cmd.spawn().unwrap());
    let t0 = Instant::now();
    while get(port, "/health").is_err() {
        assert!(t0.elapsed() < Duration::from_secs(30), "no answer");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// A service started by hand with the probe's environment (as `memsleuth python
/// --write-probe` prints it) is attached to by pid: the probe's folder and token are read
/// from the process's environment.
#[test]
fn python_capture_attaches_by_pid_to_a_process_started_with_the_probe() {
    let tmp = tempfile::tempdir().unwrap();
    let env = probe_env(&tmp.path().join("probe"));
    let port = free_port();
    let svc = start_by_hand(&env, port);
    let pid = svc.0.id().to_string();
    let out_dir = tmp.path().join("cap");
    let url = format!("http://127.0.0.1:{port}/quote/{{i}}");
    let o = memsleuth(
        tmp.path(),
        &[
            "capture",
            "--out",
            out_dir.to_str().unwrap(),
            "--pid",
            &pid,
            "--url",
            &url,
            "--requests",
            "600",
            "--concurrency",
            "8",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["capture"]["mode"], "attach");
    assert_eq!(out["capture"]["pid"].as_u64(), Some(svc.0.id() as u64));
    assert_eq!(
        out["python"]["leaks"][0]["owner"]["name"], "handlers._rendered",
        "{:#}",
        out["python"]
    );
    // Attached, not started: the service runs on, and without the tracing memsleuth started.
    assert_eq!(get(port, "/health").unwrap(), 200);
    let var = |k: &str| env.iter().find(|(n, _)| n == k).unwrap().1.clone();
    let probe = ProbeDir::open(
        Path::new(&var("MEMSLEUTH_PROBE_DIR")),
        &var("MEMSLEUTH_PROBE_TOKEN"),
    );
    let procs = probe.processes();
    let me = procs.iter().find(|p| p.pid == svc.0.id() as u64).unwrap();
    let (_, tracing) = probe.ping(me, Duration::from_secs(10)).unwrap();
    assert!(!tracing, "tracemalloc still runs in the attached service");
}

#[test]
fn python_capture_refuses_what_it_cannot_measure() {
    let tmp = tempfile::tempdir().unwrap();
    // A Python process started without the probe cannot be given one.
    let port = free_port();
    let svc = start_by_hand(&[], port);
    let pid = svc.0.id().to_string();
    let url = format!("http://127.0.0.1:{port}/quote/{{i}}");
    let out_dir = tmp.path().join("cap");
    let o = memsleuth(
        tmp.path(),
        &[
            "capture",
            "--out",
            out_dir.to_str().unwrap(),
            "--pid",
            &pid,
            "--url",
            &url,
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains("started without memsleuth's probe")
            && err.contains("--write-probe")
            && err.contains("memray attach"),
        "{err}"
    );
    assert!(!out_dir.join("capture.json").exists());
    drop(svc);

    // `python -E` ignores PYTHONPATH: the service runs, its probe never starts, and
    // memsleuth says why. (Not `-I`: it also leaves the script's folder off sys.path, so the
    // service itself cannot import its modules.)
    let py = python();
    let o = memsleuth(
        &service("stdlib"),
        &[
            "capture",
            "--out",
            out_dir.to_str().unwrap(),
            "--requests",
            "100",
            "--start-timeout",
            "5s",
            "--url",
            "http://127.0.0.1:{port}/quote/{i}",
            "--",
            py.to_str().unwrap(),
            "-E",
            // -E also ignores PYTHONDONTWRITEBYTECODE: keep bytecode out of the repo.
            "-B",
            "app.py",
        ],
        &[("MAX_SECONDS", "60")],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains("the Python probe did not start") && err.contains("-E"),
        "{err}"
    );
    assert!(!out_dir.join("capture.json").exists());
}
