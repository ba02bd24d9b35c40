//! Risk events to the external risk-control system (clause 5.3.3.5, issue 6 item 7): a
//! running server's export worker delivers decisions and security events from the outbox to
//! NATS JetStream (the local server at 127.0.0.1:4222, or `INSPAY_TEST_NATS_URL`) and to a
//! webhook, each payload SM2-signed with the published response-signing key and free of raw
//! personal data; delivery survives a sink outage and a failing webhook, each event arriving
//! once; settings that would send events in clear are refused.

use crate::helpers::{TestApp, postgres_database, spawn_with, test_settings};
use async_nats::jetstream;
use base64::Engine;
use inspay_crypto::sm2::{Sm2PublicKey, Sm2Signature};
use inspay_server::Settings;
use inspay_server::config::Profile;
use inspay_server::risk::export::{
    ExportEvents, ExportSettings, enqueue_decision, enqueue_security_event,
};
use inspay_store::risk::{NewRiskDecision, RiskExportState};
use inspay_store::security_events::SecurityEvent;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// What every event signature covers before the payload (restated here on purpose: the test
/// checks the format a receiver implements, not the server's constant).
const DOMAIN: &[u8] = b"inspay-risk-event-v1\n";
const IPV4: &str = "203.0.113.77";
const IPV6: &str = "2001:db8:abcd:12:1:2:3:4";

