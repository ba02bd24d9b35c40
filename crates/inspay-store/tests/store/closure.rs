//! Per-person data keys, account closure and erasure after retention, on every configured
//! database.

use crate::support::{TestStore, WHO, create_account, initialised, stores};
use inspay_core::sensitive::{IdNumber, LegalName, MobileNumber, PersonalField};
use inspay_crypto::sm2::Sm2PrivateKey;
use inspay_crypto::sm4::Sm4Key;
use inspay_identity::lockout::LockoutPolicy;
use inspay_identity::login_name::LoginName;
use inspay_identity::otp::OtpPurpose;
use inspay_identity::secret_hash::{ITERATIONS_MIN, SecretHash, SecretKind};
use inspay_identity::session::SessionPolicy;
use inspay_kms::material::KeyMaterial;
use inspay_kms::sealed::Sealed;
use inspay_kms::{KeyPurpose, Keyring};
use inspay_store::accounts::{NewAccount, Population, SignIn};
use inspay_store::one_time_codes::OtpPolicy;
use inspay_store::persons::NewPerson;
use inspay_store::{Store, StoreError};
use sqlx::Row;

const T0: i64 = 1_800_000_000_000;
const DAY_MS: i64 = 86_400_000;
const RETENTION_DAYS: u32 = 30;
const PASSWORD: &str = "Tea-Kettle-Orbit-42";
const NAME: &str = "欧阳明月";
const MOBILE: &str = "13812345678";
const ID_NUMBER: &str = "11010519491231002X";
const COLUMNS: [&str; 3] = ["legal_name", "mobile", "id_number"];

fn new_person(mobile: &str) -> NewPerson {
    NewPerson {
        legal_name: LegalName::parse(NAME).expect("name"),
        mobile: MobileNumber::parse(mobile).expect("mobile"),
        id_number: IdNumber::parse(ID_NUMBER).expect("id"),
    }
}

/// A customer account for a new person; returns (account id, person id).
async fn customer(store: &Store, ring: &Keyring, mobile: &str) -> (String, String) {
    let person = store
        .person_insert(ring, &new_person(mobile), WHO, T0)
        .await
        .expect("person");
    let account = customer_for(store, ring, mobile, &person).await;
    (account, person)
}

/// A customer account signing in with `mobile`, for an existing person.
async fn customer_for(store: &Store, ring: &Keyring, mobile: &str, person: &str) -> String {
    let hash = SecretHash::new(
        SecretKind::LoginPassword,
        PASSWORD.as_bytes(),
        ITERATIONS_MIN,
    )
    .expect("hash");
    store
        .account_create(
            ring,
            &NewAccount {
                population: Population::Customer,
                login_name: &LoginName::customer(mobile).expect("login name"),
                person_id: Some(person),
                password: &hash,
                must_change_password: false,
            },
            WHO,
            T0,
        )
        .await
        .expect("account")
}

async fn text(store: &Store, sql: &'static str, id: &str) -> String {
    sqlx::query(sql)
        .bind(id)
        .fetch_one(store.pool())
        .await
        .expect("row")
        .try_get(0)
        .expect("text")
}

async fn count(store: &Store, sql: &'static str, id: &str) -> i64 {
    sqlx::query(sql)
        .bind(id)
        .fetch_one(store.pool())
        .await
        .expect("row")
        .try_get(0)
        .expect("count")
}

/// The person's key, unwrapped from `person_keys` the way inspay does it.
async fn person_key(store: &Store, ring: &Keyring, person: &str) -> Sm4Key {
    let wrapped = text(
        store,
        "SELECT wrapped FROM person_keys WHERE person_id = $1",
        person,
    )
    .await;
    assert!(wrapped.starts_with("sm4-gcm:v1:"), "{wrapped}");
    let aad = format!("person-key|{person}");
    let bytes = ring
        .open_field(aad.as_bytes(), &Sealed::parse(&wrapped).expect("sealed"))
        .expect("unwrap");
    Sm4Key::from_slice(&bytes).expect("16 bytes")
}

