//! Least privilege in the database (clause 5.3.1.1): the schema owner migrates and grants; the
//! runtime role works the rows (a premium payment with its ledger transfer, audit entries) but
//! can neither change the schema nor drop the audit log's triggers nor rewrite or delete audit
//! rows. A process that must not migrate refuses a schema that is not current. The grant list
//! is checked against the schema and against every statement in the sources.

use crate::support::TestStore;
use crate::support::funds::{apply_on, assert_sound, begin, fixture, settle};
use inspay_core::funds::ChannelOutcome;
use inspay_core::policy::PaymentFrequency;
use inspay_store::audit::{AuditEvent, Outcome};
use inspay_store::privileges::RUNTIME_GRANTS;
use inspay_store::{PoolSettings, Store, StoreError};
use sqlx::Connection;
use time::macros::date;

fn quick() -> PoolSettings {
    PoolSettings {
        connections_max: 2,
        connect_attempts_max: 2,
        ..PoolSettings::default()
    }
}

/// A process that must not migrate refuses an empty or outdated schema with what to run, and
/// accepts it once migrated; `migrate` on a current schema changes nothing.
/// req: 5.3.1.1
#[tokio::test]
async fn a_schema_that_is_not_current_is_refused_without_migrating() {
    let mut urls = vec![];
    let dir = tempfile::tempdir().expect("dir");
    urls.push(format!(
        "sqlite://{}/inspay.db?mode=rwc",
        dir.path().display()
    ));
    if let Some(url) = fresh_postgres_database(None).await {
        urls.push(url);
    }
    for url in urls {
        let store = Store::open(&url, &quick()).await.expect("open");
        let status = store.schema_status().await.expect("status");
        assert_eq!(status.applied_version_max, 0, "{url}");
        assert_eq!(status.latest_version, inspay_store::latest_migration());
        let error = store
            .require_current_schema()
            .await
            .expect_err("an empty schema is refused");
        assert!(
            matches!(error, StoreError::SchemaNotCurrent { applied: 0, .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("inspay db migrate"), "{error}");
        assert!(store.schema_tables().await.expect("tables").is_empty());
        let applied = store.migrate().await.expect("migrate");
        assert_eq!(
            i64::try_from(applied).expect("count"),
            inspay_store::latest_migration()
        );
        store.require_current_schema().await.expect("current");
        assert_eq!(store.migrate().await.expect("again"), 0);
        store.close().await;
    }
}

/// Every table of the schema has a runtime grant and every grant names a table; on SQLite,
/// which has no roles, granting is refused with the reason and nothing counts as excess.
/// req: 5.3.1.1
#[tokio::test]
async fn every_table_has_exactly_one_runtime_grant() {
    let granted: Vec<&str> = RUNTIME_GRANTS.iter().map(|(table, _)| *table).collect();
    for test in crate::support::stores().await {
        let tables = test.store.schema_tables().await.expect("tables");
        assert_eq!(
            tables, granted,
            "{}: schema tables vs RUNTIME_GRANTS",
            test.label
        );
        if test.label == "sqlite" {
            let error = test
                .store
                .grant_runtime("inspay_app")
                .await
                .expect_err("no roles on SQLite");
            assert!(
                error.to_string().contains("operating system user"),
                "{error}"
            );
            assert!(
                test.store
                    .excess_privileges()
                    .await
                    .expect("excess")
                    .is_empty()
            );
        }
    }
}

/// The grant list covers what the code does: every `UPDATE`, `DELETE`, `INSERT` and upsert
/// in every crate's sources has its right, and the append-only tables are never updated or
/// deleted from. (A statement built from pieces at run time would escape this scan; the
/// PostgreSQL test below runs real operations as the runtime role.)
/// req: 5.3.1.1
#[test]
fn the_grant_list_covers_every_statement_in_the_sources() {
    let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crates dir")
        .to_path_buf();
    let mut files = vec![];
    collect_sources(&crates, &mut files);
    assert!(files.len() > 50, "found only {} source files", files.len());
    let mut missing = vec![];
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read source");
        let flat = text
            .to_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for (verb, table) in statements(&flat) {
            let Some((_, rights)) = RUNTIME_GRANTS.iter().find(|(name, _)| *name == table) else {
                continue;
            };
            let allowed = match verb {
                "insert" => rights.insert,
                "update" => rights.update,
                "delete" => rights.delete,
                _ => unreachable!(),
            };
            if !allowed {
                missing.push(format!("{verb} {table} in {}", file.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "statements without a grant: {missing:#?}"
    );
}

fn collect_sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            // Sources only: tests may do what the runtime role must not (that is what they
            // prove), and migrations are the owner's.
            if !matches!(
                name,
                "tests" | "target" | "migrations" | "benches" | "examples"
            ) {
                collect_sources(&path, out);
            }
        } else if name.ends_with(".rs")
            && path.to_string_lossy().contains("/src/")
            // The migrator runs as the schema owner (`inspay db migrate`), never as the
            // runtime role.
            && !path.ends_with("inspay-store/src/migrate.rs")
        {
            out.push(path);
        }
    }
}

/// The (verb, table) pairs of the statements in whitespace-flattened, lower-case source.
fn statements(flat: &str) -> Vec<(&'static str, String)> {
    let mut out = vec![];
    let word_after = |rest: &str| -> String {
        rest.chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit())
            .collect()
    };
    for (pattern, verb) in [
        ("insert into ", "insert"),
        ("delete from ", "delete"),
        ("update ", "update"),
    ] {
        for (index, _) in flat.match_indices(pattern) {
            let rest = &flat[index + pattern.len()..];
            let table = word_after(rest);
            if verb == "update" && !rest[table.len()..].trim_start().starts_with("set ") {
                continue; // "for update", "do update set", prose
            }
            if verb == "insert" {
                // An upsert needs UPDATE as well.
                let statement: String = rest.chars().take(1200).collect();
                let statement = statement.split(['"', ';']).next().unwrap_or("");
                if statement.contains("do update") {
                    out.push(("update", table.clone()));
                }
            }
            out.push((verb, table));
        }
    }
    out
}

/// On PostgreSQL: the owner migrates and grants a new LOGIN role its runtime rights; as that
/// role the store checks the schema, pays a premium (policy, payment, ledger transfer) and
/// appends to the audit log; the role holds nothing in excess; and DROP TRIGGER, ALTER TABLE,
/// TRUNCATE, CREATE and UPDATE or DELETE of audit rows all fail for it.
/// req: 5.3.1.1, 5.4.4.2
#[tokio::test]
async fn the_runtime_role_works_rows_but_cannot_touch_the_schema_or_the_audit_log() {
    let Ok(base) = std::env::var("INSPAY_TEST_POSTGRES_URL") else {
        println!("SKIP: INSPAY_TEST_POSTGRES_URL is not set (roles exist on PostgreSQL only)");
        return;
    };
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let owner = format!("inspay_owner_{}", &suffix[..12]);
    let runtime = format!("inspay_run_{}", &suffix[..12]);
    let mut admin = sqlx::PgConnection::connect(&base).await.expect("admin");
    for role in [&owner, &runtime] {
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE ROLE {role} LOGIN")))
            .execute(&mut admin)
            .await
            .expect("create role");
    }
    let owner_url = fresh_postgres_database(Some(&owner))
        .await
        .expect("database");
    let owner_store = Store::open(&owner_url, &quick()).await.expect("owner");
    owner_store.migrate().await.expect("owner migrates");
    let excess = owner_store.excess_privileges().await.expect("owner excess");
    assert!(
        excess.iter().any(|e| e.0.contains("owns"))
            && excess.iter().any(|e| e.0.contains("CREATE")),
        "the owner is reported as holding more than a runtime role: {excess:?}"
    );
    // The owner cannot hand itself out as the runtime role, nor a role with odd characters.
    assert!(owner_store.grant_runtime(&owner).await.is_err());
    assert!(
        owner_store
            .grant_runtime("x\"; drop table audit_log; --")
            .await
            .is_err()
    );
    owner_store.grant_runtime(&runtime).await.expect("grant");

    let runtime_url = with_user(&owner_url, &runtime);
    let store = Store::open(&runtime_url, &quick())
        .await
        .expect("runtime connects");
    store
        .require_current_schema()
        .await
        .expect("schema current");
    assert_eq!(store.migrate().await.expect("nothing to migrate"), 0);
    assert_eq!(
        store.excess_privileges().await.expect("excess"),
        vec![],
        "the runtime role holds no more than its rights"
    );

    // A premium payment end to end as the runtime role: keys, account, product, policy,
    // payment, settlement with its ledger transfer, each audited.
    let test = TestStore {
        label: "postgres-runtime",
        store: store.clone(),
        url: runtime_url.clone(),
        _dir: None,
    };
    let f = fixture(&test, PaymentFrequency::Single, 12).await;
    let policy = apply_on(&store, &f, date!(2027 - 01 - 01)).await;
    let payment = begin(&store, &f, &policy.id, 1).await.expect("begin");
    settle(&store, &f, &payment.id, ChannelOutcome::Succeeded).await;
    assert_sound(&store, &f.keyring, "runtime role").await;
    let seq = store
        .audit(
            &AuditEvent {
                actor: "system",
                action: "test.runtime-append",
                object: "database",
                outcome: Outcome::Success,
                request_id: "privileges-test",
                details: &[],
            },
            crate::support::funds::NOW_MS,
        )
        .await
        .expect("the runtime role appends to the audit log");
    assert!(seq > 1);
    let report = store.audit_verify(None, |_| {}).await.expect("verify");
    assert!(report.is_intact(), "{:?}", report.problems);

    // What it must not do.
    let mut connection = sqlx::PgConnection::connect(&runtime_url)
        .await
        .expect("runtime connection");
    for (statement, expected) in [
        (
            "DROP TRIGGER audit_log_no_change ON audit_log",
            "must be owner",
        ),
        (
            "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change",
            "must be owner",
        ),
        (
            "ALTER TABLE audit_log ADD COLUMN note TEXT",
            "must be owner",
        ),
        ("DROP TABLE audit_log", "must be owner"),
        (
            "DROP FUNCTION audit_log_append_only() CASCADE",
            "must be owner",
        ),
        ("TRUNCATE audit_log", "permission denied"),
        (
            "UPDATE audit_log SET actor = 'someone-else'",
            "permission denied",
        ),
        ("DELETE FROM audit_log", "permission denied"),
        (
            "UPDATE ledger_entries SET amount_fen = 0",
            "permission denied",
        ),
        ("DELETE FROM security_events", "permission denied"),
        ("CREATE TABLE shadow (x INT)", "permission denied"),
    ] {
        let error = sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&mut connection)
            .await
            .expect_err(statement);
        let message = error.to_string();
        assert!(
            message.contains(expected),
            "{statement}: expected '{expected}', got {message}"
        );
    }
    let entries: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
        .fetch_one(&mut connection)
        .await
        .expect("count");
    assert!(entries >= seq, "audit rows are still there");
    connection.close().await.expect("close");
    store.close().await;
    owner_store.close().await;
}

/// `url` with its user replaced.
fn with_user(url: &str, user: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("scheme");
    let (_, host) = rest.split_once('@').expect("user@host");
    format!("{scheme}://{user}@{host}")
}

/// A new, empty PostgreSQL database (owned by `owner` if given), or None without
/// `INSPAY_TEST_POSTGRES_URL`. Returns its URL, as `owner` if given.
async fn fresh_postgres_database(owner: Option<&str>) -> Option<String> {
    let base = std::env::var("INSPAY_TEST_POSTGRES_URL").ok()?;
    let name = format!("inspay_priv_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&base).await.expect("admin");
    let statement = match owner {
        Some(owner) => format!("CREATE DATABASE {name} OWNER {owner}"),
        None => format!("CREATE DATABASE {name}"),
    };
    sqlx::query(sqlx::AssertSqlSafe(statement))
        .execute(&mut admin)
        .await
        .expect("create database");
    let (server, _) = base.rsplit_once('/').expect("URL ends in /DATABASE");
    let url = format!("{server}/{name}");
    Some(match owner {
        Some(owner) => with_user(&url, owner),
        None => url,
    })
}
