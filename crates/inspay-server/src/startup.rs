//! Building and running the server: keys, store, TLS listeners, background jobs and graceful
//! shutdown.

use crate::config::{Profile, Settings};
use crate::edge::{self, EdgeLimits};
use crate::listener::serve;
use crate::routes::{
    captcha, customers, health, me, mobile, registration, session, sign_in, step_up, validate,
};
use crate::state::AppState;
use crate::{jobs, master_key, tls};
use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use inspay_store::audit::{AuditEvent, AuditValue, Outcome};
use inspay_store::keys::Actor;
use inspay_store::{PoolSettings, Store};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;

const STARTUP: Actor<'static> = Actor {
    actor: "system",
    request_id: "startup",
};

/// The client certificate of a mutual-TLS connection, as handlers see it.
#[derive(Debug, Clone)]
pub struct ClientCertificate {
    /// SM3 fingerprint of the DER certificate, hex.
    pub fingerprint_sm3: String,
}

/// A built server, listening, not yet serving.
pub struct Application {
    state: AppState,
    main: (TcpListener, TlsAcceptor),
    mtls: Option<(TcpListener, TlsAcceptor)>,
    admin: Option<(TcpListener, TlsAcceptor)>,
    #[cfg(feature = "tlcp")]
    tlcp: Option<(TcpListener, inspay_tlcp::TlcpAcceptor)>,
    shutdown: CancellationToken,
    /// Whether the generated development certificate is in use.
    pub development_certificate: bool,
    /// The development CA file clients can trust, if generated.
    pub development_ca: Option<std::path::PathBuf>,
    /// The development SM2 CA file TLCP clients can trust, if generated.
    pub development_tlcp_ca: Option<std::path::PathBuf>,
}

