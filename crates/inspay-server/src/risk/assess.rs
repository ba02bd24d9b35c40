//! One risk decision (issue 6 items 1, 3 and 4; clauses 5.3.3.1, 5.3.3.2, 5.3.3.4): the facts
//! about an operation are gathered once, then the built-in rules of `[risk]`, the behaviour
//! model and every rule pack in force each add their reasons; the strictest verdict wins. The
//! decision is recorded (under a record MAC) with all its reasons for staff, and an operation
//! that goes ahead is learned into the customer's baseline. Sign-ins (issue 6 item 2) come
//! through [`assess_sign_in`] with the facts the sign-in flow gathered; the built-in rules of
//! `[risk.login]` decide on them ([`super::login`]), and no model runs.
//!
//! What is incremental and what is scheduled: each operation that goes ahead updates its
//! customer's and its device's baselines at once; product and global baselines, which every
//! operation of a product would otherwise rewrite, are rebuilt by training
//! (`inspay risk train`). Two operations of one customer decided at the same instant may each
//! learn from the baseline before the other (the last write wins); the next training rebuilds
//! the customer from the stored history, so nothing is lost for good.

use super::login::LoginFacts;
use crate::state::AppState;
use inspay_risk::decision::{Decision, Reason, ReasonSource, StepUpFactor, Verdict};
use inspay_risk::model::{
    self, Baselines, CustomerBaseline, DeviceUse, GlobalBaseline, Observation, ProductBaseline,
};
use inspay_risk::pack::{Fact, Facts, OperationKind};
use inspay_store::StoreError;
use inspay_store::risk::{NewRiskDecision, RiskBaselineRow, RiskObservation};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;
const CHINA_OFFSET_MS: i64 = 8 * HOUR_MS;

/// An operation about to run, as the engine sees it.
#[derive(Debug, Clone, Copy)]
pub struct Operation<'a> {
    /// What it is.
    pub kind: OperationKind,
    /// The customer (or staff member) it is for.
    pub account_id: &'a str,
    /// The amount in fen (0 when no money moves).
    pub amount_fen: i64,
    /// The product code of the policy concerned (empty when none).
    pub product: &'a str,
    /// The id of the operation's own record (payment, claim, refund), for staff.
    pub reference: Option<&'a str>,
    /// How the request came: `app`, `web`, `partner`, `staff`.
    pub channel: &'a str,
    /// The server's SM3-HMAC of the device id, when the request names a device.
    pub device_ref: Option<&'a str>,
    /// For payouts: when the payout account was bound (unix ms).
    pub payout_account_bound_at_ms: Option<i64>,
    /// For claims: when the policy started (unix ms).
    pub policy_started_at_ms: Option<i64>,
    /// For refunds: the refund goes to an account other than the one that paid.
    pub refund_to_other_account: bool,
    /// The address the request came from, when it came through a listener.
    pub client_ip: Option<std::net::IpAddr>,
    /// The client application that signed the request, if it was signed.
    pub app_id: Option<&'a str>,
}

impl<'a> Operation<'a> {
    /// An operation of `kind` by `account_id` through `channel`, moving no money and with
    /// none of the optional facts; set the rest with struct update syntax.
    pub fn new(kind: OperationKind, account_id: &'a str, channel: &'a str) -> Self {
        Self {
            kind,
            account_id,
            amount_fen: 0,
            product: "",
            reference: None,
            channel,
            device_ref: None,
            payout_account_bound_at_ms: None,
            policy_started_at_ms: None,
            refund_to_other_account: false,
            client_ip: None,
            app_id: None,
        }
    }
}

/// A recorded decision.
#[derive(Debug, Clone)]
pub struct Assessment {
    /// The decision's id (in `risk_decisions`).
    pub id: String,
    /// The verdict and its reasons.
    pub decision: Decision,
    /// The facts the decision was taken on.
    pub facts: Facts,
    /// What the operation teaches the model once it goes ahead (allow and step-up verdicts of
    /// fund operations); [`assess`] has written it already, [`assess_deferred`] leaves it to
    /// the caller.
    pub learning: Option<Learning>,
}

fn model_kind(kind: OperationKind) -> Option<model::OperationKind> {
    match kind {
        OperationKind::PremiumPayment => Some(model::OperationKind::PremiumPayment),
        OperationKind::ClaimPayout => Some(model::OperationKind::ClaimPayout),
        OperationKind::Refund => Some(model::OperationKind::Refund),
        OperationKind::Cancellation => Some(model::OperationKind::Cancellation),
        OperationKind::SignIn | OperationKind::PayoutAccountChange => None,
    }
}

