//! Risk decisions on fund operations (issue 6 items 1, 3, 4): the built-in rules of `[risk]`,
//! the behaviour model and the rule packs in force each give reasons; the strictest verdict
//! wins; every decision is recorded with its reasons under a record MAC; operations that go
//! ahead are learned into the customer's baseline, held or refused ones are not.

use crate::helpers::{TestApp, default_fund_rules, spawn_apps_with};
use inspay_risk::decision::{ReasonSource, StepUpFactor, Verdict};
use inspay_risk::pack::OperationKind;
use inspay_server::risk::assess::{Assessment, Operation, assess};
use inspay_store::risk::RiskDecisionFilter;

/// 2026-11-26 00:00 in Beijing (a Thursday).
const MIDNIGHT: i64 = 1_795_622_400_000;
const HOUR: i64 = 3_600_000;

fn premium<'a>(account: &'a str, amount_fen: i64) -> Operation<'a> {
    Operation {
        amount_fen,
        product: "term-life",
        ..Operation::new(OperationKind::PremiumPayment, account, "app")
    }
}

async fn decide(app: &TestApp, operation: Operation<'_>, at_ms: i64) -> Assessment {
    assess(&app.state, &operation, at_ms)
        .await
        .expect("assessed")
}

fn rules(assessment: &Assessment) -> Vec<&str> {
    assessment.decision.rule_ids()
}

async fn observations(app: &TestApp) -> i64 {
    app.state
        .store
        .risk_observations_count()
        .await
        .expect("count")
}

/// req: 5.3.3.4-a
/// req: 5.3.3.4-b
/// Amount tiers raise the authentication required, night-time large amounts need a step-up,
/// and the count and sum of recent operations send the next one to review; an ordinary
/// premium is allowed and learned, a held one is not learned.
#[tokio::test]
async fn built_in_rules_decide_by_amount_hour_and_velocity() {
    for app in spawn_apps_with(default_fund_rules).await {
        let label = app.label;
        let afternoon = MIDNIGHT + 14 * HOUR;
        let ordinary = decide(&app, premium("acc-a", 10_000), afternoon).await;
        assert_eq!(ordinary.decision.verdict, Verdict::Allow, "{label}");
        assert_eq!(observations(&app).await, 1, "{label}: learned");

        let tier_1 = decide(&app, premium("acc-b", 600_000), afternoon).await;
        assert_eq!(
            tier_1.decision.verdict,
            Verdict::StepUp(StepUpFactor::SmsCode),
            "{label}"
        );
        assert_eq!(rules(&tier_1), ["txn.amount-tier-1"], "{label}");

        let before = observations(&app).await;
        let tier_2 = decide(&app, premium("acc-c", 30_000_000), afternoon).await;
        assert_eq!(tier_2.decision.verdict, Verdict::Review, "{label}");
        assert!(rules(&tier_2).contains(&"txn.amount-tier-2"), "{label}");
        assert_eq!(
            observations(&app).await,
            before,
            "{label}: a held operation is not learned"
        );

        let night = decide(&app, premium("acc-d", 300_000), MIDNIGHT + 2 * HOUR).await;
        assert_eq!(
            night.decision.verdict,
            Verdict::StepUp(StepUpFactor::SmsCode),
            "{label}"
        );
        assert_eq!(rules(&night), ["txn.night"], "{label}");

        for minute in 0..5 {
            let allowed = decide(&app, premium("acc-e", 10_000), afternoon + minute * 60_000).await;
            assert!(
                !rules(&allowed).contains(&"txn.velocity-count"),
                "{label}: payment {minute}"
            );
        }
        let sixth = decide(&app, premium("acc-e", 10_000), afternoon + 5 * 60_000).await;
        assert!(rules(&sixth).contains(&"txn.velocity-count"), "{label}");
        assert_eq!(sixth.decision.verdict, Verdict::Review, "{label}");
        // An hour later the count has fallen out of the window.
        let later = decide(&app, premium("acc-e", 10_000), afternoon + 2 * HOUR).await;
        assert!(!rules(&later).contains(&"txn.velocity-count"), "{label}");
        app.stop().await;
    }
}

/// req: 5.3.3.4-b
/// A payout to an account bound shortly before it, a claim soon after the policy started and
/// a refund to an account other than the paying one each wait for review.
#[tokio::test]
async fn payout_claim_and_refund_patterns_go_to_review() {
    for app in spawn_apps_with(default_fund_rules).await {
        let label = app.label;
        let now = MIDNIGHT + 10 * HOUR;
        let payout = Operation {
            kind: OperationKind::ClaimPayout,
            payout_account_bound_at_ms: Some(now - 2 * HOUR),
            policy_started_at_ms: Some(now - 400 * 24 * HOUR),
            ..premium("acc-p", 80_000)
        };
        let fresh_account = decide(&app, payout, now).await;
        assert_eq!(rules(&fresh_account), ["txn.payout-account-new"], "{label}");
        assert_eq!(fresh_account.decision.verdict, Verdict::Review, "{label}");

        let early_claim = Operation {
            payout_account_bound_at_ms: Some(now - 90 * 24 * HOUR),
            policy_started_at_ms: Some(now - 3 * 24 * HOUR),
            account_id: "acc-q",
            ..payout
        };
        assert_eq!(
            rules(&decide(&app, early_claim, now).await),
            ["txn.claim-soon-after-start"],
            "{label}"
        );
        let settled = Operation {
            policy_started_at_ms: Some(now - 90 * 24 * HOUR),
            ..early_claim
        };
        assert!(
            rules(&decide(&app, settled, now).await).is_empty(),
            "{label}"
        );

        let refund = Operation {
            kind: OperationKind::Refund,
            refund_to_other_account: true,
            ..premium("acc-r", 5_000)
        };
        assert_eq!(
            rules(&decide(&app, refund, now).await),
            ["txn.refund-to-other-account"],
            "{label}"
        );
        app.stop().await;
    }
}

