//! Sign-in risk (issue 6 item 2; clauses 5.3.3.1, 5.3.3.3-c, 5.4.3.2): the facts a sign-in
//! gives the engine, the built-in `login.*` rules of `[risk.login]`, and what each verdict
//! does to a sign-in.
//!
//! Every first-factor attempt is kept in the sign-in history ([`inspay_store::risk`]
//! `risk_sign_ins`) by reference only: the login name, the device id and the client address
//! as the server's HMAC-SM3 of them, the address's network region as its IPv4 /16 or IPv6 /48
//! prefix, and a position when the operator's region file places the address.
//!
//! # Order, and what an attacker learns
//!
//! A sign-in is decided in two steps, so that a refusal never tells whether the password was
//! right, nor whether the name has an account (clause 5.2.3.3):
//!
//! 1. **Before the secret is checked**, the facts about the source alone (failures from the
//!    address and for the name, names tried from the address, accounts on the device) go
//!    through the built-in rules. If one refuses (`login.credential-stuffing`,
//!    `login.many-accounts` by default), the answer is `INSPAY-RISK-001`, the same for every
//!    name and every secret from that source, and the secret is not even checked (so a stuffing
//!    run does not lock its victims' accounts either). The decision is recorded and a
//!    `credential-stuffing` security event raised.
//! 2. **After the secret is right**, the whole decision is taken: the account's own history
//!    (new device, new region, impossible travel, long unused), the source facts again, and
//!    every rule pack for `sign-in`. A deny here (only a pack or a re-tuned rule can give one)
//!    is answered exactly like a wrong secret, `INSPAY-AUTH-001`, and leaves the same trace (the
//!    next attempt for the name needs a CAPTCHA): answering anything else would confirm the
//!    password to whoever sent it. The decision is recorded and a `sign-in-denied` security
//!    event raised, so staff can tell the customer what happened.
//!
//! # What a verdict does at sign-in
//!
//! A sign-in always takes two factors. A risky one must give more:
//! - `allow`: nothing more.
//! - `step-up` (any factor but the device key) and `review`: one more factor. The device key,
//!   the strongest factor a customer holds, completes the sign-in alone; after an SMS code the
//!   person must also give the ID number from registration (`POST
//!   /v1/sign-in/{flow_id}/identity`), as an account back from dormancy does (clause
//!   5.3.3.3-c). A sign-in cannot wait in a review queue, so `review` is this step-up plus an
//!   alert (the decision is marked, logged on `inspay::risk_alert` and exported).
//! - `step-up:device-key`: only the device key completes the sign-in.
//! - `deny`: refused, as above.
//!
//! Staff sign in with their certificate, already the strongest factor: a step-up or review
//! verdict asks nothing more of them (review still alerts). A dormant account's own identity
//! check is the same factor, so it is not asked twice.
//!
//! # New device, new region, and the first sign-in
//!
//! A device or region is *known* to an account once a sign-in from it completed with every
//! factor it needed; an attempt that stopped after the password teaches nothing. An account's
//! first sign-in (within the history's retention) has nothing to deviate from and is not new
//! anywhere. An app names its device with `device_id`; a request without one (a browser)
//! counts as the account's "unnamed device", so an account that always used the app sees a
//! sign-in without a device id as a new device.

pub mod regions;

use crate::error::{ApiError, ErrorCode};
use crate::risk::assess::{Assessment, Operation, assess_sign_in};
use crate::risk::settings::LoginSettings;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use inspay_identity::login_name::LoginName;
use inspay_kms::Keyring;
use inspay_risk::decision::{Decision, Reason, ReasonSource, StepUpFactor, Verdict};
use inspay_risk::pack::inputs::FactError;
use inspay_risk::pack::{Fact, Facts, OperationKind};
use inspay_store::risk::{
    AccountSignIns, NewSignIn, SignInOutcome, SignInSource, SignInWindows, SourceCounts,
};
use regions::Position;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
/// The windows the `login.*` counts look back over.
pub const WINDOWS: SignInWindows = SignInWindows {
    failures_ms: 15 * MINUTE_MS,
    names_ms: 60 * MINUTE_MS,
    device_ms: 30 * DAY_MS,
};
/// Least time between two sign-ins used for a speed: closer ones are as far apart as a
/// minute, so two sign-ins in the same second do not give an infinite speed.
const TRAVEL_MS_MIN: i64 = MINUTE_MS;
/// Most old history rows one sign-in purges.
const PURGE_ROWS_MAX: i64 = 1_000;
/// Shortest and longest device id an app may send, characters.
pub const DEVICE_ID_CHARS: std::ops::RangeInclusive<usize> = 16..=64;

