//! The signed protocol against the running server, on SQLite and PostgreSQL: request
//! signatures, each refusal with its own code, anti-replay, class limits, minimum SDK
//! versions, signed answers and the evidence kept of them.

use crate::helpers::{TestApp, problem, spawn_apps};
use crate::signing::{Signer, TEST_APP_ID, TEST_SDK, nonce};
use base64::Engine;
use inspay_crypto::sm2::{Sm2PrivateKey, Sm2PublicKey};
use inspay_protocol::canonical::CanonicalRequest;
use inspay_protocol::response::{
    CanonicalResponse, NONCE_HEADER, ResponseSignature, SERIAL_HEADER, SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
};
use inspay_store::client_apps::{AppClass, AppStatus, NewClientApp};
use inspay_store::keys::Actor;
use serde_json::{Value, json};

const VALIDATE: &str = "/v1/validate";
const OPERATOR: Actor<'static> = Actor {
    actor: "operator:test",
    request_id: "protocol-test",
};

/// A body without sensitive fields (those need a field nonce; see `field_encryption.rs`).
fn body() -> Vec<u8> {
    serde_json::to_vec(&json!({ "legal_name": "Wang Wei" })).expect("json")
}

/// Registers a fund-transaction application with this key (serial 1).
pub async fn register_with_key(app: &TestApp, id: &str, key: &Sm2PrivateKey) {
    app.state
        .store
        .client_app_register(
            &NewClientApp {
                id,
                name: "Protocol test app",
                class: AppClass::FundTransaction,
                public_key: key.public_key(),
                tls_fingerprint: None,
                sdk_version_min: None,
            },
            OPERATOR,
            app.state.now_ms(),
        )
        .await
        .expect("register");
}

/// Registers another application and returns its signer (key serial 1).
pub async fn register(
    app: &TestApp,
    id: &str,
    class: AppClass,
    tls_fingerprint: Option<&str>,
    sdk_version_min: Option<&str>,
) -> Signer {
    let key = Sm2PrivateKey::generate().expect("key");
    app.state
        .store
        .client_app_register(
            &NewClientApp {
                id,
                name: "Protocol test app",
                class,
                public_key: key.public_key(),
                tls_fingerprint,
                sdk_version_min,
            },
            OPERATOR,
            app.state.now_ms(),
        )
        .await
        .expect("register");
    Signer {
        app_id: id.to_string(),
        serial: 1,
        key,
        state: app.state.clone(),
    }
}

/// Sends a request with exactly this Authorization header (if any), body and SDK report.
async fn raw(
    app: &TestApp,
    method: reqwest::Method,
    target: &str,
    authorization: Option<&str>,
    body: &[u8],
    sdk: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .client
        .unsigned()
        .request(method, app.url(target))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    if let Some(sdk) = sdk {
        request = request.header("x-inspay-sdk", sdk);
    }
    request.send().await.expect("response")
}

fn now_s(app: &TestApp) -> i64 {
    app.state.now_ms().div_euclid(1000)
}

async fn code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body = problem(response).await;
    (
        status,
        body["code"].as_str().unwrap_or_default().to_string(),
    )
}

/// Checks a response's signature headers against the server's keys; returns the body.
async fn verified_body(
    response: reqwest::Response,
    keys: &[(u32, Sm2PublicKey)],
    request_nonce: Option<&str>,
    now_s: i64,
) -> Vec<u8> {
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let signature = ResponseSignature::parse(
        &header(TIMESTAMP_HEADER),
        &header(NONCE_HEADER),
        &header(SERIAL_HEADER),
        &header(SIGNATURE_HEADER),
    )
    .expect("signature headers");
    let body = response.bytes().await.expect("body").to_vec();
    let key = &keys
        .iter()
        .find(|(serial, _)| *serial == signature.serial)
        .expect("known serial")
        .1;
    signature
        .verify(key, status, request_nonce, &body, now_s, 300)
        .expect("the answer is signed by the server");
    // Any other request nonce, or one byte more of body, and it no longer verifies.
    assert!(
        signature
            .verify(key, status, Some("another-nonce-123456"), &body, now_s, 300)
            .is_err()
    );
    let mut changed = body.clone();
    changed.push(b' ');
    assert!(
        signature
            .verify(key, status, request_nonce, &changed, now_s, 300)
            .is_err()
    );
    body
}

