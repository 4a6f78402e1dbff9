//! Golden reports from fixed evidence: every output file of `memsleuth report` for each case
//! in `tests/fixtures/report/` must equal `tests/fixtures/report/golden/<case>/`.
//! `MEMSLEUTH_BLESS=1 cargo test --test report_golden` rewrites the goldens.

mod report_support;
use report_support::*;

fn check_case(case: &str) {
    let (_tmp, out) = run_case(case);
    let golden = fixtures().join("golden").join(case);
    let bless = std::env::var_os("MEMSLEUTH_BLESS").is_some_and(|v| v != "0");
    let mut failures = Vec::new();
    for name in OUTPUTS {
        let got = std::fs::read_to_string(out.join(name)).unwrap();
        let path = golden.join(name);
        if bless {
            std::fs::create_dir_all(&golden).unwrap();
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run MEMSLEUTH_BLESS=1 cargo test --test report_golden",
                path.display()
            )
        });
        if got != want {
            let line = got
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| got.lines().count().min(want.lines().count()));
            failures.push(format!(
                "{case}/{name} differs from the golden at line {}:\n  got:  {:?}\n  want: {:?}",
                line + 1,
                got.lines().nth(line).unwrap_or("<end>"),
                want.lines().nth(line).unwrap_or("<end>")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n(if the change is intended: MEMSLEUTH_BLESS=1 cargo test --test report_golden)",
        failures.join("\n")
    );
}

#[test]
fn golden_full_evidence() {
    check_case("full");
}

#[test]
fn golden_python_only() {
    check_case("python");
}

#[test]
fn golden_gc_log_only() {
    check_case("gc");
}

#[test]
fn golden_no_leak() {
    check_case("noleak");
}

#[test]
fn golden_oom_crash_log() {
    check_case("oom");
}

#[test]
fn golden_finder_fields_of_contract_c2() {
    check_case("c2");
}

#[test]
fn golden_app_log_with_two_crashes() {
    check_case("applog");
}

#[test]
fn golden_short_window_far_limit() {
    check_case("short-far");
}

#[test]
fn golden_short_window_near_limit() {
    check_case("short-near");
}

#[test]
fn golden_hostile_names() {
    check_case("hostile");
}

#[test]
fn same_inputs_give_byte_identical_outputs() {
    let (_a, out_a) = run_case("full");
    let (_b, out_b) = run_case("full");
    for name in OUTPUTS {
        let a = std::fs::read(out_a.join(name)).unwrap();
        let b = std::fs::read(out_b.join(name)).unwrap();
        assert!(a == b, "{name} differs between two runs on the same inputs");
    }
}
