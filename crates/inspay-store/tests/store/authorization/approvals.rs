//! Maker-checker approvals.

use super::{T0, audited, conflict, keyring, refusal, staff};
use crate::support::stores;
use inspay_identity::authorization::{ApprovalKind, PayloadDigest, Role};
use inspay_store::StoreError;
use inspay_store::authorization::ApprovalState;

/// Maker-checker: the maker must hold the initiate permission; the checker may not be the
/// maker and must hold the approve permission; an approval is decided once; every step and
/// every refusal is audited; the decision records the checker and the payload digest.
/// req: 5.3.2.2
#[tokio::test]
async fn maker_checker_approvals() {
    for test in stores().await {
        let ring = keyring(&test).await;
        let store = &test.store;
        let adjuster = staff(store, &ring, "adjuster.he", &[Role::ClaimsAdjuster]).await;
        let finance = staff(store, &ring, "finance.lu", &[Role::FinanceOfficer]).await;
        let finance_2 = staff(store, &ring, "finance.ma", &[Role::FinanceOfficer]).await;
        let admin = staff(store, &ring, "admin.gao", &[Role::Administrator]).await;
        let digest = PayloadDigest::of(b"claim:CLM-7|payout|6000000|acct:62220212");

        let message = refusal(
            store
                .approval_request(
                    &admin,
                    ApprovalKind::Payout,
                    "claim:CLM-7",
                    &digest,
                    "r1",
                    T0,
                )
                .await,
        );
        assert!(message.contains("maker"), "{message}");
        let id = store
            .approval_request(
                &adjuster,
                ApprovalKind::Payout,
                "claim:CLM-7",
                &digest,
                "r2",
                T0,
            )
            .await
            .expect("request");
        let pending = store.approval(&id).await.expect("approval");
        assert_eq!(pending.state, ApprovalState::Pending);
        assert_eq!(pending.maker, adjuster);
        assert_eq!(pending.payload_digest, digest);

        let message = conflict(
            store
                .approval_decide(&id, &adjuster, true, "r3", T0 + 1)
                .await,
        );
        assert!(message.contains("another account"), "{message}");
        let message = refusal(store.approval_decide(&id, &admin, true, "r4", T0 + 2).await);
        assert!(message.contains("permission to approve"), "{message}");
        assert_eq!(
            store.approval(&id).await.expect("approval").state,
            ApprovalState::Pending,
            "refusals decide nothing"
        );
        assert_eq!(
            store
                .approval_decide(&id, &finance, true, "r5", T0 + 3)
                .await
                .expect("decide"),
            ApprovalState::Approved
        );
        let message = conflict(
            store
                .approval_decide(&id, &finance_2, false, "r6", T0 + 4)
                .await,
        );
        assert!(message.contains("already decided"), "{message}");
        let decided = store.approval(&id).await.expect("approval");
        assert_eq!(decided.state, ApprovalState::Approved);
        assert_eq!(decided.checker.as_deref(), Some(finance.as_str()));
        assert_eq!(decided.decided_at_ms, Some(T0 + 3));

        let refund_digest = PayloadDigest::of(b"policy:P-1|refund|12000");
        let refund = store
            .approval_request(
                &finance,
                ApprovalKind::Refund,
                "policy:P-1",
                &refund_digest,
                "r7",
                T0,
            )
            .await
            .expect("a finance officer starts a refund");
        conflict(
            store
                .approval_decide(&refund, &finance, true, "r8", T0 + 1)
                .await,
        );
        assert_eq!(
            store
                .approval_decide(&refund, &finance_2, false, "r9", T0 + 2)
                .await
                .expect("reject"),
            ApprovalState::Rejected
        );
        assert!(matches!(
            store
                .approval_decide("no-such", &finance, true, "r10", T0)
                .await,
            Err(StoreError::NotFound("approval"))
        ));

        let requests = audited(store, "approval.request").await;
        assert_eq!(requests.len(), 3);
        assert_eq!(requests[0].0, "denied");
        assert!(requests[1].2.contains(digest.as_str()), "{}", requests[1].2);
        let approvals = audited(store, "approval.approve").await;
        let outcomes: Vec<&str> = approvals.iter().map(|(o, _, _)| o.as_str()).collect();
        assert_eq!(
            outcomes,
            ["denied", "denied", "success", "denied"],
            "{}",
            test.label
        );
        assert!(approvals[0].2.contains("checker-is-maker"));
        assert!(approvals[1].2.contains("checker-not-permitted"));
        let rejects = audited(store, "approval.reject").await;
        assert!(rejects[0].2.contains("already-decided"));
        assert_eq!(rejects.last().expect("reject").0, "success");
    }
}