/// The sealed text of one column of a person's row.
async fn sealed_column(store: &Store, person: &str, column: &str) -> Sealed {
    let row = sqlx::query("SELECT legal_name, mobile, id_number FROM persons WHERE id = $1")
        .bind(person)
        .fetch_one(store.pool())
        .await
        .expect("row");
    let index = COLUMNS.iter().position(|c| *c == column).expect("column");
    let stored: String = row.try_get(index).expect("text");
    Sealed::parse(&stored).expect("sealed")
}

fn field_aad(person: &str, column: &str) -> Vec<u8> {
    format!("persons|{column}|{person}").into_bytes()
}

/// Every SM4 key in the keyring.
fn keyring_sm4_keys(ring: &Keyring) -> Vec<&Sm4Key> {
    ring.entries()
        .filter_map(|entry| match &entry.material {
            Some(KeyMaterial::Sm4(key)) => Some(key),
            _ => None,
        })
        .collect()
}

/// Everything the database holds, as the bytes an attacker with the disk would read: the
/// SQLite files (database, WAL, shared memory) or, on PostgreSQL, every table dumped as text.
async fn storage_bytes(test: &TestStore) -> Vec<(String, Vec<u8>)> {
    if let Some(dir) = &test._dir {
        return std::fs::read_dir(dir.path())
            .expect("dir")
            .map(|entry| {
                let path = entry.expect("entry").path();
                let bytes = std::fs::read(&path).expect("file");
                (path.display().to_string(), bytes)
            })
            .collect();
    }
    let tables: Vec<String> = sqlx::query(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
    )
    .fetch_all(test.store.pool())
    .await
    .expect("tables")
    .iter()
    .map(|row| row.try_get(0).expect("name"))
    .collect();
    assert!(tables.iter().any(|table| table == "person_keys"));
    let mut out = vec![];
    for table in tables {
        let dump: Option<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT string_agg(t::text, '|') FROM {table} t"
        )))
        .fetch_one(test.store.pool())
        .await
        .expect("dump")
        .try_get(0)
        .expect("text");
        out.push((table, dump.unwrap_or_default().into_bytes()));
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Closing a customer account deletes every session, revokes every credential key, drops the
/// pending one-time codes bound to the account or sent to its number (others stay), marks it
/// closed so sign-in is refused, schedules erasure at closure plus retention, and is audited.
/// req: 5.6.5-a4, 5.6.5-c
#[tokio::test]
async fn closing_ends_sessions_keys_codes_and_sign_in() {
    for test in stores().await {
        let master = initialised(&test).await;
        let store = &test.store;
        let ring = store.keyring_load(&master).await.expect("ring");
        let (account, _) = customer(store, &ring, MOBILE).await;
        let policy = SessionPolicy::default();
        let mut tokens = vec![];
        for at in [T0, T0 + 1] {
            let (token, _) = store
                .session_start(&account, "two-factor", &policy, "r", at)
                .await
                .expect("session");
            tokens.push(token);
        }
        let device = Sm2PrivateKey::generate().expect("sm2");
        let key_id = store
            .device_key_enrol(&account, device.public_key(), "phone", "r", T0)
            .await
            .expect("device key");
        let otp = OtpPolicy::default();
        let other_mobile = MobileNumber::parse("13987654321").expect("mobile");
        let mobile = MobileNumber::parse(MOBILE).expect("mobile");
        for (number, purpose, binding) in [
            (&mobile, OtpPurpose::StepUp, account.as_str()),
            (&other_mobile, OtpPurpose::Registration, "someone-else"),
        ] {
            store
                .otp_issue(&ring, number, purpose, binding, &otp, T0)
                .await
                .expect("issue")
                .expect("not rate limited");
        }

        let closed = store
            .account_close(&account, RETENTION_DAYS, WHO, T0 + 10)
            .await
            .expect("close");
        assert_eq!(closed.sessions_ended, 2, "{}", test.label);
        assert_eq!(closed.keys_revoked, 1, "{}", test.label);
        assert_eq!(
            closed.erase_after_ms,
            T0 + 10 + i64::from(RETENTION_DAYS) * DAY_MS
        );

        for token in &tokens {
            let live = store
                .session_check(token, &policy, "r", T0 + 20)
                .await
                .expect("check");
            assert_eq!(live, None, "{}: session survived closure", test.label);
        }
        let sql = "SELECT COUNT(*) FROM sessions WHERE account_id = $1";
        assert_eq!(count(store, sql, &account).await, 0);
        let sql = "SELECT revoked_at_ms FROM credential_keys WHERE id = $1";
        let revoked: Option<i64> = sqlx::query(sql)
            .bind(&key_id)
            .fetch_one(store.pool())
            .await
            .expect("key")
            .try_get(0)
            .expect("revoked");
        assert_eq!(revoked, Some(T0 + 10));
        let sql = "SELECT COUNT(*) FROM one_time_codes WHERE binding = $1";
        assert_eq!(count(store, sql, &account).await, 0, "account's code kept");
        assert_eq!(
            count(store, sql, "someone-else").await,
            1,
            "other code lost"
        );
        let status = text(store, "SELECT status FROM accounts WHERE id = $1", &account).await;
        assert_eq!(status, "closed");

        let name = LoginName::customer(MOBILE).expect("name");
        let sign_in = store
            .password_sign_in(
                &ring,
                &name,
                PASSWORD,
                &LockoutPolicy::default(),
                "r",
                T0 + 30,
            )
            .await
            .expect("sign in");
        assert_eq!(sign_in, SignIn::Refused, "{}", test.label);
        let entries = store.audit_entries(0, 10_000).await.expect("audit");
        let close = entries
            .iter()
            .find(|entry| entry.action == "account.close")
            .expect("closure audited");
        assert_eq!(close.object, format!("account:{account}"));
        assert_eq!(close.outcome, "success");
        assert!(
            close.detail.contains("\"sessions_ended\":\"2\""),
            "{}",
            close.detail
        );
    }
}

