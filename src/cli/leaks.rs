//! `memsleuth leaks`.

/// Flags of `memsleuth leaks`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    anyhow::bail!("`memsleuth leaks` is not built yet")
}
