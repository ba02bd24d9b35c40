//! Key management and protected records against every configured database.

use crate::support::{WHO, initialised, stores};
use inspay_core::sensitive::{IdNumber, LegalName, MobileNumber, PersonalField};
use inspay_kms::{KeyEvent, KeyPurpose, KeyState};
use inspay_store::StoreError;
use inspay_store::keys::RotationPolicy;
use inspay_store::persons::NewPerson;
use sqlx::Row;

const DAY_MS: i64 = 86_400_000;

fn person(mobile: &str) -> NewPerson {
    NewPerson {
        legal_name: LegalName::parse("张三丰").expect("name"),
        mobile: MobileNumber::parse(mobile).expect("mobile"),
        id_number: IdNumber::parse("11010519491231002X").expect("id"),
    }
}

async fn stored_text(store: &inspay_store::Store, sql: &'static str, id: &str) -> String {
    sqlx::query(sql)
        .bind(id)
        .fetch_one(store.pool())
        .await
        .expect("row")
        .try_get(0)
        .expect("text")
}

async fn audit_actions(store: &inspay_store::Store) -> Vec<String> {
    store
        .audit_entries(0, 10_000)
        .await
        .expect("entries")
        .into_iter()
        .map(|entry| format!("{} {}", entry.action, entry.object))
        .collect()
}

/// Initialising creates one active, wrapped key per purpose and audits each step; a second
/// start with the same master key changes nothing; a different master key is refused.
/// req: 5.5.2.1
#[tokio::test]
async fn initialise_creates_audited_keys_and_refuses_a_wrong_master() {
    for test in stores().await {
        let master = initialised(&test).await;
        let keys = test.store.key_list(&master).await.expect("list");
        assert_eq!(keys.len(), KeyPurpose::ALL.len(), "{}", test.label);
        assert!(
            keys.iter()
                .all(|key| key.state == KeyState::Active && key.version == 1)
        );
        let actions = audit_actions(&test.store).await;
        assert!(
            actions.contains(&"kms.initialise kms".to_string()),
            "{actions:?}"
        );
        assert!(actions.contains(&"key.activate key:field-encryption:v1".to_string()));
        let again = test
            .store
            .kms_initialise(&master, &RotationPolicy::default(), WHO, 2_000_000)
            .await
            .expect("again");
        assert!(again.is_empty());
        let error = test
            .store
            .kms_initialise(
                &crate::support::master(),
                &RotationPolicy::default(),
                WHO,
                2_000_000,
            )
            .await
            .expect_err("wrong master");
        assert!(error.to_string().contains("not the one"), "{error}");
    }
}

/// Rotation makes a new active version and retires the old one to decrypt-only; scheduled
/// rotation rotates exactly the keys that are due; every transition is in the audit log.
/// req: 5.5.2.1
#[tokio::test]
async fn rotation_manual_and_scheduled() {
    for test in stores().await {
        let master = initialised(&test).await;
        let store = &test.store;
        let policy = RotationPolicy::default();
        let record = store
            .key_rotate(
                &master,
                KeyPurpose::FieldEncryption,
                &policy,
                WHO,
                2_000_000,
            )
            .await
            .expect("rotate");
        assert_eq!((record.version, record.state), (2, KeyState::Active));
        let keys = store.key_list(&master).await.expect("list");
        let v1 = keys
            .iter()
            .find(|key| key.purpose == KeyPurpose::FieldEncryption && key.version == 1)
            .expect("v1");
        assert_eq!(v1.state, KeyState::DecryptOnly);
        // 90 days later the other symmetric keys are due (field encryption was rotated later),
        // and the web client's signing key, which rotates quarterly too.
        let due_at = 1_000_000 + 90 * DAY_MS;
        let rotated = store
            .keys_rotate_due(&master, &policy, WHO, due_at)
            .await
            .expect("due");
        let mut purposes: Vec<_> = rotated.iter().map(|key| key.purpose).collect();
        purposes.sort();
        assert_eq!(
            purposes,
            vec![
                KeyPurpose::BlindIndex,
                KeyPurpose::RecordMac,
                KeyPurpose::WebSigning
            ],
            "{}",
            test.label
        );
        let actions = audit_actions(store).await;
        for expected in [
            "key.create key:field-encryption:v2",
            "key.deactivate key:field-encryption:v1",
            "key.activate key:field-encryption:v2",
            "key.activate key:record-mac:v2",
        ] {
            assert!(
                actions.contains(&expected.to_string()),
                "{expected}: {actions:?}"
            );
        }
    }
}