fn nats_url() -> String {
    std::env::var("INSPAY_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

/// A fresh stream name and subject prefix, so parallel and earlier runs never meet.
fn unique_stream() -> (String, String) {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    (
        format!("INSPAY_RISK_TEST_{tag}"),
        format!("inspay-test.{tag}.risk"),
    )
}

/// Export settings for tests: fast passes and retries.
fn fast(export: &mut ExportSettings) {
    export.interval_ms = 100;
    export.retry_base_ms = 100;
    export.timeout_ms = 1_000;
}

/// One server per configured database, each with its export settings from `configure`
/// (called with the backend's label).
async fn apps_with(configure: impl Fn(&str, &mut ExportSettings)) -> Vec<TestApp> {
    let mut apps = vec![];
    let dir = tempfile::tempdir().expect("dir");
    let mut settings = test_settings(dir.path(), "");
    configure("sqlite", &mut settings.risk.export);
    apps.push(spawn_with("sqlite", settings, dir).await);
    if let Some(url) = postgres_database().await {
        let dir = tempfile::tempdir().expect("dir");
        let mut settings = test_settings(dir.path(), &url);
        configure("postgres", &mut settings.risk.export);
        apps.push(spawn_with("postgres", settings, dir).await);
    }
    apps
}

/// Polls `condition` every 50 ms until it holds; panics with `what` after `limit`.
async fn wait_until<F, Fut>(limit: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !condition().await {
        assert!(start.elapsed() < limit, "timed out after {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn pending(app: &TestApp) -> i64 {
    app.state
        .store
        .risk_exports_pending()
        .await
        .expect("pending count")
}

/// The server's response-signing keys by serial.
async fn published_keys(app: &TestApp) -> HashMap<u32, Sm2PublicKey> {
    crate::helpers::server_keys(app).await.into_iter().collect()
}

/// Checks a signature header pair over `payload` as a receiver would.
fn assert_signed(keys: &HashMap<u32, Sm2PublicKey>, payload: &[u8], signature: &str, serial: &str) {
    let serial: u32 = serial.parse().expect("serial header");
    let key = keys.get(&serial).expect("the serial is published");
    let der = base64::engine::general_purpose::STANDARD
        .decode(signature)
        .expect("base64 signature");
    let signature = Sm2Signature::from_der(&der).expect("DER signature");
    let mut message = DOMAIN.to_vec();
    message.extend_from_slice(payload);
    key.verify(&message, &signature)
        .expect("the event signature verifies");
    let mut tampered = message.clone();
    if let Some(last) = tampered.last_mut() {
        *last ^= 1;
    }
    assert!(key.verify(&tampered, &signature).is_err());
}

/// A decision's owned fields.
struct DecisionFixture {
    id: String,
    account: String,
    reference: String,
    verdict: &'static str,
}

impl DecisionFixture {
    fn new(account: &str, verdict: &'static str) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            account: account.to_owned(),
            reference: uuid::Uuid::now_v7().to_string(),
            verdict,
        }
    }

    fn decision(&self, at_ms: i64) -> NewRiskDecision<'_> {
        NewRiskDecision {
            id: &self.id,
            at_ms,
            operation: "payout",
            account_id: Some(&self.account),
            reference: Some(&self.reference),
            verdict: self.verdict,
            reasons_json: r#"[{"rule":"txn.amount-tier-2","source":"built-in","verdict":"review","note":"large amount"}]"#,
            model_score: Some(3.5),
            alert: matches!(self.verdict, "review" | "deny"),
        }
    }
}

/// Records a decision as the engine does, then enqueues its export; whether it was enqueued.
async fn decide(app: &TestApp, fixture: &DecisionFixture) -> bool {
    let decision = fixture.decision(app.state.now_ms());
    app.state
        .store
        .risk_decision_record(&app.state.keyring(), decision)
        .await
        .expect("decision recorded");
    enqueue_decision(&app.state, &decision)
        .await
        .expect("decision enqueued")
}

/// Records a security event as the edge does, then enqueues its export.
async fn security_event(app: &TestApp, account: &str, ip: &str, alert: bool) -> bool {
    let event = SecurityEvent {
        id: uuid::Uuid::now_v7().to_string(),
        kind: "signature-invalid".to_owned(),
        app_id: Some("test-app".to_owned()),
        account_id: Some(account.to_owned()),
        client_ip: Some(ip.to_owned()),
        route: Some("/v1/policies".to_owned()),
        detail: "the request signature did not verify".to_owned(),
        alert,
        at_ms: app.state.now_ms(),
    };
    app.state
        .store
        .security_event_record(&event)
        .await
        .expect("event recorded");
    enqueue_security_event(&app.state, &event)
        .await
        .expect("event enqueued")
}

/// The events enqueued on `app`, by id, read back from the outbox.
async fn outbox_ids(app: &TestApp, ids: &[String]) -> Vec<inspay_store::risk::RiskExportRow> {
    let mut rows = vec![];
    for id in ids {
        rows.push(
            app.state
                .store
                .risk_export(id)
                .await
                .expect("read")
                .expect("row"),
        );
    }
    rows
}

/// The ids of every event in the outbox (a test server's outbox holds only its own).
async fn all_event_ids(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar::<_, String>("SELECT id FROM risk_exports ORDER BY id")
        .fetch_all(app.state.store.pool())
        .await
        .expect("ids")
}

async fn jetstream_context() -> jetstream::Context {
    let client = async_nats::connect(nats_url())
        .await
        .expect("NATS with JetStream must run at INSPAY_TEST_NATS_URL or 127.0.0.1:4222");
    jetstream::new(client)
}

/// Every message of a stream, by sequence.
async fn stream_messages(
    context: &jetstream::Context,
    stream: &str,
) -> Vec<jetstream::message::StreamMessage> {
    let mut handle = context.get_stream(stream).await.expect("stream exists");
    let last = handle.info().await.expect("info").state.last_sequence;
    let mut messages = vec![];
    for sequence in 1..=last {
        if let Ok(message) = handle.get_raw_message(sequence).await {
            messages.push(message);
        }
    }
    messages
}

fn header(message: &jetstream::message::StreamMessage, name: &str) -> String {
    message
        .headers
        .get(name)
        .map(|value| value.as_str().to_owned())
        .unwrap_or_default()
}

/// A running server exports review and deny decisions and alerting security events (the
/// `alerts` default) to a JetStream stream it creates; read back from the stream, each event
/// is on `{prefix}.{kind}` with `Nats-Msg-Id` equal to its id, its SM2 signature verifies
/// against the key the server publishes, and its payload holds no raw account id and no full
/// client address: a keyed account reference, the same for one account, and the /24 or /48
/// network.
/// req: 5.3.3.5
#[tokio::test]
async fn events_reach_jetstream_signed_and_masked() {
    let streams: Mutex<HashMap<String, (String, String)>> = Mutex::default();
    let apps = apps_with(|label, export| {
        let (stream, prefix) = unique_stream();
        export.nats_url = Some(nats_url());
        export.nats_stream = stream.clone();
        export.nats_subject_prefix = prefix.clone();
        fast(export);
        streams
            .lock()
            .expect("lock")
            .insert(label.to_owned(), (stream, prefix));
    })
    .await;
    let context = jetstream_context().await;
    for app in apps {
        let label = app.label;
        let (stream, prefix) = streams.lock().expect("lock")[label].clone();
        let keys = published_keys(&app).await;
        let alice = uuid::Uuid::now_v7().to_string();
        let bob = uuid::Uuid::now_v7().to_string();
        let mut accounts = vec![alice.clone(), bob.clone()];
        for (index, verdict) in ["review", "deny", "review", "deny", "review"]
            .into_iter()
            .enumerate()
        {
            let account = if index % 2 == 0 { &alice } else { &bob };
            assert!(decide(&app, &DecisionFixture::new(account, verdict)).await);
        }
        let quiet = uuid::Uuid::now_v7().to_string();
        accounts.push(quiet.clone());
        assert!(
            !decide(&app, &DecisionFixture::new(&quiet, "allow")).await,
            "{label}: an allow is not an alert"
        );
        let carol = uuid::Uuid::now_v7().to_string();
        accounts.push(carol.clone());
        assert!(security_event(&app, &carol, IPV4, true).await);
        assert!(security_event(&app, &carol, IPV6, true).await);
        assert!(
            !security_event(&app, &carol, IPV4, false).await,
            "{label}: an event without an alert is not exported"
        );
        let ids = all_event_ids(&app).await;
        assert_eq!(ids.len(), 7, "{label}");

        wait_until(Duration::from_secs(15), "every event delivered", || async {
            pending(&app).await == 0
        })
        .await;
        for row in outbox_ids(&app, &ids).await {
            assert_eq!(row.nats_state, RiskExportState::Done, "{label}");
            assert_eq!(row.webhook_state, RiskExportState::Skipped, "{label}");
        }

        let info = context
            .get_stream(&stream)
            .await
            .expect("the server created the stream")
            .get_info()
            .await
            .expect("info");
        assert_eq!(info.config.subjects, vec![format!("{prefix}.>")], "{label}");
        assert_eq!(info.config.duplicate_window, Duration::from_secs(600));
        let messages = stream_messages(&context, &stream).await;
        assert_eq!(messages.len(), 7, "{label}: each event once");
        let mut seen = BTreeSet::new();
        let mut account_refs: HashMap<String, BTreeSet<String>> = HashMap::new();
        let mut networks = BTreeSet::new();
        for message in &messages {
            let payload = std::str::from_utf8(&message.payload).expect("utf-8");
            assert_signed(
                &keys,
                &message.payload,
                &header(message, "Inspay-Signature"),
                &header(message, "Inspay-Key-Serial"),
            );
            let event: Value = serde_json::from_str(payload).expect("json");
            let id = event["id"].as_str().expect("id").to_owned();
            assert_eq!(header(message, "Nats-Msg-Id"), id, "{label}");
            let kind = event["kind"].as_str().expect("kind");
            assert_eq!(message.subject.as_str(), format!("{prefix}.{kind}"));
            assert_eq!(event["source"], "inspay");
            assert!(event["node"].as_str().is_some_and(|node| !node.is_empty()));
            for account in &accounts {
                assert!(
                    !payload.contains(account.as_str()),
                    "{label}: raw account id"
                );
            }
            assert!(!payload.contains(IPV4) && !payload.contains("2001:db8:abcd:12"));
            match kind {
                "decision" => {
                    let decision = &event["decision"];
                    assert!(matches!(
                        decision["verdict"].as_str(),
                        Some("review" | "deny")
                    ));
                    assert_eq!(decision["operation"], "payout");
                    assert_eq!(decision["reasons"][0]["rule"], "txn.amount-tier-2");
                    assert_eq!(decision["model_score"], 3.5);
                    let reference = decision["account_ref"].as_str().expect("account_ref");
                    assert!(reference.starts_with("hmac-sm3:v"), "{reference}");
                    account_refs
                        .entry(decision["verdict"].as_str().unwrap_or_default().to_owned())
                        .or_default()
                        .insert(reference.to_owned());
                }
                "security-event" => {
                    let security = &event["security_event"];
                    assert_eq!(security["kind"], "signature-invalid");
                    assert_eq!(security["alert"], true);
                    networks.insert(security["client_net"].as_str().expect("net").to_owned());
                }
                other => panic!("unexpected kind {other}"),
            }
            seen.insert(id);
        }
        assert_eq!(seen, ids.iter().cloned().collect(), "{label}");
        assert_eq!(
            networks,
            BTreeSet::from(["203.0.113.0/24".to_owned(), "2001:db8:abcd::/48".to_owned()])
        );
        // Alice's three reviews share one reference, Bob's two denies another.
        assert_eq!(account_refs["review"].len(), 1, "{label}");
        assert_eq!(account_refs["deny"].len(), 1, "{label}");
        assert_ne!(account_refs["review"], account_refs["deny"], "{label}");

        context
            .delete_stream(&stream)
            .await
            .expect("stream deleted");
        app.stop().await;
    }
}

/// A TCP forwarder in front of the NATS server that the test can stop (closing every
/// connection) and start again on the same port: a sink outage.
struct Proxy {
    port: u16,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(port: u16, upstream: SocketAddr) -> Proxy {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("reuseaddr");
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], port)))
            .expect("bind the proxy port");
        let listener = socket.listen(64).expect("listen");
        let port = listener.local_addr().expect("address").port();
        let stop = CancellationToken::new();
        let token = stop.clone();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    _ = token.cancelled() => break,
                    accepted = listener.accept() => {
                        let Ok((mut inbound, _)) = accepted else { continue };
                        connections.spawn(async move {
                            if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                            }
                        });
                    }
                }
            }
            // Dropping the tasks drops both ends of every connection.
            connections.abort_all();
            while connections.join_next().await.is_some() {}
        });
        Proxy { port, stop, task }
    }

    async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

