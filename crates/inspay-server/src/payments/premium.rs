//! Paying a premium (issue 5 item 2): the limit rules, the pending payment, the channel call
//! and the recorded outcome.
//!
//! The payment is written as pending (with its outbox row) before the channel is called, so a
//! crash, a timeout or a lost answer leaves a payment the outbox resolves by asking the channel,
//! never money moved but unrecorded. Card details are held in memory only for the call: the
//! store keeps the masked number and, after a success, the channel's token, sealed.

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use inspay_channel::{
    CardDetails, CardToken, ChannelAnswer, ChannelError, OrderId, OrderStatus as ChannelStatus,
    PayOrder, PaySource, PaymentChannel,
};
use inspay_core::funds::{ChannelOutcome, OrderStatus};
use inspay_core::ids::{PaymentId, PolicyId};
use inspay_core::sensitive::{CardExpiry, CardNumber, Cvv, PersonalField};
use inspay_store::funds::{BeginPayment, ChannelEvidence, Payment, PaymentMethod, SettleOrder};

/// Where the money comes from.
pub enum Source {
    /// A card, as the customer entered it (decrypted from its field envelope).
    Card {
        /// Number.
        number: CardNumber,
        /// Expiry.
        expiry: CardExpiry,
        /// CVV, if the card has one.
        cvv: Option<Cvv>,
    },
    /// A card saved from an earlier payment.
    Saved {
        /// The saved method's id.
        method_id: String,
    },
}

/// How the payment ended, as far as is known when the request answers.
#[derive(Debug)]
pub enum Outcome {
    /// The money moved and the premium is paid.
    Succeeded(Payment),
    /// The channel's answer is not known yet; the outbox will find out.
    Pending(Payment),
    /// The channel declined.
    Declined(Payment),
}

/// Pays premium `number` of `policy_id` for `account_id`.
pub async fn pay(
    state: &AppState,
    account_id: &str,
    policy_id: &PolicyId,
    number: u32,
    source: Source,
    request_id: &str,
) -> Result<Outcome, ApiError> {
    let channel = state
        .channel_slot()
        .get()
        .ok_or_else(|| ApiError::new(ErrorCode::ChannelUnavailable))?;
    crate::containment::guard_fund_operation(state, account_id).await?;
    let keyring = state.keyring();
    let (method, pay_source) = match source {
        Source::Card {
            number,
            expiry,
            cvv,
        } => (
            PaymentMethod::Card {
                masked: number.masked().as_str().to_string(),
            },
            PaySource::Card(CardDetails {
                number,
                expiry,
                cvv,
            }),
        ),
        Source::Saved { method_id } => {
            let (masked, token) = state
                .store
                .payment_method(&keyring, account_id, &method_id)
                .await?
                .ok_or_else(|| ApiError::new(ErrorCode::NotFound).detail("no such saved card"))?;
            let token = CardToken::parse(&token).map_err(|_| {
                ApiError::new(ErrorCode::Internal).cause("a stored card token is malformed")
            })?;
            (
                PaymentMethod::Token { method_id, masked },
                PaySource::Token(token),
            )
        }
    };
    let now = state.now_ms();
    let payment = state
        .store
        .payment_begin(
            &keyring,
            BeginPayment {
                policy_id,
                number,
                account_id,
                method,
                resolve_at_ms: now + state.settings.payments.resolve_after_ms,
            },
            request_id,
            now,
        )
        .await?;
    state
        .monitor()
        .metrics()
        .fund(crate::monitoring::FundOperation::PaymentCreated);
    let order = OrderId::parse(payment.id.as_str())
        .and_then(|order_id| PayOrder::new(order_id, payment.amount.fen(), pay_source))
        .map_err(|error| ApiError::new(ErrorCode::Internal).cause(error))?;
    let answer = channel.pay(order).await;
    record(state, &payment.id, answer, request_id).await
}

