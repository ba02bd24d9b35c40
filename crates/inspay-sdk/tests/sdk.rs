//! The SDK against a real in-process inspay server (and, for retries, against a small TLS
//! server that answers `503` and records what it receives).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use inspay_protocol::authorization::SignedHeader;
use inspay_protocol::response::CanonicalResponse;
use inspay_sdk::{
    Client, ClientBuilder, Error, ResponseError, RetryPolicy, Sm2PrivateKey, TransportKind,
};
use inspay_server::{Application, Settings};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod support;

const APP_ID: &str = "sdk-test-app";

/// A running server and the registered application's key.
struct Server {
    url: String,
    ca_pem: String,
    dir: tempfile::TempDir,
    app_key: Option<Sm2PrivateKey>,
}

impl Server {
    /// A client builder for the registered application, trusting the development CA.
    fn builder(&mut self) -> ClientBuilder {
        let key = self.app_key.take().expect("one builder per server");
        Client::builder(&self.url)
            .app_id(APP_ID)
            .key(1, key)
            .trust_ca_pem(&self.ca_pem)
            .expect("development CA")
    }

    /// A client that pinned the server's keys on first use.
    async fn client(&mut self) -> Client {
        let builder = self.builder();
        let keys = builder.fetch_server_keys().await.expect("server keys");
        builder.server_keys(&keys).build().expect("client")
    }
}

/// Spawns a server (development profile, SQLite in a temporary directory, a port the OS
/// chooses) and registers a fund-transaction application that requires SDK 0.1.0 or newer.
async fn spawn() -> Server {
    let dir = tempfile::tempdir().expect("dir");
    let mut settings = Settings {
        data_dir: dir.path().to_path_buf(),
        database_url: String::new(),
        ..Settings::default()
    };
    settings.listen.address = "127.0.0.1:0".parse().expect("address");
    settings.database.connect_attempts_max = 2;
    let app = Application::build(settings).await.expect("server builds");
    let ca_path = app.development_ca.clone().expect("development CA");
    let ca_pem = std::fs::read_to_string(ca_path).expect("CA PEM");
    let port = app.address().port();
    let state = app.state().clone();
    tokio::spawn(app.run());
    let key = support::register_fund_app(&state, APP_ID, "SDK test", "sdk-test").await;
    Server {
        url: format!("https://localhost:{port}"),
        ca_pem,
        dir,
        app_key: Some(key),
    }
}

fn now_s() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock");
    i64::try_from(since.as_secs()).expect("seconds")
}

/// req: 5.6.2-c
/// A request the SDK signs (and whose SDK version the application's minimum checks) is
/// served, and its answer verifies; the same request signed with a key the server does not
/// know, or for an application it does not know, is refused with the stable code, which the
/// SDK surfaces as a typed error.
#[tokio::test]
async fn signed_requests_are_served_and_refusals_are_typed() {
    let mut server = spawn().await;
    let client = server.client().await;
    let response = client
        .post("/v1/validate")
        .json(&json!({"legal_name": "张三"}))
        .expect("body")
        .send()
        .await
        .expect("served");
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().expect("json");
    assert_eq!(answer["legal_name"], "张*");
    assert!(response.request_nonce().is_some());
    assert_eq!(
        response.evidence().request_nonce.as_deref(),
        response.request_nonce()
    );

    let keys = client.fetch_server_keys().await.expect("signed key fetch");
    assert!(keys.get(response.evidence().serial).is_some());

    let pinned = keys.clone();
    let stranger = Client::builder(&server.url)
        .app_id(APP_ID)
        .key(1, Sm2PrivateKey::generate().expect("key"))
        .trust_ca_pem(&server.ca_pem)
        .expect("CA")
        .server_keys(&pinned)
        .build()
        .expect("client");
    let error = stranger
        .post("/v1/validate")
        .json(&json!({"legal_name": "张三"}))
        .expect("body")
        .send()
        .await
        .expect_err("another key");
    assert_eq!(error.status(), Some(401));
    assert_eq!(error.code(), Some("INSPAY-SIG-007"), "{error}");
    assert!(
        matches!(&error, Error::Api { reference: Some(r), .. } if r.starts_with('E')),
        "{error:?}"
    );

    let unknown = Client::builder(&server.url)
        .app_id("nobody")
        .key(1, Sm2PrivateKey::generate().expect("key"))
        .trust_ca_pem(&server.ca_pem)
        .expect("CA")
        .server_keys(&pinned)
        .build()
        .expect("client");
    let error = unknown
        .get("/v1/protocol/keys")
        .send()
        .await
        .expect_err("unknown application");
    assert_eq!(error.code(), Some("INSPAY-SIG-003"), "{error}");
}