/// req: 5.3.3.2
/// A customer who always pays about 100 yuan in the afternoon gets a risk prompt from the
/// model for 2,500 yuan, an amount below every built-in tier.
#[tokio::test]
async fn the_model_prompts_on_a_deviation_from_the_customers_own_history() {
    for app in spawn_apps_with(default_fund_rules).await {
        let label = app.label;
        for day in 0..12 {
            let amount = 10_000 + (day % 3) * 150;
            let at = MIDNIGHT - (12 - day) * 24 * HOUR + 14 * HOUR + (day % 4) * 600_000;
            let usual = decide(&app, premium("acc-m", amount), at).await;
            assert_eq!(usual.decision.verdict, Verdict::Allow, "{label}: day {day}");
        }
        let stored = app
            .state
            .store
            .risk_baseline("customer", "acc-m")
            .await
            .expect("read")
            .expect("the customer's baseline is kept");
        assert_eq!(stored.observations, 12, "{label}");
        let spike = decide(&app, premium("acc-m", 250_000), MIDNIGHT + 15 * HOUR).await;
        assert!(
            spike
                .decision
                .reasons
                .iter()
                .any(|reason| reason.source == ReasonSource::Model
                    && reason.rule == "model.amount-deviation"),
            "{label}: {:?}",
            spike.decision
        );
        assert_ne!(spike.decision.verdict, Verdict::Allow, "{label}");
        // Another customer paying the same amount with no history is not prompted by it.
        let newcomer = decide(&app, premium("acc-n", 250_000), MIDNIGHT + 15 * HOUR).await;
        assert!(
            !rules(&newcomer).contains(&"model.amount-deviation"),
            "{label}"
        );
        app.stop().await;
    }
}

/// req: 6.3.7
/// req: 5.3.3.1
/// A rule of an installed pack adds its reason (naming the pack and version) and can deny; the
/// decision is recorded with every reason, and listed for staff.
#[tokio::test]
async fn pack_rules_join_the_decision_and_decisions_are_recorded() {
    for app in spawn_apps_with(default_fund_rules).await {
        let label = app.label;
        let manifest = r#"[pack]
id = "weekend"
version = 1
inputs = ["op.amount_fen", "op.weekday"]

[[rule]]
id = "large-on-weekend"
operations = ["premium-payment"]
when = "op.amount_fen > 100000 && op.weekday >= 6"
verdict = "deny"
note = "large premium at the weekend"
"#;
        crate::helpers::install_signed_pack(&app, manifest).await;
        let keyring = app.state.keyring();
        let saturday = MIDNIGHT + 2 * 24 * HOUR + 11 * HOUR;
        let denied = decide(&app, premium("acc-w", 150_000), saturday).await;
        assert_eq!(denied.decision.verdict, Verdict::Deny, "{label}");
        assert_eq!(
            denied.decision.reasons[0].source,
            ReasonSource::Pack {
                pack: "weekend".into(),
                version: 1
            },
            "{label}"
        );
        let thursday = decide(&app, premium("acc-w", 150_000), MIDNIGHT + 11 * HOUR).await;
        assert_eq!(thursday.decision.verdict, Verdict::Allow, "{label}");

        let listed = app
            .state
            .store
            .risk_decisions(
                &keyring,
                RiskDecisionFilter {
                    account_id: Some("acc-w"),
                    verdict: None,
                    alerts_only: false,
                    since_ms: 0,
                    limit: 10,
                },
            )
            .await
            .expect("decisions");
        assert_eq!(listed.len(), 2, "{label}");
        let recorded = listed
            .iter()
            .find(|row| row.id == denied.id)
            .expect("the denial is recorded");
        assert_eq!(recorded.verdict, "deny");
        assert!(recorded.alert);
        assert!(recorded.reasons_json.contains("large-on-weekend"));
        assert_eq!(recorded.operation, "premium-payment");
        app.stop().await;
    }
}

