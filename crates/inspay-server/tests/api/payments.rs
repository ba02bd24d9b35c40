//! Premium payments through the signed API, the simulated bank and the outbox, on both
//! databases: a policy from application to its first premium, declines, small renewals with a
//! saved card, lost answers resolved by the outbox, cancellation refunds, and ownership.

use crate::helpers::{TestApp, settled_refund, spawn_with, test_settings};
use crate::people::{PASSWORD, answer, customer, fresh_mobile, sign_in, step_up};
use crate::signing::nonce;
use inspay_core::calendar::{date_at_ms, date_text};
use inspay_core::money::Amount;
use inspay_core::policy::{PaymentFrequency, ProductTerms};
use inspay_server::Settings;
use inspay_store::funds::NewProduct;
use serde_json::{Value, json};

/// A Luhn-valid card the simulated bank accepts.
const CARD: &str = "6222021234567890128";
/// A Luhn-valid card ending in 0002, which the simulated bank declines.
const DECLINED_CARD: &str = "6222021234567070002";

async fn apps_with(adjust: impl Fn(&mut Settings)) -> Vec<TestApp> {
    let mut apps = vec![];
    let dir = tempfile::tempdir().expect("dir");
    let mut settings = test_settings(dir.path(), "");
    adjust(&mut settings);
    apps.push(spawn_with("sqlite", settings, dir).await);
    if let Some(url) = crate::helpers::postgres_database().await {
        let dir = tempfile::tempdir().expect("dir");
        let mut settings = test_settings(dir.path(), &url);
        adjust(&mut settings);
        apps.push(spawn_with("postgres", settings, dir).await);
    }
    apps
}

async fn product(
    app: &TestApp,
    code: &str,
    premium_fen: i64,
    frequency: PaymentFrequency,
) -> String {
    let months = match frequency {
        PaymentFrequency::Monthly => 12,
        _ => 12,
    };
    let terms = ProductTerms::new(
        Amount::from_fen(50_000_000).expect("cover"),
        Amount::from_fen(premium_fen).expect("premium"),
        frequency,
        months,
        30,
    )
    .expect("terms");
    app.state
        .store
        .product_create(
            &app.state.keyring(),
            &NewProduct {
                code: code.into(),
                name: format!("{code} product"),
                terms,
            },
            "operator:test",
            "test",
            app.state.now_ms(),
        )
        .await
        .expect("product")
        .id
        .to_string()
}

/// A signed request with a session, an optional step-up proof and an idempotency key.
async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    proof: Option<&str>,
    key: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(proof) = proof {
        request = request.header("x-inspay-step-up", proof);
    }
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    answer(request.send().await.expect("request")).await
}

async fn apply(app: &TestApp, token: &str, product_id: &str) -> String {
    let today = date_text(date_at_ms(app.state.now_ms()));
    let (status, body) = call(
        app,
        reqwest::Method::POST,
        "/v1/policies",
        token,
        None,
        None,
        Some(json!({ "product_id": product_id, "start_on": today })),
    )
    .await;
    assert_eq!(status, 201, "{}: apply: {body}", app.label);
    assert_eq!(body["status"], "applied");
    body["id"].as_str().expect("id").to_string()
}

async fn pay(
    app: &TestApp,
    token: &str,
    policy: &str,
    number: u32,
    proof: Option<&str>,
    body: Value,
) -> (u16, Value) {
    call(
        app,
        reqwest::Method::POST,
        &format!("/v1/policies/{policy}/premiums/{number}/pay"),
        token,
        proof,
        Some(&format!("idem-{}", nonce())),
        Some(body),
    )
    .await
}

fn card(number: &str) -> Value {
    json!({ "card_number": number, "expiry": "12/30", "cvv": "123" })
}

