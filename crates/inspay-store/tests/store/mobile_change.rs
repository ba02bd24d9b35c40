//! Changing a customer's mobile number, which is also their login name, on every configured
//! database.

use crate::support::{WHO, create_account, initialised, stores};
use inspay_core::sensitive::{IdNumber, LegalName, MobileNumber};
use inspay_identity::lockout::LockoutPolicy;
use inspay_identity::login_name::LoginName;
use inspay_identity::secret_hash::{ITERATIONS_MIN, SecretHash, SecretKind};
use inspay_identity::session::SessionPolicy;
use inspay_kms::Keyring;
use inspay_store::accounts::{NewAccount, Population, SignIn};
use inspay_store::persons::NewPerson;
use inspay_store::{PoolSettings, Store, StoreError};
use sqlx::Row;

const T0: i64 = 1_800_000_000_000;
const PASSWORD: &str = "Tea-Kettle-Orbit-42";
const NAME: &str = "欧阳明月";
const ID_NUMBER: &str = "11010519491231002X";
const OLD: &str = "13812345678";
const NEW: &str = "13987654321";
const OTHER: &str = "15011112222";
const ACTION: &str = "person.change-mobile";

fn mobile(number: &str) -> MobileNumber {
    MobileNumber::parse(number).expect("mobile")
}

fn login(number: &str) -> LoginName {
    LoginName::customer(number).expect("login name")
}

/// A customer account for a new person signing in with `number`; returns (account, person).
async fn customer(store: &Store, ring: &Keyring, number: &str) -> (String, String) {
    let person = NewPerson {
        legal_name: LegalName::parse(NAME).expect("name"),
        mobile: mobile(number),
        id_number: IdNumber::parse(ID_NUMBER).expect("id"),
    };
    let person = store
        .person_insert(ring, &person, WHO, T0)
        .await
        .expect("person");
    let hash = SecretHash::new(
        SecretKind::LoginPassword,
        PASSWORD.as_bytes(),
        ITERATIONS_MIN,
    )
    .expect("hash");
    let account = store
        .account_create(
            ring,
            &NewAccount {
                population: Population::Customer,
                login_name: &login(number),
                person_id: Some(&person),
                password: &hash,
                must_change_password: false,
            },
            WHO,
            T0,
        )
        .await
        .expect("account");
    (account, person)
}

async fn sign_in(store: &Store, ring: &Keyring, number: &str, at_ms: i64) -> SignIn {
    store
        .password_sign_in(
            ring,
            &login(number),
            PASSWORD,
            &LockoutPolicy::default(),
            "sign-in",
            at_ms,
        )
        .await
        .expect("sign in")
}

/// The stored rows of an account and its person, every column as text, to compare before and
/// after a refused change.
async fn rows(store: &Store, account: &str, person: &str) -> Vec<String> {
    let account_row = sqlx::query(
        "SELECT login_name_index, login_name_display, status, person_id FROM accounts WHERE id = $1",
    )
    .bind(account)
    .fetch_one(store.pool())
    .await
    .expect("account row");
    let person_row = sqlx::query(
        "SELECT p.legal_name, p.mobile, p.mobile_index, p.id_number, p.id_number_index,
                p.record_mac, k.wrapped
         FROM persons p JOIN person_keys k ON k.person_id = p.id WHERE p.id = $1",
    )
    .bind(person)
    .fetch_one(store.pool())
    .await
    .expect("person row");
    let mut out: Vec<String> = (0..3)
        .map(|i| account_row.try_get(i).expect("text"))
        .collect();
    out.push(
        account_row
            .try_get::<Option<String>, _>(3)
            .expect("person id")
            .unwrap_or_default(),
    );
    out.extend((0..7).map(|i| person_row.try_get::<String, _>(i).expect("text")));
    out
}

