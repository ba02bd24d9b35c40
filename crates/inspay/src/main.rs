//! The `inspay` command line: a thin shell over the library crates.

mod bench;

use clap::{Parser, Subcommand};

/// The application identifier (clause 6.3.5): unique, stable across versions.
const APPLICATION_ID: &str = "cn.inspay.payment-platform";

#[derive(Debug, Parser)]
#[command(name = "inspay", version, about = "inspay insurance payment platform")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run benchmarks and compare them with a reference measured in the same run.
    #[command(subcommand, after_help = "Example:\n  inspay bench crypto")]
    Bench(bench::BenchCommand),
    /// Print the application identifier, version and build commit.
    #[command(after_help = "Example:\n  inspay version")]
    Version,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Bench(command) => bench::run(command),
        Command::Version => {
            println!(
                "{APPLICATION_ID} {} ({})",
                env!("CARGO_PKG_VERSION"),
                env!("INSPAY_BUILD_COMMIT")
            );
            Ok(())
        }
    }
}
