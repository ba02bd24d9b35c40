//! `[payments]` settings: thresholds of the security levels (clause 5.1), fund limits (clause
//! 5.3.3.4-b), and the payment channel.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The most a renewal may be and still count as small (basic level): clause 5.1-a's default.
pub const SMALL_RENEWAL_FEN_MAX: i64 = 200_000;

/// `[payments]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentSettings {
    /// A renewal premium at most this many fen is a basic-level operation (a full session);
    /// above it, and for every first premium, a fresh second factor is needed (clause 5.1-a/b).
    /// Default 200,000 (2,000.00 CNY).
    pub small_renewal_fen: i64,
    /// A claim payout above this many fen needs a second approver (clause 5.1-b, 5.3.2.2).
    /// Default 5,000,000 (50,000.00 CNY).
    pub large_claim_fen: i64,
    /// Largest single premium payment a customer may make, fen (clause 5.3.3.4-b).
    pub premium_per_payment_fen_max: i64,
    /// Most a customer may pay in premiums per calendar day (China time), fen.
    pub premium_per_day_fen_max: i64,
    /// Premium payments a customer may start per day.
    pub premium_payments_per_day_max: i64,
    /// Largest claim payout that may be approved, fen (clause 5.3.3.4-b). Default
    /// 100,000,000 (1,000,000.00 CNY).
    pub payout_per_claim_fen_max: i64,
    /// Policies one customer may cancel per calendar day (China time): each cancellation sends
    /// money back, and a burst of them is a pattern to stop and look at. Default 3.
    pub cancellations_per_day_max: i64,
    /// Most one customer may be paid out per calendar day (China time), fen; an approval
    /// that would pass it waits for the next day. Default 200,000,000.
    pub payout_per_day_fen_max: i64,
    /// Hours of the day (China time, `[from, to)`) in which premiums may be paid; `[0, 24]`
    /// means always (clause 5.3.3.4-b, time-window rules).
    pub premium_hours: [u8; 2],
    /// When a payment's answer has not been recorded this long after it began, the outbox
    /// asks the channel how it ended, ms.
    pub resolve_after_ms: i64,
    /// How often each node's outbox worker looks for due work, ms.
    pub worker_interval_ms: u64,
    /// Attempts after which an outbox row is given up for an operator to look at.
    pub outbox_attempts_max: i64,
    /// The payment channel.
    pub channel: ChannelSettings,
}

/// `[payments.channel]`: the bank or payment-service channel premiums, payouts and refunds go
/// through.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSettings {
    /// Base URL, such as `https://pay.bank.example`. Unset in the development profile: `serve`
    /// starts the built-in simulated bank on loopback. Unset in production: payments are
    /// refused until a channel is configured.
    pub url: Option<String>,
    /// Our merchant id at the channel.
    pub merchant_id: String,
    /// The channel's SM2 public key (PEM): every answer must verify under it.
    pub public_key_file: Option<PathBuf>,
    /// PEM file of the CA that issued the channel's TLS certificate (`https` only); unset
    /// trusts the system's store.
    pub ca_file: Option<PathBuf>,
    /// Longest wait for one channel request, ms; past it the outcome is unknown and the outbox
    /// resolves it.
    pub timeout_ms: u64,
    /// How long after a request's timestamp the channel still accepts it, seconds (its
    /// signature window: 300 for the channels of this protocol). The outbox trusts a "not
    /// found" only once this has passed since the payment began.
    pub acceptance_window_s: i64,
}

impl Default for PaymentSettings {
    fn default() -> Self {
        PaymentSettings {
            small_renewal_fen: 200_000,
            large_claim_fen: 5_000_000,
            premium_per_payment_fen_max: 10_000_000,
            premium_per_day_fen_max: 20_000_000,
            premium_payments_per_day_max: 20,
            cancellations_per_day_max: 3,
            payout_per_claim_fen_max: 100_000_000,
            payout_per_day_fen_max: 200_000_000,
            premium_hours: [0, 24],
            resolve_after_ms: 30_000,
            worker_interval_ms: 1_000,
            outbox_attempts_max: 50,
            channel: ChannelSettings {
                url: None,
                merchant_id: "inspay".into(),
                public_key_file: None,
                ca_file: None,
                timeout_ms: 10_000,
                acceptance_window_s: inspay_channel::signing::WINDOW_S,
            },
        }
    }
}