/// Closure refuses staff accounts, unknown accounts and accounts already closed, changes
/// nothing for them, and audits each refusal.
/// req: 5.6.5-a4
#[tokio::test]
async fn closure_refuses_staff_unknown_and_closed_accounts() {
    for test in stores().await {
        let master = initialised(&test).await;
        let store = &test.store;
        let ring = store.keyring_load(&master).await.expect("ring");
        let staff_name = LoginName::staff("adjuster.li").expect("name");
        let staff = create_account(store, &ring, &staff_name, PASSWORD, false, T0).await;
        let (account, _) = customer(store, &ring, MOBILE).await;

        let error = store
            .account_close(&staff, RETENTION_DAYS, WHO, T0)
            .await
            .expect_err("staff");
        assert!(matches!(error, StoreError::Refused(_)), "{error}");
        let status = text(store, "SELECT status FROM accounts WHERE id = $1", &staff).await;
        assert_eq!(status, "active");
        let error = store
            .account_close("no-such-account", RETENTION_DAYS, WHO, T0)
            .await
            .expect_err("unknown");
        assert!(matches!(error, StoreError::NotFound(_)), "{error}");
        store
            .account_close(&account, RETENTION_DAYS, WHO, T0)
            .await
            .expect("first close");
        let error = store
            .account_close(&account, 0, WHO, T0 + 1)
            .await
            .expect_err("already closed");
        assert!(matches!(error, StoreError::Conflict(_)), "{error}");
        // The second attempt did not move the erasure date forward.
        let sql = "SELECT COUNT(*) FROM account_closures WHERE account_id = $1";
        assert_eq!(count(store, sql, &account).await, 1);
        assert_eq!(store.erasure_due(T0 + 1).await.expect("erasure"), 0);

        let entries = store.audit_entries(0, 10_000).await.expect("audit");
        let denied: Vec<&str> = entries
            .iter()
            .filter(|entry| entry.action == "account.close" && entry.outcome == "denied")
            .map(|entry| entry.detail.as_str())
            .collect();
        assert_eq!(denied.len(), 3, "{}: {denied:?}", test.label);
        let unknown = entries
            .iter()
            .find(|entry| entry.detail.contains("unknown-account"))
            .expect("unknown audited");
        assert_eq!(unknown.object, "account:unknown", "caller input echoed");
        for reason in ["staff-account", "unknown-account", "already-closed"] {
            assert!(
                denied.iter().any(|detail| detail.contains(reason)),
                "{reason}"
            );
        }
    }
}

