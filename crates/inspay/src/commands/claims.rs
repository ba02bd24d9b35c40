//! `inspay claims`: claims from the console (issue 5 item 3; clause 5.6.2-d2). `verify` walks
//! every claim (or one) and verifies, from the stored rows alone, the claimant's signature over
//! the claim, the adjuster's over the decision and the second approver's over the approval,
//! and that each public key kept beside a signature is the one registered under the signer's
//! name, and names every claim whose row fails its record MAC; it exits with status 1 when any
//! does not hold, so an auditor or cron can rely on it.

use anyhow::bail;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use inspay_core::ids::ClaimId;
use inspay_server::payments::claims::{keys_registered, verify_claim};
use inspay_store::funds::Claim;
use std::path::Path;

/// Claims read per page by `verify`.
const PAGE: i64 = 200;

/// Claim commands.
#[derive(Debug, Subcommand)]
pub enum ClaimsCommand {
    /// Verify the signatures of every claim (or one): the claimant's, the adjuster's and the
    /// second approver's, each with the key stored beside it and registered under its name.
    /// Exits with status 1 if any fails.
    #[command(
        after_help = "Examples:\n  inspay claims verify\n  inspay claims verify --claim 0193a6c2-7d1e-7b31-9f0e-2a4c8d1e5f60"
    )]
    Verify {
        /// Only this claim.
        #[arg(long, value_name = "CLAIM_ID")]
        claim: Option<String>,
    },
}

/// Runs a claims command.
pub async fn run(config: Option<&Path>, command: ClaimsCommand) -> anyhow::Result<()> {
    let settings = super::settings(config)?;
    let store = super::store(&settings).await?;
    let keyring = super::keyring(&settings, &store).await?;
    let ClaimsCommand::Verify { claim } = command;
    let mut failures = Vec::new();
    let mut checked = 0u64;
    if let Some(raw) = claim {
        let Ok(claim_id) = ClaimId::parse(&raw) else {
            bail!(
                "'{raw}' is not a claim id (a UUID); GET /v1/claims/{{claim_id}} and the claims \
                 queue show claim ids"
            );
        };
        let claim = store
            .claim(&keyring, &claim_id, None)
            .await
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        check(&store, &claim, &mut failures).await?;
        checked = 1;
    } else {
        let total = u64::try_from(store.claims_count().await?).unwrap_or(0);
        let bar = ProgressBar::new(total).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} claims ({eta} left)")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let mut after = String::new();
        loop {
            let page = store.claims_page(&keyring, &after, PAGE).await?;
            let Some((last, _)) = page.last() else { break };
            after = last.clone();
            for (id, claim) in &page {
                match claim {
                    Ok(claim) => check(&store, claim, &mut failures).await?,
                    Err(error) => failures.push(format!("claim {id}: {error}")),
                }
                checked += 1;
                bar.inc(1);
            }
        }
        bar.finish_and_clear();
    }
    for line in &failures {
        println!("FAIL {line}");
    }
    println!(
        "{checked} claim(s) checked: {} with every signature valid and every key registered, {} failing",
        checked - u64::try_from(failures.len()).unwrap_or(0),
        failures.len()
    );
    if failures.is_empty() {
        Ok(())
    } else {
        bail!(
            "{} claim(s) failed verification: treat them as tampered, keep the database as \
             evidence and compare with the audit log (`inspay audit verify`)",
            failures.len()
        )
    }
}

async fn check(
    store: &inspay_store::Store,
    claim: &Claim,
    failures: &mut Vec<String>,
) -> anyhow::Result<()> {
    let signatures = verify_claim(claim);
    let registered = keys_registered(store, claim).await?;
    if !signatures.all_valid() || !registered {
        failures.push(format!(
            "claim {}: claimant {}, decision {}, approval {}, keys registered {}",
            claim.id,
            word(Some(signatures.claimant)),
            word(signatures.decision),
            word(signatures.approval),
            if registered { "yes" } else { "NO" }
        ));
    }
    Ok(())
}

fn word(valid: Option<bool>) -> &'static str {
    match valid {
        Some(true) => "valid",
        Some(false) => "INVALID",
        None => "none",
    }
}
