//! `memsleuth completions SHELL` and `memsleuth man`: shell completion scripts (clap_complete)
//! and man pages (clap_mangen) generated from the same clap definition the binary parses, so
//! they never drift from what the commands accept.

use std::io::Write;

/// `memsleuth completions`.
#[derive(clap::Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `memsleuth man`.
#[derive(clap::Args, Debug)]
pub struct ManArgs {
    /// Write memsleuth.1 and one page per command (memsleuth-leaks.1, ...) into this
    /// directory instead of printing memsleuth.1 on stdout
    #[arg(long, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
}

/// Prints the completion script for `shell` on stdout.
pub fn completions(args: CompletionsArgs, mut cmd: clap::Command) -> anyhow::Result<i32> {
    let name = cmd.get_name().to_string();
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, name, &mut buf);
    super::print_text(&String::from_utf8_lossy(&buf))?;
    Ok(0)
}

/// Prints the man page, or writes every page into `--out DIR` (each atomically).
pub fn man(args: ManArgs, cmd: clap::Command) -> anyhow::Result<i32> {
    let cmd = cmd.version(env!("CARGO_PKG_VERSION"));
    match args.out {
        None => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut buf)?;
            let stdout = std::io::stdout();
            let mut w = stdout.lock();
            match w.write_all(&buf).and_then(|_| w.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
                _ => {}
            }
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .map_err(|e| anyhow::anyhow!("{}: cannot create: {e}", dir.display()))?;
            let mut pages = vec![(format!("{}.1", cmd.get_name()), cmd.clone())];
            for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
                let name = format!("{}-{}", cmd.get_name(), sub.get_name());
                let page = sub
                    .clone()
                    .name(name.clone())
                    .version(env!("CARGO_PKG_VERSION"));
                pages.push((format!("{name}.1"), page));
            }
            for (file, page) in pages {
                let mut buf = Vec::new();
                clap_mangen::Man::new(page).render(&mut buf)?;
                let path = dir.join(&file);
                crate::input::write_atomic(&path, |w| w.write_all(&buf))?;
                eprintln!("wrote {}", path.display());
            }
        }
    }
    Ok(0)
}
