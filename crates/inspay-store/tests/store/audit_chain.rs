//! The audit chain against direct tampering in the database, on every configured backend.

use crate::support::{TestStore, initialised, stores};
use inspay_store::Store;
use inspay_store::audit::{AuditEvent, AuditValue, Outcome};

async fn write_entries(store: &Store, count: i64) {
    for index in 0..count {
        store
            .audit(
                &AuditEvent {
                    actor: "operator:test",
                    action: "test.event",
                    object: &format!("object:{index}"),
                    outcome: Outcome::Success,
                    request_id: &format!("req-{index}"),
                    details: &[("index", AuditValue::Number(index))],
                },
                5_000_000 + index,
            )
            .await
            .expect("append");
    }
}

/// Removes the append-only triggers, as an attacker with full database rights would.
async fn drop_guards(test: &TestStore) {
    let statements: &[&str] = match test.label {
        "sqlite" => &[
            "DROP TRIGGER audit_log_no_update",
            "DROP TRIGGER audit_log_no_delete",
        ],
        _ => &["DROP TRIGGER audit_log_no_change ON audit_log"],
    };
    for statement in statements {
        sqlx::query(sqlx::AssertSqlSafe(*statement))
            .execute(test.store.pool())
            .await
            .expect("drop trigger");
    }
}

async fn fresh_chain(test: &TestStore) {
    let master = initialised(test).await;
    let ring = test.store.keyring_load(&master).await.expect("ring");
    write_entries(&test.store, 20).await;
    test.store
        .audit_checkpoint(&ring, 6_000_000)
        .await
        .expect("checkpoint");
    let report = test.store.audit_verify(None, |_| {}).await.expect("verify");
    assert!(report.is_intact(), "{}: {:?}", test.label, report.problems);
    assert!(report.checkpoints >= 1);
    drop_guards(test).await;
}

async fn problems(test: &TestStore) -> Vec<(i64, String)> {
    let report = test.store.audit_verify(None, |_| {}).await.expect("verify");
    assert!(
        !report.is_intact(),
        "{}: tampering not detected",
        test.label
    );
    report.problems
}

/// The database itself refuses to update or delete audit entries.
/// req: 5.4.4.2
#[tokio::test]
async fn database_refuses_changes_to_the_audit_log() {
    for test in stores().await {
        initialised(&test).await;
        write_entries(&test.store, 2).await;
        for statement in [
            "UPDATE audit_log SET actor = 'x' WHERE seq = 1",
            "DELETE FROM audit_log WHERE seq = 1",
        ] {
            let result = sqlx::query(statement).execute(test.store.pool()).await;
            assert!(result.is_err(), "{}: {statement} was allowed", test.label);
        }
    }
}

/// A modified entry is caught.
/// req: 5.4.4.2
#[tokio::test]
async fn modified_entry_is_detected() {
    for test in stores().await {
        fresh_chain(&test).await;
        sqlx::query("UPDATE audit_log SET outcome = 'denied' WHERE seq = 10")
            .execute(test.store.pool())
            .await
            .expect("tamper");
        let found = problems(&test).await;
        assert!(
            found
                .iter()
                .any(|(seq, what)| *seq == 10 && what.contains("modified")),
            "{found:?}"
        );
    }
}

/// A deleted entry is caught, in the middle and at the end of the chain.
/// req: 5.4.4.2
#[tokio::test]
async fn deleted_entry_is_detected() {
    for test in stores().await {
        fresh_chain(&test).await;
        sqlx::query("DELETE FROM audit_log WHERE seq = 7")
            .execute(test.store.pool())
            .await
            .expect("tamper");
        let found = problems(&test).await;
        assert!(
            found.iter().any(|(_, what)| what.contains("missing")),
            "{found:?}"
        );

        let max: i64 = sqlx::Row::try_get(
            &sqlx::query("SELECT MAX(seq) FROM audit_log")
                .fetch_one(test.store.pool())
                .await
                .expect("max"),
            0,
        )
        .expect("max");
        sqlx::query("DELETE FROM audit_log WHERE seq = $1")
            .bind(max)
            .execute(test.store.pool())
            .await
            .expect("tamper tail");
        let found = problems(&test).await;
        assert!(
            found.iter().any(|(_, what)| what.contains("head")),
            "{found:?}"
        );
    }
}