/// req: 5.6.2-e
/// Each request goes out with a fresh nonce and the current time: the same call made twice is
/// served twice (the server refuses any nonce it has seen), each answer bound to its own
/// request nonce.
#[tokio::test]
async fn every_request_has_a_fresh_nonce_and_timestamp() {
    let mut server = spawn().await;
    let client = server.client().await;
    let mut nonces = vec![];
    for _ in 0..3 {
        let response = client
            .post("/v1/validate")
            .json(&json!({"legal_name": "Li Lei"}))
            .expect("body")
            .send()
            .await
            .expect("served");
        let nonce = response.request_nonce().expect("bound").to_string();
        assert_eq!(nonce.len(), 24);
        assert!((response.evidence().timestamp_s - now_s()).abs() <= 5);
        nonces.push(nonce);
    }
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 3);
}

/// req: 5.2.2.1-c
/// A mobile number leaves the SDK encrypted under a one-time field nonce, and the server
/// (which refuses a sensitive field in clear) decrypts it: the answer holds its masked form.
/// Two calls work, each under its own nonce (a nonce is single use).
#[tokio::test]
async fn sensitive_fields_are_encrypted_and_the_server_reads_them() {
    let mut server = spawn().await;
    let client = server.client().await;
    for _ in 0..2 {
        let answer: Value = client
            .post("/v1/validate")
            .json(&json!({"mobile": "13812345678"}))
            .expect("body")
            .send()
            .await
            .expect("served")
            .json()
            .expect("json");
        let masked = answer["mobile"].as_str().expect("masked mobile");
        assert!(
            masked.starts_with("138") && masked.ends_with("5678"),
            "{masked}"
        );
        assert!(!masked.contains("1234"), "{masked}");
    }
}

/// req: 5.6.2-d1
/// A real answer verifies; the same answer with one byte of its body changed, another status,
/// another request nonce, or checked far from its time does not.
#[tokio::test]
async fn a_tampered_answer_is_rejected() {
    let mut server = spawn().await;
    let client = server.client().await;
    let response = client
        .post("/v1/validate")
        .json(&json!({"legal_name": "张三"}))
        .expect("body")
        .send()
        .await
        .expect("served");
    let nonce = response.request_nonce().expect("bound").to_string();
    let body = response.bytes().to_vec();
    let headers = response.headers();
    let now = now_s();
    let evidence = client
        .verify_response(200, headers, Some(&nonce), &body, now)
        .expect("the real answer verifies");
    assert_eq!(&evidence, response.evidence());

    let mut tampered = body.clone();
    let at = tampered
        .iter()
        .position(|b| *b == b'*')
        .expect("a masked character");
    tampered[at] = b'X';
    assert_eq!(
        client.verify_response(200, headers, Some(&nonce), &tampered, now),
        Err(ResponseError::Signature)
    );
    assert_eq!(
        client.verify_response(201, headers, Some(&nonce), &body, now),
        Err(ResponseError::Signature)
    );
    assert_eq!(
        client.verify_response(200, headers, Some("another-nonce-01234567"), &body, now),
        Err(ResponseError::Signature)
    );
    assert_eq!(
        client.verify_response(200, headers, Some(&nonce), &body, now + 1_000),
        Err(ResponseError::Stale)
    );
    let mut stripped = headers.clone();
    stripped.remove("x-inspay-signature");
    assert_eq!(
        client.verify_response(200, &stripped, Some(&nonce), &body, now),
        Err(ResponseError::Headers)
    );
}

