//! Bad input to the heap snapshot reader, through the binary and the library.
//!
//! Every malformed input must end the run with exit code 2 and one message on stderr that
//! names the file (and the byte offset where there is one): never a panic, never a hang,
//! never half an output. Inputs that are odd but valid (hostile strings, gzip, stdin) must
//! still work. The fuzz target in `fuzz/` covers the same ground at random; inputs it found
//! are kept here as regression tests named after the bug.

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use memsleuth::heap::{HeapGraph, parse, summary};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Longest a single run may take before it counts as a hang (debug build, 2 shared cores).
const DEADLINE: Duration = Duration::from_secs(60);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The smallest real snapshot of the fixtures (Node 20, 44003 nodes, about 4.3 MB of JSON).
fn real() -> &'static [u8] {
    static DATA: OnceLock<Vec<u8>> = OnceLock::new();
    DATA.get_or_init(|| {
        let p = root().join("tests/fixtures/heap/node20-seq-1.heapsnapshot.gz");
        let f = std::fs::File::open(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let mut v = Vec::new();
        GzDecoder::new(f).read_to_end(&mut v).unwrap();
        v
    })
}

/// The small hand-made snapshots of the fuzzer's seed corpus (`fuzz/make-seeds.py`).
fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = root().join("fuzz/seeds");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(
        out.len() >= 3,
        "expected the seed snapshots in {}",
        dir.display()
    );
    out
}

/// Position of `needle` in `hay` at or after `from`.
fn find(hay: &[u8], needle: &[u8], from: usize) -> usize {
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
        .unwrap_or_else(|| panic!("{:?} not found", String::from_utf8_lossy(needle)))
}

/// `data` with the first `from` after `at` replaced by `to`.
fn replace_once(data: &[u8], from: &str, to: &str, at: usize) -> Vec<u8> {
    let i = find(data, from.as_bytes(), at);
    let mut v = data[..i].to_vec();
    v.extend_from_slice(to.as_bytes());
    v.extend_from_slice(&data[i + from.len()..]);
    v
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `sh -c SCRIPT` or the binary with `args`, feeding `stdin`, killing it at the deadline
/// (which fails the test: a hang).
fn run_cmd(mut cmd: Command, what: &str, stdin: Option<Vec<u8>>) -> Run {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = cmd.spawn().expect("spawn memsleuth");
    let feeder = stdin.map(|data| {
        let mut w = child.stdin.take().unwrap();
        // A write error (the program stopped reading early) is fine.
        std::thread::spawn(move || {
            let _ = w.write_all(&data);
        })
    });
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {DEADLINE:?}: a hang");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    if let Some(f) = feeder {
        let _ = f.join();
    }
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&t_out.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&t_err.join().unwrap()).into_owned(),
    }
}

fn memsleuth(args: &[&str], stdin: Option<Vec<u8>>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_memsleuth"));
    cmd.args(args);
    run_cmd(cmd, &format!("memsleuth {args:?}"), stdin)
}

fn summary_of(path: &Path) -> Run {
    memsleuth(
        &["summary", path.to_str().unwrap(), "--format", "json"],
        None,
    )
}

/// Asserts a clean refusal: exit 2, nothing on stdout, one `memsleuth: error:` line naming
/// `name`, and `at byte N` when `at_byte`. Returns the message.
fn assert_refused(run: &Run, name: &str, at_byte: bool, case: &str) -> String {
    let err = run.stderr.trim_end();
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{case}: panic:\n{err}"
    );
    assert_eq!(run.code, Some(2), "{case}: exit code; stderr:\n{err}");
    assert!(
        run.stdout.is_empty(),
        "{case}: output on stdout:\n{}",
        run.stdout
    );
    assert_eq!(err.lines().count(), 1, "{case}: one line expected:\n{err}");
    let prefix = format!("memsleuth: error: {name}");
    assert!(
        err.starts_with(&prefix),
        "{case}: should name {name}:\n{err}"
    );
    if at_byte {
        let rest = &err[prefix.len()..];
        let n = rest
            .strip_prefix(" at byte ")
            .and_then(|r| r.split(':').next())
            .and_then(|n| n.parse::<u64>().ok());
        assert!(n.is_some(), "{case}: no `at byte N` after the name:\n{err}");
    }
    err.to_string()
}

