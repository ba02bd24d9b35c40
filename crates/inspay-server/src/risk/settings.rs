//! `[risk]` settings: the built-in transaction rules (clause 5.3.3.4), the model's thresholds
//! (clause 5.3.3.2) and how fast rule packs come into force (clause 6.3.7).

use inspay_risk::decision::{StepUpFactor, Verdict};
use inspay_risk::model::Thresholds;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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
    /// Security events (signature failures, replays, injection-shaped input, requests for
    /// unknown routes) from the request's address or application within 10 minutes at which
    /// its sign-ins and fund operations go to review (`edge.hostile-source`; clause 5.4.3.2).
    /// Default 10.
    pub edge_events_10m_max: i64,
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
    /// `[risk.login]`: the built-in sign-in rules (issue 6 item 2; clause 5.3.3.3).
    #[serde(default)]
    pub login: LoginSettings,
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
            edge_events_10m_max: 10,
            model: Thresholds::default(),
            train_interval_hours: 24,
            train_check_interval_s: 600,
            export: super::export::ExportSettings::default(),
            login: LoginSettings::default(),
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
            || !(1..=1_000).contains(&self.edge_events_10m_max)
        {
            return Some((
                "risk",
                "night_amount_fen, velocity_count_1h_max and velocity_sum_24h_fen_max must be \
                 positive; payout_account_min_age_hours and claim_min_policy_age_days at least 0; \
                 edge_events_10m_max 1 to 1,000"
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
        if let Some(refusal) = self.login.refusal() {
            return Some(refusal);
        }
        // `[risk.export]` is checked by `Settings::validate` with the profile (clause 5.3.3.5).
        None
    }
}

/// The verdict a built-in rule gives when it fires, written as rule packs write verdicts
/// (`allow`, `step-up:sms-code`, `step-up:gesture`, `step-up:device-key`, `review`, `deny`);
/// `allow` turns the rule off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RuleVerdict(pub Verdict);

impl TryFrom<String> for RuleVerdict {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        Verdict::parse(&text).map(RuleVerdict).ok_or_else(|| {
            format!(
                "'{text}' is not a verdict: use allow, step-up:sms-code, step-up:gesture, \
                 step-up:device-key, review or deny"
            )
        })
    }
}

impl From<RuleVerdict> for String {
    fn from(verdict: RuleVerdict) -> String {
        verdict.0.name()
    }
}

const STEP_UP: RuleVerdict = RuleVerdict(Verdict::StepUp(StepUpFactor::SmsCode));

/// `[risk.login]`: what the engine looks at when someone signs in (issue 6 item 2; clause
/// 5.3.3.3), each rule with its threshold and the verdict it gives. What each verdict does at
/// sign-in is in `docs/risk-officer-guide.md` ("Sign-in risk"); in short, a step-up or review
/// adds one factor to the sign-in, review also raises an alert, and deny refuses it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginSettings {
    /// A CSV file the operator supplies that places networks on the map, one
    /// `cidr,name,latitude,longitude` line per network (a header line and `#` comments are
    /// allowed; the longest matching network wins). It is read and checked at start, and read
    /// again when it changes. Unset (the default): no positions, so impossible travel is never
    /// detected (`login.travel_kmh` stays 0).
    pub regions_file: Option<PathBuf>,
    /// `login.new-device`: the account completed sign-ins before, none from this device.
    /// Default `step-up:sms-code`.
    pub new_device: RuleVerdict,
    /// `login.new-region`: the account completed sign-ins before, none from this network
    /// region (the address's IPv4 /16 or IPv6 /48). Default `step-up:sms-code`.
    pub new_region: RuleVerdict,
    /// `login.impossible-travel` fires when reaching this sign-in's position from the
    /// account's previous one would need more than this speed, km/h. Default 900 (an
    /// airliner's cruising speed; door to door is far slower).
    pub travel_speed_kmh_max: f64,
    /// Positions closer than this are the same place (locating addresses is coarse: a mobile
    /// network may leave the internet in another city of the province), km. Default 300.
    pub travel_distance_km_min: f64,
    /// The verdict of `login.impossible-travel`. Default `review` (a step-up and an alert).
    pub impossible_travel: RuleVerdict,
    /// `login.long-unused` fires when the previous sign-in was at least this many days ago
    /// (clause 5.3.3.3-c asks more at 180 days, `identity.dormant_days`; this asks earlier).
    /// Default 90.
    pub idle_days_max: i64,
    /// The verdict of `login.long-unused`. Default `step-up:sms-code`.
    pub long_unused: RuleVerdict,
    /// `login.name-failures` fires when the login name had at least this many failed
    /// sign-ins in the last 15 minutes. Default 3 (with the default lockout only attempts on a
    /// locked account get there).
    pub name_failures_15m_max: i64,
    /// The verdict of `login.name-failures`. Default `step-up:sms-code`.
    pub name_failures: RuleVerdict,
    /// `login.shared-device` fires when more than this many accounts (this one included)
    /// signed in from the device in the last 30 days. Default 3.
    pub device_accounts_30d_max: i64,
    /// The verdict of `login.shared-device`. Default `review`.
    pub shared_device: RuleVerdict,
    /// `login.credential-stuffing` fires when the client address had at least this many
    /// failed or refused sign-ins in the last 15 minutes, whatever the names. Default 20.
    pub ip_failures_15m_max: i64,
    /// The verdict of `login.credential-stuffing`. Default `deny`.
    pub credential_stuffing: RuleVerdict,
    /// `login.many-accounts` fires when more than this many login names (this one included)
    /// were tried from the client address in the last hour. Default 20. Raise it if many
    /// customers share one public address (carrier-grade NAT) and the proxies in front of the
    /// server are not in `protection.trusted_proxies`.
    pub ip_accounts_1h_max: i64,
    /// The verdict of `login.many-accounts`. Default `deny`.
    pub many_accounts: RuleVerdict,
    /// The sign-in history is kept this many days, then purged; a device or region unused
    /// for longer is new again. Default 400.
    pub history_days: i64,
}

