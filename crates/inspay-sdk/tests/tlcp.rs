//! The SDK over the server's TLCP listener (feature `tlcp`): the signed flow over TLCP and over
//! TLS 1.3 with SM suites, mutual authentication, and a server certificate from another CA.
//! Run with `cargo test -p inspay-sdk --features tlcp`.

#![cfg(feature = "tlcp")]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use inspay_sdk::tlcp::certs::{CaFiles, DevelopmentCa, Role, SubjectName, Validity};
use inspay_sdk::tlcp::{CertPair, Protocol, TlcpOptions};
use inspay_sdk::{Client, ClientBuilder, Error, RetryPolicy, Sm2PrivateKey, TransportKind};
use inspay_server::{Application, Settings};
use serde_json::{Value, json};

mod support;

const APP_ID: &str = "sdk-tlcp-app";

/// A running server with a TLCP listener, and the registered application's key.
struct Server {
    /// `https://localhost:<TLCP port>`.
    url: String,
    /// The development SM2 CA the TLCP listener's pair is issued by, PEM.
    ca_pem: String,
    /// The directory of that CA (`ca.pem`, `ca-key.pem`).
    ca_dir: PathBuf,
    _dir: tempfile::TempDir,
    app_key: Option<Sm2PrivateKey>,
}

impl Server {
    /// A builder for the registered application over `protocol`, trusting the development
    /// SM2 CA, presenting `client_pair` if given.
    fn builder(&mut self, protocol: Protocol, client_pair: Option<CertPair>) -> ClientBuilder {
        let key = self.app_key.take().expect("one builder per server");
        Client::builder(&self.url)
            .app_id(APP_ID)
            .key(1, key)
            .retry(RetryPolicy::none())
            .tlcp(TlcpOptions {
                ca_pem: self.ca_pem.clone(),
                client_pair,
                protocol,
            })
    }

    /// A client pair issued by the development CA (the server's client CA in development).
    fn client_pair(&self) -> CertPair {
        CaFiles::in_dir(&self.ca_dir)
            .load()
            .expect("development CA")
            .issue_pair(
                APP_ID,
                &[SubjectName::Dns(APP_ID.into())],
                Role::Client,
                Validity::days_from_now(1),
            )
            .expect("client pair")
    }
}

/// Spawns a server (development profile, SQLite in a temporary directory, ports the OS
/// chooses) with the TLCP listener on, and registers a fund-transaction application.
async fn spawn(require_client_certificate: bool) -> Server {
    let dir = tempfile::tempdir().expect("dir");
    let mut settings = Settings {
        data_dir: dir.path().to_path_buf(),
        database_url: String::new(),
        ..Settings::default()
    };
    settings.listen.address = "127.0.0.1:0".parse().expect("address");
    settings.database.connect_attempts_max = 2;
    settings.tlcp.address = Some("127.0.0.1:0".parse().expect("address"));
    settings.tlcp.require_client_certificate = require_client_certificate;
    let app = Application::build(settings).await.expect("server builds");
    let ca_path = app
        .development_tlcp_ca
        .clone()
        .expect("development TLCP CA");
    let ca_pem = std::fs::read_to_string(&ca_path).expect("CA PEM");
    let ca_dir = ca_path
        .parent()
        .map(Path::to_path_buf)
        .expect("CA directory");
    let port = app.tlcp_address().expect("TLCP listener").port();
    let state = app.state().clone();
    tokio::spawn(app.run());
    let key = support::register_fund_app(&state, APP_ID, "SDK TLCP test", "sdk-tlcp-test").await;
    Server {
        url: format!("https://localhost:{port}"),
        ca_pem,
        ca_dir,
        _dir: dir,
        app_key: Some(key),
    }
}

/// The signed flow: the key document fetched (trust on first use) and its signature checked,
/// a signed `GET` and a signed `POST` with a sensitive field (sealed under a field nonce, a
/// third exchange) served and their answers verified. Returns the time of the first
/// exchange (the handshake included) and of the whole flow.
async fn signed_flow(builder: ClientBuilder) -> (Duration, Duration) {
    let started = Instant::now();
    let keys = builder
        .fetch_server_keys()
        .await
        .expect("server keys over TLCP");
    let first = started.elapsed();
    let client = builder.server_keys(&keys).build().expect("client");

    let fetched = client.fetch_server_keys().await.expect("signed GET");
    assert_eq!(fetched, keys);

    let response = client
        .post("/v1/validate")
        .json(&json!({"legal_name": "张三", "mobile": "13812345678"}))
        .expect("body")
        .idempotent()
        .send()
        .await
        .expect("signed POST");
    assert_eq!(response.status(), 200);
    assert!(response.idempotency_key().is_some());
    assert_eq!(
        response.evidence().request_nonce.as_deref(),
        response.request_nonce()
    );
    assert!(keys.get(response.evidence().serial).is_some());
    let answer: Value = response.json().expect("json");
    assert_eq!(answer["legal_name"], "张*");
    let masked = answer["mobile"].as_str().expect("masked mobile");
    assert!(masked.starts_with("138") && masked.ends_with("5678") && !masked.contains("1234"));

    (first, started.elapsed())
}

