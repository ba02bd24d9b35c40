//! TLS between the store and PostgreSQL (clause 5.6.2-a): the store connects, migrates and
//! works over a verified TLS session, the database confirms the session is encrypted, and a
//! server certificate that does not chain to the configured root is refused at once with an
//! error that says what to check. PostgreSQL only (`INSPAY_TEST_POSTGRES_URL`); SQLite is a
//! local file with nothing to encrypt in transit.
//!
//! The root certificate is `INSPAY_TEST_POSTGRES_CA` if set, otherwise the server's own
//! certificate file (`SHOW ssl_cert_file`): a test server's certificate is self-signed (Debian's
//! snakeoil certificate, issued to `localhost`).

use inspay_store::{ConnectionSecurity, PoolSettings, Store, StoreError};
use sqlx::{Connection, Row};
use std::time::{Duration, Instant};

/// A root certificate that signed nothing the test server presents.
const UNRELATED_CA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/store/data/unrelated-ca.pem"
);

/// The base URL, the server's TLS root and a fresh database's name, or why TLS cannot be tested
/// here (printed, and the test returns).
async fn tls_server() -> Option<(String, String, String)> {
    let Ok(base) = std::env::var("INSPAY_TEST_POSTGRES_URL") else {
        println!("SKIP: INSPAY_TEST_POSTGRES_URL is not set (TLS applies to PostgreSQL only)");
        return None;
    };
    let mut admin = sqlx::PgConnection::connect(&base)
        .await
        .expect("INSPAY_TEST_POSTGRES_URL is set but PostgreSQL is unreachable");
    let ssl: String = sqlx::query("SHOW ssl")
        .fetch_one(&mut admin)
        .await
        .expect("show ssl")
        .get(0);
    if ssl != "on" {
        println!("SKIP: the PostgreSQL server under test has ssl = {ssl}; TLS cannot be tested");
        return None;
    }
    let root = match std::env::var("INSPAY_TEST_POSTGRES_CA") {
        Ok(root) => root,
        Err(_) => sqlx::query("SHOW ssl_cert_file")
            .fetch_one(&mut admin)
            .await
            .expect("show ssl_cert_file")
            .get(0),
    };
    assert!(
        std::path::Path::new(&root).is_file(),
        "the server's certificate {root} is not readable here: set INSPAY_TEST_POSTGRES_CA to the CA file"
    );
    let name = format!("inspay_tls_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create test database");
    Some((base, root, name))
}

/// `base` with its database replaced by `name`, its host by `host` when given, and `query`.
fn url_for(base: &str, host: Option<&str>, name: &str, query: &str) -> String {
    let (server, _) = base
        .split('?')
        .next()
        .and_then(|without_query| without_query.rsplit_once('/'))
        .expect("INSPAY_TEST_POSTGRES_URL must end in /DATABASE");
    let server = match host {
        Some(host) => {
            let (user, address) = server.rsplit_once('@').expect("URL with user@host");
            let port = address.rsplit_once(':').map_or("5432", |(_, port)| port);
            format!("{user}@{host}:{port}")
        }
        None => server.to_string(),
    };
    format!("{server}/{name}?{query}")
}

fn quick() -> PoolSettings {
    PoolSettings {
        connections_max: 2,
        ..PoolSettings::default()
    }
}

/// The store migrates and works over TLS that verifies the server's certificate (verify-ca
/// with an explicit root, and verify-full by the name in the certificate), and PostgreSQL
/// reports the session as encrypted.
/// req: 5.6.2-a1, 5.6.2-b1, 5.6.2-b3
#[tokio::test]
async fn the_store_talks_to_postgres_over_verified_tls() {
    let Some((base, root, name)) = tls_server().await else {
        return;
    };
    let verify_ca = url_for(
        &base,
        None,
        &name,
        &format!("sslmode=verify-ca&sslrootcert={root}"),
    );
    let store = Store::connect(&verify_ca, &quick())
        .await
        .expect("connect and migrate over TLS");
    store.require_current_schema().await.expect("migrated");
    let encrypted: bool = sqlx::query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(store.pool())
        .await
        .expect("pg_stat_ssl")
        .get(0);
    assert!(encrypted, "the session is not encrypted");
    match store.connection_security().await.expect("security") {
        ConnectionSecurity::Encrypted { tls_version } => {
            assert!(tls_version.starts_with("TLSv1."), "{tls_version}")
        }
        other => panic!("expected an encrypted session, got {other:?}"),
    }
    store.close().await;

    // verify-full: the certificate is issued to `localhost`, so the URL names that host.
    let verify_full = url_for(
        &base,
        Some("localhost"),
        &name,
        &format!("sslmode=verify-full&sslrootcert={root}"),
    );
    let store = Store::open(&verify_full, &quick())
        .await
        .expect("connect with verify-full");
    assert!(matches!(
        store.connection_security().await.expect("security"),
        ConnectionSecurity::Encrypted { .. }
    ));
    store.close().await;

    // Without TLS (sslmode=disable) over loopback the link is reported as local, not encrypted.
    let plain = url_for(&base, None, &name, "sslmode=disable");
    let store = Store::open(&plain, &quick()).await.expect("plain");
    assert!(
        matches!(
            store.connection_security().await.expect("security"),
            ConnectionSecurity::LocalUnencrypted { .. }
        ),
        "a loopback session without TLS is local"
    );
    store.close().await;
}

/// A server certificate that does not chain to the configured root is refused at once (no
/// retries: it would not verify on the next attempt either), with an error that names what to
/// check; so is a certificate whose name is not the host in the URL.
/// req: 5.6.2-a1, 5.6.2-a2
#[tokio::test]
async fn a_certificate_from_the_wrong_root_is_refused() {
    let Some((base, root, name)) = tls_server().await else {
        return;
    };
    let settings = PoolSettings {
        connect_attempts_max: 8,
        ..quick()
    };
    for (host, query) in [
        (
            None,
            format!("sslmode=verify-ca&sslrootcert={UNRELATED_CA}"),
        ),
        (
            Some("localhost"),
            format!("sslmode=verify-full&sslrootcert={UNRELATED_CA}"),
        ),
        // The right root, but the certificate is issued to localhost, not 127.0.0.1.
        (
            Some("127.0.0.1"),
            format!("sslmode=verify-full&sslrootcert={root}"),
        ),
    ] {
        let url = url_for(&base, host, &name, &query);
        let started = Instant::now();
        let error = Store::open(&url, &settings)
            .await
            .expect_err("a certificate that does not verify is refused");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "refused only after {:?}: retried a permanent TLS failure",
            started.elapsed()
        );
        assert!(matches!(error, StoreError::DatabaseTls(_)), "{error:?}");
        let message = error.to_string();
        assert!(
            message.contains("TLS") && message.contains("sslrootcert"),
            "{message}"
        );
        assert!(message.contains("certificate"), "{message}");
    }
}
