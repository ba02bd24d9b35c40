//! Environment monitoring and the administration listener (issue 8): `/metrics` only on the
//! admin listener and only to the admin networks, host gauges and request counters in the
//! exposition, one alert per threshold crossing, and the `[monitoring]` settings checked.

use crate::helpers::{
    TestApp, client, init_logs, postgres_database, problem, register_test_app, test_settings,
};
use inspay_server::{Application, Settings};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::net::SocketAddr;
use std::sync::Arc;

/// A server with an admin listener, and that listener's address.
struct Monitored {
    app: TestApp,
    admin: SocketAddr,
}

impl Monitored {
    fn admin_url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.admin.port())
    }

    /// `GET /metrics` on the admin listener.
    async fn scrape(&self) -> reqwest::Response {
        client(&self.app.ca, None)
            .get(self.admin_url("/metrics"))
            .send()
            .await
            .expect("scrape")
    }

    /// The exposition text, checking status and media type.
    async fn metrics(&self) -> String {
        let response = self.scrape().await;
        assert_eq!(response.status(), 200, "{}", self.app.label);
        assert_eq!(
            response
                .headers()
                .get("content-type")
                .and_then(|value| value.to_str().ok()),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
        response.text().await.expect("text")
    }
}

/// One server per configured database, with an admin listener on a free port and settings
/// adjusted by `tune`.
async fn spawn_monitored(tune: impl Fn(&mut Settings)) -> Vec<Monitored> {
    let mut apps = vec![];
    let dir = tempfile::tempdir().expect("dir");
    let mut settings = test_settings(dir.path(), "");
    settings.listen.admin_address = Some("127.0.0.1:0".parse().expect("address"));
    tune(&mut settings);
    apps.push(spawn_one("sqlite", settings, dir).await);
    if let Some(url) = postgres_database().await {
        let dir = tempfile::tempdir().expect("dir");
        let mut settings = test_settings(dir.path(), &url);
        settings.listen.admin_address = Some("127.0.0.1:0".parse().expect("address"));
        tune(&mut settings);
        apps.push(spawn_one("postgres", settings, dir).await);
    }
    apps
}

/// As `helpers::spawn_with`, keeping the admin listener's address.
async fn spawn_one(label: &'static str, settings: Settings, dir: tempfile::TempDir) -> Monitored {
    init_logs();
    let app = Application::build(settings).await.expect("server builds");
    let ca_path = app.development_ca.clone().expect("development CA");
    let ca: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&ca_path)
        .expect("ca file")
        .collect::<Result<_, _>>()
        .expect("ca pem");
    let address = app.address();
    let admin = app.admin_address().expect("admin listener bound");
    assert_ne!(admin.port(), 0, "port 0 resolved to the bound port");
    let mtls_address = app.mtls_address();
    let shutdown = app.shutdown_token();
    let state = app.state().clone();
    let handle = tokio::spawn(app.run());
    let signer = register_test_app(&state).await;
    Monitored {
        app: TestApp {
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
            base: format!("https://localhost:{}", address.port()),
            tlcp_address: None,
            #[cfg(feature = "tlcp")]
            relay: None,
        },
        admin,
    }
}

/// The value of the sample `series` (name and labels exactly as exposed), or 0 if absent.
fn value_of(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse::<f64>().expect("number"))
        })
        .unwrap_or(0.0)
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

