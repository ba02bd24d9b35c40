//! Account flows against the running server on both databases: registration with consent,
//! step-up and full display, password change, initial passwords, reset, transaction password,
//! device keys, closure, and the route declarations.

use crate::helpers::{problem, spawn_apps};
use crate::people::*;
use inspay_crypto::sm2::Sm2PrivateKey;
use serde_json::{Value, json};

fn consent(marketing: bool) -> Value {
    json!({
        "notice_version": "2026-11",
        "choices": {
            "account-and-policy-service": true,
            "payment-processing": true,
            "security-and-risk-control": true,
            "marketing-sms": marketing,
            "service-analytics": false
        }
    })
}

async fn registration_code(app: &crate::helpers::TestApp, mobile: &str) -> (String, String) {
    after_send_interval(app);
    let (status, body) = answer(
        post(
            app,
            "/v1/registration/sms",
            None,
            None,
            json!({ "mobile": mobile, "captcha": captcha(app).await, "consent": consent(false) }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let (code, text) = last_sms(app, mobile);
    assert!(text.contains("注册"), "{text}");
    (body["id"].as_str().expect("id").to_string(), code)
}

/// Nothing is collected without an explicit answer to every purpose of the current notice;
/// optional purposes can be refused and the service still works; withdrawals are recorded.
/// req: 6.1.3, 6.1.4, 6.1.5, 5.2.4.1
#[tokio::test]
async fn registration_collects_only_after_consent() {
    for app in spawn_apps().await {
        let notice: Value = app
            .client
            .get(app.url("/v1/privacy-notice"))
            .send()
            .await
            .expect("notice")
            .json()
            .await
            .expect("json");
        assert_eq!(notice["version"], "2026-11");
        assert!(
            notice["purposes"]
                .as_array()
                .expect("purposes")
                .iter()
                .any(|p| p["required"] == false)
        );

        let mobile = fresh_mobile();
        // The number is not even used for a text before the notice is answered.
        let mut refused = consent(false);
        refused["choices"]["account-and-policy-service"] = json!(false);
        let response = post(
            &app,
            "/v1/registration/sms",
            None,
            None,
            json!({ "mobile": mobile, "captcha": captcha(&app).await, "consent": refused }),
        )
        .await;
        assert_eq!(problem(response).await["code"], "INSPAY-AUTH-011");
        assert!(
            inspay_server::sms::outbox_read(app.dir.path())
                .expect("outbox")
                .iter()
                .all(|entry| !entry.to.ends_with(&mobile[3..])),
            "no text before consent"
        );
        let (id, code) = registration_code(&app, &mobile).await;
        let mut body = json!({
            "registration_id": id, "code": code, "mobile": mobile, "legal_name": NAME,
            "id_number": ID_NUMBER, "password": PASSWORD, "consent": consent(false)
        });
        // A required purpose refused, or a purpose left unanswered: nothing stored.
        body["consent"]["choices"]["payment-processing"] = json!(false);
        let response = post(&app, "/v1/registration", None, None, body.clone()).await;
        assert_eq!(problem(response).await["code"], "INSPAY-AUTH-011");
        body["consent"] = consent(false);
        body["consent"]["choices"]
            .as_object_mut()
            .expect("map")
            .remove("service-analytics");
        let response = post(&app, "/v1/registration", None, None, body.clone()).await;
        assert_eq!(problem(response).await["code"], "INSPAY-AUTH-011");
        let keyring = app.state.keyring();
        let name = inspay_identity::login_name::LoginName::customer(&mobile).expect("name");
        assert!(
            app.state
                .store
                .account_find(&keyring, &name)
                .await
                .expect("find")
                .is_none()
        );

        // A password built from the person's own data is refused.
        body["consent"] = consent(false);
        body["password"] = json!(format!("Xy!{}", &mobile[3..]));
        let response = post(&app, "/v1/registration", None, None, body.clone()).await;
        assert_eq!(problem(response).await["code"], "INSPAY-AUTH-010");

        // Optional purposes refused: registered all the same, with a first session.
        body["password"] = json!(PASSWORD);
        let (status, created) =
            answer(post(&app, "/v1/registration", None, None, body.clone()).await).await;
        assert_eq!(status, 201, "{created}");
        let token = created["session_token"]
            .as_str()
            .expect("token")
            .to_string();
        let (_, consents) = answer(get(&app, "/v1/me/consents", &token).await).await;
        assert_eq!(consents["choices"]["marketing-sms"], false);
        assert_eq!(consents["choices"]["payment-processing"], true);
        // The code was single use: the same registration cannot be replayed.
        let response = post(&app, "/v1/registration", None, None, body).await;
        assert!(response.status().is_client_error());

        // Grant, then withdraw, an optional purpose.
        let response = send(
            &app,
            reqwest::Method::PUT,
            "/v1/me/consents",
            Some(&token),
            None,
            Some(consent(true)),
        )
        .await;
        assert_eq!(response.status(), 200);
        let (_, consents) = answer(
            send(
                &app,
                reqwest::Method::PUT,
                "/v1/me/consents",
                Some(&token),
                None,
                Some(consent(false)),
            )
            .await,
        )
        .await;
        assert_eq!(consents["choices"]["marketing-sms"], false);
        let (_, me) = answer(get(&app, "/v1/me", &token).await).await;
        assert_eq!(
            me["mobile"],
            format!("{}****{}", &mobile[..3], &mobile[7..]),
            "masked: {me}"
        );
        app.stop().await;
    }
}

/// Enhanced operations need a fresh second factor for that operation, once: full display of
/// masked fields shows them only with a proof, and is audited.
/// req: 5.1-b, 5.3.3.4-a, 5.2.2.2-c2
#[tokio::test]
async fn enhanced_operations_need_a_fresh_single_use_step_up() {
    for app in spawn_apps().await {
        let mobile = fresh_mobile();
        customer(&app, &mobile, false).await;
        let token = sign_in(&app, &mobile, PASSWORD).await;
        let fields = json!({ "fields": ["mobile", "id_number"] });
        let response = post(
            &app,
            "/v1/me/full-display",
            Some(&token),
            None,
            fields.clone(),
        )
        .await;
        assert_eq!(response.status(), 403);
        assert_eq!(problem(response).await["code"], "INSPAY-AUTH-003");

        let proof = step_up(&app, &token, &mobile, "full-display").await;
        let (status, shown) = answer(
            post(
                &app,
                "/v1/me/full-display",
                Some(&token),
                Some(&proof),
                fields.clone(),
            )
            .await,
        )
        .await;
        assert_eq!(status, 200, "{shown}");
        assert_eq!(shown["mobile"], mobile.as_str());
        assert_eq!(shown["id_number"], ID_NUMBER);
        // Used once.
        let response = post(
            &app,
            "/v1/me/full-display",
            Some(&token),
            Some(&proof),
            fields.clone(),
        )
        .await;
        assert_eq!(response.status(), 403);
        // A proof for another operation does not do.
        let other = step_up(&app, &token, &mobile, "gesture").await;
        let response = post(
            &app,
            "/v1/me/full-display",
            Some(&token),
            Some(&other),
            fields,
        )
        .await;
        assert_eq!(response.status(), 403);
        // Audited.
        let events = app
            .state
            .store
            .audit_entries(0, 100_000)
            .await
            .expect("audit");
        assert!(
            events
                .iter()
                .any(|event| event.action == "person.full-display")
        );
        app.stop().await;
    }
}

/// A password change needs a step-up and the current password; wrong current passwords count
/// toward the lock; the current and last five are refused; every session ends.
/// req: 5.2.4.2-b, 5.2.4.2-c, 5.2.4.2-d, 5.3.3.3-a
#[tokio::test]
async fn password_change_reauthenticates_refuses_reuse_and_ends_sessions() {
    for app in spawn_apps().await {
        let mobile = fresh_mobile();
        customer(&app, &mobile, false).await;
        let token = sign_in(&app, &mobile, PASSWORD).await;
        let change =
            |current: &str, new: &str| json!({ "current_password": current, "new_password": new });
        let response = post(
            &app,
            "/v1/me/password",
            Some(&token),
            None,
            change(PASSWORD, NEW_PASSWORD),
        )
        .await;
        assert_eq!(problem(response).await["code"], "INSPAY-AUTH-003");

        let proof = step_up(&app, &token, &mobile, "password-change").await;
        let response = post(
            &app,
            "/v1/me/password",
            Some(&token),
            Some(&proof),
            change("Wrong!Password9x", NEW_PASSWORD),
        )
        .await;
        assert_eq!(problem(response).await["code"], "INSPAY-AUTH-012");
        let failures = app
            .state
            .store
            .account_failures(&account_of(&app, &mobile).await)
            .await
            .expect("failures");
        assert_eq!(failures.consecutive, 1, "a wrong current password counts");

        let proof = step_up(&app, &token, &mobile, "password-change").await;
        let response = post(
            &app,
            "/v1/me/password",
            Some(&token),
            Some(&proof),
            change(PASSWORD, PASSWORD),
        )
        .await;
        assert_eq!(problem(response).await["code"], "INSPAY-AUTH-010");

        // A sign-in under way with the old password ends with the change.
        let (_, pending) = answer(password_step(&app, &mobile, PASSWORD, None).await).await;
        let pending = pending["flow_id"].as_str().expect("flow").to_string();
        let proof = step_up(&app, &token, &mobile, "password-change").await;
        let (status, body) = answer(
            post(
                &app,
                "/v1/me/password",
                Some(&token),
                Some(&proof),
                change(PASSWORD, NEW_PASSWORD),
            )
            .await,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            get(&app, "/v1/me", &token).await.status(),
            401,
            "sessions ended"
        );
        let response = send_sign_in_code(&app, &pending).await;
        assert_eq!(response.status(), 409, "{}: the old flow ended", app.label);
        sign_in(&app, &mobile, NEW_PASSWORD).await;
        app.stop().await;
    }
}

async fn account_of(app: &crate::helpers::TestApp, mobile: &str) -> String {
    let name = inspay_identity::login_name::LoginName::customer(mobile).expect("name");
    app.state
        .store
        .account_find(&app.state.keyring(), &name)
        .await
        .expect("find")
        .expect("account")
        .id
}

/// An initial password allows nothing but its own change (without a step-up: the person has
/// just signed in with two factors).
/// req: 5.2.4.2-a
#[tokio::test]
async fn initial_password_must_be_changed_before_anything_else() {
    for app in spawn_apps().await {
        let mobile = fresh_mobile();
        customer(&app, &mobile, true).await;
        let body = sign_in_full(&app, &mobile, PASSWORD).await;
        assert_eq!(body["level"], "initial-password");
        let token = body["session_token"].as_str().expect("token").to_string();
        let response = get(&app, "/v1/me", &token).await;
        assert_eq!(response.status(), 403);
        assert_eq!(problem(response).await["code"], "INSPAY-AUTH-004");
        let (status, body) = answer(
            post(
                &app,
                "/v1/me/password",
                Some(&token),
                None,
                json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD }),
            )
            .await,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let body = sign_in_full(&app, &mobile, NEW_PASSWORD).await;
        assert_eq!(body["level"], "two-factor");
        app.stop().await;
    }
}

/// Reset needs the SMS code and the ID number from registration; the answer to the send is
/// the same whether or not the number has an account.
/// req: 5.2.4.2-e, 5.2.3.3
#[tokio::test]
async fn password_reset_needs_the_code_and_registration_data() {
    for app in spawn_apps().await {
        let mobile = fresh_mobile();
        customer(&app, &mobile, false).await;
        let token = sign_in(&app, &mobile, PASSWORD).await;
        after_send_interval(&app);
        let stranger = fresh_mobile();
        let unknown = post(
            &app,
            "/v1/password-reset/sms",
            None,
            None,
            json!({ "mobile": stranger, "captcha": captcha(&app).await }),
        )
        .await;
        assert_eq!(unknown.status(), 202);
        // The send limit answers alike for a number without an account.
        let again = post(
            &app,
            "/v1/password-reset/sms",
            None,
            None,
            json!({ "mobile": stranger, "captcha": captcha(&app).await }),
        )
        .await;
        assert_eq!(again.status(), 429);
        let before = sms_count(&app, &mobile);
        let (status, body) = answer(
            post(
                &app,
                "/v1/password-reset/sms",
                None,
                None,
                json!({ "mobile": mobile, "captcha": captcha(&app).await }),
            )
            .await,
        )
        .await;
        assert_eq!(status, 202, "{body}");
        let reset_id = body["id"].as_str().expect("id").to_string();
        let (code, text) = next_sms(&app, &mobile, before).await;
        assert!(text.contains("重置密码"), "{text}");
        // Before verification the answer cannot tell whether the person's name goes with the
        // number: a password made of the stored name, with a wrong code, is just a failed
        // verification.
        let response = post(
            &app,
            "/v1/password-reset",
            None,
            None,
            json!({ "reset_id": reset_id, "mobile": mobile, "code": "000000",
                    "id_number": "110101199003074477", "new_password": format!("{NAME}Harbor!7x") }),
        )
        .await;
        assert_eq!(problem(response).await["code"], "INSPAY-AUTH-012");
        let reset = |id_number: &str, code: &str| {
            json!({
                "reset_id": reset_id, "mobile": mobile, "code": code, "id_number": id_number, "new_password": NEW_PASSWORD
            })
        };
        let response = post(
            &app,
            "/v1/password-reset",
            None,
            None,
            reset("110101199003074477", &code),
        )
        .await;
        assert_eq!(problem(response).await["code"], "INSPAY-AUTH-012");
        // The code was used by that attempt; a new one is needed.
        after_send_interval(&app);
        let before = sms_count(&app, &mobile);
        let (_, body) = answer(
            post(
                &app,
                "/v1/password-reset/sms",
                None,
                None,
                json!({ "mobile": mobile, "captcha": captcha(&app).await }),
            )
            .await,
        )
        .await;
        let reset_id = body["id"].as_str().expect("id").to_string();
        let (code, _) = next_sms(&app, &mobile, before).await;
        let body = json!({ "reset_id": reset_id, "mobile": mobile, "code": code, "id_number": ID_NUMBER, "new_password": NEW_PASSWORD });
        let (status, done) = answer(post(&app, "/v1/password-reset", None, None, body).await).await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(
            get(&app, "/v1/me", &token).await.status(),
            401,
            "sessions ended"
        );
        sign_in(&app, &mobile, NEW_PASSWORD).await;
        app.stop().await;
    }
}

/// The transaction password is six digits, not trivial, never the login password.
/// req: 5.2.1.1-b, 5.2.4.1, 5.2.4.3
#[tokio::test]
async fn transaction_password_is_independent_and_not_trivial() {
    for app in spawn_apps().await {
        let mobile = fresh_mobile();
        customer(&app, &mobile, false).await;
        let token = sign_in(&app, &mobile, PASSWORD).await;
        for (value, code) in [
            ("123456", "INSPAY-AUTH-010"),
            ("111111", "INSPAY-AUTH-010"),
            ("12a456", "INSPAY-REQ-003"),
        ] {
            let proof = step_up(&app, &token, &mobile, "transaction-password").await;
            let response = send(
                &app,
                reqwest::Method::PUT,
                "/v1/me/transaction-password",
                Some(&token),
                Some(&proof),
                Some(json!({ "new": value })),
            )
            .await;
            assert_eq!(problem(response).await["code"], code, "{value}");
        }
        let proof = step_up(&app, &token, &mobile, "transaction-password").await;
        let response = send(
            &app,
            reqwest::Method::PUT,
            "/v1/me/transaction-password",
            Some(&token),
            Some(&proof),
            Some(json!({ "new": "730195" })),
        )
        .await;
        assert_eq!(response.status(), 200);
        let (_, me) = answer(get(&app, "/v1/me", &token).await).await;
        assert!(
            me["factors"]
                .as_array()
                .expect("factors")
                .contains(&json!("transaction-password"))
        );
        app.stop().await;
    }
}

/// A device key signs a single-use server challenge; the server never takes anything
/// biometric; a replayed signature is refused; closing the account ends sessions and keys.
/// req: 5.2.1.1-d3, 5.6.5-a4, 5.6.5-c
#[tokio::test]
async fn device_keys_sign_single_use_challenges_and_closure_ends_everything() {
    for app in spawn_apps().await {
        let mobile = fresh_mobile();
        customer(&app, &mobile, false).await;
        let token = sign_in(&app, &mobile, PASSWORD).await;
        let device = Sm2PrivateKey::generate().expect("key");
        use base64::Engine;
        let public =
            base64::engine::general_purpose::STANDARD.encode(device.public_key().to_sec1());
        // No field for biometric data.
        let proof = step_up(&app, &token, &mobile, "device-enrol").await;
        let response = post(
            &app,
            "/v1/me/devices",
            Some(&token),
            Some(&proof),
            json!({ "public_key": public, "label": "phone", "fingerprint_template": "AAAA" }),
        )
        .await;
        assert_eq!(response.status(), 400);
        let proof = step_up(&app, &token, &mobile, "device-enrol").await;
        let (status, body) = answer(
            post(
                &app,
                "/v1/me/devices",
                Some(&token),
                Some(&proof),
                json!({ "public_key": public, "label": "phone" }),
            )
            .await,
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let key_id = body["key_id"].as_str().expect("key").to_string();

        // Sign in with password + device key.
        let (_, body) = answer(password_step(&app, &mobile, PASSWORD, None).await).await;
        let flow = body["flow_id"].as_str().expect("flow").to_string();
        let (status, challenge) = answer(
            post(
                &app,
                &format!("/v1/sign-in/{flow}/key-challenge"),
                None,
                None,
                json!({ "key_id": key_id }),
            )
            .await,
        )
        .await;
        assert_eq!(status, 200, "{challenge}");
        let message = base64::engine::general_purpose::STANDARD
            .decode(challenge["message_base64"].as_str().expect("message"))
            .expect("b64");
        let signature = device.sign(&message).expect("sign");
        let answer_body = json!({
            "challenge_id": challenge["challenge_id"],
            "signature_base64": base64::engine::general_purpose::STANDARD.encode(signature.to_der()),
        });
        let (status, body) = answer(
            post(
                &app,
                &format!("/v1/sign-in/{flow}/key"),
                None,
                None,
                answer_body.clone(),
            )
            .await,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let device_token = body["session_token"].as_str().expect("token").to_string();
        // Replaying the same signature on a new flow fails.
        let (_, body) = answer(password_step(&app, &mobile, PASSWORD, None).await).await;
        let flow = body["flow_id"].as_str().expect("flow").to_string();
        let response = post(
            &app,
            &format!("/v1/sign-in/{flow}/key"),
            None,
            None,
            answer_body,
        )
        .await;
        assert_eq!(response.status(), 401);

        // Close: sessions and keys end.
        let proof = step_up(&app, &token, &mobile, "account-close").await;
        let (status, closed) =
            answer(post(&app, "/v1/me/close", Some(&token), Some(&proof), json!({})).await).await;
        assert_eq!(status, 200, "{closed}");
        assert_eq!(closed["keys_revoked"], 1);
        assert_eq!(get(&app, "/v1/me", &token).await.status(), 401);
        assert_eq!(get(&app, "/v1/me", &device_token).await.status(), 401);
        let response = password_step(&app, &mobile, PASSWORD, Some(captcha(&app).await)).await;
        assert_eq!(response.status(), 401, "a closed account cannot sign in");
        app.stop().await;
    }
}

/// Every route declares its class and authentication; signed-in routes refuse a missing,
/// malformed or unknown token with one code; bad input on every identity route is a 4xx.
/// req: 5.3.1.2, 4-a
#[tokio::test]
async fn every_route_is_declared_and_signed_in_routes_refuse_strangers() {
    let mut seen = std::collections::HashSet::new();
    for spec in inspay_server::routes::SPECS
        .iter()
        .flat_map(|specs| specs.iter())
    {
        assert!(
            seen.insert((spec.method, spec.path)),
            "{} {} declared twice",
            spec.method,
            spec.path
        );
    }
    for app in spawn_apps().await {
        for spec in inspay_server::routes::SPECS
            .iter()
            .flat_map(|specs| specs.iter())
        {
            let path = spec
                .path
                .replace("{flow_id}", "x")
                .replace("{key_id}", "x")
                .replace("{account_id}", "x")
                .replace("{policy_id}", "x")
                .replace("{number}", "1");
            let method = reqwest::Method::from_bytes(spec.method.as_bytes()).expect("method");
            for token in [
                None,
                Some("x"),
                Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            ] {
                let mut request = app
                    .client
                    .request(method.clone(), app.url(&path))
                    .json(&json!({ "unexpected": 1 }));
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                if spec.class == inspay_server::routes::OperationClass::FundTransaction {
                    request = request.header(
                        "idempotency-key",
                        format!("strangers-{}", crate::signing::nonce()),
                    );
                }
                let response = request.send().await.expect("request");
                let status = response.status().as_u16();
                assert!(
                    (200..500).contains(&status),
                    "{} {path}: {status}",
                    spec.method
                );
                if spec.need != inspay_server::auth::Need::Public {
                    assert_eq!(
                        status, 401,
                        "{} {path} without a valid session",
                        spec.method
                    );
                }
            }
        }
        app.stop().await;
    }
}

/// A gesture of at least four points is enrolled after a step-up and stored as its own slow
/// hash; it then serves as the first sign-in factor (with an SMS code as the second) and for
/// resuming after the background limit.
/// req: 5.2.1.1-d1, 5.2.1.1-a, 5.2.1.1
#[tokio::test]
async fn gesture_is_enrolled_then_signs_in_and_resumes() {
    for app in spawn_apps().await {
        let mobile = fresh_mobile();
        let account = customer(&app, &mobile, false).await;
        let token = sign_in(&app, &mobile, PASSWORD).await;
        let proof = step_up(&app, &token, &mobile, "gesture").await;
        let response = send(
            &app,
            reqwest::Method::PUT,
            "/v1/me/gesture",
            Some(&token),
            Some(&proof),
            Some(json!({ "new": "1-2-3" })),
        )
        .await;
        assert_eq!(
            problem(response).await["code"],
            "INSPAY-REQ-003",
            "three points are too few"
        );
        let proof = step_up(&app, &token, &mobile, "gesture").await;
        let response = send(
            &app,
            reqwest::Method::PUT,
            "/v1/me/gesture",
            Some(&token),
            Some(&proof),
            Some(json!({ "new": "1-2-3-6-9" })),
        )
        .await;
        assert_eq!(response.status(), 200);
        let hashes = app
            .state
            .store
            .secret_hashes(&account)
            .await
            .expect("hashes");
        let gesture = hashes
            .iter()
            .find(|hash| hash.kind() == inspay_identity::secret_hash::SecretKind::Gesture)
            .expect("a gesture hash");
        assert!(
            gesture.to_text().starts_with("pbkdf2-hmac-sm3"),
            "slow hash: {}",
            gesture.to_text()
        );

        // Gesture first, SMS second.
        let (status, body) = answer(
            post(
                &app,
                "/v1/sign-in",
                None,
                None,
                json!({ "login_name": mobile, "gesture": "1-2-3-6-9" }),
            )
            .await,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let flow = body["flow_id"].as_str().expect("flow").to_string();
        assert_eq!(send_sign_in_code(&app, &flow).await.status(), 202);
        let (code, _) = last_sms(&app, &mobile);
        let (status, body) = answer(
            post(
                &app,
                &format!("/v1/sign-in/{flow}/sms-code"),
                None,
                None,
                json!({ "code": code }),
            )
            .await,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let session = body["session_token"].as_str().expect("token").to_string();
        // A wrong gesture is a failure like a wrong password.
        let response = post(
            &app,
            "/v1/sign-in",
            None,
            None,
            json!({ "login_name": mobile, "gesture": "7-8-9-6" }),
        )
        .await;
        assert_eq!(response.status(), 401);

        app.state.advance_clock(301_000);
        let (status, body) = answer(
            post(
                &app,
                "/v1/session/resume",
                Some(&session),
                None,
                json!({ "gesture": "1-2-3-6-9" }),
            )
            .await,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        app.stop().await;
    }
}

/// Changing the bound mobile number needs a step-up (a fresh factor the person already has)
/// and a code sent to the new number; the number is the login name, so every session ends
/// and the new number signs in, the old one no longer; a number another account uses is
/// refused.
/// req: 5.1-b, 5.3.3.4-a, 5.2.1.1-d2
#[tokio::test]
async fn mobile_change_needs_a_step_up_and_the_new_number() {
    for app in spawn_apps().await {
        let (old, new, taken) = (fresh_mobile(), fresh_mobile(), fresh_mobile());
        customer(&app, &old, false).await;
        customer(&app, &taken, false).await;
        let token = sign_in(&app, &old, PASSWORD).await;
        let send_new = |number: String| {
            let (app, token) = (&app, token.clone());
            async move {
                let captcha = captcha(app).await;
                post(
                    app,
                    "/v1/me/mobile/code",
                    Some(&token),
                    None,
                    json!({ "new_mobile": number, "captcha": captcha }),
                )
                .await
            }
        };
        assert_eq!(send_new(new.clone()).await.status(), 202);
        let (code, text) = last_sms(&app, &new);
        assert!(text.contains("更换绑定手机号"), "{text}");
        let change = json!({ "new_mobile": new, "code": code });
        let response = post(&app, "/v1/me/mobile", Some(&token), None, change.clone()).await;
        assert_eq!(problem(response).await["code"], "INSPAY-AUTH-003");

        // A number another account signs in with is refused.
        assert_eq!(send_new(taken.clone()).await.status(), 202);
        let (taken_code, _) = last_sms(&app, &taken);
        let proof = step_up(&app, &token, &old, "mobile-change").await;
        let response = post(
            &app,
            "/v1/me/mobile",
            Some(&token),
            Some(&proof),
            json!({ "new_mobile": taken, "code": taken_code }),
        )
        .await;
        assert_eq!(response.status(), 409);

        let proof = step_up(&app, &token, &old, "mobile-change").await;
        let (status, body) =
            answer(post(&app, "/v1/me/mobile", Some(&token), Some(&proof), change).await).await;
        assert_eq!(status, 200, "{}: {body}", app.label);
        assert_eq!(
            get(&app, "/v1/me", &token).await.status(),
            401,
            "sessions ended"
        );
        let response = password_step(&app, &old, PASSWORD, None).await;
        assert_eq!(response.status(), 401, "the old number no longer signs in");
        let fresh = sign_in(&app, &new, PASSWORD).await;
        let (_, me) = answer(get(&app, "/v1/me", &fresh).await).await;
        assert_eq!(me["mobile"], format!("{}****{}", &new[..3], &new[7..]));
        app.stop().await;
    }
}

/// NUL characters and ids the server never gave out are bad input (4xx), never a database
/// error, on every backend.
/// req: 5.4.2.2, 5.3.5.1
#[tokio::test]
async fn nul_characters_and_foreign_ids_are_bad_input() {
    for app in spawn_apps().await {
        let mobile = fresh_mobile();
        customer(&app, &mobile, false).await;
        let token = sign_in(&app, &mobile, PASSWORD).await;
        let response = post(
            &app,
            "/v1/registration",
            None,
            None,
            json!({
                "registration_id": "\u{0}", "code": "123456", "mobile": mobile, "legal_name": NAME,
                "id_number": ID_NUMBER, "password": PASSWORD,
                "consent": { "notice_version": "2026-11", "choices": {} }
            }),
        )
        .await;
        assert_eq!(response.status(), 400, "{}", app.label);
        assert_eq!(problem(response).await["code"], "INSPAY-REQ-002");
        let response = send(
            &app,
            reqwest::Method::DELETE,
            "/v1/me/devices/%00",
            Some(&token),
            None,
            None,
        )
        .await;
        assert_eq!(response.status(), 422, "{}", app.label);
        let response = post(
            &app,
            "/v1/password-reset",
            None,
            None,
            json!({
                "reset_id": "not-an-id", "mobile": mobile, "code": "123456",
                "id_number": ID_NUMBER, "new_password": NEW_PASSWORD
            }),
        )
        .await;
        assert_eq!(problem(response).await["code"], "INSPAY-REQ-003");
        app.stop().await;
    }
}