/// A signed request is served; its answer carries the server's timestamp, nonce, key serial
/// and SM2 signature over the status, the request's nonce and the body, and the SDK it
/// reported is recorded against the application.
/// req: 5.6.2-c, 5.6.2-a3, 5.6.2-d1, 6.4.6
#[tokio::test]
async fn signed_requests_are_served_and_every_answer_is_signed() {
    for app in spawn_apps().await {
        let keys = crate::helpers::server_keys(&app).await;
        assert!(
            !keys.is_empty(),
            "{}: the server publishes its keys",
            app.label
        );
        let signer = register(&app, "portal-app", AppClass::FundTransaction, None, None).await;
        let body = body();
        let request_nonce = nonce();
        let authorization = signer.header_at("POST", VALIDATE, &body, now_s(&app), &request_nonce);
        let response = raw(
            &app,
            reqwest::Method::POST,
            VALIDATE,
            Some(&authorization),
            &body,
            Some("inspay-sdk-rust/0.1.0"),
        )
        .await;
        assert_eq!(response.status(), 200, "{}", app.label);
        let answer = verified_body(response, &keys, Some(&request_nonce), now_s(&app)).await;
        let answer: Value = serde_json::from_slice(&answer).expect("json");
        assert!(answer["legal_name"].is_string(), "{answer}");

        // Unsigned routes (health) and refusals are signed too, with "-" for the nonce.
        let health = raw(&app, reqwest::Method::GET, "/health/live", None, b"", None).await;
        assert_eq!(health.status(), 200);
        verified_body(health, &keys, None, now_s(&app)).await;
        let refused = raw(&app, reqwest::Method::POST, VALIDATE, None, &body, None).await;
        assert_eq!(refused.status(), 401);
        verified_body(refused, &keys, None, now_s(&app)).await;
        let unknown = raw(&app, reqwest::Method::GET, "/v1/nothing", None, b"", None).await;
        assert_eq!(unknown.status(), 404);
        verified_body(unknown, &keys, None, now_s(&app)).await;

        let apps = app.state.store.client_apps_list().await.expect("apps");
        let (portal, _) = apps
            .iter()
            .find(|(listed, _)| listed.id == "portal-app")
            .expect("listed");
        assert_eq!(portal.last_sdk.as_deref(), Some("inspay-sdk-rust/0.1.0"));
        assert!(portal.last_seen_at_ms.is_some());
        app.stop().await;
    }
}

