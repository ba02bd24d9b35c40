//! Rate limits per IP, application and account, security events and alerts, and the
//! administration allow-list, against the running server on SQLite and PostgreSQL.

use crate::helpers::{TestApp, postgres_database, problem, spawn_with, test_settings};
use crate::people::{PASSWORD, customer, fresh_mobile, get, sign_in};
use crate::signing::Signer;
use inspay_crypto::sm2::Sm2PrivateKey;
use inspay_server::Settings;
use serde_json::json;

/// One server per configured database, with settings adjusted by `tune`.
async fn spawn_tuned(tune: impl Fn(&mut Settings)) -> Vec<TestApp> {
    let mut apps = vec![];
    let dir = tempfile::tempdir().expect("dir");
    let mut settings = test_settings(dir.path(), "");
    tune(&mut settings);
    apps.push(spawn_with("sqlite", settings, dir).await);
    if let Some(url) = postgres_database().await {
        let dir = tempfile::tempdir().expect("dir");
        let mut settings = test_settings(dir.path(), &url);
        tune(&mut settings);
        apps.push(spawn_with("postgres", settings, dir).await);
    }
    apps
}

/// Moves the server's clock to just after the start of a one-minute window, so counting is
/// never cut short by the minute turning.
fn to_window_start(app: &TestApp) {
    let now = app.state.now_ms();
    app.state
        .advance_clock(60_000 - now.rem_euclid(60_000) + 10);
}

async fn events(app: &TestApp, kind: &str) -> Vec<inspay_store::security_events::SecurityEvent> {
    app.state
        .store
        .security_events_list(0, 1_000)
        .await
        .expect("events")
        .into_iter()
        .filter(|event| event.kind == kind)
        .collect()
}

/// Past the per-IP limit, requests are refused with 429, a Retry-After and a security event,
/// whatever they are (even unknown paths); the next minute they pass again.
/// req: 5.4.3.2
#[tokio::test]
async fn the_per_ip_limit_holds_and_is_recorded() {
    for app in spawn_tuned(|settings| settings.protection.ip_per_minute = 5).await {
        to_window_start(&app);
        for _ in 0..5 {
            let response = app
                .client
                .get(app.url("/health/live"))
                .send()
                .await
                .expect("ok");
            assert_eq!(response.status(), 200, "{}", app.label);
        }
        let refused = app
            .client
            .get(app.url("/no/such/path"))
            .send()
            .await
            .expect("refused");
        assert_eq!(refused.status(), 429);
        let retry: i64 = refused.headers()["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("seconds");
        assert!((1..=61).contains(&retry));
        assert_eq!(problem(refused).await["code"], "INSPAY-AUTH-008");
        let seen = events(&app, "rate-limited").await;
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].client_ip.as_deref(), Some("127.0.0.1"));
        app.state.advance_clock(60_000);
        let again = app
            .client
            .get(app.url("/health/live"))
            .send()
            .await
            .expect("ok");
        assert_eq!(again.status(), 200, "a new window");
        app.stop().await;
    }
}

/// Behind a trusted proxy, the per-IP limit counts the address the proxy forwarded for, and
/// the security event names it; the same header from anyone else is ignored.
/// req: 5.4.3.2
#[tokio::test]
async fn the_per_ip_limit_counts_forwarded_clients_behind_trusted_proxies() {
    let send = |app: &TestApp, forwarded: &'static str| {
        app.client
            .get(app.url("/health/live"))
            .header("x-forwarded-for", forwarded)
            .send()
    };
    for app in spawn_tuned(|settings| {
        settings.protection.ip_per_minute = 3;
        settings.protection.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await
    {
        to_window_start(&app);
        for _ in 0..3 {
            let response = send(&app, "198.51.100.1, 203.0.113.7").await.expect("ok");
            assert_eq!(response.status(), 200, "{}", app.label);
        }
        let refused = send(&app, "203.0.113.7").await.expect("refused");
        assert_eq!(refused.status(), 429, "{}", app.label);
        let seen = events(&app, "rate-limited").await;
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].client_ip.as_deref(), Some("203.0.113.7"));
        let other = send(&app, "203.0.113.8").await.expect("other client");
        assert_eq!(other.status(), 200, "another client behind the same proxy");
        app.stop().await;
    }
    for app in spawn_tuned(|settings| settings.protection.ip_per_minute = 3).await {
        to_window_start(&app);
        for forwarded in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
            let response = send(&app, forwarded).await.expect("ok");
            assert_eq!(response.status(), 200, "{}", app.label);
        }
        let refused = send(&app, "203.0.113.4").await.expect("refused");
        assert_eq!(
            refused.status(),
            429,
            "without trusted proxies a forwarded address changes nothing"
        );
        app.stop().await;
    }
}

