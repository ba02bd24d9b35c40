//! The risk engine's storage on every configured backend: rule-signing keys, signed rule packs
//! (versions, one active, rollback, withdrawal, the reload generation, concurrent installs),
//! decisions under record MACs, the model's history and its baselines.

use crate::support::{TestStore, WHO, initialised, stores};
use inspay_kms::Keyring;
use inspay_store::risk::{
    NewRiskDecision, NewRiskPack, RiskBaselineRow, RiskDecisionFilter, RiskObservation,
    RiskPackError,
};
use inspay_store::{PoolSettings, Store, StoreError};

const PEM_A: &str = "-----BEGIN PUBLIC KEY-----\nA\n-----END PUBLIC KEY-----\n";
const PEM_B: &str = "-----BEGIN PUBLIC KEY-----\nB\n-----END PUBLIC KEY-----\n";
const FINGERPRINT_A: &str = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
const FINGERPRINT_B: &str = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";
const NOW: i64 = 1_750_000_000_000;

fn pack(pack_id: &str, version: i64) -> NewRiskPack<'_> {
    NewRiskPack {
        pack_id,
        version,
        manifest: "[pack]\nid = \"core\"\n",
        signature: "sm2:signature",
        digest: "d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3",
        signer: "rules-team",
        key_fingerprint: FINGERPRINT_A,
        rules: 3,
    }
}

async fn add_signer(store: &Store, ring: &Keyring) {
    store
        .risk_signer_add(ring, "rules-team", PEM_A, FINGERPRINT_A, WHO, NOW)
        .await
        .expect("signer");
}

/// The actions of every audit entry, in order.
async fn audited_actions(store: &Store) -> Vec<String> {
    store
        .audit_entries(0, 10_000)
        .await
        .expect("audit entries")
        .into_iter()
        .map(|entry| entry.action)
        .collect()
}

async fn assert_chain_intact(test: &TestStore) {
    let report = test.store.audit_verify(None, |_| {}).await.expect("verify");
    assert!(report.is_intact(), "{}: {:?}", test.label, report.problems);
}