/// The admin listener serves the Prometheus exposition with the host gauges (CPU, memory,
/// disk, network) and request counters that rise with requests to the public listener; the
/// public listener has no `/metrics` (404), and the admin listener nothing but its two routes.
/// req: 5.4.4.1, 6.4.1, 4-c
#[tokio::test]
async fn metrics_are_served_on_the_admin_listener_only() {
    for monitored in spawn_monitored(|_| {}).await {
        let app = &monitored.app;
        inspay_server::monitoring::sample(&app.state).await;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        inspay_server::monitoring::sample(&app.state).await;
        let series =
            "inspay_http_requests_total{method=\"GET\",route=\"/health/live\",status=\"2xx\"}";
        let before = monitored.metrics().await;
        for gauge in [
            "inspay_host_memory_percent ",
            "inspay_host_disk_percent ",
            "inspay_host_network_receive_bytes_total ",
            "inspay_host_network_transmit_bytes_total ",
            "inspay_host_threshold_percent{resource=\"cpu\"} 85",
            "inspay_host_threshold_percent{resource=\"memory\"} 90",
            "inspay_host_threshold_percent{resource=\"disk\"} 90",
            "# TYPE inspay_http_request_duration_seconds histogram",
            "# TYPE inspay_fund_operations_total counter",
        ] {
            assert!(
                before.lines().any(|line| line.starts_with(gauge)),
                "{}: missing {gauge}\n{before}",
                app.label
            );
        }
        let memory = value_of(&before, "inspay_host_memory_percent");
        assert!(memory > 0.0 && memory <= 100.0, "{memory}");
        for _ in 0..2 {
            let response = app
                .client
                .get(app.url("/health/live"))
                .send()
                .await
                .expect("live");
            assert_eq!(response.status(), 200);
        }
        let after = monitored.metrics().await;
        assert_eq!(
            value_of(&after, series) - value_of(&before, series),
            2.0,
            "{}: the request counter rose by the two requests\n{after}",
            app.label
        );
        assert!(
            value_of(
                &after,
                "inspay_http_request_duration_seconds_count{method=\"GET\",route=\"/health/live\"}"
            ) >= 2.0
        );
        assert!(
            !after.contains("route=\"/metrics\""),
            "scrapes of the admin listener are not counted as API traffic"
        );

        let public = app
            .client
            .get(app.url("/metrics"))
            .send()
            .await
            .expect("public");
        assert_eq!(
            public.status(),
            404,
            "{}: no /metrics on the public listener",
            app.label
        );
        assert_eq!(problem(public).await["code"], "INSPAY-REQ-006");

        let admin = client(&app.ca, None);
        let other = admin
            .get(monitored.admin_url("/v1/me"))
            .send()
            .await
            .expect("other");
        assert_eq!(
            other.status(),
            404,
            "the admin listener serves nothing else"
        );
        let live = admin
            .get(monitored.admin_url("/health/live"))
            .send()
            .await
            .expect("admin live");
        assert_eq!(live.status(), 200);
        let posted = admin
            .post(monitored.admin_url("/metrics"))
            .send()
            .await
            .expect("post");
        assert_eq!(posted.status(), 405);
        monitored.app.stop().await;
    }
}

/// Outside `protection.admin_networks`, the admin listener answers 403 with the project's
/// problem shape and a stable code, records a security event, and shows no metrics.
/// req: 4-c, 6.4.1
#[tokio::test]
async fn the_admin_listener_refuses_callers_outside_the_admin_networks() {
    for monitored in spawn_monitored(|settings| {
        settings.protection.admin_networks = vec!["10.0.0.0/8".into()];
    })
    .await
    {
        let refused = monitored.scrape().await;
        assert_eq!(refused.status(), 403, "{}", monitored.app.label);
        let body = problem(refused).await;
        assert_eq!(body["code"], "INSPAY-AUTH-005");
        assert!(
            !body.to_string().contains("inspay_"),
            "no metric leaks into the refusal"
        );
        let refusals = events(&monitored.app, "admin-network-refused").await;
        assert_eq!(refusals.len(), 1, "{refusals:?}");
        assert_eq!(refusals[0].route.as_deref(), Some("/metrics"));
        monitored.app.stop().await;
    }
}