/// A trusted proxy that is not an address or CIDR network is refused at start-up.
/// req: 5.4.3.2
#[test]
fn malformed_trusted_proxies_are_refused() {
    let mut settings = Settings::default();
    settings.protection.trusted_proxies = vec!["proxy.example".into()];
    let error = settings.validate().expect_err("refused").to_string();
    assert!(error.contains("protection.trusted_proxies"), "{error}");
}

/// Past the per-application and per-account limits, that application's or account's requests
/// are refused while others go on.
/// req: 5.4.3.2
#[tokio::test]
async fn per_application_and_per_account_limits_hold() {
    for app in spawn_tuned(|settings| {
        settings.protection.app_per_minute = 40;
        settings.protection.account_per_minute = 3;
    })
    .await
    {
        to_window_start(&app);
        let mobile = fresh_mobile();
        customer(&app, &mobile, false).await;
        let token = sign_in(&app, &mobile, PASSWORD).await;
        for _ in 0..3 {
            assert_eq!(
                get(&app, "/v1/me", &token).await.status(),
                200,
                "{}",
                app.label
            );
        }
        let refused = get(&app, "/v1/me", &token).await;
        assert_eq!(refused.status(), 429);
        assert!(
            problem(refused).await["detail"]
                .as_str()
                .expect("detail")
                .contains("account")
        );
        let seen = events(&app, "rate-limited").await;
        assert!(seen.iter().any(|event| event.account_id.is_some()));

        // Another application is not held back by this one's count.
        let key = Sm2PrivateKey::generate().expect("key");
        crate::protocol::register_with_key(&app, "quiet-app", &key).await;
        let quiet = Signer {
            app_id: "quiet-app".into(),
            serial: 1,
            key,
            state: app.state.clone(),
        };
        let mut status = 200;
        let mut sent = 0;
        while status != 429 && sent < 60 {
            status = app
                .client
                .get(app.url("/v1/captcha"))
                .send()
                .await
                .expect("captcha")
                .status()
                .as_u16();
            sent += 1;
        }
        assert_eq!(status, 429, "the harness application reached its limit");
        let other = app
            .client
            .unsigned()
            .get(app.url("/v1/captcha"))
            .header("authorization", quiet.header("GET", "/v1/captcha", b""))
            .send()
            .await
            .expect("other");
        assert_eq!(other.status(), 200);
        app.stop().await;
    }
}

/// Repeated signature failures and replays are security events; the fifth of a kind from
/// one application within a minute raises an alert (an ERROR line monitoring pages on).
/// Injection-shaped input is recorded and still answered with a 4xx, never a 5xx.
/// req: 5.4.3.2
#[tokio::test]
async fn signature_failures_replays_and_injections_raise_events_and_alerts() {
    for app in spawn_tuned(|_| {}).await {
        let signer = app.client.signer.as_deref().expect("signer");
        let impostor = Signer {
            app_id: signer.app_id.clone(),
            serial: 1,
            key: Sm2PrivateKey::generate().expect("key"),
            state: app.state.clone(),
        };
        for _ in 0..6 {
            let response = app
                .client
                .unsigned()
                .get(app.url("/v1/captcha"))
                .header("authorization", impostor.header("GET", "/v1/captcha", b""))
                .send()
                .await
                .expect("refused");
            assert_eq!(response.status(), 401);
        }
        let failures = events(&app, "signature-invalid").await;
        assert_eq!(failures.len(), 6, "{}", app.label);
        assert_eq!(failures.iter().filter(|event| event.alert).count(), 1);
        assert!(crate::helpers::logs().contains("security alert"));

        let header = signer.header("GET", "/v1/captcha", b"");
        for expected in [200, 401] {
            let response = app
                .client
                .unsigned()
                .get(app.url("/v1/captcha"))
                .header("authorization", &header)
                .send()
                .await
                .expect("sent");
            assert_eq!(response.status(), expected);
        }
        assert_eq!(events(&app, "nonce-replayed").await.len(), 1);

        for target in [
            "/v1/customers/1'%20OR%20'1'='1",
            "/v1/captcha?id=1%20UNION%20SELECT%20password%20FROM%20accounts",
        ] {
            let response = app.client.get(app.url(target)).send().await.expect("sent");
            assert!(
                response.status().is_client_error(),
                "{target}: {}",
                response.status()
            );
        }
        let response = app
            .client
            .post(app.url("/v1/validate"))
            .json(&json!({ "legal_name": "x'; DROP TABLE accounts; --" }))
            .send()
            .await
            .expect("sent");
        assert!(response.status().is_client_error());
        assert!(events(&app, "injection-shaped-input").await.len() >= 3);
        app.stop().await;
    }
}

