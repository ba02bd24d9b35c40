//! The risk engine's storage (clauses 5.3.3 and 6.3.7): the keys allowed to sign rule packs,
//! the signed packs themselves (every version, at most one active per pack), the decisions the
//! engine made, the history its model learns from, and the baselines it learned.
//!
//! Changes a person makes (signers and packs) are audited in the same transaction as the
//! change, and each increases one counter, the pack generation, that nodes poll to know when to
//! reload. Decisions carry a record MAC, since they are evidence for staff and auditors.
//! Observations and baselines are the model's bulk data: written many rows per statement, one
//! transaction per call.

mod baselines;
mod decisions;
mod observations;
mod packs;
mod signers;

pub use baselines::{BASELINE_SUBJECT_KINDS, RiskBaselineRow};
pub use decisions::{DECISIONS_LISTED_MAX, NewRiskDecision, RiskDecisionFilter, RiskDecisionRow};
pub use observations::{RiskAccountFacts, RiskObservation};
pub use packs::{NewRiskPack, RiskPackError, RiskPackRow};
pub use signers::{RiskSigner, SIGNER_NAME_CHARS_MAX};

use crate::StoreError;
use sqlx::AnyConnection;

/// Increases the pack generation inside the caller's transaction and returns the new value.
/// Every pack or signer change starts with it: the update takes the row's lock (PostgreSQL) so
/// changes from several nodes run one after another, always in the same order (this row, then
/// signers and packs, then the audit chain's head), which keeps them free of deadlocks.
async fn bump_generation(connection: &mut AnyConnection) -> Result<i64, StoreError> {
    let generation: i64 = sqlx::query_scalar(
        "UPDATE risk_state SET pack_generation = pack_generation + 1 WHERE id = 1
         RETURNING pack_generation",
    )
    .fetch_optional(&mut *connection)
    .await?
    .ok_or(StoreError::Malformed("risk state (its row is missing)"))?;
    Ok(generation)
}

/// A record MAC over `parts` as stored text.
fn mac_text(keyring: &inspay_kms::Keyring, parts: &[Vec<u8>]) -> Result<String, StoreError> {
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    Ok(keyring.record_mac(&refs)?.to_text())
}

/// Checks a stored record MAC; `what` names the kind of row in the error.
fn check_mac(
    keyring: &inspay_kms::Keyring,
    parts: &[Vec<u8>],
    mac: &str,
    what: &str,
) -> Result<(), StoreError> {
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let intact = match inspay_kms::sealed::Sealed::parse(mac) {
        Ok(sealed) => keyring.verify_record_mac(&refs, &sealed)?,
        Err(_) => false,
    };
    if intact {
        Ok(())
    } else {
        Err(StoreError::Integrity(format!(
            "{what} was changed outside inspay (its record MAC does not match); restore it from \
             backup and investigate (clause 5.6.1-b)"
        )))
    }
}