/// Labels of the server's HMACs (blind-index key), one per kind of value, so a reference of
/// one kind never matches another's.
const NAME_LABEL: &str = "risk-login-name";
const DEVICE_LABEL: &str = "risk-device";
const IP_LABEL: &str = "risk-ip";

/// The facts a sign-in gives the engine beyond those of every operation (the `login.*`
/// fields of the catalogue, and `account.population`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LoginFacts {
    /// Whether a staff member signs in.
    pub staff: bool,
    /// The device has not completed a sign-in to this account before.
    pub new_device: bool,
    /// The network region has not completed a sign-in to this account before.
    pub new_region: bool,
    /// Speed from the previous sign-in's position, km/h (0 when unknown or near).
    pub travel_kmh: f64,
    /// Failed sign-ins for this login name in the last 15 minutes.
    pub failures_15m: i64,
    /// Failed sign-ins from this address in the last 15 minutes.
    pub ip_failures_15m: i64,
    /// Accounts signed in from this device in the last 30 days.
    pub device_accounts_30d: i64,
    /// Login names tried from this address in the last hour, this one included.
    pub ip_accounts_1h: i64,
}

impl LoginFacts {
    /// Sets them into `facts`.
    pub fn apply(&self, facts: &mut Facts) -> Result<(), FactError> {
        let population = if self.staff { "staff" } else { "customer" };
        facts
            .set("account.population", Fact::Text(population.to_owned()))?
            .set("login.new_device", Fact::Bool(self.new_device))?
            .set("login.new_region", Fact::Bool(self.new_region))?
            .set("login.travel_kmh", Fact::Double(self.travel_kmh))?
            .set("login.failures_15m", Fact::Int(self.failures_15m))?
            .set("login.ip_failures_15m", Fact::Int(self.ip_failures_15m))?
            .set(
                "login.device_accounts_30d",
                Fact::Int(self.device_accounts_30d),
            )?
            .set("login.ip_accounts_1h", Fact::Int(self.ip_accounts_1h))?;
        Ok(())
    }
}

fn reason(rule: &str, verdict: Verdict, note: &str) -> Reason {
    Reason {
        rule: rule.to_owned(),
        source: ReasonSource::Builtin,
        verdict,
        score: None,
        note: note.to_owned(),
    }
}

/// The reasons the built-in rules of `[risk.login]` give for a sign-in's facts. A rule whose
/// verdict is `allow` is off.
pub fn reasons(settings: &LoginSettings, facts: &Facts) -> Vec<Reason> {
    let int = |name: &str| match facts.get(name) {
        Some(Fact::Int(value)) => *value,
        _ => 0,
    };
    let flag = |name: &str| matches!(facts.get(name), Some(Fact::Bool(true)));
    let travel = match facts.get("login.travel_kmh") {
        Some(Fact::Double(kmh)) => *kmh,
        _ => 0.0,
    };
    let rules = [
        (
            flag("login.new_device"),
            "login.new-device",
            settings.new_device,
            "a device new to the account",
        ),
        (
            flag("login.new_region"),
            "login.new-region",
            settings.new_region,
            "a network region new to the account",
        ),
        (
            travel > settings.travel_speed_kmh_max,
            "login.impossible-travel",
            settings.impossible_travel,
            "too far from the previous sign-in for the time between them",
        ),
        (
            int("account.idle_days") >= settings.idle_days_max,
            "login.long-unused",
            settings.long_unused,
            "the account was not used for a long time",
        ),
        (
            int("login.failures_15m") >= settings.name_failures_15m_max,
            "login.name-failures",
            settings.name_failures,
            "failed sign-ins for this login name just before",
        ),
        (
            int("login.device_accounts_30d") > settings.device_accounts_30d_max,
            "login.shared-device",
            settings.shared_device,
            "many accounts signed in from this device",
        ),
        (
            int("login.ip_failures_15m") >= settings.ip_failures_15m_max,
            "login.credential-stuffing",
            settings.credential_stuffing,
            "a burst of failed sign-ins from this address",
        ),
        (
            int("login.ip_accounts_1h") > settings.ip_accounts_1h_max,
            "login.many-accounts",
            settings.many_accounts,
            "many login names tried from this address",
        ),
    ];
    rules
        .into_iter()
        .filter(|(fired, _, verdict, _)| *fired && verdict.0 != Verdict::Allow)
        .map(|(_, rule, verdict, note)| reason(rule, verdict.0, note))
        .collect()
}

