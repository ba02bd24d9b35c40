//! TLS versions, suites and mutual TLS, checked with real clients (rustls and OpenSSL).

use crate::helpers::{client, spawn_with, test_settings};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::process::Command;

async fn openssl_handshake(port: u16, args: &[&str]) -> bool {
    // s_client blocks; run it off the runtime thread the server is serving on.
    let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
    tokio::task::spawn_blocking(move || openssl_handshake_blocking(port, &args))
        .await
        .expect("openssl task")
}

fn openssl_handshake_blocking(port: u16, args: &[String]) -> bool {
    use std::io::Write;
    // "Q" on a line of its own makes s_client close the connection and exit; the timeout
    // bounds a handshake that never ends.
    let mut child = Command::new("timeout")
        .args([
            "20",
            "openssl",
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            "localhost",
        ])
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("openssl is installed (.ci/run installs it)");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"Q\n");
    }
    let output = child.wait_with_output().expect("openssl ran");
    let text = String::from_utf8_lossy(&output.stdout);
    text.contains("Cipher is") && !text.contains("Cipher is (NONE)")
}

/// TLS 1.3 and TLS 1.2 with ECDHE and AEAD suites are accepted; TLS 1.1 and 1.0, static-RSA
/// key exchange and CBC suites are refused.
/// req: 5.6.2-a1, 5.6.2-a2, 5.6.2-b3
#[tokio::test]
async fn only_modern_protocols_and_aead_suites() {
    let dir = tempfile::tempdir().expect("dir");
    let settings = test_settings(dir.path(), "");
    let app = spawn_with("sqlite", settings, dir).await;
    let port = app.address.port();
    assert!(openssl_handshake(port, &["-tls1_3"]).await, "TLS 1.3");
    assert!(
        openssl_handshake(
            port,
            &["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"]
        )
        .await,
        "TLS 1.2 ECDHE-GCM"
    );
    for refused in [
        vec!["-tls1_1"],
        vec!["-tls1"],
        vec!["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA"],
        vec!["-tls1_2", "-cipher", "AES128-GCM-SHA256"],
        vec!["-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-SHA384"],
    ] {
        assert!(
            !openssl_handshake(port, &refused).await,
            "{refused:?} should be refused"
        );
    }
    app.stop().await;
}

fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let certificate = params.self_signed(&key).expect("ca");
    (certificate.pem(), Issuer::new(params, key))
}

fn client_identity(
    issuer: &Issuer<'static, KeyPair>,
) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    identity_for(KeyPair::generate().expect("key"), "partner-app-001", issuer)
}

/// A client certificate for `key`, signed by `issuer`, with its private key.
fn identity_for(
    key: KeyPair,
    name: &str,
    issuer: &Issuer<'static, KeyPair>,
) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let certificate = params.signed_by(&key, issuer).expect("client cert");
    (
        vec![certificate.der().clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
}

/// A server with a mutual-TLS listener trusting a fresh "partner CA", and that CA's issuer.
async fn spawn_mtls_app() -> (crate::helpers::TestApp, Issuer<'static, KeyPair>) {
    let dir = tempfile::tempdir().expect("dir");
    let (client_ca, issuer) = ca("partner CA");
    let ca_file = dir.path().join("client-ca.pem");
    std::fs::write(&ca_file, client_ca).expect("ca file");
    let mut settings = test_settings(dir.path(), "");
    settings.listen.mtls_address = Some("127.0.0.1:0".parse().expect("address"));
    settings.listen.client_ca_file = Some(ca_file);
    (spawn_with("sqlite", settings, dir).await, issuer)
}

/// The mutual-TLS listener accepts a client certificate from the configured CA and refuses
/// a connection without one or with one from another CA; the plain listener still serves.
/// req: 5.6.2-a3
#[tokio::test]
async fn mutual_tls_listener_requires_a_trusted_client_certificate() {
    let (app, issuer) = spawn_mtls_app().await;
    let mtls_port = app.mtls_address.expect("mtls listener").port();
    let url = format!("https://localhost:{mtls_port}/health/live");

    let trusted = client(&app.ca, Some(client_identity(&issuer)));
    let response = trusted.get(&url).send().await.expect("trusted client");
    assert_eq!(response.status(), 200);

    assert!(
        app.client.get(&url).send().await.is_err(),
        "no client certificate"
    );
    let (_, stranger) = ca("some other CA");
    let untrusted = client(&app.ca, Some(client_identity(&stranger)));
    assert!(
        untrusted.get(&url).send().await.is_err(),
        "certificate from another CA"
    );

    let plain = app
        .client
        .get(app.url("/health/live"))
        .send()
        .await
        .expect("plain listener");
    assert_eq!(plain.status(), 200);
    let logs = crate::helpers::logs();
    assert!(
        logs.contains("TLS handshake refused"),
        "refusals are logged"
    );
    app.stop().await;
}

/// Operator certificates with a 2048-bit RSA key or a SHA-1 signature are refused when the
/// server loads them, naming clause 5.5.1.2; a 3072-bit RSA certificate with SHA-256 loads.
/// req: 5.5.1.2
#[tokio::test]
async fn weak_operator_certificates_are_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let make = |name: &str, args: &[&str]| {
        let cert = dir.path().join(format!("{name}.pem"));
        let key = dir.path().join(format!("{name}-key.pem"));
        let status = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=localhost",
            ])
            .args(args)
            .args([
                "-keyout",
                key.to_str().expect("path"),
                "-out",
                cert.to_str().expect("path"),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl is installed");
        assert!(status.success(), "openssl req {name}");
        (cert, key)
    };
    let cases = [
        (
            "rsa2048",
            make("rsa2048", &["-newkey", "rsa:2048", "-sha256"]),
            false,
        ),
        (
            "sha1",
            make(
                "sha1",
                &[
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-sha1",
                ],
            ),
            false,
        ),
        (
            "rsa3072",
            make("rsa3072", &["-newkey", "rsa:3072", "-sha256"]),
            true,
        ),
    ];
    for (name, (cert, _key), accepted) in cases {
        let result = inspay_server::tls::read_certificates(&cert);
        match (result, accepted) {
            (Ok(_), true) => {}
            (Err(error), false) => {
                let message = error.to_string();
                assert!(message.contains("5.5.1.2"), "{name}: {message}");
            }
            (Ok(_), false) => panic!("{name} was accepted"),
            (Err(error), true) => panic!("{name} was refused: {error}"),
        }
    }
}