/// Writes `data` to `dir/name` and runs `summary` on it, expecting a clean refusal.
fn refused_file(dir: &Path, name: &str, data: &[u8], at_byte: bool) -> String {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    let run = summary_of(&p);
    assert_refused(&run, p.to_str().unwrap(), at_byte, name)
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

// ---------------------------------------------------------------------------------------
// Through the binary
// ---------------------------------------------------------------------------------------

#[test]
fn empty_file() {
    let d = tmp();
    let msg = refused_file(d.path(), "empty.heapsnapshot", b"", false);
    assert!(msg.contains("empty"), "{msg}");
    // Only whitespace is empty too.
    refused_file(d.path(), "blank.heapsnapshot", b" \n\t\r\n", false);
}

#[test]
fn missing_file_and_directory() {
    let d = tmp();
    let missing = d.path().join("no-such.heapsnapshot");
    let run = summary_of(&missing);
    let msg = assert_refused(&run, missing.to_str().unwrap(), false, "missing");
    assert!(msg.contains("cannot open"), "{msg}");
    let run = summary_of(d.path());
    let msg = assert_refused(&run, d.path().to_str().unwrap(), false, "directory");
    assert!(msg.contains("directory"), "{msg}");
}

/// Cut points spread over the real snapshot: the header, inside `nodes` (in a number,
/// between records), `edges`, the trace arrays, `locations`, `strings` (inside a string and
/// inside a `\u` escape), and the last bytes.
fn cut_points(data: &[u8]) -> Vec<(usize, &'static str)> {
    let nodes = find(data, b"\"nodes\":", 0);
    let edges = find(data, b"\"edges\":", nodes);
    let trace = find(data, b"\"trace_tree\":", edges);
    let locations = find(data, b"\"locations\":", edges);
    let strings = find(data, b"\"strings\":", locations);
    let escape = find(data, b"\\u", strings);
    let len = data.len();
    let mut cuts = vec![
        (1, "after `{`"),
        (3, "inside the first key"),
        (12, "after `\"snapshot\":`"),
        (40, "inside the meta field names"),
        (nodes / 2, "middle of the header"),
        (nodes - 3, "end of the header"),
        (nodes - 1, "before `\"nodes\"`"),
        (nodes + 4, "inside the key `nodes`"),
        (nodes + 8, "after `\"nodes\":`"),
        (nodes + 9, "after `\"nodes\":[`"),
        (nodes + 10, "inside the first node"),
        (nodes + (edges - nodes) / 3, "a third into `nodes`"),
        (
            nodes + (edges - nodes) * 2 / 3 + 1,
            "two thirds into `nodes`",
        ),
        (edges - 4, "last node record"),
        (edges - 1, "between `nodes` and `edges`"),
        (edges + 9, "after `\"edges\":[`"),
        (edges + 11, "inside the first edge"),
        ((edges + locations) / 2, "middle of `edges`"),
        (trace - 2, "end of `edges` and trace arrays"),
        (trace + 14, "inside `trace_tree`"),
        (locations + 13, "after `\"locations\":[`"),
        ((locations + strings) / 2, "middle of `locations`"),
        (strings + 11, "after `\"strings\":[`"),
        (strings + 13, "inside the first string"),
        (escape + 1, "after a backslash"),
        (escape + 3, "inside a \\u escape"),
        ((strings + len) / 2, "middle of `strings`"),
        (len - 3, "inside the last string"),
        (len - 2, "before the last `]`"),
        (len - 1, "before the final `}`"),
    ];
    for (c, _) in &mut cuts {
        assert!(*c > 0 && *c < len);
        // Keep cuts on character boundaries: the text is ASCII except inside strings.
        while !data.is_char_boundary_at(*c) {
            *c -= 1;
        }
    }
    cuts
}

trait CharBoundary {
    fn is_char_boundary_at(&self, i: usize) -> bool;
}
impl CharBoundary for [u8] {
    fn is_char_boundary_at(&self, i: usize) -> bool {
        i >= self.len() || (self[i] as i8) >= -0x40
    }
}

#[test]
fn truncated_anywhere() {
    let data = real();
    let d = tmp();
    let cuts = cut_points(data);
    assert!(cuts.len() >= 30);
    for (cut, where_) in cuts {
        let name = format!("cut-{cut}.heapsnapshot");
        let msg = refused_file(d.path(), &name, &data[..cut], true);
        assert!(
            msg.contains("end of input")
                || msg.contains("truncated")
                || msg.contains("unterminated"),
            "cut {cut} ({where_}): {msg}"
        );
    }
}

#[test]
fn random_bytes() {
    let d = tmp();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for (i, len) in [1usize, 2, 7, 100, 4096, 1 << 20].into_iter().enumerate() {
        let mut v: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if v.len() >= 2 && v[0] == 0x1f && v[1] == 0x8b {
            v[0] = 0;
        }
        // Random bytes behind a plausible start, too.
        refused_file(d.path(), &format!("random-{i}.heapsnapshot"), &v, true);
        let mut w = b"{\"snapshot\":".to_vec();
        w.extend_from_slice(&v);
        refused_file(
            d.path(),
            &format!("random-after-key-{i}.heapsnapshot"),
            &w,
            true,
        );
    }
}

#[test]
fn valid_json_of_another_shape() {
    let d = tmp();
    for (i, (text, at_byte)) in [
        ("{\"a\":1}", false),
        ("{}", false),
        ("[]", true),
        ("null", true),
        ("42", true),
        ("\"snapshot\"", true),
        ("{\"snapshot\":{}}", true),
        ("{\"snapshot\":[]}", true),
        ("{\"snapshot\":null,\"nodes\":[]}", true),
        ("{\"snapshot\":{\"meta\":{}}}", true),
        ("{\"nodes\":[1,2,3]}", true),
        ("{\"snapshot\":{\"meta\":{\"node_fields\":[],\"node_types\":[],\"edge_fields\":[],\"edge_types\":[]}}}", true),
        ("{\"a\":1}{\"b\":2}", true),
    ]
    .into_iter()
    .enumerate()
    {
        refused_file(d.path(), &format!("shape-{i}.json"), text.as_bytes(), at_byte);
    }
    // A valid header whose arrays are missing.
    let header_end = find(real(), b"\"nodes\":", 0);
    let mut v = real()[..header_end].to_vec();
    v.extend_from_slice(b"\"strings\":[]}");
    let msg = refused_file(d.path(), "header-only.heapsnapshot", &v, false);
    assert!(msg.contains("no `nodes` array"), "{msg}");
    // Arrays of the wrong kind.
    let v = replace_once(real(), "\"edges\":[", "\"edges\":[\"x\",", 0);
    refused_file(d.path(), "string-in-edges.heapsnapshot", &v, true);
    let v = replace_once(real(), "\"strings\":[", "\"strings\":[1,", 0);
    refused_file(d.path(), "number-in-strings.heapsnapshot", &v, true);
    let v = replace_once(real(), "\"nodes\":[9,1,1,0,5", "\"nodes\":[9,1,1,-1,5", 0);
    refused_file(d.path(), "negative-in-nodes.heapsnapshot", &v, true);
    let v = replace_once(real(), "\"nodes\":[9,1,1,0,5", "\"nodes\":[9,1,1,0.5,5", 0);
    refused_file(d.path(), "fraction-in-nodes.heapsnapshot", &v, true);
}

#[test]
fn broken_gzip() {
    let d = tmp();
    let gz = gzip(real());
    // A valid gzip header, then garbage.
    let mut v = gz[..10].to_vec();
    let mut rng = Rng(7);
    v.extend((0..5000).map(|_| rng.next() as u8));
    let msg = refused_file(d.path(), "garbage.heapsnapshot.gz", &v, true);
    assert!(msg.contains("gzip"), "{msg}");
    // Only the magic bytes, and a header cut short.
    refused_file(d.path(), "magic-only.gz", &gz[..2], true);
    refused_file(d.path(), "header-cut.gz", &gz[..6], true);
    // Truncated in the middle and near the end (the CRC trailer missing).
    for cut in [gz.len() / 3, gz.len() / 2, gz.len() - 4, gz.len() - 1] {
        refused_file(d.path(), &format!("truncated-{cut}.gz"), &gz[..cut], true);
    }
    // A flipped byte in the compressed data.
    let mut v = gz.clone();
    let mid = v.len() / 2;
    v[mid] ^= 0x55;
    refused_file(d.path(), "corrupt.gz", &v, true);
    // Valid gzip of something that is not a snapshot.
    let msg = refused_file(d.path(), "not-snapshot.gz", &gzip(b"hello world"), true);
    assert!(msg.contains("not a heap snapshot"), "{msg}");
}

#[test]
fn counts_that_lie() {
    let d = tmp();
    let data = real();
    for (i, (from, to)) in [
        ("\"node_count\":44003", "\"node_count\":44004"),
        ("\"node_count\":44003", "\"node_count\":44002"),
        ("\"node_count\":44003", "\"node_count\":1"),
        ("\"node_count\":44003", "\"node_count\":99999999999999"),
        ("\"node_count\":44003", "\"node_count\":-1"),
        ("\"edge_count\":190494", "\"edge_count\":190495"),
        ("\"edge_count\":190494", "\"edge_count\":190493"),
        ("\"edge_count\":190494", "\"edge_count\":4294967296"),
        // The root's own edge_count field: the sum no longer matches `edges`.
        ("\"nodes\":[9,1,1,0,5,", "\"nodes\":[9,1,1,0,6,"),
        ("\"nodes\":[9,1,1,0,5,", "\"nodes\":[9,1,1,0,4294967295,"),
        // An extra node and an extra edge against the header.
        (
            "\"nodes\":[9,1,1,0,5,0,0",
            "\"nodes\":[9,1,1,0,5,0,0,9,1,1,0,0,0,0",
        ),
        ("\"edges\":[1,1,7", "\"edges\":[1,1,7,1,1,7"),
        // A record cut short.
        ("\"edges\":[1,1,7", "\"edges\":[1,1,7,1"),
    ]
    .into_iter()
    .enumerate()
    {
        let v = replace_once(data, from, to, 0);
        let msg = refused_file(d.path(), &format!("lie-{i}.heapsnapshot"), &v, true);
        assert!(!msg.contains("end of input"), "{to}: {msg}");
    }
}

/// Regression: a header claiming 4294967295 nodes made the parser reserve 16 GiB per
/// column up front, which aborted the process ("memory allocation failed", exit 134) where
/// that much address space is not available. Run under a 3 GiB address-space limit.
#[test]
fn lying_node_count_does_not_reserve_huge_memory() {
    let d = tmp();
    for (i, (from, to)) in [
        ("\"node_count\":44003", "\"node_count\":4294967295"),
        ("\"edge_count\":190494", "\"edge_count\":4294967295"),
    ]
    .into_iter()
    .enumerate()
    {
        let p = d.path().join(format!("huge-count-{i}.heapsnapshot"));
        std::fs::write(&p, replace_once(real(), from, to, 0)).unwrap();
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("ulimit -v 3145728 && exec \"$0\" summary \"$1\" --format json")
            .arg(env!("CARGO_BIN_EXE_memsleuth"))
            .arg(&p);
        let run = run_cmd(cmd, "huge count under ulimit -v", None);
        let msg = assert_refused(&run, p.to_str().unwrap(), true, to);
        assert!(msg.contains("header says"), "{msg}");
    }
    // The genuine file still works under the same limit.
    let p = d.path().join("genuine.heapsnapshot");
    std::fs::write(&p, real()).unwrap();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("ulimit -v 3145728 && exec \"$0\" summary \"$1\" --format json")
        .arg(env!("CARGO_BIN_EXE_memsleuth"))
        .arg(&p);
    let run = run_cmd(cmd, "genuine under ulimit -v", None);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
}

/// Regression: a number that never ends (`"nodes":[1111…` with no separator) made the
/// parser grow its buffer to find the end of the token, reading an endless stream until
/// memory ran out. Now a buffer without a separator is refused at once. Fed an endless
/// stream on stdin under a 2 GiB address-space limit.
#[test]
fn endless_number_is_refused_without_running_out_of_memory() {
    let d = tmp();
    let nodes = find(real(), b"\"nodes\":[", 0) + 9;
    let head = d.path().join("head.json");
    std::fs::write(&head, &real()[..nodes]).unwrap();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("ulimit -v 2097152 && { cat \"$1\"; yes 1 | tr -d '\\n'; } | \"$0\" summary -")
        .arg(env!("CARGO_BIN_EXE_memsleuth"))
        .arg(&head);
    let run = run_cmd(cmd, "endless digits", None);
    let msg = assert_refused(&run, "<stdin>", true, "endless digits");
    assert!(msg.contains("larger than 4294967295"), "{msg}");
}

/// Regression: a file truncated inside `edges` was reported as "edge N points to node
/// index 1514 which is not a node": the last number, cut short, was checked as a record
/// before the truncation was noticed. Truncation is now reported first.
#[test]
fn truncated_inside_a_number_reports_truncation() {
    let d = tmp();
    let data = real();
    let edges = find(data, b"\"edges\":", 0);
    // Cut inside the multi-digit to_node of a record in the middle of `edges`.
    let mid = find(data, b"\n,", (edges + data.len()) / 3);
    let mut cut = mid + 2;
    let mut commas = 0;
    while commas < 2 {
        if data[cut] == b',' {
            commas += 1;
        }
        cut += 1;
    }
    assert!(data[cut].is_ascii_digit() && data[cut + 1].is_ascii_digit());
    let msg = refused_file(
        d.path(),
        "cut-in-number.heapsnapshot",
        &data[..cut + 1],
        true,
    );
    assert!(
        msg.contains("end of input inside the `edges` array"),
        "{msg}"
    );
    assert!(msg.contains(&format!("at byte {}:", cut + 1)), "{msg}");
}

/// Regression (found by `cargo fuzz`, input kept in `tests/fixtures/bad/`): an absurd
/// `extra_native_bytes` (`4094444…446`, 4e99 as a double) became u64::MAX and the total
/// size (`retained[root] + extra_native_bytes`) overflowed: "attempt to add with overflow",
/// a panic, exit 101. Values past 2^53 are now refused as a bad header.
#[test]
fn huge_extra_native_bytes_overflowed_total_size() {
    let fixture = root().join("tests/fixtures/bad/fuzz-extra-native-bytes-overflow.heapsnapshot");
    let run = summary_of(&fixture);
    let msg = assert_refused(&run, fixture.to_str().unwrap(), true, "fuzz crash");
    assert!(msg.contains("extra_native_bytes"), "{msg}");
    let d = tmp();
    let seed = root().join("fuzz/seeds/node24-small.heapsnapshot");
    let seed = std::fs::read(&seed).unwrap();
    for (i, value) in ["1e30", "18446744073709551615", "9007199254740994"]
        .into_iter()
        .enumerate()
    {
        let v = replace_once(
            &seed,
            "\"extra_native_bytes\":4096",
            &format!("\"extra_native_bytes\":{value}"),
            0,
        );
        refused_file(d.path(), &format!("extra-{i}.heapsnapshot"), &v, true);
    }
    // 2^53 itself, zero, negative and fractional values are still read.
    for value in ["9007199254740992", "0", "-5", "12.5"] {
        let v = replace_once(
            &seed,
            "\"extra_native_bytes\":4096",
            &format!("\"extra_native_bytes\":{value}"),
            0,
        );
        let p = d.path().join("extra-ok.heapsnapshot");
        std::fs::write(&p, v).unwrap();
        let run = summary_of(&p);
        assert_eq!(run.code, Some(0), "{value}: {}", run.stderr);
    }
}

#[test]
fn to_node_out_of_range() {
    let d = tmp();
    let data = real();
    for (i, to) in [
        "\"edges\":[1,1,308021",     // 44003 * 7: one past the last node
        "\"edges\":[1,1,308014",     // the last node: valid
        "\"edges\":[1,1,8",          // not a multiple of the 7 node fields
        "\"edges\":[1,1,4294967295", // u32::MAX
        "\"edges\":[7,1,7",          // edge type 7: only 7 edge types exist
        "\"edges\":[1,1,7,1,1,7",    // (the count is checked as well)
    ]
    .into_iter()
    .enumerate()
    {
        let v = replace_once(data, "\"edges\":[1,1,7", to, 0);
        let p = d.path().join(format!("to-node-{i}.heapsnapshot"));
        std::fs::write(&p, &v).unwrap();
        let run = summary_of(&p);
        if i == 1 {
            assert_eq!(run.code, Some(0), "{to}: {}", run.stderr);
            continue;
        }
        let msg = assert_refused(&run, p.to_str().unwrap(), true, to);
        if i != 5 {
            assert!(msg.contains("edge 0"), "{to}: {msg}");
        }
    }
    // Node names and edge names pointing past `strings`, and a node type out of range.
    for (i, (from, to)) in [
        ("\"nodes\":[9,1,1,0,5", "\"nodes\":[9,99999,1,0,5"),
        (
            "\"edges\":[1,1,7\n,5,10404,",
            "\"edges\":[1,1,7\n,5,4000000000,",
        ),
        ("\"nodes\":[9,1,1,0,5", "\"nodes\":[16,1,1,0,5"),
        ("\"nodes\":[9,1,1,0,5", "\"nodes\":[255,1,1,0,5"),
    ]
    .into_iter()
    .enumerate()
    {
        let v = replace_once(data, from, to, 0);
        refused_file(d.path(), &format!("index-{i}.heapsnapshot"), &v, true);
    }
}

#[test]
fn numbers_over_u32() {
    let d = tmp();
    let data = real();
    for (i, (from, to)) in [
        ("\"nodes\":[9,1,1,0,5", "\"nodes\":[9,1,99999999999,0,5"),
        ("\"nodes\":[9,1,1,0,5", "\"nodes\":[9,1,4294967296,0,5"),
        (
            "\"nodes\":[9,1,1,0,5",
            "\"nodes\":[9,1,1,0,18446744073709551616",
        ),
        (
            "\"nodes\":[9,1,1,0,5",
            "\"nodes\":[9,1,1,0,5000000000000000000000000000000000000000000000000",
        ),
        ("\"edges\":[1,1,7", "\"edges\":[1,99999999999,7"),
        ("\"locations\":[", "\"locations\":[99999999999,1,2,3,"),
    ]
    .into_iter()
    .enumerate()
    {
        let v = replace_once(data, from, to, 0);
        let msg = refused_file(d.path(), &format!("big-{i}.heapsnapshot"), &v, true);
        assert!(msg.contains("larger than 4294967295"), "{to}: {msg}");
    }
    // u32::MAX itself is a number the parser takes (as a node id, for example).
    let v = replace_once(
        data,
        "\"nodes\":[9,1,1,0,5",
        "\"nodes\":[9,1,4294967295,0,5",
        0,
    );
    let p = d.path().join("u32-max-id.heapsnapshot");
    std::fs::write(&p, v).unwrap();
    let run = summary_of(&p);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
}

#[test]
fn deep_nesting() {
    let d = tmp();
    let data = real();
    let nodes = find(data, b"\"nodes\":", 0);
    for (i, (open, depth)) in [
        ("{\"x\":", 100_000usize),
        ("[", 100_000),
        ("{\"x\":[", 50_000),
        ("[", 5000),
    ]
    .into_iter()
    .enumerate()
    {
        // In a key the parser skips, before the arrays.
        let mut v = data[..nodes].to_vec();
        v.extend_from_slice(b"\"skipped\":");
        v.extend_from_slice(open.repeat(depth).as_bytes());
        v.extend_from_slice(&data[nodes..]);
        let msg = refused_file(
            d.path(),
            &format!("deep-skipped-{i}.heapsnapshot"),
            &v,
            true,
        );
        assert!(
            msg.contains("nesting too deep") || msg.contains("end of input"),
            "{msg}"
        );
        // In the header.
        let v = replace_once(
            data,
            "\"meta\":{",
            &format!("\"meta\":{{\"deep\":{}", open.repeat(depth)),
            0,
        );
        refused_file(d.path(), &format!("deep-header-{i}.heapsnapshot"), &v, true);
        // As the whole file.
        refused_file(
            d.path(),
            &format!("deep-only-{i}.json"),
            open.repeat(depth).as_bytes(),
            true,
        );
    }
    // Nesting that is closed again: deep for serde (over its limit of 128) but under ours.
    let deep = format!("{}1{}", "[".repeat(1000), "]".repeat(1000));
    let v = replace_once(
        data,
        "\"meta\":{",
        &format!("\"meta\":{{\"deep\":{deep},"),
        0,
    );
    let p = d.path().join("deep-closed-header.heapsnapshot");
    std::fs::write(&p, v).unwrap();
    let run = summary_of(&p);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(run.code == Some(0) || run.code == Some(2), "{}", run.stderr);
    if run.code == Some(2) {
        assert_refused(&run, p.to_str().unwrap(), true, "deep closed header");
    }
    // And after the arrays, in a key the parser skips: accepted.
    let mut v = data[..data.len() - 1].to_vec();
    v.extend_from_slice(format!(",\"extra\":{deep}}}").as_bytes());
    let p = d.path().join("deep-closed-skipped.heapsnapshot");
    std::fs::write(&p, v).unwrap();
    let run = summary_of(&p);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
}

/// A valid snapshot whose class names and strings are hostile: markup, escaped control
/// characters, lone and reversed surrogates, raw invalid UTF-8, very long names.
fn hostile_snapshot() -> Vec<u8> {
    let names = [
        "<script>alert(1)</script>",
        "\\u0000nul\\u0001\\u001b[31mred\\u001b[0m\\b\\f\\n\\r\\t",
        "lone \\ud800 high",
        "lone \\udfff low",
        "reversed \\udc00\\ud800",
        "pair \\ud83d\\ude00 ok",
        "quote \\\" backslash \\\\ slash \\/",
        "raw \u{7f} del and é and 𝄞",
    ];
    let long = "x".repeat(100_000);
    let mut strings: Vec<String> = vec![String::new()];
    strings.extend(names.iter().map(|s| s.to_string()));
    strings.push(long);
    // root -> shortcut to one object per name.
    let n = names.len() + 1;
    let mut nodes = format!("9,0,1,0,{},0,0", n);
    for i in 1..=n {
        nodes.push_str(&format!("\n,3,{i},{},{},0,0,0", i * 2 + 1, 10 + i));
    }
    let mut edges = Vec::new();
    for i in 1..=n {
        edges.push(format!("5,{i},{}", i * 7));
    }
    let head = r#"{"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count","trace_node_id","detachedness"],"node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic"],"string","number","number","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"],"location_fields":["object_index","script_id","line","column"]},"node_count":"#;
    let mut out = format!(
        "{head}{},\"edge_count\":{}}},\n\"nodes\":[{nodes}],\n\"edges\":[{}],\n\"locations\":[],\n\"strings\":[",
        n + 1,
        n,
        edges.join("\n,")
    )
    .into_bytes();
    for (i, s) in strings.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b",\n");
        }
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        if i == 2 {
            out.extend_from_slice(b" \xff\xfe invalid utf-8");
        }
        out.push(b'"');
    }
    out.extend_from_slice(b"]}");
    out
}