/// Signing keys are registered once by name and by key, a revoked one stays listed after
/// the active ones, and revoking bumps the pack generation so nodes drop its packs; every
/// change is audited; a signer row changed or added in the database fails its record MAC.
/// req: 6.3.7
/// req: 5.6.1-b
#[tokio::test]
async fn signers_are_added_once_and_revoked() {
    for test in stores().await {
        let master = initialised(&test).await;
        let ring = test.store.keyring_load(&master).await.expect("keyring");
        let store = &test.store;
        let label = test.label;
        let start = store.risk_pack_generation().await.expect("generation");
        let alice = store
            .risk_signer_add(&ring, "alice", PEM_A, FINGERPRINT_A, WHO, NOW)
            .await
            .expect("alice");
        assert!(alice.active && alice.revoked_at_ms.is_none(), "{label}");
        assert_eq!(alice.added_by, WHO.actor);
        let same_name = store
            .risk_signer_add(&ring, "alice", PEM_B, FINGERPRINT_B, WHO, NOW)
            .await;
        assert!(matches!(same_name, Err(StoreError::Conflict(_))), "{label}");
        let same_key = store
            .risk_signer_add(&ring, "bob", PEM_A, FINGERPRINT_A, WHO, NOW)
            .await;
        assert!(matches!(same_key, Err(StoreError::Conflict(_))), "{label}");
        for name in [String::new(), "x".repeat(65)] {
            let refused = store
                .risk_signer_add(&ring, &name, PEM_B, FINGERPRINT_B, WHO, NOW)
                .await;
            assert!(matches!(refused, Err(StoreError::Refused(_))), "{label}");
        }
        store
            .risk_signer_add(&ring, "bob", PEM_B, FINGERPRINT_B, WHO, NOW)
            .await
            .expect("bob");
        let names: Vec<String> = store
            .risk_signers(&ring)
            .await
            .expect("signers")
            .into_iter()
            .map(|signer| signer.name)
            .collect();
        assert_eq!(names, ["alice", "bob"], "{label}");
        assert_eq!(store.risk_pack_generation().await.expect("gen"), start);

        assert!(
            store
                .risk_signer_revoke(&ring, "alice", WHO, NOW + 1)
                .await
                .expect("revoke")
        );
        assert_eq!(
            store.risk_pack_generation().await.expect("gen"),
            start + 1,
            "{label}"
        );
        for name in ["alice", "nobody"] {
            assert!(
                !store
                    .risk_signer_revoke(&ring, name, WHO, NOW + 2)
                    .await
                    .expect("revoke again")
            );
        }
        assert_eq!(
            store.risk_pack_generation().await.expect("gen"),
            start + 1,
            "{label}: a revocation that changed nothing must not make nodes reload"
        );
        let signers = store.risk_signers(&ring).await.expect("signers");
        assert_eq!(signers.len(), 2);
        assert_eq!((signers[0].name.as_str(), signers[0].active), ("bob", true));
        assert_eq!(
            (
                signers[1].name.as_str(),
                signers[1].active,
                signers[1].revoked_at_ms
            ),
            ("alice", false, Some(NOW + 1)),
            "{label}"
        );
        let revoked_again = store
            .risk_signer_add(&ring, "carol", PEM_A, FINGERPRINT_A, WHO, NOW)
            .await;
        assert!(
            matches!(revoked_again, Err(StoreError::Conflict(_))),
            "{label}: a revoked key cannot come back under another name"
        );

        let actions = audited_actions(store).await;
        let count = |action: &str| actions.iter().filter(|a| *a == action).count();
        assert_eq!(count("risk.signer.add"), 2, "{label}");
        assert_eq!(count("risk.signer.revoke"), 1, "{label}");
        assert_chain_intact(&test).await;

        // A signer re-activated, or added, behind inspay's back fails its record MAC: the
        // list is refused whole rather than trusted.
        sqlx::query(
            "UPDATE risk_signers SET state = 'active', revoked_at_ms = NULL WHERE name = 'alice'",
        )
        .execute(store.pool())
        .await
        .expect("tamper");
        assert!(
            matches!(
                store.risk_signers(&ring).await,
                Err(StoreError::Integrity(_))
            ),
            "{label}: a re-activated signer is refused"
        );
        sqlx::query(
            "UPDATE risk_signers SET state = 'revoked', revoked_at_ms = $1 WHERE name = 'alice'",
        )
        .bind(NOW + 1)
        .execute(store.pool())
        .await
        .expect("restore");
        assert_eq!(
            store.risk_signers(&ring).await.expect("intact again").len(),
            2,
            "{label}"
        );
        let bob = store.risk_signers(&ring).await.expect("signers")[0].clone();
        sqlx::query(
            "INSERT INTO risk_signers (name, public_key_pem, fingerprint, state, added_by, added_at_ms, record_mac)
             VALUES ('mallory', $1, 'ff', 'active', 'nobody', 1, $2)",
        )
        .bind(&bob.public_key_pem)
        .bind("mac:forged")
        .execute(store.pool())
        .await
        .expect("insert behind inspay's back");
        assert!(
            matches!(
                store.risk_signers(&ring).await,
                Err(StoreError::Integrity(_))
            ),
            "{label}: a signer added in SQL is refused"
        );
    }
}

