//! The TLCP listener (issue 9): full TLCP (GB/T 38636) and TLS 1.3 SM (RFC 8998) handshakes
//! and requests through `inspay serve`'s listener with Tongsuo's client, mutual
//! authentication with missing, foreign and expired certificates refused and logged, an
//! application bound to its TLCP signing certificate, and the production profile refusing
//! development certificates.

use crate::helpers::{logs, spawn_with, test_settings};
use crate::tlcp_relay::{TlcpRelay, client_config};
use inspay_server::Settings;
use inspay_tlcp::certs::{CaFiles, CertPair, DevelopmentCa, Role, Validity};
use inspay_tlcp::{PROTOCOL_TLCP, PROTOCOL_TLS13, Protocol, TlcpConnector, TlcpError};
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const STEP: Duration = Duration::from_secs(20);

fn with_tlcp(settings: &mut Settings, require_client_certificate: bool) {
    settings.tlcp.address = Some("127.0.0.1:0".parse().expect("address"));
    settings.tlcp.require_client_certificate = require_client_certificate;
}

async fn spawn_tlcp(require_client_certificate: bool) -> crate::helpers::TestApp {
    let dir = tempfile::tempdir().expect("dir");
    let mut settings = test_settings(dir.path(), "");
    with_tlcp(&mut settings, require_client_certificate);
    spawn_with("sqlite", settings, dir).await
}

/// The TLCP listener's address and the development CA directory of a running test app.
fn tlcp_of(app: &crate::helpers::TestApp) -> (SocketAddr, std::path::PathBuf) {
    let server = app.tlcp_address.expect("TLCP listener bound");
    (server, app.dir.path().join("dev-tlcp"))
}

fn ca_pem(dev_dir: &std::path::Path) -> String {
    std::fs::read_to_string(CaFiles::in_dir(dev_dir).certificate).expect("development CA")
}

fn client_pair(ca: &DevelopmentCa, name: &str, validity: Validity) -> CertPair {
    ca.issue_pair(name, &[], Role::Client, validity)
        .expect("client pair")
}

/// Handshakes with the TLCP listener and sends `GET path` over HTTP/1.1; returns the
/// negotiated protocol, suite and the status code, or the client's handshake error.
async fn get(
    server: SocketAddr,
    ca_pem: &str,
    pair: Option<CertPair>,
    protocol: Protocol,
    path: &str,
) -> Result<(&'static str, String, u16), TlcpError> {
    let connector = TlcpConnector::new(&client_config(ca_pem, pair, protocol))?;
    let tcp = TcpStream::connect(server).await.expect("connect");
    let mut stream = tokio::time::timeout(STEP, connector.connect(tcp, "localhost"))
        .await
        .expect("handshake in time")?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    stream.flush().await.expect("flush");
    let mut answer = Vec::new();
    tokio::time::timeout(STEP, stream.read_to_end(&mut answer))
        .await
        .expect("answer in time")
        .expect("read");
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status line");
    Ok((
        stream.protocol_version(),
        stream.cipher_name().unwrap_or("none").to_string(),
        status,
    ))
}

