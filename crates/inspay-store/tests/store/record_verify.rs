//! The `*_verify` functions of the scheduled integrity check, on every configured backend:
//! each finds exactly the row of its table that was changed directly in the database, and
//! nothing in an untouched table; a table longer than one page is walked to the end.

use crate::support::claims::{active_policy, decide_as, try_file};
use crate::support::funds::{Fixture, NOW_MS, apply_on, begin, fen, fixture, settle};
use crate::support::{TestStore, WHO, initialised, stores};
use inspay_core::funds::{ChannelOutcome, Decision};
use inspay_core::policy::PaymentFrequency;
use inspay_core::sensitive::{IdNumber, LegalName, MobileNumber};
use inspay_kms::Keyring;
use inspay_store::client_apps::{AppClass, NewClientApp};
use inspay_store::funds::Cancellation;
use inspay_store::persons::NewPerson;
use inspay_store::record_check::VERIFY_PAGE_ROWS;
use inspay_store::request_evidence::Evidence;
use inspay_store::risk::{NewRiskDecision, NewRiskHold};
use inspay_store::{Store, StoreError};
use time::macros::date;

/// Runs `statement` (one tamper, binding `id`) outside the application.
async fn tamper(store: &Store, statement: &str, id: &str) {
    let changed = sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
        .bind(id)
        .execute(store.pool())
        .await
        .expect("tamper")
        .rows_affected();
    assert_eq!(changed, 1, "{statement}");
}

fn evidence(id: &str) -> Evidence {
    Evidence {
        id: id.into(),
        app_id: "app-1".into(),
        serial: 1,
        account_id: None,
        method: "POST".into(),
        target: "/v1/payments".into(),
        timestamp_s: 1_800_000_000,
        nonce: format!("nonce-0123456789-{id}"),
        body_sm3: "ab".repeat(32),
        signature: "MEUC".into(),
        sdk: None,
        response_status: 201,
        response_timestamp_s: 1_800_000_000,
        response_nonce: format!("answer-{id}"),
        response_body_sm3: "cd".repeat(32),
        response_serial: 1,
        response_signature: "MEUC".into(),
        received_at_ms: NOW_MS,
    }
}

fn decision(id: &str) -> NewRiskDecision<'_> {
    NewRiskDecision {
        id,
        at_ms: NOW_MS,
        operation: "payment",
        account_id: Some("acc-1"),
        reference: Some("payment:1"),
        verdict: "deny",
        reasons_json: "[]",
        model_score: None,
        alert: true,
    }
}

/// The rows every MAC'd table gets, made through the application: a paid policy with a
/// payout account, a claim approved and paid out, a person, request evidence, a risk signer,
/// decision and hold.
async fn populate(test: &TestStore) -> (Fixture, Ids) {
    let store = &test.store;
    let (f, policy, payout_account, payment) = active_policy(test).await;
    let claim = try_file(test, &f, &policy, &payout_account, 500_000, "k-1")
        .await
        .expect("file");
    let step = decide_as(
        test,
        &f,
        &claim.id,
        "adjuster",
        Decision::Approve(fen(500_000)),
    )
    .await
    .expect("approve");
    let payout = step.payout.expect("a payout started");
    let person = store
        .person_insert(
            &f.keyring,
            &NewPerson {
                legal_name: LegalName::parse("李四").expect("name"),
                mobile: MobileNumber::parse("13900001111").expect("mobile"),
                id_number: IdNumber::parse("44030419900307123X").expect("id"),
            },
            WHO,
            NOW_MS,
        )
        .await
        .expect("person");
    let key = inspay_crypto::sm2::Sm2PrivateKey::generate().expect("key");
    store
        .client_app_register(
            &NewClientApp {
                id: "app-1",
                name: "Test application",
                class: AppClass::FundTransaction,
                public_key: key.public_key(),
                tls_fingerprint: None,
                sdk_version_min: None,
            },
            WHO,
            NOW_MS,
        )
        .await
        .expect("application");
    store
        .request_evidence_record(&f.keyring, &evidence("ev-1"))
        .await
        .expect("evidence");
    store
        .risk_signer_add(
            &f.keyring,
            "rules-team",
            "-----BEGIN PUBLIC KEY-----\nA\n-----END PUBLIC KEY-----\n",
            &"a1".repeat(32),
            WHO,
            NOW_MS,
        )
        .await
        .expect("signer");
    store
        .risk_decision_record(&f.keyring, decision("d-1"))
        .await
        .expect("decision");
    store
        .risk_hold_open(
            &f.keyring,
            NewRiskHold {
                id: "h-1",
                decision_id: "d-1",
                operation: "claim_decision",
                account_id: "acc-1",
                subject: "claim:c1",
                requested_by: "staff-1",
                payload: r#"{"kind":"claim_decision"}"#,
                resumable: true,
                at_ms: NOW_MS,
            },
        )
        .await
        .expect("hold");
    let ids = Ids {
        product: f.product.id.to_string(),
        policy: policy.to_string(),
        payment: payment.to_string(),
        payout_account,
        claim: claim.id.to_string(),
        payout: payout.id.to_string(),
        person,
    };
    (f, ids)
}