/// Suspend, resume, compromise, schedule and cancel destruction all go through the
/// lifecycle rules and are audited; destruction before the waiting period is refused.
/// req: 5.5.2.1
#[tokio::test]
async fn lifecycle_transitions_are_enforced_and_audited() {
    for test in stores().await {
        let master = initialised(&test).await;
        let store = &test.store;
        let purpose = KeyPurpose::ResponseSigning;
        let suspended = store
            .key_transition(&master, purpose, 1, KeyEvent::Suspend, 0, WHO, 2_000_000)
            .await
            .expect("suspend");
        assert_eq!(suspended.state, KeyState::Suspended);
        let resumed = store
            .key_transition(&master, purpose, 1, KeyEvent::Resume, 0, WHO, 2_100_000)
            .await
            .expect("resume");
        assert_eq!(resumed.state, KeyState::Active);
        let refused = store
            .key_transition(
                &master,
                purpose,
                1,
                KeyEvent::ScheduleDestruction,
                7,
                WHO,
                2_200_000,
            )
            .await
            .expect_err("active key");
        assert!(refused.to_string().contains("rotate first"), "{refused}");
        store
            .key_rotate(&master, purpose, &RotationPolicy::default(), WHO, 2_300_000)
            .await
            .expect("rotate");
        store
            .key_transition(&master, purpose, 1, KeyEvent::Compromise, 0, WHO, 2_400_000)
            .await
            .expect("compromise");
        let scheduled = store
            .key_transition(
                &master,
                purpose,
                1,
                KeyEvent::ScheduleDestruction,
                7,
                WHO,
                2_500_000,
            )
            .await
            .expect("schedule");
        assert_eq!(scheduled.destroy_after_ms, Some(2_500_000 + 7 * DAY_MS));
        let early = store
            .keys_destroy_due(&master, WHO, 2_500_000 + 7 * DAY_MS - 1_000)
            .await
            .expect("none due");
        assert!(early.is_empty());
        store
            .key_transition(
                &master,
                purpose,
                1,
                KeyEvent::CancelDestruction,
                0,
                WHO,
                2_600_000,
            )
            .await
            .expect("cancel");
        let none = store
            .keys_destroy_due(&master, WHO, 2_500_000 + 30 * DAY_MS)
            .await
            .expect("cancelled");
        assert!(none.is_empty(), "{}", test.label);
        let actions = audit_actions(store).await;
        for action in [
            "key.suspend",
            "key.resume",
            "key.compromise",
            "key.schedule-destruction",
            "key.cancel-destruction",
        ] {
            assert!(
                actions.iter().any(|a| a.starts_with(action)),
                "{action}: {actions:?}"
            );
        }
    }
}

/// A key record changed directly in the database (here: a retired key set back to active)
/// is refused when the keys are loaded.
/// req: 5.6.1-b
#[tokio::test]
async fn key_records_changed_in_the_database_are_refused() {
    for test in stores().await {
        let master = initialised(&test).await;
        test.store
            .key_rotate(
                &master,
                KeyPurpose::RecordMac,
                &RotationPolicy::default(),
                WHO,
                2_000_000,
            )
            .await
            .expect("rotate");
        sqlx::query(
            "UPDATE data_keys SET rotate_after_ms = 1 WHERE purpose = 'record-mac' AND version = 2",
        )
        .execute(test.store.pool())
        .await
        .expect("tamper");
        let error = test
            .store
            .keyring_load(&master)
            .await
            .expect_err("tampered");
        assert!(
            matches!(error, StoreError::Integrity(_)),
            "{}: {error}",
            test.label
        );
    }
}

