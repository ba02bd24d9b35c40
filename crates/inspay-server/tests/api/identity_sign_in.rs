//! Sign-in against the running server on both databases: two factors in order, vague
//! failures, CAPTCHA after a failure, lockout and its end, one-time codes, sessions.

use crate::helpers::{logs, logs_hold_token, problem, spawn_apps};
use crate::people::*;
use serde_json::json;

/// A password alone never gives a session; the second factor must follow on the same flow,
/// in order, once. A wrong code ends the flow; a replayed step is refused.
/// req: 5.2.1.2, 5.3.1.2, 5.2.1.1-a
#[tokio::test]
async fn sign_in_needs_two_factors_in_order_and_once() {
    for app in spawn_apps().await {
        let mobile = fresh_mobile();
        customer(&app, &mobile, false).await;
        let (status, body) = answer(password_step(&app, &mobile, PASSWORD, None).await).await;
        assert_eq!(status, 200, "{}: {body}", app.label);
        assert!(
            body.get("session_token").is_none(),
            "no session after one factor"
        );
        assert_eq!(body["next"], json!(["sms-code", "device-key"]));
        let flow = body["flow_id"].as_str().expect("flow").to_string();

        // A wrong code fails the factor and ends the flow: the right code cannot follow.
        assert_eq!(send_sign_in_code(&app, &flow).await.status(), 202);
        let (code, text) = last_sms(&app, &mobile);
        assert!(
            text.contains("登录"),
            "the message names its purpose: {text}"
        );
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let response = post(
            &app,
            &format!("/v1/sign-in/{flow}/sms-code"),
            None,
            None,
            json!({ "code": wrong }),
        )
        .await;
        assert_eq!(response.status(), 401);
        let response = post(
            &app,
            &format!("/v1/sign-in/{flow}/sms-code"),
            None,
            None,
            json!({ "code": code }),
        )
        .await;
        assert_eq!(response.status(), 409, "{}: the flow ended", app.label);
        assert_eq!(problem(response).await["code"], "INSPAY-AUTH-009");

        // A completed flow cannot be completed again (replay).
        let (status, body) =
            answer(password_step(&app, &mobile, PASSWORD, Some(captcha(&app).await)).await).await;
        assert_eq!(status, 200, "{body}");
        let flow = body["flow_id"].as_str().expect("flow").to_string();
        assert_eq!(send_sign_in_code(&app, &flow).await.status(), 202);
        let (code, _) = last_sms(&app, &mobile);
        let path = format!("/v1/sign-in/{flow}/sms-code");
        let (status, body) =
            answer(post(&app, &path, None, None, json!({ "code": code })).await).await;
        assert_eq!(status, 200, "{body}");
        let token = body["session_token"].as_str().expect("token").to_string();
        assert_eq!(token.len(), 43, "256-bit token");
        assert_eq!(body["level"], "two-factor");
        let replay = post(&app, &path, None, None, json!({ "code": code })).await;
        assert_eq!(replay.status(), 409);

        // An unknown or malformed flow id is the same refusal.
        for flow in ["not-a-flow", "0190d7a0-0000-7000-8000-000000000000"] {
            let response = post(
                &app,
                &format!("/v1/sign-in/{flow}/sms-code"),
                None,
                None,
                json!({ "code": "123456" }),
            )
            .await;
            assert_eq!(response.status(), 409);
        }
        let (status, me) = answer(get(&app, "/v1/me", &token).await).await;
        assert_eq!(status, 200, "{me}");
        app.stop().await;
    }
}

