//! `inspay outbox`: the channel work the outbox drives (clause 5.3.4), from the operator's
//! console. `list` shows the rows in a state (by default the dead ones, which the worker gave
//! up on after `payments.outbox_attempts_max` attempts and which need a person); `redrive`
//! puts a dead row back once its cause is fixed, audited. A row's subject is a payment, refund
//! or payout id: channel orders are idempotent by that id, so driving a row again never moves
//! money twice.

use anyhow::bail;
use clap::Subcommand;
use inspay_store::keys::Actor;
use std::path::Path;

/// Outbox commands.
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Rows in a state, oldest first: what, for which payment, refund or payout, attempts, last error.
    #[command(
        after_help = "Examples:\n  inspay outbox list\n  inspay outbox list --state ready --limit 50"
    )]
    List {
        /// `dead` (given up, need an operator), `ready` (waiting or being driven) or `done`.
        #[arg(long, default_value = "dead", value_parser = ["dead", "ready", "done"])]
        state: String,
        /// Rows to show at most.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Puts a dead row back to be driven again at once (after fixing what failed: the
    /// channel's address or key, say). Audited.
    #[command(
        after_help = "Example:\n  inspay outbox redrive 0193a6c2-7d1e-7b31-9f0e-2a4c8d1e5f60"
    )]
    Redrive {
        /// The row id, from `inspay outbox list`.
        id: String,
    },
}

/// Runs an outbox command.
pub async fn run(config: Option<&Path>, command: OutboxCommand) -> anyhow::Result<()> {
    let settings = super::settings(config)?;
    let store = super::store(&settings).await?;
    match command {
        OutboxCommand::List { state, limit } => {
            let rows = store.outbox_rows(&state, limit).await?;
            if rows.is_empty() {
                println!("no {state} outbox rows");
                return Ok(());
            }
            println!(
                "{:<36}  {:<15}  {:<36}  {:>8}  {:<16}  LAST ERROR",
                "ID", "KIND", "SUBJECT", "ATTEMPTS", "UPDATED (UTC)"
            );
            for row in &rows {
                println!(
                    "{:<36}  {:<15}  {:<36}  {:>8}  {:<16}  {}",
                    row.id,
                    row.kind.as_str(),
                    row.subject_id,
                    row.attempts,
                    super::utc_date(row.updated_at_ms),
                    row.last_error.as_deref().unwrap_or("-")
                );
            }
            println!("{} {state} row(s)", rows.len());
            Ok(())
        }
        OutboxCommand::Redrive { id } => {
            let operator = super::operator();
            let request = super::command_id();
            let who = Actor {
                actor: &operator,
                request_id: &request,
            };
            if !store
                .outbox_redrive(&id, who, inspay_store::now_ms())
                .await?
            {
                bail!("no dead outbox row with id {id}; `inspay outbox list` shows the dead rows");
            }
            println!(
                "outbox row {id} is ready again; the next worker pass drives it (within payments.worker_interval_ms)"
            );
            Ok(())
        }
    }
}