/// Personal fields are stored sealed with SM4-GCM (the stored text names algorithm and key
/// version), are found through the blind index, and a ciphertext moved to another row does
/// not open.
/// req: 5.6.1-a1
#[tokio::test]
async fn personal_fields_are_sealed_indexed_and_bound_to_their_row() {
    for test in stores().await {
        let master = initialised(&test).await;
        let store = &test.store;
        let ring = store.keyring_load(&master).await.expect("ring");
        let alice = store
            .person_insert(&ring, &person("13812345678"), WHO, 3_000_000)
            .await
            .expect("insert");
        let bob = store
            .person_insert(&ring, &person("13987654321"), WHO, 3_000_001)
            .await
            .expect("insert");
        let read = store.person_get(&ring, &alice).await.expect("get");
        assert_eq!(read.mobile.masked().as_str(), "138****5678");
        let row = sqlx::query("SELECT mobile, id_number, legal_name FROM persons WHERE id = $1")
            .bind(&alice)
            .fetch_one(store.pool())
            .await
            .expect("row");
        for column in 0..3 {
            let text: String = row.try_get(column).expect("text");
            assert!(text.starts_with("sm4-gcm:v1:"), "{text}");
            assert!(!text.contains("13812345678") && !text.contains("11010519491231002X"));
        }
        let found = store
            .person_find_by_mobile(
                &ring,
                &MobileNumber::parse("138 1234 5678").expect("mobile"),
            )
            .await
            .expect("find");
        assert_eq!(found, vec![alice.clone()]);

        // Move Bob's sealed mobile into Alice's row: the AAD binds it to Bob's row id.
        let bobs: String = sqlx::query("SELECT mobile FROM persons WHERE id = $1")
            .bind(&bob)
            .fetch_one(store.pool())
            .await
            .expect("bob")
            .try_get(0)
            .expect("text");
        sqlx::query("UPDATE persons SET mobile = $1 WHERE id = $2")
            .bind(&bobs)
            .bind(&alice)
            .execute(store.pool())
            .await
            .expect("move");
        assert!(
            store.person_get(&ring, &alice).await.is_err(),
            "{}",
            test.label
        );
        assert_eq!(
            store.persons_verify(&ring).await.expect("verify"),
            vec![alice]
        );
    }
}

/// After rotation, rewrap moves every row to the newest keys (the person key is re-wrapped, the
/// sealed fields need no re-encryption); a key whose destruction is carried out after the
/// waiting period takes with it any data still under it, which can no longer be read
/// (crypto-shredding).
/// req: 5.6.5-a1
#[tokio::test]
async fn rewrap_then_destroy_makes_unrewrapped_data_unrecoverable() {
    for test in stores().await {
        let master = initialised(&test).await;
        let store = &test.store;
        let policy = RotationPolicy::default();
        let ring = store.keyring_load(&master).await.expect("ring");
        let kept = store
            .person_insert(&ring, &person("13812345678"), WHO, 3_000_000)
            .await
            .expect("kept");
        let sealed_before =
            stored_text(store, "SELECT mobile FROM persons WHERE id = $1", &kept).await;
        for purpose in [
            KeyPurpose::FieldEncryption,
            KeyPurpose::BlindIndex,
            KeyPurpose::RecordMac,
        ] {
            store
                .key_rotate(&master, purpose, &policy, WHO, 4_000_000)
                .await
                .expect("rotate");
        }
        let ring = store.keyring_load(&master).await.expect("ring v2");
        let mut calls = 0;
        let summary = store
            .persons_rewrap(&ring, |_, _| calls += 1)
            .await
            .expect("rewrap");
        assert_eq!(
            (summary.rows, summary.rewrapped, summary.unreadable),
            (1, 1, 0)
        );
        assert_eq!(calls, 1);
        let again = store
            .persons_rewrap(&ring, |_, _| {})
            .await
            .expect("rewrap again");
        assert_eq!(again.rewrapped, 0, "already current");
        // Only the person key is re-wrapped under field-encryption v2; the sealed fields stay
        // as they were, and the blind index moves to v2.
        let wrapped = stored_text(
            store,
            "SELECT wrapped FROM person_keys WHERE person_id = $1",
            &kept,
        )
        .await;
        assert!(wrapped.starts_with("sm4-gcm:v2:"), "{wrapped}");
        let index = stored_text(
            store,
            "SELECT mobile_index FROM persons WHERE id = $1",
            &kept,
        )
        .await;
        assert!(index.starts_with("hmac-sm3:v2:"), "{index}");
        assert_eq!(
            stored_text(store, "SELECT mobile FROM persons WHERE id = $1", &kept).await,
            sealed_before
        );

        // v1 is destroyed after the rewrap: the rewrapped row stays readable.
        store
            .key_transition(
                &master,
                KeyPurpose::FieldEncryption,
                1,
                KeyEvent::ScheduleDestruction,
                7,
                WHO,
                4_500_000,
            )
            .await
            .expect("schedule v1");
        let destroyed = store
            .keys_destroy_due(&master, WHO, 4_500_000 + 7 * DAY_MS)
            .await
            .expect("destroy v1");
        assert_eq!(destroyed.len(), 1, "{destroyed:?}");
        let ring = store.keyring_load(&master).await.expect("ring after v1");
        store
            .person_get(&ring, &kept)
            .await
            .expect("rewrapped row survives");

        // A row written under v2, then v2 retired and destroyed without a rewrap: both rows
        // under v2 are gone for good.
        let lost = store
            .person_insert(&ring, &person("13987654321"), WHO, 5_000_000)
            .await
            .expect("lost");
        store
            .key_rotate(
                &master,
                KeyPurpose::FieldEncryption,
                &policy,
                WHO,
                6_000_000,
            )
            .await
            .expect("v3");
        store
            .key_transition(
                &master,
                KeyPurpose::FieldEncryption,
                2,
                KeyEvent::ScheduleDestruction,
                7,
                WHO,
                6_000_000,
            )
            .await
            .expect("schedule");
        let doomed: String = sqlx::query(
            "SELECT wrapped FROM data_keys WHERE purpose = 'field-encryption' AND version = 2",
        )
        .fetch_one(store.pool())
        .await
        .expect("row")
        .try_get(0)
        .expect("wrapped");
        let destroyed = store
            .keys_destroy_due(&master, WHO, 6_000_000 + 7 * DAY_MS)
            .await
            .expect("destroy");
        assert_eq!(destroyed.len(), 1, "{destroyed:?}");
        assert_eq!(destroyed[0].state, KeyState::Destroyed);
        if let Some(dir) = &test._dir {
            // Gone from the database file and from the write-ahead log.
            for entry in std::fs::read_dir(dir.path()).expect("dir") {
                let bytes = std::fs::read(entry.expect("entry").path()).expect("file");
                assert!(
                    !bytes
                        .windows(doomed.len())
                        .any(|window| window == doomed.as_bytes()),
                    "the destroyed key's wrapped bytes remain on disk"
                );
            }
        }
        let wrapped: Option<String> = sqlx::query(
            "SELECT wrapped FROM data_keys WHERE purpose = 'field-encryption' AND version = 2",
        )
        .fetch_one(store.pool())
        .await
        .expect("row")
        .try_get(0)
        .expect("wrapped");
        assert_eq!(wrapped, None, "material erased");
        let ring = store.keyring_load(&master).await.expect("ring v3");
        let error = store.person_get(&ring, &lost).await.expect_err("shredded");
        assert!(
            error.to_string().contains("destroyed"),
            "{}: {error}",
            test.label
        );
        let summary = store
            .persons_rewrap(&ring, |_, _| {})
            .await
            .expect("rewrap");
        assert_eq!((summary.rows, summary.unreadable), (2, 2));
    }
}

