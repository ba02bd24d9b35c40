//! Graphic CAPTCHAs at rest, on every configured database: single use, 120 s, bound to their
//! id, and stored only as keyed MACs.

use crate::support::{TestStore, WHO, initialised, stores};
use inspay_identity::captcha::{CAPTCHA_TTL_S, CaptchaAnswer};
use inspay_kms::KeyPurpose;
use inspay_store::keys::RotationPolicy;
use sqlx::Row;
use std::sync::Arc;

const T0: i64 = 1_800_000_000_000;
const SECOND: i64 = 1_000;

fn answer(text: &str) -> CaptchaAnswer {
    CaptchaAnswer::parse(text).expect("answer")
}

async fn count(test: &TestStore, table: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(test.store.pool())
        .await
        .expect("count")
        .try_get(0)
        .expect("count value")
}

/// The right answer redeems a CAPTCHA once: true the first time, false ever after; the
/// answer is accepted as typed in any case and spacing; the row is gone after the redeem.
/// req: 5.2.1.1-e
#[tokio::test]
async fn right_answer_redeems_once() {
    for test in stores().await {
        let master = initialised(&test).await;
        let ring = test.store.keyring_load(&master).await.expect("ring");
        let store = &test.store;
        let id = store
            .captcha_issue(&ring, &answer("7K4XW"), T0)
            .await
            .expect("issue");
        assert!(uuid::Uuid::try_parse(&id).is_ok_and(|id| id.get_version_num() == 7));
        assert_eq!(count(&test, "captchas").await, 1);
        let typed = answer(" 7k4 xw");
        assert!(
            store
                .captcha_redeem(&ring, &id, &typed, T0 + SECOND)
                .await
                .expect("redeem"),
            "{}",
            test.label
        );
        assert_eq!(count(&test, "captchas").await, 0, "consumed");
        for later in [2, 3] {
            assert!(
                !store
                    .captcha_redeem(&ring, &id, &typed, T0 + later * SECOND)
                    .await
                    .expect("redeem again"),
                "single use ({})",
                test.label
            );
        }
    }
}

/// A wrong answer uses the CAPTCHA up: the right answer afterwards is refused. Discarding
/// (for an answer that does not parse) uses it up the same way.
/// req: 5.2.1.1-e
#[tokio::test]
async fn wrong_answer_or_discard_uses_it_up() {
    for test in stores().await {
        let master = initialised(&test).await;
        let ring = test.store.keyring_load(&master).await.expect("ring");
        let store = &test.store;
        let right = answer("7K4XW");
        let id = store.captcha_issue(&ring, &right, T0).await.expect("issue");
        assert!(
            !store
                .captcha_redeem(&ring, &id, &answer("7K4XV"), T0 + SECOND)
                .await
                .expect("wrong")
        );
        assert_eq!(
            count(&test, "captchas").await,
            0,
            "consumed by a wrong answer"
        );
        assert!(
            !store
                .captcha_redeem(&ring, &id, &right, T0 + 2 * SECOND)
                .await
                .expect("right after wrong"),
            "{}",
            test.label
        );

        let id = store.captcha_issue(&ring, &right, T0).await.expect("issue");
        assert!(store.captcha_discard(&id).await.expect("discard"));
        assert!(!store.captcha_discard(&id).await.expect("discard again"));
        assert!(
            !store
                .captcha_redeem(&ring, &id, &right, T0 + SECOND)
                .await
                .expect("right after discard")
        );
    }
}

/// A CAPTCHA answers true up to the last millisecond before 120 s, and false from 120 s on;
/// a late attempt uses it up as well.
/// req: 5.2.1.1-e
#[tokio::test]
async fn expires_after_120_seconds() {
    assert_eq!(CAPTCHA_TTL_S, 120);
    for test in stores().await {
        let master = initialised(&test).await;
        let ring = test.store.keyring_load(&master).await.expect("ring");
        let store = &test.store;
        let right = answer("P3NM9");
        let in_time = store.captcha_issue(&ring, &right, T0).await.expect("issue");
        assert!(
            store
                .captcha_redeem(&ring, &in_time, &right, T0 + 120 * SECOND - 1)
                .await
                .expect("just in time")
        );
        let late = store.captcha_issue(&ring, &right, T0).await.expect("issue");
        assert!(
            !store
                .captcha_redeem(&ring, &late, &right, T0 + 120 * SECOND)
                .await
                .expect("expired"),
            "{}",
            test.label
        );
        assert!(
            !store
                .captcha_redeem(&ring, &late, &right, T0)
                .await
                .expect("after the late attempt"),
            "a late attempt consumes it"
        );
        assert_eq!(count(&test, "captchas").await, 0);
    }
}

