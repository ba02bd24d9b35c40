//! Device-bound SM2 keys and staff certificates that prove single-use server challenges, on
//! every configured database.

mod certificates;

use crate::support::{TestStore, WHO, create_account, initialised, stores};
use inspay_crypto::sm2::{Sm2PrivateKey, Sm2PublicKey};
use inspay_identity::login_name::LoginName;
use inspay_store::credential_keys::{
    CERTIFICATES_LIVE_MAX, CHALLENGE_TTL_S, CHALLENGES_LIVE_PER_KEY_MAX, DEVICE_KEYS_LIVE_MAX,
    KeyChallenge, KeyKind, KeyProof,
};
use inspay_store::{Store, StoreError};
use sqlx::{Column, Row};

const T0: i64 = 1_800_000_000_000;
const PASSWORD: &str = "Tea-Kettle-Orbit-42";
const DAY_MS: i64 = 86_400_000;

/// Accounts every test uses.
struct Accounts {
    customer: String,
    other_customer: String,
    staff: String,
}

async fn accounts(test: &TestStore, at_ms: i64) -> Accounts {
    let master = initialised(test).await;
    let ring = test.store.keyring_load(&master).await.expect("ring");
    let store = &test.store;
    let name = |mobile| LoginName::customer(mobile).expect("mobile");
    Accounts {
        customer: create_account(store, &ring, &name("13812345678"), PASSWORD, false, at_ms).await,
        other_customer: create_account(store, &ring, &name("13912345678"), PASSWORD, false, at_ms)
            .await,
        staff: create_account(
            store,
            &ring,
            &LoginName::staff("security.zhao").expect("name"),
            PASSWORD,
            false,
            at_ms,
        )
        .await,
    }
}

fn device_key() -> Sm2PrivateKey {
    Sm2PrivateKey::generate().expect("key")
}

fn sign(key: &Sm2PrivateKey, challenge: &KeyChallenge) -> Vec<u8> {
    key.sign(&challenge.message).expect("sign").to_der()
}

async fn enrol(store: &Store, account: &str, key: &Sm2PrivateKey, at_ms: i64) -> String {
    store
        .device_key_enrol(account, key.public_key(), "Phone", "r-enrol", at_ms)
        .await
        .expect("enrol")
}

async fn issue(
    store: &Store,
    account: &str,
    key_id: &str,
    purpose: &str,
    binding: &str,
    at_ms: i64,
) -> KeyChallenge {
    store
        .key_challenge_issue(account, key_id, purpose, binding, at_ms)
        .await
        .expect("issue")
}

async fn answer(
    store: &Store,
    challenge: &KeyChallenge,
    purpose: &str,
    binding: &str,
    signature: &[u8],
    at_ms: i64,
) -> KeyProof {
    store
        .key_challenge_answer(
            &challenge.id,
            purpose,
            binding,
            signature,
            "r-answer",
            at_ms,
        )
        .await
        .expect("answer")
}

/// The `auth.key` audit entries, in order, as (outcome, detail JSON).
async fn key_audit(store: &Store) -> Vec<(String, String)> {
    store
        .audit_entries(0, 10_000)
        .await
        .expect("audit")
        .into_iter()
        .filter(|entry| entry.action == "auth.key")
        .map(|entry| (entry.outcome, entry.detail))
        .collect()
}

fn reason(detail: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(detail).expect("detail json");
    value["reason"].as_str().map(str::to_string)
}