/// Unknown account, wrong password and locked account get the same status, code and title;
/// after a failure the name needs a CAPTCHA; the third consecutive failure locks the account
/// for 30 minutes and ends its sessions; the lock ends by itself.
/// req: 5.2.3.1, 5.2.3.2, 5.2.3.3, 5.2.1.1-e, 5.2.1.1-f
#[tokio::test]
async fn failures_are_vague_need_a_captcha_and_lock_after_three() {
    for app in spawn_apps().await {
        let mobile = fresh_mobile();
        customer(&app, &mobile, false).await;
        let token = sign_in(&app, &mobile, PASSWORD).await;

        let unknown = problem(password_step(&app, &fresh_mobile(), PASSWORD, None).await).await;
        let wrong = problem(password_step(&app, &mobile, "Wrong!Password9x", None).await).await;
        for body in [&unknown, &wrong] {
            assert_eq!(body["status"], 401);
            assert_eq!(body["code"], "INSPAY-AUTH-001");
        }
        assert_eq!(unknown["title"], wrong["title"]);
        // The random reference may hold any four digits; the rest of the answer may not.
        let mut without_reference = wrong.clone();
        without_reference["reference"] = serde_json::Value::Null;
        assert!(
            !without_reference
                .to_string()
                .contains(&mobile[mobile.len() - 4..]),
            "no account number in the message: {wrong}"
        );

        // After a failure, no CAPTCHA means no attempt at all (not even a counted one).
        let response = password_step(&app, &mobile, PASSWORD, None).await;
        assert_eq!(response.status(), 422);
        assert_eq!(problem(response).await["code"], "INSPAY-AUTH-007");
        // A CAPTCHA alone is not a factor: right CAPTCHA, wrong password, still refused.
        let response =
            password_step(&app, &mobile, "Wrong!Password9x", Some(captcha(&app).await)).await;
        assert_eq!(response.status(), 401);
        // A CAPTCHA is single use.
        let used = captcha(&app).await;
        let _ = password_step(&app, &mobile, "Wrong!Password9x", Some(used.clone())).await;
        let response = password_step(&app, &mobile, PASSWORD, Some(used)).await;
        assert_eq!(problem(response).await["code"], "INSPAY-AUTH-007");

        // Three failures: locked. The right password now gets the same answer as a wrong one.
        let locked =
            problem(password_step(&app, &mobile, PASSWORD, Some(captcha(&app).await)).await).await;
        assert_eq!(locked["code"], wrong["code"]);
        assert_eq!(locked["title"], wrong["title"]);
        assert_eq!(locked["status"], wrong["status"]);
        // The lock ended the session that was open.
        let response = get(&app, "/v1/me", &token).await;
        assert_eq!(
            response.status(),
            401,
            "{}: the session ended with the lock",
            app.label
        );
        assert_eq!(problem(response).await["code"], "INSPAY-AUTH-002");

        // 30 minutes later the lock is over.
        app.state.advance_clock(30 * 60 * 1000 + 1000);
        sign_in(&app, &mobile, PASSWORD).await;
        app.stop().await;
    }
}

/// Codes go only to the phone: never in a response body or a log line; a code is single
/// use; a second send within 60 s is refused with Retry-After; a CAPTCHA is needed before
/// every send.
/// req: 5.2.1.1-d2, 5.2.1.1-e
#[tokio::test]
async fn sms_codes_are_rate_limited_single_use_and_never_echoed() {
    for app in spawn_apps().await {
        let mobile = fresh_mobile();
        customer(&app, &mobile, false).await;
        let (_, body) = answer(password_step(&app, &mobile, PASSWORD, None).await).await;
        let flow = body["flow_id"].as_str().expect("flow").to_string();
        let path = format!("/v1/sign-in/{flow}/sms");
        let response = post(&app, &path, None, None, json!({})).await;
        assert_eq!(
            problem(response).await["code"],
            "INSPAY-AUTH-007",
            "CAPTCHA before an SMS"
        );
        after_send_interval(&app);
        let response = post(
            &app,
            &path,
            None,
            None,
            json!({ "captcha": captcha(&app).await }),
        )
        .await;
        let sent = response.text().await.expect("body");
        let (code, _) = last_sms(&app, &mobile);
        assert!(
            !sent.contains(&code),
            "the code is not in the response: {sent}"
        );
        let response = post(
            &app,
            &path,
            None,
            None,
            json!({ "captcha": captcha(&app).await }),
        )
        .await;
        assert_eq!(response.status(), 429);
        let retry: i64 = response.headers()["retry-after"]
            .to_str()
            .expect("header")
            .parse()
            .expect("seconds");
        assert!((1..=60).contains(&retry), "Retry-After {retry}");
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
        assert!(!logs_hold_token(&code), "the code never reaches a log");
        assert!(
            !logs().contains(PASSWORD),
            "the password never reaches a log"
        );
        app.stop().await;
    }
}

