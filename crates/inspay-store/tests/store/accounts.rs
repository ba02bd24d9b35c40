//! Password sign-in and the lockout shared by every node, on every configured database.

use crate::support::{WHO, create_account, initialised, stores};
use inspay_identity::lockout::LockoutPolicy;
use inspay_identity::login_name::LoginName;
use inspay_identity::secret_hash::{ITERATIONS_MIN, SecretHash, SecretKind};
use inspay_store::accounts::{NewAccount, Population, SignIn};
use inspay_store::{PoolSettings, Store, StoreError};

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

/// After the blind-index key rotates, accounts still sign in (look-ups try every searchable
/// key version), a second account with the same name is still refused, and the rewrap moves
/// every login name, customer and staff, to the active key.
/// req: 5.2.3.3, 5.5.2.1
#[tokio::test]
async fn login_names_survive_a_blind_index_rotation() {
    use inspay_core::sensitive::{IdNumber, LegalName, MobileNumber};
    use inspay_kms::KeyPurpose;
    use inspay_store::keys::RotationPolicy;
    use inspay_store::persons::NewPerson;
    for test in stores().await {
        let master = initialised(&test).await;
        let store = &test.store;
        let ring = store.keyring_load(&master).await.expect("ring");
        let policy = LockoutPolicy::default();
        let mobile = "13812345678";
        let person = store
            .person_insert(
                &ring,
                &NewPerson {
                    legal_name: LegalName::parse("张三丰").expect("name"),
                    mobile: MobileNumber::parse(mobile).expect("mobile"),
                    id_number: IdNumber::parse("11010519491231002X").expect("id"),
                },
                WHO,
                T0,
            )
            .await
            .expect("person");
        let hash = SecretHash::new(
            SecretKind::LoginPassword,
            PASSWORD.as_bytes(),
            ITERATIONS_MIN,
        )
        .expect("hash");
        let customer_name = LoginName::customer(mobile).expect("name");
        store
            .account_create(
                &ring,
                &NewAccount {
                    population: Population::Customer,
                    login_name: &customer_name,
                    person_id: Some(&person),
                    password: &hash,
                    must_change_password: false,
                },
                WHO,
                T0,
            )
            .await
            .expect("customer");
        let staff_name = LoginName::staff("agent.li").expect("name");
        create_account(store, &ring, &staff_name, PASSWORD, false, T0).await;

        store
            .key_rotate(
                &master,
                KeyPurpose::BlindIndex,
                &RotationPolicy::default(),
                WHO,
                T0 + 1,
            )
            .await
            .expect("rotate");
        let ring = store.keyring_load(&master).await.expect("ring");
        for name in [&customer_name, &staff_name] {
            let outcome = store
                .password_sign_in(&ring, name, PASSWORD, &policy, "after-rotation", T0 + 2)
                .await
                .expect("sign in");
            assert!(
                matches!(outcome, SignIn::Accepted { .. }),
                "{}: {outcome:?}",
                test.label
            );
        }
        let again = store
            .account_create(
                &ring,
                &NewAccount {
                    population: Population::Customer,
                    login_name: &customer_name,
                    person_id: None,
                    password: &hash,
                    must_change_password: false,
                },
                WHO,
                T0 + 3,
            )
            .await;
        assert!(
            matches!(again, Err(StoreError::Conflict(_))),
            "{}: {again:?}",
            test.label
        );

        let moved = store
            .accounts_rewrap_login_names(&ring)
            .await
            .expect("rewrap");
        assert_eq!(
            (moved.accounts, moved.moved, moved.skipped),
            (2, 2, 0),
            "{}",
            test.label
        );
        let indexes: Vec<String> = sqlx::query("SELECT login_name_index FROM accounts")
            .fetch_all(store.pool())
            .await
            .expect("rows")
            .iter()
            .map(|row| sqlx::Row::try_get(row, 0).expect("index"))
            .collect();
        assert!(
            indexes
                .iter()
                .all(|index| index.starts_with("hmac-sm3:v2:")),
            "{indexes:?}"
        );
        let outcome = store
            .password_sign_in(
                &ring,
                &customer_name,
                PASSWORD,
                &policy,
                "after-rewrap",
                T0 + 4,
            )
            .await
            .expect("sign in");
        assert!(matches!(outcome, SignIn::Accepted { .. }));
    }
}
