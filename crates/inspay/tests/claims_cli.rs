//! `inspay claims verify` as an auditor uses it, against a real data directory holding claims
//! signed with real SM2 device keys: a sound claim passes, and a claim whose stored signature
//! was changed, whose signature is over another document, or whose key is not the one
//! registered under its name is named and makes the command exit 1.

mod support;

use inspay_core::calendar::{date_at_ms, date_text};
use inspay_core::funds::ChannelOutcome;
use inspay_core::money::Amount;
use inspay_core::sensitive::CardNumber;
use inspay_crypto::sm2::Sm2PrivateKey;
use inspay_identity::login_name::LoginName;
use inspay_identity::secret_hash::{ITERATIONS_MIN, SecretHash, SecretKind};
use inspay_kms::{MasterKey, MasterKeySource};
use inspay_protocol::claims::ClaimDocument;
use inspay_store::accounts::{NewAccount, Population};
use inspay_store::funds::{
    BeginPayment, NewClaim, NewPayoutAccount, PartySignature, PaymentMethod, SettleOrder,
};
use inspay_store::keys::Actor;
use inspay_store::{PoolSettings, Store};
use std::path::Path;
use support::cli::{database_url, execute, inspay, runtime, text};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// How the claimant's signature of a claim is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signing {
    /// With the enrolled device key, over the claim's own document.
    Sound,
    /// With the enrolled device key, over a document claiming another amount.
    OtherDocument,
    /// With a key never enrolled, stored under the enrolled key's name.
    UnregisteredKey,
}

/// A single-premium product added from the console, as an operator adds it.
fn add_product(dir: &Path) {
    let added = inspay(
        dir,
        &[
            "products",
            "add",
            "--code",
            "HEALTH-1",
            "--name",
            "Health 1y",
            "--cover",
            "100000.00",
            "--premium",
            "365.00",
            "--frequency",
            "single",
            "--term-months",
            "12",
            "--grace-days",
            "30",
        ],
    );
    assert!(added.status.success(), "{}", text(&added));
}

