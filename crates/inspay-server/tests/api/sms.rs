//! The SMS gateways: a real local HTTPS gateway that checks the HMAC-SM3 signature and
//! records what it receives, the failure mapping, the development outbox and the production
//! refusals.

use crate::helpers::{init_logs, logs};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::routing::post;
use inspay_core::sensitive::MobileNumber;
use inspay_identity::otp::{OneTimeCode, OtpPurpose};
use inspay_server::sms::{
    DevelopmentOutbox, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, OUTBOX_FILE,
    SIGNATURE_SKEW_MS_DEFAULT, SmsError, SmsGatewayKind, SmsMessage, SmsSettings, UnavailableCause,
    gateway, outbox_read, verify_gateway_signature,
};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tower::ServiceExt;

const MOBILE: &str = "13912340987";
const MOBILE_MASKED: &str = "139****0987";
const CODE: &str = "493817";
const REQUEST_ID: &str = "req-sms-0001";
/// How long the slow route takes to answer; far beyond the client timeout used against it.
const SLOW_ANSWER_MS: u64 = 5_000;

/// What the test gateway received on one request.
#[derive(Clone)]
struct Received {
    target: String,
    headers: HeaderMap,
    body: Bytes,
    verified: bool,
}

#[derive(Clone)]
struct GatewayState {
    key: Arc<Vec<u8>>,
    received: Arc<Mutex<Vec<Received>>>,
}