async fn policy(app: &TestApp, token: &str, id: &str) -> Value {
    let (status, body) = call(
        app,
        reqwest::Method::GET,
        &format!("/v1/policies/{id}"),
        token,
        None,
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{}: {body}", app.label);
    body
}

/// The caller's saved cards (`GET /v1/me/payment-methods`), checked to answer 200.
async fn payment_methods(app: &TestApp, token: &str) -> Value {
    let (status, methods) = call(
        app,
        reqwest::Method::GET,
        "/v1/me/payment-methods",
        token,
        None,
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{}: {methods}", app.label);
    methods
}

async fn assert_ledger_sound(app: &TestApp) {
    let report = app
        .state
        .store
        .ledger_check(&app.state.keyring())
        .await
        .expect("ledger check");
    assert!(report.is_sound(), "{}: {report:?}", app.label);
}

async fn signed_in_customer(app: &TestApp) -> (String, String) {
    let mobile = fresh_mobile();
    customer(app, &mobile, false).await;
    let token = sign_in(app, &mobile, PASSWORD).await;
    (mobile, token)
}

/// A customer applies for a policy and pays its first premium by card: the first premium needs
/// a step-up; a declined card leaves the policy applied and can be retried; the paid premium
/// activates the policy, posts a balanced ledger transfer and shows only the masked card; the
/// same idempotency key replays the answer; a paid premium cannot be paid again.
/// req: 5.1-b, 5.3.1.3, 5.3.3.4-a, 5.6.4.1, 4-b, 5.6.2-d1
#[tokio::test]
async fn a_policy_becomes_active_when_its_first_premium_is_paid() {
    for app in apps_with(|_| {}).await {
        let product_id = product(&app, "TERM-A", 36_500, PaymentFrequency::Yearly).await;
        let (status, products) = answer(
            app.client
                .get(app.url("/v1/products"))
                .send()
                .await
                .expect("products"),
        )
        .await;
        assert_eq!(status, 200);
        assert!(
            products["products"]
                .as_array()
                .expect("list")
                .iter()
                .any(|p| p["id"] == product_id)
        );
        let (mobile, token) = signed_in_customer(&app).await;
        let policy_id = apply(&app, &token, &product_id).await;

        let (status, body) = pay(&app, &token, &policy_id, 1, None, card(CARD)).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("INSPAY-AUTH-003")),
            "{}: {body}",
            app.label
        );

        let proof = step_up(&app, &token, &mobile, "premium-payment").await;
        let (status, body) = pay(
            &app,
            &token,
            &policy_id,
            1,
            Some(&proof),
            card(DECLINED_CARD),
        )
        .await;
        assert_eq!(status, 402, "{}: {body}", app.label);
        assert_eq!(body["code"], "INSPAY-PAY-004");
        assert!(
            body["detail"]
                .as_str()
                .expect("detail")
                .contains("CARD_DECLINED")
        );
        assert_eq!(policy(&app, &token, &policy_id).await["status"], "applied");

        let proof = step_up(&app, &token, &mobile, "premium-payment").await;
        let key = format!("idem-{}", nonce());
        let path = format!("/v1/policies/{policy_id}/premiums/1/pay");
        let (status, paid) = call(
            &app,
            reqwest::Method::POST,
            &path,
            &token,
            Some(&proof),
            Some(&key),
            Some(card(CARD)),
        )
        .await;
        assert_eq!(status, 201, "{}: {paid}", app.label);
        assert_eq!(paid["status"], "succeeded");
        assert_eq!(paid["amount_fen"], 36_500);
        assert_eq!(paid["card"], "622202*********0128");
        // The same request again with its key: the first answer, nothing charged twice.
        let (status, replayed) = call(
            &app,
            reqwest::Method::POST,
            &path,
            &token,
            Some(&proof),
            Some(&key),
            Some(card(CARD)),
        )
        .await;
        assert_eq!((status, &replayed), (201, &paid), "{}", app.label);

        let view = policy(&app, &token, &policy_id).await;
        assert_eq!(view["status"], "active");
        assert_eq!(view["premiums"][0]["status"], "paid");
        assert_eq!(view["payments"].as_array().expect("payments").len(), 2);
        assert!(
            !view.to_string().contains(CARD),
            "no full card number in any answer"
        );

        // The bank's signed answer is kept with the payment and verifies under its key.
        let payment_id = paid["id"].as_str().expect("payment id");
        let kept = app
            .state
            .store
            .channel_evidence(&app.state.keyring(), payment_id)
            .await
            .expect("evidence");
        assert_eq!(kept.len(), 1, "{}", app.label);
        assert!(
            !kept[0].body.contains(CARD),
            "the bank never echoes the card number"
        );
        let simulator = app.state.channel_slot().simulator_url().expect("simulator");
        let pem = crate::helpers::client(&app.ca, None)
            .get(format!("{simulator}/v1/keys"))
            .send()
            .await
            .expect("bank key")
            .text()
            .await
            .expect("pem");
        let pem_start = pem.find("-----BEGIN").expect("a PEM in the answer");
        let pem_end = pem.find("-----END PUBLIC KEY-----").expect("PEM end") + 24;
        let bank_key = inspay_crypto::sm2::Sm2PublicKey::from_spki_pem(&pem[pem_start..pem_end])
            .expect("bank key");
        let evidence = inspay_channel::AnswerEvidence {
            status: kept[0].http_status,
            timestamp_s: kept[0].timestamp_s,
            nonce: kept[0].nonce.clone(),
            request_nonce: kept[0].request_nonce.clone(),
            body: kept[0].body.to_string(),
            signature_base64: kept[0].signature_base64.clone(),
        };
        assert!(
            inspay_channel::signing::verify_evidence(&bank_key, &evidence),
            "{}",
            app.label
        );
        let mut forged = evidence.clone();
        forged.body = forged.body.replacen("SUCCEEDED", "FAILED", 1);
        assert_ne!(forged.body, evidence.body, "the body names the outcome");
        assert!(!inspay_channel::signing::verify_evidence(
            &bank_key, &forged
        ));

        let proof = step_up(&app, &token, &mobile, "premium-payment").await;
        let (status, body) = pay(&app, &token, &policy_id, 1, Some(&proof), card(CARD)).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("INSPAY-PAY-002")),
            "{}",
            app.label
        );
        assert_ledger_sound(&app).await;
        reconciled_by_the_daily_job(&app).await;
        app.stop().await;
    }
}