#[test]
fn hostile_strings_parse_fine() {
    let d = tmp();
    let p = d.path().join("hostile.heapsnapshot");
    std::fs::write(&p, hostile_snapshot()).unwrap();
    let run = summary_of(&p);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("valid JSON out");
    let names: Vec<&str> = v["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(v["node_count"], 10, "{names:?}");
    assert!(names.contains(&"<script>alert(1)</script>"), "{names:?}");
    assert!(names.contains(&"lone \u{FFFD} high"), "{names:?}");
    assert!(names.contains(&"lone \u{FFFD} low"), "{names:?}");
    assert!(names.contains(&"reversed \u{FFFD}\u{FFFD}"), "{names:?}");
    assert!(names.contains(&"pair 😀 ok"), "{names:?}");
    assert!(
        names.contains(&"quote \" backslash \\ slash /"),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("\0nul\u{1}\u{1b}[31mred")
                && n.ends_with(" \u{FFFD}\u{FFFD} invalid utf-8")),
        "{names:?}"
    );
    // The text table takes them too.
    let run = memsleuth(&["summary", p.to_str().unwrap()], None);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    // A raw control character inside a string is invalid JSON: refused, not a panic.
    let bad = replace_once(&hostile_snapshot(), "<script>", "<scr\u{1}ipt>", 0);
    refused_file(d.path(), "raw-control.heapsnapshot", &bad, true);
}

