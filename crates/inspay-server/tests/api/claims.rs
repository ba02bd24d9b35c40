//! Claims and payouts through the signed API, the simulated bank and the outbox, on both
//! databases: verified payout accounts, claims signed by the claimant, decisions and second
//! approvals signed with staff keys, the amount and limit rules, a refused payout sent again,
//! and the adjuster's data scope.

use crate::helpers::{TestApp, spawn_with, test_settings};
use crate::people::{PASSWORD, answer, customer, fresh_mobile, sign_in, step_up};
use crate::signing::{TEST_APP_ID, TEST_SDK, nonce};
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
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU32, Ordering};

/// Verifies at the bank and receives payouts (it also pays the first premium).
const ACCOUNT: &str = "6222021234567890128";
/// Verifies at the bank, but the bank declines payouts to it.
const DECLINED_ACCOUNT: &str = "6222021234567070002";
/// The bank does not know it (`ACCOUNT_UNKNOWN`).
const UNKNOWN_ACCOUNT: &str = "6217001234000060044";
/// Verifies; bound only by the leak test.
const OTHER_ACCOUNT: &str = "6217001234567890122";
const DESCRIPTION: &str = "Two nights in hospital after a fall";
const DAY_MS: i64 = 86_400_000;
const ACCOUNTS: &str = "/v1/me/payout-accounts";
/// The staff queue of filed claims.
const QUEUE: &str = "/v1/claim-queue/filed";
const OFFICER: Actor<'static> = Actor {
    actor: "operator:security-officer",
    request_id: "test",
};

static NEXT: AtomicU32 = AtomicU32::new(0);

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

async fn get(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    let request = app.client.get(app.url(path)).bearer_auth(token);
    answer(request.send().await.expect("request")).await
}

/// A signed POST with a session and an idempotency key.
async fn post(app: &TestApp, path: &str, token: &str, key: &str, body: Value) -> (u16, Value) {
    let request = app.client.post(app.url(path)).bearer_auth(token);
    let request = request.header("idempotency-key", key).json(&body);
    answer(request.send().await.expect("request")).await
}