/// A customer with an enrolled SM2 device key, an active policy (first premium settled), a
/// verified payout account, and one claim per `signings`, filed through the store as the
/// claims route files it; returns the claim ids.
fn filed_claims(dir: &Path, signings: &[Signing]) -> Vec<String> {
    runtime().block_on(async {
        let store = Store::connect(&database_url(dir), &PoolSettings::default())
            .await
            .expect("store");
        let text = std::fs::read_to_string(dir.join("dev-master.key")).expect("master key");
        let master = MasterKey::from_text(&text, MasterKeySource::Development).expect("master");
        let keyring = store.keyring_load(&master).await.expect("keyring");
        let now = inspay_store::now_ms();
        let today = date_at_ms(now);
        let who = Actor {
            actor: "operator:test",
            request_id: "claims",
        };
        let hash =
            SecretHash::new(SecretKind::LoginPassword, b"unused", ITERATIONS_MIN).expect("hash");
        let customer = store
            .account_create(
                &keyring,
                &NewAccount {
                    population: Population::Customer,
                    login_name: &LoginName::customer("13712345678").expect("login"),
                    person_id: None,
                    password: &hash,
                    must_change_password: false,
                },
                who,
                now,
            )
            .await
            .expect("account");
        let device = Sm2PrivateKey::generate().expect("device key");
        let key_id = store
            .device_key_enrol(&customer, device.public_key(), "phone", "r", now)
            .await
            .expect("enrol");
        let product = store.products(&keyring).await.expect("products")[0]
            .id
            .clone();
        let (policy, _) = store
            .policy_apply(&keyring, &customer, &product, today, "r", now)
            .await
            .expect("policy");
        let payment = store
            .payment_begin(
                &keyring,
                BeginPayment {
                    policy_id: &policy.id,
                    number: 1,
                    account_id: &customer,
                    method: PaymentMethod::Card {
                        masked: "622202*********0128".into(),
                    },
                    resolve_at_ms: now + 60_000,
                },
                "r",
                now,
            )
            .await
            .expect("begin");
        let settled = SettleOrder {
            outcome: ChannelOutcome::Succeeded,
            channel_ref: Some("sim_1".into()),
            failure_code: None,
            evidence: None,
        };
        store
            .payment_settle(&keyring, &payment.id, &settled, None, "r", now)
            .await
            .expect("settle");
        let number = CardNumber::parse("6222021234567890128").expect("card");
        let account = store
            .payout_account_add(
                &keyring,
                NewPayoutAccount {
                    account_id: &customer,
                    number: &number,
                    verification_ref: "check-1",
                    evidence: None,
                    debit_token: None,
                },
                "r",
                now,
            )
            .await
            .expect("payout account")
            .id;
        let stranger = Sm2PrivateKey::generate().expect("stranger key");
        let incident = date_text(today);
        let mut ids = Vec::new();
        for (n, signing) in signings.iter().enumerate() {
            let key = format!("claim-{n}");
            let claimed_fen = 120_000;
            let signed_fen = match signing {
                Signing::OtherDocument => claimed_fen * 10,
                _ => claimed_fen,
            };
            let document = ClaimDocument {
                policy_id: policy.id.as_str(),
                claimant: &customer,
                claimed_fen: signed_fen,
                incident_on: &incident,
                description: "broken wrist, two nights in hospital",
                payout_account_id: &account,
                idempotency_key: &key,
            };
            let signer = match signing {
                Signing::UnregisteredKey => &stranger,
                _ => &device,
            };
            let signature = signer.sign(&document.to_bytes()).expect("sign");
            let claim = store
                .claim_file(
                    &keyring,
                    NewClaim {
                        policy_id: &policy.id,
                        claimant: &customer,
                        claimed: Amount::from_fen(claimed_fen).expect("amount"),
                        incident_on: today,
                        description: document.description,
                        payout_account_id: &account,
                        idempotency_key: &key,
                        signature: PartySignature {
                            signer: format!("device-key:{key_id}"),
                            public_key: hex(&signer.public_key().to_sec1()),
                            signature: inspay_server::routes::support::base64(&signature.to_der()),
                        },
                        today,
                    },
                    "r",
                    now,
                )
                .await
                .expect("file");
            ids.push(claim.id.to_string());
        }
        ids
    })
}

/// A claim signed with the claimant's device key verifies; once its stored signature is
/// changed in the database, `claims verify` exits 1 and names the claim, whether it walks
/// every claim or is asked about that one.
/// req: 5.6.2-d2, 5.6.1-b
#[test]
fn claims_verify_passes_a_signed_claim_and_names_a_changed_one() {
    let dir = tempfile::tempdir().expect("dir");
    add_product(dir.path());
    let ids = filed_claims(dir.path(), &[Signing::Sound]);
    let claim = &ids[0];

    let all = inspay(dir.path(), &["claims", "verify"]);
    let report = text(&all);
    assert_eq!(all.status.code(), Some(0), "{report}");
    assert!(
        report.contains(
            "1 claim(s) checked: 1 with every signature valid and every key registered, 0 failing"
        ),
        "{report}"
    );
    assert!(!report.contains("FAIL"), "{report}");
    let one = inspay(dir.path(), &["claims", "verify", "--claim", claim]);
    assert_eq!(one.status.code(), Some(0), "{}", text(&one));
    assert!(text(&one).contains("1 claim(s) checked"), "{}", text(&one));

    // Another valid-looking DER signature (r and s of 1) in place of the claimant's.
    let changed = execute(
        dir.path(),
        &format!("UPDATE claims SET claimant_signature = 'MAYCAQECAQE=' WHERE id = '{claim}'"),
    );
    assert_eq!(changed, 1);
    let all = inspay(dir.path(), &["claims", "verify"]);
    let report = text(&all);
    assert_eq!(all.status.code(), Some(1), "{report}");
    assert!(report.contains(&format!("FAIL claim {claim}")), "{report}");
    assert!(report.contains("0 with every signature valid"), "{report}");
    assert!(report.contains("1 failing"), "{report}");
    assert!(
        report.contains("1 claim(s) failed verification"),
        "{report}"
    );
    let one = inspay(dir.path(), &["claims", "verify", "--claim", claim]);
    let report = text(&one);
    assert_eq!(one.status.code(), Some(1), "{report}");
    assert!(report.contains("changed outside inspay"), "{report}");
}

