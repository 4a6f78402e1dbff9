//! `memsleuth capture` attached to a Node process it did not start: by inspector address
//! (`--inspect HOST:PORT`, the service started with `--inspect=127.0.0.1:0`) and by pid
//! (`--pid`: SIGUSR1 opens the inspector), and the refusals of `--pid` (port taken, not
//! Node). An attached process is measured, never stopped.

mod live_support;
use live_support::*;
use std::time::Duration;

/// `host:port` of a `ws://host:port/id` URL printed by node.
fn host_port(line: &str) -> String {
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("ws://"))
        .unwrap();
    url.trim_start_matches("ws://")
        .split('/')
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn attach_by_inspector_address_measures_and_leaves_the_service_running() {
    let port = free_port();
    let src = service("http");
    let (mut guard, err) = start_node(
        &["--inspect=127.0.0.1:0", src.to_str().unwrap(), "leaky"],
        port,
    );
    let line = wait_line(&err, Duration::from_secs(20), |l| {
        l.starts_with("Debugger listening on ws://")
    });
    wait_listening(port, Duration::from_secs(20));
    let pid = guard.0.id();

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cap");
    let url = format!("http://127.0.0.1:{port}/quote/{{i}}");
    let out = memsleuth(&[
        "capture",
        "--out",
        dir.to_str().unwrap(),
        "--inspect",
        &host_port(&line),
        "--url",
        &url,
        "--requests",
        "3000",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &j["capture"];
    assert_eq!(c["mode"], "attach");
    assert_eq!(c["pid"], pid, "the inspector's process");
    assert_eq!(
        c["gc_log"],
        serde_json::Value::Null,
        "no --trace-gc when attached"
    );
    assert_eq!(c["requests_total"], 3000);
    assert_eq!(c["url"], url);
    assert_eq!(c["snapshots"].as_array().unwrap().len(), 3);
    assert!(
        c["command"][0].as_str().unwrap().contains("node"),
        "the process's command line: {c}"
    );
    let f = j["leaks"]["findings"].as_array().unwrap();
    assert_eq!(
        f.first().map(|f| &f["pattern"]),
        Some(&"event-listener".into()),
        "{}",
        describe(f)
    );
    // Not ours to stop: still running and still answering.
    assert!(
        guard.0.try_wait().unwrap().is_none(),
        "the attached service was stopped"
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    let _ = guard.0.kill();
}

#[test]
fn attach_by_pid_opens_the_inspector_with_sigusr1() {
    let port = free_port();
    let src = service("http");
    // --inspect-port=0: the inspector SIGUSR1 opens takes a free port (9229 is shared).
    let (mut guard, err) = start_node(&["--inspect-port=0", src.to_str().unwrap(), "fixed"], port);
    wait_listening(port, Duration::from_secs(20));
    let pid = guard.0.id();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cap");
    let url = format!("http://127.0.0.1:{port}/quote/{{i}}");
    let out = memsleuth(&[
        "capture",
        "--out",
        dir.to_str().unwrap(),
        "--pid",
        &pid.to_string(),
        "--url",
        &url,
        "--requests",
        "1000",
        "--checkpoints",
        "100,500,1000",
        "--samples",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let line = wait_line(&err, Duration::from_secs(5), |l| {
        l.starts_with("Debugger listening on ws://")
    });
    let c = read_json(&dir.join("capture.json"));
    assert_eq!(c["pid"], pid);
    assert_eq!(c["mode"], "attach");
    assert!(
        text(&out.stderr).contains(&host_port(&line)),
        "{}",
        text(&out.stderr)
    );
    assert!(
        guard.0.try_wait().unwrap().is_none(),
        "the attached service was stopped"
    );
}

#[test]
fn attach_by_pid_refuses_when_the_inspector_port_is_taken() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let p = taken.local_addr().unwrap().port();
    let port = free_port();
    let src = service("http");
    let (mut guard, _err) = start_node(
        &[
            &format!("--inspect-port={p}"),
            src.to_str().unwrap(),
            "fixed",
        ],
        port,
    );
    wait_listening(port, Duration::from_secs(20));
    let pid = guard.0.id();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cap");
    let out = memsleuth(&[
        "capture",
        "--out",
        dir.to_str().unwrap(),
        "--pid",
        &pid.to_string(),
        "--url",
        &format!("http://127.0.0.1:{port}/"),
        "--requests",
        "100",
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("port {p}")) && err.contains("already in use"),
        "{err}"
    );
    assert!(!dir.exists(), "nothing written: {:?}", entries(&dir));
    assert!(
        guard.0.try_wait().unwrap().is_none(),
        "the process must not be harmed"
    );
    drop(taken);
}

#[test]
fn attach_by_pid_refuses_a_process_that_is_not_node() {
    let child = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let guard = Guard(child);
    let pid = guard.0.id();
    let tmp = tempfile::tempdir().unwrap();
    let out = memsleuth(&[
        "capture",
        "--out",
        tmp.path().join("cap").to_str().unwrap(),
        "--pid",
        &pid.to_string(),
        "--url",
        "http://127.0.0.1:9/",
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not Node.js"), "{err}");
    assert!(alive(pid), "SIGUSR1 would have killed it");
}

#[test]
fn load_command_with_checkpoints_by_time() {
    // The user's own load: a small Node client in a loop, given {url}.
    let tmp = tempfile::tempdir().unwrap();
    let client = tmp.path().join("client.js");
    std::fs::write(
        &client,
        "const http = require('http');\n\
         const agent = new http.Agent({ keepAlive: true });\n\
         const end = Date.now() + Number(process.argv[3]);\n\
         let i = 0;\n\
         function next() {\n\
           if (Date.now() > end) { agent.destroy(); return; }\n\
           http.get(process.argv[2].replace('{i}', ++i), { agent }, (r) => { r.resume(); r.on('end', next); })\n\
             .on('error', (e) => { console.error(e.message); process.exit(1); });\n\
         }\n\
         for (let k = 0; k < 4; k++) next();\n",
    )
    .unwrap();
    let dir = tmp.path().join("cap");
    // It would run for a minute: memsleuth stops it after the last checkpoint.
    let load = format!("node {} '{{url}}' 60000", client.display());
    let src = service("http");
    let out = memsleuth(&[
        "capture",
        "--out",
        dir.to_str().unwrap(),
        "--url",
        "http://127.0.0.1:{port}/quote/{i}",
        "--load",
        &load,
        "--duration",
        "6s",
        "--checkpoints",
        "2s,4s,6s",
        "--samples",
        "0",
        "--",
        "node",
        src.to_str().unwrap(),
        "leaky",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let c = read_json(&dir.join("capture.json"));
    assert_eq!(c["load"], load);
    // Requests are counted in the service: every checkpoint has a count, growing.
    let total = c["requests_total"]
        .as_u64()
        .expect("requests counted in the service");
    assert!(total > 100, "{c}");
    assert!(
        c["bytes_per_request"]["low"].as_f64().unwrap() > 0.0,
        "the leak grows per request: {c}"
    );
    let cps = c["checkpoints"].as_array().unwrap();
    assert_eq!(cps.len(), 4, "{c}");
    let secs: Vec<f64> = cps.iter().map(|k| k["seconds"].as_f64().unwrap()).collect();
    assert_eq!(secs[0], 0.0);
    // Each checkpoint comes after its share of load time: the wall time less the pauses for
    // the checkpoints before it (how much later depends on the machine: not asserted).
    let pauses: Vec<f64> = cps
        .iter()
        .map(|k| k["pause_ms"].as_f64().unwrap() / 1000.0)
        .collect();
    for (k, want) in [(1, 2.0), (2, 4.0), (3, 6.0)] {
        let ran = secs[k] - pauses[1..k].iter().sum::<f64>();
        assert!(
            ran >= want - 0.01,
            "checkpoint {k}: {ran} s of load, wall {secs:?}, pauses {pauses:?}"
        );
    }
    let counted: Vec<u64> = cps
        .iter()
        .map(|k| k["requests"].as_u64().unwrap())
        .collect();
    assert!(
        counted.windows(2).all(|w| w[0] <= w[1]) && counted[0] == 0,
        "{counted:?}"
    );
    assert_eq!(counted[3], total);
    let used: Vec<u64> = cps
        .iter()
        .map(|k| k["heap_used_bytes"].as_u64().unwrap())
        .collect();
    assert!(
        used[3] > used[1],
        "the leak grows under the user's load: {used:?}"
    );
    assert!(dir.join("load.log").exists());
    let f = findings(&dir);
    assert_eq!(
        f.first().map(|f| &f["pattern"]),
        Some(&"event-listener".into()),
        "{}",
        describe(&f)
    );
}

#[test]
fn a_url_served_by_another_process_is_flagged() {
    // The inspector belongs to one service, the URL to another: the capture measures the
    // first while the load goes to the second, and says so.
    let src = service("http");
    let (pa, pb) = (free_port(), free_port());
    let (_a, err) = start_node(
        &["--inspect=127.0.0.1:0", src.to_str().unwrap(), "fixed"],
        pa,
    );
    let line = wait_line(&err, Duration::from_secs(20), |l| {
        l.starts_with("Debugger listening on ws://")
    });
    let (_b, _) = start_node(&[src.to_str().unwrap(), "fixed"], pb);
    wait_listening(pa, Duration::from_secs(20));
    wait_listening(pb, Duration::from_secs(20));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cap");
    let out = memsleuth(&[
        "capture",
        "--out",
        dir.to_str().unwrap(),
        "--inspect",
        &host_port(&line),
        "--url",
        &format!("http://127.0.0.1:{pb}/quote/{{i}}"),
        "--requests",
        "300",
        "--checkpoints",
        "100,200,300",
        "--samples",
        "0",
        "--no-report",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let c = read_json(&dir.join("capture.json"));
    let notes = c["notes"].to_string();
    assert!(
        notes.contains(&format!("does not listen on port {pb}")),
        "{notes}"
    );
    assert!(
        text(&out.stderr).contains("may reach another process"),
        "{}",
        text(&out.stderr)
    );
}
