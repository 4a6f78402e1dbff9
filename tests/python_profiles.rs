//! tracemalloc and memory_profiler files made by real runs in the venv, read by content and
//! ranked: the two leaking lines of tests/programs/series/py_leaky.py (18, 22) above its
//! bounded deque (26); memory_profiler's line table and mprof data.

mod python_support;
use python_support::*;
use std::process::Command;

fn memsleuth_json(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_memsleuth"))
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn likelihood(r: &serde_json::Value, line: u64) -> f64 {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["line"] == line && f["file"].as_str().unwrap().ends_with("py_leaky.py"))
        .map_or(0.0, |f| f["likelihood"].as_f64().unwrap())
}

fn tracemalloc_files() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let st = Command::new(python())
        .arg(service("profiles").join("tracemalloc_run.py"))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(st.success());
    dir
}

#[test]
fn tracemalloc_text_and_dumps_rank_the_leaking_lines() {
    let dir = tracemalloc_files();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let stats = [p("stats-1.txt"), p("stats-2.txt"), p("stats-3.txt")];
    let dumps = [p("snap-1.pickle"), p("snap-2.pickle"), p("snap-3.pickle")];
    for files in [&stats, &dumps] {
        let mut args = vec!["python"];
        args.extend(files.iter().map(String::as_str));
        let r = memsleuth_json(&args);
        assert_eq!(r["source"], "tracemalloc");
        assert_eq!(r["verdict"], "leak", "{}", r["reason"]);
        let top: Vec<u64> = r["findings"].as_array().unwrap()[..2]
            .iter()
            .map(|f| f["line"].as_u64().unwrap())
            .collect();
        assert!(top.contains(&18) && top.contains(&22), "{files:?}: {r:#}");
        assert_eq!(likelihood(&r, 18), 1.0);
        assert!(likelihood(&r, 26) < 0.5, "{r:#}");
    }
    // One compare_to listing is two points in time.
    let r = memsleuth_json(&["python", &p("compare.txt")]);
    assert_eq!(likelihood(&r, 18), 0.9, "{r:#}");
    assert!(likelihood(&r, 26) < 0.5, "{r:#}");
    // One statistics listing shows sizes, not growth, and says so.
    let r = memsleuth_json(&["python", &p("stats-3.txt")]);
    assert_eq!(likelihood(&r, 26), 0.5);
    assert!(r["notes"].to_string().contains("not what grows"), "{r:#}");
}

/// `report --python` reads what `memsleuth python` reads: three `Snapshot.dump()` files are
/// three points in time of one run (they were refused as "not a Python memory profile", and
/// statistics texts were read one at a time, as sizes rather than growth).
#[test]
fn report_reads_tracemalloc_dumps_as_points_in_time() {
    let dir = tracemalloc_files();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    for files in [
        [p("snap-1.pickle"), p("snap-2.pickle"), p("snap-3.pickle")],
        [p("stats-1.txt"), p("stats-2.txt"), p("stats-3.txt")],
    ] {
        let out = dir.path().join("report");
        let mut args = vec!["report", "--python"];
        args.extend(files.iter().map(String::as_str));
        args.extend(["--out", out.to_str().unwrap()]);
        let o = Command::new(env!("CARGO_BIN_EXE_memsleuth"))
            .args(&args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let r: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
        let at = r["root_cause"]["vulnerable_code"]["location"]
            .as_str()
            .unwrap();
        assert!(
            at.ends_with("py_leaky.py:18") || at.ends_with("py_leaky.py:22"),
            "{files:?}: {:#}",
            r["root_cause"]
        );
        assert!(
            r["root_cause"]["pattern_reason"]
                .as_str()
                .unwrap()
                .contains("over 3 snapshots"),
            "{files:?}: {:#}",
            r["root_cause"]
        );
        // The verdict is the analysis' own (the lines that grew), not a count of every line
        // the ranking lists ("16 line(s) whose memory is never freed").
        let why = r["leak_verdict"]["reason"].as_str().unwrap();
        assert_eq!(r["leak_verdict"]["verdict"], "leak", "{why}");
        assert!(
            why.contains("2 line(s) grew at every one of 3 snapshots"),
            "{files:?}: {why}"
        );
        std::fs::remove_dir_all(&out).unwrap();
    }
}

#[test]
fn tracemalloc_dump_that_is_not_a_snapshot_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("evil.pickle");
    let st = Command::new(python())
        .args([
            "-c",
            "import pickle,os,sys; open(sys.argv[1],'wb').write(pickle.dumps(os.system, 4))",
        ])
        .arg(&f)
        .status()
        .unwrap();
    assert!(st.success());
    let out = Command::new(env!("CARGO_BIN_EXE_memsleuth"))
        .args(["python", f.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("evil.pickle") && err.contains("system"),
        "{err}"
    );
    // A truncated dump names the byte where it ends.
    let good = tracemalloc_files();
    let bytes = std::fs::read(good.path().join("snap-1.pickle")).unwrap();
    let cut = dir.path().join("cut.pickle");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_memsleuth"))
        .args(["python", cut.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cut.pickle") && err.contains("byte"), "{err}");
}

fn memory_profiler(backend: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(python())
        .args(["-m", "memory_profiler"])
        .args(backend)
        .arg("mprof_leaky.py")
        .current_dir(service("profiles"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f = dir.path().join("table.txt");
    std::fs::write(&f, &out.stdout).unwrap();
    memsleuth_json(&["python", f.to_str().unwrap()])
}

#[test]
fn memory_profiler_table_with_tracemalloc_backend_ranks_the_leak_first() {
    let r = memory_profiler(&["--backend", "tracemalloc"]);
    assert_eq!(r["source"], "memory_profiler");
    let src = service("profiles").join("mprof_leaky.py");
    let leak = line_of(&src, "LEAK_LIST.append(");
    let bounded = line_of(&src, "RECENT.append(");
    assert_eq!(r["findings"][0]["line"], leak, "{r:#}");
    let b = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["line"] == bounded)
        .unwrap();
    assert!(b["likelihood"].as_f64() < r["findings"][0]["likelihood"].as_f64());
}

/// With the default RSS backend the increments land on whichever line touches new pages (here
/// the deque's line, whose freed chunk the list's line then reuses): the table cannot tell
/// which line keeps memory, and memsleuth says so instead of ranking the deque first.
#[test]
fn memory_profiler_rss_table_says_it_cannot_tell() {
    let r = memory_profiler(&[]);
    let top = r["findings"][0]["likelihood"].as_f64().unwrap();
    assert!(top <= 0.5, "{r:#}");
    assert!(
        r["notes"].to_string().contains("--backend tracemalloc"),
        "{r:#}"
    );
}

#[test]
fn mprof_data_gives_the_rss_trend() {
    let dir = tempfile::tempdir().unwrap();
    let dat = dir.path().join("run.dat");
    let st = Command::new(venv().join("bin/mprof"))
        .args(["run", "--interval", "0.05", "-o"])
        .arg(&dat)
        // mprof runs a `.py` program with its own interpreter (the venv's); `--python`
        // is a flag (also track Python children), never followed by an interpreter path.
        .arg("mprof_leaky.py")
        .current_dir(service("profiles"))
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let r = memsleuth_json(&["python", dat.to_str().unwrap()]);
    assert_eq!(r["source"], "mprof");
    assert!(
        r["change_bytes"].as_f64().unwrap() > 10.0 * 1048576.0,
        "{r:#}"
    );
    assert_eq!(r["too_short_for_rate"], true);
    assert!(r["growth_mb_per_hour"].is_null());
}