/// The daily job, run at 03:00 China time the next day, fetches the simulated bank's
/// statement of the payment's day and reconciles it clean, once: a second pass that day finds
/// the run recorded and does nothing.
async fn reconciled_by_the_daily_job(app: &TestApp) {
    use inspay_server::payments::reconcile::{DAY_MS, daily};
    let today = date_at_ms(app.state.now_ms());
    let next_day_at_three = inspay_core::calendar::day_start_ms(today) + DAY_MS + 3 * 3_600_000;
    daily(&app.state, next_day_at_three).await;
    daily(&app.state, next_day_at_three + 3_600_000).await;
    let runs: Vec<(i64, i64, i64)> = {
        use sqlx::Row;
        sqlx::query("SELECT matched, missing_at_channel + missing_in_inspay + mismatched, CAST(clean AS BIGINT) FROM reconciliations WHERE day = $1 AND source = 'channel'")
            .bind(date_text(today))
            .fetch_all(app.state.store.pool())
            .await
            .expect("runs")
            .iter()
            .map(|row| (row.try_get(0).expect("matched"), row.try_get(1).expect("differences"), row.try_get(2).expect("clean")))
            .collect()
    };
    assert_eq!(
        runs,
        vec![(1, 0, 1)],
        "{}: one clean run matching the paid premium",
        app.label
    );
}

/// A bank account bound for payouts (verified by the bank) is also a bound account premiums
/// can be paid from: the bank's direct-debit token is saved as a payment method, listed masked,
/// and a renewal paid with it moves the money once.
/// req: 5.3.1.3, 5.6.4.1
#[tokio::test]
async fn premiums_are_paid_from_a_bound_payout_account() {
    const ACCOUNT: &str = "6217001234567890122";
    for app in apps_with(|_| {}).await {
        let product_id = product(&app, "MONTH-B", 10_000, PaymentFrequency::Monthly).await;
        let (mobile, token) = signed_in_customer(&app).await;
        let policy_id = apply(&app, &token, &product_id).await;
        let proof = step_up(&app, &token, &mobile, "premium-payment").await;
        let (status, body) = pay(&app, &token, &policy_id, 1, Some(&proof), card(CARD)).await;
        assert_eq!(status, 201, "{}: {body}", app.label);
        let proof = step_up(&app, &token, &mobile, "payout-account-add").await;
        let (status, bound) = call(
            &app,
            reqwest::Method::POST,
            "/v1/me/payout-accounts",
            &token,
            Some(&proof),
            Some(&format!("idem-{}", nonce())),
            Some(json!({ "account_number": ACCOUNT })),
        )
        .await;
        assert_eq!(status, 201, "{}: {bound}", app.label);
        assert_eq!(bound["account"], "621700*********0122");
        let (status, methods) = call(
            &app,
            reqwest::Method::GET,
            "/v1/me/payment-methods",
            &token,
            None,
            None,
            None,
        )
        .await;
        assert_eq!(status, 200);
        let listed = methods["payment_methods"].as_array().expect("list");
        assert_eq!(
            listed.len(),
            2,
            "{}: the card and the account: {methods}",
            app.label
        );
        let account = listed
            .iter()
            .find(|method| method["card"] == "621700*********0122")
            .expect("the bound account");
        assert!(!methods.to_string().contains(ACCOUNT));
        let from_account = json!({ "payment_method_id": account["id"] });
        let (status, paid) = pay(&app, &token, &policy_id, 2, None, from_account).await;
        assert_eq!(status, 201, "{}: {paid}", app.label);
        assert_eq!(paid["status"], "succeeded");
        assert_eq!(paid["card"], "621700*********0122");
        assert_ledger_sound(&app).await;
        app.stop().await;
    }
}

