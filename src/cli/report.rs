//! `memsleuth report`.

/// Flags of `memsleuth report`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    anyhow::bail!("`memsleuth report` is not built yet")
}
