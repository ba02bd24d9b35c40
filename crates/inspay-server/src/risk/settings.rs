//! `[risk]` settings: the built-in transaction rules (clause 5.3.3.4), the model's thresholds
//! (clause 5.3.3.2) and how fast rule packs come into force (clause 6.3.7).

use inspay_risk::model::Thresholds;
use serde::{Deserialize, Serialize};

/// `[risk]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskSettings {
    /// How often each node checks whether the rule packs in force changed, ms. A pack
    /// installed, rolled back or withdrawn on any node (or with `inspay risk pack`) is in force
    /// everywhere within this. Default 1,000.
    pub pack_reload_interval_ms: u64,
    /// Amount tier 1 (clause 5.3.3.4-a): a fund operation above this many fen needs a fresh
    /// second factor (an SMS code). Default 500,000 (5,000.00 CNY).
    pub amount_step_up_fen: i64,
    /// Amount tier 2: above this many fen a fund operation waits for a risk officer. Default
    /// 20,000,000 (200,000.00 CNY).
    pub amount_review_fen: i64,
    /// Night hours in China time, `[from, to)` (clause 5.3.3.4-b, time-window rules). Default
    /// `[0, 6]`.
    pub night_hours: [u8; 2],
    /// At night, a fund operation above this many fen needs a fresh second factor. Default
    /// 200,000 (2,000.00 CNY).
    pub night_amount_fen: i64,
    /// Velocity: with this many operations of the same kind by the account in the last hour
    /// already, the next one waits for review. Default 5.
    pub velocity_count_1h_max: i64,
    /// Velocity: when the account's operations of the same kind in the last 24 hours and this
    /// one would pass this many fen, it waits for review. Default 50,000,000.
    pub velocity_sum_24h_fen_max: i64,
    /// A claim payout to an account bound less than this many hours ago waits for review
    /// (an account changed just before a payout is a takeover pattern). Default 24.
    pub payout_account_min_age_hours: i64,
    /// A claim filed less than this many days after its policy started waits for review.
    /// Default 7.
    pub claim_min_policy_age_days: i64,
    /// The behaviour model's thresholds: past `prompt` a risk prompt (a step-up), past
    /// `strong` a review.
    pub model: Thresholds,
    /// How often the baselines are rebuilt from the whole stored history, hours (clause
    /// 5.3.3.2: refreshed on a schedule as well as incrementally). Each node checks every
    /// `train_check_interval_s` whether the last training is older than this. Default 24.
    pub train_interval_hours: u32,
    /// How often each node checks whether training is due, seconds. Default 600.
    pub train_check_interval_s: u64,
    /// `[risk.export]`: risk events to the external risk-control system (clause 5.3.3.5).
    pub export: super::export::ExportSettings,
}

impl Default for RiskSettings {
    fn default() -> Self {
        Self {
            pack_reload_interval_ms: 1_000,
            amount_step_up_fen: 500_000,
            amount_review_fen: 20_000_000,
            night_hours: [0, 6],
            night_amount_fen: 200_000,
            velocity_count_1h_max: 5,
            velocity_sum_24h_fen_max: 50_000_000,
            payout_account_min_age_hours: 24,
            claim_min_policy_age_days: 7,
            model: Thresholds::default(),
            train_interval_hours: 24,
            train_check_interval_s: 600,
            export: super::export::ExportSettings::default(),
        }
    }
}

impl RiskSettings {
    /// The first setting that cannot work, with why.
    pub fn refusal(&self) -> Option<(&'static str, String)> {
        if !(100..=60_000).contains(&self.pack_reload_interval_ms) {
            return Some((
                "risk.pack_reload_interval_ms",
                "must be 100 to 60,000: packs must come into force within a minute".to_owned(),
            ));
        }
        if self.amount_step_up_fen <= 0 || self.amount_review_fen <= self.amount_step_up_fen {
            return Some((
                "risk.amount_review_fen",
                "amount tiers must be positive and rising: amount_step_up_fen < amount_review_fen"
                    .to_owned(),
            ));
        }
        let [from, to] = self.night_hours;
        if from > 23 || to > 24 || from >= to {
            return Some((
                "risk.night_hours",
                "must be [from, to) with 0 <= from < to <= 24".to_owned(),
            ));
        }
        if self.night_amount_fen <= 0
            || self.velocity_count_1h_max <= 0
            || self.velocity_sum_24h_fen_max <= 0
            || self.payout_account_min_age_hours < 0
            || self.claim_min_policy_age_days < 0
        {
            return Some((
                "risk",
                "night_amount_fen, velocity_count_1h_max and velocity_sum_24h_fen_max must be \
                 positive; payout_account_min_age_hours and claim_min_policy_age_days at least 0"
                    .to_owned(),
            ));
        }
        if !(1..=24 * 31).contains(&self.train_interval_hours)
            || !(10..=86_400).contains(&self.train_check_interval_s)
        {
            return Some((
                "risk.train_interval_hours",
                "baselines must be rebuilt at least monthly (train_interval_hours 1 to 744) and \
                 the check run every 10 s to 1 day (train_check_interval_s)"
                    .to_owned(),
            ));
        }
        if let Err(error) = self.model.validate() {
            return Some(("risk.model", error.to_string()));
        }
        // `[risk.export]` is checked by `Settings::validate` with the profile (clause 5.3.3.5).
        None
    }
}
