//! Client-side field encryption with one-time nonces, and idempotency keys, against the
//! running server on SQLite and PostgreSQL.

use crate::helpers::{TestApp, problem, spawn_apps};
use crate::signing::{Signer, nonce};
use inspay_crypto::sm2::{Sm2PrivateKey, Sm2PublicKey};
use inspay_protocol::fields::seal;
use serde_json::{Value, json};

const VALIDATE: &str = "/v1/validate";
const MOBILE: &str = "13812345678";

fn signer(app: &TestApp) -> &Signer {
    app.client.signer.as_deref().expect("signer")
}

/// Sends a body signed by the harness application, exactly as given (no automatic
/// encryption), optionally with an idempotency key.
async fn send_exact(
    app: &TestApp,
    body: &Value,
    idempotency_key: Option<&str>,
) -> reqwest::Response {
    let bytes = serde_json::to_vec(body).expect("json");
    let authorization = signer(app).header("POST", VALIDATE, &bytes);
    let mut request = app
        .client
        .unsigned()
        .post(app.url(VALIDATE))
        .header("content-type", "application/json")
        .header("authorization", authorization)
        .body(bytes);
    if let Some(key) = idempotency_key {
        request = request.header("idempotency-key", key);
    }
    request.send().await.expect("response")
}

/// A field nonce and the server's transport key, through the API (a signed request).
async fn field_nonce(app: &TestApp) -> (String, u32, Sm2PublicKey) {
    let response = app
        .client
        .post(app.url("/v1/protocol/field-nonce"))
        .json(&json!({}))
        .send()
        .await
        .expect("nonce");
    assert_eq!(response.status(), 200);
    let issued: Value = response.json().await.expect("json");
    let nonce = issued["nonce"].as_str().expect("nonce").to_string();
    assert_eq!(nonce.len(), 32);
    let serial = u32::try_from(issued["key"]["serial"].as_u64().expect("serial")).expect("u32");
    let key = Sm2PublicKey::from_spki_pem(issued["key"]["public_key_pem"].as_str().expect("pem"))
        .expect("pem");
    assert!(
        issued["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .any(|field| field == "card_number")
    );
    (nonce, serial, key)
}

async fn code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body = problem(response).await;
    (
        status,
        body["code"].as_str().unwrap_or_default().to_string(),
    )
}