struct Ids {
    product: String,
    policy: String,
    payment: String,
    payout_account: String,
    claim: String,
    payout: String,
    person: String,
}

/// Every table's verification.
async fn verify(store: &Store, keyring: &Keyring, table: &str) -> Vec<String> {
    let result: Result<Vec<String>, StoreError> = match table {
        "persons" => store.persons_verify(keyring).await,
        "products" => store.products_verify(keyring).await,
        "policies" => store.policies_verify(keyring).await,
        "payments" => store.payments_verify(keyring).await,
        "refunds" => store.refunds_verify(keyring).await,
        "claims" => store.claims_verify(keyring).await,
        "payout_accounts" => store.payout_accounts_verify(keyring).await,
        "payouts" => store.payouts_verify(keyring).await,
        "request_evidence" => store.request_evidence_verify(keyring).await,
        "risk_signers" => store.risk_signers_verify(keyring).await,
        "risk_decisions" => store.risk_decisions_verify(keyring).await,
        "risk_holds" => store.risk_holds_verify(keyring).await,
        other => panic!("no verification of {other}"),
    };
    result.expect("verify")
}

/// One row of every table that carries a record MAC, changed in the database, is found by
/// that table's verification, and only that row; untouched tables stay clean.
/// req: 5.6.1-b
#[tokio::test]
async fn each_table_verification_finds_exactly_the_changed_row() {
    for test in stores().await {
        let label = test.label;
        let store = &test.store;
        let (f, ids) = populate(&test).await;
        let keyring = &f.keyring;
        let cases: [(&str, &str, String); 11] = [
            (
                "persons",
                "UPDATE persons SET created_at_ms = created_at_ms - 1 WHERE id = $1",
                ids.person.clone(),
            ),
            (
                "products",
                "UPDATE products SET name = 'Cheap life' WHERE id = $1",
                ids.product.clone(),
            ),
            (
                "policies",
                "UPDATE policies SET cover_fen = cover_fen + 1 WHERE id = $1",
                ids.policy.clone(),
            ),
            (
                "payments",
                "UPDATE payments SET amount_fen = amount_fen + 1 WHERE id = $1",
                ids.payment.clone(),
            ),
            (
                "claims",
                "UPDATE claims SET claimed_fen = claimed_fen + 1 WHERE id = $1",
                ids.claim.clone(),
            ),
            (
                "payout_accounts",
                "UPDATE payout_accounts SET verification_ref = 'forged' WHERE id = $1",
                ids.payout_account.clone(),
            ),
            (
                "payouts",
                "UPDATE payouts SET amount_fen = amount_fen + 1 WHERE id = $1",
                ids.payout.clone(),
            ),
            (
                "request_evidence",
                "UPDATE request_evidence SET target = '/v1/other' WHERE id = $1",
                "ev-1".into(),
            ),
            (
                "risk_signers",
                "UPDATE risk_signers SET added_by = 'operator:mallory' WHERE name = $1",
                "rules-team".into(),
            ),
            (
                "risk_decisions",
                "UPDATE risk_decisions SET verdict = 'allow' WHERE id = $1",
                "d-1".into(),
            ),
            (
                "risk_holds",
                "UPDATE risk_holds SET requested_by = 'staff-2' WHERE id = $1",
                "h-1".into(),
            ),
        ];
        for (table, _, _) in &cases {
            assert!(
                verify(store, keyring, table).await.is_empty(),
                "{label}: {table} clean before"
            );
        }
        for (table, statement, id) in &cases {
            tamper(store, statement, id).await;
            assert_eq!(
                verify(store, keyring, table).await,
                vec![id.clone()],
                "{label}: {table}"
            );
        }
    }
}

