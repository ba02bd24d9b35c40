//! `inspay serve`.

use inspay_server::{Application, Profile};
use std::path::Path;

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn run(config: Option<&Path>) -> anyhow::Result<()> {
    let settings = super::settings(config)?;
    inspay_server::telemetry::init(&settings.log.filter, std::io::stdout);
    install_panic_hook();
    let profile = settings.profile;
    let development_key = settings.master_key.source == "development";
    let app = Application::build(settings).await?;
    let address = app.address();
    eprintln!();
    if profile == Profile::Development {
        eprintln!("  inspay — DEVELOPMENT profile");
        if app.development_certificate || development_key {
            eprintln!(
                "  ! development certificate and/or master key in use: for local use only, never in production"
            );
        }
    } else {
        eprintln!("  inspay — production profile");
    }
    eprintln!(
        "  listening on https://{}/  (try /health/ready)",
        reachable(address)
    );
    if let Some(mtls) = app.mtls_address() {
        eprintln!("  mutual-TLS listener on https://{}/", reachable(mtls));
    }
    if let Some(tlcp) = app.tlcp_address() {
        eprintln!(
            "  TLCP listener (GB/T 38636; TLS 1.3 SM per tlcp.tls13_sm) on {}",
            reachable(tlcp)
        );
    }
    if let Some(admin) = app.admin_address() {
        eprintln!("  administration listener on https://{admin}/  (/metrics, admin networks only)");
    }
    if let Some(ca) = &app.development_ca {
        eprintln!(
            "  trust the development CA: curl --cacert {} https://localhost:{}/health/ready",
            ca.display(),
            address.port()
        );
    }
    if let Some(ca) = &app.development_tlcp_ca {
        eprintln!(
            "  TLCP clients trust the development SM2 CA {}; client pairs: inspay certs issue --ca {} --role client --name <app>",
            ca.display(),
            ca.parent()
                .map_or_else(|| ".".into(), |dir| dir.display().to_string())
        );
    }
    eprintln!("  stop with Ctrl-C\n");
    let shutdown = app.shutdown_token();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested");
        shutdown.cancel();
    });
    app.run().await
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Logs panics with their location only: a panic message could hold request data.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|location| format!("{}:{}", location.file(), location.line()))
            .unwrap_or_default();
        tracing::error!(location = %location, "panic");
    }));
}

/// Where a listener can be reached: `localhost` when it listens on loopback or on every
/// interface (`0.0.0.0`, `::`), else its own address (a node bound to one interface does not
/// answer on localhost).
fn reachable(address: std::net::SocketAddr) -> String {
    if address.ip().is_unspecified() || address.ip().is_loopback() {
        format!("localhost:{}", address.port())
    } else {
        address.to_string()
    }
}