/// Sensitive fields arrive encrypted to the server's SM2 key with a one-time nonce and are
/// opened at the edge; the handler sees the value. A reused, unknown, expired or foreign
/// nonce, a field in clear, an envelope moved to another field or made for another key are
/// each refused, and the value never appears in a log.
/// req: 5.2.2.1-c, 5.2.2.1-d, 5.6.2-b1, 5.6.2-b3, 5.6.1-a2
#[tokio::test]
async fn sensitive_fields_are_encrypted_with_one_time_nonces() {
    for app in spawn_apps().await {
        let (nonce_1, serial, key) = field_nonce(&app).await;
        let envelope = seal(&key, serial, &nonce_1, "mobile", MOBILE).expect("seal");
        let sealed = json!({ "mobile": envelope });
        let response = send_exact(&app, &sealed, None).await;
        assert_eq!(response.status(), 200, "{}", app.label);
        let answer: Value = response.json().await.expect("json");
        assert_eq!(answer["mobile"], "138****5678", "the handler saw the value");

        // The same nonce again (a fresh envelope, a fresh signature): used.
        let again =
            json!({ "mobile": seal(&key, serial, &nonce_1, "mobile", MOBILE).expect("seal") });
        assert_eq!(
            code(send_exact(&app, &again, None).await).await,
            (422, "INSPAY-SIG-013".into())
        );
        // A nonce the server never issued.
        let unknown = "0123456789abcdef0123456789abcdef";
        let forged =
            json!({ "mobile": seal(&key, serial, unknown, "mobile", MOBILE).expect("seal") });
        assert_eq!(
            code(send_exact(&app, &forged, None).await).await,
            (422, "INSPAY-SIG-013".into())
        );
        // In clear.
        assert_eq!(
            code(send_exact(&app, &json!({ "mobile": MOBILE }), None).await).await,
            (422, "INSPAY-SIG-014".into())
        );
        // Sealed as a password, sent as the mobile number.
        let (nonce_2, _, _) = field_nonce(&app).await;
        let moved =
            json!({ "mobile": seal(&key, serial, &nonce_2, "password", MOBILE).expect("seal") });
        assert_eq!(
            code(send_exact(&app, &moved, None).await).await,
            (422, "INSPAY-SIG-015".into())
        );
        // Sealed to some other key.
        let stranger = Sm2PrivateKey::generate().expect("key");
        let (nonce_3, _, _) = field_nonce(&app).await;
        let wrong_key = json!({ "mobile": seal(stranger.public_key(), serial, &nonce_3, "mobile", MOBILE).expect("seal") });
        assert_eq!(
            code(send_exact(&app, &wrong_key, None).await).await,
            (422, "INSPAY-SIG-015".into())
        );
        // Two fields under two different nonces.
        let (nonce_4, _, _) = field_nonce(&app).await;
        let (nonce_5, _, _) = field_nonce(&app).await;
        let mixed = json!({
            "mobile": seal(&key, serial, &nonce_4, "mobile", MOBILE).expect("seal"),
            "id_number": seal(&key, serial, &nonce_5, "id_number", "11010519491231002X").expect("seal"),
        });
        assert_eq!(
            code(send_exact(&app, &mixed, None).await).await,
            (422, "INSPAY-SIG-013".into())
        );
        // Expired: 300 s later.
        let (nonce_6, _, _) = field_nonce(&app).await;
        app.state.advance_clock(301_000);
        let late =
            json!({ "mobile": seal(&key, serial, &nonce_6, "mobile", MOBILE).expect("seal") });
        assert_eq!(
            code(send_exact(&app, &late, None).await).await,
            (422, "INSPAY-SIG-013".into())
        );
        // Issued to another application.
        let other_key = Sm2PrivateKey::generate().expect("key");
        app.state
            .store
            .client_app_register(
                &inspay_store::client_apps::NewClientApp {
                    id: "other-app",
                    name: "Other",
                    class: inspay_store::client_apps::AppClass::FundTransaction,
                    public_key: other_key.public_key(),
                    tls_fingerprint: None,
                    sdk_version_min: None,
                },
                inspay_store::keys::Actor {
                    actor: "operator:test",
                    request_id: "field-test",
                },
                app.state.now_ms(),
            )
            .await
            .expect("register");
        let (foreign, _) = app
            .state
            .store
            .field_nonce_issue("other-app", app.state.now_ms())
            .await
            .expect("nonce");
        let theirs =
            json!({ "mobile": seal(&key, serial, &foreign, "mobile", MOBILE).expect("seal") });
        assert_eq!(
            code(send_exact(&app, &theirs, None).await).await,
            (422, "INSPAY-SIG-013".into())
        );
        // The hourly purge removes expired nonces.
        app.state.advance_clock(301_000);
        assert!(
            app.state
                .store
                .field_nonces_purge(app.state.now_ms())
                .await
                .expect("purge")
                >= 5
        );
        app.stop().await;
    }
    let logs = crate::helpers::logs();
    assert!(!logs.contains(MOBILE), "the decrypted value reached a log");
}