/// Unknown and malformed ids are refused without error; a MAC moved onto another CAPTCHA's
/// row does not match there (the id is inside the MAC), nor does a MAC from another row.
/// req: 5.2.1.1-e
#[tokio::test]
async fn unknown_ids_and_moved_macs_are_refused() {
    for test in stores().await {
        let master = initialised(&test).await;
        let ring = test.store.keyring_load(&master).await.expect("ring");
        let store = &test.store;
        let right = answer("7K4XW");
        let unknown = uuid::Uuid::now_v7().to_string();
        for id in [
            unknown.as_str(),
            "",
            "not-a-captcha-id",
            "' OR 1=1 --",
            &"a".repeat(10_000),
        ] {
            assert!(
                !store
                    .captcha_redeem(&ring, id, &right, T0)
                    .await
                    .expect("unknown id")
            );
        }
        let first = store
            .captcha_issue(&ring, &answer("ACDEF"), T0)
            .await
            .expect("issue");
        let second = store.captcha_issue(&ring, &right, T0).await.expect("issue");
        // Copy the second CAPTCHA's MAC (of 7K4XW) onto the first row, then answer 7K4XW there.
        sqlx::query(
            "UPDATE captchas SET answer_mac = (SELECT answer_mac FROM captchas WHERE id = $2) WHERE id = $1",
        )
        .bind(&first)
        .bind(&second)
        .execute(store.pool())
        .await
        .expect("move mac");
        assert!(
            !store
                .captcha_redeem(&ring, &first, &right, T0 + SECOND)
                .await
                .expect("moved mac"),
            "{}",
            test.label
        );
        assert!(
            store
                .captcha_redeem(&ring, &second, &right, T0 + SECOND)
                .await
                .expect("own mac")
        );
    }
}

/// Concurrent redeems of one id with the right answer: exactly one wins, every time, on
/// separate connections (and on PostgreSQL, separate sessions as separate nodes would be).
/// req: 5.2.1.1-e
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redeems_let_at_most_one_through() {
    const CONTENDERS: usize = 6;
    const ROUNDS: usize = 5;
    for test in stores().await {
        let master = initialised(&test).await;
        let ring = Arc::new(test.store.keyring_load(&master).await.expect("ring"));
        for round in 0..ROUNDS {
            let id = test
                .store
                .captcha_issue(&ring, &answer("HJK23"), T0)
                .await
                .expect("issue");
            let barrier = Arc::new(tokio::sync::Barrier::new(CONTENDERS));
            let tasks: Vec<_> = (0..CONTENDERS)
                .map(|_| {
                    let (store, ring, id, barrier) = (
                        test.store.clone(),
                        Arc::clone(&ring),
                        id.clone(),
                        Arc::clone(&barrier),
                    );
                    tokio::spawn(async move {
                        barrier.wait().await;
                        store
                            .captcha_redeem(&ring, &id, &answer("HJK23"), T0 + SECOND)
                            .await
                            .expect("redeem")
                    })
                })
                .collect();
            let mut wins = 0;
            for task in tasks {
                wins += usize::from(task.await.expect("task"));
            }
            assert_eq!(wins, 1, "{} round {round}", test.label);
        }
    }
}

/// The answer is never stored: the row holds an HMAC-SM3 text, and neither any column, nor
/// the audit log, nor (on SQLite) any byte of the database files contains the answer.
/// req: 5.2.1.1-e
#[tokio::test]
async fn answer_is_never_stored() {
    for test in stores().await {
        let master = initialised(&test).await;
        let ring = test.store.keyring_load(&master).await.expect("ring");
        let store = &test.store;
        let text = "7K4XW";
        let id = store
            .captcha_issue(&ring, &answer(text), T0)
            .await
            .expect("issue");
        let row = sqlx::query(
            "SELECT id, answer_mac, created_at_ms, expires_at_ms FROM captchas WHERE id = $1",
        )
        .bind(&id)
        .fetch_one(store.pool())
        .await
        .expect("row");
        let (stored_id, mac, created, expires): (String, String, i64, i64) = (
            row.try_get(0).expect("id"),
            row.try_get(1).expect("mac"),
            row.try_get(2).expect("created"),
            row.try_get(3).expect("expires"),
        );
        assert_eq!(stored_id, id);
        assert!(mac.starts_with("hmac-sm3:v1:"), "{mac}");
        assert!(!mac.to_uppercase().contains(text), "{mac}");
        assert_eq!((created, expires), (T0, T0 + 120 * SECOND));
        let audit: Vec<String> = sqlx::query("SELECT detail || object || action FROM audit_log")
            .fetch_all(store.pool())
            .await
            .expect("audit")
            .iter()
            .map(|row| row.try_get(0).expect("text"))
            .collect();
        assert!(audit.iter().all(|entry| !entry.contains(text)));
        if let Some(dir) = &test._dir {
            for entry in std::fs::read_dir(dir.path()).expect("dir") {
                let bytes = std::fs::read(entry.expect("entry").path()).expect("file");
                assert!(
                    !bytes
                        .windows(text.len())
                        .any(|window| window.eq_ignore_ascii_case(text.as_bytes())),
                    "answer found in the database files"
                );
            }
        }
    }
}

