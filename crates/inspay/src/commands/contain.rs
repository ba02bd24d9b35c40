//! `inspay contain`: the incident containment switches (clause 6.4.3; runbook in
//! docs/incident-response.md).
//!
//! Each switch is written to the database, which every node reads on every use, so it holds on
//! all nodes at their next request: freezing an account ends its sessions and refuses its sign-in
//! and fund operations; pausing the channel refuses new payments and keeps queued refunds and
//! payouts queued until the resume; ending every session signs everyone out. Every change is
//! audited by the store (`containment.*`) with the operator as the actor and the reason given.
//! `suspend-app` and `revoke-key` run the same code as `inspay apps` and `inspay keys`.

use anyhow::{Context, anyhow, bail};
use clap::{ArgGroup, Args, Parser, Subcommand};
use inspay_identity::login_name::LoginName;
use inspay_store::audit::{AuditEvent, AuditValue, Outcome};
use inspay_store::containment::{ChannelName, Reason};
use inspay_store::keys::Actor;
use inspay_store::{Store, StoreError};
use std::path::Path;

/// Containment commands.
#[derive(Debug, Subcommand)]
pub enum ContainCommand {
    /// Freeze an account (customer or staff): its sessions end at once on every node, it cannot
    /// sign in, and no payment, payout, refund or payout-account change runs for it (queued
    /// refunds and payouts wait). Reversible with `unfreeze-account`.
    #[command(
        after_help = "Examples:\n  inspay contain freeze-account --account 0193a6c2-7d1e-7b31-9f0e-2a4c8d1e5f60 --reason \"INC-42 account takeover\"\n  inspay contain freeze-account --mobile-stdin --reason \"INC-42 customer reports a stolen phone\"    (type the number at the prompt, or: < number.txt)"
    )]
    FreezeAccount {
        #[command(flatten)]
        account: AccountArg,
        /// Why (an incident ticket; no personal data): kept with the switch and in the audit log.
        #[arg(long)]
        reason: String,
    },
    /// Unfreeze an account: it may sign in again (the sessions the freeze ended stay ended)
    /// and its held refunds and payouts go out.
    #[command(
        after_help = "Example:\n  inspay contain unfreeze-account --account 0193a6c2-7d1e-7b31-9f0e-2a4c8d1e5f60 --reason \"INC-42 identity confirmed, password reset\""
    )]
    UnfreezeAccount {
        #[command(flatten)]
        account: AccountArg,
        /// Why: kept in the audit log.
        #[arg(long)]
        reason: String,
    },
    /// Pause a payment channel: new payments and payout-account checks are refused (503
    /// INSPAY-SYS-007) and the outbox sends it nothing; queued refunds and payouts stay queued
    /// and go out once after `resume-channel`.
    #[command(
        after_help = "Example:\n  inspay contain pause-channel --channel default --reason \"INC-43 bank reports fraudulent orders\""
    )]
    PauseChannel {
        /// The channel: `default` is the one of `[payments.channel]`.
        #[arg(long, default_value = "default")]
        channel: String,
        /// Why: kept with the switch and in the audit log.
        #[arg(long)]
        reason: String,
    },
    /// Resume a paused channel: payments are taken again and the queued work goes out at the
    /// workers' next pass (each order once: orders are idempotent by id).
    #[command(
        after_help = "Example:\n  inspay contain resume-channel --channel default --reason \"INC-43 bank confirms the channel is clean\""
    )]
    ResumeChannel {
        /// The channel: `default` is the one of `[payments.channel]`.
        #[arg(long, default_value = "default")]
        channel: String,
        /// Why: kept in the audit log.
        #[arg(long)]
        reason: String,
    },
    /// End every live session, customer and staff, and every sign-in under way: the next
    /// request with an old session gets 401 INSPAY-AUTH-002 and must sign in again.
    #[command(
        after_help = "Example:\n  inspay contain end-all-sessions --reason \"INC-44 session tokens may have leaked from a log\""
    )]
    EndAllSessions {
        /// Why: kept with the switch and in the audit log.
        #[arg(long)]
        reason: String,
    },
    /// List the switches in force: frozen accounts, paused channels, and when every session
    /// was last ended.
    #[command(after_help = "Examples:\n  inspay contain status\n  inspay contain status --json")]
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Suspend a client application (the same as `inspay apps suspend`): its requests are
    /// refused on every node within `protocol.app_cache_ms` (1 s by default). Undo with
    /// `inspay apps resume --id <ID>`.
    #[command(
        after_help = "Example:\n  inspay contain suspend-app --id claims-app --reason \"INC-45 the app's signing key leaked\""
    )]
    SuspendApp {
        /// The application id.
        #[arg(long)]
        id: String,
        /// Why: kept in the audit log.
        #[arg(long)]
        reason: String,
    },
    /// Revoke a key: a client application's key (`--app` and `--serial`, the same as `inspay
    /// apps revoke-key`) or one of our data keys marked compromised (`--purpose` and
    /// `--version`, the same as `inspay keys compromise`; then rotate and rewrap).
    #[command(
        after_help = "Examples:\n  inspay contain revoke-key --app claims-app --serial 1 --reason \"INC-45 key leaked\"\n  inspay contain revoke-key --purpose response-signing --version 3 --reason \"INC-46 server compromise\"",
        group(ArgGroup::new("which").required(true).args(["app", "purpose"]))
    )]
    RevokeKey {
        /// The client application whose key to revoke.
        #[arg(long, requires = "serial")]
        app: Option<String>,
        /// Its key serial (see `inspay apps list`).
        #[arg(long, requires = "app")]
        serial: Option<u32>,
        /// The purpose of our data key to mark compromised (see `inspay keys list`).
        #[arg(long, requires = "version")]
        purpose: Option<String>,
        /// Its version.
        #[arg(long, requires = "purpose")]
        version: Option<u32>,
        /// Why: kept in the audit log.
        #[arg(long)]
        reason: String,
    },
}

