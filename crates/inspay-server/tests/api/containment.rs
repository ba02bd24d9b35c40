//! Incident containment switches (clause 6.4.3) against the real server, on both databases:
//! a frozen account is signed out, cannot sign in and has its queued refunds held until it is
//! unfrozen; a paused channel refuses new payments and its queued refund goes out once after
//! the resume; ending every session signs everyone out; a switch thrown on one node holds on
//! another node of the same database at its next request. Each switch is audited.

use crate::helpers::{TestApp, client, spawn_with, test_settings};
use crate::people::{
    PASSWORD, answer, customer, fresh_mobile, get, password_step, sign_in, step_up,
};
use crate::signing::{SigningClient, nonce};
use inspay_core::calendar::{date_at_ms, date_text};
use inspay_core::funds::OrderStatus;
use inspay_core::ids::RefundId;
use inspay_core::money::Amount;
use inspay_core::policy::{PaymentFrequency, ProductTerms};
use inspay_server::{Application, Settings};
use inspay_store::containment::{ChannelName, Reason};
use inspay_store::funds::NewProduct;
use inspay_store::keys::Actor;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A Luhn-valid card the simulated bank accepts.
const CARD: &str = "6222021234567890128";
const WHO: Actor<'static> = Actor {
    actor: "operator:responder",
    request_id: "containment-test",
};

/// The outbox worker's slowest pass, so the tests drive it themselves.
fn slow_worker(settings: &mut Settings) {
    settings.payments.worker_interval_ms = 60_000;
}

async fn apps() -> Vec<TestApp> {
    let mut apps = vec![];
    let dir = tempfile::tempdir().expect("dir");
    let mut settings = test_settings(dir.path(), "");
    slow_worker(&mut settings);
    apps.push(spawn_with("sqlite", settings, dir).await);
    if let Some(url) = crate::helpers::postgres_database().await {
        let dir = tempfile::tempdir().expect("dir");
        let mut settings = test_settings(dir.path(), &url);
        slow_worker(&mut settings);
        apps.push(spawn_with("postgres", settings, dir).await);
    }
    apps
}

/// A second node on the first node's database, data directory and master key, signing as the
/// first node's test application.
async fn second_node(first: &TestApp) -> TestApp {
    let settings: Settings = (*first.state.settings).clone();
    let app = Application::build(settings)
        .await
        .expect("second node builds");
    let ca_path = app.development_ca.clone().expect("development CA");
    let ca: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&ca_path)
        .expect("ca file")
        .collect::<Result<_, _>>()
        .expect("ca pem");
    let address = app.address();
    let mtls_address = app.mtls_address();
    let shutdown = app.shutdown_token();
    let state = app.state().clone();
    let handle = tokio::spawn(app.run());
    TestApp {
        label: "second node",
        address,
        mtls_address,
        client: SigningClient {
            inner: client(&ca, None),
            signer: first.client.signer.clone(),
        },
        ca,
        shutdown,
        handle,
        state,
        dir: tempfile::tempdir().expect("dir"),
        base: format!("https://localhost:{}", address.port()),
        tlcp_address: None,
        #[cfg(feature = "tlcp")]
        relay: None,
    }
}

fn reason(text: &str) -> Reason {
    Reason::parse(text).expect("reason")
}

