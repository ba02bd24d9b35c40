//! Claims and payouts through the signed API, the simulated bank and the outbox, on both
//! databases: verified payout accounts, claims signed by the claimant, decisions and second
//! approvals signed with staff keys, the amount and limit rules, a refused payout sent again,
//! and the adjuster's data scope.

use crate::helpers::{TestApp, spawn_with, test_settings};
use crate::people::{PASSWORD, answer, customer, fresh_mobile, sign_in, step_up};
use crate::signing::{TEST_APP_ID, nonce};
use base64::Engine;
use inspay_core::calendar::{date_at_ms, date_text};
use inspay_core::ids::ClaimId;
use inspay_core::money::Amount;
use inspay_core::policy::{PaymentFrequency, ProductTerms};
use inspay_crypto::sm2::Sm2PrivateKey;
use inspay_identity::authorization::Role;
use inspay_identity::login_name::LoginName;
use inspay_identity::secret_hash::{ITERATIONS_MIN, SecretHash, SecretKind};
use inspay_protocol::claims::{ClaimDocument, ClaimVerdict, approval_document, decision_document};
use inspay_server::Settings;
use inspay_store::accounts::{NewAccount, Population};
use inspay_store::funds::NewProduct;
use inspay_store::keys::Actor;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU32, Ordering};

/// Verifies at the bank and receives payouts (it also pays the first premium).
const ACCOUNT: &str = "6222021234567890128";
/// Verifies at the bank, but the bank declines payouts to it.
const DECLINED_ACCOUNT: &str = "6222021234567070002";
/// The bank does not know it (`ACCOUNT_UNKNOWN`).
const UNKNOWN_ACCOUNT: &str = "6217001234000060044";
/// Verifies; used only by the leak test, so no other test puts it in a log.
const QUIET_ACCOUNT: &str = "6217001234567890122";
const DESCRIPTION: &str = "Two nights in hospital after a fall";
const DAY_MS: i64 = 86_400_000;
const OFFICER: Actor<'static> = Actor {
    actor: "operator:security-officer",
    request_id: "test",
};

static NEXT: AtomicU32 = AtomicU32::new(0);

fn next() -> u32 {
    NEXT.fetch_add(1, Ordering::Relaxed)
}

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