/// The day of the week in China time, 1 (Monday) to 7 (Sunday).
pub fn china_weekday(at_ms: i64) -> i64 {
    // 1970-01-01 was a Thursday.
    ((at_ms + CHINA_OFFSET_MS).div_euclid(DAY_MS) + 3).rem_euclid(7) + 1
}

fn set(facts: &mut Facts, name: &str, value: Fact) {
    // The names are the catalogue's own; a mismatch is a bug caught by the tests.
    if let Err(error) = facts.set(name, value) {
        tracing::error!(error = %error, "risk fact not set");
    }
}

fn builtin(rule: &str, verdict: Verdict, note: &str) -> Reason {
    Reason {
        rule: rule.to_owned(),
        source: ReasonSource::Builtin,
        verdict,
        score: None,
        note: note.to_owned(),
    }
}

/// Which security events count toward which `edge.*` fact.
const EDGE_KINDS: [(&str, &[&str]); 4] = [
    (
        "edge.signature_failures_10m",
        &["signature-invalid", "unknown-application"],
    ),
    ("edge.replays_10m", &["nonce-replayed"]),
    ("edge.injection_10m", &["injection-shaped-input"]),
    ("edge.not_found_10m", &["route-unknown"]),
];

/// Sets the `edge.*` facts: the security events of the last 10 minutes from the request's
/// address or application (clause 5.4.3.2).
async fn edge_facts(
    state: &AppState,
    operation: &Operation<'_>,
    facts: &mut Facts,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ip = operation
        .client_ip
        .filter(|ip| !ip.is_unspecified())
        .map(|ip| ip.to_string());
    let counts = state
        .store
        .security_event_counts(ip.as_deref(), operation.app_id, now_ms - 10 * 60_000)
        .await?;
    for (fact, kinds) in EDGE_KINDS {
        let total = counts
            .iter()
            .filter(|(kind, _)| kinds.contains(&kind.as_str()))
            .map(|(_, count)| count)
            .sum();
        set(facts, fact, Fact::Int(total));
    }
    Ok(())
}

/// The built-in rule every operation shares: a source that has just been probing the edge
/// (failed signatures, replays, injection-shaped input, unknown routes) goes to review.
fn edge_reason(settings: &super::settings::RiskSettings, facts: &Facts) -> Option<Reason> {
    let total: i64 = EDGE_KINDS
        .iter()
        .map(|(fact, _)| match facts.get(fact) {
            Some(Fact::Int(count)) => *count,
            _ => 0,
        })
        .sum();
    (total >= settings.edge_events_10m_max).then(|| {
        builtin(
            "edge.hostile-source",
            Verdict::Review,
            "security events from this address or application within 10 minutes",
        )
    })
}

/// The reasons the built-in rules of `[risk]` give for these facts.
pub fn builtin_reasons(
    settings: &super::settings::RiskSettings,
    operation: &Operation<'_>,
    facts: &Facts,
) -> Vec<Reason> {
    if operation.kind == OperationKind::SignIn {
        let mut reasons = super::login::reasons(&settings.login, facts);
        reasons.extend(edge_reason(settings, facts));
        return reasons;
    }
    let mut reasons: Vec<Reason> = edge_reason(settings, facts).into_iter().collect();
    if model_kind(operation.kind).is_none() {
        return reasons;
    }
    let amount = operation.amount_fen;
    let sms = Verdict::StepUp(StepUpFactor::SmsCode);
    if amount > settings.amount_review_fen {
        reasons.push(builtin(
            "txn.amount-tier-2",
            Verdict::Review,
            "amount above the review tier",
        ));
    } else if amount > settings.amount_step_up_fen {
        reasons.push(builtin(
            "txn.amount-tier-1",
            sms,
            "amount above the step-up tier",
        ));
    }
    let hour = match facts.get("op.hour") {
        Some(Fact::Int(hour)) => *hour,
        _ => 12,
    };
    let [from, to] = settings.night_hours;
    if (i64::from(from)..i64::from(to)).contains(&hour) && amount > settings.night_amount_fen {
        reasons.push(builtin(
            "txn.night",
            sms,
            "amount above the night limit at night",
        ));
    }
    let int = |name: &str| match facts.get(name) {
        Some(Fact::Int(value)) => *value,
        _ => 0,
    };
    if int("txn.count_1h") >= settings.velocity_count_1h_max {
        reasons.push(builtin(
            "txn.velocity-count",
            Verdict::Review,
            "too many operations of this kind within an hour",
        ));
    }
    if int("txn.sum_fen_24h").saturating_add(amount) > settings.velocity_sum_24h_fen_max {
        reasons.push(builtin(
            "txn.velocity-sum",
            Verdict::Review,
            "too much moved within 24 hours",
        ));
    }
    let double = |name: &str| match facts.get(name) {
        Some(Fact::Double(value)) => *value,
        _ => -1.0,
    };
    let account_age = double("txn.payout_account_age_hours");
    if operation.kind == OperationKind::ClaimPayout
        && account_age >= 0.0
        && account_age < settings.payout_account_min_age_hours as f64
    {
        reasons.push(builtin(
            "txn.payout-account-new",
            Verdict::Review,
            "payout account bound shortly before the payout",
        ));
    }
    let policy_age = double("txn.claim_policy_age_days");
    if operation.kind == OperationKind::ClaimPayout
        && policy_age >= 0.0
        && policy_age < settings.claim_min_policy_age_days as f64
    {
        reasons.push(builtin(
            "txn.claim-soon-after-start",
            Verdict::Review,
            "claim soon after the policy started",
        ));
    }
    if operation.kind == OperationKind::Refund && operation.refund_to_other_account {
        reasons.push(builtin(
            "txn.refund-to-other-account",
            Verdict::Review,
            "refund to an account other than the paying one",
        ));
    }
    reasons
}