/// req: 5.6.2-d1
/// An answer signed with a serial the client did not pin, or with a key other than the one it
/// pinned under that serial, is an error, never data.
#[tokio::test]
async fn an_answer_signed_with_an_unpinned_key_is_rejected() {
    let mut server = spawn().await;
    let builder = server.builder();
    let keys = builder.fetch_server_keys().await.expect("keys");
    let active = keys.active_serial.expect("an active serial");
    let real = keys.get(active).expect("active key").public_key.clone();

    let other_serial = builder
        .server_key(active + 100, real)
        .build()
        .expect("client");
    let error = other_serial
        .post("/v1/validate")
        .json(&json!({"legal_name": "张三"}))
        .expect("body")
        .send()
        .await
        .expect_err("unpinned serial");
    assert!(
        matches!(
            error,
            Error::ResponseSignature(ResponseError::UnknownSerial)
        ),
        "{error:?}"
    );

    let wrong_key = Client::builder(&server.url)
        .app_id(APP_ID)
        .key(1, Sm2PrivateKey::generate().expect("key"))
        .trust_ca_pem(&server.ca_pem)
        .expect("CA")
        .server_key(
            active,
            Sm2PrivateKey::generate().expect("key").public_key().clone(),
        )
        .build()
        .expect("client");
    let error = wrong_key
        .get("/v1/protocol/keys")
        .send()
        .await
        .expect_err("wrong key");
    assert!(
        matches!(error, Error::ResponseSignature(ResponseError::Signature)),
        "{error:?}"
    );
}

/// One request the small TLS server received.
struct Received {
    /// The request target.
    target: String,
    /// Its headers, lower-case names.
    headers: HashMap<String, String>,
    /// Its body.
    body: Vec<u8>,
}

/// What the small TLS server saw.
type Seen = Arc<Mutex<Vec<Received>>>;

/// The small TLS server's keys: it signs answers with `signing` (serial 1) and hands out
/// field nonces for `transport` (serial 5).
struct FakeKeys {
    signing: Sm2PrivateKey,
    transport: Sm2PrivateKey,
}

/// A TLS server configuration with the inspay server's development certificate (written under
/// `dir` by the server the test started).
fn dev_tls_config(dir: &Path) -> rustls::ServerConfig {
    let tls = dir.join("dev-tls");
    let mut chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(tls.join("server.pem"))
            .expect("server.pem")
            .collect::<Result<_, _>>()
            .expect("certificates");
    chain.extend(
        CertificateDer::pem_file_iter(tls.join("ca.pem"))
            .expect("ca.pem")
            .collect::<Result<Vec<_>, _>>()
            .expect("certificates"),
    );
    let private = PrivateKeyDer::from_pem_file(tls.join("server-key.pem")).expect("server key");
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .expect("server config")
}

