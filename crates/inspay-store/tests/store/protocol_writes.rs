//! The protocol's group-committed writes (admissions and completions), on every configured
//! database: what one batch decides for requests that meet each other inside it.

use crate::support::{WHO, initialised, stores};
use inspay_crypto::sm2::Sm2PrivateKey;
use inspay_store::client_apps::{AppClass, NewClientApp};
use inspay_store::field_nonces::FieldNonceRefusal;
use inspay_store::idempotency::{Claim, ClaimJob, StoredAnswer};
use inspay_store::protocol_writes::{Admission, Admitted, WriteDone, WriteJob};
use inspay_store::request_evidence::Evidence;
use inspay_store::request_nonces::{NonceCheck, WINDOW_S_DEFAULT};

const APP: &str = "batch-app";
const NOW_MS: i64 = 1_800_000_000_000;
const NOW_S: i64 = NOW_MS / 1000;

fn admission(nonce: &str, field_nonce: Option<&str>, claim: Option<(&str, &[u8])>) -> WriteJob {
    WriteJob::Admit(Box::new(Admission {
        nonce: (
            APP.to_string(),
            nonce.to_string(),
            NOW_S,
            WINDOW_S_DEFAULT,
            NOW_MS,
        ),
        field_nonce: field_nonce.map(str::to_string),
        claim: claim.map(|(key, body)| ClaimJob {
            app_id: APP.to_string(),
            key: key.to_string(),
            method: "POST".to_string(),
            target: "/v1/payments".to_string(),
            body: zeroize::Zeroizing::new(body.to_vec()),
            now_ms: NOW_MS,
        }),
    }))
}

/// Initialises the store's keys and registers [`APP`]; returns the keyring.
async fn with_app(test: &crate::support::TestStore) -> inspay_kms::Keyring {
    let master = initialised(test).await;
    let keyring = test.store.keyring_load(&master).await.expect("keyring");
    let key = Sm2PrivateKey::generate().expect("key");
    test.store
        .client_app_register(
            &NewClientApp {
                id: APP,
                name: "batch test",
                class: AppClass::FundTransaction,
                public_key: key.public_key(),
                tls_fingerprint: None,
                sdk_version_min: None,
            },
            WHO,
            NOW_MS,
        )
        .await
        .expect("register");
    keyring
}

async fn run(
    store: &inspay_store::Store,
    connection: &mut inspay_store::protocol_writes::WriterConnection,
    keyring: &inspay_kms::Keyring,
    jobs: Vec<WriteJob>,
) -> Vec<WriteDone> {
    store
        .protocol_writes(connection, keyring, &jobs)
        .await
        .expect("batch")
}

fn admitted(done: &WriteDone) -> &Admitted {
    match done {
        WriteDone::Admitted(admitted) => admitted,
        WriteDone::Complete => panic!("an admission was answered as a completion"),
    }
}

fn evidence(nonce: &str) -> Evidence {
    Evidence {
        id: uuid::Uuid::now_v7().to_string(),
        app_id: APP.to_string(),
        serial: 1,
        account_id: None,
        method: "POST".to_string(),
        target: "/v1/payments".to_string(),
        timestamp_s: NOW_S,
        nonce: nonce.to_string(),
        body_sm3: "a".repeat(64),
        signature: "MEUCIQ==".to_string(),
        sdk: Some("inspay-sdk-rust/0.1.0".to_string()),
        response_status: 201,
        response_timestamp_s: NOW_S,
        response_nonce: "server-nonce-0001".to_string(),
        response_body_sm3: "b".repeat(64),
        response_serial: 1,
        response_signature: "MEYCIQ==".to_string(),
        received_at_ms: NOW_MS,
    }
}