/// Installing keeps every version with one active; an equal or lower version is refused; a
/// rollback activates a stored version (not the active one, not an unknown one); withdrawal
/// leaves none active; each change bumps the generation once and is audited, and a refusal
/// changes nothing. A pack of an unknown or revoked signer is neither installed nor rolled
/// back to.
/// req: 6.3.7
#[tokio::test]
async fn packs_install_roll_back_and_withdraw() {
    for test in stores().await {
        let master = initialised(&test).await;
        let ring = test.store.keyring_load(&master).await.expect("keyring");
        let store = &test.store;
        let label = test.label;
        add_signer(store, &ring).await;
        let generation =
            move || async move { store.risk_pack_generation().await.expect("generation") };
        let start = generation().await;

        let first = store
            .risk_pack_install(pack("core", 1), WHO, NOW)
            .await
            .expect("v1");
        assert!(
            first.active && first.activated_at_ms == Some(NOW),
            "{label}"
        );
        assert_eq!(generation().await, start + 1, "{label}");
        let active = store.risk_packs_active().await.expect("active");
        assert_eq!(active, vec![first.clone()], "{label}");

        let second = store
            .risk_pack_install(pack("core", 2), WHO, NOW + 10)
            .await
            .expect("v2");
        assert!(second.active);
        assert_eq!(generation().await, start + 2, "{label}");
        let versions = store.risk_packs(Some("core")).await.expect("versions");
        let states: Vec<(i64, bool)> = versions.iter().map(|p| (p.version, p.active)).collect();
        assert_eq!(states, [(2, true), (1, false)], "{label}");

        for version in [2, 1] {
            let refused = store
                .risk_pack_install(pack("core", version), WHO, NOW + 20)
                .await;
            assert!(
                matches!(refused, Err(RiskPackError::VersionNotNewer { current: 2 })),
                "{label}: {refused:?}"
            );
        }
        let unknown_signer = NewRiskPack {
            signer: "stranger",
            ..pack("core", 3)
        };
        let refused = store.risk_pack_install(unknown_signer, WHO, NOW + 20).await;
        assert!(
            matches!(refused, Err(RiskPackError::Store(StoreError::Refused(_)))),
            "{label}: {refused:?}"
        );
        let wrong_key = NewRiskPack {
            key_fingerprint: FINGERPRINT_B,
            ..pack("core", 3)
        };
        let refused = store.risk_pack_install(wrong_key, WHO, NOW + 20).await;
        assert!(
            matches!(refused, Err(RiskPackError::Store(StoreError::Refused(_)))),
            "{label}: {refused:?}"
        );
        assert_eq!(
            generation().await,
            start + 2,
            "{label}: refusals change nothing"
        );

        let rolled = store
            .risk_pack_rollback("core", 1, WHO, NOW + 30)
            .await
            .expect("rollback");
        assert!(rolled.active && rolled.activated_at_ms == Some(NOW + 30));
        assert_eq!(generation().await, start + 3, "{label}");
        let versions = store.risk_packs(Some("core")).await.expect("versions");
        let states: Vec<(i64, bool)> = versions.iter().map(|p| (p.version, p.active)).collect();
        assert_eq!(states, [(2, false), (1, true)], "{label}");
        let again = store.risk_pack_rollback("core", 1, WHO, NOW + 31).await;
        assert!(
            matches!(again, Err(RiskPackError::AlreadyActive)),
            "{label}"
        );
        let missing = store.risk_pack_rollback("core", 7, WHO, NOW + 31).await;
        assert!(matches!(missing, Err(RiskPackError::NotFound)), "{label}");
        let missing = store.risk_pack_rollback("nothing", 1, WHO, NOW + 31).await;
        assert!(matches!(missing, Err(RiskPackError::NotFound)), "{label}");
        assert_eq!(generation().await, start + 3, "{label}");

        store
            .risk_pack_install(pack("aml", 1), WHO, NOW + 40)
            .await
            .expect("second pack");
        assert_eq!(generation().await, start + 4, "{label}");
        let active: Vec<(String, i64)> = store
            .risk_packs_active()
            .await
            .expect("active")
            .into_iter()
            .map(|p| (p.pack_id, p.version))
            .collect();
        assert_eq!(active, [("aml".into(), 1), ("core".into(), 1)], "{label}");
        let all: Vec<(String, i64)> = store
            .risk_packs(None)
            .await
            .expect("all")
            .into_iter()
            .map(|p| (p.pack_id, p.version))
            .collect();
        assert_eq!(
            all,
            [("aml".into(), 1), ("core".into(), 2), ("core".into(), 1)],
            "{label}"
        );

        assert!(
            store
                .risk_pack_withdraw("core", WHO, NOW + 50)
                .await
                .expect("withdraw")
        );
        assert_eq!(generation().await, start + 5, "{label}");
        assert!(
            !store
                .risk_pack_withdraw("core", WHO, NOW + 51)
                .await
                .expect("withdraw again")
        );
        assert_eq!(generation().await, start + 5, "{label}");
        let active = store.risk_packs_active().await.expect("active");
        assert_eq!(active.len(), 1);
        assert_eq!(active[0].pack_id, "aml");
        assert_eq!(store.risk_packs(Some("core")).await.expect("kept").len(), 2);

        // After its signer is revoked, a version it signed cannot be made active again.
        assert!(
            store
                .risk_signer_revoke(&ring, "rules-team", WHO, NOW + 60)
                .await
                .expect("revoke")
        );
        assert_eq!(generation().await, start + 6, "{label}");
        let refused = store.risk_pack_rollback("core", 2, WHO, NOW + 61).await;
        assert!(
            matches!(refused, Err(RiskPackError::Store(StoreError::Refused(_)))),
            "{label}: {refused:?}"
        );
        assert_eq!(generation().await, start + 6, "{label}");

        let entries = store.audit_entries(0, 10_000).await.expect("audit");
        let count = |action: &str| entries.iter().filter(|e| e.action == action).count();
        assert_eq!(count("risk.pack.install"), 3, "{label}");
        assert_eq!(count("risk.pack.rollback"), 1, "{label}");
        assert_eq!(count("risk.pack.withdraw"), 1, "{label}");
        let install = entries
            .iter()
            .find(|e| e.action == "risk.pack.install" && e.object == "risk-pack:core:v2")
            .expect("install of v2 audited");
        for expected in ["\"version\":\"2\"", "\"signer\":\"rules-team\"", "d3d3d3"] {
            assert!(install.detail.contains(expected), "{}", install.detail);
        }
        assert_eq!(install.actor, WHO.actor);
        assert_eq!(install.request_id, WHO.request_id);
        assert_chain_intact(&test).await;
    }
}