/// What a risky sign-in needs beyond its two usual factors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// The device key completes it; after an SMS code, the ID number from registration too.
    IdNumber,
    /// Only the device key completes it.
    DeviceKey,
}

impl Requirement {
    /// The stored and shown name: `id-number` or `device-key`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::IdNumber => "id-number",
            Self::DeviceKey => "device-key",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::IdNumber, Self::DeviceKey]
            .into_iter()
            .find(|requirement| requirement.name() == name)
    }

    /// What a verdict asks of a sign-in (`None` for allow; deny never gets this far).
    /// Staff sign in with their certificate, the strongest factor: nothing more.
    pub fn of(verdict: Verdict, staff: bool) -> Option<Self> {
        match verdict {
            _ if staff => None,
            Verdict::Allow | Verdict::Deny => None,
            Verdict::StepUp(StepUpFactor::DeviceKey) => Some(Self::DeviceKey),
            Verdict::StepUp(_) | Verdict::Review => Some(Self::IdNumber),
        }
    }
}

/// A device id as an app sends it: 16 to 64 letters, digits, `-` or `_` (a UUID fits). The
/// server keeps only its HMAC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceId(String);

impl DeviceId {
    /// Parses a device id; the error says what is allowed, never echoes the value.
    pub fn parse(raw: &str) -> Result<DeviceId, &'static str> {
        let ok = DEVICE_ID_CHARS.contains(&raw.len())
            && raw
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
        if ok {
            Ok(DeviceId(raw.to_owned()))
        } else {
            Err("16 to 64 letters, digits, '-' or '_'")
        }
    }
}

/// The client's address, as the listener set it (behind trusted proxies, the address they
/// forwarded for). Unspecified if unknown, which only happens outside a listener.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<crate::defence::ClientAddr>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |addr| addr.0),
        ))
    }
}

/// An address's network region: its IPv4 /16 or IPv6 /48 prefix (IPv4-mapped IPv6 as IPv4).
pub fn network_of(ip: IpAddr) -> String {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, _, _] = v4.octets();
            format!("{a}.{b}.0.0/16")
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & (u128::MAX << 80);
            format!("{}/48", Ipv6Addr::from(bits))
        }
    }
}

/// The speed from `previous` (when, where in 1/10,000 degree) to `here` at `now_ms`, km/h;
/// 0 when either position is unknown or they are closer than `near_km`.
pub fn travel_kmh(
    previous: Option<(i64, i64, i64)>,
    here: Option<Position>,
    near_km: f64,
    now_ms: i64,
) -> f64 {
    let (Some((at_ms, latitude, longitude)), Some(here)) = (previous, here) else {
        return 0.0;
    };
    let km = Position::from_e4((latitude, longitude)).distance_km(here);
    if km < near_km {
        return 0.0;
    }
    let hours = (now_ms - at_ms).max(TRAVEL_MS_MIN) as f64 / 3_600_000.0;
    km / hours
}

fn reference(keyring: &Keyring, label: &str, value: &str) -> Result<String, ApiError> {
    keyring
        .blind_index(label, value)
        .map(|index| index.to_text())
        .map_err(|error| ApiError::new(ErrorCode::KeysUnavailable).cause(error))
}

/// One first-factor attempt being decided: the references of its source and the counts
/// about it, made once.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The history row's id; the decision names it as its reference, for staff.
    pub id: String,
    name_ref: String,
    ip_ref: String,
    network: String,
    client: IpAddr,
    position: Option<Position>,
    device_ref: Option<String>,
    device_lookups: Vec<String>,
    staff: bool,
    counts: SourceCounts,
}