/// Which account: by id, or a customer by the mobile number they sign in with.
#[derive(Debug, Args)]
// Not `required`: a required group would name the hidden `--mobile` in the usage line; the
// command checks that one of `--account` and `--mobile-stdin` is given.
#[group(multiple = false)]
pub struct AccountArg {
    /// The account id (from the staff console, `inspay users`, or the audit log).
    #[arg(long)]
    account: Option<String>,
    /// Read a customer's mobile number (their login name) from standard input, one line, so
    /// that it stays out of shell history and `ps`; on a terminal it is asked for. Needs the
    /// master key to look it up.
    #[arg(long)]
    mobile_stdin: bool,
    /// Refused: a number on the command line lands in shell history and `ps`. Kept (hidden)
    /// only to say so and point to --mobile-stdin.
    #[arg(long, hide = true)]
    mobile: Option<String>,
}

/// Runs a containment command.
pub async fn run(config: Option<&Path>, command: ContainCommand) -> anyhow::Result<()> {
    match command {
        ContainCommand::SuspendApp { id, reason } => {
            let reason = reason_of(&reason)?;
            delegate_apps(config, &["suspend", "--id", &id]).await?;
            note(
                config,
                "containment.app-suspended",
                &format!("app:{id}"),
                &reason,
            )
            .await
        }
        ContainCommand::RevokeKey {
            app,
            serial,
            purpose,
            version,
            reason,
        } => {
            let reason = reason_of(&reason)?;
            match (app, serial, purpose, version) {
                (Some(app), Some(serial), None, None) => {
                    let serial = serial.to_string();
                    delegate_apps(config, &["revoke-key", "--id", &app, "--serial", &serial])
                        .await?;
                    let object = format!("app:{app}:key:{serial}");
                    note(config, "containment.key-revoked", &object, &reason).await
                }
                (None, None, Some(purpose), Some(version)) => {
                    let version = version.to_string();
                    delegate_keys(config, &["compromise", &purpose, &version]).await?;
                    let object = format!("key:{purpose}:v{version}");
                    note(config, "containment.key-revoked", &object, &reason).await
                }
                _ => bail!(
                    "give either --app and --serial (a client application's key) or --purpose and --version (our data key)"
                ),
            }
        }
        other => switch(config, other).await,
    }
}