/// One batch decides each request on its own: a nonce twice in the batch is accepted once;
/// a replayed request claims nothing; a key twice in the batch is claimed by the first and
/// found in progress by the second, or a conflict when the request differs; a refused field
/// nonce stops the claim. A later batch's completion keeps the answer and the evidence, and a
/// retry after it gets the first answer.
/// req: 5.6.2-e, 5.6.2-d1
#[tokio::test]
async fn one_batch_decides_every_request_on_its_own() {
    for test in stores().await {
        let store = &test.store;
        let keyring = with_app(&test).await;
        let (field_nonce, _) = store
            .field_nonce_issue(APP, NOW_MS)
            .await
            .expect("field nonce");
        let unknown_field_nonce = "0".repeat(32);
        let mut connection = store.writer_connection().await.expect("connection");
        let first = run(
            store,
            &mut connection,
            &keyring,
            vec![
                admission(
                    "nonce-a-00000001",
                    None,
                    Some(("key-one-000000001", b"{\"a\":1}")),
                ),
                admission("nonce-a-00000001", None, Some(("key-two-000000001", b"{}"))),
                admission(
                    "nonce-c-00000001",
                    None,
                    Some(("key-one-000000001", b"{\"a\":1}")),
                ),
                admission(
                    "nonce-d-00000001",
                    None,
                    Some(("key-one-000000001", b"{\"a\":2}")),
                ),
                admission(
                    "nonce-e-00000001",
                    Some(&unknown_field_nonce),
                    Some(("key-three-0000001", b"{}")),
                ),
                admission(
                    "nonce-f-00000001",
                    Some(&field_nonce),
                    Some(("key-four-00000001", b"{}")),
                ),
                admission("nonce-g-00000001", None, None),
            ],
        )
        .await;
        let expect = [
            (NonceCheck::Accepted, None, Some(Claim::Claimed)),
            (NonceCheck::Replayed, None, None),
            (NonceCheck::Accepted, None, Some(Claim::InProgress)),
            (NonceCheck::Accepted, None, Some(Claim::Mismatch)),
            (
                NonceCheck::Accepted,
                Some(Err(FieldNonceRefusal::Unknown)),
                None,
            ),
            (NonceCheck::Accepted, Some(Ok(())), Some(Claim::Claimed)),
            (NonceCheck::Accepted, None, None),
        ];
        assert_eq!(first.len(), expect.len());
        for (index, (done, (nonce, field_nonce, claim))) in first.iter().zip(expect).enumerate() {
            let found = admitted(done);
            assert_eq!(found.nonce, nonce, "{} job {index}", test.label);
            assert_eq!(found.field_nonce, field_nonce, "{} job {index}", test.label);
            assert_eq!(found.claim, claim, "{} job {index}", test.label);
        }

        let answer = StoredAnswer {
            status: 201,
            content_type: Some("application/json".to_string()),
            body: b"{\"paid\":true}".to_vec(),
        };
        let second = run(
            store,
            &mut connection,
            &keyring,
            vec![
                WriteJob::Complete(Box::new((
                    Some(evidence("nonce-a-00000001")),
                    Some((
                        APP.to_string(),
                        "key-one-000000001".to_string(),
                        answer.clone(),
                    )),
                ))),
                admission(
                    "nonce-h-00000001",
                    Some(&field_nonce),
                    Some(("key-five-00000001", b"{}")),
                ),
                admission("nonce-i-00000001", None, Some(("key-two-000000001", b"{}"))),
            ],
        )
        .await;
        assert!(matches!(second[0], WriteDone::Complete));
        let used = admitted(&second[1]);
        assert_eq!(used.field_nonce, Some(Err(FieldNonceRefusal::Used)));
        assert_eq!(used.claim, None, "{}", test.label);
        // The replayed request of the first batch did not take this key.
        assert_eq!(admitted(&second[2]).claim, Some(Claim::Claimed));

        let third = run(
            store,
            &mut connection,
            &keyring,
            vec![admission(
                "nonce-j-00000001",
                None,
                Some(("key-one-000000001", b"{\"a\":1}")),
            )],
        )
        .await;
        assert_eq!(admitted(&third[0]).claim, Some(Claim::Replay(answer)));
        let kept = store
            .request_evidence_list(&keyring, Some(APP), 0, i64::MAX, 10)
            .await
            .expect("evidence");
        assert_eq!(kept.len(), 1, "{}", test.label);
        assert!(kept[0].mac_ok);
        assert_eq!(kept[0].evidence, evidence_with_id(&kept[0].evidence.id));
    }
}

fn evidence_with_id(id: &str) -> Evidence {
    Evidence {
        id: id.to_string(),
        ..evidence("nonce-a-00000001")
    }
}

/// A batch larger than one statement's run (37 requests: statements of 32, 4 and 1 rows)
/// accepts every new nonce and claims every new key once; the same requests again are all
/// replays, and their evidence rows are all kept under valid record MACs.
/// req: 5.6.2-e
#[tokio::test]
async fn large_batches_write_every_row_once() {
    for test in stores().await {
        let store = &test.store;
        let keyring = with_app(&test).await;
        let mut connection = store.writer_connection().await.expect("connection");
        let names: Vec<(String, String)> = (0..37)
            .map(|i| (format!("nonce-many-{i:06}"), format!("key-many-{i:08}")))
            .collect();
        let jobs = || {
            names
                .iter()
                .map(|(nonce, key)| admission(nonce, None, Some((key, b"{}"))))
                .collect::<Vec<_>>()
        };
        let first = store
            .protocol_writes(&mut connection, &keyring, &jobs())
            .await
            .expect("first batch");
        for done in &first {
            let found = admitted(done);
            assert_eq!(found.nonce, NonceCheck::Accepted, "{}", test.label);
            assert_eq!(found.claim, Some(Claim::Claimed), "{}", test.label);
        }
        let again = store
            .protocol_writes(&mut connection, &keyring, &jobs())
            .await
            .expect("second batch");
        assert!(
            again
                .iter()
                .all(|done| admitted(done).nonce == NonceCheck::Replayed
                    && admitted(done).claim.is_none()),
            "{}",
            test.label
        );
        let completions: Vec<WriteJob> = names
            .iter()
            .map(|(nonce, _)| WriteJob::Complete(Box::new((Some(evidence(nonce)), None))))
            .collect();
        store
            .protocol_writes(&mut connection, &keyring, &completions)
            .await
            .expect("completions");
        let kept = store
            .request_evidence_list(&keyring, Some(APP), 0, i64::MAX, 100)
            .await
            .expect("evidence");
        assert_eq!(kept.len(), 37, "{}", test.label);
        assert!(kept.iter().all(|row| row.mac_ok));
    }
}