/// The same Idempotency-Key with the same request gets the first answer (marked as replayed)
/// even when its fields were encrypted afresh; with another request, a conflict; a malformed
/// key is refused; after 24 h the key is forgotten.
/// req: 5.6.2-e
#[tokio::test]
async fn idempotency_keys_replay_the_first_answer() {
    for app in spawn_apps().await {
        let key = format!("idem-{}", nonce());
        let first = app
            .client
            .post(app.url(VALIDATE))
            .header("idempotency-key", &key)
            .json(&json!({ "mobile": MOBILE }))
            .send()
            .await
            .expect("first");
        assert_eq!(first.status(), 200, "{}", app.label);
        assert!(first.headers().get("idempotent-replayed").is_none());
        let first_body: Value = first.json().await.expect("json");

        // The retry: new signature nonce, new field nonce, new ciphertext; same request.
        let retry = app
            .client
            .post(app.url(VALIDATE))
            .header("idempotency-key", &key)
            .json(&json!({ "mobile": MOBILE }))
            .send()
            .await
            .expect("retry");
        assert_eq!(retry.status(), 200);
        assert_eq!(retry.headers()["idempotent-replayed"], "true");
        assert_eq!(retry.json::<Value>().await.expect("json"), first_body);

        let other = app
            .client
            .post(app.url(VALIDATE))
            .header("idempotency-key", &key)
            .json(&json!({ "mobile": "13912345678" }))
            .send()
            .await
            .expect("other");
        assert_eq!(code(other).await, (422, "INSPAY-REQ-011".into()));

        let malformed = app
            .client
            .post(app.url(VALIDATE))
            .header("idempotency-key", "short")
            .json(&json!({ "mobile": MOBILE }))
            .send()
            .await
            .expect("malformed");
        assert_eq!(code(malformed).await, (400, "INSPAY-REQ-001".into()));

        // Errors are remembered too: a refused request retried is refused the same way.
        let refused_key = format!("idem-{}", nonce());
        for _ in 0..2 {
            let refused = app
                .client
                .post(app.url(VALIDATE))
                .header("idempotency-key", &refused_key)
                .json(&json!({ "mobile": "123" }))
                .send()
                .await
                .expect("refused");
            assert_eq!(refused.status(), 422);
        }

        app.state.advance_clock(24 * 3_600_000 + 1_000);
        let later = app
            .client
            .post(app.url(VALIDATE))
            .header("idempotency-key", &key)
            .json(&json!({ "mobile": "13912345678" }))
            .send()
            .await
            .expect("later");
        assert_eq!(later.status(), 200, "a key older than 24 h is new again");
        assert!(later.headers().get("idempotent-replayed").is_none());
        assert!(
            app.state
                .store
                .idempotency_purge(app.state.now_ms() + 24 * 3_600_000 + 1)
                .await
                .expect("purge")
                >= 1
        );
        app.stop().await;
    }
}

/// Two requests with one Idempotency-Key at the same moment run once: the other gets the
/// stored answer or "in progress", never a second execution.
/// req: 5.6.2-e
#[tokio::test]
async fn concurrent_requests_with_one_key_run_once() {
    for app in spawn_apps().await {
        let key = format!("idem-{}", nonce());
        let send = || {
            app.client
                .post(app.url(VALIDATE))
                .header("idempotency-key", &key)
                .json(&json!({ "legal_name": "Wang Wei" }))
                .send()
        };
        let (a, b) = tokio::join!(send(), send());
        let (a, b) = (a.expect("a"), b.expect("b"));
        let replayed = [&a, &b]
            .iter()
            .filter(|response| response.headers().get("idempotent-replayed").is_some())
            .count();
        let in_progress = [&a, &b]
            .iter()
            .filter(|response| response.status() == 409)
            .count();
        let executed = [&a, &b]
            .iter()
            .filter(|response| {
                response.status() == 200 && response.headers().get("idempotent-replayed").is_none()
            })
            .count();
        assert_eq!(executed, 1, "{}: exactly one execution", app.label);
        assert_eq!(replayed + in_progress, 1);
        app.stop().await;
    }
}

/// A sensitive field name spelt with JSON escapes is still recognised and refused in clear.
/// req: 5.2.2.1-d
#[tokio::test]
async fn escaped_field_names_do_not_slip_through_in_clear() {
    let app = spawn_apps().await.remove(0);
    let body = br#"{"\u006dobile":"13812345678"}"#.to_vec();
    let authorization = signer(&app).header("POST", VALIDATE, &body);
    let response = app
        .client
        .unsigned()
        .post(app.url(VALIDATE))
        .header("content-type", "application/json")
        .header("authorization", authorization)
        .body(body)
        .send()
        .await
        .expect("response");
    assert_eq!(code(response).await, (422, "INSPAY-SIG-014".into()));
    app.stop().await;
}