/// The CAPTCHA endpoint returns an id and a PNG, never the answer.
/// req: 5.2.1.1-e
#[tokio::test]
async fn captcha_endpoint_returns_an_image_and_no_answer() {
    for app in spawn_apps().await {
        let response = app
            .client
            .get(app.url("/v1/captcha"))
            .send()
            .await
            .expect("captcha");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: serde_json::Value = response.json().await.expect("json");
        // Sorted: JSON objects have no order (test builds keep insertion order, because a
        // test dependency turns on serde_json's `preserve_order`).
        let mut keys: Vec<&str> = body
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["expires_in_s", "height", "id", "image_png_base64", "width"]
        );
        assert_eq!(body["expires_in_s"], 120);
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD
            .decode(body["image_png_base64"].as_str().expect("image"))
            .expect("base64");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        app.stop().await;
    }
}

/// Sessions: idle limit, background limit with resume and a new token, logout deletes the
/// server-side session, and the multi-login policy reports other sessions.
/// req: 5.3.3.3-a, 5.3.3.3-b, 5.2.1.2, 5.6.5-c
#[tokio::test]
async fn sessions_time_out_resume_with_a_new_token_and_end_on_logout() {
    for app in spawn_apps().await {
        let mobile = fresh_mobile();
        customer(&app, &mobile, false).await;
        let first = sign_in(&app, &mobile, PASSWORD).await;
        let second = sign_in_full(&app, &mobile, PASSWORD).await;
        assert_eq!(
            second["other_sessions_active"], 1,
            "policy notify reports the other session"
        );
        let token = second["session_token"].as_str().expect("token").to_string();

        // Back after more than 300 s: re-authenticate before anything else.
        app.state.advance_clock(301_000);
        let response = get(&app, "/v1/me", &token).await;
        assert_eq!(response.status(), 401);
        assert_eq!(problem(response).await["code"], "INSPAY-AUTH-006");
        let (status, body) = answer(
            post(
                &app,
                "/v1/session/resume",
                Some(&token),
                None,
                json!({ "password": "Wrong!Password9x" }),
            )
            .await,
        )
        .await;
        assert_eq!(status, 401, "{body}");
        let (status, body) = answer(
            post(
                &app,
                "/v1/session/resume",
                Some(&token),
                None,
                json!({ "password": PASSWORD }),
            )
            .await,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let resumed = body["session_token"].as_str().expect("token").to_string();
        assert_ne!(resumed, token, "a new token after re-authentication");
        assert_eq!(
            get(&app, "/v1/me", &token).await.status(),
            401,
            "the old token is gone"
        );
        assert_eq!(get(&app, "/v1/me", &resumed).await.status(), 200);

        // Logout deletes the session.
        assert_eq!(
            post(&app, "/v1/sign-out", Some(&resumed), None, json!({}))
                .await
                .status(),
            204
        );
        assert_eq!(get(&app, "/v1/me", &resumed).await.status(), 401);

        // The first session, idle for more than 15 minutes, is gone.
        app.state.advance_clock(15 * 60 * 1000);
        let response = get(&app, "/v1/session", &first).await;
        assert_eq!(response.status(), 401);
        assert_eq!(problem(response).await["code"], "INSPAY-AUTH-002");
        app.stop().await;
    }
}

/// An account unused for 180 days signs in to a session that can only confirm the person's
/// identity with the registration data; a wrong ID number counts as a failure.
/// req: 5.3.3.3-c
#[tokio::test]
async fn dormant_accounts_need_an_extra_factor() {
    for app in spawn_apps().await {
        let mobile = fresh_mobile();
        customer(&app, &mobile, false).await;
        app.state.advance_clock(181 * 86_400_000);
        // An abandoned sign-in (right password, no second factor) does not reset the clock.
        let response = password_step(&app, &mobile, PASSWORD, None).await;
        assert_eq!(response.status(), 200);
        let body = sign_in_full(&app, &mobile, PASSWORD).await;
        assert_eq!(body["level"], "dormant");
        // Signing in again does not skip the check.
        let body = sign_in_full(&app, &mobile, PASSWORD).await;
        assert_eq!(
            body["level"], "dormant",
            "{}: a second sign-in is still dormant",
            app.label
        );
        let token = body["session_token"].as_str().expect("token").to_string();
        let response = get(&app, "/v1/me", &token).await;
        assert_eq!(problem(response).await["code"], "INSPAY-AUTH-006");
        let response = post(
            &app,
            "/v1/session/verify-identity",
            Some(&token),
            None,
            json!({ "id_number": "110105194912310029" }),
        )
        .await;
        assert_eq!(response.status(), 422);
        let (status, body) = answer(
            post(
                &app,
                "/v1/session/verify-identity",
                Some(&token),
                None,
                json!({ "id_number": ID_NUMBER }),
            )
            .await,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let fresh = body["session_token"].as_str().expect("token");
        assert_eq!(get(&app, "/v1/me", fresh).await.status(), 200);
        // Once confirmed, the next sign-in is a normal one.
        let body = sign_in_full(&app, &mobile, PASSWORD).await;
        assert_eq!(body["level"], "two-factor");
        app.stop().await;
    }
}

/// A right first factor does not clear the failure count: "right password, wrong code" three
/// times locks the account like three wrong passwords. Two concurrent completions of one flow
/// give one session.
/// req: 5.2.3.1, 5.3.1.2
#[tokio::test]
async fn second_factor_failures_lock_and_a_flow_completes_once() {
    for app in spawn_apps().await {
        let mobile = fresh_mobile();
        let account = customer(&app, &mobile, false).await;
        for round in 0..3 {
            let captcha = (round > 0).then_some(captcha(&app).await);
            let (status, body) =
                answer(password_step(&app, &mobile, PASSWORD, captcha).await).await;
            assert_eq!(status, 200, "{}: round {round}: {body}", app.label);
            let flow = body["flow_id"].as_str().expect("flow").to_string();
            // Without a live code there is nothing to guess: refused, not counted.
            let response = post(
                &app,
                &format!("/v1/sign-in/{flow}/sms-code"),
                None,
                None,
                json!({ "code": "000000" }),
            )
            .await;
            assert_eq!(response.status(), 409);
            assert_eq!(send_sign_in_code(&app, &flow).await.status(), 202);
            let (code, _) = last_sms(&app, &mobile);
            let wrong = if code == "000000" { "111111" } else { "000000" };
            let response = post(
                &app,
                &format!("/v1/sign-in/{flow}/sms-code"),
                None,
                None,
                json!({ "code": wrong }),
            )
            .await;
            assert_eq!(response.status(), 401);
        }
        let failures = app
            .state
            .store
            .account_failures(&account)
            .await
            .expect("failures");
        assert!(
            failures.locked_until_s.is_some(),
            "{}: locked by second-factor failures",
            app.label
        );
        let response = password_step(&app, &mobile, PASSWORD, Some(captcha(&app).await)).await;
        assert_eq!(response.status(), 401, "locked");

        // One flow, two concurrent right answers: one session.
        let mobile = fresh_mobile();
        customer(&app, &mobile, false).await;
        let (_, body) = answer(password_step(&app, &mobile, PASSWORD, None).await).await;
        let flow = body["flow_id"].as_str().expect("flow").to_string();
        assert_eq!(send_sign_in_code(&app, &flow).await.status(), 202);
        let (code, _) = last_sms(&app, &mobile);
        let path = format!("/v1/sign-in/{flow}/sms-code");
        let (a, b) = tokio::join!(
            post(&app, &path, None, None, json!({ "code": code })),
            post(&app, &path, None, None, json!({ "code": code })),
        );
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses[0], 200, "{}: {statuses:?}", app.label);
        assert_ne!(
            statuses[1], 200,
            "{}: only one completion: {statuses:?}",
            app.label
        );
        app.stop().await;
    }
}