/// A device key proves a challenge once: the message is domain-separated and names the
/// challenge, purpose, binding, account, key and nonce; the right signature is verified and
/// moves `last_used_at_ms`; the same signature replayed on the same challenge, or presented
/// for a new challenge, is refused; every answer is audited with a reason word.
/// req: 5.2.1.1, 5.2.1.1-a, 5.2.1.1-d3
#[tokio::test]
async fn device_key_proves_a_challenge_once() {
    for test in stores().await {
        let store = &test.store;
        let ids = accounts(&test, T0).await;
        let key = device_key();
        let key_id = enrol(store, &ids.customer, &key, T0).await;
        let listed = store
            .credential_keys_list(&ids.customer)
            .await
            .expect("list");
        assert_eq!(listed.len(), 1, "{}", test.label);
        assert_eq!(listed[0].id, key_id);
        assert_eq!(listed[0].kind, KeyKind::DeviceKey);
        assert_eq!(
            listed[0].fingerprint,
            format!("sm3:{}", key.public_key().fingerprint())
        );
        assert_eq!(
            (listed[0].not_after_ms, listed[0].last_used_at_ms),
            (None, None)
        );

        let challenge = issue(store, &ids.customer, &key_id, "sign-in", "flow-1", T0).await;
        assert_eq!(challenge.expires_at_ms, T0 + 120_000);
        let text = String::from_utf8(challenge.message.clone()).expect("utf-8");
        let lines: Vec<&str> = text.split('\n').collect();
        assert_eq!(
            lines[..6],
            [
                "inspay-key-challenge:v1",
                challenge.id.as_str(),
                "sign-in",
                "flow-1",
                ids.customer.as_str(),
                key_id.as_str()
            ]
        );
        assert_eq!(lines.len(), 7);
        assert_eq!(lines[6].len(), 64, "32-byte nonce in hex");
        let again = issue(store, &ids.customer, &key_id, "sign-in", "flow-1", T0).await;
        assert_ne!(again.message, challenge.message, "every challenge is fresh");

        let signature = sign(&key, &challenge);
        assert_eq!(
            answer(
                store,
                &challenge,
                "sign-in",
                "flow-1",
                &signature,
                T0 + 1_000
            )
            .await,
            KeyProof::Verified {
                account_id: ids.customer.clone(),
                key_id: key_id.clone(),
                kind: KeyKind::DeviceKey
            }
        );
        let listed = store
            .credential_keys_list(&ids.customer)
            .await
            .expect("list");
        assert_eq!(listed[0].last_used_at_ms, Some(T0 + 1_000));
        assert_eq!(
            answer(
                store,
                &challenge,
                "sign-in",
                "flow-1",
                &signature,
                T0 + 2_000
            )
            .await,
            KeyProof::Refused,
            "a replayed proof is refused"
        );
        assert_eq!(
            answer(store, &again, "sign-in", "flow-1", &signature, T0 + 3_000).await,
            KeyProof::Refused,
            "a proof for one challenge does not answer another"
        );
        let listed = store
            .credential_keys_list(&ids.customer)
            .await
            .expect("list");
        assert_eq!(listed[0].last_used_at_ms, Some(T0 + 1_000));

        let audit = key_audit(store).await;
        let outcomes: Vec<&str> = audit.iter().map(|(outcome, _)| outcome.as_str()).collect();
        assert_eq!(outcomes, ["success", "denied", "denied"], "{}", test.label);
        assert_eq!(reason(&audit[0].1), None);
        assert_eq!(reason(&audit[1].1).as_deref(), Some("replayed"));
        assert_eq!(reason(&audit[2].1).as_deref(), Some("bad-signature"));
        assert!(audit[0].1.contains(&listed[0].fingerprint));
        assert!(
            store
                .audit_verify(None, |_| {})
                .await
                .expect("verify")
                .is_intact()
        );
    }
}