/// A small renewal needs only a full session and can use the card saved by the first payment;
/// a renewal above the small-renewal threshold needs a step-up.
/// req: 5.1-a, 5.3.3.4-a
#[tokio::test]
async fn small_renewals_need_no_step_up_and_use_a_saved_card() {
    for app in apps_with(|settings| settings.payments.small_renewal_fen = 15_000).await {
        let small = product(&app, "MONTH-S", 10_000, PaymentFrequency::Monthly).await;
        let large = product(&app, "MONTH-L", 20_000, PaymentFrequency::Monthly).await;
        let (mobile, token) = signed_in_customer(&app).await;
        for (product_id, needs_step_up) in [(small, false), (large, true)] {
            let policy_id = apply(&app, &token, &product_id).await;
            let proof = step_up(&app, &token, &mobile, "premium-payment").await;
            let (status, body) = pay(&app, &token, &policy_id, 1, Some(&proof), card(CARD)).await;
            assert_eq!(status, 201, "{}: {body}", app.label);
            let methods = payment_methods(&app, &token).await;
            let method_id = methods["payment_methods"][0]["id"]
                .as_str()
                .expect("saved card")
                .to_string();
            assert_eq!(
                methods["payment_methods"].as_array().expect("list").len(),
                1,
                "one card saved once"
            );
            let saved = json!({ "payment_method_id": method_id });
            let (status, body) = pay(&app, &token, &policy_id, 2, None, saved.clone()).await;
            if needs_step_up {
                assert_eq!(
                    (status, body["code"].as_str()),
                    (403, Some("INSPAY-AUTH-003")),
                    "{}",
                    app.label
                );
                let proof = step_up(&app, &token, &mobile, "premium-payment").await;
                let (status, body) = pay(&app, &token, &policy_id, 2, Some(&proof), saved).await;
                assert_eq!(status, 201, "{}: {body}", app.label);
            } else {
                assert_eq!(status, 201, "{}: {body}", app.label);
                assert_eq!(body["status"], "succeeded");
            }
        }
        assert_ledger_sound(&app).await;
        app.stop().await;
    }
}