/// A signed POST with a session, a fresh idempotency key and an optional step-up proof.
async fn fund(
    app: &TestApp,
    path: &str,
    token: &str,
    proof: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let key = format!("idem-{}", nonce());
    let mut request = app.client.post(app.url(path)).bearer_auth(token);
    if let Some(proof) = proof {
        request = request.header("x-inspay-step-up", proof);
    }
    let request = request.header("idempotency-key", key).json(&body);
    answer(request.send().await.expect("request")).await
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

fn sign(key: &Sm2PrivateKey, document: &[u8]) -> String {
    let der = key.sign(document).expect("sign").to_der();
    base64::engine::general_purpose::STANDARD.encode(der)
}

fn today(app: &TestApp) -> String {
    date_text(date_at_ms(app.state.now_ms()))
}

/// A customer signed in, with a device key enrolled for signing claims.
struct Holder {
    id: String,
    mobile: String,
    token: String,
    key_id: String,
    key: Sm2PrivateKey,
    policy_id: String,
}

/// A customer signed in with a device key, holding no policy yet.
async fn signed_in(app: &TestApp) -> Holder {
    let mobile = fresh_mobile();
    let id = customer(app, &mobile, false).await;
    let token = sign_in(app, &mobile, PASSWORD).await;
    let key = Sm2PrivateKey::generate().expect("device key");
    let store = &app.state.store;
    let now = app.state.now_ms();
    let enrolled = store.device_key_enrol(&id, key.public_key(), "phone", "test", now);
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

/// A customer holding an active policy with `cover_fen` of cover (the first premium paid by
/// card through the simulated bank) and a device key.
async fn holder(app: &TestApp, cover_fen: i64) -> Holder {
    let fen = |fen: i64| Amount::from_fen(fen).expect("amount");
    let yearly = PaymentFrequency::Yearly;
    let terms = ProductTerms::new(fen(cover_fen), fen(36_500), yearly, 12, 30).expect("terms");
    let code = format!("CLAIM-{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let name = format!("{code} product");
    let product = NewProduct { code, name, terms };
    let (keyring, now) = (app.state.keyring(), app.state.now_ms());
    let store = &app.state.store;
    let created = store.product_create(&keyring, &product, "operator:test", "test", now);
    let product_id = created.await.expect("product").id.to_string();
    let mut holder = signed_in(app).await;
    let body = json!({ "product_id": product_id, "start_on": today(app) });
    let policy = assert_ok(
        app,
        fund(app, "/v1/policies", &holder.token, None, body).await,
        201,
    );
    holder.policy_id = policy["id"].as_str().expect("policy id").to_string();
    let proof = step_up(app, &holder.token, &holder.mobile, "premium-payment").await;
    let card = json!({ "card_number": ACCOUNT, "expiry": "12/30", "cvv": "123" });
    let path = format!("/v1/policies/{}/premiums/1/pay", holder.policy_id);
    assert_ok(
        app,
        fund(app, &path, &holder.token, Some(&proof), card).await,
        201,
    );
    holder
}

/// Binds a payout account after a step-up for `payout-account-add` (the client encrypts the
/// number like a card number).
async fn bind(app: &TestApp, holder: &Holder, number: &str) -> (u16, Value) {
    let proof = step_up(app, &holder.token, &holder.mobile, "payout-account-add").await;
    let body = json!({ "account_number": number });
    fund(app, ACCOUNTS, &holder.token, Some(&proof), body).await
}

/// Binds an account the bank verifies; returns its id.
async fn bound(app: &TestApp, holder: &Holder, number: &str) -> String {
    let account = assert_ok(app, bind(app, holder, number).await, 201);
    account["id"].as_str().expect("account id").to_string()
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
    /// A claim on the holder's policy for an incident today, under a fresh idempotency key.
    fn new(app: &TestApp, holder: &Holder, account: &str, claimed_fen: i64) -> Claim {
        Claim {
            policy_id: holder.policy_id.clone(),
            claimant: holder.id.clone(),
            claimed_fen,
            incident_on: today(app),
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

/// Files `body` as the holder, under the claim's idempotency key.
async fn file(app: &TestApp, holder: &Holder, claim: &Claim, body: Value) -> (u16, Value) {
    post(app, "/v1/claims", &holder.token, &claim.key, body).await
}

/// Files a claim signed with the holder's device key; returns its id.
async fn filed(app: &TestApp, holder: &Holder, claim: &Claim) -> String {
    let body = assert_ok(
        app,
        file(app, holder, claim, claim.signed(holder)).await,
        201,
    );
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
    let login = format!("staff{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let kind = SecretKind::LoginPassword;
    let hash = SecretHash::new(kind, PASSWORD.as_bytes(), ITERATIONS_MIN).expect("hash");
    let (keyring, now) = (app.state.keyring(), app.state.now_ms());
    let store = &app.state.store;
    let account = NewAccount {
        population: Population::Staff,
        login_name: &LoginName::staff(&login).expect("login"),
        person_id: None,
        password: &hash,
        must_change_password: false,
    };
    let created = store.account_create(&keyring, &account, OFFICER, now);
    let id = created.await.expect("staff");
    store
        .role_grant(&id, role, OFFICER, now)
        .await
        .expect("role");
    let key = Sm2PrivateKey::generate().expect("key");
    let registered = store.staff_public_key_register(&id, key.public_key(), "token", OFFICER, now);
    let key_id = registered.await.expect("staff key");
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
    let flow = assert_ok(app, post("/v1/sign-in".into(), body).await, 200);
    let flow = flow["flow_id"].as_str().expect("flow").to_string();
    let path = format!("/v1/sign-in/{flow}/key-challenge");
    let challenge = assert_ok(app, post(path, json!({ "key_id": key_id })).await, 200);
    let message = base64::engine::general_purpose::STANDARD
        .decode(challenge["message_base64"].as_str().expect("message"))
        .expect("b64");
    let body = json!({
        "challenge_id": challenge["challenge_id"],
        "signature_base64": sign(key, &message),
    });
    let session = assert_ok(
        app,
        post(format!("/v1/sign-in/{flow}/key"), body).await,
        200,
    );
    assert_eq!(session["level"], "two-factor", "{session}");
    session["session_token"]
        .as_str()
        .expect("token")
        .to_string()
}

async fn assign(app: &TestApp, adjuster: &Staff, claim_id: &str) {
    let now = app.state.now_ms();
    let assigned = app
        .state
        .store
        .claim_assign(&adjuster.id, claim_id, OFFICER, now);
    assigned.await.expect("assign the claim");
}

/// The adjuster's decision document approving `fen` of a claim.
fn decision(claim_id: &str, claim: &Claim, adjuster: &Staff, fen: i64) -> Vec<u8> {
    let verdict = ClaimVerdict::Approve(fen);
    decision_document(claim_id, &claim.document(), verdict, &adjuster.id)
}

/// The adjuster approves `approved_fen` of the claim `id`, signing a decision over
/// `signed_fen`.
async fn decide(
    app: &TestApp,
    adjuster: &Staff,
    id: &str,
    claim: &Claim,
    approved_fen: i64,
    signed_fen: i64,
) -> (u16, Value) {
    let document = decision(id, claim, adjuster, signed_fen);
    let body = json!({
        "decision": "approve",
        "approved_fen": approved_fen,
        "key_id": adjuster.key_id,
        "signature": sign(&adjuster.key, &document),
    });
    let path = format!("/v1/claims/{id}/decision");
    fund(app, &path, &adjuster.token, None, body).await
}

/// The adjuster approves `fen`, signed over exactly that; returns the claim.
async fn approve(app: &TestApp, adjuster: &Staff, id: &str, claim: &Claim, fen: i64) -> Value {
    assert_ok(app, decide(app, adjuster, id, claim, fen, fen).await, 200)
}

/// `approver` signs a confirmation of the decision document `decision`.
async fn second_approval(
    app: &TestApp,
    approver: &Staff,
    id: &str,
    decision: &[u8],
) -> (u16, Value) {
    second_verdict(app, approver, id, decision, true).await
}

/// `approver` signs their verdict (confirm or reject) on the decision document `decision`.
async fn second_verdict(
    app: &TestApp,
    approver: &Staff,
    id: &str,
    decision: &[u8],
    confirm: bool,
) -> (u16, Value) {
    let document = approval_document(id, decision, confirm, &approver.id);
    let signature = sign(&approver.key, &document);
    let verdict = if confirm { "confirm" } else { "reject" };
    let body = json!({ "verdict": verdict, "key_id": approver.key_id, "signature": signature });
    let path = format!("/v1/claims/{id}/approval");
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

/// The simulated bank's payout orders, oldest first: (amount, status).
async fn bank_payouts(app: &TestApp) -> Vec<(i64, String)> {
    let simulator = app.state.channel_slot().simulator_url().expect("simulator");
    let url = format!("{simulator}/control/ledger");
    let response = crate::helpers::client(&app.ca, None).get(url).send().await;
    let ledger: Value = response.expect("bank ledger").json().await.expect("json");
    let entries = ledger.as_array().expect("entries").iter();
    let payouts = entries.filter(|entry| entry["kind"] == "payout");
    payouts
        .map(|entry| {
            let amount = entry["amount_fen"].as_i64().unwrap_or(0);
            (amount, entry["status"].as_str().unwrap_or("").to_string())
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
        let body = json!({ "account_number": ACCOUNT });
        let refused = fund(&app, ACCOUNTS, &holder.token, None, body).await;
        assert_refused(&app, &refused, 403, "INSPAY-AUTH-003");
        let account = assert_ok(&app, bind(&app, &holder, ACCOUNT).await, 201);
        assert_eq!(account["account"], "622202*********0128");
        let account_id = account["id"].as_str().expect("id").to_string();
        let (_, accounts) = get(&app, ACCOUNTS, &holder.token).await;
        assert_eq!(accounts["payout_accounts"][0]["id"], account_id.as_str());

        let claim = Claim::new(&app, &holder, &account_id, 300_000);
        let claim_id = filed(&app, &holder, &claim).await;
        let adjuster = staff(&app, Role::ClaimsAdjuster).await;
        let finance = staff(&app, Role::FinanceOfficer).await;
        assign(&app, &adjuster, &claim_id).await;
        let decided = approve(&app, &adjuster, &claim_id, &claim, 250_000).await;
        assert_eq!(decided["status"], "awaiting_second_approval");
        assert_eq!(decided["approved_fen"], 250_000);
        let decision = decision(&claim_id, &claim, &adjuster, 250_000);

        // Maker-checker: the adjuster cannot approve their own decision, however they try.
        let own = second_approval(&app, &adjuster, &claim_id, &decision).await;
        assert_refused(&app, &own, 403, "INSPAY-AUTH-005");
        let (store, now) = (&app.state.store, app.state.now_ms());
        let both = store.role_grant(&adjuster.id, Role::FinanceOfficer, OFFICER, now);
        assert!(
            both.await.is_err(),
            "{}: adjuster and approver at once",
            app.label
        );
        let revoked = store.role_revoke(&adjuster.id, Role::ClaimsAdjuster, OFFICER, now);
        revoked.await.expect("revoke");
        let granted = store.role_grant(&adjuster.id, Role::FinanceOfficer, OFFICER, now);
        granted.await.expect("grant");
        let own = second_approval(&app, &adjuster, &claim_id, &decision).await;
        assert_refused(&app, &own, 403, "INSPAY-PAY-011");

        let approved = second_approval(&app, &finance, &claim_id, &decision).await;
        let approved = assert_ok(&app, approved, 200);
        assert_eq!(approved["status"], "payout_pending");
        assert_eq!(approved["second_approver"], finance.id.as_str());
        assert_eq!(approved["payouts"][0]["amount_fen"], 250_000);
        assert_eq!(settle(&app, &claim_id).await, "paid", "{}", app.label);

        let path = format!("/v1/claims/{claim_id}");
        let seen = assert_ok(&app, get(&app, &path, &finance.token).await, 200);
        let all = json!({ "claimant": true, "decision": true, "approval": true });
        assert_eq!(seen["signatures"], all, "{}", app.label);
        assert_eq!(seen["keys_registered"], true);
        assert_eq!(seen["description"], DESCRIPTION);
        let signer = format!("device-key:{}", holder.key_id);
        assert_eq!(seen["claim"]["claimant_signer"], signer);
        assert_eq!(seen["claim"]["payouts"][0]["status"], "succeeded");
        let digest = hex::encode(inspay_crypto::sm3::sm3(&claim.document()));
        assert_eq!(seen["claim_document_sm3"], digest);
        assert_ledger_sound(&app).await;

        let mine = assert_ok(&app, get(&app, "/v1/me/claims", &holder.token).await, 200);
        assert_eq!(mine["claims"][0]["id"], claim_id.as_str());
        assert_eq!(mine["claims"][0]["status"], "paid");
        assert_eq!(mine["claims"][0]["payouts"][0]["status"], "succeeded");
        let paid = bank_payouts(&app).await;
        assert_eq!(paid, [(250_000, "SUCCEEDED".to_string())], "{}", app.label);

        // The checker may also refuse: a second large claim rejected by the finance officer
        // is rejected, pays nothing, and its signed verdict verifies.
        let second = Claim::new(&app, &holder, &account_id, 200_000);
        let second_id = filed(&app, &holder, &second).await;
        let other_adjuster = staff(&app, Role::ClaimsAdjuster).await;
        assign(&app, &other_adjuster, &second_id).await;
        let decided = approve(&app, &other_adjuster, &second_id, &second, 150_000).await;
        assert_eq!(decided["status"], "awaiting_second_approval");
        let decided = self::decision(&second_id, &second, &other_adjuster, 150_000);
        let refused = second_verdict(&app, &finance, &second_id, &decided, false).await;
        let refused = assert_ok(&app, refused, 200);
        assert_eq!(refused["status"], "rejected", "{}", app.label);
        assert_eq!(refused["payouts"], json!([]));
        let path = format!("/v1/claims/{second_id}");
        let seen = assert_ok(&app, get(&app, &path, &finance.token).await, 200);
        assert_eq!(seen["signatures"], all, "{}", app.label);
        assert_eq!(bank_payouts(&app).await.len(), 1, "{}", app.label);
        assert_ledger_sound(&app).await;

        // The payout is on the customer's statement, and the day reconciles clean against
        // the bank: the first premium and the payout, matched order by order.
        let statement = get(&app, "/v1/me/statement", &holder.token).await;
        let statement = assert_ok(&app, statement, 200);
        assert_eq!(statement["paid_out_fen"], 250_000, "{}", app.label);
        let lines = statement["lines"].as_array().expect("lines");
        let payout = lines.iter().find(|line| line["kind"] == "payout");
        let payout = payout.expect("a payout line");
        assert_eq!(payout["paid_out_fen"], 250_000);
        assert_eq!(payout["card"], "622202*********0128");
        let csv = statement["csv"].as_str().expect("csv");
        assert!(csv.contains(",payout,"), "{csv}");
        use inspay_server::payments::reconcile::daily;
        let today = date_at_ms(app.state.now_ms());
        let next_day = inspay_core::calendar::day_start_ms(today) + DAY_MS + 3 * 3_600_000;
        daily(&app.state, next_day).await;
        let run = sqlx::query(
            "SELECT matched, CAST(clean AS BIGINT) FROM reconciliations
             WHERE day = $1 AND source = 'channel'",
        )
        .bind(date_text(today))
        .fetch_one(app.state.store.pool())
        .await
        .expect("the day's run");
        use sqlx::Row;
        let (matched, clean): (i64, i64) = (run.get(0), run.get(1));
        assert_eq!((matched, clean), (2, 1), "{}", app.label);
        app.stop().await;
    }
}

/// The claimant's signature must be over the exact claim (amount, date and the request's
/// idempotency key), with their device key or the signing application's key; the adjuster's
/// over the exact decision; the incident lies inside the cover and not in the future; another
/// customer's policy and claim are "not found".
/// req: 5.6.2-d2, 5.6.1-d
#[tokio::test]
async fn claims_and_decisions_are_refused_unless_signed_over_exactly_what_is_sent() {
    for app in apps_with(|_| {}).await {
        let holder = holder(&app, 50_000_000).await;
        let account_id = bound(&app, &holder, ACCOUNT).await;
        // Signed over 80,001 fen, sent as 80,000.
        let forged = Claim::new(&app, &holder, &account_id, 80_000);
        let mut inflated = Claim::new(&app, &holder, &account_id, 80_001);
        inflated.key = forged.key.clone();
        let signature = sign(&holder.key, &inflated.document());
        let body = forged.body(json!({ "device_key": holder.key_id }), &signature);
        let refused = file(&app, &holder, &forged, body).await;
        assert_refused(&app, &refused, 422, "INSPAY-PAY-014");

        let claim = Claim::new(&app, &holder, &account_id, 80_000);
        let signer = app.client.signer.as_ref().expect("the test client signs");
        let by_app = claim.body(json!("application"), &sign(&signer.key, &claim.document()));
        let filed = assert_ok(&app, file(&app, &holder, &claim, by_app.clone()).await, 201);
        assert_eq!(filed["claimant_signer"], format!("app:{TEST_APP_ID}:1"));
        let claim_id = filed["id"].as_str().expect("id").to_string();
        // Sent again with its key: the first answer, one claim.
        let again = assert_ok(&app, file(&app, &holder, &claim, by_app.clone()).await, 201);
        assert_eq!(again["id"], claim_id.as_str());
        // The same signed claim under another key: the document names the key it was signed
        // for, so a captured signature files nothing more.
        let path = "/v1/claims";
        let replay = post(&app, path, &holder.token, &format!("k-{}", nonce()), by_app).await;
        assert_refused(&app, &replay, 422, "INSPAY-PAY-014");

        let now = app.state.now_ms();
        for day in [now + DAY_MS, now - DAY_MS] {
            let mut odd = Claim::new(&app, &holder, &account_id, 80_000);
            odd.incident_on = date_text(date_at_ms(day));
            let refused = file(&app, &holder, &odd, odd.signed(&holder)).await;
            assert_refused(&app, &refused, 422, "INSPAY-PAY-012");
        }

        let mut stranger = signed_in(&app).await;
        stranger.policy_id = holder.policy_id.clone();
        let unknown_account = uuid::Uuid::now_v7().to_string();
        let theirs = Claim::new(&app, &stranger, &unknown_account, 80_000);
        let refused = file(&app, &stranger, &theirs, theirs.signed(&stranger)).await;
        assert_refused(&app, &refused, 404, "INSPAY-REQ-006");
        let path = format!("/v1/me/claims/{claim_id}");
        assert_eq!(
            get(&app, &path, &stranger.token).await.0,
            404,
            "{}",
            app.label
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

/// Nothing above the cover is claimed; an approval is never above the amount claimed, and the
/// approvals of one policy's claims never add up to more than its cover.
/// req: 5.3.1.3
#[tokio::test]
async fn approvals_stay_within_the_claim_and_the_cover() {
    for app in apps_with(|_| {}).await {
        let holder = holder(&app, 300_000).await;
        let account_id = bound(&app, &holder, ACCOUNT).await;
        let adjuster = staff(&app, Role::ClaimsAdjuster).await;
        let above = Claim::new(&app, &holder, &account_id, 300_001);
        let refused = file(&app, &holder, &above, above.signed(&holder)).await;
        assert_refused(&app, &refused, 422, "INSPAY-PAY-012");

        let first = Claim::new(&app, &holder, &account_id, 200_000);
        let second = Claim::new(&app, &holder, &account_id, 200_000);
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
        let paid: i64 = bank_payouts(&app).await.iter().map(|payout| payout.0).sum();
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
        let claim = Claim::new(&app, &holder, &declined_id, 90_000);
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
        let again = fund(&app, &restart, &holder.token, None, body.clone()).await;
        assert_eq!(assert_ok(&app, again, 202)["status"], "payout_pending");
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
        let expected = [(70_000, "FAILED"), (70_000, "SUCCEEDED")].map(|(f, s)| (f, s.to_string()));
        assert_eq!(bank, expected, "{}: paid exactly once", app.label);
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
        let claim = Claim::new(&app, &holder, &account_id, 50_000);
        let claim_id = filed(&app, &holder, &claim).await;
        let assigned = staff(&app, Role::ClaimsAdjuster).await;
        let other = staff(&app, Role::ClaimsAdjuster).await;
        assign(&app, &assigned, &claim_id).await;

        let path = format!("/v1/claims/{claim_id}");
        assert_eq!(get(&app, &path, &other.token).await.0, 404, "{}", app.label);
        let refused = decide(&app, &other, &claim_id, &claim, 50_000, 50_000).await;
        assert_refused(&app, &refused, 404, "INSPAY-REQ-006");
        let listed = |queue: &Value| {
            let claims = queue["claims"].as_array().expect("claims");
            claims.iter().any(|c| c["id"] == claim_id.as_str())
        };
        let queue = assert_ok(&app, get(&app, QUEUE, &other.token).await, 200);
        assert!(!listed(&queue), "{}: {queue}", app.label);
        let queue = assert_ok(&app, get(&app, QUEUE, &assigned.token).await, 200);
        assert!(listed(&queue), "{}: {queue}", app.label);
        let seen = assert_ok(&app, get(&app, &path, &assigned.token).await, 200);
        assert_eq!(seen["claim"]["id"], claim_id.as_str());
        let (status, _) = get(&app, QUEUE, &holder.token).await;
        assert_eq!(status, 403, "{}: customers hold no claim.read", app.label);
        assert_eq!(stored_status(&app, &claim_id).await, "filed");
        app.stop().await;
    }
}

/// An account the bank cannot verify as the customer's is refused and nothing is stored; no
/// hidden digit of an account number appears in an answer, the audit log or a log line.
/// req: 5.6.2-d2, 5.6.1-a5
#[tokio::test]
async fn unverified_payout_accounts_are_refused_and_numbers_never_leak() {
    // The digits the masked form hides.
    let hidden = |number: &'static str| &number[6..15];
    for app in apps_with(|_| {}).await {
        let holder = holder(&app, 50_000_000).await;
        let refused = bind(&app, &holder, UNKNOWN_ACCOUNT).await;
        assert_refused(&app, &refused, 422, "INSPAY-PAY-013");
        let detail = refused.1["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains("ACCOUNT_UNKNOWN"),
            "{}: {detail}",
            app.label
        );
        let listed = get(&app, ACCOUNTS, &holder.token).await.1;
        assert_eq!(listed["payout_accounts"], json!([]), "{}", app.label);
        let account = assert_ok(&app, bind(&app, &holder, OTHER_ACCOUNT).await, 201);
        assert_eq!(account["account"], "621700*********0122");
        let listed_after = get(&app, ACCOUNTS, &holder.token).await.1;
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
        let mut texts: Vec<String> = audit
            .iter()
            .map(|e| format!("{} {} {} {}", e.actor, e.action, e.object, e.detail))
            .collect();
        texts.extend([&refused.1, &listed, &account, &listed_after].map(Value::to_string));
        for number in [UNKNOWN_ACCOUNT, OTHER_ACCOUNT] {
            for text in &texts {
                assert!(!text.contains(hidden(number)), "{}: {text}", app.label);
            }
        }
        app.stop().await;
    }
    let logs = crate::helpers::logs();
    for number in [UNKNOWN_ACCOUNT, OTHER_ACCOUNT] {
        assert!(
            !logs.contains(hidden(number)),
            "a log line holds an account number"
        );
    }
}

/// The payout account number is as sensitive as a card number: signed but sent in clear, it
/// is refused like any sensitive field.
/// req: 5.6.2-b1, 5.6.1-a2
#[tokio::test]
async fn payout_account_numbers_must_arrive_encrypted() {
    for app in apps_with(|_| {}).await {
        let holder = holder(&app, 50_000_000).await;
        let proof = step_up(&app, &holder.token, &holder.mobile, "payout-account-add").await;
        let body = serde_json::to_vec(&json!({ "account_number": ACCOUNT })).expect("json");
        let signer = app.client.signer.as_ref().expect("the test client signs");
        let response = app
            .client
            .unsigned()
            .post(app.url(ACCOUNTS))
            .header("content-type", "application/json")
            .header("authorization", signer.header("POST", ACCOUNTS, &body))
            .header(inspay_protocol::SESSION_HEADER, &holder.token)
            .header(inspay_protocol::SDK_HEADER, TEST_SDK)
            .header("x-inspay-step-up", &proof)
            .header("idempotency-key", format!("idem-{}", nonce()))
            .body(body)
            .send()
            .await
            .expect("request");
        let refused = answer(response).await;
        assert_refused(&app, &refused, 422, "INSPAY-SIG-014");
        let listed = get(&app, ACCOUNTS, &holder.token).await.1;
        assert_eq!(listed["payout_accounts"], json!([]), "{}", app.label);
        app.stop().await;
    }
}

/// An approval above the per-claim payout limit, or one that would pass the claimant's daily
/// payout total, is refused by the risk check before anything is recorded; within them, the
/// claim is approved and paid.
/// req: 5.3.3.4-b
#[tokio::test]
async fn approvals_above_the_payout_limit_are_refused() {
    let limits = |settings: &mut Settings| {
        settings.payments.payout_per_claim_fen_max = 50_000;
        settings.payments.payout_per_day_fen_max = 70_000;
    };
    for app in apps_with(limits).await {
        let holder = holder(&app, 50_000_000).await;
        let account_id = bound(&app, &holder, ACCOUNT).await;
        let claim = Claim::new(&app, &holder, &account_id, 80_000);
        let claim_id = filed(&app, &holder, &claim).await;
        let adjuster = staff(&app, Role::ClaimsAdjuster).await;
        assign(&app, &adjuster, &claim_id).await;
        let refused = decide(&app, &adjuster, &claim_id, &claim, 60_000, 60_000).await;
        assert_refused(&app, &refused, 422, "INSPAY-PAY-005");
        assert_eq!(stored_status(&app, &claim_id).await, "filed");
        approve(&app, &adjuster, &claim_id, &claim, 50_000).await;
        assert_eq!(settle(&app, &claim_id).await, "paid", "{}", app.label);

        // The day's payouts to this claimant: 50,000 paid, so 30,000 more would pass 70,000.
        let second = Claim::new(&app, &holder, &account_id, 30_000);
        let second_id = filed(&app, &holder, &second).await;
        assign(&app, &adjuster, &second_id).await;
        let refused = decide(&app, &adjuster, &second_id, &second, 30_000, 30_000).await;
        assert_refused(&app, &refused, 422, "INSPAY-PAY-005");
        assert_eq!(stored_status(&app, &second_id).await, "filed");
        approve(&app, &adjuster, &second_id, &second, 20_000).await;
        assert_eq!(settle(&app, &second_id).await, "paid", "{}", app.label);
        app.stop().await;
    }
}

/// The id of the hold named in a 202 `INSPAY-RISK-002` answer.
#[track_caller]
fn hold_of(app: &TestApp, answer: &(u16, Value)) -> String {
    assert_refused(app, answer, 202, "INSPAY-RISK-002");
    let detail = answer.1["detail"].as_str().expect("detail");
    let id = detail
        .split_whitespace()
        .find_map(|word| uuid::Uuid::parse_str(word.trim_end_matches(';')).ok())
        .expect("a hold id in the detail");
    id.to_string()
}

/// A risk officer releases hold `id` (through the store, as the API does).
async fn release_hold(app: &TestApp, id: &str) {
    let (keyring, now) = (app.state.keyring(), app.state.now_ms());
    let released = app
        .state
        .store
        .risk_hold_decide(&keyring, id, true, None, OFFICER, now);
    released.await.expect("released");
}

/// Runs the resume job until the hold has ended; returns its state.
async fn resumed(app: &TestApp, hold_id: &str) -> String {
    for _ in 0..100 {
        inspay_server::risk::holds::resume_released(app.state.clone()).await;
        let hold = app
            .state
            .store
            .risk_hold(&app.state.keyring(), hold_id)
            .await;
        let state = hold
            .expect("hold")
            .expect("stored")
            .state
            .name()
            .to_string();
        if state != "released" {
            return state;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{}: hold {hold_id} was never resumed", app.label);
}

/// A payout the engine holds for review (a payout account bound a moment ago, on a policy
/// that started today) does not run: the adjuster is told it is held, with no reason; the
/// claim stays filed and a second try finds the same hold. The risk officer sees the reasons
/// and the alert, and releases it once (a second release, or a rejection after it, is 409);
/// the server then applies the adjuster's signed decision exactly once, however often the
/// resume job runs, and the payout is paid once. Nobody without `risk.review` can release,
/// nor the adjuster who asked. A rejected hold never pays.
/// req: 5.3.3.1, 5.3.3.4-b, 5.2.3.3
#[tokio::test]
async fn a_held_payout_waits_for_the_risk_officer_and_resumes_once() {
    for app in apps_with(crate::helpers::default_fund_rules).await {
        let holder = holder(&app, 50_000_000).await;
        let account_id = bound(&app, &holder, ACCOUNT).await;
        let claim = Claim::new(&app, &holder, &account_id, 300_000);
        let claim_id = filed(&app, &holder, &claim).await;
        let adjuster = staff(&app, Role::ClaimsAdjuster).await;
        assign(&app, &adjuster, &claim_id).await;

        let held = decide(&app, &adjuster, &claim_id, &claim, 250_000, 250_000).await;
        let hold_id = hold_of(&app, &held);
        let text = held.1.to_string();
        assert!(
            !text.contains("payout-account") && !text.contains("txn."),
            "{}: reasons reach the caller: {text}",
            app.label
        );
        assert_eq!(stored_status(&app, &claim_id).await, "filed");
        let again = decide(&app, &adjuster, &claim_id, &claim, 250_000, 250_000).await;
        assert_eq!(hold_of(&app, &again), hold_id, "{}: one hold", app.label);

        let officer = staff(&app, Role::RiskOfficer).await;
        let queue = assert_ok(
            &app,
            get(&app, "/v1/risk/holds/held", &officer.token).await,
            200,
        );
        let queued = queue["holds"].as_array().expect("holds");
        assert!(queued.iter().any(|hold| hold["id"] == hold_id.as_str()));
        let path = format!("/v1/risk/hold/{hold_id}");
        let view = assert_ok(&app, get(&app, &path, &officer.token).await, 200);
        assert_eq!(view["hold"]["operation"], "claim_decision");
        assert_eq!(view["hold"]["resumed_by_server"], true);
        assert_eq!(view["decision"]["verdict"], "review");
        let rules: Vec<&str> = view["decision"]["reasons"]
            .as_array()
            .expect("reasons")
            .iter()
            .filter_map(|reason| reason["rule"].as_str())
            .collect();
        assert!(
            rules.contains(&"txn.payout-account-new")
                && rules.contains(&"txn.claim-soon-after-start"),
            "{}: {rules:?}",
            app.label
        );
        let alerts = assert_ok(
            &app,
            get(&app, "/v1/risk/alerts", &officer.token).await,
            200,
        );
        let decision_id = view["decision"]["id"].as_str().expect("decision id");
        assert!(
            alerts["alerts"]
                .as_array()
                .expect("alerts")
                .iter()
                .any(|alert| alert["id"] == decision_id),
            "{}: the hold's decision is an alert",
            app.label
        );

        let release = format!("/v1/risk/hold/{hold_id}/release");
        let note = json!({ "note": "called the claimant on the number on file" });
        let denied = fund(&app, &release, &adjuster.token, None, note.clone()).await;
        assert_refused(&app, &denied, 403, "INSPAY-AUTH-005");
        assert_ok(&app, get(&app, &path, &officer.token).await, 200);
        let released = fund(&app, &release, &officer.token, None, note.clone()).await;
        let released = assert_ok(&app, released, 200);
        assert_eq!(released["hold"]["state"], "released");
        let twice = fund(&app, &release, &officer.token, None, note.clone()).await;
        assert_refused(&app, &twice, 409, "INSPAY-RISK-003");
        let reject = format!("/v1/risk/hold/{hold_id}/reject");
        let late = fund(&app, &reject, &officer.token, None, json!({})).await;
        assert_refused(&app, &late, 409, "INSPAY-RISK-003");

        assert_eq!(resumed(&app, &hold_id).await, "resumed", "{}", app.label);
        assert_eq!(settle(&app, &claim_id).await, "paid", "{}", app.label);
        inspay_server::risk::holds::resume_released(app.state.clone()).await;
        let paid = bank_payouts(&app).await;
        assert_eq!(paid, [(250_000, "SUCCEEDED".to_string())], "{}", app.label);
        let seen = assert_ok(&app, get(&app, &path, &officer.token).await, 200);
        assert_eq!(seen["hold"]["state"], "resumed");
        assert!(seen["hold"]["outcome"].as_str().is_some());
        assert_ledger_sound(&app).await;

        // Rejected: the second claim's decision is held, rejected, and never applied.
        let second = Claim::new(&app, &holder, &account_id, 100_000);
        let second_id = filed(&app, &holder, &second).await;
        assign(&app, &adjuster, &second_id).await;
        let held = decide(&app, &adjuster, &second_id, &second, 90_000, 90_000).await;
        let second_hold = hold_of(&app, &held);
        let reject = format!("/v1/risk/hold/{second_hold}/reject");
        let rejected = fund(&app, &reject, &officer.token, None, json!({})).await;
        assert_eq!(assert_ok(&app, rejected, 200)["hold"]["state"], "rejected");
        inspay_server::risk::holds::resume_released(app.state.clone()).await;
        assert_eq!(stored_status(&app, &second_id).await, "filed");
        assert_eq!(bank_payouts(&app).await.len(), 1, "{}", app.label);
        app.stop().await;
    }
}

/// A payout restart to an account bound a moment ago is held for review (it has no step-up of
/// its own, and neither has the claimant's first account: the adjuster's approval is held and
/// resumed first); a release covers the restart that was reviewed, to that account, once. Asking for
/// another account instead ends the released hold and is decided afresh (held again, as that
/// account is new too); once that one is released, the restart goes through and is paid once.
/// req: 5.3.3.1, 5.3.3.4-b
#[tokio::test]
async fn a_held_payout_restart_is_let_through_once_to_the_reviewed_account() {
    let adjust = |settings: &mut Settings| settings.risk.payout_account_min_age_hours = 24;
    for app in apps_with(adjust).await {
        let store = &app.state.store;
        let holder = holder(&app, 50_000_000).await;
        let declined_id = bound(&app, &holder, DECLINED_ACCOUNT).await;
        let claim = Claim::new(&app, &holder, &declined_id, 90_000);
        let claim_id = filed(&app, &holder, &claim).await;
        let adjuster = staff(&app, Role::ClaimsAdjuster).await;
        assign(&app, &adjuster, &claim_id).await;
        // The first payout account is new too: the approval is held, released and resumed.
        let held = decide(&app, &adjuster, &claim_id, &claim, 70_000, 70_000).await;
        let approval = hold_of(&app, &held);
        release_hold(&app, &approval).await;
        assert_eq!(resumed(&app, &approval).await, "resumed", "{}", app.label);
        assert_eq!(settle(&app, &claim_id).await, "approved", "{}", app.label);

        let restart = format!("/v1/me/claims/{claim_id}/payout");
        let good_id = bound(&app, &holder, ACCOUNT).await;
        let to_good = json!({ "payout_account_id": good_id });
        let first = hold_of(
            &app,
            &fund(&app, &restart, &holder.token, None, to_good).await,
        );
        release_hold(&app, &first).await;

        let other_id = bound(&app, &holder, OTHER_ACCOUNT).await;
        let to_other = json!({ "payout_account_id": other_id });
        let held = fund(&app, &restart, &holder.token, None, to_other.clone()).await;
        let second = hold_of(&app, &held);
        assert_ne!(second, first, "{}: decided afresh", app.label);
        let ended = store.risk_hold(&app.state.keyring(), &first).await;
        assert_eq!(ended.expect("read").expect("hold").state.name(), "failed");
        release_hold(&app, &second).await;
        let again = fund(&app, &restart, &holder.token, None, to_other).await;
        assert_eq!(assert_ok(&app, again, 202)["status"], "payout_pending");
        assert_eq!(settle(&app, &claim_id).await, "paid", "{}", app.label);
        let consumed = store.risk_hold(&app.state.keyring(), &second).await;
        assert_eq!(
            consumed.expect("read").expect("hold").state.name(),
            "consumed"
        );
        let bank = bank_payouts(&app).await;
        let expected = [(70_000, "FAILED"), (70_000, "SUCCEEDED")].map(|(f, s)| (f, s.to_string()));
        assert_eq!(bank, expected, "{}: paid exactly once", app.label);
        app.stop().await;
    }
}