/// Records what the channel said (or that it said nothing usable) and tells the caller.
pub async fn record(
    state: &AppState,
    payment_id: &PaymentId,
    answer: Result<ChannelAnswer, ChannelError>,
    request_id: &str,
) -> Result<Outcome, ApiError> {
    let keyring = state.keyring();
    let settle = match decide(&answer) {
        Decision::Settle(settle) => settle,
        Decision::Unknown(why) => {
            tracing::warn!(payment = %payment_id, reason = why, "payment outcome unknown; the outbox will resolve it");
            let payment = state.store.payment(&keyring, payment_id, None).await?;
            return Ok(match payment.status {
                OrderStatus::Succeeded => Outcome::Succeeded(payment),
                OrderStatus::Failed => Outcome::Declined(payment),
                OrderStatus::Pending => Outcome::Pending(payment),
            });
        }
    };
    let token = match &answer {
        Ok(answer) => answer.card_token.clone(),
        Err(_) => None,
    };
    let settled = state
        .store
        .payment_settle(
            &keyring,
            payment_id,
            &settle,
            token.as_deref(),
            request_id,
            state.now_ms(),
        )
        .await?;
    if settled.changed {
        state.monitor().metrics().settled(
            crate::monitoring::metrics::Order::Payment,
            settled.payment.status,
        );
    }
    Ok(match settled.payment.status {
        OrderStatus::Succeeded => Outcome::Succeeded(settled.payment),
        OrderStatus::Failed => Outcome::Declined(settled.payment),
        OrderStatus::Pending => Outcome::Pending(settled.payment),
    })
}

/// What an answer (or its absence) means for the record.
pub enum Decision {
    /// A definite outcome to record.
    Settle(SettleOrder),
    /// The outcome is not known: leave the order pending for the outbox.
    Unknown(&'static str),
}

/// Reads a channel answer: success and refusal are definite; a timeout, a bad signature or a
/// broken answer leaves the outcome unknown (money may have moved); an unreachable channel or
/// a refused request means nothing moved. `NotFound` is handled by the outbox, which knows how
/// long ago the order was sent.
pub fn decide(answer: &Result<ChannelAnswer, ChannelError>) -> Decision {
    match answer {
        Ok(answer) => match &answer.status {
            ChannelStatus::Succeeded => Decision::Settle(SettleOrder {
                outcome: ChannelOutcome::Succeeded,
                channel_ref: answer.channel_ref.clone(),
                failure_code: None,
                evidence: evidence_of(answer),
            }),
            ChannelStatus::Failed { reason_code } => Decision::Settle(SettleOrder {
                outcome: ChannelOutcome::Failed,
                channel_ref: answer.channel_ref.clone(),
                failure_code: Some(safe_code(reason_code)),
                evidence: evidence_of(answer),
            }),
            ChannelStatus::Processing => Decision::Unknown("the channel is still processing"),
            ChannelStatus::NotFound => Decision::Unknown("the channel has no record yet"),
        },
        Err(error) if error.money_may_have_moved() => Decision::Unknown("no trustworthy answer"),
        Err(error) => Decision::Settle(SettleOrder {
            outcome: ChannelOutcome::Failed,
            channel_ref: None,
            evidence: None,
            failure_code: Some(
                match error {
                    ChannelError::Unreachable => "CHANNEL_UNREACHABLE",
                    ChannelError::Refused { .. } => "CHANNEL_REFUSED",
                    ChannelError::OrderConflict => "ORDER_CONFLICT",
                    _ => "NOT_SENT",
                }
                .to_string(),
            ),
        }),
    }
}

/// The channel's signature over an answer, as the store keeps it.
pub fn evidence_of(answer: &ChannelAnswer) -> Option<ChannelEvidence> {
    answer.evidence.as_ref().map(evidence_from)
}

/// A channel's signed answer as the store keeps it.
pub fn evidence_from(evidence: &inspay_channel::AnswerEvidence) -> ChannelEvidence {
    ChannelEvidence {
        http_status: evidence.status,
        timestamp_s: evidence.timestamp_s,
        nonce: evidence.nonce.clone(),
        request_nonce: evidence.request_nonce.clone(),
        body: zeroize::Zeroizing::new(evidence.body.clone()),
        signature_base64: evidence.signature_base64.clone(),
    }
}

/// A channel reason code as stored: upper-case letters, digits and `_`, at most 40; anything
/// else becomes `CHANNEL_FAILED`, so no text from outside reaches the records or the client.
fn safe_code(code: &str) -> String {
    let safe = !code.is_empty()
        && code.len() <= 40
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if safe {
        code.to_string()
    } else {
        "CHANNEL_FAILED".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outside text never becomes a stored failure code.
    #[test]
    fn failure_codes_are_sanitised() {
        assert_eq!(safe_code("CARD_DECLINED"), "CARD_DECLINED");
        assert_eq!(safe_code("card 6222021234567890128"), "CHANNEL_FAILED");
        assert_eq!(safe_code(""), "CHANNEL_FAILED");
    }
}