fn nats_address() -> SocketAddr {
    let url = nats_url();
    let host_port = url
        .split("://")
        .nth(1)
        .unwrap_or(url.as_str())
        .trim_end_matches('/');
    host_port
        .parse()
        .expect("INSPAY_TEST_NATS_URL is nats://IP:PORT")
}

/// While the NATS sink is down, events stay in the outbox, each attempt counted and its error
/// kept; when it comes back, every event is delivered, and the stream holds each one exactly
/// once (a publish whose acknowledgement was lost and the retry after it are one message).
/// req: 5.3.3.5
#[tokio::test]
async fn delivery_survives_a_nats_outage() {
    let upstream = nats_address();
    let mut proxies: HashMap<&str, (String, u16)> = HashMap::new();
    let mut running: HashMap<&str, Proxy> = HashMap::new();
    // One proxy per backend, started before its server so the port is known.
    for label in ["sqlite", "postgres"] {
        let proxy = Proxy::start(0, upstream).await;
        proxies.insert(label, (unique_stream().0, proxy.port));
        running.insert(label, proxy);
    }
    let apps = apps_with(|label, export| {
        let (stream, port) = proxies[label].clone();
        export.nats_url = Some(format!("nats://127.0.0.1:{port}"));
        export.nats_subject_prefix = format!("inspay-test.{}", stream.to_lowercase());
        export.nats_stream = stream;
        fast(export);
    })
    .await;
    let context = jetstream_context().await;
    for app in apps {
        let label = app.label;
        let (stream, port) = proxies[label].clone();
        let first = uuid::Uuid::now_v7().to_string();
        assert!(decide(&app, &DecisionFixture::new(&first, "deny")).await);
        wait_until(
            Duration::from_secs(10),
            "the first event delivered",
            || async { pending(&app).await == 0 },
        )
        .await;

        let proxy = running.remove(label).expect("proxy");
        proxy.stop().await;
        let before: BTreeSet<String> = all_event_ids(&app).await.into_iter().collect();
        for verdict in ["review", "deny", "review", "deny"] {
            let account = uuid::Uuid::now_v7().to_string();
            assert!(decide(&app, &DecisionFixture::new(&account, verdict)).await);
        }
        let waiting: Vec<String> = all_event_ids(&app)
            .await
            .into_iter()
            .filter(|id| !before.contains(id))
            .collect();
        assert_eq!(waiting.len(), 4, "{label}");
        wait_until(
            Duration::from_secs(10),
            "failed attempts recorded during the outage",
            || async {
                outbox_ids(&app, &waiting).await.iter().all(|row| {
                    row.attempts >= 2
                        && row.nats_state == RiskExportState::Pending
                        && row
                            .last_error
                            .as_deref()
                            .is_some_and(|error| error.starts_with("nats: "))
                })
            },
        )
        .await;
        assert_eq!(
            pending(&app).await,
            4,
            "{label}: nothing lost, nothing sent"
        );

        let proxy = Proxy::start(port, upstream).await;
        wait_until(
            Duration::from_secs(15),
            "every event delivered after the outage",
            || async { pending(&app).await == 0 },
        )
        .await;
        let messages = stream_messages(&context, &stream).await;
        let ids: Vec<String> = messages
            .iter()
            .map(|message| header(message, "Nats-Msg-Id"))
            .collect();
        let unique: BTreeSet<String> = ids.iter().cloned().collect();
        assert_eq!(ids.len(), 5, "{label}: exactly once each: {ids:?}");
        assert_eq!(
            unique,
            all_event_ids(&app).await.into_iter().collect(),
            "{label}"
        );
        context
            .delete_stream(&stream)
            .await
            .expect("stream deleted");
        proxy.stop().await;
        app.stop().await;
    }
    for (_, proxy) in running {
        proxy.stop().await;
    }
}