async fn switch(config: Option<&Path>, command: ContainCommand) -> anyhow::Result<()> {
    let settings = super::settings(config)?;
    let store = super::store(&settings).await?;
    let operator = super::operator();
    let request = super::command_id();
    let who = Actor {
        actor: &operator,
        request_id: &request,
    };
    let now = inspay_store::now_ms();
    match command {
        ContainCommand::FreezeAccount { account, reason } => {
            let reason = reason_of(&reason)?;
            let id = account_id(&settings, &store, &account).await?;
            let ended = store
                .containment_freeze_account(&id, &reason, who, now)
                .await
                .map_err(explain)?;
            println!(
                "account {id} is frozen: {ended} session(s) ended; it cannot sign in and no fund operation runs for it"
            );
            println!(
                "next: preserve evidence (`inspay audit verify`), then `inspay contain unfreeze-account --account {id} --reason ...` once it is safe"
            );
        }
        ContainCommand::UnfreezeAccount { account, reason } => {
            let reason = reason_of(&reason)?;
            let id = account_id(&settings, &store, &account).await?;
            store
                .containment_unfreeze_account(&id, &reason, who, now)
                .await
                .map_err(explain)?;
            println!(
                "account {id} is active again: it may sign in; its held refunds and payouts go out"
            );
        }
        ContainCommand::PauseChannel { channel, reason } => {
            let reason = reason_of(&reason)?;
            let channel = channel_of(&channel)?;
            store
                .containment_pause_channel(&channel, &reason, who, now)
                .await
                .map_err(explain)?;
            println!(
                "channel {} is paused on every node: new payments are refused and queued work waits",
                channel.as_str()
            );
            println!(
                "next: `inspay outbox list --state ready` shows what waits; `inspay contain resume-channel --channel {} --reason ...` sends it",
                channel.as_str()
            );
        }
        ContainCommand::ResumeChannel { channel, reason } => {
            let reason = reason_of(&reason)?;
            let channel = channel_of(&channel)?;
            store
                .containment_resume_channel(&channel, &reason, who, now)
                .await
                .map_err(explain)?;
            println!(
                "channel {} is resumed: payments are taken again and queued work goes out at the next worker pass",
                channel.as_str()
            );
        }
        ContainCommand::EndAllSessions { reason } => {
            let reason = reason_of(&reason)?;
            let ended = store
                .containment_end_all_sessions(&reason, who, now)
                .await
                .map_err(explain)?;
            println!(
                "{ended} session(s) ended on every node; everyone must sign in again (new sign-ins work now)"
            );
        }
        ContainCommand::Status { json } => status(&store, json).await?,
        ContainCommand::SuspendApp { .. } | ContainCommand::RevokeKey { .. } => {
            bail!("internal: this command is handled elsewhere")
        }
    }
    Ok(())
}

async fn status(store: &Store, json: bool) -> anyhow::Result<()> {
    let switches = store.containment_switches().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&switches)?);
        return Ok(());
    }
    if switches.is_empty() {
        println!("no containment switch is in force");
        return Ok(());
    }
    println!(
        "{:<15}  {:<36}  {:<16}  {:<24}  REASON",
        "SWITCH", "SUBJECT", "SET (UTC)", "BY"
    );
    for switch in &switches {
        println!(
            "{:<15}  {:<36}  {:<16}  {:<24}  {}",
            switch.kind,
            switch.subject,
            super::utc_date(switch.set_at_ms),
            switch.set_by,
            switch.reason
        );
    }
    Ok(())
}

fn reason_of(text: &str) -> anyhow::Result<Reason> {
    Reason::parse(text).map_err(|why| anyhow!("--reason: {why}"))
}

fn channel_of(text: &str) -> anyhow::Result<ChannelName> {
    ChannelName::parse(text).map_err(|why| anyhow!("--channel: {why}"))
}