impl Attempt {
    /// Makes the references of an attempt and reads the counts about its source.
    pub async fn begin(
        state: &AppState,
        keyring: &Keyring,
        name: &LoginName,
        client: IpAddr,
        device: Option<&DeviceId>,
        now_ms: i64,
    ) -> Result<Attempt, ApiError> {
        let name_ref = reference(keyring, NAME_LABEL, &name.index_form())?;
        let ip_ref = reference(keyring, IP_LABEL, &client.to_string())?;
        let (device_ref, device_lookups) = match device {
            Some(device) => (
                Some(reference(keyring, DEVICE_LABEL, &device.0)?),
                keyring.blind_indexes_for_lookup(DEVICE_LABEL, &device.0),
            ),
            None => (None, Vec::new()),
        };
        let settings = &state.settings.risk.login;
        let position = settings
            .regions_file
            .as_deref()
            .and_then(regions::regions)
            .and_then(|map| map.position(client));
        let source = SignInSource {
            name_ref: &name_ref,
            ip_ref: &ip_ref,
            device_refs: &device_lookups,
        };
        let counts = state
            .store
            .risk_sign_in_source_counts(&source, WINDOWS, None, now_ms)
            .await?;
        Ok(Attempt {
            id: uuid::Uuid::now_v7().to_string(),
            name_ref,
            ip_ref,
            network: network_of(client),
            client,
            position,
            device_ref,
            device_lookups,
            staff: matches!(name, LoginName::Staff(_)),
            counts,
        })
    }

    /// How the request came: `staff`, `app` (it named its device) or `web`.
    fn channel(&self) -> &'static str {
        match (self.staff, &self.device_ref) {
            (true, _) => "staff",
            (false, Some(_)) => "app",
            (false, None) => "web",
        }
    }

    /// The facts the source alone gives (no account, no secret).
    fn source_facts(&self) -> LoginFacts {
        LoginFacts {
            staff: self.staff,
            failures_15m: self.counts.name_failures,
            ip_failures_15m: self.counts.ip_failures,
            device_accounts_30d: self.counts.device_accounts,
            ip_accounts_1h: self.counts.ip_other_names + 1,
            ..LoginFacts::default()
        }
    }

    /// Whether the built-in rules refuse the source before the secret is checked.
    pub fn screened_out(&self, settings: &LoginSettings) -> bool {
        let mut facts = Facts::default();
        if let Err(error) = self.source_facts().apply(&mut facts) {
            tracing::error!(error = %error, "login facts not set");
        }
        let mut decision = Decision::allow();
        for reason in reasons(settings, &facts) {
            decision.add(reason);
        }
        decision.verdict == Verdict::Deny
    }

    async fn decide(
        &self,
        state: &AppState,
        account_id: &str,
        login: &LoginFacts,
        now_ms: i64,
    ) -> Result<Assessment, ApiError> {
        let operation = Operation {
            reference: Some(&self.id),
            device_ref: self.device_ref.as_deref(),
            client_ip: Some(self.client),
            ..Operation::new(OperationKind::SignIn, account_id, self.channel())
        };
        Ok(assess_sign_in(state, &operation, login, now_ms).await?)
    }

    /// Refuses the attempt before its secret is checked: records the decision and the
    /// attempt, raises a `credential-stuffing` security event, and returns the answer
    /// (`INSPAY-RISK-001`, whatever the name and secret).
    pub async fn refuse_early(
        &self,
        state: &AppState,
        name: &LoginName,
        now_ms: i64,
    ) -> Result<ApiError, ApiError> {
        // For staff reading the decision: the account the name belongs to, if any. The answer
        // does not depend on it.
        let account = state.store.account_find(&state.keyring(), name).await?;
        let account_id = account.as_ref().map_or("", |account| account.id.as_str());
        let assessment = self
            .decide(state, account_id, &self.source_facts(), now_ms)
            .await?;
        self.record(
            state,
            (!account_id.is_empty()).then_some(account_id),
            SignInOutcome::Denied,
            None,
            Some(&assessment.id),
            None,
            now_ms,
        )
        .await?;
        crate::defence::record(
            state,
            crate::defence::Seen {
                kind: "credential-stuffing",
                app_id: None,
                account_id: None,
                client: Some(self.client),
                route: Some("/v1/sign-in"),
                detail: "sign-ins refused before the secret was checked: failures or many login names from one address",
            },
        )
        .await;
        Ok(ApiError::new(ErrorCode::RiskDenied).cause(format!(
            "sign-in refused by risk decision {}",
            assessment.id
        )))
    }

    /// Decides on an attempt whose secret was right, with the account's own history. Purges
    /// history older than the retention, a bounded number of rows at a time.
    pub async fn decide_accepted(
        &self,
        state: &AppState,
        account_id: &str,
        now_ms: i64,
    ) -> Result<Assessment, ApiError> {
        let settings = &state.settings.risk.login;
        let store = &state.store;
        let history: AccountSignIns = store
            .risk_sign_in_account(account_id, &self.device_lookups, &self.network)
            .await?;
        let others = store
            .risk_sign_in_device_accounts(
                &self.device_lookups,
                now_ms - WINDOWS.device_ms,
                Some(account_id),
            )
            .await?;
        let login = LoginFacts {
            new_device: history.any_completed && !history.device_known,
            new_region: history.any_completed && !history.network_known,
            travel_kmh: travel_kmh(
                history.previous_position,
                self.position,
                settings.travel_distance_km_min,
                now_ms,
            ),
            device_accounts_30d: if self.device_lookups.is_empty() {
                0
            } else {
                others + 1
            },
            ..self.source_facts()
        };
        let assessment = self.decide(state, account_id, &login, now_ms).await?;
        let before_ms = now_ms - settings.history_days * DAY_MS;
        if let Err(error) = store.risk_sign_ins_purge(before_ms, PURGE_ROWS_MAX).await {
            tracing::error!(error = %error, "old sign-in history not purged");
        }
        Ok(assessment)
    }

    /// Records the attempt in the sign-in history.
    #[allow(clippy::too_many_arguments)]
    pub async fn record(
        &self,
        state: &AppState,
        account_id: Option<&str>,
        outcome: SignInOutcome,
        flow_id: Option<&str>,
        decision_id: Option<&str>,
        requirement: Option<Requirement>,
        now_ms: i64,
    ) -> Result<(), ApiError> {
        state
            .store
            .risk_sign_in_record(&NewSignIn {
                id: &self.id,
                at_ms: now_ms,
                account_id,
                name_ref: &self.name_ref,
                device_ref: self.device_ref.as_deref(),
                ip_ref: &self.ip_ref,
                network: &self.network,
                position_e4: self.position.map(Position::to_e4),
                outcome,
                flow_id,
                decision_id,
                extra_factor: requirement.map(Requirement::name),
            })
            .await?;
        Ok(())
    }

    /// Records a refusal after the secret was right (answered like a wrong secret) and raises
    /// a `sign-in-denied` security event.
    pub async fn denied_after_secret(
        &self,
        state: &AppState,
        account_id: &str,
        decision_id: &str,
        now_ms: i64,
    ) -> Result<(), ApiError> {
        self.record(
            state,
            Some(account_id),
            SignInOutcome::Denied,
            None,
            Some(decision_id),
            None,
            now_ms,
        )
        .await?;
        crate::defence::record(
            state,
            crate::defence::Seen {
                kind: "sign-in-denied",
                app_id: None,
                account_id: Some(account_id),
                client: Some(self.client),
                route: Some("/v1/sign-in"),
                detail: "a sign-in with a right first factor was refused by the risk engine",
            },
        )
        .await;
        Ok(())
    }
}

