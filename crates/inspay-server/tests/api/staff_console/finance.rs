//! The finance officer's and the risk officer's desks: a real claim payout and a cancellation
//! refund through the simulated bank, reconciliation against its statement, and rule packs.

use super::{
    NEXT, OFFICER, all_refused, call, get, ok, refused, sign, signed_in_customer, staff, tamper,
};
use crate::helpers::{TestApp, settled_refund, spawn_apps};
use crate::people::{answer, step_up};
use crate::signing::nonce;
use inspay_core::calendar::{date_at_ms, date_text};
use inspay_core::money::Amount;
use inspay_core::policy::{PaymentFrequency, ProductTerms};
use inspay_crypto::sm2::Sm2PrivateKey;
use inspay_identity::authorization::Role;
use inspay_protocol::claims::{ClaimDocument, ClaimVerdict, decision_document};
use inspay_store::funds::NewProduct;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;

/// Verifies at the simulated bank and receives payouts; also pays premiums by card.
const ACCOUNT: &str = "6222021234567890128";
const DESCRIPTION: &str = "Two nights in hospital after a fall";

/// A customer holding an active policy whose first premium (365.00) was paid by card.
struct Holder {
    id: String,
    mobile: String,
    token: String,
    policy_id: String,
}

async fn holder(app: &TestApp) -> Holder {
    let fen = |fen: i64| Amount::from_fen(fen).expect("amount");
    let terms = ProductTerms::new(
        fen(50_000_000),
        fen(36_500),
        PaymentFrequency::Yearly,
        12,
        30,
    )
    .expect("terms");
    let code = format!("CONSOLE-{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let product = NewProduct {
        name: format!("{code} product"),
        code,
        terms,
    };
    let (keyring, now, store) = (app.state.keyring(), app.state.now_ms(), &app.state.store);
    let created = store
        .product_create(&keyring, &product, "operator:test", "test", now)
        .await;
    let product_id = created.expect("product").id.to_string();
    let (id, mobile, token) = signed_in_customer(app).await;
    let today = date_text(date_at_ms(app.state.now_ms()));
    let body = json!({ "product_id": product_id, "start_on": today });
    let (status, policy) = call(app, Method::POST, "/v1/policies", &token, Some(body)).await;
    assert_eq!(status, 201, "{}: {policy}", app.label);
    let policy_id = policy["id"].as_str().expect("policy").to_string();
    let proof = step_up(app, &token, &mobile, "premium-payment").await;
    let path = format!("/v1/policies/{policy_id}/premiums/1/pay");
    let card = json!({ "card_number": ACCOUNT, "expiry": "12/30", "cvv": "123" });
    let request = app.client.post(app.url(&path)).bearer_auth(&token);
    let request = request.header("x-inspay-step-up", proof);
    let request = request
        .header("idempotency-key", format!("idem-{}", nonce()))
        .json(&card);
    let (status, body) = answer(request.send().await.expect("pay")).await;
    assert_eq!(status, 201, "{}: {body}", app.label);
    Holder {
        id,
        mobile,
        token,
        policy_id,
    }
}

/// A step-up-protected fund call as the holder.
async fn with_proof(
    app: &TestApp,
    holder: &Holder,
    operation: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let proof = step_up(app, &holder.token, &holder.mobile, operation).await;
    let request = app.client.post(app.url(path)).bearer_auth(&holder.token);
    let request = request.header("x-inspay-step-up", proof);
    let request = request
        .header("idempotency-key", format!("idem-{}", nonce()))
        .json(&body);
    answer(request.send().await.expect("request")).await
}