impl Default for LoginSettings {
    fn default() -> Self {
        Self {
            regions_file: None,
            new_device: STEP_UP,
            new_region: STEP_UP,
            travel_speed_kmh_max: 900.0,
            travel_distance_km_min: 300.0,
            impossible_travel: RuleVerdict(Verdict::Review),
            idle_days_max: 90,
            long_unused: STEP_UP,
            name_failures_15m_max: 3,
            name_failures: STEP_UP,
            device_accounts_30d_max: 3,
            shared_device: RuleVerdict(Verdict::Review),
            ip_failures_15m_max: 20,
            credential_stuffing: RuleVerdict(Verdict::Deny),
            ip_accounts_1h_max: 20,
            many_accounts: RuleVerdict(Verdict::Deny),
            history_days: 400,
        }
    }
}

impl LoginSettings {
    /// The first setting that cannot work, with why. Reads the region file, if one is named.
    pub fn refusal(&self) -> Option<(&'static str, String)> {
        if !(self.travel_speed_kmh_max.is_finite()
            && (100.0..=5_000.0).contains(&self.travel_speed_kmh_max))
        {
            return Some((
                "risk.login.travel_speed_kmh_max",
                "must be 100 to 5,000 km/h".to_owned(),
            ));
        }
        if !(self.travel_distance_km_min.is_finite()
            && (0.0..=2_000.0).contains(&self.travel_distance_km_min))
        {
            return Some((
                "risk.login.travel_distance_km_min",
                "must be 0 to 2,000 km".to_owned(),
            ));
        }
        if !(1..=3_650).contains(&self.idle_days_max) {
            return Some((
                "risk.login.idle_days_max",
                "must be 1 to 3,650 days".to_owned(),
            ));
        }
        let counts = [
            self.name_failures_15m_max,
            self.device_accounts_30d_max,
            self.ip_failures_15m_max,
            self.ip_accounts_1h_max,
        ];
        if counts.iter().any(|count| !(1..=100_000).contains(count)) {
            return Some((
                "risk.login",
                "name_failures_15m_max, device_accounts_30d_max, ip_failures_15m_max and \
                 ip_accounts_1h_max must be 1 to 100,000"
                    .to_owned(),
            ));
        }
        // The history must cover the longest window a rule looks back over (30 days).
        if !(31..=3_650).contains(&self.history_days) {
            return Some((
                "risk.login.history_days",
                "must be 31 to 3,650 days (the device rule looks back 30 days)".to_owned(),
            ));
        }
        if let Some(path) = &self.regions_file
            && let Err(error) = super::login::regions::RegionMap::load(path)
        {
            return Some(("risk.login.regions_file", error.to_string()));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults pass; out-of-range thresholds, unknown verdicts and an unreadable region
    /// file are refused.
    #[test]
    fn login_settings_are_checked() {
        assert_eq!(LoginSettings::default().refusal(), None);
        assert_eq!(RiskSettings::default().refusal(), None);
        let refused = |settings: LoginSettings| settings.refusal().map(|(name, _)| name);
        assert_eq!(
            refused(LoginSettings {
                travel_speed_kmh_max: f64::NAN,
                ..LoginSettings::default()
            }),
            Some("risk.login.travel_speed_kmh_max")
        );
        assert_eq!(
            refused(LoginSettings {
                ip_failures_15m_max: 0,
                ..LoginSettings::default()
            }),
            Some("risk.login")
        );
        assert_eq!(
            refused(LoginSettings {
                history_days: 30,
                ..LoginSettings::default()
            }),
            Some("risk.login.history_days")
        );
        assert_eq!(
            refused(LoginSettings {
                regions_file: Some(PathBuf::from("/nonexistent/regions.csv")),
                ..LoginSettings::default()
            }),
            Some("risk.login.regions_file")
        );
        assert!(RuleVerdict::try_from("step-up:password".to_owned()).is_err());
        assert_eq!(
            RuleVerdict::try_from("review".to_owned()),
            Ok(RuleVerdict(Verdict::Review))
        );
        assert_eq!(String::from(STEP_UP), "step-up:sms-code");
    }
}