/// A signature by another key, a signature with another SM2 identifier, and malformed or
/// oversized signatures are refused, and each attempt uses the challenge up.
/// req: 5.2.1.1-d3
#[tokio::test]
async fn wrong_keys_and_malformed_signatures_are_refused() {
    for test in stores().await {
        let store = &test.store;
        let ids = accounts(&test, T0).await;
        let key = device_key();
        let other = device_key();
        let key_id = enrol(store, &ids.customer, &key, T0).await;
        enrol(store, &ids.customer, &other, T0).await;

        let challenge = issue(store, &ids.customer, &key_id, "sign-in", "flow-1", T0).await;
        let by_other = sign(&other, &challenge);
        assert_eq!(
            answer(store, &challenge, "sign-in", "flow-1", &by_other, T0 + 1).await,
            KeyProof::Refused,
            "{}",
            test.label
        );
        assert_eq!(
            answer(
                store,
                &challenge,
                "sign-in",
                "flow-1",
                &sign(&key, &challenge),
                T0 + 2
            )
            .await,
            KeyProof::Refused,
            "a refused answer consumes the challenge"
        );

        let challenge = issue(store, &ids.customer, &key_id, "sign-in", "flow-1", T0).await;
        let other_id = key
            .sign_with_id(b"another-user-id", &challenge.message)
            .expect("sign")
            .to_der();
        assert_eq!(
            answer(store, &challenge, "sign-in", "flow-1", &other_id, T0 + 3).await,
            KeyProof::Refused
        );
        for garbage in [vec![], vec![0x30, 0x02, 0x01], vec![0x30; 200]] {
            let challenge = issue(store, &ids.customer, &key_id, "sign-in", "flow-1", T0).await;
            assert_eq!(
                answer(store, &challenge, "sign-in", "flow-1", &garbage, T0 + 4).await,
                KeyProof::Refused
            );
        }
        let reasons: Vec<Option<String>> = key_audit(store)
            .await
            .iter()
            .map(|(_, detail)| reason(detail))
            .collect();
        let expected = [
            "bad-signature",
            "replayed",
            "bad-signature",
            "malformed-signature",
            "malformed-signature",
            "malformed-signature",
        ];
        assert_eq!(reasons, expected.map(|word| Some(word.to_string())));
    }
}

/// A challenge can be answered for 120 seconds and not a millisecond longer.
/// req: 5.2.1.1-d3
#[tokio::test]
async fn challenges_expire_after_120_seconds() {
    assert_eq!(CHALLENGE_TTL_S, 120);
    for test in stores().await {
        let store = &test.store;
        let ids = accounts(&test, T0).await;
        let key = device_key();
        let key_id = enrol(store, &ids.customer, &key, T0).await;
        for (after_ms, verified) in [(119_999, true), (120_000, false), (121_000, false)] {
            let challenge = issue(store, &ids.customer, &key_id, "sign-in", "flow", T0).await;
            let proof = answer(
                store,
                &challenge,
                "sign-in",
                "flow",
                &sign(&key, &challenge),
                T0 + after_ms,
            )
            .await;
            assert_eq!(
                matches!(proof, KeyProof::Verified { .. }),
                verified,
                "{} after {after_ms} ms",
                test.label
            );
        }
        let reasons: Vec<Option<String>> = key_audit(store)
            .await
            .iter()
            .map(|(_, detail)| reason(detail))
            .collect();
        assert_eq!(
            reasons[1..],
            [Some("expired".into()), Some("expired".into())]
        );
    }
}

/// A challenge proves only the purpose and binding it was issued for; a mismatch uses it up;
/// purposes and bindings that could make the message ambiguous are refused at issue.
/// req: 5.2.1.1-d3, 5.3.1.2
#[tokio::test]
async fn purpose_and_binding_must_match() {
    for test in stores().await {
        let store = &test.store;
        let ids = accounts(&test, T0).await;
        let key = device_key();
        let key_id = enrol(store, &ids.customer, &key, T0).await;

        let challenge = issue(
            store,
            &ids.customer,
            &key_id,
            "step-up:payout",
            "session-a",
            T0,
        )
        .await;
        let signature = sign(&key, &challenge);
        assert_eq!(
            answer(
                store,
                &challenge,
                "sign-in",
                "session-a",
                &signature,
                T0 + 1
            )
            .await,
            KeyProof::Refused,
            "{}",
            test.label
        );
        assert_eq!(
            answer(
                store,
                &challenge,
                "step-up:payout",
                "session-a",
                &signature,
                T0 + 2
            )
            .await,
            KeyProof::Refused,
            "the mismatch consumed the challenge"
        );
        let challenge = issue(
            store,
            &ids.customer,
            &key_id,
            "step-up:payout",
            "session-a",
            T0,
        )
        .await;
        let signature = sign(&key, &challenge);
        assert_eq!(
            answer(
                store,
                &challenge,
                "step-up:payout",
                "session-b",
                &signature,
                T0 + 3
            )
            .await,
            KeyProof::Refused
        );
        let reasons: Vec<Option<String>> = key_audit(store)
            .await
            .iter()
            .map(|(_, detail)| reason(detail))
            .collect();
        let expected = ["wrong-purpose", "replayed", "wrong-binding"];
        assert_eq!(reasons, expected.map(|word| Some(word.to_string())));

        let long = "p".repeat(129);
        for (purpose, binding) in [
            ("sign-in\nflow-x", "flow"),
            ("", "flow"),
            ("sign-in", ""),
            ("sign in", "flow"),
            (long.as_str(), "flow"),
        ] {
            let refused = store
                .key_challenge_issue(&ids.customer, &key_id, purpose, binding, T0)
                .await
                .expect_err("refused");
            assert!(matches!(refused, StoreError::Refused(_)), "{refused}");
        }
    }
}

