//! `memsleuth metrics`.

/// Flags of `memsleuth metrics`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    anyhow::bail!("`memsleuth metrics` is not built yet")
}
