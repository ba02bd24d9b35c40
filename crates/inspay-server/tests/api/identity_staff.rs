//! Staff against the running server on both databases: password plus registered SM2 key,
//! initial password first, permissions by role, data scope by assignment, audited full
//! display after a step-up with the staff key.

use crate::helpers::{TestApp, problem, spawn_apps};
use crate::people::*;
use base64::Engine;
use inspay_crypto::sm2::Sm2PrivateKey;
use inspay_identity::authorization::Role;
use inspay_identity::login_name::LoginName;
use inspay_identity::secret_hash::{ITERATIONS_MIN, SecretHash, SecretKind};
use inspay_store::accounts::{NewAccount, Population};
use inspay_store::keys::Actor;
use serde_json::json;

const OFFICER: Actor<'static> = Actor {
    actor: "operator:security-officer",
    request_id: "test",
};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A staff account with an initial password, a role and a registered SM2 key.
async fn staff(app: &TestApp, login: &str, role: Role) -> (String, String, Sm2PrivateKey) {
    let hash = SecretHash::new(
        SecretKind::LoginPassword,
        PASSWORD.as_bytes(),
        ITERATIONS_MIN,
    )
    .expect("hash");
    let now = app.state.now_ms();
    let store = &app.state.store;
    let id = store
        .account_create(
            &app.state.keyring(),
            &NewAccount {
                population: Population::Staff,
                login_name: &LoginName::staff(login).expect("login"),
                person_id: None,
                password: &hash,
                must_change_password: true,
            },
            OFFICER,
            now,
        )
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
    (id, key_id, key)
}