impl Application {
    /// Validates settings, loads the master key, connects and migrates the store, prepares
    /// keys, loads TLS material and binds the listeners (port 0 picks a free port).
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        settings.validate()?;
        std::fs::create_dir_all(&settings.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                settings.data_dir.display()
            )
        })?;
        let master = master_key::load(&settings)?;
        let identity = tls::server_identity(&settings)?;
        if identity.development && settings.profile == Profile::Production {
            anyhow::bail!(
                "configuration refused: the production profile refuses a development certificate (clause 5.6.2-a3)"
            );
        }
        // The TLCP listener's certificates and keys (issue 9), checked as early as the TLS
        // ones: a refused certificate stops the start before the store is touched.
        #[cfg(feature = "tlcp")]
        let tlcp_identity = match settings.tlcp.address {
            Some(_) => Some(crate::tlcp::listener_identity(&settings)?),
            None => None,
        };
        // Clause 5.4.3.5: the running binary matches the signed release manifest before the
        // store is opened or any listener binds (required in the production profile).
        crate::release_check::check_at_start(&settings)?;
        let sms = crate::sms::gateway(
            &settings.sms,
            &settings.data_dir,
            settings.profile == Profile::Production,
        )?;
        let pool = PoolSettings {
            connections_max: settings.database.connections_max,
            acquire_timeout_ms: settings.database.acquire_timeout_ms,
            connect_attempts_max: settings.database.connect_attempts_max,
            ..PoolSettings::default()
        };
        let store = open_store(&settings, &pool).await?;
        let now = inspay_store::now_ms();
        store
            .kms_initialise(&master, &settings.rotation_policy(), STARTUP, now)
            .await
            .context("key management could not start")?;
        let keyring = store
            .keyring_load(&master)
            .await
            .context("cannot load the data keys")?;
        let main_config = tls::server_config(&settings, &identity, None)?;
        let main = (
            TcpListener::bind(settings.listen.address)
                .await
                .with_context(|| format!("cannot listen on {}", settings.listen.address))?,
            TlsAcceptor::from(main_config),
        );
        let mtls = match settings.listen.mtls_address {
            Some(address) => {
                let ca_file = settings
                    .listen
                    .client_ca_file
                    .as_deref()
                    .context("listen.mtls_address needs listen.client_ca_file")?;
                let cas = tls::read_certificates(ca_file)?;
                let config = tls::server_config(&settings, &identity, Some(&cas))?;
                Some((
                    TcpListener::bind(address)
                        .await
                        .with_context(|| format!("cannot listen on {address}"))?,
                    TlsAcceptor::from(config),
                ))
            }
            None => None,
        };
        // The administration listener (clause 4-c): the main certificate, no client
        // certificate; only /metrics and /health/live ([`crate::monitoring::admin`]).
        let admin = match settings.listen.admin_address {
            Some(address) => Some((
                TcpListener::bind(address).await.with_context(|| {
                    format!("cannot listen on {address} (listen.admin_address)")
                })?,
                TlsAcceptor::from(tls::server_config(&settings, &identity, None)?),
            )),
            None => None,
        };
        // The national-cryptography listener (issue 9): TLCP and TLS 1.3 with SM suites; its
        // certificates were checked before the store was opened.
        #[cfg(feature = "tlcp")]
        let (tlcp, development_tlcp_ca) = match (settings.tlcp.address, tlcp_identity) {
            (Some(address), Some(identity)) => {
                let listener = TcpListener::bind(address)
                    .await
                    .with_context(|| format!("cannot listen on {address} (tlcp.address)"))?;
                (Some((listener, identity.acceptor)), identity.development_ca)
            }
            _ => (None, None),
        };
        #[cfg(not(feature = "tlcp"))]
        let development_tlcp_ca = None;
        store
            .audit(
                &AuditEvent {
                    actor: "system",
                    action: "server.start",
                    object: "server",
                    outcome: Outcome::Success,
                    request_id: "startup",
                    details: &[
                        ("version", AuditValue::Word(env!("CARGO_PKG_VERSION"))),
                        (
                            "profile",
                            AuditValue::Word(match settings.profile {
                                Profile::Development => "development",
                                Profile::Production => "production",
                            }),
                        ),
                    ],
                },
                now,
            )
            .await?;
        crate::notice::publish(&store, now)
            .await
            .context("cannot publish the privacy notice")?;
        let state = AppState::new(store, Arc::new(settings), Arc::new(master), keyring, sms);
        crate::payments::channel::connect(&state)
            .await
            .context("cannot set up the payment channel")?;
        // The rule packs come into force before the first request; a pack that no longer
        // verifies is left out and alerted, it does not stop the server.
        state
            .risk()
            .reload_if_changed(&state.store, &state.keyring(), state.now_ms())
            .await
            .context("cannot read the rule packs")?;
        Ok(Application {
            state,
            main,
            mtls,
            admin,
            #[cfg(feature = "tlcp")]
            tlcp,
            shutdown: CancellationToken::new(),
            development_certificate: identity.development,
            development_ca: identity.development_ca,
            development_tlcp_ca,
        })
    }

    /// The HTTPS address.
    pub fn address(&self) -> SocketAddr {
        self.main
            .0
            .local_addr()
            .unwrap_or_else(|_| self.state.settings.listen.address)
    }

    /// The mutual-TLS address, if configured.
    pub fn mtls_address(&self) -> Option<SocketAddr> {
        self.mtls
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    /// The administration listener's address (`/metrics`), if configured.
    pub fn admin_address(&self) -> Option<SocketAddr> {
        self.admin
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    /// The TLCP listener's address, if configured (always None in a build without the
    /// `tlcp` feature, which refuses `tlcp.address`).
    pub fn tlcp_address(&self) -> Option<SocketAddr> {
        #[cfg(feature = "tlcp")]
        return self
            .tlcp
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok());
        #[cfg(not(feature = "tlcp"))]
        None
    }

    /// A token that stops the server gracefully when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// The application state (tests use it to reach the store).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until the shutdown token is cancelled, then lets in-flight requests finish
    /// within the grace period.
    pub async fn run(self) -> anyhow::Result<()> {
        let Application {
            state,
            main,
            mtls,
            admin,
            #[cfg(feature = "tlcp")]
            tlcp,
            shutdown,
            ..
        } = self;
        jobs::spawn(state.clone(), shutdown.clone());
        crate::payments::worker::spawn(state.clone(), shutdown.clone());
        crate::monitoring::spawn(state.clone(), shutdown.clone());
        let router = router(state.clone());
        let limits = state.settings.limits.clone();
        // Validated at start-up, so every entry parses.
        let trusted: Arc<Vec<crate::defence::Network>> = Arc::new(
            state
                .settings
                .protection
                .trusted_proxies
                .iter()
                .filter_map(|network| crate::defence::Network::parse(network))
                .collect(),
        );
        let mut tasks = vec![tokio::spawn(serve(
            main.0,
            main.1,
            router.clone(),
            limits.clone(),
            trusted.clone(),
            shutdown.clone(),
        ))];
        if let Some((listener, acceptor)) = admin {
            tasks.push(tokio::spawn(serve(
                listener,
                acceptor,
                crate::monitoring::admin::router(state.clone()),
                limits.clone(),
                trusted.clone(),
                shutdown.clone(),
            )));
        }
        #[cfg(feature = "tlcp")]
        if let Some((listener, acceptor)) = tlcp {
            tasks.push(tokio::spawn(serve(
                listener,
                acceptor,
                router.clone(),
                limits.clone(),
                trusted.clone(),
                shutdown.clone(),
            )));
        }
        if let Some((listener, acceptor)) = mtls {
            tasks.push(tokio::spawn(serve(
                listener,
                acceptor,
                router,
                limits,
                trusted,
                shutdown.clone(),
            )));
        }
        for task in tasks {
            task.await.context("listener task failed")?;
        }
        state.store.close().await;
        tracing::info!("server stopped");
        Ok(())
    }
}