/// Eight installs of the same pack version at once, from two nodes: exactly one succeeds,
/// the others are told the version is not newer, one row is active and the generation moved
/// once.
/// req: 6.3.7
#[tokio::test]
async fn concurrent_installs_of_one_version_succeed_once() {
    for test in stores().await {
        let master = initialised(&test).await;
        let ring = test.store.keyring_load(&master).await.expect("keyring");
        let label = test.label;
        add_signer(&test.store, &ring).await;
        store_install_base(&test.store).await;
        let other = Store::connect(&test.url, &PoolSettings::default())
            .await
            .expect("second node");
        let start = test.store.risk_pack_generation().await.expect("generation");
        let mut tasks = vec![];
        for index in 0..8_i64 {
            let store = if index % 2 == 0 {
                test.store.clone()
            } else {
                other.clone()
            };
            tasks.push(tokio::spawn(async move {
                store
                    .risk_pack_install(pack("core", 2), WHO, NOW + index)
                    .await
            }));
        }
        let mut installed = 0;
        for task in tasks {
            match task.await.expect("task") {
                Ok(row) => {
                    assert_eq!(row.version, 2);
                    installed += 1;
                }
                Err(RiskPackError::VersionNotNewer { current: 2 }) => {}
                Err(error) => panic!("{label}: unexpected {error:?}"),
            }
        }
        assert_eq!(installed, 1, "{label}");
        let active = test.store.risk_packs_active().await.expect("active");
        assert_eq!(active.len(), 1, "{label}");
        assert_eq!(active[0].version, 2, "{label}");
        assert_eq!(
            test.store
                .risk_packs(Some("core"))
                .await
                .expect("all")
                .len(),
            2
        );
        assert_eq!(
            test.store.risk_pack_generation().await.expect("generation"),
            start + 1,
            "{label}"
        );
        assert_chain_intact(&test).await;
        other.close().await;
    }
}

async fn store_install_base(store: &Store) {
    store
        .risk_pack_install(pack("core", 1), WHO, NOW)
        .await
        .expect("v1");
}

fn decision<'a>(id: &'a str, at_ms: i64, account: Option<&'a str>) -> NewRiskDecision<'a> {
    NewRiskDecision {
        id,
        at_ms,
        operation: "payment",
        account_id: account,
        reference: Some("payment:1"),
        verdict: "allow",
        reasons_json: "[]",
        model_score: None,
        alert: false,
    }
}

