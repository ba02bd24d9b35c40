//! Server-side sessions on every configured database.

use crate::support::{create_account, initialised, stores};
use inspay_identity::login_name::LoginName;
use inspay_identity::session::{MultiLogin, SessionPolicy};
use inspay_store::sessions::EndReason;
use sqlx::Row;

const T0: i64 = 1_800_000_000_000;
const MINUTE: i64 = 60_000;

async fn account(test: &crate::support::TestStore) -> String {
    let master = initialised(test).await;
    let ring = test.store.keyring_load(&master).await.expect("ring");
    create_account(
        &test.store,
        &ring,
        &LoginName::staff("adjuster.li").expect("name"),
        "Tea-Kettle-Orbit-42",
        true,
        T0,
    )
    .await
}

/// Tokens carry 256 random bits and only their SM3 digest is stored; a session ends after 15
/// idle minutes or 8 hours in all, and an ended session's row is deleted.
/// req: 5.3.3.3-a, 5.6.5-c
#[tokio::test]
async fn sessions_time_out_and_are_deleted() {
    for test in stores().await {
        let id = account(&test).await;
        let store = &test.store;
        let policy = SessionPolicy::default();
        let (token, _) = store
            .session_start(&id, "two-factor", &policy, "r", T0)
            .await
            .expect("start");
        assert_eq!(token.expose().len(), 43);
        let stored: Vec<String> = sqlx::query("SELECT token_digest FROM sessions")
            .fetch_all(store.pool())
            .await
            .expect("rows")
            .iter()
            .map(|row| row.try_get(0).expect("digest"))
            .collect();
        assert_eq!(stored, vec![token.digest()]);
        assert!(!stored[0].contains(token.expose()));
        // Used every 14 minutes, it lives; 8 hours after the start it ends anyway.
        let mut now = T0;
        for _ in 0..34 {
            now += 14 * MINUTE;
            assert!(
                store
                    .session_check(&token, &policy, "r", now)
                    .await
                    .expect("check")
                    .is_some(),
                "{}",
                test.label
            );
        }
        now += 14 * MINUTE;
        assert!(now - T0 >= 8 * 60 * MINUTE);
        assert!(
            store
                .session_check(&token, &policy, "r", now)
                .await
                .expect("check")
                .is_none()
        );
        let left: i64 = sqlx::query("SELECT COUNT(*) FROM sessions")
            .fetch_one(store.pool())
            .await
            .expect("count")
            .try_get(0)
            .expect("n");
        assert_eq!(left, 0, "the ended session is deleted");

        let (idle, _) = store
            .session_start(&id, "two-factor", &policy, "r", T0)
            .await
            .expect("start");
        assert!(
            store
                .session_check(&idle, &policy, "r", T0 + 15 * MINUTE)
                .await
                .expect("check")
                .is_none()
        );
    }
}

/// Logout and a password change end sessions; under "sign out older" a new sign-in ends the
/// older sessions, under "notify" it keeps them and reports them.
/// req: 5.3.3.3-b, 5.6.5-c
#[tokio::test]
async fn logout_password_change_and_multi_login() {
    for test in stores().await {
        let id = account(&test).await;
        let store = &test.store;
        let notify = SessionPolicy::default();
        let (first, started) = store
            .session_start(&id, "two-factor", &notify, "r", T0)
            .await
            .expect("start");
        assert_eq!((started.others_kept, started.others_ended), (0, 0));
        let (second, started) = store
            .session_start(&id, "two-factor", &notify, "r", T0 + MINUTE)
            .await
            .expect("start");
        assert_eq!(
            started.others_kept, 1,
            "{}: notify reports the older session",
            test.label
        );
        assert!(
            store
                .session_end(&first, "r", T0 + 2 * MINUTE)
                .await
                .expect("logout")
        );
        assert!(
            store
                .session_check(&first, &notify, "r", T0 + 2 * MINUTE)
                .await
                .expect("check")
                .is_none()
        );
        assert!(
            store
                .session_check(&second, &notify, "r", T0 + 2 * MINUTE)
                .await
                .expect("check")
                .is_some()
        );

        let strict = SessionPolicy {
            multi_login: MultiLogin::SignOutOlder,
            ..notify
        };
        let (third, started) = store
            .session_start(&id, "two-factor", &strict, "r", T0 + 3 * MINUTE)
            .await
            .expect("start");
        assert_eq!(started.others_ended, 1);
        assert!(
            store
                .session_check(&second, &strict, "r", T0 + 3 * MINUTE)
                .await
                .expect("check")
                .is_none()
        );
        let ended = store
            .sessions_end_account(&id, EndReason::PasswordChanged, "r", T0 + 4 * MINUTE)
            .await
            .expect("end all");
        assert_eq!(ended, 1);
        assert!(
            store
                .session_check(&third, &strict, "r", T0 + 4 * MINUTE)
                .await
                .expect("check")
                .is_none()
        );
        let actions: Vec<String> = store
            .audit_entries(0, 10_000)
            .await
            .expect("audit")
            .into_iter()
            .map(|e| e.action)
            .collect();
        for action in ["session.start", "session.end", "session.end-all"] {
            assert!(actions.iter().any(|a| a == action), "{action}");
        }
    }
}

/// Session limits looser than the catalogue's are refused.
/// req: 5.3.3.3-a, 5.2.1.2
#[test]
fn session_policy_refuses_looser_limits() {
    let policy = SessionPolicy::default();
    policy.validate().expect("defaults");
    assert!(
        SessionPolicy {
            idle_s: 16 * 60,
            ..policy
        }
        .validate()
        .is_err()
    );
    assert!(
        SessionPolicy {
            absolute_s: 9 * 3600,
            ..policy
        }
        .validate()
        .is_err()
    );
    assert!(
        SessionPolicy {
            background_s: 301,
            ..policy
        }
        .validate()
        .is_err()
    );
    assert!(
        SessionPolicy {
            idle_s: 5 * 60,
            ..policy
        }
        .validate()
        .is_ok()
    );
}
