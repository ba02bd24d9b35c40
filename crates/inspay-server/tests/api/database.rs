//! The server's database boundary: it starts without migrating only on a current schema; in
//! production it refuses a role with DDL rights (clause 5.3.1.1) and a remote PostgreSQL
//! without verified TLS (clause 5.6.2-a).

use crate::helpers::{postgres_database, test_settings};
use inspay_server::config::Profile;
use inspay_server::{Application, Settings};
use inspay_store::{PoolSettings, Store};
use sqlx::Connection;

/// With `database.migrate_on_start = false` the server refuses an unmigrated database, saying
/// what to run, and starts once the operator has migrated it.
/// req: 5.3.1.1
#[tokio::test]
async fn without_migrating_the_server_needs_a_current_schema() {
    let dir = tempfile::tempdir().expect("dir");
    let mut urls = vec![format!(
        "sqlite://{}/inspay.db?mode=rwc",
        dir.path().display()
    )];
    if let Some(url) = postgres_database().await {
        urls.push(url);
    }
    for url in urls {
        let data = tempfile::tempdir().expect("data dir");
        let mut settings = test_settings(data.path(), &url);
        settings.database.migrate_on_start = false;
        let error = match Application::build(settings.clone()).await {
            Ok(_) => panic!("{url}: started on an empty schema"),
            Err(error) => format!("{error:#}"),
        };
        assert!(
            error.contains("schema is not current") && error.contains("inspay db migrate"),
            "{error}"
        );
        let owner = Store::connect(&url, &PoolSettings::default())
            .await
            .expect("the operator migrates");
        owner.close().await;
        let app = Application::build(settings)
            .await
            .expect("starts on a current schema");
        app.state().store.close().await;
    }
}

fn production(url: &str) -> Settings {
    let mut settings = Settings {
        profile: Profile::Production,
        database_url: url.to_string(),
        ..Settings::default()
    };
    settings.master_key.source = "file".into();
    settings.master_key.file = Some("/etc/inspay/master.key".into());
    settings.tls.certificate_file = Some("/etc/inspay/tls/server-chain.pem".into());
    settings.tls.private_key_file = Some("/etc/inspay/tls/server-key.pem".into());
    settings.database.migrate_on_start = false;
    settings
}

/// The production profile refuses a PostgreSQL server on another host unless the URL asks for
/// TLS that verifies the certificate and its name, and refuses migrating at start on
/// PostgreSQL; a loopback database and a verified remote one pass.
/// req: 5.6.2-a1, 5.6.2-b3, 4-c, 5.3.1.1
#[test]
fn production_refuses_an_unverified_remote_database() {
    for url in [
        "postgres://inspay_app@10.30.0.10:5432/inspay",
        "postgres://inspay_app@db.internal:5432/inspay?sslmode=require",
        "postgres://inspay_app@db.internal:5432/inspay?sslmode=verify-ca&sslrootcert=/etc/inspay/tls/database-ca.pem",
    ] {
        let error = production(url).validate().expect_err(url).to_string();
        assert!(
            error.contains("database_url")
                && error.contains("sslmode=verify-full")
                && error.contains("5.6.2-a1"),
            "{error}"
        );
    }
    for url in [
        "postgres://inspay_app@db.internal:5432/inspay?sslmode=verify-full&sslrootcert=/etc/inspay/tls/database-ca.pem",
        "postgres://inspay_app@127.0.0.1:5432/inspay",
        "postgres://inspay_app@%2Frun%2Fpostgresql/inspay",
    ] {
        production(url).validate().expect(url);
    }
    let mut migrating = production("postgres://inspay_app@127.0.0.1:5432/inspay");
    migrating.database.migrate_on_start = true;
    let error = migrating
        .validate()
        .expect_err("migrate at start")
        .to_string();
    assert!(
        error.contains("database.migrate_on_start") && error.contains("5.3.1.1"),
        "{error}"
    );
}

/// In production the server refuses a database role that owns the schema (here a superuser),
/// naming what to do, and accepts a runtime role granted with `grant_runtime`.
/// req: 5.3.1.1
#[tokio::test]
async fn production_refuses_a_role_that_could_drop_the_audit_triggers() {
    let Some(url) = postgres_database().await else {
        println!("SKIP: INSPAY_TEST_POSTGRES_URL is not set (roles exist on PostgreSQL only)");
        return;
    };
    let owner = Store::connect(&url, &PoolSettings::default())
        .await
        .expect("migrate as the owner");
    let pool = PoolSettings {
        connections_max: 2,
        connect_attempts_max: 2,
        ..PoolSettings::default()
    };
    let error = match inspay_server::startup::open_store(&production(&url), &pool).await {
        Ok(_) => panic!("production started as the schema owner"),
        Err(error) => format!("{error:#}"),
    };
    assert!(
        error.contains("owns")
            && error.contains("CREATE")
            && error.contains("inspay db grant-runtime")
            && error.contains("5.3.1.1"),
        "{error}"
    );

    let role = format!(
        "inspay_srv_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let base = std::env::var("INSPAY_TEST_POSTGRES_URL").expect("url");
    let mut admin = sqlx::PgConnection::connect(&base).await.expect("admin");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE ROLE {role} LOGIN")))
        .execute(&mut admin)
        .await
        .expect("create role");
    owner.grant_runtime(&role).await.expect("grant");
    let (scheme, rest) = url.split_once("://").expect("scheme");
    let (_, host) = rest.split_once('@').expect("user@host");
    let runtime_url = format!("{scheme}://{role}@{host}");
    let store = inspay_server::startup::open_store(&production(&runtime_url), &pool)
        .await
        .expect("the runtime role is accepted");
    store.close().await;
    owner.close().await;
}

/// The shipped production example connects over verified TLS and does not migrate at start:
/// the profile accepts it as written.
/// req: 4-c, 5.6.2-a1, 5.3.1.1
#[test]
fn the_production_example_uses_verified_tls_and_no_migrations() {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/inspay.production.toml"
    );
    let settings = Settings::load(Some(std::path::Path::new(file))).expect("example loads");
    assert_eq!(settings.profile, Profile::Production);
    assert!(!settings.database.migrate_on_start);
    assert!(
        settings.database_url.contains("sslmode=verify-full"),
        "{}",
        settings.database_url
    );
    settings
        .validate()
        .expect("the production example is accepted");
}