/// An inserted entry (a forged entry given a free sequence number and a correct-looking
/// hash of its own) is caught, because the next entry no longer follows it.
/// req: 5.4.4.2
#[tokio::test]
async fn inserted_entry_is_detected() {
    for test in stores().await {
        fresh_chain(&test).await;
        // Make room at seq 8 by moving 8.. up by one, then forge entry 8.
        sqlx::query("UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 8")
            .execute(test.store.pool())
            .await
            .expect("shift");
        sqlx::query("UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1008")
            .execute(test.store.pool())
            .await
            .expect("shift back");
        let prev: String = sqlx::Row::try_get(
            &sqlx::query("SELECT hash FROM audit_log WHERE seq = 7")
                .fetch_one(test.store.pool())
                .await
                .expect("prev"),
            0,
        )
        .expect("hash");
        let mut forged = inspay_store::audit::AuditEntry {
            seq: 8,
            at_ms: 5_000_007,
            actor: "operator:mallory".into(),
            action: "key.export".into(),
            object: "key:field-encryption:v1".into(),
            outcome: "success".into(),
            request_id: "forged".into(),
            detail: "{}".into(),
            prev_hash: prev,
            hash: String::new(),
        };
        forged.hash = forged.expected_hash();
        sqlx::query(
            "INSERT INTO audit_log (seq, at_ms, actor, action, object, outcome, request_id, detail, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(forged.seq)
        .bind(forged.at_ms)
        .bind(&forged.actor)
        .bind(&forged.action)
        .bind(&forged.object)
        .bind(&forged.outcome)
        .bind(&forged.request_id)
        .bind(&forged.detail)
        .bind(&forged.prev_hash)
        .bind(&forged.hash)
        .execute(test.store.pool())
        .await
        .expect("insert");
        let found = problems(&test).await;
        assert!(
            found
                .iter()
                .any(|(seq, what)| *seq == 9 && what.contains("does not follow")),
            "{found:?}"
        );
    }
}

/// Two entries swapped in order are caught.
/// req: 5.4.4.2
#[tokio::test]
async fn reordered_entries_are_detected() {
    for test in stores().await {
        fresh_chain(&test).await;
        for statement in [
            "UPDATE audit_log SET seq = -1 WHERE seq = 4",
            "UPDATE audit_log SET seq = 4 WHERE seq = 5",
            "UPDATE audit_log SET seq = 5 WHERE seq = -1",
        ] {
            sqlx::query(statement)
                .execute(test.store.pool())
                .await
                .expect("swap");
        }
        let found = problems(&test).await;
        assert!(
            found.iter().any(|(seq, _)| *seq == 4 || *seq == 5),
            "{found:?}"
        );
    }
}

/// Rewriting the whole chain after an entry, with every hash recomputed, is still caught by
/// the signed checkpoint.
/// req: 5.4.4.2
#[tokio::test]
async fn rewritten_chain_is_caught_by_the_signed_checkpoint() {
    for test in stores().await {
        fresh_chain(&test).await;
        let mut entries = test.store.audit_entries(0, 1_000).await.expect("entries");
        let mut prev = inspay_store::audit::GENESIS_HASH.to_string();
        for entry in &mut entries {
            if entry.seq == 3 {
                entry.outcome = "denied".into();
            }
            entry.prev_hash = prev.clone();
            entry.hash = entry.expected_hash();
            prev = entry.hash.clone();
            sqlx::query(
                "UPDATE audit_log SET outcome = $2, prev_hash = $3, hash = $4 WHERE seq = $1",
            )
            .bind(entry.seq)
            .bind(&entry.outcome)
            .bind(&entry.prev_hash)
            .bind(&entry.hash)
            .execute(test.store.pool())
            .await
            .expect("rewrite");
        }
        sqlx::query("UPDATE audit_head SET hash = $1")
            .bind(&prev)
            .execute(test.store.pool())
            .await
            .expect("head");
        let found = problems(&test).await;
        assert!(
            found.iter().all(|(_, what)| what.contains("checkpoint")),
            "{found:?}"
        );
    }
}