/// No data key's plaintext, nor the master key's, appears anywhere in the data directory or
/// the database: keys are stored only wrapped.
/// req: 5.6.3.2
#[tokio::test]
async fn no_key_plaintext_in_files_or_database() {
    for test in stores().await {
        let master = initialised(&test).await;
        let store = &test.store;
        store
            .key_rotate(
                &master,
                KeyPurpose::AuditSigning,
                &RotationPolicy::default(),
                WHO,
                2_000_000,
            )
            .await
            .expect("rotate");
        let ring = store.keyring_load(&master).await.expect("ring");
        store
            .person_insert(&ring, &person("13812345678"), WHO, 3_000_000)
            .await
            .expect("insert");
        store
            .audit_checkpoint(&ring, 3_000_001)
            .await
            .expect("checkpoint");
        let mut secrets: Vec<Vec<u8>> = ring
            .entries()
            .filter_map(|entry| entry.material.as_ref())
            .map(|material| material.to_bytes().to_vec())
            .collect();
        assert_eq!(secrets.len(), KeyPurpose::ALL.len() + 1);
        let master_hex = master.to_hex();
        secrets.push(hex::decode(master_hex.as_bytes()).expect("hex"));
        let mut haystacks: Vec<Vec<u8>> = vec![];
        if let Some(dir) = &test._dir {
            store.close().await;
            for entry in std::fs::read_dir(dir.path()).expect("dir") {
                haystacks.push(std::fs::read(entry.expect("entry").path()).expect("file"));
            }
        } else {
            for table in [
                "data_keys",
                "kms_meta",
                "persons",
                "audit_log",
                "audit_checkpoints",
                "audit_head",
                "schema_migrations",
            ] {
                let text: Option<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT string_agg(t::text, '|') FROM {table} t"
                )))
                .fetch_one(store.pool())
                .await
                .expect("dump")
                .try_get(0)
                .expect("text");
                haystacks.push(text.unwrap_or_default().into_bytes());
            }
        }
        assert!(!haystacks.is_empty());
        for secret in &secrets {
            let hex_lower = hex::encode(secret).into_bytes();
            let hex_upper = hex::encode_upper(secret).into_bytes();
            for haystack in &haystacks {
                for needle in [secret.as_slice(), &hex_lower, &hex_upper] {
                    assert!(
                        !haystack
                            .windows(needle.len())
                            .any(|window| window == needle),
                        "{}: key material found in storage",
                        test.label
                    );
                }
            }
        }
    }
}