/// req: 5.3.3.2
/// The scheduled job rebuilds every baseline from the stored history when the last training is
/// older than `risk.train_interval_hours`, and leaves fresh ones alone.
#[tokio::test]
async fn the_scheduled_job_rebuilds_baselines_when_due() {
    for app in spawn_apps_with(default_fund_rules).await {
        let label = app.label;
        for day in 0..6 {
            let at = MIDNIGHT - (6 - day) * 24 * HOUR + 14 * HOUR;
            decide(&app, premium("acc-t", 10_000 + day * 10), at).await;
        }
        let store = &app.state.store;
        assert!(
            store
                .risk_baseline("global", "all")
                .await
                .expect("read")
                .is_none(),
            "{label}: no training yet"
        );
        inspay_server::jobs::train_baselines(app.state.clone()).await;
        let global = store
            .risk_baseline("global", "all")
            .await
            .expect("read")
            .expect("trained");
        assert_eq!(global.observations, 6, "{label}");
        let product = store
            .risk_baseline("product", "term-life")
            .await
            .expect("read")
            .expect("the product's baseline");
        assert_eq!(product.observations, 6, "{label}");
        let customer = store
            .risk_baseline("customer", "acc-t")
            .await
            .expect("read")
            .expect("the customer's baseline");
        assert_eq!(customer.observations, 6, "{label}");
        // Fresh: the next check does not train again.
        inspay_server::jobs::train_baselines(app.state.clone()).await;
        let again = store
            .risk_baseline("global", "all")
            .await
            .expect("read")
            .expect("kept");
        assert_eq!(again.updated_at_ms, global.updated_at_ms, "{label}");
        app.stop().await;
    }
}

/// Security events from the edge feed the same engine (clause 5.4.3.2): signature failures,
/// replays, injection-shaped input and requests for unknown routes from the request's address
/// or application within 10 minutes become the `edge.*` facts, and past
/// `risk.edge_events_10m_max` (10) the operation goes to review with an alert. Older events,
/// and events from another address, do not count. A request for an unknown route is itself
/// recorded as a `route-unknown` event.
/// req: 5.4.3.2, 5.3.3.1
#[tokio::test]
async fn security_events_from_the_edge_feed_the_engine() {
    for app in spawn_apps_with(default_fund_rules).await {
        let store = &app.state.store;
        let account = "acc-edge".to_string();
        let now = app.state.now_ms();
        let hostile: std::net::IpAddr = "203.0.113.9".parse().expect("ip");
        let event =
            |kind: &str, ip: &str, at_ms: i64| inspay_store::security_events::SecurityEvent {
                id: uuid::Uuid::now_v7().to_string(),
                kind: kind.to_string(),
                app_id: None,
                account_id: None,
                client_ip: Some(ip.to_string()),
                route: None,
                detail: "test".to_string(),
                alert: false,
                at_ms,
            };
        for (kind, count) in [
            ("signature-invalid", 4),
            ("nonce-replayed", 3),
            ("injection-shaped-input", 2),
        ] {
            for _ in 0..count {
                store
                    .security_event_record(&event(kind, "203.0.113.9", now - 60_000))
                    .await
                    .expect("event");
            }
        }
        // Outside the window, and from another address: not counted.
        for _ in 0..20 {
            store
                .security_event_record(&event(
                    "signature-invalid",
                    "203.0.113.9",
                    now - 11 * 60_000,
                ))
                .await
                .expect("old event");
            store
                .security_event_record(&event("signature-invalid", "198.51.100.1", now))
                .await
                .expect("other event");
        }
        let from = |ip| Operation {
            client_ip: Some(ip),
            ..premium(&account, 10_000)
        };
        let calm = decide(&app, from(hostile), now).await;
        let int = |assessment: &Assessment, name: &str| match assessment.facts.get(name) {
            Some(inspay_risk::pack::Fact::Int(value)) => *value,
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(
            int(&calm, "edge.signature_failures_10m"),
            4,
            "{}",
            app.label
        );
        assert_eq!(int(&calm, "edge.replays_10m"), 3);
        assert_eq!(int(&calm, "edge.injection_10m"), 2);
        assert!(
            !rules(&calm).contains(&"edge.hostile-source"),
            "9 is under 10"
        );

        // One request for a path no route has makes ten.
        let response = app
            .client
            .get(app.url("/wp-admin/setup.php"))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 404);
        let seen = store
            .security_events_list(now - 1, 100)
            .await
            .expect("events");
        let unknown: Vec<_> = seen
            .iter()
            .filter(|event| event.kind == "route-unknown")
            .collect();
        assert_eq!(unknown.len(), 1, "{}", app.label);
        let loopback = unknown[0].client_ip.clone().expect("client address");
        for _ in 0..9 {
            store
                .security_event_record(&event("signature-invalid", &loopback, now))
                .await
                .expect("event");
        }
        let probing = decide(&app, from(loopback.parse().expect("ip")), now + 1).await;
        assert_eq!(int(&probing, "edge.not_found_10m"), 1, "{}", app.label);
        assert!(
            rules(&probing).contains(&"edge.hostile-source"),
            "{}",
            app.label
        );
        assert_eq!(probing.decision.verdict, Verdict::Review, "{}", app.label);
        let elsewhere = decide(&app, from("192.0.2.44".parse().expect("ip")), now + 2).await;
        assert!(!rules(&elsewhere).contains(&"edge.hostile-source"));
        app.stop().await;
    }
}