async fn product(app: &TestApp, code: &str) -> String {
    let terms = ProductTerms::new(
        Amount::from_fen(50_000_000).expect("cover"),
        Amount::from_fen(36_500).expect("premium"),
        PaymentFrequency::Yearly,
        12,
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
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app
        .client
        .request(method, app.url(path))
        .bearer_auth(token)
        .header("idempotency-key", format!("idem-{}", nonce()));
    if let Some(proof) = proof {
        request = request.header("x-inspay-step-up", proof);
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
        Some(json!({ "product_id": product_id, "start_on": today })),
    )
    .await;
    assert_eq!(status, 201, "{}: apply: {body}", app.label);
    body["id"].as_str().expect("id").to_string()
}

/// Pays the first premium of `policy` by card, with a fresh step-up proof.
async fn pay(app: &TestApp, token: &str, mobile: &str, policy: &str) -> (u16, Value) {
    let proof = step_up(app, token, mobile, "premium-payment").await;
    call(
        app,
        reqwest::Method::POST,
        &format!("/v1/policies/{policy}/premiums/1/pay"),
        token,
        Some(&proof),
        Some(json!({ "card_number": CARD, "expiry": "12/30", "cvv": "123" })),
    )
    .await
}

/// Cancels `policy`; returns its refund's id (queued in the outbox, not yet sent).
async fn cancel(app: &TestApp, token: &str, mobile: &str, policy: &str) -> RefundId {
    let proof = step_up(app, token, mobile, "policy-cancel").await;
    let (status, body) = call(
        app,
        reqwest::Method::POST,
        &format!("/v1/policies/{policy}/cancel"),
        token,
        Some(&proof),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200, "{}: cancel: {body}", app.label);
    RefundId::parse(body["refunds"][0].as_str().expect("refund")).expect("id")
}

/// A customer who bought a policy, paid for it and cancelled it: a refund waits in the outbox.
async fn queued_refund(app: &TestApp, code: &str) -> (String, String, String, RefundId) {
    let product_id = product(app, code).await;
    let mobile = fresh_mobile();
    let account_id = customer(app, &mobile, false).await;
    let token = sign_in(app, &mobile, PASSWORD).await;
    let policy_id = apply(app, &token, &product_id).await;
    let (status, body) = pay(app, &token, &mobile, &policy_id).await;
    assert_eq!(status, 201, "{}: pay: {body}", app.label);
    let refund = cancel(app, &token, &mobile, &policy_id).await;
    (account_id, mobile, token, refund)
}

async fn refund_status(app: &TestApp, refund: &RefundId) -> OrderStatus {
    app.state
        .store
        .refund(&app.state.keyring(), refund)
        .await
        .expect("refund")
        .status
}

/// The outbox row of `subject` in `state`, if any: (attempts, last error).
async fn outbox_row(app: &TestApp, state: &str, subject: &str) -> Option<(i64, Option<String>)> {
    app.state
        .store
        .outbox_rows(state, 1_000)
        .await
        .expect("outbox")
        .into_iter()
        .find(|row| row.subject_id == subject)
        .map(|row| (row.attempts, row.last_error))
}

/// The audit entries of `action`, as (actor, object).
async fn audited(app: &TestApp, action: &str) -> Vec<(String, String)> {
    app.state
        .store
        .audit_entries(0, 100_000)
        .await
        .expect("audit")
        .into_iter()
        .filter(|entry| entry.action == action)
        .map(|entry| (entry.actor, entry.object))
        .collect()
}

async fn assert_signed_out(app: &TestApp, token: &str) {
    let (status, body) = answer(get(app, "/v1/me", token).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("INSPAY-AUTH-002")),
        "{}: {body}",
        app.label
    );
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

/// Freezing an account ends its live session at the next request, refuses its sign-in and its
/// fund operations, and holds its queued refund without spending an attempt; unfreezing lets
/// it sign in again (the old session stays ended) and the refund goes out once. Both audited.
/// req: 6.4.3
#[tokio::test]
async fn a_frozen_account_is_signed_out_refused_and_held_until_unfrozen() {
    for app in apps().await {
        let (account_id, frozen_mobile, token, refund) = queued_refund(&app, "FREEZE-A").await;
        let mobile = fresh_mobile();
        let other_id = customer(&app, &mobile, false).await;
        let other_token = sign_in(&app, &mobile, PASSWORD).await;
        let now = app.state.now_ms();
        let ended = app
            .state
            .store
            .containment_freeze_account(&account_id, &reason("INC-1 takeover"), WHO, now)
            .await
            .expect("freeze");
        assert_eq!(ended, 1, "{}", app.label);
        assert_signed_out(&app, &token).await;
        // Another customer is untouched.
        let (status, _) = answer(get(&app, "/v1/me", &other_token).await).await;
        assert_eq!(status, 200, "{}", app.label);
        // No fund operation for the frozen account: the gate refuses it with its own code.
        let refusal = inspay_server::containment::guard_fund_operation(&app.state, &account_id)
            .await
            .expect_err("frozen");
        assert_eq!(refusal.code().code(), "INSPAY-AUTH-013", "{}", app.label);
        inspay_server::containment::guard_fund_operation(&app.state, &other_id)
            .await
            .expect("the other account may pay");
        // Its queued refund is held, and the hold costs no attempt.
        inspay_server::payments::worker::drive(&app.state).await;
        assert_eq!(refund_status(&app, &refund).await, OrderStatus::Pending);
        let (attempts, last_error) = outbox_row(&app, "ready", refund.as_str())
            .await
            .expect("still queued");
        assert_eq!(attempts, 0, "{}", app.label);
        assert_eq!(
            last_error.as_deref(),
            Some(inspay_store::containment::HELD_FROZEN)
        );
        // Freezing twice is refused; a frozen account cannot sign in.
        assert!(
            app.state
                .store
                .containment_freeze_account(&account_id, &reason("again"), WHO, now)
                .await
                .is_err()
        );
        let summary = app
            .state
            .store
            .account_summary(&account_id)
            .await
            .expect("account");
        assert_eq!(summary.status, "frozen");
        let (status, body) = answer(
            password_step(
                &app,
                &frozen_mobile,
                PASSWORD,
                Some(crate::people::captcha(&app).await),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("INSPAY-AUTH-001")),
            "{}: {body}",
            app.label
        );

        app.state
            .store
            .containment_unfreeze_account(&account_id, &reason("INC-1 cleared"), WHO, now)
            .await
            .expect("unfreeze");
        assert_signed_out(&app, &token).await;
        let token = sign_in(&app, &frozen_mobile, PASSWORD).await;
        let (status, _) = answer(get(&app, "/v1/me", &token).await).await;
        assert_eq!(status, 200, "{}", app.label);
        // The held refund goes out at the first pass after its hold, once.
        app.state
            .advance_clock(inspay_server::containment::FROZEN_HOLD_MS + 1_000);
        inspay_server::payments::worker::drive(&app.state).await;
        inspay_server::payments::worker::drive(&app.state).await;
        assert_eq!(refund_status(&app, &refund).await, OrderStatus::Succeeded);
        let (attempts, _) = outbox_row(&app, "done", refund.as_str())
            .await
            .expect("done");
        assert_eq!(attempts, 1, "{}: sent once", app.label);
        assert_ledger_sound(&app).await;

        let object = format!("account:{account_id}");
        assert_eq!(
            audited(&app, "containment.account-frozen").await,
            [(WHO.actor.to_string(), object.clone())]
        );
        assert_eq!(
            audited(&app, "containment.account-unfrozen").await,
            [(WHO.actor.to_string(), object)]
        );
        app.stop().await;
    }
}

/// A paused channel refuses a new payment with INSPAY-SYS-007 before anything is recorded, and
/// the outbox sends it nothing: a queued refund stays queued with no attempt spent, and after
/// the resume it goes out exactly once. Pause and resume are audited.
/// req: 6.4.3
#[tokio::test]
async fn a_paused_channel_refuses_payments_and_sends_queued_work_once_after_resume() {
    for app in apps().await {
        let channel = ChannelName::configured();
        let product_id = product(&app, "PAUSE-B").await;
        let mobile = fresh_mobile();
        customer(&app, &mobile, false).await;
        let token = sign_in(&app, &mobile, PASSWORD).await;
        let paid = apply(&app, &token, &product_id).await;
        let (status, body) = pay(&app, &token, &mobile, &paid).await;
        assert_eq!(status, 201, "{}: pay: {body}", app.label);

        app.state
            .store
            .containment_pause_channel(
                &channel,
                &reason("INC-2 channel fraud"),
                WHO,
                app.state.now_ms(),
            )
            .await
            .expect("pause");
        let refund = cancel(&app, &token, &mobile, &paid).await;
        assert_eq!(inspay_server::payments::worker::drive(&app.state).await, 0);
        assert_eq!(refund_status(&app, &refund).await, OrderStatus::Pending);
        assert_eq!(
            outbox_row(&app, "ready", refund.as_str())
                .await
                .map(|row| row.0),
            Some(0),
            "{}: queued, no attempt spent",
            app.label
        );
        let unpaid = apply(&app, &token, &product_id).await;
        let (status, body) = pay(&app, &token, &mobile, &unpaid).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (503, Some("INSPAY-SYS-007")),
            "{}: {body}",
            app.label
        );
        let (_, policy) = call(
            &app,
            reqwest::Method::GET,
            &format!("/v1/policies/{unpaid}"),
            &token,
            None,
            None,
        )
        .await;
        assert_eq!(policy["status"], "applied", "{}: nothing moved", app.label);
        assert!(
            app.state
                .store
                .containment_pause_channel(&channel, &reason("again"), WHO, app.state.now_ms())
                .await
                .is_err(),
            "pausing twice is refused"
        );

        app.state
            .store
            .containment_resume_channel(&channel, &reason("INC-2 cleared"), WHO, app.state.now_ms())
            .await
            .expect("resume");
        inspay_server::payments::worker::drive(&app.state).await;
        assert_eq!(inspay_server::payments::worker::drive(&app.state).await, 0);
        assert_eq!(refund_status(&app, &refund).await, OrderStatus::Succeeded);
        assert_eq!(
            outbox_row(&app, "done", refund.as_str())
                .await
                .map(|row| row.0),
            Some(1),
            "{}: sent once",
            app.label
        );
        let (status, body) = pay(&app, &token, &mobile, &unpaid).await;
        assert_eq!(status, 201, "{}: pay after resume: {body}", app.label);
        assert_ledger_sound(&app).await;
        let object = "channel:default".to_string();
        assert_eq!(
            audited(&app, "containment.channel-paused").await,
            [(WHO.actor.to_string(), object.clone())]
        );
        assert_eq!(
            audited(&app, "containment.channel-resumed").await,
            [(WHO.actor.to_string(), object)]
        );
        app.stop().await;
    }
}