/// req: 5.6.2-a1
/// Over the TLCP listener with TLCP (GB/T 38636), the SDK fetches and verifies the server's
/// keys and sends a signed `GET` and a signed `POST` whose sensitive field is encrypted; the
/// answers verify.
#[tokio::test]
async fn the_signed_flow_runs_over_tlcp() {
    let mut server = spawn(false).await;
    let builder = server.builder(Protocol::Tlcp, None);
    assert!(format!("{builder:?}").contains("tlcp"));
    let (first, all) = signed_flow(builder).await;
    eprintln!("TLCP: handshake + first signed exchange {first:?}, whole flow {all:?}");
}

/// req: 5.6.2-a1
/// The same flow over TLS 1.3 with `TLS_SM4_GCM_SM3` on the same listener.
#[tokio::test]
async fn the_signed_flow_runs_over_tls13_sm() {
    let mut server = spawn(false).await;
    let builder = server.builder(Protocol::Tls13Sm, None);
    let (first, all) = signed_flow(builder).await;
    eprintln!("TLS 1.3 SM: handshake + first signed exchange {first:?}, whole flow {all:?}");
}

/// req: 5.6.2-a1
/// req: 5.6.2-a3
/// A listener that requires mutual authentication refuses an SDK without a client pair in the
/// handshake, with a connection error that says so, and serves the signed flow to an SDK
/// presenting a pair issued by its client CA. `Debug` of the builder shows no key of the pair.
#[tokio::test]
async fn mutual_authentication_needs_the_client_pair() {
    let mut server = spawn(true).await;
    let pair = server.client_pair();
    let key_text = pair.sign.key.expose().to_string();
    let key = Sm2PrivateKey::generate().expect("key");
    let anonymous = Client::builder(&server.url)
        .app_id(APP_ID)
        .key(1, key)
        .tlcp(TlcpOptions {
            ca_pem: server.ca_pem.clone(),
            client_pair: None,
            protocol: Protocol::Tlcp,
        });
    let error = anonymous
        .fetch_server_keys()
        .await
        .expect_err("no client certificate");
    assert!(
        matches!(
            &error,
            Error::Transport {
                kind: TransportKind::Connection,
                ..
            }
        ),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("handshake") && text.contains(&server.url["https://".len()..]),
        "{text}"
    );
    eprintln!("without a client pair: {text}");

    let builder = server.builder(Protocol::Tlcp, Some(pair));
    let shown = format!("{builder:?}");
    assert!(!shown.contains(&key_text[40..80]) && !shown.contains("PRIVATE KEY"));
    signed_flow(builder).await;
}

/// req: 5.6.2-a1
/// A server whose certificate is not issued by the CA the SDK trusts is refused in the
/// handshake, over TLCP and TLS 1.3 (SM): a connection error naming the verification failure,
/// and no request sent.
#[tokio::test]
async fn a_server_certificate_from_another_ca_is_refused() {
    let server = spawn(false).await;
    let stranger = DevelopmentCa::generate("inspay SDK test: another SM2 CA").expect("CA");
    let stranger_pem = stranger.certificate_pem().expect("CA PEM");
    for protocol in [Protocol::Tlcp, Protocol::Tls13Sm] {
        let builder = Client::builder(&server.url)
            .app_id(APP_ID)
            .key(1, Sm2PrivateKey::generate().expect("key"))
            .tlcp(TlcpOptions {
                protocol,
                ..TlcpOptions::new(stranger_pem.clone())
            });
        let error = builder
            .fetch_server_keys()
            .await
            .expect_err("an untrusted server");
        assert!(
            matches!(
                &error,
                Error::Transport {
                    kind: TransportKind::Connection,
                    ..
                }
            ),
            "{protocol:?}: {error:?}"
        );
        let text = error.to_string();
        assert!(text.contains("certificate verify failed"), "{text}");
    }
}
