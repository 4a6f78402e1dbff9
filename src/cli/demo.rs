//! `memsleuth demo`.

/// Flags of `memsleuth demo`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    anyhow::bail!("`memsleuth demo` is not built yet")
}