#[test]
fn gzip_and_stdin_work() {
    let gz = root().join("tests/fixtures/heap/node20-seq-1.heapsnapshot.gz");
    let plain = summary_of(&gz);
    assert_eq!(plain.code, Some(0), "{}", plain.stderr);
    let v: serde_json::Value = serde_json::from_str(&plain.stdout).unwrap();
    assert_eq!(v["node_count"], 44003);
    assert_eq!(v["edge_count"], 190494);
    // stdin, gzipped and plain, gives the same numbers.
    for (what, bytes) in [
        ("gz", std::fs::read(&gz).unwrap()),
        ("plain", real().to_vec()),
    ] {
        let run = memsleuth(&["summary", "-", "--format", "json"], Some(bytes));
        assert_eq!(run.code, Some(0), "stdin {what}: {}", run.stderr);
        let w: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(w["total_bytes"], v["total_bytes"], "stdin {what}");
        assert_eq!(w["classes"], v["classes"], "stdin {what}");
    }
    // Bad input on stdin names `<stdin>`.
    for (i, bytes) in [
        Vec::new(),
        b"{\"a\":1}".to_vec(),
        real()[..real().len() / 2].to_vec(),
        gzip(&real()[..1000]),
    ]
    .into_iter()
    .enumerate()
    {
        let run = memsleuth(&["summary", "-"], Some(bytes));
        assert_refused(&run, "<stdin>", i >= 2, &format!("stdin case {i}"));
    }
}