/// Decisions are recorded with their reasons and score exactly, listed newest first by
/// account, verdict, alert and time with the limit clamped, and a decision changed in the
/// database is refused when read (record MAC).
/// req: 5.3.3.1
#[tokio::test]
async fn decisions_are_recorded_filtered_and_tamper_evident() {
    for test in stores().await {
        let label = test.label;
        let master = initialised(&test).await;
        let ring = test.store.keyring_load(&master).await.expect("keyring");
        let store = &test.store;
        let score = 0.1 + 0.2;
        let reasons = r#"[{"source":"rule","rule":"core.velocity","detail":"5 payouts in 1 h"}]"#;
        let denied = NewRiskDecision {
            verdict: "deny",
            reasons_json: reasons,
            model_score: Some(score),
            alert: true,
            ..decision("d-2", NOW + 2, Some("acc-1"))
        };
        for new in [
            decision("d-1", NOW + 1, Some("acc-1")),
            denied,
            decision("d-3", NOW + 3, Some("acc-2")),
            NewRiskDecision {
                reference: None,
                operation: "sign-in",
                ..decision("d-4", NOW + 4, None)
            },
        ] {
            store
                .risk_decision_record(&ring, new)
                .await
                .expect("record");
        }
        let filter = RiskDecisionFilter {
            account_id: None,
            verdict: None,
            alerts_only: false,
            since_ms: 0,
            limit: 100,
        };
        let ids = |rows: Vec<inspay_store::risk::RiskDecisionRow>| -> Vec<String> {
            rows.into_iter().map(|row| row.id).collect()
        };
        let all = store.risk_decisions(&ring, filter).await.expect("all");
        assert_eq!(ids(all.clone()), ["d-4", "d-3", "d-2", "d-1"], "{label}");
        let stored = &all[2];
        assert_eq!(stored.model_score, Some(score), "{label}: score exact");
        assert_eq!(stored.reasons_json, reasons);
        assert!(stored.alert && stored.verdict == "deny");
        assert_eq!(all[0].account_id, None);
        assert_eq!(all[0].reference, None);

        let by_account = RiskDecisionFilter {
            account_id: Some("acc-1"),
            ..filter
        };
        let rows = store
            .risk_decisions(&ring, by_account)
            .await
            .expect("account");
        assert_eq!(ids(rows), ["d-2", "d-1"], "{label}");
        let by_verdict = RiskDecisionFilter {
            verdict: Some("allow"),
            ..filter
        };
        let rows = store
            .risk_decisions(&ring, by_verdict)
            .await
            .expect("verdict");
        assert_eq!(ids(rows), ["d-4", "d-3", "d-1"], "{label}");
        let alerts = RiskDecisionFilter {
            alerts_only: true,
            ..filter
        };
        let rows = store.risk_decisions(&ring, alerts).await.expect("alerts");
        assert_eq!(ids(rows), ["d-2"], "{label}");
        let recent = RiskDecisionFilter {
            since_ms: NOW + 3,
            account_id: Some("acc-2"),
            verdict: Some("allow"),
            ..filter
        };
        let rows = store.risk_decisions(&ring, recent).await.expect("recent");
        assert_eq!(ids(rows), ["d-3"], "{label}");
        let none = RiskDecisionFilter { limit: 0, ..filter };
        let rows = store.risk_decisions(&ring, none).await.expect("clamped");
        assert_eq!(ids(rows), ["d-4"], "{label}: a limit below 1 lists one");

        let duplicate = store
            .risk_decision_record(&ring, decision("d-1", NOW, None))
            .await;
        assert!(matches!(duplicate, Err(StoreError::Conflict(_))), "{label}");
        let not_json = NewRiskDecision {
            reasons_json: "not json",
            ..decision("d-5", NOW, None)
        };
        let refused = store.risk_decision_record(&ring, not_json).await;
        assert!(matches!(refused, Err(StoreError::Refused(_))), "{label}");
        let not_finite = NewRiskDecision {
            model_score: Some(f64::NAN),
            ..decision("d-6", NOW, None)
        };
        let refused = store.risk_decision_record(&ring, not_finite).await;
        assert!(matches!(refused, Err(StoreError::Refused(_))), "{label}");

        // Someone with database rights turns the deny into an allow.
        sqlx::query("UPDATE risk_decisions SET verdict = 'allow', alert = 0 WHERE id = 'd-2'")
            .execute(store.pool())
            .await
            .expect("tamper");
        let tampered = store.risk_decisions(&ring, filter).await;
        assert!(
            matches!(tampered, Err(StoreError::Integrity(_))),
            "{label}: {tampered:?}"
        );
        // A listing that does not reach the changed row still reads.
        let other = RiskDecisionFilter {
            account_id: Some("acc-2"),
            ..filter
        };
        assert_eq!(
            ids(store.risk_decisions(&ring, other).await.expect("other")),
            ["d-3"]
        );
        // Moving the score is caught too.
        sqlx::query("UPDATE risk_decisions SET model_score = 0.5 WHERE id = 'd-1'")
            .execute(store.pool())
            .await
            .expect("tamper score");
        let by_account = store.risk_decisions(&ring, by_account).await;
        assert!(
            matches!(by_account, Err(StoreError::Integrity(_))),
            "{label}"
        );
    }
}