/// A signed request with a session, an optional step-up proof and an optional idempotency key.
async fn send(
    app: &TestApp,
    method: Method,
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

async fn get(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    send(app, Method::GET, path, token, None, None, None).await
}

/// POST with an idempotency key.
async fn post(app: &TestApp, path: &str, token: &str, key: &str, body: Value) -> (u16, Value) {
    send(app, Method::POST, path, token, None, Some(key), Some(body)).await
}

/// POST with a fresh idempotency key and an optional step-up proof.
async fn fund(
    app: &TestApp,
    path: &str,
    token: &str,
    proof: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let key = format!("idem-{}", nonce());
    send(
        app,
        Method::POST,
        path,
        token,
        proof,
        Some(&key),
        Some(body),
    )
    .await
}

/// Asserts an answer's status and problem code.
#[track_caller]
fn assert_refused(app: &TestApp, answer: &(u16, Value), status: u16, code: &str) {
    let got = (answer.0, answer.1["code"].as_str());
    assert_eq!(got, (status, Some(code)), "{}: {}", app.label, answer.1);
}

/// Asserts an answer's status and returns its body.
#[track_caller]
fn assert_ok(app: &TestApp, answer: (u16, Value), status: u16) -> Value {
    assert_eq!(answer.0, status, "{}: {}", app.label, answer.1);
    answer.1
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn sign(key: &Sm2PrivateKey, document: &[u8]) -> String {
    b64(&key.sign(document).expect("sign").to_der())
}

/// `value` encrypted for `field` to the server's field-transport key, as the SDK sends it.
async fn sealed(app: &TestApp, field: &str, value: &str) -> String {
    let (field_nonce, _) = app
        .state
        .store
        .field_nonce_issue(TEST_APP_ID, app.state.now_ms())
        .await
        .expect("field nonce");
    let keyring = app.state.keyring();
    let (serial, key) = keyring.transport_public_key().expect("transport key");
    inspay_protocol::fields::seal(key, serial, &field_nonce, field, value).expect("seal")
}

/// A policyholder signed in, with a device key enrolled for signing claims.
struct Holder {
    id: String,
    mobile: String,
    token: String,
    key_id: String,
    key: Sm2PrivateKey,
    policy_id: String,
}

/// A customer signed in with a device key enrolled, holding no policy yet.
async fn signed_in(app: &TestApp) -> Holder {
    let mobile = fresh_mobile();
    let id = customer(app, &mobile, false).await;
    let token = sign_in(app, &mobile, PASSWORD).await;
    let key = Sm2PrivateKey::generate().expect("device key");
    let now = app.state.now_ms();
    let enrolled = app
        .state
        .store
        .device_key_enrol(&id, key.public_key(), "phone", "test", now);
    let key_id = enrolled.await.expect("enrol a device key");
    let policy_id = String::new();
    Holder {
        id,
        mobile,
        token,
        key_id,
        key,
        policy_id,
    }
}

/// A customer holding an active policy with `cover_fen` of cover (first premium paid by card
/// through the simulated bank) and a device key.
async fn holder(app: &TestApp, cover_fen: i64) -> Holder {
    let fen = |fen: i64| Amount::from_fen(fen).expect("amount");
    let terms = ProductTerms::new(
        fen(cover_fen),
        fen(36_500),
        PaymentFrequency::Yearly,
        12,
        30,
    );
    let code = format!("CLAIM-{}", next());
    let name = format!("{code} product");
    let product = NewProduct {
        code,
        name,
        terms: terms.expect("terms"),
    };
    let (keyring, now) = (app.state.keyring(), app.state.now_ms());
    let created = app
        .state
        .store
        .product_create(&keyring, &product, "operator:test", "test", now);
    let product_id = created.await.expect("product").id.to_string();
    let mut holder = signed_in(app).await;
    let body = json!({ "product_id": product_id, "start_on": today(app) });
    let (status, policy) = fund(app, "/v1/policies", &holder.token, None, body).await;
    assert_eq!(status, 201, "{}: apply: {policy}", app.label);
    holder.policy_id = policy["id"].as_str().expect("policy id").to_string();
    let proof = step_up(app, &holder.token, &holder.mobile, "premium-payment").await;
    let card = json!({ "card_number": ACCOUNT, "expiry": "12/30", "cvv": "123" });
    let path = format!("/v1/policies/{}/premiums/1/pay", holder.policy_id);
    let (status, paid) = fund(app, &path, &holder.token, Some(&proof), card).await;
    assert_eq!(status, 201, "{}: first premium: {paid}", app.label);
    holder
}

const ACCOUNTS: &str = "/v1/me/payout-accounts";
/// The staff queue of filed claims.
const QUEUE: &str = "/v1/claim-queue/filed";

/// Binds a payout account after a step-up for `payout-account-add`.
async fn bind(app: &TestApp, holder: &Holder, number: &str) -> (u16, Value) {
    let proof = step_up(app, &holder.token, &holder.mobile, "payout-account-add").await;
    let body = json!({ "account_number": sealed(app, "account_number", number).await });
    fund(app, ACCOUNTS, &holder.token, Some(&proof), body).await
}

/// Binds an account the bank verifies; returns its id.
async fn bound(app: &TestApp, holder: &Holder, number: &str) -> String {
    let (status, body) = bind(app, holder, number).await;
    assert_eq!(status, 201, "{}: bind: {body}", app.label);
    body["id"].as_str().expect("account id").to_string()
}

/// A claim as its claimant signs it.
struct Claim {
    policy_id: String,
    claimant: String,
    claimed_fen: i64,
    incident_on: String,
    payout_account_id: String,
    key: String,
}

impl Claim {
    fn new(holder: &Holder, account: &str, claimed_fen: i64, incident_on: String) -> Claim {
        Claim {
            policy_id: holder.policy_id.clone(),
            claimant: holder.id.clone(),
            claimed_fen,
            incident_on,
            payout_account_id: account.to_string(),
            key: format!("claim-{}", nonce()),
        }
    }

    fn document(&self) -> Vec<u8> {
        ClaimDocument {
            policy_id: &self.policy_id,
            claimant: &self.claimant,
            claimed_fen: self.claimed_fen,
            incident_on: &self.incident_on,
            description: DESCRIPTION,
            payout_account_id: &self.payout_account_id,
            idempotency_key: &self.key,
        }
        .to_bytes()
    }

    fn body(&self, signed_with: Value, signature: &str) -> Value {
        json!({
            "policy_id": self.policy_id,
            "claimed_fen": self.claimed_fen,
            "incident_on": self.incident_on,
            "description": DESCRIPTION,
            "payout_account_id": self.payout_account_id,
            "signed_with": signed_with,
            "signature": signature,
        })
    }

    /// Signed with the holder's device key over its own document.
    fn signed(&self, holder: &Holder) -> Value {
        let signature = sign(&holder.key, &self.document());
        self.body(json!({ "device_key": holder.key_id }), &signature)
    }
}

fn today(app: &TestApp) -> String {
    date_text(date_at_ms(app.state.now_ms()))
}

async fn file_as(app: &TestApp, token: &str, key: &str, body: Value) -> (u16, Value) {
    post(app, "/v1/claims", token, key, body).await
}

/// Files a claim signed with the holder's device key; returns its id.
async fn filed(app: &TestApp, holder: &Holder, claim: &Claim) -> String {
    let (status, body) = file_as(app, &holder.token, &claim.key, claim.signed(holder)).await;
    assert_eq!(status, 201, "{}: file: {body}", app.label);
    assert_eq!(body["status"], "filed");
    body["id"].as_str().expect("claim id").to_string()
}

/// A staff member signed in (password and registered key), with that key for signing.
struct Staff {
    id: String,
    key_id: String,
    key: Sm2PrivateKey,
    token: String,
}

async fn staff(app: &TestApp, role: Role) -> Staff {
    let login = format!("staff{}", next());
    let hash = SecretHash::new(
        SecretKind::LoginPassword,
        PASSWORD.as_bytes(),
        ITERATIONS_MIN,
    )
    .expect("hash");
    let now = app.state.now_ms();
    let store = &app.state.store;
    let account = NewAccount {
        population: Population::Staff,
        login_name: &LoginName::staff(&login).expect("login"),
        person_id: None,
        password: &hash,
        must_change_password: false,
    };
    let id = store
        .account_create(&app.state.keyring(), &account, OFFICER, now)
        .await
        .expect("staff");
    store
        .role_grant(&id, role, OFFICER, now)
        .await
        .expect("role");
    let key = Sm2PrivateKey::generate().expect("key");
    let key_id = store
        .staff_public_key_register(&id, key.public_key(), "hardware token", OFFICER, now)
        .await
        .expect("staff key");
    let token = staff_sign_in(app, &login, &key_id, &key).await;
    Staff {
        id,
        key_id,
        key,
        token,
    }
}

async fn staff_sign_in(app: &TestApp, login: &str, key_id: &str, key: &Sm2PrivateKey) -> String {
    let post = |path: String, body: Value| async move {
        answer(crate::people::post(app, &path, None, None, body).await).await
    };
    let body = json!({ "login_name": login, "staff": true, "password": PASSWORD });
    let body = assert_ok(app, post("/v1/sign-in".into(), body).await, 200);
    let flow = body["flow_id"].as_str().expect("flow").to_string();
    let path = format!("/v1/sign-in/{flow}/key-challenge");
    let (status, challenge) = post(path, json!({ "key_id": key_id })).await;
    assert_eq!(status, 200, "{challenge}");
    let message = base64::engine::general_purpose::STANDARD
        .decode(challenge["message_base64"].as_str().expect("message"))
        .expect("b64");
    let body = json!({
        "challenge_id": challenge["challenge_id"],
        "signature_base64": sign(key, &message),
    });
    let (status, body) = post(format!("/v1/sign-in/{flow}/key"), body).await;
    assert_eq!(
        (status, body["level"].as_str()),
        (200, Some("two-factor")),
        "{body}"
    );
    body["session_token"].as_str().expect("token").to_string()
}

async fn assign(app: &TestApp, adjuster: &Staff, claim_id: &str) {
    app.state
        .store
        .claim_assign(&adjuster.id, claim_id, OFFICER, app.state.now_ms())
        .await
        .expect("assign the claim");
}

/// The adjuster's decision document approving `fen` of a claim.
fn decision(claim_id: &str, claim: &Claim, adjuster: &Staff, fen: i64) -> Vec<u8> {
    decision_document(
        claim_id,
        &claim.document(),
        ClaimVerdict::Approve(fen),
        &adjuster.id,
    )
}

/// The adjuster approves `approved_fen`, signing a decision over `signed_fen`.
async fn decide(
    app: &TestApp,
    adjuster: &Staff,
    claim_id: &str,
    claim: &Claim,
    approved_fen: i64,
    signed_fen: i64,
) -> (u16, Value) {
    let document = decision(claim_id, claim, adjuster, signed_fen);
    let body = json!({
        "decision": "approve",
        "approved_fen": approved_fen,
        "key_id": adjuster.key_id,
        "signature": sign(&adjuster.key, &document),
    });
    let path = format!("/v1/claims/{claim_id}/decision");
    fund(app, &path, &adjuster.token, None, body).await
}

/// The adjuster approves `fen`, signed over exactly that; returns the claim.
async fn approve(
    app: &TestApp,
    adjuster: &Staff,
    claim_id: &str,
    claim: &Claim,
    fen: i64,
) -> Value {
    assert_ok(
        app,
        decide(app, adjuster, claim_id, claim, fen, fen).await,
        200,
    )
}

/// `approver` signs the second approval of `adjuster`'s decision approving `fen`.
async fn second_approval(
    app: &TestApp,
    approver: &Staff,
    claim_id: &str,
    decision: &[u8],
) -> (u16, Value) {
    let document = approval_document(claim_id, decision, &approver.id);
    let body = json!({ "key_id": approver.key_id, "signature": sign(&approver.key, &document) });
    let path = format!("/v1/claims/{claim_id}/approval");
    fund(app, &path, &approver.token, None, body).await
}

/// The claim's status as stored.
async fn stored_status(app: &TestApp, claim_id: &str) -> String {
    let id = ClaimId::parse(claim_id).expect("claim id");
    let claim = app.state.store.claim(&app.state.keyring(), &id, None).await;
    claim.expect("claim").status.as_str().to_string()
}

/// Drives the outbox until the claim's payout has an answer (the background worker may take
/// the row first); returns the claim's status then.
async fn settle(app: &TestApp, claim_id: &str) -> String {
    for _ in 0..100 {
        inspay_server::payments::worker::drive(&app.state).await;
        let status = stored_status(app, claim_id).await;
        if status != "payout_pending" {
            return status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{}: the payout of {claim_id} never settled", app.label);
}

async fn assert_ledger_sound(app: &TestApp) {
    let report = app.state.store.ledger_check(&app.state.keyring()).await;
    let report = report.expect("ledger check");
    assert!(report.is_sound(), "{}: {report:?}", app.label);
}

/// The simulated bank's payout orders: (order id, amount, status).
async fn bank_payouts(app: &TestApp) -> Vec<(String, i64, String)> {
    let simulator = app.state.channel_slot().simulator_url().expect("simulator");
    let ledger: Value = crate::helpers::client(&app.ca, None)
        .get(format!("{simulator}/control/ledger"))
        .send()
        .await
        .expect("bank ledger")
        .json()
        .await
        .expect("json");
    let entries = ledger.as_array().expect("entries");
    entries
        .iter()
        .filter(|entry| entry["kind"] == "payout")
        .map(|entry| {
            let text = |name: &str| entry[name].as_str().unwrap_or_default().to_string();
            (
                text("order_id"),
                entry["amount_fen"].as_i64().unwrap_or(0),
                text("status"),
            )
        })
        .collect()
}

/// A customer pays the first premium, binds a verified payout account after a step-up and files
/// a claim signed with their device key; the assigned adjuster approves a large amount with a
/// staff-key signature and it waits for a second approver; the adjuster cannot approve it
/// (no payout.approve, and the roles cannot be held together; even moved to finance, they
/// cannot approve their own decision); a finance officer's signed approval starts the payout;
/// the outbox pays it through the bank; every signature verifies from the stored claim and the
/// ledger balances.
/// req: 5.3.2.2, 5.6.2-d2, 5.3.1.3, 5.3.4
#[tokio::test]
async fn a_claim_is_filed_assessed_approved_twice_and_paid() {
    for app in apps_with(|settings| settings.payments.large_claim_fen = 100_000).await {
        let holder = holder(&app, 50_000_000).await;
        let body = json!({ "account_number": sealed(&app, "account_number", ACCOUNT).await });
        let refused = fund(&app, ACCOUNTS, &holder.token, None, body).await;
        assert_refused(&app, &refused, 403, "INSPAY-AUTH-003");
        let account = assert_ok(&app, bind(&app, &holder, ACCOUNT).await, 201);
        assert_eq!(account["account"], "622202*********0128");
        let account_id = account["id"].as_str().expect("id").to_string();
        let (_, accounts) = get(&app, ACCOUNTS, &holder.token).await;
        assert_eq!(accounts["payout_accounts"][0]["id"], account_id.as_str());

        let claim = Claim::new(&holder, &account_id, 300_000, today(&app));
        let claim_id = filed(&app, &holder, &claim).await;
        let adjuster = staff(&app, Role::ClaimsAdjuster).await;
        let finance = staff(&app, Role::FinanceOfficer).await;
        assign(&app, &adjuster, &claim_id).await;
        let decided = approve(&app, &adjuster, &claim_id, &claim, 250_000).await;
        assert_eq!(decided["status"], "awaiting_second_approval");
        assert_eq!(decided["approved_fen"], 250_000);
        let decision_document = decision(&claim_id, &claim, &adjuster, 250_000);

        // Maker-checker: the adjuster cannot approve their own decision, however they try.
        let own = second_approval(&app, &adjuster, &claim_id, &decision_document).await;
        assert_refused(&app, &own, 403, "INSPAY-AUTH-005");
        let both = app
            .state
            .store
            .role_grant(&adjuster.id, Role::FinanceOfficer, OFFICER, 0);
        assert!(
            both.await.is_err(),
            "{}: adjuster and approver roles together",
            app.label
        );
        let now = app.state.now_ms();
        let store = &app.state.store;
        store
            .role_revoke(&adjuster.id, Role::ClaimsAdjuster, OFFICER, now)
            .await
            .expect("revoke");
        store
            .role_grant(&adjuster.id, Role::FinanceOfficer, OFFICER, now)
            .await
            .expect("grant");
        let own = second_approval(&app, &adjuster, &claim_id, &decision_document).await;
        assert_refused(&app, &own, 403, "INSPAY-PAY-011");

        let approved = assert_ok(
            &app,
            second_approval(&app, &finance, &claim_id, &decision_document).await,
            200,
        );
        assert_eq!(approved["status"], "payout_pending");
        assert_eq!(approved["second_approver"], finance.id.as_str());
        assert_eq!(approved["payouts"][0]["amount_fen"], 250_000);
        assert_eq!(settle(&app, &claim_id).await, "paid", "{}", app.label);

        let seen = assert_ok(
            &app,
            get(&app, &format!("/v1/claims/{claim_id}"), &finance.token).await,
            200,
        );
        assert_eq!(
            seen["signatures"],
            json!({ "claimant": true, "decision": true, "approval": true }),
            "{}",
            app.label
        );
        assert_eq!(seen["keys_registered"], true);
        assert_eq!(seen["description"], DESCRIPTION);
        assert_eq!(
            seen["claim"]["claimant_signer"],
            format!("device-key:{}", holder.key_id)
        );
        assert_eq!(seen["claim"]["payouts"][0]["status"], "succeeded");
        let digest = hex::encode(inspay_crypto::sm3::sm3(&claim.document()));
        assert_eq!(seen["claim_document_sm3"], digest);
        assert_ledger_sound(&app).await;

        let mine = assert_ok(&app, get(&app, "/v1/me/claims", &holder.token).await, 200);
        assert_eq!(mine["claims"][0]["id"], claim_id.as_str());
        assert_eq!(mine["claims"][0]["status"], "paid");
        assert_eq!(mine["claims"][0]["payouts"][0]["status"], "succeeded");
        let paid = bank_payouts(&app).await;
        assert_eq!(paid.len(), 1, "{}: {paid:?}", app.label);
        assert_eq!((paid[0].1, paid[0].2.as_str()), (250_000, "SUCCEEDED"));
        app.stop().await;
    }
}

/// The claimant's signature must be over the exact claim (amount, dates and the request's
/// idempotency key), with their device key or the signing application's key; the adjuster's over
/// the exact decision; the incident lies inside the cover and not in the future; another
/// customer's policy is "not found".
/// req: 5.6.2-d2, 5.6.1-d
#[tokio::test]
async fn claims_and_decisions_are_refused_unless_signed_over_exactly_what_is_sent() {
    for app in apps_with(|_| {}).await {
        let holder = holder(&app, 50_000_000).await;
        let account_id = bound(&app, &holder, ACCOUNT).await;
        // Signed over 80,001 fen, sent as 80,000 (with its own idempotency key: a refused
        // request's key stays spent).
        let forged = Claim::new(&holder, &account_id, 80_000, today(&app));
        let mut inflated = Claim::new(&holder, &account_id, 80_001, today(&app));
        inflated.key = forged.key.clone();
        let signature = sign(&holder.key, &inflated.document());
        let body = forged.body(json!({ "device_key": holder.key_id }), &signature);
        let refused = file_as(&app, &holder.token, &forged.key, body).await;
        assert_refused(&app, &refused, 422, "INSPAY-PAY-014");

        let claim = Claim::new(&holder, &account_id, 80_000, today(&app));
        let signer = app.client.signer.as_ref().expect("the test client signs");
        let by_app = claim.body(json!("application"), &sign(&signer.key, &claim.document()));
        let filed = assert_ok(
            &app,
            file_as(&app, &holder.token, &claim.key, by_app.clone()).await,
            201,
        );
        assert_eq!(filed["claimant_signer"], format!("app:{TEST_APP_ID}:1"));
        let claim_id = filed["id"].as_str().expect("id").to_string();
        // The same signed claim under another key: the document names the key it was signed
        // for, so the captured signature files nothing.
        let replay = file_as(&app, &holder.token, &format!("claim-{}", nonce()), by_app).await;
        assert_refused(&app, &replay, 422, "INSPAY-PAY-014");

        let now = app.state.now_ms();
        for day in [now + DAY_MS, now - DAY_MS] {
            let odd = Claim::new(&holder, &account_id, 80_000, date_text(date_at_ms(day)));
            let refused = file_as(&app, &holder.token, &odd.key, odd.signed(&holder)).await;
            assert_refused(&app, &refused, 422, "INSPAY-PAY-012");
        }

        let mut stranger = signed_in(&app).await;
        stranger.policy_id = holder.policy_id.clone();
        let theirs = Claim::new(
            &stranger,
            &uuid::Uuid::now_v7().to_string(),
            80_000,
            today(&app),
        );
        let refused = file_as(&app, &stranger.token, &theirs.key, theirs.signed(&stranger)).await;
        assert_refused(&app, &refused, 404, "INSPAY-REQ-006");
        let _ = assert_ok(
            &app,
            get(&app, &format!("/v1/me/claims/{claim_id}"), &stranger.token).await,
            404,
        );

        let adjuster = staff(&app, Role::ClaimsAdjuster).await;
        assign(&app, &adjuster, &claim_id).await;
        let refused = decide(&app, &adjuster, &claim_id, &claim, 60_000, 50_000).await;
        assert_refused(&app, &refused, 422, "INSPAY-PAY-014");
        assert_eq!(stored_status(&app, &claim_id).await, "filed");
        approve(&app, &adjuster, &claim_id, &claim, 60_000).await;
        assert_eq!(settle(&app, &claim_id).await, "paid", "{}", app.label);
        assert_ledger_sound(&app).await;
        app.stop().await;
    }
}

/// An approval is never above the amount claimed, and the approvals of one policy's claims
/// never add up to more than its cover.
/// req: 5.3.1.3
#[tokio::test]
async fn approvals_stay_within_the_claim_and_the_cover() {
    for app in apps_with(|_| {}).await {
        let holder = holder(&app, 300_000).await;
        let account_id = bound(&app, &holder, ACCOUNT).await;
        let adjuster = staff(&app, Role::ClaimsAdjuster).await;
        let above = Claim::new(&holder, &account_id, 300_001, today(&app));
        let refused = file_as(&app, &holder.token, &above.key, above.signed(&holder)).await;
        assert_refused(&app, &refused, 422, "INSPAY-PAY-012");

        let first = Claim::new(&holder, &account_id, 200_000, today(&app));
        let second = Claim::new(&holder, &account_id, 200_000, today(&app));
        let first_id = filed(&app, &holder, &first).await;
        let second_id = filed(&app, &holder, &second).await;
        for id in [&first_id, &second_id] {
            assign(&app, &adjuster, id).await;
        }
        let refused = decide(&app, &adjuster, &first_id, &first, 200_001, 200_001).await;
        assert_refused(&app, &refused, 422, "INSPAY-PAY-010");
        let decided = approve(&app, &adjuster, &first_id, &first, 200_000).await;
        assert_eq!(decided["status"], "payout_pending");
        // 100,000 of cover is left for the second claim.
        let refused = decide(&app, &adjuster, &second_id, &second, 100_001, 100_001).await;
        assert_refused(&app, &refused, 422, "INSPAY-PAY-010");
        approve(&app, &adjuster, &second_id, &second, 100_000).await;
        for id in [&first_id, &second_id] {
            assert_eq!(settle(&app, id).await, "paid", "{}", app.label);
        }
        let paid: i64 = bank_payouts(&app).await.iter().map(|payout| payout.1).sum();
        assert_eq!(paid, 300_000, "{}", app.label);
        assert_ledger_sound(&app).await;
        app.stop().await;
    }
}

/// A payout the bank refuses returns the claim to approved and the debt to claims payable; the
/// customer names another verified account and the payout goes out once more; the approved
/// amount leaves the bank exactly once and cannot be sent a second time.
/// req: 5.3.4, 5.3.1.3
#[tokio::test]
async fn a_refused_payout_is_compensated_and_sent_again_once() {
    for app in apps_with(|_| {}).await {
        let holder = holder(&app, 50_000_000).await;
        let declined_id = bound(&app, &holder, DECLINED_ACCOUNT).await;
        let claim = Claim::new(&holder, &declined_id, 90_000, today(&app));
        let claim_id = filed(&app, &holder, &claim).await;
        let adjuster = staff(&app, Role::ClaimsAdjuster).await;
        assign(&app, &adjuster, &claim_id).await;
        let decided = approve(&app, &adjuster, &claim_id, &claim, 70_000).await;
        assert_eq!(decided["status"], "payout_pending", "{}", app.label);
        assert_eq!(settle(&app, &claim_id).await, "approved", "{}", app.label);
        let path = format!("/v1/me/claims/{claim_id}");
        let (_, seen) = get(&app, &path, &holder.token).await;
        assert_eq!(
            seen["payouts"][0]["status"], "failed",
            "{}: {seen}",
            app.label
        );
        assert_eq!(seen["payouts"][0]["failure_code"], "ACCOUNT_INVALID");
        assert_ledger_sound(&app).await;

        let good_id = bound(&app, &holder, ACCOUNT).await;
        let restart = format!("/v1/me/claims/{claim_id}/payout");
        let body = json!({ "payout_account_id": good_id });
        let again = assert_ok(
            &app,
            fund(&app, &restart, &holder.token, None, body.clone()).await,
            202,
        );
        assert_eq!(again["status"], "payout_pending");
        assert_eq!(settle(&app, &claim_id).await, "paid", "{}", app.label);
        let once_more = fund(&app, &restart, &holder.token, None, body).await;
        assert_refused(&app, &once_more, 409, "INSPAY-PAY-009");

        let (_, seen) = get(&app, &path, &holder.token).await;
        let payouts = seen["payouts"].as_array().expect("payouts");
        let statuses: Vec<_> = payouts.iter().map(|p| p["status"].as_str()).collect();
        assert_eq!(
            statuses,
            [Some("failed"), Some("succeeded")],
            "{}",
            app.label
        );
        assert_eq!(payouts[1]["payout_account_id"], good_id.as_str());
        assert_eq!(payouts[1]["amount_fen"], 70_000);
        let bank = bank_payouts(&app).await;
        let moved: i64 = bank
            .iter()
            .filter(|p| p.2 == "SUCCEEDED")
            .map(|p| p.1)
            .sum();
        assert_eq!((moved, bank.len()), (70_000, 2), "{}: {bank:?}", app.label);
        assert_ledger_sound(&app).await;
        app.stop().await;
    }
}

/// An adjuster reaches only the claims assigned to them: another claim is "not found", to
/// read and to decide, and absent from their queue; a customer has no staff claim route.
/// req: 5.6.1-d
#[tokio::test]
async fn adjusters_reach_only_the_claims_assigned_to_them() {
    for app in apps_with(|_| {}).await {
        let holder = holder(&app, 50_000_000).await;
        let account_id = bound(&app, &holder, ACCOUNT).await;
        let claim = Claim::new(&holder, &account_id, 50_000, today(&app));
        let claim_id = filed(&app, &holder, &claim).await;
        let assigned = staff(&app, Role::ClaimsAdjuster).await;
        let other = staff(&app, Role::ClaimsAdjuster).await;
        assign(&app, &assigned, &claim_id).await;

        let _ = assert_ok(
            &app,
            get(&app, &format!("/v1/claims/{claim_id}"), &other.token).await,
            404,
        );
        let refused = decide(&app, &other, &claim_id, &claim, 50_000, 50_000).await;
        assert_refused(&app, &refused, 404, "INSPAY-REQ-006");
        let listed = |queue: &Value| {
            let claims = queue["claims"].as_array().expect("claims");
            claims.iter().any(|c| c["id"] == claim_id.as_str())
        };
        let queue = assert_ok(&app, get(&app, QUEUE, &other.token).await, 200);
        assert!(!listed(&queue), "{}: {queue}", app.label);
        let (_, queue) = get(&app, QUEUE, &assigned.token).await;
        assert!(listed(&queue), "{}: {queue}", app.label);
        let seen = assert_ok(
            &app,
            get(&app, &format!("/v1/claims/{claim_id}"), &assigned.token).await,
            200,
        );
        assert_eq!(seen["claim"]["id"], claim_id.as_str());
        let (status, _) = get(&app, QUEUE, &holder.token).await;
        assert_eq!(status, 403, "{}: customers hold no claim.read", app.label);
        assert_eq!(stored_status(&app, &claim_id).await, "filed");
        app.stop().await;
    }
}

/// An account the bank cannot verify as the customer's is refused and nothing is stored; the
/// account number never appears in an answer, the audit log or a log line, only masked.
/// req: 5.6.2-d2, 5.6.1-a5
#[tokio::test]
async fn unverified_payout_accounts_are_refused_and_numbers_never_leak() {
    for app in apps_with(|_| {}).await {
        let holder = holder(&app, 50_000_000).await;
        let mut answers = vec![];
        let refused = bind(&app, &holder, UNKNOWN_ACCOUNT).await;
        assert_refused(&app, &refused, 422, "INSPAY-PAY-013");
        assert!(
            refused.1["detail"]
                .as_str()
                .is_some_and(|d| d.contains("ACCOUNT_UNKNOWN"))
        );
        answers.push(refused.1);
        let listed = get(&app, ACCOUNTS, &holder.token).await;
        assert_eq!(listed.1["payout_accounts"], json!([]), "{}", app.label);
        let account = assert_ok(&app, bind(&app, &holder, QUIET_ACCOUNT).await, 201);
        assert_eq!(account["account"], "621700*********0122");
        answers.push(account);
        answers.push(get(&app, ACCOUNTS, &holder.token).await.1);
        let audit = app
            .state
            .store
            .audit_entries(0, 100_000)
            .await
            .expect("audit");
        assert!(
            audit
                .iter()
                .any(|entry| entry.action == "payout-account.add")
        );
        let audit: Vec<String> = audit
            .iter()
            .map(|e| format!("{} {} {} {}", e.actor, e.action, e.object, e.detail))
            .collect();
        for number in [UNKNOWN_ACCOUNT, QUIET_ACCOUNT] {
            let middle = &number[6..15];
            for text in answers
                .iter()
                .map(Value::to_string)
                .chain(audit.iter().cloned())
            {
                assert!(!text.contains(middle), "{}: {text}", app.label);
            }
        }
        app.stop().await;
    }
    let logs = crate::helpers::logs();
    for number in [UNKNOWN_ACCOUNT, QUIET_ACCOUNT] {
        assert!(
            !logs.contains(&number[6..15]),
            "a log line holds an account number"
        );
    }
}

/// The payout account number is as sensitive as a card number: sent in clear, it is refused
/// like any sensitive field.
/// req: 5.6.2-d2
#[tokio::test]
#[ignore = "bug: account_number is not in inspay_protocol::fields::SENSITIVE_FIELDS, so the \
            edge accepts the payout account number in clear"]
async fn payout_account_numbers_must_arrive_encrypted() {
    for app in apps_with(|_| {}).await {
        let holder = holder(&app, 50_000_000).await;
        let proof = step_up(&app, &holder.token, &holder.mobile, "payout-account-add").await;
        // Signed like the SDK signs, but the number left in clear.
        let body = serde_json::to_vec(&json!({ "account_number": ACCOUNT })).expect("json");
        let signer = app.client.signer.as_ref().expect("the test client signs");
        let response = app
            .client
            .unsigned()
            .post(app.url(ACCOUNTS))
            .header("content-type", "application/json")
            .header("authorization", signer.header("POST", ACCOUNTS, &body))
            .header(inspay_protocol::SESSION_HEADER, &holder.token)
            .header(inspay_protocol::SDK_HEADER, crate::signing::TEST_SDK)
            .header("x-inspay-step-up", &proof)
            .header("idempotency-key", format!("idem-{}", nonce()))
            .body(body)
            .send()
            .await
            .expect("request");
        let refused = answer(response).await;
        assert_refused(&app, &refused, 422, "INSPAY-SIG-014");
        app.stop().await;
    }
}

/// An approval above the per-claim payout limit is refused by the risk check, before anything
/// is recorded; within it, the claim is approved.
/// req: 5.3.3.4-b
#[tokio::test]
async fn approvals_above_the_payout_limit_are_refused() {
    for app in apps_with(|settings| settings.payments.payout_per_claim_fen_max = 50_000).await {
        let holder = holder(&app, 50_000_000).await;
        let account_id = bound(&app, &holder, ACCOUNT).await;
        let claim = Claim::new(&holder, &account_id, 80_000, today(&app));
        let claim_id = filed(&app, &holder, &claim).await;
        let adjuster = staff(&app, Role::ClaimsAdjuster).await;
        assign(&app, &adjuster, &claim_id).await;
        let refused = decide(&app, &adjuster, &claim_id, &claim, 60_000, 60_000).await;
        assert_refused(&app, &refused, 422, "INSPAY-PAY-005");
        assert_eq!(stored_status(&app, &claim_id).await, "filed");
        approve(&app, &adjuster, &claim_id, &claim, 50_000).await;
        assert_eq!(settle(&app, &claim_id).await, "paid", "{}", app.label);
        app.stop().await;
    }
}