/// A revoked key proves nothing: its outstanding challenge is refused, no new challenge is
/// issued, revoking twice or from another account does nothing; keys revoked by account
/// closure (its SQL) are refused too.
/// req: 5.2.1.1-d3, 5.6.5-a4
#[tokio::test]
async fn revoked_keys_prove_nothing() {
    for test in stores().await {
        let store = &test.store;
        let ids = accounts(&test, T0).await;
        let key = device_key();
        let key_id = enrol(store, &ids.customer, &key, T0).await;
        let challenge = issue(store, &ids.customer, &key_id, "sign-in", "flow", T0).await;
        assert!(
            !store
                .credential_key_revoke(&ids.other_customer, &key_id, WHO, T0 + 1)
                .await
                .expect("revoke"),
            "another account cannot revoke the key"
        );
        assert!(
            store
                .credential_key_revoke(&ids.customer, &key_id, WHO, T0 + 1)
                .await
                .expect("revoke")
        );
        assert!(
            !store
                .credential_key_revoke(&ids.customer, &key_id, WHO, T0 + 2)
                .await
                .expect("revoke")
        );
        assert_eq!(
            answer(
                store,
                &challenge,
                "sign-in",
                "flow",
                &sign(&key, &challenge),
                T0 + 3
            )
            .await,
            KeyProof::Refused,
            "{}",
            test.label
        );
        let refused = store
            .key_challenge_issue(&ids.customer, &key_id, "sign-in", "flow", T0 + 4)
            .await
            .expect_err("revoked");
        assert!(matches!(refused, StoreError::NotFound(_)), "{refused}");
        let listed = store
            .credential_keys_list(&ids.customer)
            .await
            .expect("list");
        assert_eq!(listed[0].revoked_at_ms, Some(T0 + 1));
        assert!(!listed[0].is_live(T0 + 4));

        // Account closure revokes with its own statement; outstanding challenges then fail.
        let second = device_key();
        let second_id = enrol(store, &ids.customer, &second, T0).await;
        let challenge = issue(store, &ids.customer, &second_id, "sign-in", "flow", T0).await;
        sqlx::query(
            "UPDATE credential_keys SET revoked_at_ms = $2 WHERE account_id = $1 AND revoked_at_ms IS NULL",
        )
        .bind(&ids.customer)
        .bind(T0 + 5)
        .execute(store.pool())
        .await
        .expect("closure revocation");
        assert_eq!(
            answer(
                store,
                &challenge,
                "sign-in",
                "flow",
                &sign(&second, &challenge),
                T0 + 6
            )
            .await,
            KeyProof::Refused
        );
        let last = key_audit(store).await.pop().expect("audited");
        assert_eq!(reason(&last.1).as_deref(), Some("key-revoked"));
    }
}