/// What the test webhook saw.
#[derive(Default)]
struct Hook {
    requests: usize,
    /// Accepted deliveries: event id header, timestamp, signature, serial, content type, body.
    accepted: Vec<[String; 6]>,
}

/// A running test webhook: its address, what it saw, and its stop switch.
type HookHandle = (SocketAddr, Arc<Mutex<Hook>>, CancellationToken);

/// A webhook on loopback that answers 503 to the first two requests and 200 after.
async fn start_hook() -> HookHandle {
    use axum::http::{HeaderMap, StatusCode};
    let hook: Arc<Mutex<Hook>> = Arc::default();
    let seen = hook.clone();
    let router = axum::Router::new().route(
        "/risk/events",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let seen = seen.clone();
            async move {
                let mut hook = seen.lock().expect("lock");
                hook.requests += 1;
                if hook.requests <= 2 {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                let value = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|value| value.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                hook.accepted.push([
                    value("Inspay-Event-Id"),
                    value("Inspay-Timestamp"),
                    value("Inspay-Signature"),
                    value("Inspay-Key-Serial"),
                    value("Content-Type"),
                    body,
                ]);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async move { token.cancelled().await })
            .await;
    });
    (address, hook, stop)
}

/// A webhook that fails twice (503) still receives every event, once each after its
/// success: the body is the signed payload, the signature verifies, the event id header
/// matches the payload, and the failed attempts are counted with their error.
/// req: 5.3.3.5
#[tokio::test]
async fn the_webhook_gets_each_event_once_after_failures() {
    let mut hooks: HashMap<&str, HookHandle> = HashMap::new();
    for label in ["sqlite", "postgres"] {
        hooks.insert(label, start_hook().await);
    }
    let apps = apps_with(|label, export| {
        let address = hooks[label].0;
        export.webhook_url = Some(format!("http://{address}/risk/events"));
        export.events = ExportEvents::All;
        fast(export);
    })
    .await;
    for app in apps {
        let label = app.label;
        let (_, hook, stop) = hooks[label].clone();
        let keys = published_keys(&app).await;
        let account = uuid::Uuid::now_v7().to_string();
        for verdict in ["allow", "review", "step-up:sms-code"] {
            assert!(
                decide(&app, &DecisionFixture::new(&account, verdict)).await,
                "{label}: `all` exports every verdict"
            );
        }
        let ids = all_event_ids(&app).await;
        wait_until(Duration::from_secs(15), "every event delivered", || async {
            pending(&app).await == 0
        })
        .await;

        let rows = outbox_ids(&app, &ids).await;
        let attempts: i64 = rows.iter().map(|row| row.attempts).sum();
        assert_eq!(attempts, 5, "{label}: three events, two failed attempts");
        for row in rows.iter().filter(|row| row.attempts > 1) {
            assert_eq!(
                row.last_error.as_deref(),
                Some("webhook: answered 503"),
                "{label}"
            );
        }
        assert!(
            rows.iter()
                .all(|row| row.webhook_state == RiskExportState::Done
                    && row.nats_state == RiskExportState::Skipped)
        );

        let (requests, accepted) = {
            let hook = hook.lock().expect("lock");
            (hook.requests, hook.accepted.clone())
        };
        assert_eq!(requests, 5, "{label}");
        let delivered: Vec<String> = accepted.iter().map(|seen| seen[0].clone()).collect();
        let unique: BTreeSet<String> = delivered.iter().cloned().collect();
        assert_eq!(delivered.len(), 3, "{label}: once each");
        assert_eq!(unique, ids.iter().cloned().collect(), "{label}");
        for [id, timestamp, signature, serial, content_type, body] in &accepted {
            assert_signed(&keys, body.as_bytes(), signature, serial);
            let event: Value = serde_json::from_str(body).expect("json");
            assert_eq!(event["id"].as_str(), Some(id.as_str()));
            assert_eq!(content_type, "application/json");
            let sent_s: i64 = timestamp.parse().expect("timestamp");
            assert!((sent_s - app.state.now_ms() / 1000).abs() < 60, "{label}");
            assert!(!body.contains(account.as_str()), "{label}: raw account id");
        }
        stop.cancel();
        app.stop().await;
    }
}