/// During the retention period the person stays readable; when it ends, erasure destroys the
/// person's key: the sealed fields no longer open with any key in the keyring (the master key
/// and keyring in hand), the key and the plaintext are nowhere in the database files or WAL,
/// the blind index no longer finds the person, the integrity check does not report the erased
/// row, the audit chain still verifies, and the pseudonymous account id survives.
/// req: 5.6.5-a4, 5.6.5-a1, 5.6.1-a1
#[tokio::test]
async fn erasure_after_retention_makes_the_person_unrecoverable() {
    for test in stores().await {
        let master = initialised(&test).await;
        let store = &test.store;
        let ring = store.keyring_load(&master).await.expect("ring");
        let (account, person) = customer(store, &ring, MOBILE).await;
        let mobile = MobileNumber::parse(MOBILE).expect("mobile");
        store
            .otp_issue(
                &ring,
                &mobile,
                OtpPurpose::Login,
                "flow-1",
                &OtpPolicy::default(),
                T0,
            )
            .await
            .expect("issue")
            .expect("not rate limited");
        let key = person_key(store, &ring, &person).await;
        let wrapped = text(
            store,
            "SELECT wrapped FROM person_keys WHERE person_id = $1",
            &person,
        )
        .await;
        let closed = store
            .account_close(&account, RETENTION_DAYS, WHO, T0)
            .await
            .expect("close");

        // Retention: nothing is due a millisecond before the end, and the person reads.
        let due = closed.erase_after_ms;
        assert_eq!(store.erasure_due(due - 1).await.expect("early"), 0);
        let read = store.person_get(&ring, &person).await.expect("readable");
        assert_eq!(read.mobile.masked().as_str(), "138****5678");
        assert_eq!(
            store
                .person_find_by_mobile(&ring, &mobile)
                .await
                .expect("find"),
            vec![person.clone()]
        );

        assert_eq!(
            store.erasure_due(due).await.expect("erase"),
            1,
            "{}",
            test.label
        );
        let on_disk = storage_bytes(&test).await;
        assert_eq!(store.erasure_due(due + 1).await.expect("again"), 0);

        let error = store.person_get(&ring, &person).await.expect_err("erased");
        assert!(
            matches!(error, StoreError::Erased),
            "{}: {error}",
            test.label
        );
        let sql = "SELECT COUNT(*) FROM person_keys WHERE person_id = $1";
        assert_eq!(count(store, sql, &person).await, 0);
        // With the master key and every data key in hand, the sealed columns stay shut.
        let ring = store.keyring_load(&master).await.expect("ring after");
        let field_versions: Vec<u32> = ring
            .entries()
            .filter(|entry| entry.purpose == KeyPurpose::FieldEncryption)
            .map(|entry| entry.version)
            .collect();
        assert!(!field_versions.is_empty());
        for column in COLUMNS {
            let sealed = sealed_column(store, &person, column).await;
            let aad = field_aad(&person, column);
            for candidate in keyring_sm4_keys(&ring) {
                assert!(candidate.open(&aad, &sealed.bytes).is_err(), "{column}");
            }
            for version in &field_versions {
                let as_field_key = Sealed {
                    key_version: *version,
                    ..sealed.clone()
                };
                assert!(ring.open_field(&aad, &as_field_key).is_err(), "{column}");
            }
            // The ciphertext itself is intact: only the destroyed key opened it.
            assert!(key.open(&aad, &sealed.bytes).is_ok(), "{column}");
        }

        // Nothing on disk (SQLite files, WAL included) or in any table holds the plaintext,
        // the person key or its wrapped form.
        let key_hex = hex::encode(key.expose());
        let needles: Vec<(&str, Vec<u8>)> = vec![
            ("legal name", NAME.as_bytes().to_vec()),
            ("mobile", MOBILE.as_bytes().to_vec()),
            ("ID number", ID_NUMBER.as_bytes().to_vec()),
            ("person key", key.expose().to_vec()),
            ("person key hex", key_hex.clone().into_bytes()),
            ("person key HEX", key_hex.to_uppercase().into_bytes()),
            ("wrapped person key", wrapped.clone().into_bytes()),
        ];
        assert!(on_disk.iter().any(|(_, bytes)| !bytes.is_empty()));
        for (place, bytes) in &on_disk {
            if place.ends_with("-wal") {
                assert!(bytes.is_empty(), "{place}: WAL not truncated after erasure");
            }
            for (what, needle) in &needles {
                assert!(
                    !contains(bytes, needle),
                    "{}: {what} found in {place}",
                    test.label
                );
            }
        }

        let found = store
            .person_find_by_mobile(&ring, &mobile)
            .await
            .expect("find");
        assert!(
            found.is_empty(),
            "{}: blind index still finds {found:?}",
            test.label
        );
        let index_rows = count(
            store,
            "SELECT COUNT(*) FROM persons WHERE id = $1 AND mobile_index = '' AND id_number_index = '' AND record_mac = ''",
            &person,
        )
        .await;
        assert_eq!(index_rows, 1);
        let sql = "SELECT COUNT(*) FROM one_time_codes WHERE binding = $1";
        assert_eq!(count(store, sql, "flow-1").await, 0, "code kept");
        let sends: i64 = sqlx::query("SELECT COUNT(*) FROM sms_sends")
            .fetch_one(store.pool())
            .await
            .expect("sends")
            .try_get(0)
            .expect("count");
        assert_eq!(
            sends, 0,
            "{}: SMS sends under the mobile index kept",
            test.label
        );
        assert_eq!(
            store.persons_verify(&ring).await.expect("verify"),
            Vec::<String>::new()
        );

        // The account id (pseudonymous, kept by the ledger) survives; its login name, display
        // and password hashes do not.
        let marker = format!("erased:{account}");
        let row = sqlx::query(
            "SELECT status, login_name_index, login_name_display, person_id FROM accounts WHERE id = $1",
        )
        .bind(&account)
        .fetch_one(store.pool())
        .await
        .expect("account survives");
        let status: String = row.try_get(0).expect("status");
        let index: String = row.try_get(1).expect("index");
        let display: String = row.try_get(2).expect("display");
        let person_id: Option<String> = row.try_get(3).expect("person");
        assert_eq!(
            (status.as_str(), index, display),
            ("closed", marker.clone(), marker)
        );
        assert_eq!(person_id.as_deref(), Some(person.as_str()));
        let sql = "SELECT COUNT(*) FROM account_secrets WHERE account_id = $1";
        assert_eq!(count(store, sql, &account).await, 0);

        let report = store
            .audit_verify(None, |_| {})
            .await
            .expect("audit verify");
        assert!(report.is_intact(), "{}: {:?}", test.label, report.problems);
        let entries = store.audit_entries(0, 10_000).await.expect("audit");
        for (action, object) in [
            ("account.erase", format!("account:{account}")),
            ("person.erase", format!("person:{person}")),
        ] {
            assert!(
                entries
                    .iter()
                    .any(|e| e.action == action && e.object == object),
                "{action} not audited"
            );
        }
    }
}

