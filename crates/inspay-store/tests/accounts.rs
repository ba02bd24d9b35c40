//! Password sign-in and the lockout shared by every node, on every configured database.

mod support;

use inspay_identity::lockout::LockoutPolicy;
use inspay_identity::login_name::LoginName;
use inspay_identity::secret_hash::{ITERATIONS_MIN, SecretHash, SecretKind};
use inspay_store::accounts::{NewAccount, Population, SignIn};
use inspay_store::{PoolSettings, Store, StoreError};
use support::{WHO, create_account, initialised, stores};

const PASSWORD: &str = "Tea-Kettle-Orbit-42";
const T0: i64 = 1_800_000_000_000;

async fn customer(store: &Store, ring: &inspay_kms::Keyring, mobile: &str) -> (String, LoginName) {
    let name = LoginName::customer(mobile).expect("mobile");
    let id = create_account(store, ring, &name, PASSWORD, false, T0).await;
    (id, name)
}

/// The right password signs in; a wrong password, an unknown account and a locked account
/// all get the same refusal; a second account with the same login name is refused.
/// req: 5.2.3.3
#[tokio::test]
async fn sign_in_answers_alike_for_every_refusal() {
    for test in stores().await {
        let master = initialised(&test).await;
        let ring = test.store.keyring_load(&master).await.expect("ring");
        let policy = LockoutPolicy::default();
        let (id, name) = customer(&test.store, &ring, "13812345678").await;
        let accepted = test
            .store
            .password_sign_in(&ring, &name, PASSWORD, &policy, "r1", T0)
            .await
            .expect("sign in");
        assert_eq!(
            accepted,
            SignIn::Accepted {
                account_id: id.clone(),
                must_change_password: false,
                dormant: false
            },
            "{}",
            test.label
        );
        let wrong = test
            .store
            .password_sign_in(&ring, &name, "Wrong-Pass-1", &policy, "r2", T0)
            .await
            .expect("wrong");
        let unknown_name = LoginName::customer("13900000000").expect("mobile");
        let unknown = test
            .store
            .password_sign_in(&ring, &unknown_name, PASSWORD, &policy, "r3", T0)
            .await
            .expect("unknown");
        assert_eq!(wrong, SignIn::Refused);
        assert_eq!(unknown, SignIn::Refused);
        let duplicate =
            SecretHash::new(SecretKind::LoginPassword, b"Other-Pass-77", ITERATIONS_MIN)
                .expect("hash");
        let error = test
            .store
            .account_create(
                &ring,
                &NewAccount {
                    population: Population::Customer,
                    login_name: &name,
                    person_id: None,
                    password: &duplicate,
                    must_change_password: true,
                },
                WHO,
                T0,
            )
            .await
            .expect_err("duplicate login name");
        assert!(matches!(error, StoreError::Conflict(_)), "{error}");
        let entries = test.store.audit_entries(0, 10_000).await.expect("audit");
        let text: String = entries
            .iter()
            .map(|entry| format!("{} {}\n", entry.object, entry.detail))
            .collect();
        assert!(
            !text.contains("13812345678") && !text.contains("13900000000"),
            "{text}"
        );
        assert!(
            text.contains("138****5678")
                && text.contains("unknown-account")
                && text.contains("wrong-password")
        );
    }
}

/// Three wrong passwords, sent through two nodes at once, lock the account for 30 minutes:
/// the count lives in the database and both nodes see it. While locked even the right
/// password is refused; afterwards it signs in and the count starts again.
/// req: 5.2.3.1
#[tokio::test]
async fn lockout_is_shared_by_two_nodes() {
    for test in stores().await {
        let master = initialised(&test).await;
        let ring = test.store.keyring_load(&master).await.expect("ring");
        let other = Store::connect(&test.url, &PoolSettings::default())
            .await
            .expect("second node");
        let policy = LockoutPolicy::default();
        let (id, name) = customer(&test.store, &ring, "13812345678").await;
        let attempt = |store: Store, request: &'static str| {
            let (ring, name, policy) = (&ring, &name, &policy);
            async move {
                store
                    .password_sign_in(ring, name, "Wrong-Pass-1", policy, request, T0 + 1_000)
                    .await
            }
        };
        let (a, b, c) = tokio::join!(
            attempt(test.store.clone(), "a"),
            attempt(other.clone(), "b"),
            attempt(test.store.clone(), "c"),
        );
        for outcome in [a, b, c] {
            assert_eq!(outcome.expect("attempt"), SignIn::Refused);
        }
        let state = test.store.account_failures(&id).await.expect("state");
        assert_eq!(
            state.consecutive, 3,
            "{}: every failure counted once",
            test.label
        );
        assert!(state.is_locked((T0 + 1_000) / 1000), "{}", test.label);
        let during = other
            .password_sign_in(&ring, &name, PASSWORD, &policy, "d", T0 + 60_000)
            .await
            .expect("during");
        assert_eq!(
            during,
            SignIn::Refused,
            "the right password is refused while locked"
        );
        let after_ms = T0 + 1_000 + 30 * 60 * 1000;
        let after = other
            .password_sign_in(&ring, &name, PASSWORD, &policy, "e", after_ms)
            .await
            .expect("after");
        assert!(
            matches!(after, SignIn::Accepted { .. }),
            "{}: {after:?}",
            test.label
        );
        assert_eq!(
            test.store
                .account_failures(&id)
                .await
                .expect("state")
                .consecutive,
            0
        );
    }
}

/// An account unused for 180 days is flagged on its next sign-in so that a further factor is
/// asked for; the sign-in itself resets the clock.
/// req: 5.3.3.3-c
#[tokio::test]
async fn dormant_accounts_are_flagged() {
    for test in stores().await {
        let master = initialised(&test).await;
        let ring = test.store.keyring_load(&master).await.expect("ring");
        let policy = LockoutPolicy::default();
        let (_, name) = customer(&test.store, &ring, "13812345678").await;
        let day = 86_400_000;
        let first = test
            .store
            .password_sign_in(&ring, &name, PASSWORD, &policy, "r", T0 + 179 * day)
            .await
            .expect("sign in");
        assert!(
            matches!(first, SignIn::Accepted { dormant: false, .. }),
            "{first:?}"
        );
        let later = test
            .store
            .password_sign_in(&ring, &name, PASSWORD, &policy, "r", T0 + 359 * day)
            .await
            .expect("sign in");
        assert!(
            matches!(later, SignIn::Accepted { dormant: true, .. }),
            "{}: {later:?}",
            test.label
        );
        let again = test
            .store
            .password_sign_in(&ring, &name, PASSWORD, &policy, "r", T0 + 360 * day)
            .await
            .expect("sign in");
        assert!(matches!(again, SignIn::Accepted { dormant: false, .. }));
        assert!(
            LockoutPolicy {
                dormant_days: 365,
                ..policy
            }
            .validate()
            .is_err()
        );
    }
}