fn rsa_client_identity(
    issuer: &Issuer<'static, KeyPair>,
    bits: u32,
) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let output = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            &format!("rsa_keygen_bits:{bits}"),
        ])
        .output()
        .expect("openssl is installed");
    assert!(output.status.success(), "openssl genpkey");
    let pem = String::from_utf8(output.stdout).expect("pem");
    let key = KeyPair::from_pem(&pem).expect("RSA key");
    identity_for(key, &format!("partner-rsa-{bits}"), issuer)
}

/// A client certificate from the trusted CA is still refused on the mutual-TLS listener when
/// its RSA key is shorter than 3072 bits; a 3072-bit one is accepted.
/// req: 5.5.1.2, 5.6.2-a3
#[tokio::test]
async fn mutual_tls_refuses_short_rsa_client_keys() {
    let (app, issuer) = spawn_mtls_app().await;
    let url = format!(
        "https://localhost:{}/health/live",
        app.mtls_address.expect("mtls").port()
    );

    let weak = client(&app.ca, Some(rsa_client_identity(&issuer, 2048)));
    assert!(
        weak.get(&url).send().await.is_err(),
        "RSA-2048 client certificate accepted"
    );
    let strong = client(&app.ca, Some(rsa_client_identity(&issuer, 3072)));
    let response = strong
        .get(&url)
        .send()
        .await
        .expect("RSA-3072 client certificate");
    assert_eq!(response.status(), 200);
    assert!(crate::helpers::logs().contains("refused by the algorithm allow-list"));
    app.stop().await;
}

/// An application registered with a client certificate must call over the mutual-TLS listener
/// with exactly that certificate: its signed request is refused on the plain listener and with
/// another trusted certificate (`INSPAY-SIG-011`), and served with its own.
/// req: 5.6.2-a3, 5.4.2.1
#[tokio::test]
async fn an_application_bound_to_a_certificate_must_present_it() {
    let (app, issuer) = spawn_mtls_app().await;
    let mtls_port = app.mtls_address.expect("mtls listener").port();
    let own = client_identity(&issuer);
    let fingerprint = hex::encode(inspay_crypto::sm3::sm3(own.0[0].as_ref()));
    let signer = crate::helpers::register_bound_app(&app.state, "bound-app", &fingerprint).await;
    let body = br#"{"legal_name":"Wang Wei"}"#.to_vec();
    let send = |client: reqwest::Client, url: String| {
        let header = signer.header("POST", "/v1/validate", &body);
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
    let plain = send(app.client.inner.clone(), app.url("/v1/validate")).await;
    assert_eq!(plain.status(), 403);
    assert_eq!(
        crate::helpers::problem(plain).await["code"],
        "INSPAY-SIG-011"
    );
    let mtls_url = format!("https://localhost:{mtls_port}/v1/validate");
    let other = send(
        client(&app.ca, Some(client_identity(&issuer))),
        mtls_url.clone(),
    )
    .await;
    assert_eq!(other.status(), 403, "another certificate from the same CA");
    let served = send(client(&app.ca, Some(own)), mtls_url).await;
    assert_eq!(served.status(), 200);
    app.stop().await;
}