/// `count` observations over 50 accounts, 3 products and 2 kinds, some with a device.
fn observations(count: usize) -> Vec<RiskObservation> {
    (0..count)
        .map(|index| {
            let index_i64 = i64::try_from(index).expect("index");
            RiskObservation {
                account_id: format!("acc-{}", index % 50),
                product: format!("prod-{}", index % 3),
                kind: if index % 4 == 0 { "payout" } else { "payment" }.to_string(),
                amount_fen: 100 + (index_i64 * 37) % 10_000,
                at_ms: NOW + index_i64 * 1_000,
                device_ref: (index % 5 == 0).then(|| format!("hmac-sm3:{:064x}", index % 7)),
            }
        })
        .collect()
}

/// 25,000 observations written in chunks of 10,000 are all stored, a keyset scan in pages
/// returns each exactly once, in order and unchanged, and the window query counts and sums
/// the account's operations of one kind since a time.
/// req: 5.3.3.2
#[tokio::test]
async fn observations_bulk_insert_scan_and_window() {
    for test in stores().await {
        let label = test.label;
        let store = &test.store;
        let rows = observations(25_000);
        let mut written = 0;
        for chunk in rows.chunks(10_000) {
            written += store
                .risk_observations_insert_many(chunk)
                .await
                .expect("insert many");
        }
        assert_eq!(written, 25_000, "{label}");
        assert_eq!(
            store
                .risk_observations_insert_many(&[])
                .await
                .expect("none"),
            0
        );
        assert_eq!(
            store.risk_observations_count().await.expect("count"),
            25_000
        );

        let mut seen = Vec::with_capacity(rows.len());
        let mut after = 0;
        let mut pages = 0;
        loop {
            let page = store
                .risk_observations_scan(after, 3_000)
                .await
                .expect("scan");
            let Some((last, _)) = page.last() else {
                break;
            };
            after = *last;
            pages += 1;
            seen.extend(page);
        }
        assert_eq!(pages, 9, "{label}");
        assert!(
            seen.windows(2).all(|pair| pair[0].0 < pair[1].0),
            "{label}: ids strictly increase"
        );
        let scanned: Vec<RiskObservation> = seen.into_iter().map(|(_, row)| row).collect();
        assert!(scanned == rows, "{label}: every row once, in insert order");

        for (account, kind, since) in [
            ("acc-7", "payment", 0),
            ("acc-8", "payout", NOW + 12_000_000),
            ("acc-0", "payout", NOW + 24_999_000),
            ("acc-1", "refund", 0),
        ] {
            let expected = rows
                .iter()
                .filter(|row| row.account_id == account && row.kind == kind && row.at_ms >= since)
                .fold((0, 0), |(count, sum), row| {
                    (count + 1, sum + row.amount_fen)
                });
            let window = store
                .risk_window(account, kind, since)
                .await
                .expect("window");
            assert_eq!(window, expected, "{label}: {account} {kind} since {since}");
        }

        let single = RiskObservation {
            account_id: "acc-new".into(),
            product: "prod-0".into(),
            kind: "refund".into(),
            amount_fen: 4_200,
            at_ms: NOW,
            device_ref: None,
        };
        store.risk_observe(&single).await.expect("observe");
        assert_eq!(
            store
                .risk_window("acc-new", "refund", NOW)
                .await
                .expect("window"),
            (1, 4_200)
        );
        let tail = store.risk_observations_scan(after, 10).await.expect("tail");
        assert_eq!(tail.len(), 1);
        assert_eq!(tail[0].1, single);
    }
}

fn baseline(kind: &str, subject: String, body: &str, observations: i64) -> RiskBaselineRow {
    RiskBaselineRow {
        subject_kind: kind.into(),
        subject,
        body: body.into(),
        observations,
        updated_at_ms: NOW + observations,
    }
}