#[test]
fn seeds_of_the_fuzzer_are_valid() {
    let d = tmp();
    for (name, bytes) in seeds() {
        let p = d.path().join(&name);
        std::fs::write(&p, &bytes).unwrap();
        let run = summary_of(&p);
        assert_eq!(run.code, Some(0), "{name}: {}", run.stderr);
    }
}

// ---------------------------------------------------------------------------------------
// The library, on many mutated inputs
// ---------------------------------------------------------------------------------------

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Bytes a mutation writes: mostly the JSON punctuation and digits that change structure.
const ALPHABET: &[u8] = b"0123456789,[]{}\":\\ -.u\n";

fn mutate(rng: &mut Rng, v: &mut Vec<u8>) {
    let at = rng.below(v.len());
    match rng.below(5) {
        0 => v[at] ^= 1 << rng.below(8),
        1 => v[at] = rng.next() as u8,
        2 | 3 => v[at] = ALPHABET[rng.below(ALPHABET.len())],
        _ => {
            if rng.below(2) == 0 {
                v.insert(at, ALPHABET[rng.below(ALPHABET.len())]);
            } else {
                v.remove(at);
            }
        }
    }
}

/// Parses and (when accepted and small enough) analyses `data`; a panic fails the test
/// with the input saved for reproduction.
fn parse_and_build(data: &[u8], case: &str) -> bool {
    let r = std::panic::catch_unwind(|| {
        // Parts of a few bytes share the records of a numeric block out as an 8 MiB input
        // does: same columns, or the same first error, whatever the cut.
        let tiny = parse::parse_reader_parts(data, "mutated", 23);
        let parsed = parse::parse_reader(data, "mutated", &|_| {});
        match (&tiny, &parsed) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.node_id, b.node_id, "{case}");
                assert_eq!(a.node_self, b.node_self, "{case}");
                assert_eq!(a.first_edge, b.first_edge, "{case}");
                assert_eq!(a.edge_to, b.edge_to, "{case}");
                assert_eq!(a.edge_name, b.edge_name, "{case}");
                assert_eq!(a.locations, b.locations, "{case}");
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{case}"),
            _ => panic!("{case}: parts of 23 bytes gave {tiny:?}, whole parts {parsed:?}"),
        }
        let Ok(raw) = parsed else {
            return false;
        };
        if raw.node_count() <= 100_000 {
            let g = HeapGraph::build(raw);
            let s = summary::summarize(&g, "mutated", 10);
            assert!(s.node_count as usize == g.n_nodes());
        }
        true
    });
    match r {
        Ok(accepted) => accepted,
        Err(_) => {
            let keep = std::env::temp_dir().join(format!("memsleuth-panic-{case}.heapsnapshot"));
            let _ = std::fs::write(&keep, data);
            panic!(
                "{case}: panic on a mutated input (saved as {})",
                keep.display()
            );
        }
    }
}