/// A TLS server (with the inspay server's development certificate) that records each
/// request and answers `POST /v1/protocol/field-nonce` with a fresh field nonce and every other
/// request with `status` and a problem body, each answer signed and bound to the request's
/// nonce.
async fn recording_server(
    dir: &Path,
    keys: Arc<FakeKeys>,
    status: Arc<AtomicU16>,
) -> (SocketAddr, Seen) {
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(dev_tls_config(dir)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let seen: Seen = Arc::default();
    let record = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let record = record.clone();
            let keys = keys.clone();
            let status = status.load(Ordering::SeqCst);
            tokio::spawn(async move {
                let Ok(mut stream) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buffer = Vec::new();
                let mut chunk = [0_u8; 4096];
                let head_end = loop {
                    if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                        break at;
                    }
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
                let target = head.split(' ').nth(1).unwrap_or_default().to_string();
                let headers: HashMap<String, String> = head
                    .lines()
                    .skip(1)
                    .filter_map(|line| line.split_once(':'))
                    .map(|(name, value)| {
                        (name.trim().to_ascii_lowercase(), value.trim().to_string())
                    })
                    .collect();
                let length: usize = headers
                    .get("content-length")
                    .and_then(|value| value.parse().ok())
                    .unwrap_or(0);
                while buffer.len() < head_end + 4 + length {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                    }
                }
                let request_nonce = headers
                    .get("authorization")
                    .and_then(|value| SignedHeader::parse(value).ok())
                    .map(|header| header.nonce);
                let field_nonce = target == inspay_sdk::FIELD_NONCE_PATH;
                record.lock().expect("lock").push(Received {
                    target,
                    headers,
                    body: buffer[head_end + 4..].to_vec(),
                });
                let (status, content_type, body) = if field_nonce {
                    let nonce: [u8; 16] = inspay_crypto::random::bytes().expect("random");
                    let body = json!({
                        "nonce": hex::encode(nonce),
                        "expires_at": now_s() + 300,
                        "key": {"serial": 5, "public_key_pem": keys.transport.public_key().to_spki_pem()},
                    });
                    (200, "application/json", body.to_string())
                } else {
                    let body = json!({
                        "type": "urn:inspay:error:INSPAY-TEST-503",
                        "title": "Try again shortly.",
                        "status": status,
                        "code": "INSPAY-TEST-503",
                        "reference": "E0000000000000001",
                    });
                    (status, "application/problem+json", body.to_string())
                };
                let server_nonce = "fake-server-nonce-000001";
                let at = now_s();
                let canonical = CanonicalResponse::new(
                    status,
                    at,
                    server_nonce,
                    request_nonce.as_deref(),
                    body.as_bytes(),
                );
                let signature = base64::engine::general_purpose::STANDARD.encode(
                    keys.signing
                        .sign(&canonical.to_bytes())
                        .expect("sign")
                        .to_der(),
                );
                let answer = format!(
                    "HTTP/1.1 {status} Test\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\nx-inspay-timestamp: {at}\r\nx-inspay-nonce: {server_nonce}\r\nx-inspay-serial: 1\r\nx-inspay-signature: {signature}\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (address, seen)
}

fn nonce_of(received: &Received) -> String {
    SignedHeader::parse(received.headers.get("authorization").expect("signed"))
        .expect("well formed")
        .nonce
}

/// req: 5.6.2-e
/// A `503` is retried, at most three attempts in all, for an idempotent request and a `GET`:
/// every attempt is signed anew (its own nonce) and carries the same idempotency key; a
/// request that is neither is sent once, and a `4xx` is never retried.
#[tokio::test]
async fn retries_reuse_the_idempotency_key_with_fresh_signatures() {
    let server = spawn().await;
    let keys = Arc::new(FakeKeys {
        signing: Sm2PrivateKey::generate().expect("key"),
        transport: Sm2PrivateKey::generate().expect("key"),
    });
    let status = Arc::new(AtomicU16::new(503));
    let (address, seen) = recording_server(server.dir.path(), keys.clone(), status.clone()).await;
    let client = Client::builder(format!("https://localhost:{}", address.port()))
        .app_id(APP_ID)
        .key(1, Sm2PrivateKey::generate().expect("key"))
        .trust_ca_pem(&server.ca_pem)
        .expect("CA")
        .server_key(1, keys.signing.public_key().clone())
        .retry(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(20),
        })
        .build()
        .expect("client");
    let take = || std::mem::take(&mut *seen.lock().expect("lock"));

    let error = client
        .post("/v1/payments")
        .json(&json!({"amount": "100.00"}))
        .expect("body")
        .idempotent()
        .send()
        .await
        .expect_err("503");
    assert_eq!(error.status(), Some(503), "{error:?}");
    assert_eq!(error.code(), Some("INSPAY-TEST-503"));
    let attempts = take();
    assert_eq!(attempts.len(), 3);
    let key = attempts[0]
        .headers
        .get("idempotency-key")
        .expect("an idempotency key")
        .clone();
    assert_eq!(key.len(), 32);
    assert!(
        attempts
            .iter()
            .all(|a| a.headers.get("idempotency-key") == Some(&key))
    );
    let mut nonces: Vec<String> = attempts.iter().map(nonce_of).collect();
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 3, "each attempt is signed anew");
    assert!(
        attempts
            .iter()
            .all(|a| a.headers.get("x-inspay-sdk").map(String::as_str) == Some(inspay_sdk::SDK_ID))
    );

    let given = "caller-chosen-key-0001";
    client
        .post("/v1/payments")
        .json(&json!({"amount": "100.00"}))
        .expect("body")
        .idempotency_key(given)
        .send()
        .await
        .expect_err("503");
    let attempts = take();
    assert_eq!(attempts.len(), 3);
    assert!(
        attempts
            .iter()
            .all(|a| a.headers.get("idempotency-key").map(String::as_str) == Some(given))
    );

    client.get("/v1/anything").send().await.expect_err("503");
    assert_eq!(take().len(), 3, "GETs are retried");

    client
        .post("/v1/payments")
        .json(&json!({"amount": "100.00"}))
        .expect("body")
        .send()
        .await
        .expect_err("503");
    let attempts = take();
    assert_eq!(
        attempts.len(),
        1,
        "a POST without an idempotency key is sent once"
    );
    assert!(!attempts[0].headers.contains_key("idempotency-key"));

    status.store(409, Ordering::SeqCst);
    let error = client
        .post("/v1/payments")
        .json(&json!({"amount": "100.00"}))
        .expect("body")
        .idempotent()
        .send()
        .await
        .expect_err("409");
    assert_eq!(error.status(), Some(409));
    assert_eq!(take().len(), 1, "a 4xx is never retried");
}

/// req: 5.2.2.1-c
/// Each retry of a request with a sensitive field asks for a new field nonce and encrypts the
/// field again under it (the last one may have been consumed), under the same idempotency
/// key; the plaintext never crosses the wire.
#[tokio::test]
async fn each_retry_encrypts_under_a_fresh_field_nonce() {
    let server = spawn().await;
    let keys = Arc::new(FakeKeys {
        signing: Sm2PrivateKey::generate().expect("key"),
        transport: Sm2PrivateKey::generate().expect("key"),
    });
    let status = Arc::new(AtomicU16::new(503));
    let (address, seen) = recording_server(server.dir.path(), keys.clone(), status).await;
    let client = Client::builder(format!("https://localhost:{}", address.port()))
        .app_id(APP_ID)
        .key(1, Sm2PrivateKey::generate().expect("key"))
        .trust_ca_pem(&server.ca_pem)
        .expect("CA")
        .server_key(1, keys.signing.public_key().clone())
        .retry(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(20),
        })
        .build()
        .expect("client");
    client
        .post("/v1/payments")
        .json(&json!({"amount": "100.00", "card": {"card_number": "6222021234567890128"}}))
        .expect("body")
        .idempotent()
        .send()
        .await
        .expect_err("503");
    let received = std::mem::take(&mut *seen.lock().expect("lock"));
    let targets: Vec<&str> = received.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(
        targets,
        [
            inspay_sdk::FIELD_NONCE_PATH,
            "/v1/payments",
            inspay_sdk::FIELD_NONCE_PATH,
            "/v1/payments",
            inspay_sdk::FIELD_NONCE_PATH,
            "/v1/payments",
        ]
    );
    let payments: Vec<&Received> = received
        .iter()
        .filter(|r| r.target == "/v1/payments")
        .collect();
    let mut field_nonces = vec![];
    for payment in &payments {
        let text = String::from_utf8(payment.body.clone()).expect("utf-8");
        assert!(!text.contains("6222021234567890128"), "{text}");
        let body: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(body["amount"], "100.00");
        let envelope = body["card"]["card_number"].as_str().expect("envelope");
        assert!(envelope.starts_with("INSPAY-ENC1.5."), "{envelope}");
        let opened = inspay_protocol::fields::open(&keys.transport, "card_number", envelope)
            .expect("opens under the field name");
        assert_eq!(opened.value.as_str(), "6222021234567890128");
        field_nonces.push(opened.nonce.clone());
    }
    field_nonces.sort();
    field_nonces.dedup();
    assert_eq!(field_nonces.len(), 3, "a fresh field nonce per attempt");
    let key = payments[0].headers.get("idempotency-key").expect("key");
    assert!(
        payments
            .iter()
            .all(|p| p.headers.get("idempotency-key") == Some(key))
    );
    assert!(
        received
            .iter()
            .filter(|r| r.target == inspay_sdk::FIELD_NONCE_PATH)
            .all(|r| r.body == b"{}" && !r.headers.contains_key("idempotency-key"))
    );
}

