//! One historical fund operation, as the model sees it.

use serde::{Deserialize, Serialize};

/// Milliseconds in an hour.
const HOUR_MS: i64 = 3_600_000;

/// China Standard Time is UTC+8 all year (no daylight saving since 1991).
const CHINA_OFFSET_HOURS: i64 = 8;

/// The hour of the day (0..=23) in China time (UTC+8) of a unix instant in milliseconds.
///
/// Customers' habits follow the local clock, so hours are always taken in China time whatever
/// the server's time zone. Instants before 1970 work too (Euclidean division).
pub fn china_hour(at_ms: i64) -> u8 {
    let hours_since_epoch = at_ms.div_euclid(HOUR_MS);
    // rem_euclid(24) is in 0..24, so the narrowing cannot lose anything.
    u8::try_from((hours_since_epoch + CHINA_OFFSET_HOURS).rem_euclid(24)).unwrap_or(0)
}

/// What a fund operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OperationKind {
    /// The customer pays a premium.
    PremiumPayment,
    /// The insurer pays a claim to the customer.
    ClaimPayout,
    /// The insurer refunds part of a premium.
    Refund,
    /// A policy is cancelled and the unused premium returned.
    Cancellation,
}

/// Which amount baseline an operation is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AmountFamily {
    /// Premiums, and the refunds and cancellations that return part of them: a refund far
    /// above what the customer usually pays is as suspicious as an unusual premium.
    Premium,
    /// Claim payouts, which live on a different scale from premiums.
    Claim,
}

impl OperationKind {
    /// Every kind, in a fixed order.
    pub const ALL: [Self; 4] = [
        Self::PremiumPayment,
        Self::ClaimPayout,
        Self::Refund,
        Self::Cancellation,
    ];

    /// The amount baseline this kind is compared with.
    pub fn amount_family(self) -> AmountFamily {
        match self {
            Self::ClaimPayout => AmountFamily::Claim,
            Self::PremiumPayment | Self::Refund | Self::Cancellation => AmountFamily::Premium,
        }
    }

    /// Whether this kind's amount is learned into the baseline. Only premiums and claims
    /// are: refunds and cancellations are partial returns, compared with the premiums but not
    /// mixed into them (they would drag the premium median down).
    pub fn teaches_amount(self) -> bool {
        matches!(self, Self::PremiumPayment | Self::ClaimPayout)
    }
}

/// One historical fund operation: who, which product, what, how much, when and from which
/// device. Holds ids only, no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    /// The customer's account id.
    pub account: String,
    /// The product code.
    pub product: String,
    /// What the operation does.
    pub kind: OperationKind,
    /// The amount in fen (positive).
    pub amount_fen: i64,
    /// When it happened, unix milliseconds (UTC).
    pub at_ms: i64,
    /// The device fingerprint id, when the channel reports one.
    pub device: Option<String>,
    /// The hour of day in China time, derived from `at_ms` by [`china_hour`].
    pub hour: u8,
}

impl Observation {
    /// An observation, with its hour derived from `at_ms`.
    pub fn new(
        account: impl Into<String>,
        product: impl Into<String>,
        kind: OperationKind,
        amount_fen: i64,
        at_ms: i64,
        device: Option<String>,
    ) -> Self {
        Self {
            account: account.into(),
            product: product.into(),
            kind,
            amount_fen,
            at_ms,
            device,
            hour: china_hour(at_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Midnight in Beijing is 16:00 UTC the day before; hours wrap and negative instants work.
    #[test]
    fn china_hour_is_utc_plus_eight() {
        // 2025-01-01T00:00:00+08:00
        let beijing_midnight = 1_735_660_800_000;
        assert_eq!(china_hour(beijing_midnight), 0);
        assert_eq!(china_hour(beijing_midnight - 1), 23);
        assert_eq!(
            china_hour(beijing_midnight + 15 * HOUR_MS + 59 * 60_000),
            15
        );
        assert_eq!(china_hour(0), 8);
        assert_eq!(china_hour(-1), 7);
    }

    /// Kinds serialise in kebab case and map to their amount families.
    #[test]
    fn kinds_serialise_in_kebab_case() {
        let json = serde_json::to_string(&OperationKind::PremiumPayment).expect("serialise");
        assert_eq!(json, "\"premium-payment\"");
        assert_eq!(OperationKind::Refund.amount_family(), AmountFamily::Premium);
        assert_eq!(
            OperationKind::ClaimPayout.amount_family(),
            AmountFamily::Claim
        );
    }
}