/// The baselines one operation is scored against, read from the store.
async fn baselines_for(
    state: &AppState,
    operation: &Operation<'_>,
) -> Result<(Baselines, Option<CustomerBaseline>, Option<DeviceUse>), StoreError> {
    let mut baselines = Baselines::default();
    let store = &state.store;
    let parse = |row: Option<RiskBaselineRow>| row.map(|row| row.body);
    let customer: Option<CustomerBaseline> = parse(
        store
            .risk_baseline("customer", operation.account_id)
            .await?,
    )
    .and_then(|body| serde_json::from_str(&body).ok());
    if let Some(customer) = &customer {
        baselines.insert_customer(operation.account_id, customer.clone());
    }
    if !operation.product.is_empty()
        && let Some(product) = parse(store.risk_baseline("product", operation.product).await?)
            .and_then(|body| serde_json::from_str::<ProductBaseline>(&body).ok())
    {
        baselines.insert_product(operation.product, product);
    }
    if let Some(global) = parse(store.risk_baseline("global", "all").await?)
        .and_then(|body| serde_json::from_str::<GlobalBaseline>(&body).ok())
    {
        baselines.set_global(global);
    }
    let mut device = None;
    if let Some(device_ref) = operation.device_ref
        && let Some(known) = parse(store.risk_baseline("device", device_ref).await?)
            .and_then(|body| serde_json::from_str::<DeviceUse>(&body).ok())
    {
        baselines.insert_device(device_ref, known.clone());
        device = Some(known);
    }
    Ok((baselines, customer, device))
}

/// Decides on `operation` at `now_ms`, records the decision, and learns the operation into the
/// customer's baseline if it goes ahead (allow or step-up).
pub async fn assess(
    state: &AppState,
    operation: &Operation<'_>,
    now_ms: i64,
) -> Result<Assessment, StoreError> {
    let mut assessment = decide(state, operation, None, now_ms).await?;
    if let Some(learning) = assessment.learning.take() {
        learn(state, &learning).await?;
    }
    Ok(assessment)
}

/// Decides as [`assess`] does, but leaves the learning to the caller: the fund routes learn
/// an operation only once it went ahead (the step-up proved, the money moved), so an attempt
/// that stopped short does not count in the customer's history.
pub async fn assess_deferred(
    state: &AppState,
    operation: &Operation<'_>,
    now_ms: i64,
) -> Result<Assessment, StoreError> {
    decide(state, operation, None, now_ms).await
}

/// Decides on a sign-in as [`assess`] does, with the `login.*` facts the sign-in flow gathered
/// ([`super::login`]); the built-in rules of `[risk.login]` and the packs' `sign-in` rules
/// apply. An empty `account_id` (a login name no account has) is recorded as no account.
pub async fn assess_sign_in(
    state: &AppState,
    operation: &Operation<'_>,
    login: &LoginFacts,
    now_ms: i64,
) -> Result<Assessment, StoreError> {
    decide(state, operation, Some(login), now_ms).await
}