/// Every way a request's signature can be wrong is refused with its own stable code.
/// req: 5.6.2-c, 5.6.2-d1, 5.4.2.1
#[tokio::test]
async fn each_bad_signature_is_refused_with_its_own_code() {
    for app in spawn_apps().await {
        let signer = register(&app, "rotating-app", AppClass::FundTransaction, None, None).await;
        let body = body();
        let post = |authorization: Option<String>, body: Vec<u8>| {
            let app = &app;
            async move {
                code(
                    raw(
                        app,
                        reqwest::Method::POST,
                        VALIDATE,
                        authorization.as_deref(),
                        &body,
                        None,
                    )
                    .await,
                )
                .await
            }
        };
        let unauthorized = |code: &str| (401, code.to_string());

        assert_eq!(
            post(None, body.clone()).await,
            unauthorized("INSPAY-SIG-001")
        );
        assert_eq!(
            post(Some("INSPAY-SM2-SM3 app_id=\"x\"".into()), body.clone()).await,
            unauthorized("INSPAY-SIG-002")
        );
        // A well-formed header from an application nobody registered.
        let stranger = Signer {
            app_id: "nobody".into(),
            serial: 1,
            key: Sm2PrivateKey::generate().expect("key"),
            state: app.state.clone(),
        };
        assert_eq!(
            post(Some(stranger.header("POST", VALIDATE, &body)), body.clone()).await,
            unauthorized("INSPAY-SIG-003")
        );
        // An unknown serial of a known application.
        let wrong_serial = Signer {
            app_id: "rotating-app".into(),
            serial: 9,
            key: Sm2PrivateKey::generate().expect("key"),
            state: app.state.clone(),
        };
        assert_eq!(
            post(
                Some(wrong_serial.header("POST", VALIDATE, &body)),
                body.clone()
            )
            .await,
            unauthorized("INSPAY-SIG-005")
        );
        // Serial 1 signed by some other key.
        let impostor = Signer {
            app_id: "rotating-app".into(),
            serial: 1,
            key: Sm2PrivateKey::generate().expect("key"),
            state: app.state.clone(),
        };
        assert_eq!(
            post(Some(impostor.header("POST", VALIDATE, &body)), body.clone()).await,
            unauthorized("INSPAY-SIG-007")
        );
        // The body changed by one byte after signing.
        let signed = signer.header("POST", VALIDATE, &body);
        let mut tampered = body.clone();
        // "Wang Wei" becomes "Wang Wej": one byte.
        let last_letter = tampered.iter().rposition(|b| *b == b'i').expect("an i");
        tampered[last_letter] = b'j';
        assert_eq!(
            post(Some(signed), tampered).await,
            unauthorized("INSPAY-SIG-007")
        );
        // The target changed after signing (a query added).
        let signed = signer.header("POST", VALIDATE, &body);
        let response = raw(
            &app,
            reqwest::Method::POST,
            "/v1/validate?x=1",
            Some(&signed),
            &body,
            None,
        )
        .await;
        assert_eq!(code(response).await, unauthorized("INSPAY-SIG-007"));

        // Rotation: a second key is live beside the first; then the first is revoked.
        let second = Sm2PrivateKey::generate().expect("key");
        let serial = app
            .state
            .store
            .client_app_key_add(
                "rotating-app",
                second.public_key(),
                OPERATOR,
                app.state.now_ms(),
            )
            .await
            .expect("add key");
        assert_eq!(serial, 2);
        let rotated = Signer {
            app_id: "rotating-app".into(),
            serial: 2,
            key: second,
            state: app.state.clone(),
        };
        for live in [&signer, &rotated] {
            let response = raw(
                &app,
                reqwest::Method::POST,
                VALIDATE,
                Some(&live.header("POST", VALIDATE, &body)),
                &body,
                None,
            )
            .await;
            assert_eq!(
                response.status(),
                200,
                "{}: serial {}",
                app.label,
                live.serial
            );
        }
        app.state
            .store
            .client_app_key_revoke("rotating-app", 1, OPERATOR, app.state.now_ms())
            .await
            .expect("revoke");
        // Every node re-reads an application within app_cache_ms (1 s).
        app.state.advance_clock(1_001);
        assert_eq!(
            post(Some(signer.header("POST", VALIDATE, &body)), body.clone()).await,
            unauthorized("INSPAY-SIG-006")
        );

        // Suspended, then resumed, then revoked for good.
        app.state
            .store
            .client_app_set_status(
                "rotating-app",
                AppStatus::Suspended,
                OPERATOR,
                app.state.now_ms(),
            )
            .await
            .expect("suspend");
        // Every node re-reads an application within app_cache_ms (1 s).
        app.state.advance_clock(1_001);
        assert_eq!(
            post(Some(rotated.header("POST", VALIDATE, &body)), body.clone()).await,
            (403, "INSPAY-SIG-004".to_string())
        );
        app.state
            .store
            .client_app_set_status(
                "rotating-app",
                AppStatus::Active,
                OPERATOR,
                app.state.now_ms(),
            )
            .await
            .expect("resume");
        // Every node re-reads an application within app_cache_ms (1 s).
        app.state.advance_clock(1_001);
        let ok = raw(
            &app,
            reqwest::Method::POST,
            VALIDATE,
            Some(&rotated.header("POST", VALIDATE, &body)),
            &body,
            None,
        )
        .await;
        assert_eq!(ok.status(), 200);
        app.state
            .store
            .client_app_set_status(
                "rotating-app",
                AppStatus::Revoked,
                OPERATOR,
                app.state.now_ms(),
            )
            .await
            .expect("revoke");
        // Every node re-reads an application within app_cache_ms (1 s).
        app.state.advance_clock(1_001);
        assert_eq!(
            post(Some(rotated.header("POST", VALIDATE, &body)), body.clone()).await,
            (403, "INSPAY-SIG-004".to_string())
        );
        assert!(
            app.state
                .store
                .client_app_set_status(
                    "rotating-app",
                    AppStatus::Active,
                    OPERATOR,
                    app.state.now_ms()
                )
                .await
                .is_err(),
            "revocation is final"
        );
        app.stop().await;
    }
}

