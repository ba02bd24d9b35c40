//! `spawn_app` and friends, in the style of zero2prod.

#![allow(dead_code)]

use inspay_server::{Application, Settings};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use tokio_util::sync::CancellationToken;

/// Every log line written by any server in this test binary.
pub static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut buffer) = self.0.lock() {
            buffer.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the log capture (idempotent), for tests that do not spawn a server.
pub fn init_logs() {
    capture_logs();
}

fn capture_logs() {
    let buffer = LOGS
        .get_or_init(|| Arc::new(Mutex::new(Vec::new())))
        .clone();
    let writer = Capture(buffer);
    inspay_server::telemetry::init(
        "debug,hyper=info,h2=info,rustls=info,sqlx=warn",
        move || writer.clone(),
    );
}

/// All captured log text so far.
pub fn logs() -> String {
    let buffer = LOGS.get().expect("logs captured").lock().expect("lock");
    String::from_utf8_lossy(&buffer).into_owned()
}

/// Whether the captured logs hold `value` as a whole token (not inside a longer run of
/// letters or digits). A six-digit code turns up by chance inside hex ids and timestamps
/// in megabytes of debug logs; a leak prints it on its own (`code=123456`, `"123456"`).
pub fn logs_hold_token(value: &str) -> bool {
    let logs = logs();
    logs.match_indices(value).any(|(at, _)| {
        let before = logs[..at].chars().next_back();
        let after = logs[at + value.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    pub label: &'static str,
    pub address: std::net::SocketAddr,
    pub mtls_address: Option<std::net::SocketAddr>,
    pub client: crate::signing::SigningClient,
    pub ca: Vec<CertificateDer<'static>>,
    pub shutdown: CancellationToken,
    pub handle: tokio::task::JoinHandle<anyhow::Result<()>>,
    pub state: inspay_server::state::AppState,
    pub dir: tempfile::TempDir,
    /// Where [`TestApp::url`] points: the HTTPS listener, or with `INSPAY_TEST_CHANNEL=tlcp`
    /// the plain side of a tunnel to the TLCP listener ([`crate::tlcp_relay`]).
    pub base: String,
    /// The TLCP listener's bound address, if it has one.
    pub tlcp_address: Option<std::net::SocketAddr>,
    /// The tunnel, kept open while the app runs.
    #[cfg(feature = "tlcp")]
    pub relay: Option<crate::tlcp_relay::TlcpRelay>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.handle.await;
    }
}

/// Settings for a test server: development profile, ports chosen by the OS, data in a
/// temporary directory, and the given database URL (empty = SQLite in the directory).
pub fn test_settings(dir: &std::path::Path, database_url: &str) -> Settings {
    let mut settings = Settings {
        data_dir: dir.to_path_buf(),
        database_url: database_url.to_string(),
        ..Settings::default()
    };
    settings.listen.address = "127.0.0.1:0".parse().expect("address");
    settings.database.connect_attempts_max = 2;
    quiet_fund_rules(&mut settings);
    settings
}

/// Built-in fund rules that stay out of the way of tests about something else: no night rule
/// (tests run at any hour), no velocity limit (tests pay many premiums quickly), and payouts to
/// accounts bound a moment ago on policies that started today. The risk tests put the
/// defaults back ([`default_fund_rules`]).
pub fn quiet_fund_rules(settings: &mut Settings) {
    let risk = &mut settings.risk;
    risk.night_amount_fen = i64::MAX / 4;
    risk.velocity_count_1h_max = i64::MAX / 4;
    risk.velocity_sum_24h_fen_max = i64::MAX / 4;
    risk.payout_account_min_age_hours = 0;
    risk.claim_min_policy_age_days = 0;
}

/// Puts the shipped defaults of the built-in fund rules back.
pub fn default_fund_rules(settings: &mut Settings) {
    let defaults = inspay_server::risk::settings::RiskSettings::default();
    let risk = &mut settings.risk;
    risk.night_amount_fen = defaults.night_amount_fen;
    risk.velocity_count_1h_max = defaults.velocity_count_1h_max;
    risk.velocity_sum_24h_fen_max = defaults.velocity_sum_24h_fen_max;
    risk.payout_account_min_age_hours = defaults.payout_account_min_age_hours;
    risk.claim_min_policy_age_days = defaults.claim_min_policy_age_days;
}

/// One server per configured database, with `adjust` applied to the test settings.
pub async fn spawn_apps_with(adjust: impl Fn(&mut Settings)) -> Vec<TestApp> {
    let mut apps = vec![];
    let dir = tempfile::tempdir().expect("dir");
    let mut settings = test_settings(dir.path(), "");
    adjust(&mut settings);
    apps.push(spawn_with("sqlite", settings, dir).await);
    if let Some(url) = postgres_database().await {
        let dir = tempfile::tempdir().expect("dir");
        let mut settings = test_settings(dir.path(), &url);
        adjust(&mut settings);
        apps.push(spawn_with("postgres", settings, dir).await);
    }
    apps
}

/// Spawns a server with these settings.
pub async fn spawn_with(
    label: &'static str,
    #[cfg_attr(not(feature = "tlcp"), allow(unused_mut))] mut settings: Settings,
    dir: tempfile::TempDir,
) -> TestApp {
    capture_logs();
    #[cfg(feature = "tlcp")]
    let tlcp = crate::tlcp_relay::channel_is_tlcp();
    #[cfg(not(feature = "tlcp"))]
    assert!(
        std::env::var("INSPAY_TEST_CHANNEL").as_deref() != Ok("tlcp"),
        "INSPAY_TEST_CHANNEL=tlcp needs the tlcp feature"
    );
    #[cfg(feature = "tlcp")]
    if tlcp && settings.tlcp.address.is_none() {
        settings.tlcp.address = Some("127.0.0.1:0".parse().expect("address"));
    }
    let app = Application::build(settings).await.expect("server builds");
    let ca_path: PathBuf = app.development_ca.clone().expect("development CA");
    let ca: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&ca_path)
        .expect("ca file")
        .collect::<Result<_, _>>()
        .expect("ca pem");
    let address = app.address();
    let mtls_address = app.mtls_address();
    let tlcp_address = app.tlcp_address();
    #[cfg(feature = "tlcp")]
    let relay = match (tlcp, app.tlcp_address(), &app.development_tlcp_ca) {
        (true, Some(server), Some(ca)) => {
            let ca_pem = std::fs::read_to_string(ca).expect("TLCP development CA");
            let config =
                crate::tlcp_relay::client_config(&ca_pem, None, inspay_tlcp::Protocol::Tlcp);
            Some(crate::tlcp_relay::TlcpRelay::start(server, &config).await)
        }
        (true, _, _) => panic!(
            "INSPAY_TEST_CHANNEL=tlcp, but this server has no TLCP listener with a development CA"
        ),
        _ => None,
    };
    #[cfg(feature = "tlcp")]
    let base = match &relay {
        Some(relay) => format!("http://127.0.0.1:{}", relay.address.port()),
        None => format!("https://localhost:{}", address.port()),
    };
    #[cfg(not(feature = "tlcp"))]
    let base = format!("https://localhost:{}", address.port());
    let shutdown = app.shutdown_token();
    let state = app.state().clone();
    let handle = tokio::spawn(app.run());
    let signer = register_test_app(&state).await;
    TestApp {
        label,
        address,
        mtls_address,
        client: crate::signing::SigningClient {
            inner: client(&ca, None),
            signer: Some(Arc::new(signer)),
        },
        ca,
        shutdown,
        handle,
        state,
        dir,
        base,
        tlcp_address,
        #[cfg(feature = "tlcp")]
        relay,
    }
}

/// Registers the harness's client application (fund-transaction class, key serial 1) and
/// returns its signer.
pub async fn register_test_app(state: &inspay_server::state::AppState) -> crate::signing::Signer {
    use inspay_store::client_apps::{AppClass, NewClientApp};
    let key = inspay_crypto::sm2::Sm2PrivateKey::generate().expect("key");
    state
        .store
        .client_app_register(
            &NewClientApp {
                id: crate::signing::TEST_APP_ID,
                name: "Test harness",
                class: AppClass::FundTransaction,
                public_key: key.public_key(),
                tls_fingerprint: None,
                sdk_version_min: None,
            },
            inspay_store::keys::Actor {
                actor: "operator:test",
                request_id: "test-harness",
            },
            state.now_ms(),
        )
        .await
        .expect("register the test application");
    crate::signing::Signer {
        app_id: crate::signing::TEST_APP_ID.to_string(),
        serial: 1,
        key,
        state: state.clone(),
    }
}

/// Registers application `id` (fund-transaction class, key serial 1) bound to the client
/// certificate with SM3 fingerprint `fingerprint` (hex), and returns its signer.
pub async fn register_bound_app(
    state: &inspay_server::state::AppState,
    id: &str,
    fingerprint: &str,
) -> crate::signing::Signer {
    let key = inspay_crypto::sm2::Sm2PrivateKey::generate().expect("key");
    state
        .store
        .client_app_register(
            &inspay_store::client_apps::NewClientApp {
                id,
                name: "Certificate-bound app",
                class: inspay_store::client_apps::AppClass::FundTransaction,
                public_key: key.public_key(),
                tls_fingerprint: Some(fingerprint),
                sdk_version_min: None,
            },
            inspay_store::keys::Actor {
                actor: "operator:test",
                request_id: "bound-app-test",
            },
            state.now_ms(),
        )
        .await
        .expect("register the bound application");
    crate::signing::Signer {
        app_id: id.to_string(),
        serial: 1,
        key,
        state: state.clone(),
    }
}

/// An HTTPS client that trusts `ca`, optionally presenting a client certificate.
pub fn client(
    ca: &[CertificateDer<'static>],
    identity: Option<(
        Vec<CertificateDer<'static>>,
        rustls::pki_types::PrivateKeyDer<'static>,
    )>,
) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in ca {
        roots.add(certificate.clone()).expect("root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let config = match identity {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .expect("client cert"),
        None => builder.with_no_client_auth(),
    };
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .build()
        .expect("client")
}

/// One server per configured database.
pub async fn spawn_apps() -> Vec<TestApp> {
    let mut apps = vec![];
    let dir = tempfile::tempdir().expect("dir");
    let settings = test_settings(dir.path(), "");
    apps.push(spawn_with("sqlite", settings, dir).await);
    if let Some(url) = postgres_database().await {
        let dir = tempfile::tempdir().expect("dir");
        let settings = test_settings(dir.path(), &url);
        apps.push(spawn_with("postgres", settings, dir).await);
    }
    apps
}

/// A fresh PostgreSQL database URL, if PostgreSQL tests are enabled.
pub async fn postgres_database() -> Option<String> {
    use sqlx::Connection;
    let base = std::env::var("INSPAY_TEST_POSTGRES_URL").ok()?;
    let name = format!("inspay_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&base)
        .await
        .expect("postgres reachable");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create database");
    let (server, _) = base.rsplit_once('/').expect("url ends in /db");
    Some(format!("{server}/{name}"))
}

/// Parses a problem+json response, checking the media type.
pub async fn problem(response: reqwest::Response) -> serde_json::Value {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert_eq!(content_type, "application/problem+json");
    response.json().await.expect("problem body")
}

/// The server's response-signing keys, from its public-key document.
pub async fn server_keys(app: &TestApp) -> Vec<(u32, inspay_crypto::sm2::Sm2PublicKey)> {
    let response = app
        .client
        .unsigned()
        .get(app.url("/v1/protocol/keys"))
        .send()
        .await
        .expect("keys");
    assert_eq!(response.status(), 200);
    let document: serde_json::Value = response.json().await.expect("json");
    document["response_signing"]["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|key| {
            let serial = u32::try_from(key["serial"].as_u64().expect("serial")).expect("u32");
            let pem = key["public_key_pem"].as_str().expect("pem");
            (
                serial,
                inspay_crypto::sm2::Sm2PublicKey::from_spki_pem(pem).expect("spki"),
            )
        })
        .collect()
}

/// Registers a fresh rule-signing key as `risk-officer`, installs `manifest` signed with it
/// through the server's install path, and waits until this node has loaded it.
pub async fn install_signed_pack(app: &TestApp, manifest: &str) {
    use inspay_risk::pack::SignedPack;
    let key = inspay_crypto::sm2::Sm2PrivateKey::generate().expect("key");
    let keyring = app.state.keyring();
    let who = inspay_store::keys::Actor {
        actor: "operator:test",
        request_id: "install-signed-pack",
    };
    app.state
        .store
        .risk_signer_add(
            &keyring,
            "risk-officer",
            &key.public_key().to_spki_pem(),
            &key.public_key().fingerprint(),
            who,
            app.state.now_ms(),
        )
        .await
        .expect("signer");
    let signature = SignedPack::sign(manifest.as_bytes(), "risk-officer", &key).expect("sign");
    inspay_server::risk::packs::install(
        &app.state.store,
        &keyring,
        manifest.as_bytes(),
        &signature,
        who,
        app.state.now_ms(),
    )
    .await
    .expect("install");
    for _ in 0..100 {
        if !app.state.risk().packs().packs.is_empty() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{}: the pack was not loaded", app.label);
}

/// Drives the outbox until the refund has the bank's answer (the background worker may have
/// claimed the row first, and then this pass finds nothing to do); returns its status then.
pub async fn settled_refund(
    app: &TestApp,
    refund_id: &inspay_core::ids::RefundId,
) -> inspay_core::funds::OrderStatus {
    for _ in 0..100 {
        inspay_server::payments::worker::drive(&app.state).await;
        let refund = app
            .state
            .store
            .refund(&app.state.keyring(), refund_id)
            .await
            .expect("refund");
        if refund.status != inspay_core::funds::OrderStatus::Pending {
            return refund.status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{}: the refund {refund_id} never settled", app.label);
}
