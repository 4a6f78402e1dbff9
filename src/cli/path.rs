//! `memsleuth path`.

/// Flags of `memsleuth path`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    anyhow::bail!("`memsleuth path` is not built yet")
}