/// Claims whose rows are intact but whose claimant signature is over another document, or
/// made with a key other than the one registered under the signer's name, are each named,
/// and the command exits 1; the sound claim beside them is not named.
/// req: 5.6.2-d2
#[test]
fn claims_verify_names_claims_with_a_wrong_signature_or_key() {
    let dir = tempfile::tempdir().expect("dir");
    add_product(dir.path());
    let ids = filed_claims(
        dir.path(),
        &[
            Signing::Sound,
            Signing::OtherDocument,
            Signing::UnregisteredKey,
        ],
    );
    let output = inspay(dir.path(), &["claims", "verify"]);
    let report = text(&output);
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(!report.contains(&ids[0]), "{report}");
    assert!(
        report.contains(&format!("FAIL claim {}: claimant INVALID", ids[1])),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "FAIL claim {}: claimant valid, decision none, approval none, keys registered NO",
            ids[2]
        )),
        "{report}"
    );
    assert!(
        report.contains("3 claim(s) checked: 1 with every signature valid"),
        "{report}"
    );
    assert!(report.contains("2 failing"), "{report}");
    let sound = inspay(dir.path(), &["claims", "verify", "--claim", &ids[0]]);
    assert_eq!(sound.status.code(), Some(0), "{}", text(&sound));
    let wrong = inspay(dir.path(), &["claims", "verify", "--claim", &ids[2]]);
    assert_eq!(wrong.status.code(), Some(1), "{}", text(&wrong));
    assert!(text(&wrong).contains(&ids[2]), "{}", text(&wrong));
}

/// A claim id that is not a UUID is refused with where to find claim ids, an unknown one is
/// not found, an empty installation verifies nothing and passes, and `--help` has examples.
/// req: 5.6.2-d2
#[test]
fn claims_verify_explains_bad_input_and_has_examples() {
    let dir = tempfile::tempdir().expect("dir");
    let empty = inspay(dir.path(), &["claims", "verify"]);
    assert_eq!(empty.status.code(), Some(0), "{}", text(&empty));
    assert!(
        text(&empty).contains("0 claim(s) checked"),
        "{}",
        text(&empty)
    );
    let bad = inspay(dir.path(), &["claims", "verify", "--claim", "not-a-uuid"]);
    let message = text(&bad);
    assert_eq!(bad.status.code(), Some(1), "{message}");
    assert!(
        message.contains("'not-a-uuid' is not a claim id (a UUID)"),
        "{message}"
    );
    assert!(message.contains("claims queue"), "{message}");
    let unknown = inspay(
        dir.path(),
        &[
            "claims",
            "verify",
            "--claim",
            "0193a6c2-7d1e-7b31-9f0e-2a4c8d1e5f60",
        ],
    );
    assert_eq!(unknown.status.code(), Some(1), "{}", text(&unknown));
    assert!(
        text(&unknown).contains("claim not found"),
        "{}",
        text(&unknown)
    );
    let help = inspay(dir.path(), &["claims", "verify", "--help"]);
    assert!(help.status.success(), "{}", text(&help));
    let help = text(&help);
    assert!(help.contains("Example"), "{help}");
    assert!(help.contains("inspay claims verify --claim "), "{help}");
}
