//! `inspay bench`: placeholder replaced by the crypto benchmark.

/// What to benchmark.
#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// SM3, SM4-GCM and SM2 throughput beside `openssl speed` on this machine.
    Crypto,
}

/// Runs a benchmark.
pub fn run(_command: BenchCommand) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