/// The router with every route and the edge layers: the API and the web client's pages. The
/// web client calls the API through a second copy of the same router without the pages
/// ([`crate::web::api`]), so its calls pass every check an outside client's do.
pub fn router(state: AppState) -> Router {
    let api = assemble(state.clone(), None);
    let web = crate::web::routes(crate::web::api::WebApi::new(api));
    assemble(state, Some(web))
}

/// The API's routes, each declared in [`crate::routes::SPECS`].
fn api_routes() -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .merge(crate::routes::protocol_keys::router())
        .merge(crate::routes::openapi::router())
        .merge(crate::routes::field_nonce::router())
        .merge(validate::router())
        .merge(captcha::router())
        .merge(sign_in::router())
        .merge(session::router())
        .merge(step_up::router())
        .merge(registration::router())
        .merge(me::router())
        .merge(mobile::router())
        .merge(crate::routes::my_sessions::router())
        .merge(customers::router())
        .merge(crate::routes::policies::router())
        .merge(crate::routes::statements::router())
        .merge(crate::routes::claims::router())
        .merge(crate::routes::claim_review::router())
        .merge(crate::routes::risk_review::router())
        .merge(crate::routes::security_console::router())
        .merge(crate::routes::containment::router())
        .merge(crate::routes::finance_console::router())
        .merge(crate::routes::people_console::router())
        .merge(crate::routes::risk_console::router())
}

/// The API routes behind their checks (declaration, signature, administration networks), the
/// web pages if given (they have their own checks, [`crate::web`]), and the edge layers.
fn assemble(state: AppState, web: Option<Router<AppState>>) -> Router {
    let limits = EdgeLimits {
        body_bytes_max: state.settings.limits.body_bytes_max,
        request_timeout: Duration::from_millis(state.settings.limits.request_timeout_ms),
        headers_count_max: state.settings.limits.headers_count_max,
    };
    let mut routes = api_routes()
        .route_layer(from_fn_with_state(state.clone(), crate::auth::authorize))
        .route_layer(from_fn_with_state(
            state.clone(),
            crate::protocol::verify_request,
        ))
        .route_layer(from_fn_with_state(
            state.clone(),
            crate::defence::admin_guard,
        ));
    if let Some(web) = web {
        routes = routes.merge(web);
    }
    routes
        .fallback(edge::not_found)
        .method_not_allowed_fallback(edge::method_not_allowed)
        .layer(DefaultBodyLimit::max(limits.body_bytes_max))
        .layer(from_fn_with_state(limits, edge::limits))
        .layer(CatchPanicLayer::custom(edge::panic_response))
        .layer(from_fn_with_state(state.clone(), crate::defence::guard))
        .layer(from_fn_with_state(
            state.clone(),
            crate::protocol::sign_unsigned,
        ))
        .layer(from_fn_with_state(
            state.clone(),
            crate::monitoring::observe,
        ))
        .layer(from_fn(edge::request_context))
        .with_state(state)
}

/// Opens the store: migrates it when `database.migrate_on_start` says so; otherwise only
/// checks the schema is at this build's last migration. In the production profile on
/// PostgreSQL, refuses a role with more than a runtime role's rights (clause 5.3.1.1): one
/// that owns the tables could drop the triggers that keep the audit log append-only.
pub async fn open_store(settings: &Settings, pool: &PoolSettings) -> anyhow::Result<Store> {
    let url = settings.database_url();
    let opened = if settings.database.migrate_on_start {
        Store::connect(&url, pool).await
    } else {
        Store::open(&url, pool).await
    };
    let store = opened
        .context("cannot open the database; check database_url and that the database is running")?;
    if !settings.database.migrate_on_start {
        store.require_current_schema().await.context(
            "refusing to start: database.migrate_on_start is false and the schema is not current",
        )?;
    }
    if settings.profile == Profile::Production {
        let excess = store
            .excess_privileges()
            .await
            .context("cannot read the database role's privileges")?;
        if !excess.is_empty() {
            let found: Vec<String> = excess.into_iter().map(|excess| excess.0).collect();
            anyhow::bail!(
                "configuration refused: database_url: the production profile connects as a runtime \
                 role without DDL rights, but {}; connect as a separate LOGIN role and grant it \
                 its rights with the owner's role: inspay db grant-runtime <role> --database-url \
                 <owner URL> (clause 5.3.1.1)",
                found.join("; ")
            );
        }
    }
    Ok(store)
}
