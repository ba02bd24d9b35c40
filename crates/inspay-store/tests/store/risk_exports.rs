//! The outbox of risk events for the external risk-control system (clause 5.3.3.5) on every
//! configured backend: leases that two nodes never share, per-sink states with unconfigured
//! sinks skipped, retries put off and counted, idempotent enqueueing, and the purge.

use crate::support::stores;
use inspay_store::risk::{
    NewRiskExport, RiskExportKind, RiskExportRow, RiskExportSink, RiskExportState,
};
use inspay_store::{PoolSettings, Store};
use std::collections::HashSet;

const NOW: i64 = 1_750_000_000_000;
const LEASE_MS: i64 = 30_000;

/// `count` decision events with fresh ids, written at `at_ms`, for the given sinks.
async fn enqueue(
    store: &Store,
    count: usize,
    at_ms: i64,
    nats: bool,
    webhook: bool,
) -> Vec<String> {
    let ids: Vec<(String, String)> = (0..count)
        .map(|_| {
            (
                uuid::Uuid::now_v7().to_string(),
                uuid::Uuid::now_v7().to_string(),
            )
        })
        .collect();
    let rows: Vec<NewRiskExport<'_>> = ids
        .iter()
        .map(|(id, subject)| NewRiskExport {
            id,
            kind: RiskExportKind::Decision,
            subject_id: subject,
            payload: "{\"id\":\"x\"}",
            signature: "c2lnbmF0dXJl",
            key_serial: 1,
            created_at_ms: at_ms,
            nats,
            webhook,
        })
        .collect();
    let written = store.risk_export_enqueue(&rows).await.expect("enqueue");
    assert_eq!(written, count as u64);
    ids.into_iter().map(|(id, _)| id).collect()
}

async fn row(store: &Store, id: &str) -> RiskExportRow {
    store
        .risk_export(id)
        .await
        .expect("read")
        .expect("row stored")
}

/// Two nodes (separate pools on one database) leasing the same backlog at the same time
/// never get the same row, and between them get every row once; a leased row is not leased
/// again until its lease runs out.
/// req: 5.3.3.5
#[tokio::test]
async fn two_leasers_never_get_the_same_row() {
    for test in stores().await {
        let label = test.label;
        let store = &test.store;
        let other = Store::connect(&test.url, &PoolSettings::default())
            .await
            .expect("second node");
        let ids = enqueue(store, 120, NOW, true, true).await;
        let lease_all = |store: Store| async move {
            let mut got = vec![];
            loop {
                let leased = store
                    .risk_exports_lease(NOW, LEASE_MS, 7)
                    .await
                    .expect("lease");
                if leased.is_empty() {
                    break got;
                }
                got.extend(leased.into_iter().map(|row| row.id));
            }
        };
        let (mine, theirs) = tokio::join!(lease_all(store.clone()), lease_all(other.clone()));
        let mine_set: HashSet<&String> = mine.iter().collect();
        let theirs_set: HashSet<&String> = theirs.iter().collect();
        assert!(
            mine_set.is_disjoint(&theirs_set),
            "{label}: a row was leased by both nodes"
        );
        assert_eq!(
            mine.len() + theirs.len(),
            ids.len(),
            "{label}: each row once"
        );
        let all: HashSet<&String> = mine_set.union(&theirs_set).copied().collect();
        assert_eq!(all, ids.iter().collect(), "{label}");

        // Within the lease nothing is due; once it ran out, everything is.
        let within = store
            .risk_exports_lease(NOW + LEASE_MS - 1, LEASE_MS, 1_000)
            .await
            .expect("lease");
        assert!(within.is_empty(), "{label}: leased rows are held");
        let after = other
            .risk_exports_lease(NOW + LEASE_MS, LEASE_MS, 1_000)
            .await
            .expect("lease");
        assert_eq!(after.len(), ids.len(), "{label}: expired leases are due");
        assert!(after.iter().all(|row| row.attempts == 2), "{label}");
        other.close().await;
    }
}