/// When the bank's answer is lost (it took the money, then never answered), the customer gets
/// "pending" and the outbox asks the bank and records the success; when the bank never got the
/// request, the outbox records a failure and the premium can be paid again. Nothing is ever
/// left in between or recorded twice.
/// req: 5.3.4, 5.3.5.2
#[tokio::test]
async fn lost_answers_are_resolved_by_the_outbox() {
    let adjust = |settings: &mut Settings| {
        settings.payments.channel.timeout_ms = 300;
        settings.payments.resolve_after_ms = 1_000;
        // The passes below are the test's own: the background worker (which could claim a
        // row first once the clock has moved) gets its next turn only after a minute.
        settings.payments.worker_interval_ms = 60_000;
    };
    for app in apps_with(adjust).await {
        let product_id = product(&app, "TERM-T", 12_000, PaymentFrequency::Yearly).await;
        let (mobile, token) = signed_in_customer(&app).await;
        let simulator = app
            .state
            .channel_slot()
            .simulator_url()
            .expect("development simulator");
        let http = crate::helpers::client(&app.ca, None);
        for (mode, final_status, policy_status) in [
            ("timeout", "succeeded", "active"),
            ("drop", "failed", "applied"),
        ] {
            let policy_id = apply(&app, &token, &product_id).await;
            let plan = http
                .post(format!("{simulator}/control/faults"))
                .json(&json!({ "mode": mode, "count": 1 }))
                .send()
                .await
                .expect("fault plan");
            assert!(plan.status().is_success());
            let proof = step_up(&app, &token, &mobile, "premium-payment").await;
            let (status, body) = pay(&app, &token, &policy_id, 1, Some(&proof), card(CARD)).await;
            assert_eq!(status, 202, "{} {mode}: {body}", app.label);
            assert_eq!(body["status"], "pending");
            // The outbox's turn comes once the resolve delay has passed. A "not found" is not
            // final while the bank's signature window is open: the row waits. (The store is
            // read directly from here on: moving the clock that far would also end the
            // customer's session for being away.)
            app.state.advance_clock(2_000);
            inspay_server::payments::worker::drive(&app.state).await;
            let id = inspay_core::ids::PolicyId::parse(&policy_id).expect("id");
            let keyring = app.state.keyring();
            if mode == "drop" {
                let payments = app
                    .state
                    .store
                    .payments_of_policy(&keyring, &id)
                    .await
                    .expect("payments");
                assert_eq!(
                    payments[0].status.as_str(),
                    "pending",
                    "{} {mode}",
                    app.label
                );
                app.state.advance_clock(310_000);
                inspay_server::payments::worker::drive(&app.state).await;
            }
            let payments = app
                .state
                .store
                .payments_of_policy(&keyring, &id)
                .await
                .expect("payments");
            assert_eq!(
                payments[0].status.as_str(),
                final_status,
                "{} {mode}",
                app.label
            );
            let stored = app
                .state
                .store
                .policy(&keyring, &id, None)
                .await
                .expect("policy");
            assert_eq!(
                stored.status.as_str(),
                policy_status,
                "{} {mode}",
                app.label
            );
            // Driving again changes nothing.
            app.state.advance_clock(2_000);
            assert_eq!(inspay_server::payments::worker::drive(&app.state).await, 0);
        }
        // The bank moved money exactly for the succeeded payment.
        let ledger: Value = http
            .get(format!("{simulator}/control/ledger"))
            .send()
            .await
            .expect("bank ledger")
            .json()
            .await
            .expect("json");
        let moved = ledger.to_string();
        assert_eq!(
            moved.matches("\"pay\"").count(),
            1,
            "{}: {moved}",
            app.label
        );
        assert_ledger_sound(&app).await;
        app.stop().await;
    }
}

