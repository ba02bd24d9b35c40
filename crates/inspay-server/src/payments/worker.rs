//! The outbox worker (clause 5.3.4, issue 5 items 6 and 7): every node claims due outbox rows
//! under a lease and drives them until the outcome is recorded.
//!
//! - `resolve_payment`: a premium payment whose answer was lost. The channel is asked; a
//!   definite answer is recorded; a failed query is retried (it says nothing about the order);
//!   an order the channel does not know is recorded as failed only once the channel's signature
//!   window has passed since the payment began, when the request can no longer arrive. Nothing
//!   stays "in between".
//! - `send_refund`: sends the refund (the channel is idempotent by the refund's id, so a resend
//!   after a crash or a lost answer never refunds twice) and records the outcome; a refusal
//!   reverses the refund in the ledger.
//! - `send_payout`: sends a claim payout to the claimant's verified bank account, the same way
//!   (idempotent by the payout's id); a refusal returns the debt to claims payable and the claim
//!   to approved, to be sent again.
//!
//! On start every node picks up the rows left by a node that died: their leases run out.

use crate::payments::premium::{self, Decision};
use crate::state::AppState;
use inspay_channel::{
    ChannelAnswer, ChannelError, HttpChannel, OrderId, OrderStatus as ChannelStatus,
    PaymentChannel, PayoutOrder, RefundOrder,
};
use inspay_core::funds::{ChannelOutcome, OrderStatus};
use inspay_core::ids::{PaymentId, PayoutId, RefundId};
use inspay_store::funds::{OutboxItem, OutboxKind, SettleOrder};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Rows one pass claims at most.
const ROWS_PER_PASS: i64 = 16;
/// Longest wait between two attempts at one row.
const BACKOFF_MS_MAX: i64 = 600_000;
/// The request id the worker's records carry.
const REQUEST_ID: &str = "outbox";

/// Starts this node's worker; it stops when `shutdown` is cancelled.
pub fn spawn(state: AppState, shutdown: CancellationToken) {
    let period = Duration::from_millis(state.settings.payments.worker_interval_ms);
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = ticker.tick() => {
                    // Keep going while there is a full pass of work.
                    while drive(&state).await >= usize::try_from(ROWS_PER_PASS).unwrap_or(16) {
                        if shutdown.is_cancelled() { break; }
                    }
                }
            }
        }
    });
}

/// One pass: claims due rows and drives each; returns how many were claimed.
pub async fn drive(state: &AppState) -> usize {
    let Some(channel) = state.channel_slot().get() else {
        return 0;
    };
    // A paused channel (clause 6.4.3) gets nothing: rows stay queued, their attempts
    // uncounted, and go out at the first pass after the resume.
    if !crate::containment::channel_open(state).await {
        return 0;
    }
    let now = state.now_ms();
    let timeout_ms = i64::try_from(state.settings.payments.channel.timeout_ms).unwrap_or(i64::MAX);
    // A lease outlives one channel call with room to record it.
    let lease_ms = timeout_ms.saturating_mul(2).saturating_add(5_000);
    let items = match state.store.outbox_claim(now, lease_ms, ROWS_PER_PASS).await {
        Ok(items) => items,
        Err(error) => {
            tracing::error!(error = %error, "outbox: claiming due work failed; retrying next tick");
            return 0;
        }
    };
    let claimed = items.len();
    for item in items {
        let result = match item.kind {
            OutboxKind::ResolvePayment => resolve_payment(state, &channel, &item).await,
            OutboxKind::SendRefund => send_refund(state, &channel, &item).await,
            OutboxKind::SendPayout => send_payout(state, &channel, &item).await,
        };
        if let Err(why) = result {
            give_back(state, &item, why).await;
        }
    }
    claimed
}