/// Sinks not configured are skipped at enqueue; a row is due until every configured sink
/// acknowledged; a failed attempt is put off to the time asked, keeps its error and its
/// attempt count; enqueueing the same subject again writes nothing; the purge removes only
/// old rows that no sink waits for.
/// req: 5.3.3.5
#[tokio::test]
async fn sinks_retries_and_purge() {
    for test in stores().await {
        let label = test.label;
        let store = &test.store;
        let nats_only = enqueue(store, 1, NOW, true, false).await.remove(0);
        let both = enqueue(store, 1, NOW, true, true).await.remove(0);
        let neither = enqueue(store, 1, NOW, false, false).await.remove(0);
        let skipped = row(store, &nats_only).await;
        assert_eq!(skipped.nats_state, RiskExportState::Pending, "{label}");
        assert_eq!(skipped.webhook_state, RiskExportState::Skipped, "{label}");
        assert_eq!(skipped.kind, RiskExportKind::Decision);
        assert_eq!(skipped.signature, "c2lnbmF0dXJl");
        assert_eq!(
            store.risk_exports_pending().await.expect("pending"),
            2,
            "{label}"
        );

        // The same subject again is not a second event.
        let again = NewRiskExport {
            id: "another-id",
            kind: RiskExportKind::Decision,
            subject_id: &skipped.subject_id,
            payload: "{}",
            signature: "c2ln",
            key_serial: 1,
            created_at_ms: NOW,
            nats: true,
            webhook: true,
        };
        assert_eq!(
            store.risk_export_enqueue(&[again]).await.expect("enqueue"),
            0
        );
        assert!(
            store
                .risk_export("another-id")
                .await
                .expect("read")
                .is_none()
        );

        let leased = store
            .risk_exports_lease(NOW, LEASE_MS, 10)
            .await
            .expect("lease");
        let leased_ids: HashSet<&str> = leased.iter().map(|row| row.id.as_str()).collect();
        assert_eq!(
            leased_ids,
            HashSet::from([nats_only.as_str(), both.as_str()]),
            "{label}: a row with no pending sink is never due"
        );
        assert!(!leased_ids.contains(neither.as_str()));

        // NATS took both; the webhook failed for `both`.
        for id in [&nats_only, &both] {
            assert!(
                store
                    .risk_export_done(id, RiskExportSink::Nats)
                    .await
                    .expect("done")
            );
        }
        assert!(
            !store
                .risk_export_done(&nats_only, RiskExportSink::Nats)
                .await
                .expect("done twice"),
            "{label}: done once"
        );
        assert!(
            !store
                .risk_export_done(&nats_only, RiskExportSink::Webhook)
                .await
                .expect("skipped sink"),
            "{label}: a skipped sink stays skipped"
        );
        store
            .risk_export_retry(&both, "webhook: answered 503", NOW + 5_000)
            .await
            .expect("retry");
        let retried = row(store, &both).await;
        assert_eq!(retried.nats_state, RiskExportState::Done, "{label}");
        assert_eq!(retried.webhook_state, RiskExportState::Pending, "{label}");
        assert_eq!(retried.attempts, 1, "{label}");
        assert_eq!(retried.next_attempt_at_ms, NOW + 5_000, "{label}");
        assert_eq!(retried.last_error.as_deref(), Some("webhook: answered 503"));
        assert_eq!(
            store.risk_exports_pending().await.expect("pending"),
            1,
            "{label}"
        );

        // Put off: not due before its time even though its lease was released.
        assert!(
            store
                .risk_exports_lease(NOW + 4_999, LEASE_MS, 10)
                .await
                .expect("lease")
                .is_empty(),
            "{label}"
        );
        let due = store
            .risk_exports_lease(NOW + 5_000, LEASE_MS, 10)
            .await
            .expect("lease");
        assert_eq!(due.len(), 1, "{label}");
        assert_eq!(due[0].id, both);
        assert_eq!(due[0].attempts, 2, "{label}: the second attempt is counted");
        assert_eq!(
            due[0].state(RiskExportSink::Webhook),
            RiskExportState::Pending
        );

        // A sink removed from the configuration: the row stops waiting for it.
        assert!(
            store
                .risk_export_skip(&both, RiskExportSink::Webhook)
                .await
                .expect("skip")
        );
        assert_eq!(
            store.risk_exports_pending().await.expect("pending"),
            0,
            "{label}"
        );

        // A pending row is never purged; delivered ones go once old enough.
        let pending = enqueue(store, 1, NOW, true, false).await.remove(0);
        assert_eq!(
            store.risk_exports_purge(NOW).await.expect("purge"),
            0,
            "{label}"
        );
        assert_eq!(
            store.risk_exports_purge(NOW + 1).await.expect("purge"),
            3,
            "{label}: the three settled rows"
        );
        assert!(store.risk_export(&pending).await.expect("read").is_some());
        assert!(store.risk_export(&both).await.expect("read").is_none());
    }
}