#[test]
fn random_mutations_of_a_real_snapshot_never_panic() {
    let base = real();
    let mut rng = Rng(0x6d65_6d73_6c65_7574);
    let start = Instant::now();
    let mut accepted = 0;
    let iterations = 300;
    for i in 0..iterations {
        let mut v = base.to_vec();
        for _ in 0..1 + rng.below(4) {
            mutate(&mut rng, &mut v);
        }
        // Half the time, aim at the header and the array boundaries, where structure lives.
        if i % 2 == 0 {
            let nodes = find(base, b"\"nodes\":", 0);
            let at = rng.below(nodes + 64).min(v.len() - 1);
            v[at] = ALPHABET[rng.below(ALPHABET.len())];
        }
        if parse_and_build(&v, &format!("real-{i}")) {
            accepted += 1;
        }
    }
    // Some mutations keep the snapshot valid (a digit in a size, a letter in a string):
    // those went through the whole analysis.
    assert!(accepted > 0, "no mutation was accepted");
    eprintln!(
        "{iterations} mutations, {accepted} accepted, {:?}",
        start.elapsed()
    );
}

#[test]
fn random_mutations_of_small_snapshots_never_panic() {
    let mut rng = Rng(0x736d_616c_6c00_0001);
    for (name, base) in seeds() {
        let mut accepted = 0;
        for i in 0..1500 {
            let mut v = base.clone();
            for _ in 0..1 + rng.below(6) {
                if v.is_empty() {
                    break;
                }
                mutate(&mut rng, &mut v);
            }
            if parse_and_build(&v, &format!("{name}-{i}")) {
                accepted += 1;
            }
        }
        assert!(accepted > 0, "{name}: no mutation was accepted");
        // Every prefix is refused, never a panic.
        for cut in 0..base.len() - 1 {
            let r = std::panic::catch_unwind(|| parse::parse_reader(&base[..cut], "cut", &|_| {}));
            match r {
                Ok(res) => assert!(res.is_err(), "{name} cut at {cut} was accepted"),
                Err(_) => panic!("{name}: panic on the prefix of {cut} bytes"),
            }
        }
    }
}

