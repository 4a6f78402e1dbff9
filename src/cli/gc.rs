//! `memsleuth gc`.

/// Flags of `memsleuth gc`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    anyhow::bail!("`memsleuth gc` is not built yet")
}
