//! An acknowledged write survives a crash: a child process commits rows and reports each
//! commit, is killed with SIGKILL mid-stream, and every reported row is then found.

use inspay_store::audit::{AuditEvent, Outcome};
use inspay_store::{PoolSettings, Store};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const CHILD_ENV: &str = "INSPAY_DURABILITY_CHILD_URL";

/// The writer half: runs only when the parent test starts this binary as a child.
#[tokio::test]
async fn durability_child_writer() {
    let Ok(url) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = Store::connect(&url, &PoolSettings::default())
        .await
        .expect("connect");
    for index in 0..100_000i64 {
        store
            .audit(
                &AuditEvent {
                    actor: "system",
                    action: "durability.write",
                    object: "test",
                    outcome: Outcome::Success,
                    request_id: "durability",
                    details: &[],
                },
                index,
            )
            .await
            .expect("write");
        println!("ACK {}", index + 1);
    }
}

/// SQLite runs in WAL mode with synchronous=FULL and keeps its temporary data (statement
/// journals) in memory rather than in files, and rows whose commit was acknowledged are all
/// present after the writing process is killed without warning.
/// req: 5.3.4
#[tokio::test]
async fn acknowledged_writes_survive_a_kill() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}/inspay.db?mode=rwc", dir.path().display());
    let mut child = Command::new(std::env::current_exe().expect("exe"))
        .args([
            "--exact",
            "durability::durability_child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("child");
    let stdout = child.stdout.take().expect("stdout");
    let mut acknowledged = 0i64;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some(count) = line.strip_prefix("ACK ") {
            acknowledged = count.parse().expect("count");
            if acknowledged >= 200 {
                break;
            }
        }
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    assert!(acknowledged >= 200, "child wrote {acknowledged}");

    let store = Store::connect(&url, &PoolSettings::default())
        .await
        .expect("reopen");
    let mut connection = store.pool().acquire().await.expect("connection");
    let mode: String = pragma(&mut connection, "journal_mode").await;
    let sync: i64 = pragma(&mut connection, "synchronous").await;
    let temp_store: i64 = pragma(&mut connection, "temp_store").await;
    assert_eq!(
        (mode.as_str(), sync, temp_store),
        ("wal", 2, 2),
        "WAL with synchronous=FULL, temporary data in memory"
    );
    drop(connection);
    let stored = store.audit_len().await.expect("count");
    assert!(
        stored >= acknowledged,
        "{stored} rows stored, {acknowledged} acknowledged"
    );
    let report = store.audit_verify(None, |_| {}).await.expect("verify");
    assert!(report.is_intact(), "{:?}", report.problems);
}

/// The value of a SQLite pragma on this connection.
async fn pragma<T>(connection: &mut sqlx::AnyConnection, name: &str) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA {name}")))
        .fetch_one(&mut *connection)
        .await
        .expect(name);
    sqlx::Row::try_get(&row, 0).expect(name)
}