impl PaymentSettings {
    /// Why the settings are refused, if they are: (setting, reason, clause).
    pub fn refusal(&self) -> Option<(&'static str, String, &'static str)> {
        let money = 1..=inspay_core::money::MONEY_FEN_MAX;
        for (setting, value) in [
            ("payments.small_renewal_fen", self.small_renewal_fen),
            ("payments.large_claim_fen", self.large_claim_fen),
            (
                "payments.payout_per_claim_fen_max",
                self.payout_per_claim_fen_max,
            ),
            (
                "payments.payout_per_day_fen_max",
                self.payout_per_day_fen_max,
            ),
            (
                "payments.premium_per_payment_fen_max",
                self.premium_per_payment_fen_max,
            ),
            (
                "payments.premium_per_day_fen_max",
                self.premium_per_day_fen_max,
            ),
        ] {
            if !money.contains(&value) {
                return Some((
                    setting,
                    "must be a positive amount in fen".into(),
                    "5.3.1.3",
                ));
            }
        }
        if self.small_renewal_fen > SMALL_RENEWAL_FEN_MAX {
            return Some((
                "payments.small_renewal_fen",
                format!(
                    "must be at most {SMALL_RENEWAL_FEN_MAX} (2,000.00 CNY): above it a renewal is no \
                     longer a basic-level operation"
                ),
                "5.1-a",
            ));
        }
        if !(1..=100).contains(&self.cancellations_per_day_max) {
            return Some((
                "payments.cancellations_per_day_max",
                "must be 1..=100".into(),
                "5.3.3.4-b",
            ));
        }
        if !(1..=1_000).contains(&self.premium_payments_per_day_max) {
            return Some((
                "payments.premium_payments_per_day_max",
                "must be 1..=1000".into(),
                "5.3.3.4-b",
            ));
        }
        let [from, to] = self.premium_hours;
        if from >= to || to > 24 {
            return Some((
                "payments.premium_hours",
                "must be [from, to) with 0 <= from < to <= 24".into(),
                "5.3.3.4-b",
            ));
        }
        if !(1_000..=3_600_000).contains(&self.resolve_after_ms)
            || i64::try_from(self.channel.timeout_ms).unwrap_or(i64::MAX) >= self.resolve_after_ms
        {
            return Some((
                "payments.resolve_after_ms",
                "must be 1,000..=3,600,000 ms and longer than payments.channel.timeout_ms".into(),
                "5.3.4",
            ));
        }
        if !(100..=60_000).contains(&self.worker_interval_ms) {
            return Some((
                "payments.worker_interval_ms",
                "must be 100..=60000".into(),
                "5.3.4",
            ));
        }
        if !(1..=1_000).contains(&self.outbox_attempts_max) {
            return Some((
                "payments.outbox_attempts_max",
                "must be 1..=1000".into(),
                "5.3.4",
            ));
        }
        if !(100..=120_000).contains(&self.channel.timeout_ms) {
            return Some((
                "payments.channel.timeout_ms",
                "must be 100..=120000".into(),
                "5.3.5.2",
            ));
        }
        if !(1..=86_400).contains(&self.channel.acceptance_window_s) {
            return Some((
                "payments.channel.acceptance_window_s",
                "must be 1..=86400 seconds: the channel's signature window".into(),
                "5.3.4",
            ));
        }
        if self.channel.url.is_some() && self.channel.public_key_file.is_none() {
            return Some((
                "payments.channel.public_key_file",
                "is needed with payments.channel.url: every channel answer is verified".into(),
                "5.6.2-d1",
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Thresholds and limits that would break a clause are refused: a "small" renewal above
    /// 2,000.00 CNY, zero or negative limits, an empty payment window, a resolve delay shorter
    /// than the channel timeout, a channel without its public key.
    /// req: 5.1-a, 5.3.3.4-b, 5.3.4
    #[test]
    fn settings_that_break_a_clause_are_refused() {
        assert_eq!(PaymentSettings::default().refusal(), None);
        let refused = |change: &dyn Fn(&mut PaymentSettings)| {
            let mut settings = PaymentSettings::default();
            change(&mut settings);
            settings.refusal().map(|(setting, _, _)| setting)
        };
        assert_eq!(
            refused(&|s| s.small_renewal_fen = SMALL_RENEWAL_FEN_MAX + 1),
            Some("payments.small_renewal_fen")
        );
        assert_eq!(
            refused(&|s| s.small_renewal_fen = SMALL_RENEWAL_FEN_MAX),
            None
        );
        assert_eq!(
            refused(&|s| s.premium_per_day_fen_max = 0),
            Some("payments.premium_per_day_fen_max")
        );
        assert_eq!(
            refused(&|s| s.premium_hours = [9, 9]),
            Some("payments.premium_hours")
        );
        assert_eq!(
            refused(&|s| s.premium_hours = [0, 25]),
            Some("payments.premium_hours")
        );
        assert_eq!(
            refused(&|s| s.resolve_after_ms = 5_000),
            Some("payments.resolve_after_ms"),
            "shorter than the channel timeout"
        );
        assert_eq!(
            refused(&|s| s.channel.url = Some("https://bank.example".into())),
            Some("payments.channel.public_key_file")
        );
    }
}
