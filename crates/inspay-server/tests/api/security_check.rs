//! The scheduled security check: record MACs of every protected table, the audit chain and
//! its checkpoints, and the state of every data key, each failure raised as a security event
//! with an alert.

use crate::helpers::{TestApp, spawn_apps};
use inspay_core::money::Amount;
use inspay_core::policy::{PaymentFrequency, ProductTerms};
use inspay_core::sensitive::{IdNumber, LegalName, MobileNumber};
use inspay_kms::{KeyEvent, KeyPurpose};
use inspay_server::security_check::{self, SecurityCheckReport};
use inspay_store::funds::NewProduct;
use inspay_store::keys::Actor;
use inspay_store::persons::NewPerson;
use inspay_store::request_evidence::Evidence;
use inspay_store::risk::{NewRiskDecision, NewRiskHold};
use inspay_store::security_events::SecurityEvent;

const WHO: Actor<'static> = Actor {
    actor: "operator:test",
    request_id: "security-check-test",
};
const DAY_MS: i64 = 86_400_000;
const MOBILE: &str = "13900002222";
const ID_NUMBER: &str = "44030419900307123X";

/// Every table whose rows carry a record MAC, as the report names them.
const MAC_TABLES: [&str; 14] = [
    "persons",
    "products",
    "policies",
    "payments",
    "refunds",
    "claims",
    "payout_accounts",
    "payouts",
    "request_evidence",
    "risk_signers",
    "risk_decisions",
    "risk_holds",
    "ledger_transfers",
    "data_keys",
];

async fn security_events(app: &TestApp) -> Vec<SecurityEvent> {
    app.state
        .store
        .security_events_list(0, 1_000)
        .await
        .expect("security events")
}

fn of_kind<'a>(events: &'a [SecurityEvent], kind: &str) -> Vec<&'a SecurityEvent> {
    events.iter().filter(|event| event.kind == kind).collect()
}

fn assert_failed(report: &SecurityCheckReport, name: &str, first: &str, label: &str) {
    let check = report
        .check(name)
        .unwrap_or_else(|| panic!("{label}: no check {name}"));
    assert!(!check.passed, "{label}: {name} passed: {report:#?}");
    assert_eq!(check.findings, 1, "{label}: {name}: {check:?}");
    assert!(
        check.first_findings[0].starts_with(first),
        "{label}: {name}: {check:?}"
    );
}

/// On a fresh server every check runs and passes, every table that carries a record MAC is
/// covered, and no security event is raised.
/// req: 6.4.1, 5.6.1-b, 5.4.4.2
#[tokio::test]
async fn a_clean_database_gives_a_clean_report() {
    for app in spawn_apps().await {
        let report = security_check::run(&app.state).await;
        assert!(report.passed(), "{}: {report:#?}", app.label);
        for table in MAC_TABLES {
            let check = report
                .check(&format!("records.{table}"))
                .unwrap_or_else(|| panic!("{}: {table} is not checked", app.label));
            assert!(check.passed && check.error.is_none(), "{}", app.label);
        }
        for name in [
            "audit-chain",
            "ledger",
            "keys.rotation",
            "keys.compromised",
            "keys.active",
            "keys.destruction",
        ] {
            assert!(report.check(name).is_some(), "{}: {name}", app.label);
        }
        let alerts: Vec<_> = security_events(&app)
            .await
            .into_iter()
            // Host monitoring alerts say how full this machine's disk or memory is, not
            // whether the data is sound: they are not this check's.
            .filter(|event| event.alert && !event.kind.starts_with("monitoring."))
            .map(|event| event.kind)
            .collect();
        assert!(alerts.is_empty(), "{}: alerts {alerts:?}", app.label);
        // The same check without the server's keyring, as the CLI runs it.
        let offline = security_check::run_with_store(
            &app.state.store,
            &app.state.master,
            &app.state.settings.rotation_policy(),
            app.state.now_ms(),
        )
        .await
        .expect("keys load");
        assert!(offline.passed(), "{}: {offline:#?}", app.label);
        assert_eq!(offline.checks.len(), report.checks.len(), "{}", app.label);
        app.stop().await;
    }
}