async fn give_back(state: &AppState, item: &OutboxItem, why: &'static str) {
    let now = state.now_ms();
    let result = if item.attempts >= state.settings.payments.outbox_attempts_max {
        tracing::error!(
            target: "inspay::security_alert",
            kind = item.kind.as_str(),
            subject = %item.subject_id,
            attempts = item.attempts,
            reason = why,
            "outbox: giving up on a channel operation; an operator must resolve it"
        );
        state.store.outbox_dead(&item.id, why, now).await
    } else {
        let exponent = u32::try_from(item.attempts.clamp(0, 20)).unwrap_or(20);
        let backoff = 1_000_i64.saturating_mul(1 << exponent).min(BACKOFF_MS_MAX);
        tracing::warn!(kind = item.kind.as_str(), subject = %item.subject_id, reason = why, backoff_ms = backoff, "outbox: will try again");
        state
            .store
            .outbox_retry(&item.id, now + backoff, why, now)
            .await
    };
    if let Err(error) = result {
        tracing::error!(error = %error, "outbox: could not reschedule; the lease will expire and the row will be retried");
    }
}

/// Puts back a row whose account is frozen (clause 6.4.3), without counting the attempt: it is
/// sent once the account is unfrozen.
async fn hold(state: &AppState, item: &OutboxItem) -> Result<(), &'static str> {
    let now = state.now_ms();
    tracing::warn!(kind = item.kind.as_str(), subject = %item.subject_id, "outbox: held, the account is frozen");
    state
        .store
        .containment_outbox_hold(&item.id, now + crate::containment::FROZEN_HOLD_MS, now)
        .await
        .map_err(|_| "the row could not be held")
}

async fn resolve_payment(
    state: &AppState,
    channel: &HttpChannel,
    item: &OutboxItem,
) -> Result<(), &'static str> {
    let payment_id = PaymentId::parse(&item.subject_id).map_err(|_| "malformed payment id")?;
    let order_id = OrderId::parse(payment_id.as_str()).map_err(|_| "malformed order id")?;
    // A failed query (the channel unreachable, or refusing the query itself) says nothing
    // about the order: ask again later. Only an answer about the order decides.
    let answer = channel
        .query(&order_id)
        .await
        .map_err(|_| "the channel could not be asked")?;
    if answer.status == ChannelStatus::NotFound {
        // The channel accepts a signed request for its whole signature window: a request
        // delayed in the network could still arrive until the window (and our timeout) has
        // passed since the payment began. Only then does "not found" mean "never arrived".
        let keyring = state.keyring();
        let payment = state
            .store
            .payment(&keyring, &payment_id, None)
            .await
            .map_err(|_| "the payment could not be read")?;
        let settled_after_ms = payment.created_at_ms
            + state.settings.payments.channel.acceptance_window_s * 1_000
            + i64::try_from(state.settings.payments.channel.timeout_ms).unwrap_or(i64::MAX);
        if state.now_ms() < settled_after_ms {
            return Err("the channel has no record yet; its signature window is still open");
        }
        let settle = SettleOrder {
            outcome: ChannelOutcome::Failed,
            channel_ref: None,
            failure_code: Some("NOT_RECEIVED".into()),
            evidence: premium::evidence_of(&answer),
        };
        return settle_payment(state, &payment_id, &settle).await;
    }
    match premium::decide(&Ok(answer)) {
        Decision::Settle(settle) => settle_payment(state, &payment_id, &settle).await,
        Decision::Unknown(why) => Err(why),
    }
}

async fn settle_payment(
    state: &AppState,
    payment_id: &PaymentId,
    settle: &SettleOrder,
) -> Result<(), &'static str> {
    let keyring = state.keyring();
    match state
        .store
        .payment_settle(
            &keyring,
            payment_id,
            settle,
            None,
            REQUEST_ID,
            state.now_ms(),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(error) => {
            tracing::error!(error = %error, payment = %payment_id, "outbox: recording a payment's outcome failed");
            Err("recording the outcome failed")
        }
    }
}

