//! The `memsleuth` binary: parses arguments, calls the library, prints, sets the exit code.
//! Exit codes: 0 success, 1 `--fail-on-leak` with findings, 2 any error.

use clap::{CommandFactory, Parser, Subcommand};
use memsleuth::cli;

#[derive(Parser)]
#[command(
    name = "memsleuth",
    version,
    about = "Investigates memory leaks in Node.js and Python services and writes the report"
)]
struct Cli {
    /// Colour: auto (on a terminal, unless NO_COLOR is set), always, never
    #[arg(long, global = true, value_enum, default_value_t, value_name = "WHEN")]
    color: cli::color::ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// DevTools Summary view of one heap snapshot
    Summary(cli::summary::Args),
    /// DevTools Comparison view of two snapshots of one process
    Diff(cli::diff::Args),
    /// Leaked object groups across 2+ snapshots: retainer path, pattern, code, fix
    Leaks(cli::leaks::Args),
    /// Shortest retainer paths from the GC roots to one object
    Path(cli::path::Args),
    /// Post-GC heap growth and GC pauses from a `node --trace-gc` log
    Gc(cli::gc::Args),
    /// Memory growth per series from Prometheus (live or a saved query_range JSON)
    Metrics(cli::metrics::Args),
    /// OOM crashes, OOM kills and restarts in an application or system log
    Applog(cli::applog::Args),
    /// Leaking Python lines and leaks from Scalene, memray, tracemalloc, memory_profiler or probe checkpoints
    Python(cli::python::Args),
    /// The full Memory Leak Investigation Report from any mix of evidence
    Report(cli::report::Args),
    /// Prometheus alert rules and a Grafana dashboard for a service
    Alerts(cli::alerts::Args),
    /// The report on built-in example evidence, written to ./memsleuth-demo/
    Demo(cli::demo::Args),
    /// Run a Node or Python service under load (or attach to one): checkpoints, snapshots or probe files, report
    Capture(Box<cli::capture::Args>),
    /// Compare captures before and after a fix: exit 0 when it holds, 1 when the leak persists
    Verify(cli::verify::Args),
    /// A shell completion script (bash, zsh, fish, elvish, powershell) on stdout
    Completions(cli::shell::CompletionsArgs),
    /// The man page (memsleuth.1) on stdout, or every page into --out DIR
    Man(cli::shell::ManArgs),
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    cli::color::init(cli.color);
    let result = match cli.command {
        Command::Summary(a) => cli::summary::run(a),
        Command::Diff(a) => cli::diff::run(a),
        Command::Leaks(a) => cli::leaks::run(a),
        Command::Path(a) => cli::path::run(a),
        Command::Gc(a) => cli::gc::run(a),
        Command::Metrics(a) => cli::metrics::run(a),
        Command::Applog(a) => cli::applog::run(a),
        Command::Python(a) => cli::python::run(a),
        Command::Report(a) => cli::report::run(a),
        Command::Alerts(a) => cli::alerts::run(a),
        Command::Demo(a) => cli::demo::run(a),
        Command::Capture(a) => cli::capture::run(*a),
        Command::Verify(a) => cli::verify::run(a),
        Command::Completions(a) => cli::shell::completions(a, Cli::command()),
        Command::Man(a) => cli::shell::man(a, Cli::command()),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            let p = cli::color::stderr();
            eprintln!("memsleuth: {} {e:#}", p.red("error:"));
            std::process::exit(2);
        }
    }
}