/// Ending every session signs out every customer at their next request (401 INSPAY-AUTH-002),
/// while a new sign-in works at once; audited, and listed by the status.
/// req: 6.4.3
#[tokio::test]
async fn ending_every_session_signs_everyone_out() {
    for app in apps().await {
        let first = fresh_mobile();
        let second = fresh_mobile();
        customer(&app, &first, false).await;
        customer(&app, &second, false).await;
        let tokens = [
            sign_in(&app, &first, PASSWORD).await,
            sign_in(&app, &second, PASSWORD).await,
        ];
        let ended = app
            .state
            .store
            .containment_end_all_sessions(&reason("INC-3 tokens leaked"), WHO, app.state.now_ms())
            .await
            .expect("end all");
        assert!(ended >= 2, "{}: {ended}", app.label);
        for token in &tokens {
            assert_signed_out(&app, token).await;
        }
        let token = sign_in(&app, &first, PASSWORD).await;
        let (status, _) = answer(get(&app, "/v1/me", &token).await).await;
        assert_eq!(status, 200, "{}", app.label);
        assert_eq!(
            audited(&app, "containment.sessions-ended").await,
            [(WHO.actor.to_string(), "sessions:all".to_string())]
        );
        let switches = app
            .state
            .store
            .containment_switches()
            .await
            .expect("status");
        assert_eq!(
            switches
                .iter()
                .map(|switch| (switch.kind, switch.subject.as_str()))
                .collect::<Vec<_>>(),
            [("sessions-ended", "all")]
        );
        app.stop().await;
    }
}