/// The timestamp must be within ±300 s of the server's time and the nonce must be new: a
/// request sent twice is served once.
/// req: 5.6.2-e
#[tokio::test]
async fn stale_timestamps_and_replayed_nonces_are_refused() {
    for app in spawn_apps().await {
        let signer = register(&app, "replay-app", AppClass::FundTransaction, None, None).await;
        let body = body();
        for (offset, expected) in [(-301, 401), (301, 401), (-299, 200), (299, 200)] {
            // The server checks whole seconds, so a second that ticks over while the request is
            // in flight moves the boundary by one; such a try proves nothing and is repeated.
            let mut tries = 0;
            let (status, code_seen) = loop {
                tries += 1;
                let before = now_s(&app);
                let header = signer.header_at("POST", VALIDATE, &body, before + offset, &nonce());
                let response = raw(
                    &app,
                    reqwest::Method::POST,
                    VALIDATE,
                    Some(&header),
                    &body,
                    None,
                )
                .await;
                let status = response.status().as_u16();
                let code_seen = if status == 401 {
                    problem(response).await["code"].as_str().map(str::to_string)
                } else {
                    None
                };
                if now_s(&app) == before {
                    break (status, code_seen);
                }
                assert!(
                    tries < 10,
                    "{}: the clock ticked during every try",
                    app.label
                );
            };
            assert_eq!(status, expected, "{}: offset {offset}", app.label);
            if expected == 401 {
                assert_eq!(code_seen.as_deref(), Some("INSPAY-SIG-008"));
            }
        }
        let header = signer.header("POST", VALIDATE, &body);
        let first = raw(
            &app,
            reqwest::Method::POST,
            VALIDATE,
            Some(&header),
            &body,
            None,
        )
        .await;
        assert_eq!(first.status(), 200);
        let again = raw(
            &app,
            reqwest::Method::POST,
            VALIDATE,
            Some(&header),
            &body,
            None,
        )
        .await;
        assert_eq!(code(again).await, (401, "INSPAY-SIG-009".to_string()));
        // Another application may use the same nonce: nonces are per application.
        let other = register(&app, "other-app", AppClass::FundTransaction, None, None).await;
        let same_nonce = header
            .split("nonce=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("nonce")
            .to_string();
        let header = other.header_at("POST", VALIDATE, &body, now_s(&app), &same_nonce);
        let response = raw(
            &app,
            reqwest::Method::POST,
            VALIDATE,
            Some(&header),
            &body,
            None,
        )
        .await;
        assert_eq!(response.status(), 200);
        // Expired nonces are purged once twice the window has passed.
        app.state.advance_clock(601_000);
        let purged = app
            .state
            .store
            .request_nonces_purge(app.state.now_ms())
            .await
            .expect("purge");
        assert!(purged >= 4, "{}: {purged} purged", app.label);
        app.stop().await;
    }
}

/// An application cannot call routes above its class: an information-query application may
/// read but not collect; a fund-transaction one may do both.
/// req: 4-a, 5.4.2.1
#[tokio::test]
async fn applications_cannot_call_above_their_class() {
    for app in spawn_apps().await {
        let reader = register(&app, "reader-app", AppClass::InformationQuery, None, None).await;
        let body = body();
        let response = raw(
            &app,
            reqwest::Method::POST,
            VALIDATE,
            Some(&reader.header("POST", VALIDATE, &body)),
            &body,
            None,
        )
        .await;
        assert_eq!(code(response).await, (403, "INSPAY-SIG-010".to_string()));
        let captcha = app
            .client
            .unsigned()
            .get(app.url("/v1/captcha"))
            .header("authorization", reader.header("GET", "/v1/captcha", b""))
            .send()
            .await
            .expect("captcha");
        assert_eq!(captcha.status(), 200, "{}", app.label);
        app.stop().await;
    }
}

/// An application with a minimum SDK version set gets "update required" (426) from an older
/// or unnamed SDK, and is served from that version on.
/// req: 6.4.5
#[tokio::test]
async fn old_sdks_are_told_to_update() {
    for app in spawn_apps().await {
        let signer = register(
            &app,
            "pinned-app",
            AppClass::FundTransaction,
            None,
            Some("2.1.0"),
        )
        .await;
        let body = body();
        for (sdk, expected) in [
            (None, 426),
            (Some("inspay-sdk-rust/2.0.9"), 426),
            (Some("inspay-sdk-rust/1.99.99"), 426),
            (Some("inspay-sdk-rust/not-a-version"), 426),
            (Some("inspay-sdk-rust/2.1.0"), 200),
            (Some("inspay-sdk-rust/2.10.0"), 200),
        ] {
            let header = signer.header("POST", VALIDATE, &body);
            let response = raw(
                &app,
                reqwest::Method::POST,
                VALIDATE,
                Some(&header),
                &body,
                sdk,
            )
            .await;
            assert_eq!(response.status(), expected, "{}: {sdk:?}", app.label);
            if expected == 426 {
                let problem = problem(response).await;
                assert_eq!(problem["code"], "INSPAY-SIG-012");
                assert!(
                    problem["detail"]
                        .as_str()
                        .expect("detail")
                        .contains("2.1.0")
                );
            }
        }
        app.stop().await;
    }
}

/// Every signed request that changes something is kept as evidence: what the client signed,
/// its signature and the server's signed answer, under a record MAC; both signatures verify
/// again from the row alone. Reads (GET) are not kept.
/// req: 5.6.2-d1, 5.6.1-b
#[tokio::test]
async fn signed_requests_and_answers_are_kept_as_evidence() {
    for app in spawn_apps().await {
        let signer = register(&app, "evidence-app", AppClass::FundTransaction, None, None).await;
        let body = body();
        let request_nonce = nonce();
        let header = signer.header_at("POST", VALIDATE, &body, now_s(&app), &request_nonce);
        let response = raw(
            &app,
            reqwest::Method::POST,
            VALIDATE,
            Some(&header),
            &body,
            Some(TEST_SDK),
        )
        .await;
        assert_eq!(response.status(), 200);
        let get = raw(
            &app,
            reqwest::Method::GET,
            "/v1/captcha",
            Some(&signer.header("GET", "/v1/captcha", b"")),
            b"",
            None,
        )
        .await;
        assert_eq!(get.status(), 200);

        let keyring = app.state.keyring();
        let rows = app
            .state
            .store
            .request_evidence_list(&keyring, Some("evidence-app"), 0, i64::MAX, 10)
            .await
            .expect("evidence");
        assert_eq!(rows.len(), 1, "{}: the GET is not kept", app.label);
        let row = &rows[0];
        assert!(row.mac_ok);
        let evidence = &row.evidence;
        assert_eq!(evidence.nonce, request_nonce);
        assert_eq!(evidence.target, VALIDATE);
        assert_eq!(evidence.sdk.as_deref(), Some(TEST_SDK));
        assert_eq!(evidence.response_status, 200);
        let canonical = CanonicalRequest::from_digest(
            &evidence.method,
            &evidence.target,
            evidence.timestamp_s,
            &evidence.nonce,
            &evidence.body_sm3,
        )
        .expect("canonical");
        let der = base64::engine::general_purpose::STANDARD
            .decode(&evidence.signature)
            .expect("base64");
        let signature = inspay_crypto::sm2::Sm2Signature::from_der(&der).expect("der");
        signer
            .key
            .public_key()
            .verify(&canonical.to_bytes(), &signature)
            .expect("the client's signature verifies from the row");
        let answer = CanonicalResponse::from_digest(
            evidence.response_status,
            evidence.response_timestamp_s,
            &evidence.response_nonce,
            Some(&evidence.nonce),
            &evidence.response_body_sm3,
        );
        let response_signature = ResponseSignature {
            timestamp_s: evidence.response_timestamp_s,
            nonce: evidence.response_nonce.clone(),
            serial: evidence.response_serial,
            signature_der: base64::engine::general_purpose::STANDARD
                .decode(&evidence.response_signature)
                .expect("base64"),
        };
        let server_key = keyring
            .public_key(
                inspay_kms::KeyPurpose::ResponseSigning,
                evidence.response_serial,
            )
            .expect("server key");
        response_signature
            .verify_canonical(server_key, &answer)
            .expect("the server's signature verifies from the row");
        app.stop().await;
    }
}

/// The harness application (which signs every other API test) is itself registered like any
/// other; a request it signs reaches the handlers.
/// req: 5.4.2.1
#[tokio::test]
async fn the_harness_signs_like_an_integrator() {
    let app = spawn_apps().await.remove(0);
    let apps = app.state.store.client_apps_list().await.expect("apps");
    assert!(
        apps.iter()
            .any(|(listed, keys)| listed.id == TEST_APP_ID && keys.len() == 1)
    );
    app.stop().await;
}