/// Staff routes (the administration interface) answer only callers from the allowed networks.
/// req: 5.4.3.2
#[tokio::test]
async fn the_administration_interface_is_limited_to_allowed_networks() {
    for app in spawn_tuned(|settings| {
        settings.protection.admin_networks = vec!["10.0.0.0/8".into()];
    })
    .await
    {
        let target = "/v1/customers/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
        let refused = app
            .client
            .get(app.url(target))
            .send()
            .await
            .expect("refused");
        assert_eq!(refused.status(), 403, "{}", app.label);
        assert_eq!(problem(refused).await["code"], "INSPAY-AUTH-005");
        assert_eq!(events(&app, "admin-network-refused").await.len(), 1);
        // A customer's own routes are not the administration interface.
        let own = app.client.get(app.url("/v1/me")).send().await.expect("own");
        assert_eq!(
            own.status(),
            401,
            "refused for want of a session, not by network"
        );
        app.stop().await;
    }
    for app in spawn_tuned(|_| {}).await {
        let target = "/v1/customers/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
        let response = app.client.get(app.url(target)).send().await.expect("sent");
        assert_eq!(response.status(), 401, "loopback is allowed by default");
        app.stop().await;
    }
}

/// A configured network that is not an address or CIDR is refused at start-up.
/// req: 5.4.3.2
#[test]
fn malformed_admin_networks_are_refused() {
    let mut settings = Settings::default();
    settings.protection.admin_networks = vec!["10.0.0.0/40".into()];
    let error = settings.validate().expect_err("refused").to_string();
    assert!(error.contains("protection.admin_networks"), "{error}");
}

/// Protocol settings that would break a clause are refused at start-up: unsigned requests or
/// clear sensitive fields in production, a replay window over 300 s, an application cache
/// that would delay revocations by more than 5 s, an SDK report longer than evidence keeps.
/// req: 5.6.2-c, 5.6.2-e, 5.2.2.1-c, 5.4.2.1
#[test]
fn protocol_settings_that_break_clauses_are_refused() {
    use inspay_server::config::Profile;
    use inspay_server::protocol::{FieldEncryptionMode, SignatureMode};
    type Change = Box<dyn Fn(&mut Settings)>;
    let cases: Vec<(&str, Change)> = vec![
        (
            "protocol.signatures",
            Box::new(|settings: &mut Settings| {
                settings.profile = Profile::Production;
                settings.protocol.signatures = SignatureMode::Optional;
            }),
        ),
        (
            "protocol.field_encryption",
            Box::new(|settings: &mut Settings| {
                settings.profile = Profile::Production;
                settings.protocol.field_encryption = FieldEncryptionMode::Optional;
            }),
        ),
        (
            "protocol.window_s",
            Box::new(|settings: &mut Settings| settings.protocol.window_s = 301),
        ),
        (
            "protocol.app_cache_ms",
            Box::new(|settings: &mut Settings| settings.protocol.app_cache_ms = 6_000),
        ),
        (
            "protocol.sdk_chars_max",
            Box::new(|settings: &mut Settings| settings.protocol.sdk_chars_max = 200),
        ),
    ];
    for (setting, change) in cases {
        let mut settings = Settings::default();
        change(&mut settings);
        let error = settings.validate().expect_err(setting).to_string();
        assert!(error.contains(setting), "{setting}: {error}");
    }
    Settings::default().validate().expect("the defaults pass");
}