/// A refused connection is a transport error, retried with backoff for an idempotent
/// request and not retried for one that is not.
#[tokio::test]
async fn a_refused_connection_is_retried_with_backoff_only_when_safe() {
    let server = spawn().await;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let client = Client::builder(format!("https://localhost:{port}"))
        .app_id(APP_ID)
        .key(1, Sm2PrivateKey::generate().expect("key"))
        .trust_ca_pem(&server.ca_pem)
        .expect("CA")
        .server_key(
            1,
            Sm2PrivateKey::generate().expect("key").public_key().clone(),
        )
        .build()
        .expect("client");
    let started = Instant::now();
    let error = client
        .post("/v1/payments")
        .json(&json!({"amount": "1.00"}))
        .expect("body")
        .idempotent()
        .send()
        .await
        .expect_err("nothing listens");
    assert!(
        matches!(
            error,
            Error::Transport {
                kind: TransportKind::Connection,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "waited 100 ms and 200 ms between the three attempts"
    );
    let started = Instant::now();
    client
        .post("/v1/payments")
        .json(&json!({"amount": "1.00"}))
        .expect("body")
        .send()
        .await
        .expect_err("nothing listens");
    assert!(started.elapsed() < Duration::from_millis(100), "sent once");
}

/// `Debug` of the client, its builder, a request and an answer, and the text of an error, hold
/// no private key, session token, step-up proof or body.
#[tokio::test]
async fn debug_output_holds_no_key_token_or_body() {
    let mut server = spawn().await;
    let key = Sm2PrivateKey::generate().expect("key");
    let private_hex = hex::encode(*key.to_bytes());
    let private_pem = key.to_pkcs8_pem().expect("pem").to_string();
    let builder = Client::builder(&server.url)
        .app_id(APP_ID)
        .key(1, key)
        .trust_ca_pem(&server.ca_pem)
        .expect("CA");
    let builder_text = format!("{builder:?}");
    let keys = builder.fetch_server_keys().await.expect("keys");
    let client = builder.server_keys(&keys).build().expect("client");
    let request = client
        .post("/v1/validate?mobile=13812345678")
        .json(&json!({"mobile": "13812345678", "note": "body-secret-text"}))
        .expect("body")
        .session("session-token-secret")
        .step_up("step-up-proof-secret")
        .idempotent();
    let texts = [builder_text, format!("{client:?}"), format!("{request:?}")];
    for text in &texts {
        for secret in [
            private_hex.as_str(),
            &private_pem[40..80],
            "13812345678",
            "body-secret-text",
            "session-token-secret",
            "step-up-proof-secret",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
    assert!(texts[2].contains("POST") && texts[2].contains("/v1/validate"));

    let response = server
        .client()
        .await
        .post("/v1/validate")
        .json(&json!({"legal_name": "王小明"}))
        .expect("body")
        .send()
        .await
        .expect("served");
    let text = format!("{response:?}");
    assert!(
        !text.contains("王") && !text.contains("legal_name"),
        "{text}"
    );

    let error = client
        .post("/v1/validate")
        .json(&json!({"legal_name": "1234-not-a-name", "note": "body-secret-text"}))
        .expect("body")
        .session("session-token-secret")
        .send()
        .await
        .expect_err("the original key is not registered");
    let text = format!("{error} {error:?}");
    for secret in [
        "1234-not-a-name",
        "body-secret-text",
        "session-token-secret",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

/// The SDK offers HTTP/2 in the TLS handshake (ALPN), so one connection carries every request
/// in flight instead of one connection each; a server that speaks only HTTP/1.1 still gets
/// HTTP/1.1 (the other tests' recording server).
#[tokio::test]
async fn the_sdk_offers_http2() {
    let server = spawn().await;
    let mut config = dev_tls_config(server.dir.path());
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let negotiated = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let stream = acceptor.accept(tcp).await.expect("handshake");
        stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec)
    });
    let server_key = Sm2PrivateKey::generate().expect("key");
    let client = Client::builder(format!("https://localhost:{}", address.port()))
        .app_id(APP_ID)
        .key(1, Sm2PrivateKey::generate().expect("key"))
        .trust_ca_pem(&server.ca_pem)
        .expect("CA")
        .server_key(1, server_key.public_key().clone())
        .retry(RetryPolicy::none())
        .build()
        .expect("client");
    // The listener closes after the handshake: the request fails, the protocol is what counts.
    let _ = client.get("/health/live").send().await;
    let negotiated = negotiated.await.expect("listener");
    assert_eq!(negotiated.as_deref(), Some(&b"h2"[..]));
}