/// The holder files a claim for 900.00 (signed with a device key) to a bound, verified
/// account; an adjuster approves 700.00, below the second-approval threshold, so the payout
/// starts; the outbox pays it. Returns the claim id.
async fn paid_claim(app: &TestApp, holder: &Holder) -> String {
    let bound = with_proof(
        app,
        holder,
        "payout-account-add",
        "/v1/me/payout-accounts",
        json!({ "account_number": ACCOUNT }),
    )
    .await;
    assert_eq!(bound.0, 201, "{}: {}", app.label, bound.1);
    let account_id = bound.1["id"].as_str().expect("account").to_string();
    let device = Sm2PrivateKey::generate().expect("device key");
    let now = app.state.now_ms();
    let enrolled =
        app.state
            .store
            .device_key_enrol(&holder.id, device.public_key(), "phone", "test", now);
    let device_id = enrolled.await.expect("enrol");
    let (today, key) = (date_text(date_at_ms(now)), format!("claim-{}", nonce()));
    let document = ClaimDocument {
        policy_id: &holder.policy_id,
        claimant: &holder.id,
        claimed_fen: 90_000,
        incident_on: &today,
        description: DESCRIPTION,
        payout_account_id: &account_id,
        idempotency_key: &key,
    }
    .to_bytes();
    let body = json!({
        "policy_id": holder.policy_id, "claimed_fen": 90_000, "incident_on": today,
        "description": DESCRIPTION, "payout_account_id": account_id,
        "signed_with": { "device_key": device_id }, "signature": sign(&device, &document),
    });
    let request = app
        .client
        .post(app.url("/v1/claims"))
        .bearer_auth(&holder.token);
    let request = request.header("idempotency-key", &key).json(&body);
    let (status, filed) = answer(request.send().await.expect("file")).await;
    assert_eq!(status, 201, "{}: {filed}", app.label);
    let claim_id = filed["id"].as_str().expect("claim").to_string();
    let adjuster = staff(app, &[Role::ClaimsAdjuster]).await;
    let assigned = app
        .state
        .store
        .claim_assign(&adjuster.id, &claim_id, OFFICER, now);
    assigned.await.expect("assign");
    let decision = decision_document(
        &claim_id,
        &document,
        ClaimVerdict::Approve(70_000),
        &adjuster.id,
    );
    let body = json!({
        "decision": "approve", "approved_fen": 70_000, "key_id": adjuster.key_id,
        "signature": sign(&adjuster.key, &decision),
    });
    let path = format!("/v1/claims/{claim_id}/decision");
    let decided = ok(
        app,
        call(app, Method::POST, &path, &adjuster.token, Some(body)).await,
    );
    assert_eq!(
        decided["status"], "payout_pending",
        "{}: {decided}",
        app.label
    );
    for _ in 0..100 {
        inspay_server::payments::worker::drive(&app.state).await;
        let id = inspay_core::ids::ClaimId::parse(&claim_id).expect("id");
        let claim = app
            .state
            .store
            .claim(&app.state.keyring(), &id, None)
            .await
            .expect("claim");
        if claim.status.as_str() == "paid" {
            return claim_id;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{}: the payout never settled", app.label);
}

/// The finance officer sees a claim payout and a cancellation refund with their states and
/// masked account and card only, newest first and filtered by state; a refund changed outside
/// inspay is named unreadable instead of shown; reconciling today against the simulated bank
/// matches the premium, payout and refund, is recorded under the officer and appears in the
/// list of days; the auditor reads but cannot run a reconciliation; the security officer and
/// a customer see nothing; bad parameters are a stable 4xx.
/// req: 4-b, 5.3.1.2, 5.3.2.1, 5.6.1-b, 5.6.1-a5
#[tokio::test]
async fn the_finance_officer_sees_payouts_refunds_and_reconciliations() {
    for app in spawn_apps().await {
        let paid = holder(&app).await;
        let claim_id = paid_claim(&app, &paid).await;
        let cancelled = holder(&app).await;
        let path = format!("/v1/policies/{}/cancel", cancelled.policy_id);
        let cancel = with_proof(&app, &cancelled, "policy-cancel", &path, json!({})).await;
        assert_eq!(cancel.0, 200, "{}: {}", app.label, cancel.1);
        let refund_id = inspay_core::ids::RefundId::parse(
            cancel.1["refunds"][0]
                .as_str()
                .expect("the cancellation's refund"),
        )
        .expect("refund id");
        assert_eq!(
            settled_refund(&app, &refund_id).await,
            inspay_core::funds::OrderStatus::Succeeded,
            "{}",
            app.label
        );
        let finance = staff(&app, &[Role::FinanceOfficer]).await;
        let auditor = staff(&app, &[Role::Auditor]).await;
        let security = staff(&app, &[Role::SecurityOfficer]).await;

        let payouts = ok(&app, get(&app, "/v1/finance/payouts", &finance.token).await);
        let payout = &payouts["payouts"][0];
        assert_eq!(
            payout["claim_id"],
            claim_id.as_str(),
            "{}: {payouts}",
            app.label
        );
        assert_eq!(
            (payout["amount_fen"].as_i64(), payout["status"].as_str()),
            (Some(70_000), Some("succeeded"))
        );
        assert_eq!(payout["account_masked"], "622202*********0128");
        assert!(payout["settled_at_ms"].as_i64() >= payout["created_at_ms"].as_i64());
        let failed = ok(
            &app,
            get(&app, "/v1/finance/payouts/failed/10", &auditor.token).await,
        );
        assert_eq!(failed["payouts"], json!([]));
        let refunds = ok(
            &app,
            get(&app, "/v1/finance/refunds/succeeded/5", &finance.token).await,
        );
        let refund = &refunds["refunds"][0];
        assert_eq!(
            (refund["amount_fen"].as_i64(), refund["reason"].as_str()),
            (Some(36_500), Some("cancellation")),
            "{refunds}"
        );
        assert_eq!(refund["account_id"], cancelled.id.as_str());
        assert!(
            refund["card_masked"]
                .as_str()
                .is_some_and(|card| card.ends_with("0128") && !card.contains(ACCOUNT))
        );
        for body in [&payouts, &refunds] {
            assert!(
                !body.to_string().contains(ACCOUNT),
                "{}: never a full number",
                app.label
            );
        }

        let run = |token: String, body: Value| {
            let app = &app;
            async move {
                call(
                    app,
                    Method::POST,
                    "/v1/finance/reconciliation",
                    &token,
                    Some(body),
                )
                .await
            }
        };
        let today = date_text(date_at_ms(app.state.now_ms()));
        let report = ok(
            &app,
            run(finance.token.clone(), json!({ "day": today })).await,
        );
        assert_eq!(
            (report["clean"].as_bool(), report["matched"].as_u64()),
            (Some(true), Some(4)),
            "{}: {report}",
            app.label
        );
        assert_eq!(report["matched_fen"], 36_500 * 2 + 70_000 + 36_500);
        let runs = ok(
            &app,
            get(&app, "/v1/finance/reconciliation", &auditor.token).await,
        );
        assert_eq!(runs["days"].as_array().map(Vec::len), Some(30));
        let latest = &runs["days"][0];
        assert_eq!(latest["day"], today.as_str());
        assert_eq!(
            (
                latest["latest"]["matched"].as_i64(),
                latest["latest"]["clean"].as_bool()
            ),
            (Some(4), Some(true))
        );
        assert_eq!(
            latest["latest"]["run_by"],
            format!("account:{}", finance.id)
        );
        assert_eq!(runs["days"][1]["latest"], Value::Null);
        let week = ok(
            &app,
            get(&app, "/v1/finance/reconciliation/7", &finance.token).await,
        );
        assert_eq!(week["days"].as_array().map(Vec::len), Some(7));
        for bad in ["0", "367", "x", "1000"] {
            let path = format!("/v1/finance/reconciliation/{bad}");
            refused(
                &app,
                &get(&app, &path, &finance.token).await,
                422,
                "INSPAY-REQ-003",
            );
        }
        for day in ["2999-01-01", "yesterday", "2026-02-30"] {
            refused(
                &app,
                &run(finance.token.clone(), json!({ "day": day })).await,
                422,
                "INSPAY-REQ-003",
            );
        }
        for bad in ["sent/5", "all/0", "pending/9999"] {
            let path = format!("/v1/finance/refunds/{bad}");
            refused(
                &app,
                &get(&app, &path, &finance.token).await,
                422,
                "INSPAY-REQ-003",
            );
        }
        refused(
            &app,
            &run(auditor.token.clone(), json!({ "day": today })).await,
            403,
            "INSPAY-AUTH-005",
        );

        let refund_id = refund["id"].as_str().expect("refund id");
        tamper(
            &app,
            &[&format!(
                "UPDATE refunds SET amount_fen = 1 WHERE id = '{refund_id}'"
            )],
        )
        .await;
        let changed = ok(&app, get(&app, "/v1/finance/refunds", &finance.token).await);
        assert_eq!(changed["unreadable"], json!([refund_id]), "{}", app.label);
        assert_eq!(changed["refunds"], json!([]));

        let paths = [
            "/v1/finance/payouts",
            "/v1/finance/refunds",
            "/v1/finance/reconciliation",
        ];
        all_refused(&app, &security.token, &paths).await;
        let (_, _, customer) = signed_in_customer(&app).await;
        all_refused(&app, &customer, &paths).await;
        app.stop().await;
    }
}

/// The risk officer sees the installed rule pack in force with its signer and rule count; a
/// finance officer and a customer do not.
/// req: 6.3.7, 5.3.1.2
#[tokio::test]
async fn the_risk_officer_sees_the_rule_packs_in_force() {
    const MANIFEST: &str = r#"[pack]
id = "night"
version = 1
inputs = ["op.amount_fen", "op.hour"]

[[rule]]
id = "large-at-night"
operations = ["premium-payment"]
when = "op.amount_fen >= 500000 && op.hour < 6"
verdict = "step-up:sms-code"
note = "large premium at night"
"#;
    for app in spawn_apps().await {
        let risk = staff(&app, &[Role::RiskOfficer]).await;
        let finance = staff(&app, &[Role::FinanceOfficer]).await;
        let (_, _, customer) = signed_in_customer(&app).await;
        let empty = ok(&app, get(&app, "/v1/risk/packs", &risk.token).await);
        assert_eq!(empty["packs"], json!([]));
        crate::helpers::install_signed_pack(&app, MANIFEST).await;
        let packs = ok(&app, get(&app, "/v1/risk/packs", &risk.token).await);
        let pack = &packs["packs"][0];
        assert_eq!(
            (pack["name"].as_str(), pack["version"].as_i64()),
            (Some("night"), Some(1)),
            "{packs}"
        );
        assert_eq!(
            (pack["state"].as_str(), pack["rules"].as_i64()),
            (Some("in-force"), Some(1))
        );
        assert_eq!(pack["signer"], "risk-officer");
        assert_eq!(packs["in_force"], 1);
        all_refused(&app, &finance.token, &["/v1/risk/packs"]).await;
        all_refused(&app, &customer, &["/v1/risk/packs"]).await;
        app.stop().await;
    }
}
