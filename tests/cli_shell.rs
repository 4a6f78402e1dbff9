//! The CLI conveniences users expect: shell completions, man pages, colour only on a
//! terminal and never with `NO_COLOR`.

use std::process::Command;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_memsleuth")
}

fn subcommands() -> Vec<String> {
    // The visible commands, as the help lists them.
    let out = Command::new(bin()).arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect()
}

#[test]
fn bash_completion_script_parses_and_offers_every_command() {
    let out = Command::new(bin())
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("memsleuth.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let check = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .unwrap();
    assert!(check.success(), "bash -n rejects the completion script");
    // Completing `memsleuth l` in a real bash offers `leaks`.
    let probe = format!(
        "source {}; COMP_WORDS=(memsleuth le); COMP_CWORD=1; COMP_LINE='memsleuth le'; \
         COMP_POINT=12; _memsleuth memsleuth le memsleuth; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display()
    );
    let out = Command::new("bash").args(["-c", &probe]).output().unwrap();
    let offered = String::from_utf8_lossy(&out.stdout);
    assert!(offered.lines().any(|l| l == "leaks"), "offered: {offered}");
    let cmds = subcommands();
    assert!(cmds.len() >= 10, "{cmds:?}");
    let text = String::from_utf8_lossy(&std::fs::read(&script).unwrap()).to_string();
    for c in &cmds {
        assert!(text.contains(c.as_str()), "completion script lacks {c}");
    }
}

#[test]
fn man_pages_render_with_groff_for_every_command() {
    let out = Command::new(bin()).arg("man").output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH memsleuth 1"));
    let dir = tempfile::tempdir().unwrap();
    let st = Command::new(bin())
        .args(["man", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(st.status.success());
    for c in subcommands() {
        let file = dir.path().join(format!("memsleuth-{c}.1"));
        assert!(file.exists(), "no man page for {c}");
        // groff renders it to text without warnings, and the text names the command.
        let out = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{c}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Runs memsleuth under a pseudo-terminal (util-linux `script`), so stderr is a terminal.
fn on_terminal(args: &str, no_color: bool) -> String {
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &format!("{} {args}", bin()), "/dev/null"]);
    cmd.env_remove("NO_COLOR");
    if no_color {
        cmd.env("NO_COLOR", "1");
    }
    let out = cmd.output().unwrap();
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn colour_on_a_terminal_unless_no_color_or_a_pipe() {
    let tty = on_terminal("summary /nonexistent.heapsnapshot", false);
    assert!(tty.contains("\x1b[1;31merror:\x1b[0m"), "{tty:?}");
    let tty_no = on_terminal("summary /nonexistent.heapsnapshot", true);
    assert!(
        tty_no.contains("memsleuth: error:") && !tty_no.contains('\x1b'),
        "{tty_no:?}"
    );
    let never = on_terminal("--color never summary /nonexistent.heapsnapshot", false);
    assert!(!never.contains('\x1b'), "{never:?}");
    // Into a pipe: plain, unless asked for.
    let piped = Command::new(bin())
        .args(["summary", "/nonexistent.heapsnapshot"])
        .output()
        .unwrap();
    assert_eq!(piped.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&piped.stderr).contains('\x1b'));
    let always = Command::new(bin())
        .args(["--color", "always", "summary", "/nonexistent.heapsnapshot"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&always.stderr).contains("\x1b[1;31m"));
}

/// Regression: `memsleuth gc --format json LOG | head -1` ended with "memsleuth: error:
/// Broken pipe" and exit 2; a reader that stops early is not an error, as for text output.
#[test]
fn json_into_a_closed_pipe_is_not_an_error() {
    use std::io::Read;
    // A long GC log (its JSON lists every event: far more than a pipe buffer holds).
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("gc.log");
    let mut text = String::new();
    for i in 0..20_000 {
        let heap = 4.0 + (i % 50) as f64 * 0.1;
        text.push_str(&format!(
            "[7:0x55aa] {} ms: Scavenge {heap:.1} (8.0) -> {:.1} (8.0) MB, 0.5 / 0.0 ms  (average mu = 0.990, current mu = 0.990) allocation failure; \n",
            10 * i + 10,
            heap - 0.5
        ));
    }
    std::fs::write(&log, text).unwrap();
    let mut child = Command::new(bin())
        .args(["gc", "--format", "json"])
        .arg(&log)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The pipe is closed here, long before the JSON is written.
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