/// Events never leave in clear over a network: a plain `http://` webhook or `nats://` server
/// is refused unless it is on loopback, and the production profile refuses plain transport
/// altogether; credentials in a URL, wildcard subjects and bad stream names are refused too.
/// With no sink configured (the default) the settings pass; `[risk.export]` loads from a
/// settings file, unnamed keys taking their defaults and unknown ones refused.
/// req: 5.3.3.5
#[test]
fn settings_that_would_send_events_in_clear_are_refused() {
    let refused = |change: &dyn Fn(&mut Settings)| -> String {
        let mut settings = Settings::default();
        change(&mut settings);
        settings.validate().expect_err("refused").to_string()
    };
    let error = refused(&|settings| {
        settings.profile = Profile::Production;
        settings.risk.export.webhook_url = Some("http://risk.example.test/events".into());
    });
    assert!(error.contains("risk.export.webhook_url"), "{error}");
    let error = refused(&|settings| {
        settings.risk.export.nats_url = Some("nats://nats.example.test:4222".into());
    });
    assert!(error.contains("risk.export.nats_url"), "{error}");
    let error = refused(&|settings| {
        settings.risk.export.nats_url = Some("tls://user:secret@nats.example.test:4222".into());
    });
    assert!(
        error.contains("risk.export.nats_url") && !error.contains("secret"),
        "{error}"
    );
    let error = refused(&|settings| settings.risk.export.nats_subject_prefix = "risk.*".into());
    assert!(error.contains("nats_subject_prefix"), "{error}");
    let error = refused(&|settings| settings.risk.export.nats_stream = "RISK.EVENTS".into());
    assert!(error.contains("nats_stream"), "{error}");
    let error = refused(&|settings| settings.risk.export.retry_base_ms = 0);
    assert!(error.contains("risk.export"), "{error}");

    let mut settings = Settings::default();
    assert!(!settings.risk.export.any_sink());
    settings.validate().expect("no sink by default");
    settings.risk.export.webhook_url = Some("https://risk.example.test/events".into());
    settings.risk.export.nats_url = Some("tls://nats.example.test:4222".into());
    settings.validate().expect("TLS sinks pass");
    settings.risk.export.webhook_url = Some("http://127.0.0.1:9000/events".into());
    settings.risk.export.nats_url = Some("nats://[::1]:4222".into());
    settings
        .validate()
        .expect("plain transport on loopback, in development");
    let export = &settings.risk.export;
    assert!(export.refusal_in(Profile::Development).is_none());
    let (setting, reason) = export
        .refusal_in(Profile::Production)
        .expect("production refuses plain transport even on loopback");
    assert_eq!(setting, "risk.export.nats_url");
    assert!(reason.contains("production"), "{reason}");
    let mut webhook_only = export.clone();
    webhook_only.nats_url = None;
    assert_eq!(
        webhook_only
            .refusal_in(Profile::Production)
            .map(|(setting, _)| setting),
        Some("risk.export.webhook_url")
    );

    // `[risk.export]` in a settings file: the keys named, the rest defaults, typos refused.
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("inspay.toml");
    std::fs::write(
        &file,
        "[risk.export]\nwebhook_url = \"https://risk.example.test/events\"\nevents = \"all\"\nbatch_max = 50\n",
    )
    .expect("write");
    let loaded = Settings::load(Some(&file)).expect("parses").risk.export;
    assert_eq!(
        loaded.webhook_url.as_deref(),
        Some("https://risk.example.test/events")
    );
    assert_eq!(loaded.events, ExportEvents::All);
    assert_eq!(loaded.batch_max, 50);
    assert_eq!(loaded.nats_url, None);
    assert_eq!(loaded.nats_stream, "INSPAY_RISK");
    assert_eq!(loaded.nats_subject_prefix, "inspay.risk");
    assert_eq!(loaded.interval_ms, 1_000);
    std::fs::write(&file, "[risk.export]\nwebhook = \"https://x.test/\"\n").expect("write");
    assert!(
        Settings::load(Some(&file)).is_err(),
        "unknown keys are refused"
    );
}