/// A frozen account's key proves nothing and gets no challenge or new key.
/// req: 5.2.1.1-d3
#[tokio::test]
async fn inactive_accounts_prove_nothing() {
    for test in stores().await {
        let store = &test.store;
        let ids = accounts(&test, T0).await;
        let key = device_key();
        let key_id = enrol(store, &ids.customer, &key, T0).await;
        let challenge = issue(store, &ids.customer, &key_id, "sign-in", "flow", T0).await;
        sqlx::query("UPDATE accounts SET status = 'frozen' WHERE id = $1")
            .bind(&ids.customer)
            .execute(store.pool())
            .await
            .expect("freeze");
        assert_eq!(
            answer(
                store,
                &challenge,
                "sign-in",
                "flow",
                &sign(&key, &challenge),
                T0 + 1
            )
            .await,
            KeyProof::Refused,
            "{}",
            test.label
        );
        let refused = store
            .key_challenge_issue(&ids.customer, &key_id, "sign-in", "flow", T0 + 2)
            .await
            .expect_err("frozen");
        assert!(matches!(refused, StoreError::NotFound(_)), "{refused}");
        let refused = store
            .device_key_enrol(&ids.customer, device_key().public_key(), "Tab", "r", T0 + 3)
            .await
            .expect_err("frozen");
        assert!(matches!(refused, StoreError::NotFound(_)), "{refused}");
        let last = key_audit(store).await.pop().expect("audited");
        assert_eq!(reason(&last.1).as_deref(), Some("account-not-active"));
    }
}

/// A public key is registered once, across every account and kind and even after
/// revocation; an account holds at most five live device keys and three staff keys; a key
/// is challenged only for its own account; labels that are empty, too long or hold a long
/// number are refused.
/// req: 5.2.1.1-d3
#[tokio::test]
async fn duplicate_and_excess_keys_are_refused() {
    assert_eq!((DEVICE_KEYS_LIVE_MAX, CERTIFICATES_LIVE_MAX), (5, 3));
    for test in stores().await {
        let store = &test.store;
        let ids = accounts(&test, T0).await;
        let key = device_key();
        let key_id = enrol(store, &ids.customer, &key, T0).await;
        let conflict = |result: Result<String, StoreError>| {
            assert!(
                matches!(result, Err(StoreError::Conflict(_))),
                "{}: {result:?}",
                test.label
            );
        };
        conflict(
            store
                .device_key_enrol(&ids.customer, key.public_key(), "Again", "r", T0)
                .await,
        );
        conflict(
            store
                .device_key_enrol(&ids.other_customer, key.public_key(), "Phone", "r", T0)
                .await,
        );
        conflict(
            store
                .staff_public_key_register(&ids.staff, key.public_key(), "Token", WHO, T0)
                .await,
        );
        let refused = store
            .key_challenge_issue(&ids.other_customer, &key_id, "sign-in", "flow", T0)
            .await
            .expect_err("foreign key");
        assert!(matches!(refused, StoreError::NotFound(_)), "{refused}");

        let mut ids_enrolled = vec![key_id.clone()];
        for _ in 1..DEVICE_KEYS_LIVE_MAX {
            ids_enrolled.push(enrol(store, &ids.customer, &device_key(), T0).await);
        }
        let sixth = device_key();
        conflict(
            store
                .device_key_enrol(&ids.customer, sixth.public_key(), "Sixth", "r", T0)
                .await,
        );
        assert!(
            store
                .credential_key_revoke(&ids.customer, &key_id, WHO, T0 + 1)
                .await
                .expect("revoke")
        );
        enrol(store, &ids.customer, &sixth, T0 + 2).await;
        conflict(
            store
                .device_key_enrol(&ids.other_customer, key.public_key(), "Back", "r", T0 + 3)
                .await,
        );
        let listed = store
            .credential_keys_list(&ids.customer)
            .await
            .expect("list");
        assert_eq!(listed.len(), 6);
        assert_eq!(listed.iter().filter(|key| key.is_live(T0 + 3)).count(), 5);

        for _ in 0..CERTIFICATES_LIVE_MAX {
            let staff_key = device_key();
            store
                .staff_public_key_register(&ids.staff, staff_key.public_key(), "Token", WHO, T0)
                .await
                .expect("staff key");
        }
        conflict(
            store
                .staff_public_key_register(&ids.staff, device_key().public_key(), "Four", WHO, T0)
                .await,
        );

        let long = "x".repeat(65);
        for label in ["", long.as_str(), "phone 13812345678", "tab\u{7}"] {
            let refused = store
                .device_key_enrol(
                    &ids.other_customer,
                    device_key().public_key(),
                    label,
                    "r",
                    T0,
                )
                .await
                .expect_err("label");
            assert!(matches!(refused, StoreError::Refused(_)), "{refused}");
        }
    }
}