/// Two nodes on one database: a freeze, an end of every session and a channel pause thrown
/// through the first node hold on the second at its next request, within a second.
/// req: 6.4.3
#[tokio::test]
async fn a_switch_on_one_node_holds_on_the_other_at_once() {
    for first in apps().await {
        let second = second_node(&first).await;
        let mobile = fresh_mobile();
        let account_id = customer(&first, &mobile, false).await;
        let token = sign_in(&first, &mobile, PASSWORD).await;
        let (status, _) = answer(get(&second, "/v1/me", &token).await).await;
        assert_eq!(
            status, 200,
            "{}: the session works on both nodes",
            first.label
        );
        let thrown = Instant::now();
        first
            .state
            .store
            .containment_freeze_account(&account_id, &reason("INC-4"), WHO, first.state.now_ms())
            .await
            .expect("freeze");
        assert_signed_out(&second, &token).await;
        assert!(thrown.elapsed() < Duration::from_secs(2), "{}", first.label);

        first
            .state
            .store
            .containment_unfreeze_account(
                &account_id,
                &reason("INC-4 done"),
                WHO,
                first.state.now_ms(),
            )
            .await
            .expect("unfreeze");
        // Signed in again through the first node (its clock carries the SMS send intervals
        // the harness skips), used on the second.
        let token = sign_in(&first, &mobile, PASSWORD).await;
        let (status, _) = answer(get(&second, "/v1/me", &token).await).await;
        assert_eq!(status, 200, "{}", first.label);
        first
            .state
            .store
            .containment_end_all_sessions(&reason("INC-5"), WHO, first.state.now_ms())
            .await
            .expect("end all");
        assert_signed_out(&second, &token).await;

        first
            .state
            .store
            .containment_pause_channel(
                &ChannelName::configured(),
                &reason("INC-6"),
                WHO,
                first.state.now_ms(),
            )
            .await
            .expect("pause");
        let refusal = inspay_server::containment::guard_fund_operation(&second.state, &account_id)
            .await
            .expect_err("paused");
        assert_eq!(refusal.code().code(), "INSPAY-SYS-007", "{}", first.label);
        assert!(!inspay_server::containment::channel_open(&second.state).await);
        second.stop().await;
        first.stop().await;
    }
}