/// A store refusal as a message that says what to do next.
fn explain(error: StoreError) -> anyhow::Error {
    match error {
        StoreError::Conflict(reason) => {
            anyhow!("{reason}; `inspay contain status` shows the switches in force")
        }
        StoreError::NotFound(what) => {
            anyhow!("no such {what}; `inspay contain status` shows the switches in force")
        }
        other => anyhow::Error::new(other),
    }
}

/// Longest line read for a mobile number, in bytes.
const MOBILE_LINE_BYTES_MAX: u64 = 64;

/// One line of standard input holding a mobile number, asked for on standard error when
/// standard input is a terminal. Never printed back.
fn mobile_from_stdin() -> anyhow::Result<zeroize::Zeroizing<String>> {
    use std::io::{BufRead, IsTerminal, Read, Write};
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("the customer's mobile number: ");
        std::io::stderr().flush().ok();
    }
    let mut line = zeroize::Zeroizing::new(String::new());
    stdin
        .lock()
        .take(MOBILE_LINE_BYTES_MAX)
        .read_line(&mut line)
        .context("--mobile-stdin: cannot read standard input")?;
    Ok(line)
}

/// The account id named by `--account`, or found by `--mobile-stdin` (with the keyring's
/// blind index). The mobile number is never printed back.
async fn account_id(
    settings: &inspay_server::Settings,
    store: &Store,
    arg: &AccountArg,
) -> anyhow::Result<String> {
    if arg.mobile.is_some() {
        bail!(
            "--mobile is refused: a mobile number on the command line lands in shell history and in `ps`; use --mobile-stdin and type the number when asked (or redirect it from a file)"
        );
    }
    if let Some(id) = &arg.account {
        let id = id.trim();
        if id.is_empty() || id.len() > 64 {
            bail!("--account: give the account id, e.g. 0193a6c2-7d1e-7b31-9f0e-2a4c8d1e5f60");
        }
        return Ok(id.to_string());
    }
    if !arg.mobile_stdin {
        bail!("name the account: --account <ID>, or --mobile-stdin for a customer's mobile number");
    }
    let mobile = mobile_from_stdin()?;
    let name = LoginName::customer(mobile.trim())
        .map_err(|_| anyhow!("--mobile-stdin: not a mobile number; give the 11 digits"))?;
    let keyring = super::keyring(settings, store).await?;
    let found = store
        .account_find(&keyring, &name)
        .await?
        .context("no customer signs in with this mobile number; check it, or use --account")?;
    Ok(found.id)
}

/// Runs `inspay apps <args>`: the same code path, so the same checks and audit entries.
async fn delegate_apps(config: Option<&Path>, args: &[&str]) -> anyhow::Result<()> {
    #[derive(Parser)]
    struct Apps {
        #[command(subcommand)]
        command: super::apps::AppsCommand,
    }
    let parsed = Apps::try_parse_from(std::iter::once("apps").chain(args.iter().copied()))
        .map_err(|error| anyhow!("{error}"))?;
    super::apps::run(config, parsed.command).await
}

/// Runs `inspay keys <args>`: the same code path, so the same checks and audit entries.
async fn delegate_keys(config: Option<&Path>, args: &[&str]) -> anyhow::Result<()> {
    #[derive(Parser)]
    struct Keys {
        #[command(subcommand)]
        command: super::keys::KeysCommand,
    }
    let parsed = Keys::try_parse_from(std::iter::once("keys").chain(args.iter().copied()))
        .map_err(|error| anyhow!("{error}"))?;
    super::keys::run(config, parsed.command).await
}

/// Records why a delegated switch was thrown, beside the entry the delegated command wrote.
async fn note(
    config: Option<&Path>,
    action: &str,
    object: &str,
    reason: &Reason,
) -> anyhow::Result<()> {
    let settings = super::settings(config)?;
    let store = super::store(&settings).await?;
    let operator = super::operator();
    let request = super::command_id();
    store
        .audit(
            &AuditEvent {
                actor: &operator,
                action,
                object,
                outcome: Outcome::Success,
                request_id: &request,
                details: &[("reason", AuditValue::Text(reason.as_str().to_string()))],
            },
            inspay_store::now_ms(),
        )
        .await?;
    Ok(())
}