/// Every audit entry, all columns, as one text.
async fn audit_text(store: &Store) -> String {
    store
        .audit_entries(0, 100_000)
        .await
        .expect("entries")
        .iter()
        .map(|e| {
            [
                e.actor.as_str(),
                &e.action,
                &e.object,
                &e.outcome,
                &e.request_id,
                &e.detail,
                &e.prev_hash,
                &e.hash,
            ]
            .join("|")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The change-mobile entries, as (actor, object, outcome, detail).
async fn change_entries(store: &Store) -> Vec<(String, String, String, serde_json::Value)> {
    store
        .audit_entries(0, 100_000)
        .await
        .expect("entries")
        .into_iter()
        .filter(|e| e.action == ACTION)
        .map(|e| {
            let detail = serde_json::from_str(&e.detail).expect("json");
            (e.actor, e.object, e.outcome, detail)
        })
        .collect()
}

/// A change moves the number everywhere it counts, in one go: the person reads back with the
/// new number (the other fields and the person key untouched, the mobile re-sealed under that
/// key), the blind index finds the new number and not the old, the record MAC still verifies,
/// sign-in works with the new number and is refused with the old, the account shows the new
/// number masked, and the account's sessions end (the login name changed). Another customer is
/// unaffected.
/// req: 5.1-b, 5.6.1-a1
#[tokio::test]
async fn change_moves_record_index_mac_and_sign_in() {
    for test in stores().await {
        let master = initialised(&test).await;
        let store = &test.store;
        let ring = store.keyring_load(&master).await.expect("ring");
        let (account, person) = customer(store, &ring, OLD).await;
        let (other, other_person) = customer(store, &ring, OTHER).await;
        let policy = SessionPolicy::default();
        let (token, _) = store
            .session_start(&account, "two-factor", &policy, "r", T0 + 1)
            .await
            .expect("session");
        let before = rows(store, &account, &person).await;
        let other_before = rows(store, &other, &other_person).await;

        let ended = store
            .person_change_mobile(&ring, &account, &mobile(NEW), "change", T0 + 10)
            .await
            .expect("change");
        assert_eq!(
            ended, 1,
            "{}: the session ended with the change",
            test.label
        );

        let read = store.person_get(&ring, &person).await.expect("person");
        assert_eq!(read.mobile, mobile(NEW), "{}", test.label);
        assert!(read.legal_name == LegalName::parse(NAME).expect("name"));
        assert!(read.id_number == IdNumber::parse(ID_NUMBER).expect("id"));
        let after = rows(store, &account, &person).await;
        // legal_name, id_number, id_number_index and the wrapped person key are unchanged;
        // the login index, display, sealed mobile, its index and the MAC all moved.
        for (column, i) in [("legal_name", 4), ("id_number", 7), ("id_number_index", 8)] {
            assert_eq!(before[i], after[i], "{}: {column} changed", test.label);
        }
        assert_eq!(before[10], after[10], "{}: person key re-made", test.label);
        for (column, i) in [
            ("login_name_index", 0),
            ("login_name_display", 1),
            ("mobile", 5),
            ("mobile_index", 6),
            ("record_mac", 9),
        ] {
            assert_ne!(before[i], after[i], "{}: {column} not moved", test.label);
        }
        assert!(after[5].starts_with("sm4-gcm:v1:"), "{}", after[5]);
        assert!(!after[5].contains(NEW) && !after[6].contains(NEW));
        assert_eq!(after[1], "139****4321");

        let found = store
            .person_find_by_mobile(&ring, &mobile(NEW))
            .await
            .expect("find new");
        assert_eq!(found, vec![person.clone()], "{}", test.label);
        let found = store
            .person_find_by_mobile(&ring, &mobile(OLD))
            .await
            .expect("find old");
        assert!(found.is_empty(), "{}: old number still indexed", test.label);
        let failing = store.persons_verify(&ring).await.expect("verify");
        assert!(failing.is_empty(), "{}: {failing:?}", test.label);

        match sign_in(store, &ring, NEW, T0 + 20).await {
            SignIn::Accepted { account_id, .. } => assert_eq!(account_id, account),
            SignIn::Refused => panic!("{}: new number refused", test.label),
        }
        assert_eq!(
            sign_in(store, &ring, OLD, T0 + 30).await,
            SignIn::Refused,
            "{}: old number still signs in",
            test.label
        );
        let found = store.account_find(&ring, &login(NEW)).await.expect("find");
        assert_eq!(found.map(|a| a.id), Some(account.clone()));
        assert!(
            store
                .account_find(&ring, &login(OLD))
                .await
                .expect("find")
                .is_none()
        );
        let live = store
            .session_check(&token, &policy, "r", T0 + 40)
            .await
            .expect("session check");
        assert!(live.is_none(), "{}: the session is gone", test.label);

        assert_eq!(rows(store, &other, &other_person).await, other_before);
        assert!(matches!(
            sign_in(store, &ring, OTHER, T0 + 50).await,
            SignIn::Accepted { .. }
        ));
    }
}

/// A number another account signs in with is refused with a conflict whose message holds no
/// number, nothing changes (rows byte for byte, sign-in with the old number), and the refusal
/// is audited with the new number masked.
/// req: 5.1-b, 5.6.1-a1
#[tokio::test]
async fn number_of_another_account_is_refused_and_nothing_changes() {
    for test in stores().await {
        let master = initialised(&test).await;
        let store = &test.store;
        let ring = store.keyring_load(&master).await.expect("ring");
        let (account, person) = customer(store, &ring, OLD).await;
        let (other, other_person) = customer(store, &ring, OTHER).await;
        let before = rows(store, &account, &person).await;
        let other_before = rows(store, &other, &other_person).await;

        let refused = store
            .person_change_mobile(&ring, &account, &mobile(OTHER), "taken", T0 + 10)
            .await;
        let Err(StoreError::Conflict(message)) = refused else {
            panic!("{}: expected a conflict, got {refused:?}", test.label);
        };
        assert!(
            !message.chars().any(|c| c.is_ascii_digit()),
            "message repeats a number: {message}"
        );

        assert_eq!(
            rows(store, &account, &person).await,
            before,
            "{}",
            test.label
        );
        assert_eq!(rows(store, &other, &other_person).await, other_before);
        let read = store.person_get(&ring, &person).await.expect("person");
        assert_eq!(read.mobile, mobile(OLD));
        assert!(matches!(
            sign_in(store, &ring, OLD, T0 + 20).await,
            SignIn::Accepted { account_id, .. } if account_id == account
        ));
        match sign_in(store, &ring, OTHER, T0 + 30).await {
            SignIn::Accepted { account_id, .. } => assert_eq!(account_id, other),
            SignIn::Refused => panic!("{}: the other account lost its name", test.label),
        }
        assert!(
            store
                .persons_verify(&ring)
                .await
                .expect("verify")
                .is_empty()
        );

        let entries = change_entries(store).await;
        assert_eq!(entries.len(), 1, "{}", test.label);
        let (actor, object, outcome, detail) = &entries[0];
        assert_eq!(actor, &format!("account:{account}"));
        assert_eq!(object, actor);
        assert_eq!(outcome, "denied");
        assert_eq!(detail["reason"], "login-name-taken");
        assert_eq!(detail["new_mobile"], "150****2222");
    }
}

/// Every other refusal writes nothing but a denied audit entry: the current number again, an
/// unknown account, a staff account, a customer without a personal record, a closed account,
/// and an erased person.
/// req: 5.1-b, 5.6.1-a1
#[tokio::test]
async fn refusals_change_nothing() {
    for test in stores().await {
        let master = initialised(&test).await;
        let store = &test.store;
        let ring = store.keyring_load(&master).await.expect("ring");
        let (account, person) = customer(store, &ring, OLD).await;
        let before = rows(store, &account, &person).await;
        let new = mobile(NEW);

        let same = store
            .person_change_mobile(&ring, &account, &mobile(OLD), "same", T0 + 1)
            .await;
        assert!(matches!(same, Err(StoreError::Refused(_))), "{same:?}");
        let unknown_id = uuid::Uuid::now_v7().to_string();
        let unknown = store
            .person_change_mobile(&ring, &unknown_id, &new, "unknown", T0 + 2)
            .await;
        assert!(
            matches!(unknown, Err(StoreError::NotFound("account"))),
            "{unknown:?}"
        );
        let staff_name = LoginName::staff("alice.wong").expect("staff");
        let staff = create_account(store, &ring, &staff_name, PASSWORD, false, T0).await;
        let staff = store
            .person_change_mobile(&ring, &staff, &new, "staff", T0 + 3)
            .await;
        assert!(matches!(staff, Err(StoreError::Refused(_))), "{staff:?}");
        let bare = create_account(store, &ring, &login(OTHER), PASSWORD, false, T0).await;
        let bare = store
            .person_change_mobile(&ring, &bare, &new, "bare", T0 + 4)
            .await;
        assert!(matches!(bare, Err(StoreError::Refused(_))), "{bare:?}");
        assert_eq!(
            rows(store, &account, &person).await,
            before,
            "{}",
            test.label
        );

        store
            .account_close(&account, 0, WHO, T0 + 5)
            .await
            .expect("close");
        let closed = store
            .person_change_mobile(&ring, &account, &new, "closed", T0 + 6)
            .await;
        assert!(matches!(closed, Err(StoreError::Refused(_))), "{closed:?}");
        let closed_rows = rows(store, &account, &person).await;
        assert_eq!(closed_rows[..2], before[..2], "{}", test.label);
        assert_eq!(closed_rows[4..], before[4..], "{}", test.label);
        assert_eq!(store.erasure_due(T0 + 7).await.expect("erase"), 1);
        let erased = store
            .person_change_mobile(&ring, &account, &new, "erased", T0 + 8)
            .await;
        assert!(matches!(erased, Err(StoreError::Erased)), "{erased:?}");
        assert!(
            store
                .account_find(&ring, &login(NEW))
                .await
                .expect("find")
                .is_none()
        );

        let reasons: Vec<(String, String)> = change_entries(store)
            .await
            .into_iter()
            .map(|(_, object, outcome, detail)| {
                assert_eq!(outcome, "denied");
                (
                    object,
                    detail["reason"].as_str().expect("reason").to_string(),
                )
            })
            .collect();
        let names: Vec<&str> = reasons.iter().map(|(_, reason)| reason.as_str()).collect();
        assert_eq!(
            names,
            [
                "same-number",
                "unknown-account",
                "staff-account",
                "no-personal-record",
                "account-not-active",
                "person-erased"
            ],
            "{}",
            test.label
        );
        assert_eq!(reasons[1].0, "account:unknown", "caller input logged");
    }
}

/// The audit entry of a change names the account, the person and both numbers masked; no full
/// old or new number is anywhere in the audit table, and the chain stays intact.
/// req: 5.1-b, 5.6.1-a1
#[tokio::test]
async fn audit_holds_only_masked_numbers() {
    for test in stores().await {
        let master = initialised(&test).await;
        let store = &test.store;
        let ring = store.keyring_load(&master).await.expect("ring");
        let (account, person) = customer(store, &ring, OLD).await;
        customer(store, &ring, OTHER).await;
        store
            .person_change_mobile(&ring, &account, &mobile(NEW), "change-1", T0 + 10)
            .await
            .expect("change");
        let refused = store
            .person_change_mobile(&ring, &account, &mobile(OTHER), "change-2", T0 + 20)
            .await;
        assert!(matches!(refused, Err(StoreError::Conflict(_))));

        let entries = change_entries(store).await;
        assert_eq!(entries.len(), 2, "{}", test.label);
        let (actor, object, outcome, detail) = &entries[0];
        assert_eq!(actor, &format!("account:{account}"));
        assert_eq!(object, actor);
        assert_eq!(outcome, "success");
        assert_eq!(detail["old_mobile"], "138****5678");
        assert_eq!(detail["new_mobile"], "139****4321");
        assert_eq!(detail["person"], person.as_str());

        let text = audit_text(store).await;
        for number in [OLD, NEW, OTHER] {
            assert!(
                !text.contains(number),
                "{}: a full number is in the audit table",
                test.label
            );
        }
        let report = store.audit_verify(None, |_| {}).await.expect("verify");
        assert!(report.is_intact(), "{}: {:?}", test.label, report.problems);
    }
}

/// Two accounts changed at once, through two nodes, to the same new number: exactly one
/// succeeds, the other gets a conflict and keeps its old number, and the new number signs in
/// to the winner only. Repeated to give the race several chances.
/// req: 5.1-b, 5.6.1-a1
#[tokio::test]
async fn concurrent_changes_to_one_number_let_exactly_one_win() {
    const ROUNDS: usize = 4;
    for test in stores().await {
        let master = initialised(&test).await;
        let store = &test.store;
        let ring = store.keyring_load(&master).await.expect("ring");
        let other_node = Store::connect(&test.url, &PoolSettings::default())
            .await
            .expect("second node");
        for round in 0..ROUNDS {
            let (first_old, second_old, new) = (
                format!("1380000{round:04}"),
                format!("1370000{round:04}"),
                format!("1360000{round:04}"),
            );
            let (first, first_person) = customer(store, &ring, &first_old).await;
            let (second, second_person) = customer(store, &ring, &second_old).await;
            let target = mobile(&new);
            let at = T0 + 1_000 * i64::try_from(round).expect("round");
            let (a, b) = tokio::join!(
                store.person_change_mobile(&ring, &first, &target, "a", at),
                other_node.person_change_mobile(&ring, &second, &target, "b", at),
            );
            let (winner, winner_person, loser, loser_person, loser_old) = match (&a, &b) {
                (Ok(_), Err(StoreError::Conflict(_))) => {
                    (&first, &first_person, &second, &second_person, &second_old)
                }
                (Err(StoreError::Conflict(_)), Ok(_)) => {
                    (&second, &second_person, &first, &first_person, &first_old)
                }
                _ => panic!("{}: round {round}: {a:?} / {b:?}", test.label),
            };
            match sign_in(store, &ring, &new, at + 10).await {
                SignIn::Accepted { account_id, .. } => assert_eq!(&account_id, winner),
                SignIn::Refused => panic!("{}: the new number signs in nowhere", test.label),
            }
            match sign_in(store, &ring, loser_old, at + 20).await {
                SignIn::Accepted { account_id, .. } => assert_eq!(&account_id, loser),
                SignIn::Refused => panic!("{}: the loser lost its number", test.label),
            }
            let found = store
                .person_find_by_mobile(&ring, &target)
                .await
                .expect("find");
            assert_eq!(found, vec![winner_person.clone()], "{}", test.label);
            let loser_read = store.person_get(&ring, loser_person).await.expect("loser");
            assert_eq!(loser_read.mobile, mobile(loser_old));
        }
        assert!(
            store
                .persons_verify(&ring)
                .await
                .expect("verify")
                .is_empty()
        );
        let outcomes: Vec<String> = change_entries(store)
            .await
            .into_iter()
            .map(|(_, _, outcome, _)| outcome)
            .collect();
        let successes = outcomes.iter().filter(|o| *o == "success").count();
        assert_eq!((successes, outcomes.len()), (ROUNDS, 2 * ROUNDS));
    }
}
