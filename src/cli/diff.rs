//! `memsleuth diff`.

/// Flags of `memsleuth diff`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    anyhow::bail!("`memsleuth diff` is not built yet")
}
