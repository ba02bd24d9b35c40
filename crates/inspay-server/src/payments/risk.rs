//! The risk check every fund operation asks before it executes (clause 5.3.3.4-b; issue 5
//! item 10). This version applies the limit rules of `[payments]`: per operation, per customer
//! per day, operations per day (premiums, cancellations), and the hours in which premiums may
//! be paid. The risk-engine
//! issue grows the rules behind the same call; the callers do not change.
//!
//! A refusal is an [`ApiError`] with a stable code (`INSPAY-PAY-005` over a limit,
//! `INSPAY-PAY-008` outside the hours) and a detail that tells the person what to do.

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use inspay_core::money::Amount;

/// A fund operation about to execute.
#[derive(Debug, Clone, Copy)]
pub enum FundOperation<'a> {
    /// A customer pays a premium.
    PremiumPayment {
        /// The payer.
        account_id: &'a str,
        /// The premium.
        amount: Amount,
    },
    /// A customer cancels a policy (its unearned premium goes back).
    PolicyCancellation {
        /// The policyholder.
        account_id: &'a str,
    },
    /// An approved claim is paid out to its claimant.
    ClaimPayout {
        /// The claimant.
        account_id: &'a str,
        /// The approved amount.
        amount: Amount,
    },
}

/// Asks the risk check whether `operation` may execute now.
pub async fn check(
    state: &AppState,
    operation: FundOperation<'_>,
    now_ms: i64,
) -> Result<(), ApiError> {
    match operation {
        FundOperation::PremiumPayment { account_id, amount } => {
            premium_limits(state, account_id, amount, now_ms).await
        }
        FundOperation::ClaimPayout { account_id, amount } => {
            payout_limits(state, account_id, amount, now_ms).await
        }
        FundOperation::PolicyCancellation { account_id } => {
            let cancelled = state
                .store
                .policies_cancelled_since(account_id, day_start_ms(now_ms))
                .await?;
            if cancelled >= state.settings.payments.cancellations_per_day_max {
                return Err(ApiError::new(ErrorCode::LimitExceeded).detail(
                    "the number of policy cancellations per day is reached; try again tomorrow \
                     or contact the insurer",
                ));
            }
            Ok(())
        }
    }
}

async fn premium_limits(
    state: &AppState,
    account_id: &str,
    amount: Amount,
    now_ms: i64,
) -> Result<(), ApiError> {
    let limits = &state.settings.payments;
    if amount.fen() > limits.premium_per_payment_fen_max {
        return Err(ApiError::new(ErrorCode::LimitExceeded)
            .detail("the premium is above the per-payment limit; contact the insurer"));
    }
    let hour = hour_in_china(now_ms);
    let [from, to] = limits.premium_hours;
    if hour < from || hour >= to {
        return Err(
            ApiError::new(ErrorCode::OutsidePaymentHours).detail(format!(
                "premiums are paid between {from:02}:00 and {to:02}:00 China time"
            )),
        );
    }
    let (count, total_fen) = state
        .store
        .premium_payments_since(account_id, day_start_ms(now_ms))
        .await?;
    if count >= limits.premium_payments_per_day_max {
        return Err(ApiError::new(ErrorCode::LimitExceeded)
            .detail("the number of premium payments per day is reached; try again tomorrow"));
    }
    if total_fen + amount.fen() > limits.premium_per_day_fen_max {
        return Err(ApiError::new(ErrorCode::LimitExceeded)
            .detail("the daily premium limit would be exceeded; try again tomorrow"));
    }
    Ok(())
}

async fn payout_limits(
    state: &AppState,
    account_id: &str,
    amount: Amount,
    now_ms: i64,
) -> Result<(), ApiError> {
    let limits = &state.settings.payments;
    if amount.fen() > limits.payout_per_claim_fen_max {
        return Err(ApiError::new(ErrorCode::LimitExceeded).detail(
            "the payout is above the per-claim limit; split it under the insurer's procedure \
             or raise payments.payout_per_claim_fen_max",
        ));
    }
    let (_, total_fen) = state
        .store
        .payouts_since(account_id, day_start_ms(now_ms))
        .await?;
    if total_fen + amount.fen() > limits.payout_per_day_fen_max {
        return Err(ApiError::new(ErrorCode::LimitExceeded)
            .detail("the daily payout limit for this claimant is reached; the payout can be approved or sent again tomorrow (China time)"));
    }
    Ok(())
}

const CHINA_OFFSET_MS: i64 = 8 * 3_600_000;
const DAY_MS: i64 = 86_400_000;

fn hour_in_china(now_ms: i64) -> u8 {
    u8::try_from((now_ms + CHINA_OFFSET_MS).rem_euclid(DAY_MS) / 3_600_000).unwrap_or(0)
}

fn day_start_ms(now_ms: i64) -> i64 {
    (now_ms + CHINA_OFFSET_MS).div_euclid(DAY_MS) * DAY_MS - CHINA_OFFSET_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Days and hours are counted in China time.
    #[test]
    fn days_start_at_midnight_in_china() {
        // 2026-11-25 16:00 UTC = 2026-11-26 00:00 in Beijing.
        let midnight = 1_795_622_400_000;
        assert_eq!(day_start_ms(midnight + 5), midnight);
        assert_eq!(day_start_ms(midnight - 1), midnight - DAY_MS);
        assert_eq!(hour_in_china(midnight), 0);
        assert_eq!(hour_in_china(midnight + 13 * 3_600_000 + 59_000), 13);
    }
}