static NEXT_STAFF: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A staff member with `role`, signed in with password and certificate key; (id, token).
async fn staff(app: &TestApp, role: inspay_identity::authorization::Role) -> (String, String) {
    use base64::Engine;
    use inspay_identity::login_name::LoginName;
    use inspay_identity::secret_hash::{ITERATIONS_MIN, SecretHash, SecretKind};
    use inspay_store::accounts::{NewAccount, Population};
    let next = NEXT_STAFF.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let login = format!("responder{next}");
    let hash = SecretHash::new(
        SecretKind::LoginPassword,
        PASSWORD.as_bytes(),
        ITERATIONS_MIN,
    )
    .expect("hash");
    let (keyring, now) = (app.state.keyring(), app.state.now_ms());
    let store = &app.state.store;
    let account = NewAccount {
        population: Population::Staff,
        login_name: &LoginName::staff(&login).expect("login"),
        person_id: None,
        password: &hash,
        must_change_password: false,
    };
    let id = store
        .account_create(&keyring, &account, WHO, now)
        .await
        .expect("staff");
    store.role_grant(&id, role, WHO, now).await.expect("role");
    let key = inspay_crypto::sm2::Sm2PrivateKey::generate().expect("key");
    let key_id = store
        .staff_public_key_register(&id, key.public_key(), "token", WHO, now)
        .await
        .expect("staff key");
    let post = |path: String, body: Value| async move {
        answer(crate::people::post(app, &path, None, None, body).await).await
    };
    let body = json!({ "login_name": login, "staff": true, "password": PASSWORD });
    let (status, flow) = post("/v1/sign-in".into(), body).await;
    assert_eq!(status, 200, "{}: {flow}", app.label);
    let flow = flow["flow_id"].as_str().expect("flow").to_string();
    let (status, challenge) = post(
        format!("/v1/sign-in/{flow}/key-challenge"),
        json!({ "key_id": key_id }),
    )
    .await;
    assert_eq!(status, 200, "{}: {challenge}", app.label);
    let message = base64::engine::general_purpose::STANDARD
        .decode(challenge["message_base64"].as_str().expect("message"))
        .expect("b64");
    let signature = key.sign(&message).expect("sign").to_der();
    let body = json!({
        "challenge_id": challenge["challenge_id"],
        "signature_base64": base64::engine::general_purpose::STANDARD.encode(signature),
    });
    let (status, session) = post(format!("/v1/sign-in/{flow}/key"), body).await;
    assert_eq!(status, 200, "{}: {session}", app.label);
    (
        id,
        session["session_token"]
            .as_str()
            .expect("token")
            .to_string(),
    )
}