/// What the sign-in flow `flow_id` still needs, if its risk decision asked for more.
pub async fn requirement_of_flow(
    state: &AppState,
    flow_id: &str,
) -> Result<Option<Requirement>, ApiError> {
    Ok(state
        .store
        .risk_sign_in_of_flow(flow_id)
        .await?
        .and_then(|row| row.extra_factor)
        .and_then(|name| Requirement::parse(&name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(login: LoginFacts, idle_days: i64) -> Facts {
        let mut facts = Facts::default();
        login.apply(&mut facts).expect("catalogue fields");
        facts
            .set("account.idle_days", Fact::Int(idle_days))
            .expect("idle");
        facts
    }

    fn rules(login: LoginFacts, idle_days: i64) -> Vec<String> {
        reasons(&LoginSettings::default(), &facts(login, idle_days))
            .into_iter()
            .map(|reason| reason.rule)
            .collect()
    }

    /// Each built-in rule fires past its threshold and not before; the defaults ask a step-up
    /// for a new device, region or a long pause, review for impossible travel and a shared
    /// device, and deny for stuffing.
    #[test]
    fn built_in_login_rules_fire_past_their_thresholds() {
        assert!(rules(LoginFacts::default(), 0).is_empty());
        let quiet = LoginFacts {
            travel_kmh: 900.0,
            failures_15m: 2,
            ip_failures_15m: 19,
            device_accounts_30d: 3,
            ip_accounts_1h: 20,
            ..LoginFacts::default()
        };
        assert!(rules(quiet, 89).is_empty());
        let loud = LoginFacts {
            new_device: true,
            new_region: true,
            travel_kmh: 901.0,
            failures_15m: 3,
            ip_failures_15m: 20,
            device_accounts_30d: 4,
            ip_accounts_1h: 21,
            staff: false,
        };
        assert_eq!(
            rules(loud, 90),
            [
                "login.new-device",
                "login.new-region",
                "login.impossible-travel",
                "login.long-unused",
                "login.name-failures",
                "login.shared-device",
                "login.credential-stuffing",
                "login.many-accounts",
            ]
        );
        let verdicts: Vec<Verdict> = reasons(&LoginSettings::default(), &facts(loud, 90))
            .into_iter()
            .map(|reason| reason.verdict)
            .collect();
        let sms = Verdict::StepUp(StepUpFactor::SmsCode);
        assert_eq!(
            verdicts,
            [
                sms,
                sms,
                Verdict::Review,
                sms,
                sms,
                Verdict::Review,
                Verdict::Deny,
                Verdict::Deny
            ]
        );
    }

    /// A rule set to `allow` is off.
    #[test]
    fn a_rule_set_to_allow_is_off() {
        let settings = LoginSettings {
            new_device: crate::risk::settings::RuleVerdict(Verdict::Allow),
            ..LoginSettings::default()
        };
        let login = LoginFacts {
            new_device: true,
            ..LoginFacts::default()
        };
        assert!(reasons(&settings, &facts(login, 0)).is_empty());
    }

    /// Network regions are the /16 and /48 prefixes, IPv4-mapped IPv6 counted as IPv4.
    #[test]
    fn regions_are_prefixes() {
        let region = |ip: &str| network_of(ip.parse().expect("ip"));
        assert_eq!(region("203.0.113.77"), "203.0.0.0/16");
        assert_eq!(region("::ffff:203.0.113.77"), "203.0.0.0/16");
        assert_eq!(region("2001:db8:1:2:3::9"), "2001:db8:1::/48");
    }

    /// Speeds come from the positions and the time between; near or unknown positions give 0,
    /// and sign-ins a few seconds apart count as a minute apart.
    #[test]
    fn travel_speed() {
        let beijing = Position {
            latitude: 39.9042,
            longitude: 116.4074,
        };
        let shanghai = Some(Position {
            latitude: 31.2304,
            longitude: 121.4737,
        });
        let (latitude, longitude) = beijing.to_e4();
        let hour = 3_600_000;
        let previous = Some((0, latitude, longitude));
        let speed = travel_kmh(previous, shanghai, 300.0, hour);
        assert!((1_050.0..1_090.0).contains(&speed), "{speed}");
        assert_eq!(travel_kmh(previous, shanghai, 300.0, 10 * hour) as i64, 106);
        assert!(travel_kmh(previous, shanghai, 300.0, 1_000) > 60_000.0);
        assert_eq!(travel_kmh(previous, Some(beijing), 300.0, hour), 0.0);
        assert_eq!(travel_kmh(None, shanghai, 300.0, hour), 0.0);
        assert_eq!(travel_kmh(previous, None, 300.0, hour), 0.0);
        assert_eq!(travel_kmh(previous, shanghai, 2_000.0, hour), 0.0);
    }

    /// Verdicts map to what a sign-in needs; staff need nothing more.
    #[test]
    fn verdicts_map_to_requirements() {
        let sms = Verdict::StepUp(StepUpFactor::SmsCode);
        let key = Verdict::StepUp(StepUpFactor::DeviceKey);
        assert_eq!(Requirement::of(Verdict::Allow, false), None);
        assert_eq!(Requirement::of(sms, false), Some(Requirement::IdNumber));
        assert_eq!(
            Requirement::of(Verdict::Review, false),
            Some(Requirement::IdNumber)
        );
        assert_eq!(Requirement::of(key, false), Some(Requirement::DeviceKey));
        assert_eq!(Requirement::of(key, true), None);
        assert_eq!(Requirement::parse("id-number"), Some(Requirement::IdNumber));
        assert_eq!(Requirement::parse("password"), None);
    }

    /// Device ids are bounded and plain.
    #[test]
    fn device_ids_are_checked() {
        assert!(DeviceId::parse("0193a3c4-9c32-7e44-8f5a-6b7c8d9eafb0").is_ok());
        assert!(DeviceId::parse("short").is_err());
        assert!(DeviceId::parse(&"a".repeat(65)).is_err());
        assert!(DeviceId::parse("has space in it, sixteen+").is_err());
    }
}
