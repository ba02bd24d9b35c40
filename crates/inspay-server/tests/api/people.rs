//! Identity helpers for API tests: CAPTCHAs with a known answer, codes read from the
//! development SMS outbox, customers and staff, signing in, step-up.

#![allow(dead_code)]

use crate::helpers::TestApp;
use inspay_core::sensitive::{IdNumber, LegalName, MobileNumber};
use inspay_identity::captcha::CaptchaAnswer;
use inspay_identity::login_name::LoginName;
use inspay_identity::secret_hash::{SecretHash, SecretKind};
use inspay_store::accounts::{NewAccount, Population};
use inspay_store::keys::Actor;
use inspay_store::persons::NewPerson;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU32, Ordering};

pub const PASSWORD: &str = "Harbor!Lamp7Violet";
pub const NEW_PASSWORD: &str = "Quartz#River9Maple";
pub const ID_NUMBER: &str = "11010519491231002X";
pub const NAME: &str = "张三丰";
const WHO: Actor<'static> = Actor {
    actor: "operator:test",
    request_id: "test",
};

static NEXT_MOBILE: AtomicU32 = AtomicU32::new(0);

/// A mobile number no other test in this binary uses.
pub fn fresh_mobile() -> String {
    let n = NEXT_MOBILE.fetch_add(1, Ordering::Relaxed);
    format!("1390{:03}{:04}", std::process::id() % 1000, n)
}

/// A CAPTCHA whose answer the test knows, issued through the store like the route does.
pub async fn captcha(app: &TestApp) -> Value {
    let answer = CaptchaAnswer::parse("ACDEF").expect("answer");
    let id = app
        .state
        .store
        .captcha_issue(&app.state.keyring(), &answer, app.state.now_ms())
        .await
        .expect("captcha");
    json!({ "id": id, "answer": "acdef" })
}

/// The newest code sent to `mobile`, with its message text.
pub fn last_sms(app: &TestApp, mobile: &str) -> (String, String) {
    let entries = inspay_server::sms::outbox_read(app.dir.path()).expect("outbox");
    let entry = entries
        .iter()
        .rev()
        .find(|entry| entry.to.ends_with(&mobile[mobile.len() - 8..]))
        .expect("a message to this number");
    let text = entry.text.to_string();
    let digits: Vec<char> = text.chars().collect();
    let code = digits
        .windows(6)
        .find(|window| window.iter().all(char::is_ascii_digit))
        .map(|window| window.iter().collect::<String>())
        .expect("a 6-digit code in the text");
    (code, text)
}

/// Moves the server's clock past the SMS send interval.
pub fn after_send_interval(app: &TestApp) {
    app.state.advance_clock(61_000);
}

/// POSTs JSON, optionally with a bearer token and a step-up proof.
pub async fn post(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    proof: Option<&str>,
    body: Value,
) -> reqwest::Response {
    send(app, reqwest::Method::POST, path, token, proof, Some(body)).await
}

/// Any request.
pub async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    proof: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(proof) = proof {
        request = request.header("x-inspay-step-up", proof);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request")
}

/// GET with a token.
pub async fn get(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    send(app, reqwest::Method::GET, path, Some(token), None, None).await
}

/// The status and JSON body.
pub async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// A customer created directly in the store (no SMS sent), with the standard password.
pub async fn customer(app: &TestApp, mobile: &str, must_change_password: bool) -> String {
    let keyring = app.state.keyring();
    let now = app.state.now_ms();
    let person_id = app
        .state
        .store
        .person_insert(
            &keyring,
            &NewPerson {
                legal_name: LegalName::parse(NAME).expect("name"),
                mobile: MobileNumber::parse(mobile).expect("mobile"),
                id_number: IdNumber::parse(ID_NUMBER).expect("id"),
            },
            WHO,
            now,
        )
        .await
        .expect("person");
    let hash = SecretHash::new(
        SecretKind::LoginPassword,
        PASSWORD.as_bytes(),
        inspay_identity::secret_hash::ITERATIONS_MIN,
    )
    .expect("hash");
    app.state
        .store
        .account_create(
            &keyring,
            &NewAccount {
                population: Population::Customer,
                login_name: &LoginName::customer(mobile).expect("login"),
                person_id: Some(&person_id),
                password: &hash,
                must_change_password,
            },
            WHO,
            now,
        )
        .await
        .expect("account")
}

