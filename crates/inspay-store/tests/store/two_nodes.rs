//! Two nodes on one database: separate connection pools (as two `inspay serve` processes
//! would have) writing at the same time.

use crate::support::{WHO, initialised, stores};
use inspay_kms::{KeyPurpose, KeyState};
use inspay_store::audit::{AuditEvent, AuditValue, Outcome};
use inspay_store::keys::RotationPolicy;
use inspay_store::{PoolSettings, Store};

/// Audit entries appended concurrently by two nodes form one intact chain; rotations of the
/// same purpose by both nodes at once both succeed, one after the other, leaving exactly one
/// active version.
/// req: 5.5.2.1, 5.4.4.2
#[tokio::test]
async fn two_nodes_append_and_rotate_concurrently() {
    for test in stores().await {
        let master = initialised(&test).await;
        let other = Store::connect(&test.url, &PoolSettings::default())
            .await
            .expect("second node");
        let append = |store: Store, node: &'static str| async move {
            for index in 0..50 {
                store
                    .audit(
                        &AuditEvent {
                            actor: node,
                            action: "test.concurrent",
                            object: "chain",
                            outcome: Outcome::Success,
                            request_id: "two-nodes",
                            details: &[("index", AuditValue::Number(index))],
                        },
                        7_000_000 + index,
                    )
                    .await
                    .expect("append");
            }
        };
        tokio::join!(
            append(test.store.clone(), "node:a"),
            append(other.clone(), "node:b")
        );
        let report = test.store.audit_verify(None, |_| {}).await.expect("verify");
        assert!(report.is_intact(), "{}: {:?}", test.label, report.problems);
        let concurrent = test
            .store
            .audit_entries(0, 10_000)
            .await
            .expect("entries")
            .into_iter()
            .filter(|entry| entry.action == "test.concurrent")
            .count();
        assert_eq!(concurrent, 100);

        let policy = RotationPolicy::default();
        let (first, second) = tokio::join!(
            test.store.key_rotate(
                &master,
                KeyPurpose::FieldEncryption,
                &policy,
                WHO,
                8_000_000
            ),
            other.key_rotate(
                &master,
                KeyPurpose::FieldEncryption,
                &policy,
                WHO,
                8_000_000
            ),
        );
        let mut versions = vec![
            first.expect("rotation a").version,
            second.expect("rotation b").version,
        ];
        versions.sort();
        assert_eq!(versions, vec![2, 3], "{}", test.label);
        let active: Vec<u32> = test
            .store
            .key_list(&master)
            .await
            .expect("list")
            .into_iter()
            .filter(|key| {
                key.purpose == KeyPurpose::FieldEncryption && key.state == KeyState::Active
            })
            .map(|key| key.version)
            .collect();
        assert_eq!(active, vec![3]);
    }
}