async fn staff_sign_in(
    app: &TestApp,
    login: &str,
    password: &str,
    key_id: &str,
    key: &Sm2PrivateKey,
) -> serde_json::Value {
    let (status, body) = answer(
        post(
            app,
            "/v1/sign-in",
            None,
            None,
            json!({ "login_name": login, "staff": true, "password": password }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{}: {body}", app.label);
    assert_eq!(body["next"], json!(["certificate"]));
    let flow = body["flow_id"].as_str().expect("flow").to_string();
    let (status, challenge) = answer(
        post(
            app,
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
    let signature = key.sign(&message).expect("sign").to_der();
    let (status, body) = answer(
        post(
            app,
            &format!("/v1/sign-in/{flow}/key"),
            None,
            None,
            json!({ "challenge_id": challenge["challenge_id"], "signature_base64": b64(&signature) }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Staff sign in with a password and their registered SM2 key, change the initial password
/// first, reach only the customers assigned to them, and see a field in full only after a
/// step-up with their key, audited; customers cannot use staff routes nor staff customer ones.
/// req: 5.3.2.1, 5.3.2.2, 5.6.1-d, 5.6.4.2, 5.2.2.2-c2, 5.2.1.1, 5.2.4.2-a
#[tokio::test]
async fn staff_reach_only_their_customers_and_full_display_needs_a_step_up() {
    for app in spawn_apps().await {
        let (agent, key_id, key) = staff(&app, "agent.li", Role::Agent).await;
        let assigned_mobile = fresh_mobile();
        let assigned = customer(&app, &assigned_mobile, false).await;
        let other = customer(&app, &fresh_mobile(), false).await;
        app.state
            .store
            .agent_assign_customer(&agent, &assigned, OFFICER, app.state.now_ms())
            .await
            .expect("assign");

        // Initial password: nothing but the change.
        let body = staff_sign_in(&app, "agent.li", PASSWORD, &key_id, &key).await;
        assert_eq!(body["level"], "initial-password");
        let token = body["session_token"].as_str().expect("token").to_string();
        let response = get(&app, &format!("/v1/customers/{assigned}"), &token).await;
        assert_eq!(problem(response).await["code"], "INSPAY-AUTH-004");
        let response = post(
            &app,
            "/v1/me/password",
            Some(&token),
            None,
            json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD }),
        )
        .await;
        assert_eq!(response.status(), 200);
        let body = staff_sign_in(&app, "agent.li", NEW_PASSWORD, &key_id, &key).await;
        assert_eq!(body["level"], "two-factor");
        let token = body["session_token"].as_str().expect("token").to_string();

        // Data scope: the assigned customer, masked; any other is refused like a stranger.
        let (status, seen) =
            answer(get(&app, &format!("/v1/customers/{assigned}"), &token).await).await;
        assert_eq!(status, 200, "{seen}");
        assert_eq!(
            seen["mobile"],
            format!("{}****{}", &assigned_mobile[..3], &assigned_mobile[7..])
        );
        for stranger in [
            other.as_str(),
            "0190d7a0-0000-7000-8000-000000000000",
            "not-an-id",
        ] {
            let response = get(&app, &format!("/v1/customers/{stranger}"), &token).await;
            assert_eq!(response.status(), 403, "{stranger}");
            assert_eq!(problem(response).await["code"], "INSPAY-AUTH-005");
            // Statements follow the same scope.
            let response = get(&app, &format!("/v1/customers/{stranger}/statement"), &token).await;
            assert_eq!(response.status(), 403, "{stranger}: statement");
        }
        let (status, statement) =
            answer(get(&app, &format!("/v1/customers/{assigned}/statement"), &token).await).await;
        assert_eq!(status, 200, "{statement}");
        assert_eq!(statement["account_id"], assigned.as_str());
        // Staff hold no customer self-service permission.
        let response = get(&app, "/v1/me/consents", &token).await;
        assert_eq!(problem(response).await["code"], "INSPAY-AUTH-005");

        // Full display: step-up with the staff key, then the field, audited.
        let path = format!("/v1/customers/{assigned}/full-display");
        let fields = json!({ "fields": ["id_number"] });
        let response = post(&app, &path, Some(&token), None, fields.clone()).await;
        assert_eq!(problem(response).await["code"], "INSPAY-AUTH-003");
        let (status, challenge) = answer(
            post(
                &app,
                "/v1/step-up",
                Some(&token),
                None,
                json!({ "operation": "full-display", "method": "certificate", "key_id": key_id }),
            )
            .await,
        )
        .await;
        assert_eq!(status, 200, "{challenge}");
        let message = base64::engine::general_purpose::STANDARD
            .decode(challenge["message_base64"].as_str().expect("message"))
            .expect("b64");
        let signature = key.sign(&message).expect("sign").to_der();
        let (status, proof) = answer(post(&app, "/v1/step-up/verify", Some(&token), None, json!({ "operation": "full-display", "challenge_id": challenge["challenge_id"], "signature_base64": b64(&signature) })).await).await;
        assert_eq!(status, 200, "{proof}");
        let proof = proof["step_up_token"].as_str().expect("proof").to_string();
        let (status, shown) =
            answer(post(&app, &path, Some(&token), Some(&proof), fields).await).await;
        assert_eq!(status, 200, "{shown}");
        assert_eq!(shown["id_number"], ID_NUMBER);
        let audit = app
            .state
            .store
            .audit_entries(0, 100_000)
            .await
            .expect("audit");
        assert!(
            audit
                .iter()
                .any(|entry| entry.action == "customer.full-display"
                    && entry.actor == format!("account:{agent}")
                    && entry.object == format!("account:{assigned}")
                    && entry.outcome == "success")
        );

        // A customer cannot use the staff route, not even on themself.
        let customer_token = sign_in(&app, &assigned_mobile, PASSWORD).await;
        let response = get(&app, &format!("/v1/customers/{assigned}"), &customer_token).await;
        assert_eq!(problem(response).await["code"], "INSPAY-AUTH-005");
        app.stop().await;
    }
}

/// A staff account unused for 180 days signs in to a session that can do nothing until a
/// security officer confirms the person (`inspay users reactivate`); then sign-in is normal.
/// req: 5.3.3.3-c
#[tokio::test]
async fn dormant_staff_need_a_security_officer() {
    for app in spawn_apps().await {
        let (agent, key_id, key) = staff(&app, "agent.wu", Role::Agent).await;
        let body = staff_sign_in(&app, "agent.wu", PASSWORD, &key_id, &key).await;
        let token = body["session_token"].as_str().expect("token").to_string();
        let response = post(
            &app,
            "/v1/me/password",
            Some(&token),
            None,
            json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD }),
        )
        .await;
        assert_eq!(response.status(), 200);
        staff_sign_in(&app, "agent.wu", NEW_PASSWORD, &key_id, &key).await;

        app.state.advance_clock(181 * 86_400_000);
        let body = staff_sign_in(&app, "agent.wu", NEW_PASSWORD, &key_id, &key).await;
        assert_eq!(body["level"], "dormant", "{body}");
        let body = staff_sign_in(&app, "agent.wu", NEW_PASSWORD, &key_id, &key).await;
        assert_eq!(
            body["level"], "dormant",
            "signing in again does not skip the officer"
        );
        let token = body["session_token"].as_str().expect("token").to_string();
        let response = get(&app, "/v1/me", &token).await;
        assert_eq!(problem(response).await["code"], "INSPAY-AUTH-006");
        let response = post(
            &app,
            "/v1/session/verify-identity",
            Some(&token),
            None,
            json!({ "id_number": ID_NUMBER }),
        )
        .await;
        assert_eq!(response.status(), 409, "staff cannot confirm themselves");

        app.state
            .store
            .staff_reactivate(&agent, OFFICER, app.state.now_ms())
            .await
            .expect("reactivate");
        assert_eq!(
            get(&app, "/v1/session", &token).await.status(),
            401,
            "the dormant session ended"
        );
        let body = staff_sign_in(&app, "agent.wu", NEW_PASSWORD, &key_id, &key).await;
        assert_eq!(body["level"], "two-factor");
        app.stop().await;
    }
}