/// Creates one row in some of the protected tables through the store (the store tests cover
/// every table's verification; this proves the scheduled check wires them to alerts).
async fn protected_rows(app: &TestApp) -> Vec<(&'static str, String, &'static str)> {
    let store = &app.state.store;
    let keyring = app.state.keyring();
    let now = app.state.now_ms();
    let person = store
        .person_insert(
            &keyring,
            &NewPerson {
                legal_name: LegalName::parse("王五").expect("name"),
                mobile: MobileNumber::parse(MOBILE).expect("mobile"),
                id_number: IdNumber::parse(ID_NUMBER).expect("id"),
            },
            WHO,
            now,
        )
        .await
        .expect("person");
    let fen = |value| Amount::from_fen(value).expect("amount");
    let product = store
        .product_create(
            &keyring,
            &NewProduct {
                code: "SEC-1".into(),
                name: "Term life".into(),
                terms: ProductTerms::new(
                    fen(50_000_000),
                    fen(36_500),
                    PaymentFrequency::Yearly,
                    12,
                    30,
                )
                .expect("terms"),
            },
            "operator:test",
            "req-product",
            now,
        )
        .await
        .expect("product");
    store
        .request_evidence_record(
            &keyring,
            &Evidence {
                id: "ev-sec-1".into(),
                app_id: crate::signing::TEST_APP_ID.into(),
                serial: 1,
                account_id: None,
                method: "POST".into(),
                target: "/v1/payments".into(),
                timestamp_s: now / 1000,
                nonce: "nonce-sec-0123456789".into(),
                body_sm3: "ab".repeat(32),
                signature: "MEUC".into(),
                sdk: None,
                response_status: 201,
                response_timestamp_s: now / 1000,
                response_nonce: "answer-sec-1".into(),
                response_body_sm3: "cd".repeat(32),
                response_serial: 1,
                response_signature: "MEUC".into(),
                received_at_ms: now,
            },
        )
        .await
        .expect("evidence");
    store
        .risk_signer_add(
            &keyring,
            "rules-team",
            "-----BEGIN PUBLIC KEY-----\nA\n-----END PUBLIC KEY-----\n",
            &"a1".repeat(32),
            WHO,
            now,
        )
        .await
        .expect("signer");
    store
        .risk_decision_record(
            &keyring,
            NewRiskDecision {
                id: "d-sec-1",
                at_ms: now,
                operation: "payment",
                account_id: None,
                reference: Some("payment:1"),
                verdict: "deny",
                reasons_json: "[]",
                model_score: None,
                alert: true,
            },
        )
        .await
        .expect("decision");
    store
        .risk_hold_open(
            &keyring,
            NewRiskHold {
                id: "h-sec-1",
                decision_id: "d-sec-1",
                operation: "claim_decision",
                account_id: "acc-1",
                subject: "claim:c1",
                requested_by: "staff-1",
                payload: r#"{"kind":"claim_decision"}"#,
                resumable: true,
                at_ms: now,
            },
        )
        .await
        .expect("hold");
    vec![
        (
            "persons",
            person,
            "UPDATE persons SET created_at_ms = created_at_ms - 1 WHERE id = $1",
        ),
        (
            "products",
            product.id.to_string(),
            "UPDATE products SET name = 'Cheap life' WHERE id = $1",
        ),
        (
            "request_evidence",
            "ev-sec-1".into(),
            "UPDATE request_evidence SET target = '/v1/other' WHERE id = $1",
        ),
        (
            "risk_signers",
            "rules-team".into(),
            "UPDATE risk_signers SET added_by = 'operator:mallory' WHERE name = $1",
        ),
        (
            "risk_decisions",
            "d-sec-1".into(),
            "UPDATE risk_decisions SET verdict = 'allow' WHERE id = $1",
        ),
        (
            "risk_holds",
            "h-sec-1".into(),
            "UPDATE risk_holds SET requested_by = 'staff-2' WHERE id = $1",
        ),
    ]
}