/// Once erased, the mobile number is free again: a new account can sign up with it (before
/// erasure it cannot), and the new account signs in while the closed one never does.
/// req: 5.6.5-a4
#[tokio::test]
async fn erasure_frees_the_login_name_for_a_new_account() {
    for test in stores().await {
        let master = initialised(&test).await;
        let store = &test.store;
        let ring = store.keyring_load(&master).await.expect("ring");
        let (old, _) = customer(store, &ring, MOBILE).await;
        let closed = store.account_close(&old, 0, WHO, T0).await.expect("close");
        assert_eq!(closed.erase_after_ms, T0);
        let person = store
            .person_insert(&ring, &new_person(MOBILE), WHO, T0)
            .await
            .expect("new person");
        let name = LoginName::customer(MOBILE).expect("name");
        let hash = SecretHash::new(
            SecretKind::LoginPassword,
            PASSWORD.as_bytes(),
            ITERATIONS_MIN,
        )
        .expect("hash");
        let account = NewAccount {
            population: Population::Customer,
            login_name: &name,
            person_id: Some(&person),
            password: &hash,
            must_change_password: false,
        };
        let error = store
            .account_create(&ring, &account, WHO, T0)
            .await
            .expect_err("still taken during retention");
        assert!(matches!(error, StoreError::Conflict(_)), "{error}");

        assert_eq!(store.erasure_due(T0).await.expect("erase"), 1);
        let new = store
            .account_create(&ring, &account, WHO, T0 + 1)
            .await
            .expect("free after erasure");
        let policy = LockoutPolicy::default();
        let sign_in = store
            .password_sign_in(&ring, &name, PASSWORD, &policy, "r", T0 + 2)
            .await
            .expect("sign in");
        assert!(
            matches!(&sign_in, SignIn::Accepted { account_id, .. } if *account_id == new),
            "{}: {sign_in:?}",
            test.label
        );
        assert_ne!(new, old);
        // The new person shares the number: erasing the old one left its index alone.
        let mobile = MobileNumber::parse(MOBILE).expect("mobile");
        let found = store
            .person_find_by_mobile(&ring, &mobile)
            .await
            .expect("find");
        assert_eq!(found, vec![person]);
    }
}

