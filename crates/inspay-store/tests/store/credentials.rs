//! Changing secrets, on every configured database.

use crate::support::{create_account, initialised, stores};
use inspay_identity::lockout::LockoutPolicy;
use inspay_identity::login_name::LoginName;
use inspay_identity::secret_hash::{ITERATIONS_MIN, SecretHash, SecretKind};
use inspay_identity::session::SessionPolicy;
use inspay_store::accounts::SignIn;
use inspay_store::credentials::{ChangeRefused, Changed};

const T0: i64 = 1_800_000_000_000;
const INITIAL: &str = "Initial-Pass-2026";

/// A password change checks the current password (wrong ones count toward the lockout),
/// refuses the current and the last five passwords, ends every session and clears the
/// initial-password flag.
/// req: 5.2.4.2-a, 5.2.4.2-b, 5.2.4.2-c, 5.2.4.2-d
#[tokio::test]
async fn password_change_rules() {
    for test in stores().await {
        let master = initialised(&test).await;
        let ring = test.store.keyring_load(&master).await.expect("ring");
        let store = &test.store;
        let lockout = LockoutPolicy::default();
        let name = LoginName::staff("finance.wang").expect("name");
        let id = create_account(store, &ring, &name, INITIAL, true, T0).await;
        let signed_in = store
            .password_sign_in(&ring, &name, INITIAL, &lockout, "r", T0)
            .await
            .expect("sign in");
        assert_eq!(
            signed_in,
            SignIn::Accepted {
                account_id: id.clone(),
                must_change_password: true,
                dormant: false
            },
            "an initial password must be changed first"
        );
        store
            .session_start(&id, "password", &SessionPolicy::default(), "r", T0)
            .await
            .expect("session");

        let change = |current: &'static str, new: &'static str, at: i64| {
            let (store, id, lockout) = (store, &id, &lockout);
            async move {
                store
                    .secret_change(
                        id,
                        SecretKind::LoginPassword,
                        current,
                        new,
                        ITERATIONS_MIN,
                        lockout,
                        "r",
                        at,
                    )
                    .await
                    .expect("change")
            }
        };
        assert_eq!(
            change("Wrong-Current-1", "New-Pass-One-1", T0 + 1).await,
            Err(ChangeRefused::WrongCurrent)
        );
        assert_eq!(
            change(INITIAL, INITIAL, T0 + 2).await,
            Err(ChangeRefused::Reused),
            "{}",
            test.label
        );
        assert_eq!(
            change(INITIAL, "New-Pass-One-1", T0 + 3).await,
            Ok(Changed { sessions_ended: 1 })
        );
        let signed_in = store
            .password_sign_in(&ring, &name, "New-Pass-One-1", &lockout, "r", T0 + 4)
            .await
            .expect("sign in");
        assert_eq!(
            signed_in,
            SignIn::Accepted {
                account_id: id.clone(),
                must_change_password: false,
                dormant: false
            }
        );
        // Five more changes: the current password and the five before it are refused, the
        // initial password (six back) is allowed again.
        let sequence = [
            "New-Pass-One-1",
            "New-Pass-Two-2",
            "New-Pass-Three-3",
            "New-Pass-Four-4",
            "New-Pass-Five-5",
            "New-Pass-Six-6",
        ];
        for (step, pair) in sequence.windows(2).enumerate() {
            let at = T0 + 10 + step as i64;
            assert_eq!(
                change(pair[0], pair[1], at).await,
                Ok(Changed { sessions_ended: 0 }),
                "step {step}"
            );
        }
        for (offset, earlier) in sequence.iter().enumerate() {
            let at = T0 + 20 + offset as i64;
            assert_eq!(
                change("New-Pass-Six-6", earlier, at).await,
                Err(ChangeRefused::Reused),
                "{}: {earlier}",
                test.label
            );
        }
        assert_eq!(
            change("New-Pass-Six-6", INITIAL, T0 + 27).await,
            Ok(Changed { sessions_ended: 0 })
        );

        // Wrong current passwords count toward the lockout shared with sign-in.
        for at in [T0 + 30, T0 + 31] {
            assert_eq!(
                change("Wrong-Current-1", "Other-Pass-9", at).await,
                Err(ChangeRefused::WrongCurrent)
            );
        }
        let locked = store
            .password_sign_in(&ring, &name, "Wrong-Again-1", &lockout, "r", T0 + 32)
            .await
            .expect("sign in");
        assert_eq!(locked, SignIn::Refused);
        assert_eq!(
            change("New-Pass-One-1", "Other-Pass-9", T0 + 33).await,
            Err(ChangeRefused::Locked)
        );
    }
}

/// The transaction password may not equal the login password, in either direction.
/// req: 5.2.1.1-b
#[tokio::test]
async fn login_and_transaction_passwords_stay_different() {
    for test in stores().await {
        let master = initialised(&test).await;
        let ring = test.store.keyring_load(&master).await.expect("ring");
        let store = &test.store;
        let lockout = LockoutPolicy::default();
        let name = LoginName::customer("13812345678").expect("name");
        let id = create_account(store, &ring, &name, "Tea-Kettle-Orbit-42", false, T0).await;
        let payment = SecretHash::new(SecretKind::TransactionPassword, b"860715", ITERATIONS_MIN)
            .expect("hash");
        store
            .secret_enrol(&id, &payment, "r", T0)
            .await
            .expect("enrol");
        assert!(
            store.secret_enrol(&id, &payment, "r", T0).await.is_err(),
            "enrolled once"
        );
        let to_payment = store
            .secret_change(
                &id,
                SecretKind::LoginPassword,
                "Tea-Kettle-Orbit-42",
                "860715",
                ITERATIONS_MIN,
                &lockout,
                "r",
                T0 + 1,
            )
            .await
            .expect("change");
        assert_eq!(
            to_payment,
            Err(ChangeRefused::SameAsOtherFactor),
            "{}",
            test.label
        );
        let to_login = store
            .secret_change(
                &id,
                SecretKind::TransactionPassword,
                "860715",
                "Tea-Kettle-Orbit-42",
                ITERATIONS_MIN,
                &lockout,
                "r",
                T0 + 2,
            )
            .await
            .expect("change");
        assert_eq!(to_login, Err(ChangeRefused::SameAsOtherFactor));
    }
}