/// Baselines are written many at a time and overwritten whole on the next training (the
/// later of two rows for one subject wins); counts are per kind; an unknown kind is refused.
/// req: 5.3.3.2
#[tokio::test]
async fn baselines_upsert_and_overwrite() {
    for test in stores().await {
        let label = test.label;
        let store = &test.store;
        let mut rows: Vec<RiskBaselineRow> = (0..600)
            .map(|index| baseline("customer", format!("acc-{index}"), r#"{"v":1}"#, index))
            .collect();
        rows.extend((0..3).map(|index| baseline("product", format!("prod-{index}"), "{}", 1)));
        rows.push(baseline("global", "all".into(), "{}", 1));
        assert_eq!(
            store.risk_baselines_put_many(&rows).await.expect("put"),
            604,
            "{label}"
        );
        assert_eq!(
            store.risk_baselines_count("customer").await.expect("n"),
            600
        );
        assert_eq!(store.risk_baselines_count("product").await.expect("n"), 3);
        assert_eq!(store.risk_baselines_count("global").await.expect("n"), 1);

        let retrained = vec![
            baseline("customer", "acc-5".into(), r#"{"v":2}"#, 50),
            baseline("customer", "acc-new".into(), r#"{"v":2}"#, 7),
            baseline("customer", "acc-5".into(), r#"{"v":3}"#, 51),
        ];
        assert_eq!(
            store
                .risk_baselines_put_many(&retrained)
                .await
                .expect("put"),
            2,
            "{label}"
        );
        assert_eq!(
            store.risk_baselines_count("customer").await.expect("n"),
            601
        );
        let stored = store
            .risk_baseline("customer", "acc-5")
            .await
            .expect("read")
            .expect("stored");
        assert_eq!(stored, retrained[2], "{label}: the later row wins");
        let untouched = store
            .risk_baseline("customer", "acc-6")
            .await
            .expect("read")
            .expect("stored");
        assert_eq!(untouched, rows[6]);
        assert!(
            store
                .risk_baseline("customer", "nobody")
                .await
                .expect("read")
                .is_none()
        );
        let refused = store
            .risk_baselines_put_many(&[baseline("merchant", "x".into(), "{}", 1)])
            .await;
        assert!(matches!(refused, Err(StoreError::Refused(_))), "{label}");
        assert_eq!(store.risk_baselines_put_many(&[]).await.expect("none"), 0);
    }
}

/// Measures importing 1,000,000 observations into SQLite in chunks of 10,000 (the size a
/// history import sends). Run with `cargo test --release -p inspay-store --test store --
/// risk::a_million_observations_import_on_sqlite --exact --ignored --nocapture`.
/// req: 5.3.3.2
#[tokio::test]
#[ignore = "a measurement: about a million rows"]
async fn a_million_observations_import_on_sqlite() {
    let test = crate::support::sqlite().await;
    let rows = observations(1_000_000);
    let started = std::time::Instant::now();
    for chunk in rows.chunks(10_000) {
        test.store
            .risk_observations_insert_many(chunk)
            .await
            .expect("insert many");
    }
    let elapsed = started.elapsed();
    assert_eq!(
        test.store.risk_observations_count().await.expect("count"),
        1_000_000
    );
    let scan_started = std::time::Instant::now();
    let mut after = 0;
    let mut scanned = 0;
    loop {
        let page = test
            .store
            .risk_observations_scan(after, 10_000)
            .await
            .expect("scan");
        let Some((last, _)) = page.last() else {
            break;
        };
        after = *last;
        scanned += page.len();
    }
    assert_eq!(scanned, 1_000_000);
    println!(
        "sqlite: 1,000,000 observations inserted in chunks of 10,000 in {:.2} s \
         ({:.0} rows/s); scanned in pages of 10,000 in {:.2} s",
        elapsed.as_secs_f64(),
        1_000_000.0 / elapsed.as_secs_f64(),
        scan_started.elapsed().as_secs_f64()
    );
}

fn hold<'a>(id: &'a str, subject: &'a str, resumable: bool) -> inspay_store::risk::NewRiskHold<'a> {
    inspay_store::risk::NewRiskHold {
        id,
        decision_id: "d-1",
        operation: "claim_decision",
        account_id: "acc-1",
        subject,
        requested_by: "staff-1",
        payload: r#"{"kind":"claim_decision"}"#,
        resumable,
        at_ms: NOW,
    }
}

/// Holds for review: one open hold per operation (a second opening returns the first); a
/// release or rejection happens once and is audited; only a released, server-resumed hold is
/// leased, by one caller at a time, and it ends once; a hold changed in the database (a
/// rejection turned into a release) fails its record MAC.
/// req: 5.3.3.1
#[tokio::test]
async fn holds_are_decided_once_leased_once_and_tamper_evident() {
    use inspay_store::risk::RiskHoldState;
    for test in stores().await {
        let label = test.label;
        let master = initialised(&test).await;
        let ring = test.store.keyring_load(&master).await.expect("keyring");
        let store = &test.store;
        let first = store
            .risk_hold_open(&ring, hold("h-1", "claim:c1", true))
            .await;
        let first = first.expect("open");
        let again = store
            .risk_hold_open(&ring, hold("h-2", "claim:c1", true))
            .await;
        assert_eq!(again.expect("same").id, "h-1", "{label}: one open hold");
        let bad = hold("h-3", "claim:c3", true);
        let bad = inspay_store::risk::NewRiskHold {
            payload: "not json",
            ..bad
        };
        assert!(matches!(
            store.risk_hold_open(&ring, bad).await,
            Err(StoreError::Refused(_))
        ));
        assert_eq!(first.state, RiskHoldState::Held);
        let leased = store.risk_holds_lease(&ring, NOW, 60_000, 10).await;
        assert!(
            leased.expect("lease").is_empty(),
            "{label}: held is not leased"
        );

        let released = store.risk_hold_decide(&ring, "h-1", true, Some("ok"), WHO, NOW + 1);
        assert_eq!(
            released.await.expect("release").state,
            RiskHoldState::Released
        );
        for release in [true, false] {
            let twice = store.risk_hold_decide(&ring, "h-1", release, None, WHO, NOW + 2);
            assert!(
                matches!(twice.await, Err(StoreError::Conflict(_))),
                "{label}"
            );
        }
        let leased = store.risk_holds_lease(&ring, NOW + 3, 60_000, 10).await;
        assert_eq!(leased.expect("lease").len(), 1, "{label}");
        let leased = store.risk_holds_lease(&ring, NOW + 4, 60_000, 10).await;
        assert!(leased.expect("lease").is_empty(), "{label}: leased once");
        let leased = store
            .risk_holds_lease(&ring, NOW + 60_004, 60_000, 10)
            .await;
        let leased = leased.expect("lease after expiry");
        assert_eq!(leased.len(), 1, "{label}: an expired lease is taken again");
        assert_eq!(leased[0].attempts, 2);
        let done = store.risk_hold_finish(&ring, "h-1", RiskHoldState::Resumed, "done", NOW + 5);
        assert_eq!(done.await.expect("finish").state, RiskHoldState::Resumed);
        let again = store.risk_hold_finish(&ring, "h-1", RiskHoldState::Failed, "x", NOW + 6);
        assert!(
            matches!(again.await, Err(StoreError::Conflict(_))),
            "{label}"
        );
        let open = store
            .risk_hold_open(&ring, hold("h-4", "claim:c1", true))
            .await;
        assert_eq!(
            open.expect("new").id,
            "h-4",
            "{label}: the subject is free again"
        );

        store
            .risk_hold_open(&ring, hold("h-5", "claim:c5", false))
            .await
            .expect("open");
        let rejected = store.risk_hold_decide(&ring, "h-5", false, None, WHO, NOW + 7);
        assert_eq!(
            rejected.await.expect("reject").state,
            RiskHoldState::Rejected
        );
        let actions = audited_actions(store).await;
        assert!(actions.iter().any(|action| action == "risk.hold.release"));
        assert!(actions.iter().any(|action| action == "risk.hold.reject"));
        assert_chain_intact(&test).await;

        // Someone with database rights turns the rejection into a release.
        sqlx::query("UPDATE risk_holds SET state = 'released' WHERE id = 'h-5'")
            .execute(store.pool())
            .await
            .expect("tamper");
        assert!(
            matches!(
                store.risk_hold(&ring, "h-5").await,
                Err(StoreError::Integrity(_))
            ),
            "{label}"
        );
        let filter = inspay_store::risk::RiskHoldFilter {
            state: Some(RiskHoldState::Released),
            account_id: None,
            limit: 10,
        };
        assert!(store.risk_holds(&ring, filter).await.is_err(), "{label}");
    }
}