async fn send_refund(
    state: &AppState,
    channel: &HttpChannel,
    item: &OutboxItem,
) -> Result<(), &'static str> {
    let keyring = state.keyring();
    let refund_id = RefundId::parse(&item.subject_id).map_err(|_| "malformed refund id")?;
    let refund = state
        .store
        .refund(&keyring, &refund_id)
        .await
        .map_err(|_| "the refund could not be read")?;
    if refund.status != OrderStatus::Pending {
        return Ok(());
    }
    if crate::containment::account_held(state, &refund.account_id).await {
        return hold(state, item).await;
    }
    let order = OrderId::parse(refund.id.as_str())
        .and_then(|id| Ok((id, OrderId::parse(refund.payment_id.as_str())?)))
        .and_then(|(id, paid)| RefundOrder::new(id, paid, refund.amount.fen()))
        .map_err(|_| "the refund order could not be built")?;
    let answer = channel.refund(order).await;
    let settle = outbound_outcome(&answer)?;
    state
        .store
        .refund_settle(&keyring, &refund_id, &settle, REQUEST_ID, state.now_ms())
        .await
        .map(|(refund, changed)| {
            if changed {
                let order = crate::monitoring::metrics::Order::Refund;
                state.monitor().metrics().settled(order, refund.status);
            }
        })
        .map_err(|error| {
            tracing::error!(error = %error, refund = %refund_id, "outbox: recording a refund's outcome failed");
            "recording the outcome failed"
        })
}

/// What a refund's or payout's answer decides: a refusal is final (nothing moved); an
/// unreachable channel or an unclear answer is sent again later (the channel is idempotent by
/// order id, so a resend never moves money twice).
fn outbound_outcome(
    answer: &Result<ChannelAnswer, ChannelError>,
) -> Result<SettleOrder, &'static str> {
    Ok(match answer {
        Err(ChannelError::Refused { .. } | ChannelError::OrderConflict) => SettleOrder {
            outcome: ChannelOutcome::Failed,
            channel_ref: None,
            failure_code: Some("CHANNEL_REFUSED".into()),
            evidence: None,
        },
        // Unreachable: nothing was sent; any other error: resend later (idempotent by id).
        Err(_) => return Err("the channel gave no usable answer"),
        Ok(_) => match premium::decide(answer) {
            Decision::Settle(settle) => settle,
            Decision::Unknown(why) => return Err(why),
        },
    })
}

async fn send_payout(
    state: &AppState,
    channel: &HttpChannel,
    item: &OutboxItem,
) -> Result<(), &'static str> {
    let keyring = state.keyring();
    let payout_id = PayoutId::parse(&item.subject_id).map_err(|_| "malformed payout id")?;
    let payout = state
        .store
        .payout(&keyring, &payout_id)
        .await
        .map_err(|_| "the payout could not be read")?;
    if payout.status != OrderStatus::Pending {
        return Ok(());
    }
    if crate::containment::account_held(state, &payout.account_id).await {
        return hold(state, item).await;
    }
    let (_, number) = state
        .store
        .payout_account_number(&keyring, &payout.payout_account_id, &payout.account_id)
        .await
        .map_err(|_| "the payout account could not be read")?
        .ok_or("the payout account is no longer live")?;
    let person_id = state
        .store
        .account_summary(&payout.account_id)
        .await
        .map_err(|_| "the claimant's account could not be read")?
        .person_id
        .ok_or("the claimant has no personal record")?;
    let person = state
        .store
        .person_get(&keyring, &person_id)
        .await
        .map_err(|_| "the claimant's personal record could not be read")?;
    let order = OrderId::parse(payout.id.as_str())
        .and_then(|id| PayoutOrder::new(id, payout.amount.fen(), number, person.legal_name))
        .map_err(|_| "the payout order could not be built")?;
    let answer = channel.payout(order).await;
    let settle = outbound_outcome(&answer)?;
    state
        .store
        .payout_settle(&keyring, &payout_id, &settle, REQUEST_ID, state.now_ms())
        .await
        .map(|(payout, changed)| {
            if changed {
                let order = crate::monitoring::metrics::Order::Payout;
                state.monitor().metrics().settled(order, payout.status);
            }
        })
        .map_err(|error| {
            tracing::error!(error = %error, payout = %payout_id, "outbox: recording a payout's outcome failed");
            "recording the outcome failed"
        })
}