/// Cancelling refunds the unearned premium through the bank; the refund is sent by the
/// outbox and recorded once; the customer's statement shows both, as JSON and CSV; another
/// customer can neither see nor pay nor cancel the policy, nor read the statement.
/// req: 5.3.1.3, 5.3.4, 5.6.1-d, 4-b
#[tokio::test]
async fn cancellation_refunds_through_the_bank_and_strangers_see_nothing() {
    for app in apps_with(|_| {}).await {
        let product_id = product(&app, "TERM-C", 36_500, PaymentFrequency::Yearly).await;
        let (mobile, token) = signed_in_customer(&app).await;
        let policy_id = apply(&app, &token, &product_id).await;
        let proof = step_up(&app, &token, &mobile, "premium-payment").await;
        let (status, body) = pay(&app, &token, &policy_id, 1, Some(&proof), card(CARD)).await;
        assert_eq!(status, 201, "{}: {body}", app.label);

        let (_, stranger) = signed_in_customer(&app).await;
        let (status, _) = call(
            &app,
            reqwest::Method::GET,
            &format!("/v1/policies/{policy_id}"),
            &stranger,
            None,
            None,
            None,
        )
        .await;
        assert_eq!(status, 404, "{}", app.label);
        let (status, _) = pay(&app, &stranger, &policy_id, 1, None, card(CARD)).await;
        assert_eq!(status, 404, "{}", app.label);

        let path = format!("/v1/policies/{policy_id}/cancel");
        let (status, body) = call(
            &app,
            reqwest::Method::POST,
            &path,
            &token,
            None,
            Some(&format!("idem-{}", nonce())),
            Some(json!({})),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("INSPAY-AUTH-003")),
            "{}",
            app.label
        );
        let proof = step_up(&app, &token, &mobile, "policy-cancel").await;
        let (status, body) = call(
            &app,
            reqwest::Method::POST,
            &path,
            &token,
            Some(&proof),
            Some(&format!("idem-{}", nonce())),
            Some(json!({})),
        )
        .await;
        assert_eq!(status, 200, "{}: {body}", app.label);
        // Cancelled on its first day: the whole premium comes back.
        assert_eq!(body["refund_fen"], 36_500, "{}: {body}", app.label);
        let refund_id =
            inspay_core::ids::RefundId::parse(body["refunds"][0].as_str().expect("refund"))
                .expect("id");
        assert_eq!(
            settled_refund(&app, &refund_id).await,
            inspay_core::funds::OrderStatus::Succeeded,
            "{}",
            app.label
        );
        assert_eq!(
            policy(&app, &token, &policy_id).await["status"],
            "cancelled"
        );
        // The customer's statement shows the premium and its refund, with totals and as CSV.
        let (status, statement) = call(
            &app,
            reqwest::Method::GET,
            "/v1/me/statement",
            &token,
            None,
            None,
            None,
        )
        .await;
        assert_eq!(status, 200, "{}: {statement}", app.label);
        let lines = statement["lines"].as_array().expect("lines");
        assert_eq!(lines.len(), 2, "{statement}");
        assert_eq!(
            (lines[0]["kind"].as_str(), lines[0]["paid_fen"].as_i64()),
            (Some("premium"), Some(36_500))
        );
        assert_eq!(
            (lines[1]["kind"].as_str(), lines[1]["refunded_fen"].as_i64()),
            (Some("refund"), Some(36_500))
        );
        assert_eq!(
            (
                statement["paid_fen"].as_i64(),
                statement["refunded_fen"].as_i64()
            ),
            (Some(36_500), Some(36_500))
        );
        let csv = statement["csv"].as_str().expect("csv");
        assert_eq!(csv.lines().count(), 3, "{csv}");
        assert!(
            csv.lines().nth(1).expect("row").contains(",premium,")
                && csv.contains(",365.00,0.00,0.00,succeeded,622202*********0128"),
            "{csv}"
        );
        assert!(!statement.to_string().contains(CARD));
        // Another customer's statement is their own; the staff route is not for customers.
        let (_, other) = call(
            &app,
            reqwest::Method::GET,
            "/v1/me/statement",
            &stranger,
            None,
            None,
            None,
        )
        .await;
        assert_eq!(other["lines"].as_array().map(Vec::len), Some(0));
        let customer_id = statement["account_id"].as_str().expect("id").to_string();
        let (status, _) = call(
            &app,
            reqwest::Method::GET,
            &format!("/v1/customers/{customer_id}/statement"),
            &stranger,
            None,
            None,
            None,
        )
        .await;
        assert_eq!(status, 403, "{}", app.label);
        assert_ledger_sound(&app).await;
        app.stop().await;
    }
}

/// The limit rules refuse a premium above the per-payment limit, and payments outside the
/// allowed hours, each with its own code, before any step-up proof is spent.
/// req: 5.3.3.4-b
#[tokio::test]
async fn payment_limits_are_enforced() {
    for app in apps_with(|settings| settings.payments.premium_per_payment_fen_max = 30_000).await {
        let product_id = product(&app, "TERM-BIG", 36_500, PaymentFrequency::Yearly).await;
        let (_, token) = signed_in_customer(&app).await;
        let policy_id = apply(&app, &token, &product_id).await;
        let (status, body) = pay(&app, &token, &policy_id, 1, None, card(CARD)).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("INSPAY-PAY-005")),
            "{}: {body}",
            app.label
        );
        app.stop().await;
    }
    for app in apps_with(|settings| {
        // A one-hour window hours away from now (China time).
        let hour = (inspay_store::now_ms() / 3_600_000 + 8) % 24;
        settings.payments.premium_hours = if hour < 12 { [20, 21] } else { [5, 6] };
    })
    .await
    {
        let product_id = product(&app, "TERM-H", 10_000, PaymentFrequency::Yearly).await;
        let (_, token) = signed_in_customer(&app).await;
        let policy_id = apply(&app, &token, &product_id).await;
        let (status, body) = pay(&app, &token, &policy_id, 1, None, card(CARD)).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("INSPAY-PAY-008")),
            "{}: {body}",
            app.label
        );
        app.stop().await;
    }
    // Cancellations send money back: one a day here, the second refused before anything moves.
    for app in apps_with(|settings| settings.payments.cancellations_per_day_max = 1).await {
        let product_id = product(&app, "TERM-C", 10_000, PaymentFrequency::Yearly).await;
        let (mobile, token) = signed_in_customer(&app).await;
        let mut answers = vec![];
        for _ in 0..2 {
            let policy_id = apply(&app, &token, &product_id).await;
            let proof = step_up(&app, &token, &mobile, "policy-cancel").await;
            let (status, body) = call(
                &app,
                reqwest::Method::POST,
                &format!("/v1/policies/{policy_id}/cancel"),
                &token,
                Some(&proof),
                Some(&format!("idem-{}", nonce())),
                Some(json!({})),
            )
            .await;
            answers.push((status, body["code"].as_str().map(str::to_string)));
            if status != 200 {
                assert_eq!(policy(&app, &token, &policy_id).await["status"], "applied");
            }
        }
        assert_eq!(
            answers,
            vec![(200, None), (422, Some("INSPAY-PAY-005".to_string()))],
            "{}",
            app.label
        );
        app.stop().await;
    }
}

