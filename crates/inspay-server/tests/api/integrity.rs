//! The scheduled integrity check of stored records.

use crate::helpers::spawn_apps;
use inspay_core::sensitive::{IdNumber, LegalName, MobileNumber};
use inspay_store::keys::Actor;
use inspay_store::persons::NewPerson;

/// A protected row changed directly in the database is found by the scheduled maintenance
/// job and recorded in the audit log as an integrity failure.
/// req: 5.6.1-b
#[tokio::test]
async fn scheduled_check_finds_rows_changed_outside_the_application() {
    for app in spawn_apps().await {
        let store = app.state.store.clone();
        let keyring = app.state.keyring();
        let person = NewPerson {
            legal_name: LegalName::parse("李四").expect("name"),
            mobile: MobileNumber::parse("13900001111").expect("mobile"),
            id_number: IdNumber::parse("44030419900307123X").expect("id"),
        };
        let who = Actor {
            actor: "operator:test",
            request_id: "integrity-test",
        };
        let id = store
            .person_insert(&keyring, &person, who, inspay_store::now_ms())
            .await
            .expect("insert");
        inspay_server::jobs::maintain(app.state.clone()).await;
        let before = store.audit_entries(0, 10_000).await.expect("entries");
        assert!(
            !before
                .iter()
                .any(|entry| entry.action == "integrity.record-mac-mismatch"),
            "{}",
            app.label
        );

        sqlx::query("UPDATE persons SET created_at_ms = created_at_ms - 1 WHERE id = $1")
            .bind(&id)
            .execute(store.pool())
            .await
            .expect("tamper");
        inspay_server::jobs::maintain(app.state.clone()).await;
        let after = store.audit_entries(0, 10_000).await.expect("entries");
        let found = after
            .iter()
            .find(|entry| entry.action == "integrity.record-mac-mismatch")
            .expect("integrity failure audited");
        assert_eq!(found.object, format!("person:{id}"), "{}", app.label);
        app.stop().await;
    }
}

/// The scheduled maintenance job verifies the audit chain and records a broken chain as an
/// integrity failure.
/// req: 5.4.4.2
#[tokio::test]
async fn scheduled_check_finds_a_tampered_audit_log() {
    let app = spawn_apps().await.remove(0);
    let store = app.state.store.clone();
    inspay_server::jobs::maintain(app.state.clone()).await;
    let entries = store.audit_entries(0, 10_000).await.expect("entries");
    assert!(
        !entries
            .iter()
            .any(|entry| entry.action == "integrity.audit-chain-broken")
    );
    for statement in [
        "DROP TRIGGER audit_log_no_update",
        "UPDATE audit_log SET actor = 'operator:mallory' WHERE seq = 1",
    ] {
        sqlx::query(statement)
            .execute(store.pool())
            .await
            .expect("tamper");
    }
    inspay_server::jobs::maintain(app.state.clone()).await;
    let entries = store.audit_entries(0, 10_000).await.expect("entries");
    assert!(
        entries
            .iter()
            .any(|entry| entry.action == "integrity.audit-chain-broken"),
        "a tampered chain was not reported"
    );
    assert!(crate::helpers::logs().contains("audit chain broken"));
    app.stop().await;
}