/// A person referred to by a second account that is still open is kept when the first account
/// is erased, and erased with the last one.
/// req: 5.6.5-a4
#[tokio::test]
async fn a_person_with_another_open_account_is_kept_until_the_last_closes() {
    for test in stores().await {
        let master = initialised(&test).await;
        let store = &test.store;
        let ring = store.keyring_load(&master).await.expect("ring");
        let (first, person) = customer(store, &ring, MOBILE).await;
        let second = customer_for(store, &ring, "13987654321", &person).await;
        store
            .account_close(&first, 1, WHO, T0)
            .await
            .expect("close first");
        assert_eq!(
            store.erasure_due(T0 + DAY_MS).await.expect("erase first"),
            1
        );
        store
            .person_get(&ring, &person)
            .await
            .expect("kept for the open account");
        let index = text(
            store,
            "SELECT login_name_index FROM accounts WHERE id = $1",
            &first,
        )
        .await;
        assert_eq!(index, format!("erased:{first}"));

        store
            .account_close(&second, 1, WHO, T0 + DAY_MS)
            .await
            .expect("close second");
        assert_eq!(
            store
                .erasure_due(T0 + 2 * DAY_MS)
                .await
                .expect("erase second"),
            1
        );
        let error = store.person_get(&ring, &person).await.expect_err("erased");
        assert!(
            matches!(error, StoreError::Erased),
            "{}: {error}",
            test.label
        );
    }
}

