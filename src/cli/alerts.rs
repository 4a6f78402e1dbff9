//! `memsleuth alerts`.

/// Flags of `memsleuth alerts`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    anyhow::bail!("`memsleuth alerts` is not built yet")
}
