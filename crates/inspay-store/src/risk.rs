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
mod exports;
mod holds;
mod observations;
mod packs;
mod sign_ins;
mod signers;

pub use baselines::{BASELINE_SUBJECT_KINDS, RiskBaselineRow};
pub use decisions::{DECISIONS_LISTED_MAX, NewRiskDecision, RiskDecisionFilter, RiskDecisionRow};
pub use exports::{
    NewRiskExport, RISK_EXPORT_LEASE_ROWS_MAX, RiskExportKind, RiskExportRow, RiskExportSink,
    RiskExportState,
};
pub use holds::{
    HOLD_NOTE_CHARS_MAX, HOLDS_LISTED_MAX, NewRiskHold, RiskHoldFilter, RiskHoldRow, RiskHoldState,
};
pub use observations::{RiskAccountFacts, RiskObservation};
pub use packs::{NewRiskPack, RiskPackError, RiskPackRow};
pub use sign_ins::{
    AccountSignIns, DEVICE_REFS_MAX, NewSignIn, SIGN_INS_LISTED_MAX, SignInOutcome, SignInRow,
    SignInSource, SignInWindows, SourceCounts,
};
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

/// The record MAC helpers the funds tables use.
pub(crate) use crate::funds::{check_mac, mac_text};