/// A CAPTCHA issued under one blind-index key still redeems after the key is rotated within
/// its 120 s; the new CAPTCHA is then stored under the new version.
/// req: 5.2.1.1-e
#[tokio::test]
async fn key_rotation_does_not_void_live_captchas() {
    for test in stores().await {
        let master = initialised(&test).await;
        let store = &test.store;
        let before = store.keyring_load(&master).await.expect("ring");
        let right = answer("WXY45");
        let id = store
            .captcha_issue(&before, &right, T0)
            .await
            .expect("issue");
        store
            .key_rotate(
                &master,
                KeyPurpose::BlindIndex,
                &RotationPolicy::default(),
                WHO,
                T0 + SECOND,
            )
            .await
            .expect("rotate");
        let after = store.keyring_load(&master).await.expect("ring");
        let fresh = store
            .captcha_issue(&after, &right, T0 + SECOND)
            .await
            .expect("issue");
        let mac: String = sqlx::query("SELECT answer_mac FROM captchas WHERE id = $1")
            .bind(&fresh)
            .fetch_one(store.pool())
            .await
            .expect("row")
            .try_get(0)
            .expect("mac");
        assert!(mac.starts_with("hmac-sm3:v2:"), "{mac}");
        for id in [&id, &fresh] {
            assert!(
                store
                    .captcha_redeem(&after, id, &right, T0 + 2 * SECOND)
                    .await
                    .expect("redeem"),
                "{}",
                test.label
            );
        }
    }
}

/// Purging removes exactly the CAPTCHAs that expired unanswered and keeps live ones.
/// req: 5.2.1.1-e
#[tokio::test]
async fn purge_removes_expired_rows_only() {
    for test in stores().await {
        let master = initialised(&test).await;
        let ring = test.store.keyring_load(&master).await.expect("ring");
        let store = &test.store;
        let right = answer("CDEFH");
        let mut early = Vec::new();
        for _ in 0..3 {
            early.push(store.captcha_issue(&ring, &right, T0).await.expect("issue"));
        }
        let live = store
            .captcha_issue(&ring, &right, T0 + 100 * SECOND)
            .await
            .expect("issue");
        assert!(
            store
                .captcha_redeem(&ring, &early[0], &right, T0 + SECOND)
                .await
                .expect("redeem")
        );
        assert_eq!(
            store
                .captchas_purge(T0 + 119 * SECOND)
                .await
                .expect("purge"),
            0
        );
        assert_eq!(
            store
                .captchas_purge(T0 + 120 * SECOND)
                .await
                .expect("purge"),
            2,
            "{}",
            test.label
        );
        assert_eq!(count(&test, "captchas").await, 1);
        assert!(
            store
                .captcha_redeem(&ring, &live, &right, T0 + 150 * SECOND)
                .await
                .expect("live one survives")
        );
        assert_eq!(
            store
                .captchas_purge(T0 + 999 * SECOND)
                .await
                .expect("purge"),
            0
        );
    }
}

/// A CAPTCHA is never an authentication factor: issuing and redeeming one takes no account,
/// starts no session and opens no sign-in flow; the result is a bare yes or no.
/// req: 5.2.1.1-f
#[tokio::test]
async fn redeeming_a_captcha_authenticates_no_one() {
    for test in stores().await {
        let master = initialised(&test).await;
        let ring = test.store.keyring_load(&master).await.expect("ring");
        let store = &test.store;
        let audit_before = count(&test, "audit_log").await;
        let right = answer("RT679");
        let id = store.captcha_issue(&ring, &right, T0).await.expect("issue");
        let redeemed: bool = store
            .captcha_redeem(&ring, &id, &right, T0 + SECOND)
            .await
            .expect("redeem");
        assert!(redeemed);
        for table in ["sessions", "sign_in_flows", "step_ups"] {
            assert_eq!(count(&test, table).await, 0, "{table} ({})", test.label);
        }
        assert_eq!(count(&test, "audit_log").await, audit_before);
    }
}