/// A key has at most four live challenges: issuing a fifth withdraws the oldest, and the
/// other four can still be answered (each once).
/// req: 5.2.1.1-d3
#[tokio::test]
async fn live_challenges_per_key_are_bounded() {
    assert_eq!(CHALLENGES_LIVE_PER_KEY_MAX, 4);
    for test in stores().await {
        let store = &test.store;
        let ids = accounts(&test, T0).await;
        let key = device_key();
        let key_id = enrol(store, &ids.customer, &key, T0).await;
        let mut challenges = Vec::new();
        for step in 0..5 {
            let binding = format!("flow-{step}");
            challenges.push(
                issue(
                    store,
                    &ids.customer,
                    &key_id,
                    "sign-in",
                    &binding,
                    T0 + step,
                )
                .await,
            );
        }
        let mut verified = Vec::new();
        for (step, challenge) in challenges.iter().enumerate() {
            let binding = format!("flow-{step}");
            let signature = sign(&key, challenge);
            let proof = answer(store, challenge, "sign-in", &binding, &signature, T0 + 10).await;
            verified.push(matches!(proof, KeyProof::Verified { .. }));
        }
        assert_eq!(verified, [false, true, true, true, true], "{}", test.label);
        let first = key_audit(store).await.remove(0);
        assert_eq!(reason(&first.1).as_deref(), Some("unknown-challenge"));
    }
}

/// Two answers to one challenge racing on separate connections: exactly one is verified.
/// req: 5.2.1.1-d3
#[tokio::test]
async fn concurrent_answers_verify_once() {
    for test in stores().await {
        let store = &test.store;
        let ids = accounts(&test, T0).await;
        let key = device_key();
        let key_id = enrol(store, &ids.customer, &key, T0).await;
        let challenge = issue(store, &ids.customer, &key_id, "sign-in", "flow", T0).await;
        let signature = sign(&key, &challenge);
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let (store, id, signature) =
                    (store.clone(), challenge.id.clone(), signature.clone());
                tokio::spawn(async move {
                    store
                        .key_challenge_answer(&id, "sign-in", "flow", &signature, "r", T0 + 1)
                        .await
                        .expect("answer")
                })
            })
            .collect();
        let mut verified = 0;
        for task in tasks {
            if matches!(task.await.expect("task"), KeyProof::Verified { .. }) {
                verified += 1;
            }
        }
        assert_eq!(verified, 1, "{}", test.label);
    }
}

/// The server keeps public keys only: the tables have exactly these columns, and the stored
/// key is the enrolled public point. Nothing biometric is accepted or stored.
/// req: 5.2.1.1-d3
#[tokio::test]
async fn only_public_keys_are_stored() {
    for test in stores().await {
        let store = &test.store;
        let ids = accounts(&test, T0).await;
        let key = device_key();
        let key_id = enrol(store, &ids.customer, &key, T0).await;
        issue(store, &ids.customer, &key_id, "sign-in", "flow", T0).await;
        let columns = |table: &'static str| async move {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {table}")))
                .fetch_one(store.pool())
                .await
                .expect("row");
            let names: Vec<String> = row
                .columns()
                .iter()
                .map(|column| column.name().to_string())
                .collect();
            (row, names)
        };
        let (row, names) = columns("credential_keys").await;
        assert_eq!(
            names,
            [
                "id",
                "account_id",
                "kind",
                "public_key",
                "fingerprint",
                "label",
                "serial",
                "subject",
                "not_before_ms",
                "not_after_ms",
                "created_at_ms",
                "last_used_at_ms",
                "revoked_at_ms"
            ],
            "{}",
            test.label
        );
        let stored: String = row.try_get("public_key").expect("public_key");
        assert_eq!(stored, hex::encode(key.public_key().to_sec1()));
        assert_eq!(
            Sm2PublicKey::from_sec1(&hex::decode(stored).expect("hex")).expect("point"),
            *key.public_key()
        );
        let (_, names) = columns("key_challenges").await;
        assert_eq!(
            names,
            [
                "id",
                "key_id",
                "account_id",
                "purpose",
                "binding",
                "nonce",
                "created_at_ms",
                "expires_at_ms",
                "consumed_at_ms"
            ]
        );
    }
}