async fn decide(
    state: &AppState,
    operation: &Operation<'_>,
    login: Option<&LoginFacts>,
    now_ms: i64,
) -> Result<Assessment, StoreError> {
    let settings = &state.settings.risk;
    let store = &state.store;
    let mut facts = Facts::default();
    set(
        &mut facts,
        "op.kind",
        Fact::Text(operation.kind.name().to_owned()),
    );
    set(&mut facts, "op.amount_fen", Fact::Int(operation.amount_fen));
    set(
        &mut facts,
        "op.hour",
        Fact::Int(i64::from(model::china_hour(now_ms))),
    );
    set(&mut facts, "op.weekday", Fact::Int(china_weekday(now_ms)));
    set(
        &mut facts,
        "op.product",
        Fact::Text(operation.product.to_owned()),
    );
    set(
        &mut facts,
        "op.channel",
        Fact::Text(operation.channel.to_owned()),
    );
    if let Some(account) = store.risk_account_facts(operation.account_id).await? {
        set(
            &mut facts,
            "account.age_days",
            Fact::Int((now_ms - account.created_at_ms).max(0) / DAY_MS),
        );
        if let Some(last) = account.last_login_at_ms {
            set(
                &mut facts,
                "account.idle_days",
                Fact::Int((now_ms - last).max(0) / DAY_MS),
            );
        }
    }
    if let Some(login) = login
        && let Err(error) = login.apply(&mut facts)
    {
        // The names are the catalogue's own; a mismatch is a bug caught by the tests.
        tracing::error!(error = %error, "login facts not set");
    }
    edge_facts(state, operation, &mut facts, now_ms).await?;
    let kind_name = operation.kind.name();
    let observed_kind = model_kind(operation.kind);
    if observed_kind.is_some() {
        let (count_1h, _) = store
            .risk_window(operation.account_id, kind_name, now_ms - HOUR_MS)
            .await?;
        let (count_24h, sum_24h) = store
            .risk_window(operation.account_id, kind_name, now_ms - DAY_MS)
            .await?;
        set(&mut facts, "txn.count_1h", Fact::Int(count_1h));
        set(&mut facts, "txn.count_24h", Fact::Int(count_24h));
        set(&mut facts, "txn.sum_fen_24h", Fact::Int(sum_24h));
    }
    let age = |since: Option<i64>, unit_ms: i64| {
        since.map_or(-1.0, |since| {
            (now_ms - since).max(0) as f64 / unit_ms as f64
        })
    };
    set(
        &mut facts,
        "txn.payout_account_age_hours",
        Fact::Double(age(operation.payout_account_bound_at_ms, HOUR_MS)),
    );
    set(
        &mut facts,
        "txn.claim_policy_age_days",
        Fact::Double(age(operation.policy_started_at_ms, DAY_MS)),
    );
    set(
        &mut facts,
        "txn.refund_to_other_account",
        Fact::Bool(operation.refund_to_other_account),
    );

    let mut decision = Decision::allow();
    let mut learned = None;
    if let Some(kind) = observed_kind {
        let observation = Observation::new(
            operation.account_id,
            operation.product,
            kind,
            operation.amount_fen,
            now_ms,
            operation.device_ref.map(str::to_owned),
        );
        let (baselines, customer, device) = baselines_for(state, operation).await?;
        let score = baselines.score(&observation);
        set(&mut facts, "model.total", Fact::Double(score.total));
        set(
            &mut facts,
            "model.amount_z",
            Fact::Double(score.amount_customer.max(score.amount_product)),
        );
        set(&mut facts, "model.hour_rarity", Fact::Double(score.hour));
        set(
            &mut facts,
            "model.new_device",
            Fact::Double(score.new_device),
        );
        set(
            &mut facts,
            "model.shared_device",
            Fact::Double(score.shared_device),
        );
        set(&mut facts, "model.velocity", Fact::Double(score.velocity));
        set(
            &mut facts,
            "model.history",
            Fact::Int(i64::from(score.history)),
        );
        for reason in score.reasons(&settings.model) {
            decision.add(reason);
        }
        learned = Some((observation, customer, device));
    }
    for reason in builtin_reasons(settings, operation, &facts) {
        decision.add(reason);
    }
    for pack in &state.risk().packs().packs {
        let outcome = pack.evaluate(operation.kind, &facts);
        for failure in &outcome.failures {
            tracing::warn!(
                pack = %pack.manifest().id,
                version = pack.manifest().version,
                rule = %failure.rule,
                error = %failure.error,
                "a rule failed to evaluate; its pack's on_error verdict applies"
            );
        }
        for reason in outcome.reasons {
            decision.add(reason);
        }
    }

    let id = uuid::Uuid::now_v7().to_string();
    let alert = matches!(decision.verdict, Verdict::Review | Verdict::Deny);
    let reasons_json = serde_json::to_string(&decision.reasons).unwrap_or_else(|_| "[]".into());
    let model_score = match facts.get("model.total") {
        Some(Fact::Double(total)) if learned.is_some() => Some(*total),
        _ => None,
    };
    let verdict_name = decision.verdict.name();
    let record = NewRiskDecision {
        id: &id,
        at_ms: now_ms,
        operation: kind_name,
        account_id: (!operation.account_id.is_empty()).then_some(operation.account_id),
        reference: operation.reference,
        verdict: &verdict_name,
        reasons_json: &reasons_json,
        model_score,
        alert,
    };
    store.risk_decision_record(&state.keyring(), record).await?;
    state.monitor().metrics().risk_decision(&verdict_name);
    // To the external risk-control system (clause 5.3.3.5), through the export outbox: a
    // failure to queue is logged, it does not undo the decision.
    if let Err(error) = crate::risk::export::enqueue_decision(state, &record).await {
        tracing::error!(
            target: "inspay::risk_export",
            decision = %id,
            error = %error,
            "risk decision not queued for the risk-control system"
        );
    }
    if alert {
        tracing::warn!(
            target: "inspay::risk_alert",
            decision = %id,
            operation = kind_name,
            verdict = %decision.verdict,
            rules = ?decision.rule_ids(),
            "risk decision needs attention"
        );
    }
    let learning = match learned {
        Some((observation, customer, device))
            if matches!(decision.verdict, Verdict::Allow | Verdict::StepUp(_)) =>
        {
            Some(learning(operation, &observation, customer, device, now_ms))
        }
        _ => None,
    };
    Ok(Assessment {
        id,
        decision,
        facts,
        learning,
    })
}

