//! Incident containment at the fund paths (clause 6.4.3).
//!
//! The switches live in the database ([`inspay_store::containment`]) and are read on every use,
//! so a switch thrown on one node (or by `inspay contain`) holds on every node at the next
//! request or outbox pass: there is no cache to wait for. A frozen account's sessions are
//! deleted by the freeze itself; this module adds the checks a fund operation makes before it
//! reaches the channel, and the outbox's checks before it sends queued work.

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use inspay_store::containment::CHANNEL_DEFAULT;

/// How long the outbox waits before it looks again at a row it holds for a frozen account, ms.
pub const FROZEN_HOLD_MS: i64 = 60_000;

/// The name of the channel this node uses (the one of `[payments.channel]`).
pub fn channel_name() -> &'static str {
    CHANNEL_DEFAULT
}

/// Refuses a fund operation for a frozen account (`INSPAY-AUTH-013`) or through a paused
/// channel (`INSPAY-SYS-007`), before anything is recorded or sent.
pub async fn guard_fund_operation(state: &AppState, account_id: &str) -> Result<(), ApiError> {
    let gate = state
        .store
        .containment_fund_gate(account_id, channel_name())
        .await?;
    if gate.account_frozen {
        return Err(ApiError::new(ErrorCode::AccountFrozen)
            .cause("a fund operation for a frozen account was refused"));
    }
    if gate.channel_paused {
        return Err(ApiError::new(ErrorCode::ChannelPaused)
            .cause("a fund operation was refused: the payment channel is paused"));
    }
    Ok(())
}

/// Whether the outbox may send to this node's channel now. A failed read counts as paused:
/// the work stays queued and the next pass asks again.
pub async fn channel_open(state: &AppState) -> bool {
    match state.store.containment_channel_paused(channel_name()).await {
        Ok(paused) => !paused,
        Err(error) => {
            tracing::error!(error = %error, "outbox: cannot read the containment switches; sending nothing this pass");
            false
        }
    }
}

/// Whether queued work for `account_id` must wait: the account is frozen. A failed read
/// counts as frozen (the row waits; nothing is lost).
pub async fn account_held(state: &AppState, account_id: &str) -> bool {
    match state
        .store
        .containment_fund_gate(account_id, channel_name())
        .await
    {
        Ok(gate) => gate.account_frozen,
        Err(error) => {
            tracing::error!(error = %error, "outbox: cannot read an account's status; holding its work");
            true
        }
    }
}