/// With every threshold at 1 %, a sample raises one alert security event per resource over
/// it (memory and disk always are), visible in the store, the security-event console and
/// the metrics; the next samples raise no second one while the resource stays over.
/// req: 5.4.4.1, 6.4.1
#[tokio::test]
async fn a_threshold_crossing_raises_one_alert() {
    for monitored in spawn_monitored(|settings| {
        settings.monitoring.cpu_percent_max = 1;
        settings.monitoring.memory_percent_max = 1;
        settings.monitoring.disk_percent_max = 1;
        settings.monitoring.sample_interval_s = 1;
        settings.monitoring.cpu_window_s = 1;
    })
    .await
    {
        let app = &monitored.app;
        let first = inspay_server::monitoring::sample(&app.state).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        // Past the one-second CPU window, so the average exists.
        app.state.advance_clock(2_000);
        inspay_server::monitoring::sample(&app.state).await;
        inspay_server::monitoring::sample(&app.state).await;
        assert!(first.figures.memory_percent.is_some());
        for kind in ["monitoring.memory-high", "monitoring.disk-high"] {
            let raised = events(app, kind).await;
            assert_eq!(raised.len(), 1, "{}: {kind}: {raised:?}", app.label);
            assert!(raised[0].alert, "{kind} is an alert");
            assert!(raised[0].client_ip.is_none() && raised[0].account_id.is_none());
        }
        assert!(
            events(app, "monitoring.memory-recovered").await.is_empty(),
            "no recovery while still over"
        );
        let text = monitored.metrics().await;
        assert_eq!(
            value_of(&text, "inspay_host_alert{resource=\"memory\"}"),
            1.0
        );
        assert_eq!(value_of(&text, "inspay_host_alert{resource=\"disk\"}"), 1.0);
        assert_eq!(
            value_of(
                &text,
                "inspay_security_events_total{kind=\"monitoring.memory-high\",alert=\"1\"}"
            ),
            1.0
        );
        // CPU: over 1 % averaged over the window on any host doing work; whatever it was,
        // at most one alert.
        let cpu = value_of(&text, "inspay_host_cpu_window_percent");
        let cpu_alerts = events(app, "monitoring.cpu-high").await.len();
        assert!(cpu_alerts <= 1, "{cpu_alerts}");
        if cpu >= 1.0 {
            assert_eq!(cpu_alerts, 1, "{cpu}");
        }
        monitored.app.stop().await;
    }
}

/// `[monitoring]` thresholds outside 1..=100 are refused at start-up, naming the setting and
/// the clause; the section and the admin address load from TOML; unknown keys are refused.
/// req: 5.4.4.1
#[test]
fn monitoring_settings_out_of_range_are_refused() {
    for value in [0, 101] {
        for setting in ["cpu", "memory", "disk"] {
            let mut settings = Settings::default();
            match setting {
                "cpu" => settings.monitoring.cpu_percent_max = value,
                "memory" => settings.monitoring.memory_percent_max = value,
                _ => settings.monitoring.disk_percent_max = value,
            }
            let error = settings.validate().expect_err("refused").to_string();
            assert!(
                error.contains(&format!("monitoring.{setting}_percent_max")),
                "{error}"
            );
            assert!(error.contains("5.4.4.1"), "{error}");
        }
    }
    let mut settings = Settings::default();
    settings.monitoring.sample_interval_s = 0;
    let error = settings.validate().expect_err("refused").to_string();
    assert!(error.contains("monitoring.sample_interval_s"), "{error}");

    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("inspay.toml");
    std::fs::write(
        &file,
        "[listen]\naddress = \"127.0.0.1:8443\"\nadmin_address = \"127.0.0.1:9443\"\n\n\
         [monitoring]\ndisk_percent_max = 80\n",
    )
    .expect("write");
    let loaded = Settings::load(Some(&file)).expect("loads");
    assert_eq!(
        loaded.listen.admin_address,
        Some("127.0.0.1:9443".parse().expect("address"))
    );
    assert_eq!(loaded.monitoring.disk_percent_max, 80);
    assert_eq!(loaded.monitoring.cpu_percent_max, 85, "defaults stay");
    assert_eq!(loaded.monitoring.cpu_window_s, 300);
    assert_eq!(loaded.monitoring.memory_percent_max, 90);
    assert_eq!(loaded.monitoring.sample_interval_s, 10);
    loaded.validate().expect("valid");
    std::fs::write(&file, "[monitoring]\ndisk_percent = 80\n").expect("write");
    assert!(Settings::load(Some(&file)).is_err(), "unknown key refused");
}