/// The reader takes the input in blocks of `input::BLOCK_DATA` bytes (8 MiB), a block
/// boundary at every multiple of it: no fixture is that large, so padding with whitespace
/// puts a boundary inside a number, a `\u` escape or a multi-byte UTF-8 character. The
/// result must equal the unpadded parse.
#[test]
fn buffer_boundaries_inside_tokens_change_nothing() {
    const BLOCK: usize = memsleuth::input::BLOCK_DATA;
    let base = real();
    // A string with raw UTF-8 (V8 writes escapes, other tools may not) and escapes.
    let strings = find(base, b"\"strings\":[", 0) + 11;
    let special = "\"é€𝄞 raw \\u00e9\\ud834\\udd1e \\n\\\\ esc\",";
    let mut data = base[..strings].to_vec();
    data.extend_from_slice(special.as_bytes());
    data.extend_from_slice(&base[strings..]);
    let parse_all = |d: &[u8]| parse::parse_reader(d, "padded", &|_| {}).unwrap();
    let want = parse_all(&data);
    assert_eq!(want.strings.get(0), "é€𝄞 raw é𝄞 \n\\ esc");
    let same = |got: &parse::RawSnapshot, case: &str| {
        assert_eq!(got.node_name, want.node_name, "{case}");
        assert_eq!(got.node_self, want.node_self, "{case}");
        assert_eq!(got.first_edge, want.first_edge, "{case}");
        assert_eq!(got.edge_to, want.edge_to, "{case}");
        assert_eq!(got.edge_name, want.edge_name, "{case}");
        assert_eq!(got.locations, want.locations, "{case}");
        assert_eq!(got.strings.len(), want.strings.len(), "{case}");
        for i in 0..want.strings.len() as u32 {
            assert_eq!(
                got.strings.get(i),
                want.strings.get(i),
                "{case}: string {i}"
            );
        }
    };
    // Padding right after an array's `[` moves `target` to the next block boundary.
    let pad_after = |key: &[u8], target: usize| -> Vec<u8> {
        let at = find(&data, key, 0) + key.len();
        assert!(target >= at && target - at < BLOCK);
        let pad = BLOCK - target % BLOCK;
        let mut v = data[..at].to_vec();
        v.extend(std::iter::repeat_n(b' ', pad));
        v.extend_from_slice(&data[at..]);
        v
    };
    let nodes = find(&data, b"\"nodes\":[", 0) + 9;
    let edges = find(&data, b"\"edges\":[", 0) + 9;
    let special_at = find(&data, "é€".as_bytes(), 0);
    let mut cases: Vec<(Vec<u8>, String)> = Vec::new();
    for k in [0, 1, 2, 3] {
        // Inside a multi-digit number of `nodes` and of `edges`.
        let n = find(&data, b",7624,", nodes) + 2 + k;
        cases.push((pad_after(b"\"nodes\":[", n), format!("nodes number +{k}")));
        let e = find(&data, b",10404,", edges) + 2 + k;
        cases.push((pad_after(b"\"edges\":[", e), format!("edges number +{k}")));
    }
    // Every byte of the special string: inside é (2 bytes), € (3), 𝄞 (4), the escapes.
    for k in 0..special.len() {
        cases.push((
            pad_after(b"\"locations\":[", special_at + k),
            format!("special string +{k}"),
        ));
    }
    for (v, case) in cases {
        same(&parse_all(&v), &case);
    }
}