/// A local HTTPS SMS gateway with its own CA, and the key files a client needs.
struct TestGateway {
    port: u16,
    dir: tempfile::TempDir,
    ca_file: PathBuf,
    key_file: PathBuf,
    key: Vec<u8>,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestGateway {
    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    /// Settings for the HTTP gateway pointing at `path` on this gateway.
    fn settings(&self, path: &str) -> SmsSettings {
        SmsSettings {
            gateway: SmsGatewayKind::Http,
            http_url: Some(format!("https://localhost:{}{path}", self.port)),
            http_key_file: Some(self.key_file.clone()),
            http_ca_file: Some(self.ca_file.clone()),
            sender: "inspay".into(),
            timeout_ms: 3_000,
        }
    }
}

/// Records the request and answers 200 if its signature verifies, 401 if not.
async fn accept(
    State(state): State<GatewayState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let target = uri
        .path_and_query()
        .map(|target| target.as_str().to_string())
        .unwrap_or_default();
    let verified = verify_gateway_signature(
        &state.key,
        &target,
        &headers,
        &body,
        now_ms(),
        SIGNATURE_SKEW_MS_DEFAULT,
    );
    state.received.lock().expect("lock").push(Received {
        target,
        headers,
        body,
        verified,
    });
    if verified {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    }
}

fn now_ms() -> i64 {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(elapsed.as_millis()).expect("fits")
}

/// A CA and a certificate for localhost signed by it.
fn certificates() -> (String, Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let ca_key = KeyPair::generate().expect("key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "test SMS gateway CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().expect("key");
    let params = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    let leaf = params.signed_by(&key, &issuer).expect("leaf");
    (
        ca.pem(),
        vec![leaf.der().clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
}

/// Writes `key` as hex to `path` with `mode`.
fn write_key(path: &Path, key: &[u8], mode: u32) {
    std::fs::write(path, format!("{}\n", hex::encode(key))).expect("key file");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

async fn spawn_gateway() -> TestGateway {
    let dir = tempfile::tempdir().expect("dir");
    let (ca_pem, chain, private_key) = certificates();
    let ca_file = dir.path().join("gateway-ca.pem");
    std::fs::write(&ca_file, ca_pem).expect("ca file");
    let key = inspay_crypto::random::bytes::<32>()
        .expect("random")
        .to_vec();
    let key_file = dir.path().join("sms-gateway.key");
    write_key(&key_file, &key, 0o600);
    let received = Arc::new(Mutex::new(Vec::new()));
    let state = GatewayState {
        key: Arc::new(key.clone()),
        received: received.clone(),
    };
    let router = Router::new()
        .route("/v1/sms", post(accept))
        .route(
            "/v1/sms/down",
            post(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        )
        .route("/v1/sms/refuse", post(|| async { StatusCode::BAD_REQUEST }))
        .route(
            "/v1/sms/slow",
            post(|| async {
                tokio::time::sleep(Duration::from_millis(SLOW_ANSWER_MS)).await;
                StatusCode::OK
            }),
        )
        .with_state(state);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .expect("server config");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let task = tokio::spawn(serve(listener, acceptor, router));
    TestGateway {
        port,
        dir,
        ca_file,
        key_file,
        key,
        received,
        task,
    }
}

async fn serve(
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    router: Router,
) {
    while let Ok((stream, _)) = listener.accept().await {
        let acceptor = acceptor.clone();
        let router = router.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(stream).await else {
                return;
            };
            let service = hyper::service::service_fn(
                move |request: hyper::Request<hyper::body::Incoming>| {
                    router.clone().oneshot(request.map(axum::body::Body::new))
                },
            );
            let builder =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            let _ = builder
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await;
        });
    }
}

fn message(purpose: OtpPurpose) -> SmsMessage {
    SmsMessage::one_time_code(
        MobileNumber::parse(MOBILE).expect("mobile"),
        &OneTimeCode::parse(CODE).expect("code"),
        purpose,
        300,
        REQUEST_ID,
    )
}

fn expected_text(purpose: OtpPurpose) -> String {
    OneTimeCode::parse(CODE)
        .expect("code")
        .message(purpose, 300)
        .to_string()
}

/// Asserts that `text` (a Debug or Display rendering, or an error) holds neither the full
/// number nor the code.
fn assert_no_secret(text: &str) {
    assert!(!text.contains(MOBILE), "full number in {text}");
    assert!(!text.contains(CODE), "code in {text}");
    assert!(!text.contains("验证码"), "message text in {text}");
}

/// A message sent through the HTTP gateway arrives at the gateway, signed (the gateway's
/// `verify_gateway_signature` accepts it), as JSON holding the number, the text naming the
/// purpose, the sender, the purpose and the request id; each request has its own fresh
/// nonce and a current timestamp; the signature covers the query string too.
/// req: 5.2.1.1-d2, 5.6.2-b3, 5.6.2-c, 5.6.2-e
#[tokio::test]
async fn http_gateway_delivers_signed_messages_that_state_their_purpose() {
    let test = spawn_gateway().await;
    let sms = gateway(
        &test.settings("/v1/sms?account=inspay"),
        test.dir.path(),
        true,
    )
    .expect("production accepts an https gateway with a key file");
    assert_eq!(sms.name(), "http");
    let before_ms = now_ms();
    sms.send(&message(OtpPurpose::Login))
        .await
        .expect("login code sent");
    sms.send(&message(OtpPurpose::PasswordReset))
        .await
        .expect("reset code sent");
    let received = test.received();
    assert_eq!(received.len(), 2);
    for (request, purpose) in received
        .iter()
        .zip([OtpPurpose::Login, OtpPurpose::PasswordReset])
    {
        assert!(request.verified, "the gateway verified the signature");
        assert_eq!(request.target, "/v1/sms?account=inspay");
        assert_eq!(
            request.headers["content-type"],
            HeaderValue::from_static("application/json")
        );
        let body: serde_json::Value = serde_json::from_slice(&request.body).expect("JSON body");
        assert_eq!(
            body,
            serde_json::json!({
                "to": MOBILE,
                "text": expected_text(purpose),
                "sender": "inspay",
                "purpose": purpose.name(),
                "request_id": REQUEST_ID,
            })
        );
        let text = body["text"].as_str().expect("text");
        assert!(text.contains(CODE) && text.contains(purpose.label_zh()));
        let timestamp: i64 = request.headers[HEADER_TIMESTAMP]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("unix ms");
        assert!((before_ms..=now_ms()).contains(&timestamp));
        let nonce = request.headers[HEADER_NONCE].to_str().expect("ascii");
        assert_eq!(nonce.len(), 32);
        assert!(nonce.bytes().all(|b| b.is_ascii_hexdigit()));
        let signature = request.headers[HEADER_SIGNATURE].to_str().expect("ascii");
        assert!(signature.starts_with("hmac-sm3=") && signature.len() == 9 + 64);
    }
    assert_ne!(
        received[0].headers[HEADER_NONCE], received[1].headers[HEADER_NONCE],
        "every request has a fresh nonce"
    );
}

/// A recorded, genuine request verifies; the same request with the body altered, under
/// another key, too old or too far ahead, for another path, with an altered nonce or
/// signature, a missing or repeated header, or a key shorter than 16 bytes does not.
/// req: 5.6.2-c, 5.6.2-e, 5.2.1.1-d2
#[tokio::test]
async fn gateway_signature_refuses_tampering_wrong_keys_and_stale_requests() {
    let test = spawn_gateway().await;
    let sms = gateway(&test.settings("/v1/sms"), test.dir.path(), true).expect("gateway");
    sms.send(&message(OtpPurpose::StepUp)).await.expect("sent");
    let request = test.received().pop().expect("one request");
    let (key, path, headers, body) = (&test.key, "/v1/sms", &request.headers, &request.body);
    let timestamp: i64 = headers[HEADER_TIMESTAMP]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("ms");
    let skew = SIGNATURE_SKEW_MS_DEFAULT;
    let verify = |key: &[u8], path: &str, headers: &HeaderMap, body: &[u8], now: i64| {
        verify_gateway_signature(key, path, headers, body, now, skew)
    };
    assert!(verify(key, path, headers, body, timestamp));
    assert!(verify(key, path, headers, body, timestamp + skew));
    assert!(verify(key, path, headers, body, timestamp - skew));

    let mut tampered = body.to_vec();
    let position = tampered
        .windows(MOBILE.len())
        .position(|window| window == MOBILE.as_bytes())
        .expect("number in body");
    tampered[position + MOBILE.len() - 1] = b'1';
    assert!(!verify(key, path, headers, &tampered, timestamp), "body");
    let mut other_key = key.clone();
    other_key[0] ^= 1;
    assert!(!verify(&other_key, path, headers, body, timestamp), "key");
    assert!(
        !verify(&key[..15], path, headers, body, timestamp),
        "short key"
    );
    assert!(
        !verify(key, path, headers, body, timestamp + skew + 1),
        "stale"
    );
    assert!(
        !verify(key, path, headers, body, timestamp - skew - 1),
        "ahead"
    );
    assert!(
        !verify(key, "/v1/sms/other", headers, body, timestamp),
        "path"
    );
    assert!(!verify_gateway_signature(
        key, path, headers, body, timestamp, -1
    ));

    let altered = |name: &str, value: &str| {
        let mut headers = headers.clone();
        headers.insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
            HeaderValue::from_str(value).expect("value"),
        );
        headers
    };
    let nonce = headers[HEADER_NONCE].to_str().expect("ascii");
    let other_nonce = format!(
        "{}{}",
        &nonce[..31],
        if nonce.ends_with('0') { '1' } else { '0' }
    );
    let forged = altered(HEADER_NONCE, &other_nonce);
    assert!(!verify(key, path, &forged, body, timestamp), "nonce");
    let forged = altered(HEADER_TIMESTAMP, &(timestamp + 1).to_string());
    assert!(!verify(key, path, &forged, body, timestamp), "timestamp");
    let signature = headers[HEADER_SIGNATURE].to_str().expect("ascii");
    let flipped = format!(
        "{}{}",
        &signature[..signature.len() - 1],
        if signature.ends_with('0') { '1' } else { '0' }
    );
    let forged = altered(HEADER_SIGNATURE, &flipped);
    assert!(!verify(key, path, &forged, body, timestamp), "signature");
    let forged = altered(
        HEADER_SIGNATURE,
        &signature.replace("hmac-sm3=", "hmac-sha256="),
    );
    assert!(!verify(key, path, &forged, body, timestamp), "scheme");
    for name in [HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE] {
        let mut missing = headers.clone();
        missing.remove(name);
        assert!(
            !verify(key, path, &missing, body, timestamp),
            "{name} missing"
        );
        let mut repeated = headers.clone();
        let value = headers[name].clone();
        repeated.append(
            axum::http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
            value,
        );
        assert!(
            !verify(key, path, &repeated, body, timestamp),
            "{name} repeated"
        );
    }
}

/// A gateway holding another key refuses the request (401), which the sender reports as a
/// rejection.
/// req: 5.6.2-c
#[tokio::test]
async fn a_gateway_with_another_key_rejects_the_message() {
    let test = spawn_gateway().await;
    let other_key_file = test.dir.path().join("other.key");
    write_key(&other_key_file, &[7u8; 32], 0o600);
    let mut settings = test.settings("/v1/sms");
    settings.http_key_file = Some(other_key_file);
    let sms = gateway(&settings, test.dir.path(), true).expect("gateway");
    let error = sms
        .send(&message(OtpPurpose::Login))
        .await
        .expect_err("refused");
    assert!(matches!(error, SmsError::Rejected(401)), "{error:?}");
    let received = test.received();
    assert_eq!(received.len(), 1);
    assert!(!received[0].verified);
}

/// A 500 from the gateway, a gateway that does not answer in time and a closed port are
/// `Unavailable` (with the cause); a 400 is `Rejected`. No error shows the number, the code
/// or the text, in Display or Debug.
/// req: 5.2.1.1-d2, 5.3.5.1, 5.6.1-a5
#[tokio::test]
async fn gateway_failures_are_unavailable_or_rejected() {
    let test = spawn_gateway().await;
    let send = |path: &str, timeout_ms: u64| {
        let mut settings = test.settings(path);
        settings.timeout_ms = timeout_ms;
        let sms = gateway(&settings, test.dir.path(), true).expect("gateway");
        async move { sms.send(&message(OtpPurpose::Login)).await }
    };
    let down = send("/v1/sms/down", 3_000).await.expect_err("500");
    assert!(
        matches!(down, SmsError::Unavailable(UnavailableCause::Status(500))),
        "{down:?}"
    );
    let refused = send("/v1/sms/refuse", 3_000).await.expect_err("400");
    assert!(matches!(refused, SmsError::Rejected(400)), "{refused:?}");

    let started = Instant::now();
    let slow = send("/v1/sms/slow", 300).await.expect_err("timeout");
    assert!(
        matches!(slow, SmsError::Unavailable(UnavailableCause::TimedOut)),
        "{slow:?}"
    );
    assert!(started.elapsed() < Duration::from_millis(SLOW_ANSWER_MS / 2));

    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let mut settings = test.settings("/v1/sms");
    settings.http_url = Some(format!("https://127.0.0.1:{closed_port}/v1/sms"));
    let sms = gateway(&settings, test.dir.path(), true).expect("gateway");
    let closed = sms
        .send(&message(OtpPurpose::Login))
        .await
        .expect_err("closed");
    assert!(
        matches!(
            closed,
            SmsError::Unavailable(UnavailableCause::ConnectFailed)
        ),
        "{closed:?}"
    );
    for error in [&down, &refused, &slow, &closed] {
        assert_no_secret(&format!("{error} {error:?}"));
    }
}

/// The development outbox appends one JSON line per message to an owner-only (mode 600) file,
/// with the full number, the text, the purpose and the time, and `outbox_read` reads them
/// back in order; opening it warns that codes go to a local file; an existing outbox readable
/// by others is made owner-only, and a symbolic link in its place is refused.
/// req: 5.2.1.1-d2, 5.6.1-a5
#[tokio::test]
async fn development_outbox_writes_owner_only_json_lines() {
    init_logs();
    let dir = tempfile::tempdir().expect("dir");
    let data_dir = dir.path().join("data");
    let sms = gateway(&SmsSettings::default(), &data_dir, false).expect("development outbox");
    assert_eq!(sms.name(), "development-outbox");
    assert!(logs().contains("DEVELOPMENT outbox"));
    let path = data_dir.join(OUTBOX_FILE);
    assert_eq!(
        std::fs::metadata(&path)
            .expect("created")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert!(outbox_read(&data_dir).expect("read").is_empty());
    let before_ms = now_ms();
    sms.send(&message(OtpPurpose::Login)).await.expect("sent");
    sms.send(&message(OtpPurpose::ChangeMobile))
        .await
        .expect("sent");
    let text = std::fs::read_to_string(&path).expect("outbox");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["purpose"], "login");
    let entries = outbox_read(&data_dir).expect("read");
    assert_eq!(entries.len(), 2);
    for (entry, purpose) in entries
        .iter()
        .zip([OtpPurpose::Login, OtpPurpose::ChangeMobile])
    {
        assert_eq!(entry.to, MOBILE);
        assert_eq!(entry.text.as_str(), expected_text(purpose));
        assert_eq!(entry.purpose, purpose.name());
        assert_eq!(entry.request_id, REQUEST_ID);
        assert!((before_ms..=now_ms()).contains(&entry.sent_at_ms));
        let debug = format!("{entry:?}");
        assert_no_secret(&debug);
        assert!(debug.contains(MOBILE_MASKED));
    }
    assert_eq!(
        std::fs::metadata(&path)
            .expect("outbox")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );

    let loose = tempfile::tempdir().expect("dir");
    let loose_path = loose.path().join(OUTBOX_FILE);
    std::fs::write(&loose_path, "").expect("file");
    std::fs::set_permissions(&loose_path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    DevelopmentOutbox::open(loose.path()).expect("opened");
    assert_eq!(
        std::fs::metadata(&loose_path)
            .expect("outbox")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );

    let linked = tempfile::tempdir().expect("dir");
    std::os::unix::fs::symlink(
        dir.path().join("elsewhere"),
        linked.path().join(OUTBOX_FILE),
    )
    .expect("symlink");
    assert!(DevelopmentOutbox::open(linked.path()).is_err());
}

/// The production profile refuses the development outbox (and creates no outbox file), an
/// `http://` gateway URL, an HTTP gateway without a key file, and URLs carrying credentials or
/// another scheme; development accepts `http://`. Refusals name the setting and the clause
/// and never repeat the URL's credentials. Out-of-range sender and timeout are refused.
/// req: 5.2.1.1-d2, 5.6.2-b3, 5.6.2-c
#[tokio::test]
async fn production_refuses_the_outbox_and_plain_http() {
    let test = spawn_gateway().await;
    let dir = tempfile::tempdir().expect("dir");
    let refusal = |settings: &SmsSettings, production: bool| match gateway(
        settings,
        dir.path(),
        production,
    ) {
        Ok(_) => panic!("accepted"),
        Err(error) => format!("{error:#}"),
    };
    let error = refusal(&SmsSettings::default(), true);
    assert!(
        error.contains("sms.gateway") && error.contains("5.2.1.1-d2"),
        "{error}"
    );
    assert!(!dir.path().join(OUTBOX_FILE).exists());

    let plain = SmsSettings {
        http_url: Some(format!("http://localhost:{}/v1/sms", test.port)),
        ..test.settings("/v1/sms")
    };
    let error = refusal(&plain, true);
    assert!(
        error.contains("sms.http_url") && error.contains("5.6.2-b3"),
        "{error}"
    );
    let development = gateway(&plain, dir.path(), false).expect("development accepts http");
    assert_eq!(development.name(), "http");

    let keyless = SmsSettings {
        http_key_file: None,
        ..test.settings("/v1/sms")
    };
    let error = refusal(&keyless, true);
    assert!(
        error.contains("sms.http_key_file") && error.contains("5.6.2-c"),
        "{error}"
    );
    let urlless = SmsSettings {
        http_url: None,
        ..test.settings("/v1/sms")
    };
    assert!(refusal(&urlless, false).contains("sms.http_url"));

    for url in [
        "https://gateway:pa55word@localhost/v1/sms",
        "ftp://localhost/v1/sms",
        "not a url",
        "https://localhost/v1/sms#pa55word",
    ] {
        let settings = SmsSettings {
            http_url: Some(url.into()),
            ..test.settings("/v1/sms")
        };
        let error = refusal(&settings, false);
        assert!(error.contains("sms.http_url"), "{url}: {error}");
        assert!(!error.contains("pa55word"), "{error}");
    }
    for (sender, timeout_ms, setting) in [
        ("", 3_000, "sms.sender"),
        ("inspay\n", 3_000, "sms.sender"),
        ("inspay", 0, "sms.timeout_ms"),
        ("inspay", 60_000, "sms.timeout_ms"),
    ] {
        let settings = SmsSettings {
            sender: sender.into(),
            timeout_ms,
            ..SmsSettings::default()
        };
        let error = settings.validate(false).expect_err("refused");
        assert_eq!(error.setting, setting);
        let config: inspay_server::config::ConfigError = error.into();
        assert_eq!(config.setting, setting);
    }
}

/// The key file must be owner-only and hold 16 to 64 bytes of hex; refusals never show the
/// file's content.
/// req: 5.6.2-c, 5.6.2-b1
#[tokio::test]
async fn the_key_file_must_be_owner_only_and_long_enough() {
    let test = spawn_gateway().await;
    let key_file = test.dir.path().join("candidate.key");
    let settings = SmsSettings {
        http_key_file: Some(key_file.clone()),
        ..test.settings("/v1/sms")
    };
    let build = |settings: &SmsSettings| gateway(settings, test.dir.path(), true);
    let key = [0x5au8; 16];
    write_key(&key_file, &key, 0o644);
    let error = format!("{:#}", build(&settings).err().expect("group-readable"));
    assert!(error.contains("readable by others"), "{error}");
    assert!(!error.contains(&hex::encode(key)));

    write_key(&key_file, &key[..15], 0o600);
    let error = format!("{:#}", build(&settings).err().expect("15 bytes"));
    assert!(error.contains("16 to 64 bytes"), "{error}");
    write_key(&key_file, &[1u8; 65], 0o600);
    assert!(build(&settings).is_err(), "65 bytes");

    std::fs::write(&key_file, "secretkey-not-hex-0123456789abcdef").expect("write");
    let error = format!("{:#}", build(&settings).err().expect("not hex"));
    assert!(error.contains("does not hold a hex key"), "{error}");
    assert!(!error.contains("secretkey"), "{error}");

    write_key(&key_file, &key, 0o400);
    build(&settings).expect("a 16-byte owner-only key");
}

/// `SmsMessage`'s Debug masks the number and hides the text; sending through both gateways
/// and failing leaves neither the full number nor the text in any log line.
/// req: 5.2.1.1-d2, 5.6.1-a5
#[tokio::test]
async fn debug_and_logs_never_show_the_code_or_full_number() {
    init_logs();
    let sms_message = message(OtpPurpose::Login);
    let debug = format!("{sms_message:?}");
    assert_no_secret(&debug);
    assert!(
        debug.contains(MOBILE_MASKED) && debug.contains("REDACTED"),
        "{debug}"
    );

    let test = spawn_gateway().await;
    let http = gateway(&test.settings("/v1/sms"), test.dir.path(), true).expect("gateway");
    http.send(&sms_message).await.expect("sent");
    let down = gateway(&test.settings("/v1/sms/down"), test.dir.path(), true).expect("gateway");
    down.send(&sms_message).await.expect_err("500");
    let outbox = tempfile::tempdir().expect("dir");
    let development = gateway(&SmsSettings::default(), outbox.path(), false).expect("outbox");
    development.send(&sms_message).await.expect("written");

    let logs = logs();
    assert!(logs.contains("the SMS gateway did not accept the message"));
    assert!(!logs.contains(MOBILE), "full number in the logs");
    assert!(!logs.contains(&expected_text(OtpPurpose::Login)));
    assert!(!logs.contains(&format!("验证码{CODE}")));
}

/// Settings read from configuration: the gateway kinds by their kebab-case names, defaults
/// for the development outbox, unknown fields refused.
/// req: 5.2.1.1-d2
#[test]
fn settings_parse_by_name_and_refuse_unknown_fields() {
    let defaults = SmsSettings::default();
    assert_eq!(defaults.gateway, SmsGatewayKind::DevelopmentOutbox);
    defaults.validate(false).expect("development defaults");
    assert!(defaults.validate(true).is_err());
    let parsed: SmsSettings = serde_json::from_value(serde_json::json!({
        "gateway": "http",
        "http_url": "https://sms.example.com/v1/send",
        "http_key_file": "/etc/inspay/sms.key",
        "http_ca_file": null,
        "sender": "inspay",
        "timeout_ms": 2000,
    }))
    .expect("parsed");
    assert_eq!(parsed.gateway, SmsGatewayKind::Http);
    parsed.validate(true).expect("a production gateway");
    let outbox: SmsGatewayKind =
        serde_json::from_value(serde_json::json!("development-outbox")).expect("kind");
    assert_eq!(outbox, SmsGatewayKind::DevelopmentOutbox);
    let unknown = serde_json::from_value::<SmsSettings>(serde_json::json!({
        "gateway": "http", "http_url": null, "http_key_file": null, "http_ca_file": null,
        "sender": "inspay", "timeout_ms": 2000, "http_password": "x",
    }));
    assert!(unknown.is_err());
}