/// What an operation that goes ahead teaches the model: its observation and the customer's
/// and device's baselines updated with it, ready to write ([`learn`]).
#[derive(Debug, Clone)]
pub struct Learning {
    observation: RiskObservation,
    rows: Vec<RiskBaselineRow>,
}

/// Writes what `learning` holds, in one transaction: call it once the operation went ahead.
pub async fn learn(state: &AppState, learning: &Learning) -> Result<(), StoreError> {
    state
        .store
        .risk_learn(&learning.observation, &learning.rows)
        .await?;
    Ok(())
}

/// Prepares the history row and the updated baselines of an operation.
fn learning(
    operation: &Operation<'_>,
    observation: &Observation,
    customer: Option<CustomerBaseline>,
    device: Option<DeviceUse>,
    now_ms: i64,
) -> Learning {
    let stored = RiskObservation {
        account_id: operation.account_id.to_owned(),
        product: operation.product.to_owned(),
        kind: operation.kind.name().to_owned(),
        amount_fen: operation.amount_fen,
        at_ms: now_ms,
        device_ref: operation.device_ref.map(str::to_owned),
    };
    let mut customer = customer.unwrap_or_default();
    customer.update(observation);
    let mut rows = vec![RiskBaselineRow {
        subject_kind: "customer".to_owned(),
        subject: operation.account_id.to_owned(),
        body: serde_json::to_string(&customer).unwrap_or_default(),
        observations: i64::from(customer.count),
        updated_at_ms: now_ms,
    }];
    if let Some(device_ref) = operation.device_ref {
        let mut device = device.unwrap_or_default();
        device.update(model::account_fingerprint(operation.account_id));
        rows.push(RiskBaselineRow {
            subject_kind: "device".to_owned(),
            subject: device_ref.to_owned(),
            body: serde_json::to_string(&device).unwrap_or_default(),
            observations: i64::try_from(device.operations).unwrap_or(i64::MAX),
            updated_at_ms: now_ms,
        });
    }
    Learning {
        observation: stored,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Weekdays are counted in China time from Monday = 1.
    #[test]
    fn weekdays_are_china_time() {
        // 2026-11-23 00:30 in Beijing (a Monday) is 2026-11-22 16:30 UTC (a Sunday).
        let monday_early = 1_795_365_000_000;
        assert_eq!(china_weekday(monday_early), 1);
        assert_eq!(china_weekday(monday_early + 6 * DAY_MS), 7);
        assert_eq!(china_weekday(monday_early + 7 * DAY_MS), 1);
    }
}
