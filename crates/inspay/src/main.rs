//! The `inspay` command line: a thin shell over the library crates.

mod bench;
mod commands;

use clap::{Parser, Subcommand};

/// mimalloc instead of the C library's allocator: a signed request allocates and frees many
/// small buffers across two threads, and the C library's allocator spent about 5 % of the
/// server's CPU on that (see docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::path::PathBuf;

/// The application identifier (clause 6.3.5): unique, stable across versions.
const APPLICATION_ID: &str = "cn.inspay.payment-platform";

#[derive(Debug, Parser)]
#[command(
    name = "inspay",
    version,
    about = "inspay insurance payment platform",
    after_help = "Examples:\n  inspay serve\n  inspay --config /etc/inspay/inspay.toml keys list\n  inspay audit verify\n  inspay users review\n  inspay ledger check"
)]
struct Cli {
    /// Configuration file (TOML). Settings can also come from INSPAY__SECTION__KEY variables.
    #[arg(long, global = true, env = "INSPAY_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTPS server (development profile by default: generated certificate and key).
    #[command(
        after_help = "Examples:\n  inspay serve\n  INSPAY__PROFILE=production inspay --config prod.toml serve"
    )]
    Serve,
    /// Manage data keys: list, rotate, suspend, destroy, rewrap, export public keys.
    #[command(subcommand)]
    Keys(commands::keys::KeysCommand),
    /// Verify or checkpoint the tamper-evident audit log.
    #[command(subcommand)]
    Audit(commands::audit::AuditCommand),
    /// Manage staff accounts, roles and assignments; print the permission review report.
    #[command(subcommand)]
    Users(commands::users::UsersCommand),
    /// Register client applications, rotate their keys, suspend or revoke them; verify the
    /// evidence of their signed requests.
    #[command(subcommand)]
    Apps(commands::apps::AppsCommand),
    /// SM2 certificates for the TLCP listener: a development CA and signing/encryption
    /// pairs, describe certificate files, check the configured [tlcp] material.
    #[cfg(feature = "tlcp")]
    #[command(subcommand)]
    Certs(commands::certs::CertsCommand),
    /// Put insurance products on sale and list them.
    #[command(subcommand)]
    Products(commands::products::ProductsCommand),
    /// Prove the double-entry ledger, show account balances and statements.
    #[command(subcommand)]
    Ledger(commands::ledger::LedgerCommand),
    /// Reconcile a day's channel statement against the payments, refunds and payouts inspay
    /// settled that day; differences are listed, recorded and audited, and the exit status is 1.
    #[command(
        after_help = "Examples:\n  inspay reconcile --date 2026-11-26 --statement bank-2026-11-26.csv\n  inspay reconcile --date 2026-11-26 --statement wechat-bill.csv --format wechat\n  inspay reconcile --date 2026-11-26 --from-channel"
    )]
    Reconcile(commands::reconcile::ReconcileArgs),
    /// Verify the signatures of claims: claimant, adjuster and second approver.
    #[command(subcommand)]
    Claims(commands::claims::ClaimsCommand),
    /// The risk engine: rule-signing keys, signed rule packs (sign, check, install, roll back)
    /// and the behaviour model's training.
    #[command(subcommand)]
    Risk(commands::risk::RiskCommand),
    /// List the payment-channel work the outbox drives, and put given-up rows back.
    #[command(subcommand)]
    Outbox(commands::outbox::OutboxCommand),
    /// Incident containment: freeze an account, pause the payment channel, end every session,
    /// suspend an application, revoke a key; list the switches in force.
    #[command(
        subcommand,
        after_help = "Examples:\n  inspay contain status\n  inspay contain freeze-account --account <ID> --reason \"INC-42 account takeover\"\n  inspay contain pause-channel --channel default --reason \"INC-43 channel fraud\"\n  inspay contain end-all-sessions --reason \"INC-44 tokens leaked\"\n\nRunbook: docs/incident-response.md"
    )]
    Contain(commands::contain::ContainCommand),
    /// Database steps taken with the schema owner's role: apply migrations, grant the
    /// server's runtime role its rights, show the schema and connection status.
    #[command(subcommand)]
    Db(commands::db::DbCommand),
    /// The compliance self-assessment: check this installation clause by clause and write a
    /// Markdown and an HTML report.
    #[command(subcommand)]
    Compliance(commands::compliance::ComplianceCommand),
    /// Release tooling: publisher key, signed manifest, SBOM, offline vulnerability audit and
    /// the release binary's hygiene check (docs/releases.md).
    #[command(subcommand)]
    Release(commands::release::ReleaseCommand),
    /// Verify a release directory against its signed manifest before installing it.
    #[command(
        after_help = "Example:\n  inspay verify-release --dir inspay-0.1.0 --publisher-key publisher.pub.pem"
    )]
    VerifyRelease(commands::release::VerifyReleaseArgs),
    /// Run the simulated bank (payment channel) until Ctrl-C, for development and fault tests.
    #[command(
        after_help = "Examples:\n  inspay channel-sim\n  inspay channel-sim --listen 127.0.0.1:7070 --key-file data/channel-sim.key --public-key-out data/channel-sim.pub.pem\n  inspay channel-sim --merchant-id m-42 --merchant-public-key merchant.pub.pem"
    )]
    ChannelSim(commands::channel_sim::ChannelSimArgs),
    /// Run benchmarks and compare them with a reference measured in the same run.
    #[command(subcommand, after_help = "Example:\n  inspay bench crypto")]
    Bench(bench::BenchCommand),
    /// Print the application identifier, version and build commit.
    #[command(after_help = "Example:\n  inspay version")]
    Version,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bench(command) => bench::run(command),
        Command::Version => {
            println!(
                "{APPLICATION_ID} {} (commit {})",
                env!("CARGO_PKG_VERSION"),
                env!("INSPAY_BUILD_COMMIT")
            );
            Ok(())
        }
        Command::Serve => commands::runtime()
            .and_then(|rt| rt.block_on(commands::serve::run(cli.config.as_deref()))),
        Command::Keys(command) => commands::runtime()
            .and_then(|rt| rt.block_on(commands::keys::run(cli.config.as_deref(), command))),
        Command::Audit(command) => commands::runtime()
            .and_then(|rt| rt.block_on(commands::audit::run(cli.config.as_deref(), command))),
        Command::Users(command) => commands::runtime()
            .and_then(|rt| rt.block_on(commands::users::run(cli.config.as_deref(), command))),
        Command::Apps(command) => commands::runtime()
            .and_then(|rt| rt.block_on(commands::apps::run(cli.config.as_deref(), command))),
        #[cfg(feature = "tlcp")]
        Command::Certs(command) => commands::certs::run(cli.config.as_deref(), command),
        Command::Products(command) => commands::runtime()
            .and_then(|rt| rt.block_on(commands::products::run(cli.config.as_deref(), command))),
        Command::Ledger(command) => commands::runtime()
            .and_then(|rt| rt.block_on(commands::ledger::run(cli.config.as_deref(), command))),
        Command::Reconcile(args) => commands::runtime()
            .and_then(|rt| rt.block_on(commands::reconcile::run(cli.config.as_deref(), args))),
        Command::Claims(command) => commands::runtime()
            .and_then(|rt| rt.block_on(commands::claims::run(cli.config.as_deref(), command))),
        Command::Risk(command) => commands::runtime()
            .and_then(|rt| rt.block_on(commands::risk::run(cli.config.as_deref(), command))),
        Command::Outbox(command) => commands::runtime()
            .and_then(|rt| rt.block_on(commands::outbox::run(cli.config.as_deref(), command))),
        Command::Contain(command) => commands::runtime()
            .and_then(|rt| rt.block_on(commands::contain::run(cli.config.as_deref(), command))),
        Command::Db(command) => commands::runtime()
            .and_then(|rt| rt.block_on(commands::db::run(cli.config.as_deref(), command))),
        Command::Compliance(command) => commands::runtime()
            .and_then(|rt| rt.block_on(commands::compliance::run(cli.config.as_deref(), command))),
        Command::Release(command) => commands::release::run(command),
        Command::VerifyRelease(args) => commands::release::verify_release(&args),
        Command::ChannelSim(args) => commands::runtime()
            .and_then(|rt| rt.block_on(commands::channel_sim::run(cli.config.as_deref(), args))),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