/// The security officer throws the switches through the staff console (`incident.respond`):
/// freezing a customer signs them out at once and is audited with the officer as the actor;
/// the officer cannot freeze their own account; an agent may not use the switches; a pause is
/// listed and refuses payments until the resume; ending every session ends the officer's own
/// session too.
/// req: 6.4.3
#[tokio::test]
async fn the_security_officer_throws_the_switches_through_the_console() {
    use inspay_identity::authorization::Role;
    for app in apps().await {
        let (officer_id, officer) = staff(&app, Role::SecurityOfficer).await;
        let (_, agent) = staff(&app, Role::Agent).await;
        let mobile = fresh_mobile();
        let customer_id = customer(&app, &mobile, false).await;
        let token = sign_in(&app, &mobile, PASSWORD).await;
        let body = Some(json!({ "reason": "INC-11 takeover" }));
        let freeze = format!("/v1/admin/containment/accounts/{customer_id}/freeze");

        let (status, refused) = call(
            &app,
            reqwest::Method::POST,
            &freeze,
            &agent,
            None,
            body.clone(),
        )
        .await;
        assert_eq!(
            (status, refused["code"].as_str()),
            (403, Some("INSPAY-AUTH-005")),
            "{}",
            app.label
        );
        let own = format!("/v1/admin/containment/accounts/{officer_id}/freeze");
        let (status, _) = call(
            &app,
            reqwest::Method::POST,
            &own,
            &officer,
            None,
            body.clone(),
        )
        .await;
        assert_eq!(status, 409, "{}: not one's own account", app.label);
        let (status, long) = call(
            &app,
            reqwest::Method::POST,
            &freeze,
            &officer,
            None,
            Some(json!({ "reason": "mobile 13800138000" })),
        )
        .await;
        assert_eq!(
            (status, long["code"].as_str()),
            (422, Some("INSPAY-REQ-003")),
            "{}",
            app.label
        );

        let (status, thrown) = call(
            &app,
            reqwest::Method::POST,
            &freeze,
            &officer,
            None,
            body.clone(),
        )
        .await;
        assert_eq!(status, 200, "{}: {thrown}", app.label);
        assert_eq!(thrown["sessions_ended"], 1);
        assert_signed_out(&app, &token).await;
        assert_eq!(
            audited(&app, "containment.account-frozen").await,
            [(
                format!("account:{officer_id}"),
                format!("account:{customer_id}")
            )]
        );
        let unfreeze = format!("/v1/admin/containment/accounts/{customer_id}/unfreeze");
        let (status, _) = call(
            &app,
            reqwest::Method::POST,
            &unfreeze,
            &officer,
            None,
            body.clone(),
        )
        .await;
        assert_eq!(status, 200, "{}", app.label);
        let (status, _) = call(
            &app,
            reqwest::Method::POST,
            &unfreeze,
            &officer,
            None,
            body.clone(),
        )
        .await;
        assert_eq!(status, 404, "{}: not frozen any more", app.label);

        let pause = "/v1/admin/containment/channels/default/pause";
        let (status, _) = call(
            &app,
            reqwest::Method::POST,
            pause,
            &officer,
            None,
            body.clone(),
        )
        .await;
        assert_eq!(status, 200, "{}", app.label);
        let (status, _) = call(
            &app,
            reqwest::Method::POST,
            pause,
            &officer,
            None,
            body.clone(),
        )
        .await;
        assert_eq!(status, 409, "{}: already paused", app.label);
        let (status, listed) = call(
            &app,
            reqwest::Method::GET,
            "/v1/admin/containment",
            &officer,
            None,
            None,
        )
        .await;
        assert_eq!(status, 200, "{}: {listed}", app.label);
        assert_eq!(listed["switches"][0]["kind"], "channel-paused", "{listed}");
        assert_eq!(
            listed["switches"][0]["set_by"],
            format!("account:{officer_id}")
        );
        assert!(!inspay_server::containment::channel_open(&app.state).await);
        let resume = "/v1/admin/containment/channels/default/resume";
        let (status, _) = call(
            &app,
            reqwest::Method::POST,
            resume,
            &officer,
            None,
            body.clone(),
        )
        .await;
        assert_eq!(status, 200, "{}", app.label);
        assert!(inspay_server::containment::channel_open(&app.state).await);

        let (status, thrown) = call(
            &app,
            reqwest::Method::POST,
            "/v1/admin/containment/sessions/end-all",
            &officer,
            None,
            body.clone(),
        )
        .await;
        assert_eq!(status, 200, "{}: {thrown}", app.label);
        assert_signed_out(&app, &officer).await;
        assert_signed_out(&app, &agent).await;
        app.stop().await;
    }
}