/// A refund changed in the database is found.
/// req: 5.6.1-b
#[tokio::test]
async fn the_refunds_verification_finds_a_changed_refund() {
    for test in stores().await {
        let store = &test.store;
        let f = fixture(&test, PaymentFrequency::Yearly, 24).await;
        let policy = apply_on(store, &f, date!(2027 - 01 - 01)).await;
        let payment = begin(store, &f, &policy.id, 1).await.expect("begin");
        settle(store, &f, &payment.id, ChannelOutcome::Succeeded).await;
        let refunds = store
            .policy_cancel(
                &f.keyring,
                Cancellation {
                    policy_id: &policy.id,
                    holder: Some(&f.customer),
                    cancelled_on: date!(2027 - 07 - 01),
                    actor: "account:test",
                },
                "r",
                NOW_MS,
            )
            .await
            .expect("cancel");
        assert!(
            store
                .refunds_verify(&f.keyring)
                .await
                .expect("verify")
                .is_empty()
        );
        let id = refunds[0].id.to_string();
        tamper(
            store,
            "UPDATE refunds SET amount_fen = amount_fen + 1 WHERE id = $1",
            &id,
        )
        .await;
        assert_eq!(
            store.refunds_verify(&f.keyring).await.expect("verify"),
            vec![id],
            "{}",
            test.label
        );
    }
}

/// A table longer than one page is checked to its end: a changed row on the third page is
/// found, and a key record changed in the database is named by the key check.
/// req: 5.6.1-b
#[tokio::test]
async fn the_walk_reaches_every_page_and_key_records_are_checked() {
    for test in stores().await {
        let label = test.label;
        let master = initialised(&test).await;
        let keyring = test.store.keyring_load(&master).await.expect("keyring");
        let store = &test.store;
        let rows = VERIFY_PAGE_ROWS * 2 + 7;
        let ids: Vec<String> = (0..rows).map(|index| format!("d-{index:05}")).collect();
        for id in &ids {
            store
                .risk_decision_record(&keyring, decision(id))
                .await
                .expect("record");
        }
        assert!(
            store
                .risk_decisions_verify(&keyring)
                .await
                .expect("verify")
                .is_empty()
        );
        let last = ids.last().expect("rows").clone();
        tamper(
            store,
            "UPDATE risk_decisions SET alert = 0 WHERE id = $1",
            &last,
        )
        .await;
        assert_eq!(
            store.risk_decisions_verify(&keyring).await.expect("verify"),
            vec![last],
            "{label}"
        );

        let (intact, failing) = store.keys_verify(&master).await.expect("keys");
        assert!(failing.is_empty(), "{label}");
        assert!(!intact.is_empty(), "{label}");
        sqlx::query(
            "UPDATE data_keys SET rotate_after_ms = rotate_after_ms + 1
             WHERE purpose = 'blind-index' AND version = 1",
        )
        .execute(store.pool())
        .await
        .expect("tamper key");
        let (_, failing) = store.keys_verify(&master).await.expect("keys");
        assert_eq!(failing, vec!["key:blind-index:v1".to_string()], "{label}");
    }
}