/// Rows changed outside the application, a key record changed in the database and an audit
/// entry rewritten are each found by one run of the check; each failed check raises a
/// security event with an alert (ids and table names only, no personal value), is audited,
/// and the run logs one error summary.
/// req: 5.6.1-b, 5.4.4.2, 6.4.1
#[tokio::test]
async fn tampered_rows_keys_and_audit_entries_raise_alerts() {
    for app in spawn_apps().await {
        let label = app.label;
        let store = app.state.store.clone();
        let rows = protected_rows(&app).await;
        assert!(security_check::run(&app.state).await.passed(), "{label}");

        for (_, id, statement) in &rows {
            sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
                .bind(id)
                .execute(store.pool())
                .await
                .expect("tamper");
        }
        sqlx::query(
            "UPDATE data_keys SET rotate_after_ms = rotate_after_ms + 1
             WHERE purpose = 'blind-index' AND version = 1",
        )
        .execute(store.pool())
        .await
        .expect("tamper key");
        let untrigger = match label {
            "sqlite" => "DROP TRIGGER audit_log_no_update",
            _ => "DROP TRIGGER audit_log_no_change ON audit_log",
        };
        for statement in [
            untrigger,
            "UPDATE audit_log SET actor = 'operator:mallory' WHERE seq = 1",
        ] {
            sqlx::query(statement)
                .execute(store.pool())
                .await
                .expect("tamper audit");
        }

        let report = security_check::run(&app.state).await;
        assert!(!report.passed(), "{label}");
        for (table, id, _) in &rows {
            assert_failed(&report, &format!("records.{table}"), id, label);
        }
        assert_failed(&report, "records.data_keys", "key:blind-index:v1", label);
        assert_failed(&report, "audit-chain", "seq 1", label);
        for clean in ["records.payments", "records.ledger_transfers", "ledger"] {
            assert!(
                report.check(clean).expect("check").passed,
                "{label}: {clean}"
            );
        }

        let events = security_events(&app).await;
        let mismatches = of_kind(&events, "integrity.record-mac-mismatch");
        assert_eq!(mismatches.len(), rows.len() + 1, "{label}: {events:#?}");
        assert!(mismatches.iter().all(|event| event.alert), "{label}");
        for (table, id, _) in &rows {
            assert!(
                mismatches
                    .iter()
                    .any(|event| event.detail.contains(&format!("records.{table}"))
                        && event.detail.contains(id.as_str())),
                "{label}: {table}: {mismatches:#?}"
            );
        }
        let broken = of_kind(&events, "integrity.audit-chain-broken");
        assert_eq!(broken.len(), 1, "{label}");
        assert!(broken[0].alert, "{label}");
        for event in &events {
            for secret in [MOBILE, ID_NUMBER, "王五"] {
                assert!(!event.detail.contains(secret), "{label}: {event:?}");
            }
        }

        let audited = store.audit_entries(0, 10_000).await.expect("entries");
        let person = &rows[0].1;
        assert!(
            audited
                .iter()
                .any(|entry| entry.action == "integrity.record-mac-mismatch"
                    && entry.object == format!("person:{person}")),
            "{label}"
        );
        assert!(
            audited
                .iter()
                .any(|entry| entry.action == "integrity.audit-chain-broken"),
            "{label}"
        );
        assert!(crate::helpers::logs().contains("security check failed"));
        app.stop().await;
    }
}

/// A compromised key that is still its purpose's current key (and still loaded as active by
/// this node) and a purpose left without an active key are reported; so, once the clock is
/// past a rotation date by more than a day, is every overdue rotation.
/// req: 6.4.1, 5.5.2.1
#[tokio::test]
async fn key_states_are_checked() {
    for app in spawn_apps().await {
        let label = app.label;
        let state = &app.state;
        let now = state.now_ms();
        state
            .store
            .key_transition(
                &state.master,
                KeyPurpose::ChannelSigning,
                1,
                KeyEvent::Compromise,
                0,
                WHO,
                now,
            )
            .await
            .expect("compromise");
        let report = security_check::run(state).await;
        let compromised = report.check("keys.compromised").expect("check");
        // Two findings while this node still holds the key active; one once the key reload
        // job (every 30 s) has caught up.
        assert!(
            (1..=2).contains(&compromised.findings),
            "{label}: {compromised:?}"
        );
        assert!(
            compromised
                .first_findings
                .iter()
                .all(|finding| finding.starts_with("key:channel-signing:v1")),
            "{label}: {compromised:?}"
        );
        assert_failed(&report, "keys.active", "channel-signing", label);
        assert!(
            report.check("keys.rotation").expect("check").passed,
            "{label}"
        );
        let events = security_events(&app).await;
        assert_eq!(
            of_kind(&events, "keys.compromised-active").len(),
            1,
            "{label}"
        );
        assert_eq!(of_kind(&events, "keys.no-active").len(), 1, "{label}");

        state.advance_clock(400 * DAY_MS);
        let report = security_check::run(state).await;
        let rotation = report.check("keys.rotation").expect("check");
        assert!(!rotation.passed, "{label}");
        assert_eq!(
            rotation.findings,
            KeyPurpose::ALL.len() - 1,
            "{label}: every active key is a year overdue: {rotation:?}"
        );
        let events = security_events(&app).await;
        let overdue = of_kind(&events, "keys.rotation-overdue");
        assert_eq!(overdue.len(), 1, "{label}");
        assert!(
            overdue[0].alert && overdue[0].detail.contains("key:"),
            "{label}"
        );
        app.stop().await;
    }
}