/// Two payments of one premium sent at once under different idempotency keys: exactly one
/// goes through, the other is refused as in progress or already paid; a fund request without an
/// idempotency key is refused before anything runs; the daily count limit holds.
/// req: 5.3.1.3, 5.3.3.4-b
#[tokio::test]
async fn one_premium_is_paid_once_and_the_daily_count_holds() {
    for app in apps_with(|settings| settings.payments.premium_payments_per_day_max = 3).await {
        let product_id = product(&app, "MONTH-R", 10_000, PaymentFrequency::Monthly).await;
        let (mobile, token) = signed_in_customer(&app).await;
        let policy_id = apply(&app, &token, &product_id).await;
        let proof = step_up(&app, &token, &mobile, "premium-payment").await;
        let (status, body) = pay(&app, &token, &policy_id, 1, Some(&proof), card(CARD)).await;
        assert_eq!(status, 201, "{}: {body}", app.label);

        let (first, second) = tokio::join!(
            pay(&app, &token, &policy_id, 2, None, card(CARD)),
            pay(&app, &token, &policy_id, 2, None, card(CARD)),
        );
        let mut statuses = [first.0, second.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409], "{}: {first:?} {second:?}", app.label);
        let refused = if first.0 == 409 { &first.1 } else { &second.1 };
        assert!(
            matches!(
                refused["code"].as_str(),
                Some("INSPAY-PAY-002" | "INSPAY-PAY-003")
            ),
            "{refused}"
        );
        let id = inspay_core::ids::PolicyId::parse(&policy_id).expect("id");
        let payments = app
            .state
            .store
            .payments_of_policy(&app.state.keyring(), &id)
            .await
            .expect("payments");
        assert_eq!(
            payments
                .iter()
                .filter(|payment| payment.number == 2)
                .count(),
            1,
            "{}: one payment of the second premium",
            app.label
        );

        let (status, body) = call(
            &app,
            reqwest::Method::POST,
            &format!("/v1/policies/{policy_id}/premiums/3/pay"),
            &token,
            None,
            None,
            Some(card(CARD)),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (428, Some("INSPAY-REQ-010")),
            "{}",
            app.label
        );

        let (status, body) = pay(&app, &token, &policy_id, 3, None, card(CARD)).await;
        assert_eq!(status, 201, "{}: {body}", app.label);
        let (status, body) = pay(&app, &token, &policy_id, 4, None, card(CARD)).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("INSPAY-PAY-005")),
            "{}: the fourth payment of the day: {body}",
            app.label
        );
        assert_ledger_sound(&app).await;
        app.stop().await;
    }
}