/// The server's handshake refusals logged so far, for failure messages.
fn refusals() -> String {
    logs()
        .lines()
        .filter(|line| line.contains("handshake refused"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Waits until the server's log holds `needle` (the server logs after the client has its
/// answer).
async fn logged(needle: &str) -> bool {
    for _ in 0..100 {
        if logs().contains(needle) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// A full TLCP handshake (ECC_SM4_GCM_SM3 with the server's separate signing and encryption
/// certificates) and a request/response through the server's listener, then the same over
/// TLS 1.3 with TLS_SM4_GCM_SM3 on the same port; the development CA the server generated is
/// all the client trusts.
/// req: 5.6.2-a1
/// req: 5.5.1.5
#[tokio::test]
async fn tlcp_and_tls13_sm_carry_requests() {
    let app = spawn_tlcp(false).await;
    let (server, dev_dir) = tlcp_of(&app);
    let ca = ca_pem(&dev_dir);
    let (protocol, suite, status) = get(server, &ca, None, Protocol::Tlcp, "/health/live")
        .await
        .expect("TLCP handshake");
    assert_eq!((protocol, status), (PROTOCOL_TLCP, 200));
    assert_eq!(suite, "ECC-SM2-SM4-GCM-SM3");
    let (protocol, suite, status) = get(server, &ca, None, Protocol::Tls13Sm, "/health/live")
        .await
        .unwrap_or_else(|error| panic!("TLS 1.3 SM handshake: {error}\n{}", refusals()));
    assert_eq!((protocol, status), (PROTOCOL_TLS13, 200));
    assert_eq!(suite, "TLS_SM4_GCM_SM3");
    // A signed API request through a TLCP tunnel: the same answer as over HTTPS.
    let relay = TlcpRelay::start(server, &client_config(&ca, None, Protocol::Tlcp)).await;
    let answer = app
        .client
        .post(format!(
            "http://127.0.0.1:{}/v1/validate",
            relay.address.port()
        ))
        .json(&serde_json::json!({"legal_name": "Wang Wei"}))
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), 200);
    app.stop().await;
}

/// With mutual authentication on, a client without a certificate pair is refused, and so are
/// pairs from a CA the server does not trust and expired pairs; each refusal is logged with
/// its reason. A pair from the client CA is served, with an ECDHE suite (forward secrecy).
/// req: 5.6.2-a3
/// req: 5.6.2-a1
#[tokio::test]
async fn mutual_authentication_refuses_missing_foreign_and_expired_certificates() {
    let app = spawn_tlcp(true).await;
    let (server, dev_dir) = tlcp_of(&app);
    let ca = ca_pem(&dev_dir);
    let dev_ca = CaFiles::in_dir(&dev_dir).load().expect("development CA");

    let missing = get(server, &ca, None, Protocol::Tlcp, "/health/live").await;
    assert!(missing.is_err(), "no client certificate: {missing:?}");
    assert!(
        logged("presented no certificate and mutual authentication is required").await,
        "the refusal is logged"
    );

    let foreign_ca = DevelopmentCa::generate("unrelated SM2 CA").expect("CA");
    let foreign = client_pair(&foreign_ca, "stranger", Validity::days_from_now(30));
    let refused = get(server, &ca, Some(foreign), Protocol::Tlcp, "/health/live").await;
    assert!(refused.is_err(), "a foreign certificate: {refused:?}");
    assert!(
        logged("unable to get local issuer certificate").await,
        "the foreign certificate's refusal is logged with its reason"
    );

    let past = SystemTime::now() - Duration::from_secs(30 * 86_400);
    let validity = Validity::between(past, past + Duration::from_secs(86_400)).expect("validity");
    let expired = client_pair(&dev_ca, "expired", validity);
    let refused = get(server, &ca, Some(expired), Protocol::Tlcp, "/health/live").await;
    assert!(refused.is_err(), "an expired certificate: {refused:?}");
    assert!(
        logged("certificate has expired").await,
        "the expired certificate's refusal is logged with its reason"
    );
    let lines: Vec<String> = logs()
        .lines()
        .filter(|line| line.contains("TLCP handshake refused"))
        .map(str::to_string)
        .collect();
    assert!(lines.len() >= 3, "one log line per refusal: {lines:?}");

    let own = client_pair(&dev_ca, "claims-app", Validity::days_from_now(30));
    let (protocol, suite, status) = get(server, &ca, Some(own), Protocol::Tlcp, "/health/live")
        .await
        .expect("a certificate from the client CA");
    assert_eq!((protocol, status), (PROTOCOL_TLCP, 200));
    assert_eq!(suite, "ECDHE-SM2-SM4-GCM-SM3");
    app.stop().await;
}

/// An application registered with a client certificate must present that TLCP signing
/// certificate: its signed request is refused over the listener with another trusted pair
/// (`INSPAY-SIG-011`) and served with its own.
/// req: 5.6.2-a3
/// req: 5.4.2.1
#[tokio::test]
async fn an_application_bound_to_its_tlcp_certificate_must_present_it() {
    let app = spawn_tlcp(true).await;
    let (server, dev_dir) = tlcp_of(&app);
    let ca = ca_pem(&dev_dir);
    let dev_ca = CaFiles::in_dir(&dev_dir).load().expect("development CA");
    let own = client_pair(&dev_ca, "bound-app", Validity::days_from_now(30));
    let der = inspay_tlcp::certs::describe(&own.sign.certificate_pem).expect("describe")[0]
        .der
        .clone();
    let fingerprint = hex::encode(inspay_crypto::sm3::sm3(&der));
    let signer = crate::helpers::register_bound_app(&app.state, "bound-app", &fingerprint).await;
    let body = br#"{"legal_name":"Wang Wei"}"#.to_vec();
    let send = |relay: &TlcpRelay| {
        let client = app.client.inner.clone();
        let header = signer.header("POST", "/v1/validate", &body);
        let url = format!("http://127.0.0.1:{}/v1/validate", relay.address.port());
        let body = body.clone();
        async move {
            client
                .post(url)
                .header("content-type", "application/json")
                .header("authorization", header)
                .body(body)
                .send()
                .await
                .expect("answer")
        }
    };
    let other_pair = client_pair(&dev_ca, "other-app", Validity::days_from_now(30));
    let other = TlcpRelay::start(
        server,
        &client_config(&ca, Some(other_pair), Protocol::Tlcp),
    )
    .await;
    let refused = send(&other).await;
    assert_eq!(
        refused.status(),
        403,
        "another certificate from the same CA"
    );
    assert_eq!(
        crate::helpers::problem(refused).await["code"],
        "INSPAY-SIG-011"
    );
    let bound = TlcpRelay::start(server, &client_config(&ca, Some(own), Protocol::Tlcp)).await;
    assert_eq!(send(&bound).await.status(), 200);
    app.stop().await;
}

/// The production profile refuses the TLCP listener without the operator's certificates,
/// and refuses development certificates given as the operator's.
/// req: 5.6.2-a3
#[tokio::test]
async fn production_refuses_development_tlcp_certificates() {
    let dir = tempfile::tempdir().expect("dir");
    let mut settings = test_settings(dir.path(), "");
    with_tlcp(&mut settings, false);
    settings.profile = inspay_server::Profile::Production;
    let refused = settings.validate().expect_err("no operator certificates");
    assert!(
        refused.to_string().contains("tlcp.sign_certificate_file"),
        "{refused}"
    );
    let dev_ca = DevelopmentCa::generate("inspay TLCP development CA").expect("CA");
    let pair = dev_ca
        .issue_pair(
            "server",
            &[inspay_tlcp::certs::SubjectName::Dns("localhost".into())],
            Role::Server,
            Validity::days_from_now(30),
        )
        .expect("pair");
    let files = inspay_tlcp::certs::PairFiles::in_dir(dir.path(), "server");
    files.write(&pair).expect("write");
    settings.tlcp.sign_certificate_file = Some(files.sign_certificate.clone());
    settings.tlcp.sign_private_key_file = Some(files.sign_key.clone());
    settings.tlcp.enc_certificate_file = Some(files.enc_certificate.clone());
    settings.tlcp.enc_private_key_file = Some(files.enc_key.clone());
    let refused = inspay_server::tlcp::listener_identity(&settings)
        .err()
        .expect("development certificates refused");
    assert!(
        refused
            .to_string()
            .contains("refuses a development certificate"),
        "{refused}"
    );
    settings.profile = inspay_server::Profile::Development;
    let identity = inspay_server::tlcp::listener_identity(&settings).expect("development accepts");
    assert!(identity.development);
}