/// Step one: the password. Returns the response.
pub async fn password_step(
    app: &TestApp,
    mobile: &str,
    password: &str,
    captcha: Option<Value>,
) -> reqwest::Response {
    let mut body = json!({ "login_name": mobile, "password": password });
    if let Some(captcha) = captcha {
        body["captcha"] = captcha;
    }
    post(app, "/v1/sign-in", None, None, body).await
}

/// Sends the sign-in code for a flow (moving the clock past the send interval first).
pub async fn send_sign_in_code(app: &TestApp, flow_id: &str) -> reqwest::Response {
    after_send_interval(app);
    let captcha = captcha(app).await;
    post(
        app,
        &format!("/v1/sign-in/{flow_id}/sms"),
        None,
        None,
        json!({ "captcha": captcha }),
    )
    .await
}

/// Signs in with password and SMS code; returns the whole completion body.
pub async fn sign_in_full(app: &TestApp, mobile: &str, password: &str) -> Value {
    let (status, body) =
        answer(password_step(app, mobile, password, Some(captcha(app).await)).await).await;
    assert_eq!(status, 200, "{}: password step: {body}", app.label);
    let flow_id = body["flow_id"].as_str().expect("flow id").to_string();
    let (status, body) = answer(send_sign_in_code(app, &flow_id).await).await;
    assert_eq!(status, 202, "{}: send code: {body}", app.label);
    let (code, _) = last_sms(app, mobile);
    let (status, body) = answer(
        post(
            app,
            &format!("/v1/sign-in/{flow_id}/sms-code"),
            None,
            None,
            json!({ "code": code }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{}: code step: {body}", app.label);
    body
}

/// Signs in and returns the session token.
pub async fn sign_in(app: &TestApp, mobile: &str, password: &str) -> String {
    sign_in_full(app, mobile, password).await["session_token"]
        .as_str()
        .expect("token")
        .to_string()
}

/// A step-up proof for `operation` by SMS code.
pub async fn step_up(app: &TestApp, token: &str, mobile: &str, operation: &str) -> String {
    after_send_interval(app);
    let captcha = captcha(app).await;
    let (status, body) = answer(
        post(
            app,
            "/v1/step-up",
            Some(token),
            None,
            json!({ "operation": operation, "method": "sms-code", "captcha": captcha }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 202, "{}: step-up: {body}", app.label);
    let (code, text) = last_sms(app, mobile);
    assert!(text.contains("确认"), "the text names the purpose: {text}");
    let (status, body) = answer(
        post(
            app,
            "/v1/step-up/verify",
            Some(token),
            None,
            json!({ "operation": operation, "code": code }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{}: step-up verify: {body}", app.label);
    body["step_up_token"].as_str().expect("proof").to_string()
}

/// How many texts went to `mobile` so far.
pub fn sms_count(app: &TestApp, mobile: &str) -> usize {
    inspay_server::sms::outbox_read(app.dir.path())
        .expect("outbox")
        .iter()
        .filter(|entry| entry.to.ends_with(&mobile[mobile.len() - 8..]))
        .count()
}

/// Waits (up to 5 s) for a text to `mobile` beyond the first `before`, for sends the server
/// makes in the background, and returns it like [`last_sms`].
pub async fn next_sms(app: &TestApp, mobile: &str, before: usize) -> (String, String) {
    for _ in 0..100 {
        if sms_count(app, mobile) > before {
            return last_sms(app, mobile);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no new text to the number within 5 s");
}