/// Every person has their own random data key, stored only wrapped: two people's keys differ,
/// one person's key does not open another's field even with the right associated data, no key
/// in the keyring opens a field, and a field copied into another person's row fails to open.
/// req: 5.6.1-a1, 5.6.5-a4
#[tokio::test]
async fn each_person_is_sealed_under_their_own_key() {
    for test in stores().await {
        let master = initialised(&test).await;
        let store = &test.store;
        let ring = store.keyring_load(&master).await.expect("ring");
        let alice = store
            .person_insert(&ring, &new_person(MOBILE), WHO, T0)
            .await
            .expect("alice");
        let bob = store
            .person_insert(&ring, &new_person("13987654321"), WHO, T0)
            .await
            .expect("bob");
        let alice_key = person_key(store, &ring, &alice).await;
        let bob_key = person_key(store, &ring, &bob).await;
        assert_ne!(alice_key.expose(), bob_key.expose());
        let wrapped = text(
            store,
            "SELECT wrapped FROM person_keys WHERE person_id = $1",
            &alice,
        )
        .await;
        assert!(!contains(
            wrapped.as_bytes(),
            hex::encode(alice_key.expose()).as_bytes()
        ));

        for column in COLUMNS {
            let sealed = sealed_column(store, &bob, column).await;
            assert!(sealed.to_text().starts_with("sm4-gcm:v1:"));
            let aad = field_aad(&bob, column);
            assert!(bob_key.open(&aad, &sealed.bytes).is_ok(), "{column}");
            assert!(alice_key.open(&aad, &sealed.bytes).is_err(), "{column}");
            for candidate in keyring_sm4_keys(&ring) {
                assert!(candidate.open(&aad, &sealed.bytes).is_err(), "{column}");
            }
        }

        // Bob's sealed ID number copied into Alice's row does not open there.
        let bobs = text(store, "SELECT id_number FROM persons WHERE id = $1", &bob).await;
        sqlx::query("UPDATE persons SET id_number = $1 WHERE id = $2")
            .bind(&bobs)
            .bind(&alice)
            .execute(store.pool())
            .await
            .expect("copy");
        let error = store
            .person_get(&ring, &alice)
            .await
            .expect_err("copied field");
        assert!(!matches!(error, StoreError::Erased), "{error}");
        store.person_get(&ring, &bob).await.expect("bob unaffected");
    }
}

/// The integrity check catches what an erasure would look like if faked outside inspay (a live
/// person's row marked erased while its key remains), a person key deleted outside inspay, and
/// a person key swapped with another person's; reading such rows fails.
/// req: 5.6.1-b, 5.6.5-a4
#[tokio::test]
async fn integrity_check_catches_faked_erasure_and_key_tampering() {
    for test in stores().await {
        let master = initialised(&test).await;
        let store = &test.store;
        let ring = store.keyring_load(&master).await.expect("ring");
        let mut people = vec![];
        for mobile in ["13800000001", "13800000002", "13800000003", "13800000004"] {
            people.push(
                store
                    .person_insert(&ring, &new_person(mobile), WHO, T0)
                    .await
                    .expect("person"),
            );
        }
        assert_eq!(
            store.persons_verify(&ring).await.expect("clean"),
            Vec::<String>::new()
        );
        let (faked, deleted, swapped, donor) = (&people[0], &people[1], &people[2], &people[3]);
        sqlx::query(
            "UPDATE persons SET mobile_index = '', id_number_index = '', record_mac = '', erased_at_ms = $2 WHERE id = $1",
        )
        .bind(faked)
        .bind(T0)
        .execute(store.pool())
        .await
        .expect("fake erasure");
        sqlx::query("DELETE FROM person_keys WHERE person_id = $1")
            .bind(deleted)
            .execute(store.pool())
            .await
            .expect("delete key");
        let donor_wrap = text(
            store,
            "SELECT wrapped FROM person_keys WHERE person_id = $1",
            donor,
        )
        .await;
        sqlx::query("UPDATE person_keys SET wrapped = $1 WHERE person_id = $2")
            .bind(&donor_wrap)
            .bind(swapped)
            .execute(store.pool())
            .await
            .expect("swap key");

        let mut expected = vec![faked.clone(), deleted.clone(), swapped.clone()];
        expected.sort();
        assert_eq!(
            store.persons_verify(&ring).await.expect("verify"),
            expected,
            "{}",
            test.label
        );
        let error = store.person_get(&ring, deleted).await.expect_err("no key");
        assert!(matches!(error, StoreError::Integrity(_)), "{error}");
        let error = store
            .person_get(&ring, swapped)
            .await
            .expect_err("swapped key");
        assert!(matches!(error, StoreError::Kms(_)), "{error}");
        store.person_get(&ring, donor).await.expect("donor intact");
        // A rewrap refuses to paper over a missing key.
        let error = store
            .persons_rewrap(&ring, |_, _| {})
            .await
            .expect_err("missing key");
        assert!(matches!(error, StoreError::Integrity(_)), "{error}");
    }
}