/// Rotating the master key rewraps every data key under the new key in one audited
/// transaction: the new key then opens everything, including data sealed before, and the old
/// key is refused.
/// req: 5.5.2.1
#[tokio::test]
async fn master_key_rotation_rewraps_every_data_key() {
    for test in stores().await {
        let old = initialised(&test).await;
        let store = &test.store;
        let ring = store.keyring_load(&old).await.expect("ring");
        let id = store
            .person_insert(&ring, &person("13812345678"), WHO, 3_000_000)
            .await
            .expect("insert");
        let new = crate::support::master();
        assert!(
            store
                .kms_rotate_master(&new, &old, WHO, 4_000_000)
                .await
                .is_err(),
            "wrong current key"
        );
        let count = store
            .kms_rotate_master(&old, &new, WHO, 4_000_000)
            .await
            .expect("rotate master");
        assert_eq!(count, KeyPurpose::ALL.len(), "{}", test.label);
        let ring = store
            .keyring_load(&new)
            .await
            .expect("new master opens the keys");
        let read = store
            .person_get(&ring, &id)
            .await
            .expect("old data still opens");
        assert_eq!(read.mobile.masked().as_str(), "138****5678");
        assert!(
            store.keyring_load(&old).await.is_err(),
            "old master no longer opens the keys"
        );
        let error = store
            .kms_initialise(&old, &RotationPolicy::default(), WHO, 5_000_000)
            .await
            .expect_err("old master refused at start");
        assert!(error.to_string().contains("not the one"));
        let actions = audit_actions(store).await;
        assert!(
            actions.contains(&"kms.rotate-master kms".to_string()),
            "{actions:?}"
        );
    }
}

/// Every digest, MAC, wrapped key and ciphertext at rest names its algorithm, and the key or
/// key version it depends on: audit hashes `sm3:`, key-record MACs `hmac-sm3:kek.<id>:`,
/// wrapped keys `sm4-gcm:kek.<id>:`, the master check value `hmac-sm3:`, migration checksums
/// `sm3:`, sealed fields `sm4-gcm:vN:`.
/// req: 5.5.1.3
#[tokio::test]
async fn stored_digests_macs_and_wrapped_keys_name_their_algorithm() {
    for test in stores().await {
        let master = initialised(&test).await;
        let store = &test.store;
        let ring = store.keyring_load(&master).await.expect("ring");
        store
            .person_insert(&ring, &person("13812345678"), WHO, 3_000_000)
            .await
            .expect("insert");
        store
            .audit_checkpoint(&ring, 3_000_001)
            .await
            .expect("checkpoint");
        let kek = format!("kek.{}:", master.key_id());
        let column = |sql: &'static str| async move {
            sqlx::query(sql)
                .fetch_all(store.pool())
                .await
                .expect("query")
                .iter()
                .map(|row| row.try_get::<String, _>(0).expect("text"))
                .collect::<Vec<String>>()
        };
        let checks: Vec<(&str, String)> = vec![
            ("SELECT wrapped FROM data_keys", format!("sm4-gcm:{kek}")),
            (
                "SELECT record_mac FROM data_keys",
                format!("hmac-sm3:{kek}"),
            ),
            (
                "SELECT master_check_value FROM kms_meta",
                "hmac-sm3:".into(),
            ),
            ("SELECT hash FROM audit_log", "sm3:".into()),
            ("SELECT prev_hash FROM audit_log", "sm3:".into()),
            ("SELECT hash FROM audit_checkpoints", "sm3:".into()),
            (
                "SELECT signature FROM audit_checkpoints",
                "sm2-sm3:v1:".into(),
            ),
            ("SELECT checksum FROM schema_migrations", "sm3:".into()),
            ("SELECT mobile FROM persons", "sm4-gcm:v1:".into()),
            ("SELECT mobile_index FROM persons", "hmac-sm3:v1:".into()),
            ("SELECT record_mac FROM persons", "hmac-sm3:v1:".into()),
        ];
        for (sql, prefix) in checks {
            let values = column(sql).await;
            assert!(!values.is_empty(), "{sql}");
            for value in values {
                assert!(value.starts_with(&prefix), "{}: {sql}: {value}", test.label);
            }
        }
    }
}