/// The engine's verdict decides what a premium needs (clause 5.3.3.4-a): a renewal small
/// enough to need no step-up by the payment rules needs an SMS step-up once it is above the
/// engine's step-up tier. Above the review tier the payment is held: 202 `INSPAY-RISK-002`
/// with no reason, nothing charged, and a second try finds the same hold. Once a risk officer
/// releases it, the customer's next attempt goes through, once; the next instalment is
/// decided afresh and held behind a new hold.
/// req: 5.3.3.4-a, 5.3.3.1, 5.2.3.3, 5.2.1.1-c
#[tokio::test]
async fn the_engine_asks_for_step_up_and_holds_large_premiums_for_review() {
    let adjust = |settings: &mut Settings| {
        settings.payments.small_renewal_fen = 100_000;
        settings.risk.amount_step_up_fen = 15_000;
        settings.risk.amount_review_fen = 30_000;
    };
    for app in apps_with(adjust).await {
        let middle = product(&app, "MONTH-M", 20_000, PaymentFrequency::Monthly).await;
        let large = product(&app, "MONTH-X", 40_000, PaymentFrequency::Monthly).await;
        let (mobile, token) = signed_in_customer(&app).await;

        let policy_id = apply(&app, &token, &middle).await;
        let proof = step_up(&app, &token, &mobile, "premium-payment").await;
        let (status, body) = pay(&app, &token, &policy_id, 1, Some(&proof), card(CARD)).await;
        assert_eq!(status, 201, "{}: {body}", app.label);
        let methods = payment_methods(&app, &token).await;
        let saved = json!({ "payment_method_id": methods["payment_methods"][0]["id"] });
        let (status, body) = pay(&app, &token, &policy_id, 2, None, saved.clone()).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("INSPAY-AUTH-003")),
            "{}: {body}",
            app.label
        );
        assert!(
            body["detail"].as_str().unwrap_or("").contains("sms-code"),
            "{}: the factor is named: {body}",
            app.label
        );
        let proof = step_up(&app, &token, &mobile, "premium-payment").await;
        let (status, body) = pay(&app, &token, &policy_id, 2, Some(&proof), saved).await;
        assert_eq!(status, 201, "{}: {body}", app.label);

        let held_policy = apply(&app, &token, &large).await;
        let proof = step_up(&app, &token, &mobile, "premium-payment").await;
        let held = pay(&app, &token, &held_policy, 1, Some(&proof), card(CARD)).await;
        assert_eq!(
            (held.0, held.1["code"].as_str()),
            (202, Some("INSPAY-RISK-002")),
            "{}: {}",
            app.label,
            held.1
        );
        let text = held.1.to_string();
        assert!(!text.contains("txn.") && !text.contains("tier"), "{text}");
        let again = pay(&app, &token, &held_policy, 1, Some(&proof), card(CARD)).await;
        assert_eq!(
            again.1["detail"], held.1["detail"],
            "{}: one hold",
            app.label
        );
        assert_eq!(
            policy(&app, &token, &held_policy).await["status"],
            "applied"
        );

        let keyring = app.state.keyring();
        let store = &app.state.store;
        let subject = format!("premium:{held_policy}:1");
        let hold = store.risk_hold_open_for(&keyring, &subject).await;
        let hold = hold.expect("read").expect("open hold");
        assert!(
            !hold.resumable,
            "a card payment is not resumed without the customer"
        );
        let officer = inspay_store::keys::Actor {
            actor: "account:risk-officer",
            request_id: "test",
        };
        let now = app.state.now_ms();
        let released = store.risk_hold_decide(&keyring, &hold.id, true, None, officer, now);
        released.await.expect("released");
        let proof = step_up(&app, &token, &mobile, "premium-payment").await;
        let (status, body) = pay(&app, &token, &held_policy, 1, Some(&proof), card(CARD)).await;
        assert_eq!(status, 201, "{}: {body}", app.label);
        let after = store.risk_hold(&keyring, &hold.id).await.expect("read");
        assert_eq!(after.expect("hold").state.name(), "consumed");
        assert_eq!(policy(&app, &token, &held_policy).await["status"], "active");
        // The next instalment is decided afresh: held again, behind a new hold.
        let proof = step_up(&app, &token, &mobile, "premium-payment").await;
        let saved = json!({ "payment_method_id": methods["payment_methods"][0]["id"] });
        let next = pay(&app, &token, &held_policy, 2, Some(&proof), saved).await;
        assert_eq!(next.1["code"], "INSPAY-RISK-002", "{}", app.label);
        assert_ne!(next.1["detail"], held.1["detail"]);
        assert_ledger_sound(&app).await;
        app.stop().await;
    }
}
