//! Data scopes: agents reach their customers, adjusters their claims, customers their own data.

use super::{T0, audited, customer, keyring, may, refusal, staff};
use crate::support::{WHO, stores};
use inspay_identity::authorization::{Permission, Role};
use inspay_store::authorization::Target;

/// An agent reaches the customers assigned to them and no others; reassigning a customer
/// moves the access; revoking the agent role removes the assignments; only agents take
/// customers and only customer accounts are assigned.
/// req: 5.6.1-d, 5.3.2.2
#[tokio::test]
async fn agents_reach_only_their_customers() {
    for test in stores().await {
        let ring = keyring(&test).await;
        let store = &test.store;
        let agent_a = staff(store, &ring, "agent.a", &[Role::Agent]).await;
        let agent_b = staff(store, &ring, "agent.b", &[Role::Agent]).await;
        let finance = staff(store, &ring, "finance.a", &[Role::FinanceOfficer]).await;
        let first = customer(store, &ring, "13812345678").await;
        let second = customer(store, &ring, "13912345678").await;
        store
            .agent_assign_customer(&agent_a, &first, WHO, T0)
            .await
            .expect("assign");
        assert!(
            may(
                store,
                &agent_a,
                Permission::CustomerRead,
                Target::Customer(&first)
            )
            .await
        );
        assert!(
            may(
                store,
                &agent_a,
                Permission::PolicyPropose,
                Target::Customer(&first)
            )
            .await
        );
        assert!(
            !may(
                store,
                &agent_a,
                Permission::CustomerRead,
                Target::Customer(&second)
            )
            .await
        );
        assert!(
            !may(
                store,
                &agent_b,
                Permission::CustomerRead,
                Target::Customer(&first)
            )
            .await
        );
        assert!(
            !may(
                store,
                &agent_a,
                Permission::RefundInitiate,
                Target::Customer(&first)
            )
            .await
        );
        assert!(
            !may(
                store,
                &agent_a,
                Permission::CustomerRead,
                Target::Customer(&finance)
            )
            .await
        );
        assert!(
            !store
                .may_access(&agent_a, Permission::CustomerRead, &Target::System)
                .await
                .expect("check"),
            "a customer permission does not act on the system"
        );
        assert!(
            may(
                store,
                &finance,
                Permission::CustomerRead,
                Target::Customer(&second)
            )
            .await
        );
        assert!(
            !may(
                store,
                &finance,
                Permission::CustomerRead,
                Target::Customer(&agent_a)
            )
            .await,
            "a staff account is not customer data"
        );

        store
            .agent_assign_customer(&agent_b, &first, WHO, T0 + 1)
            .await
            .expect("reassign");
        assert!(
            !may(
                store,
                &agent_a,
                Permission::CustomerRead,
                Target::Customer(&first)
            )
            .await
        );
        assert!(
            may(
                store,
                &agent_b,
                Permission::CustomerRead,
                Target::Customer(&first)
            )
            .await
        );
        let moves = audited(store, "assign.customer").await;
        assert_eq!(moves.len(), 2);
        assert!(
            moves[1].2.contains(&format!("account:{agent_a}")),
            "previous"
        );

        assert!(
            store
                .role_revoke(&agent_b, Role::Agent, WHO, T0 + 2)
                .await
                .expect("revoke")
        );
        store
            .role_grant(&agent_b, Role::Agent, WHO, T0 + 3)
            .await
            .expect("grant again");
        assert!(
            !may(
                store,
                &agent_b,
                Permission::CustomerRead,
                Target::Customer(&first)
            )
            .await,
            "assignments went with the role"
        );

        let message = refusal(
            store
                .agent_assign_customer(&finance, &second, WHO, T0)
                .await,
        );
        assert!(message.contains("not an active agent"), "{message}");
        let message = refusal(
            store
                .agent_assign_customer(&agent_a, &finance, WHO, T0)
                .await,
        );
        assert!(message.contains("customer accounts"), "{message}");
        assert!(
            store
                .agent_assign_customer(&agent_a, &second, WHO, T0)
                .await
                .is_ok()
        );
        assert!(
            store
                .agent_unassign_customer(&second, WHO, T0 + 4)
                .await
                .expect("unassign")
        );
        assert!(
            !may(
                store,
                &agent_a,
                Permission::CustomerRead,
                Target::Customer(&second)
            )
            .await
        );
    }
}

/// An adjuster reaches the claims assigned to them and no others, and cannot approve a
/// payout; a finance officer reads every claim; only adjusters take claims; claim ids are
/// checked.
/// req: 5.6.1-d
#[tokio::test]
async fn adjusters_reach_only_their_claims() {
    for test in stores().await {
        let ring = keyring(&test).await;
        let store = &test.store;
        let adjuster = staff(store, &ring, "adjuster.zhou", &[Role::ClaimsAdjuster]).await;
        let other = staff(store, &ring, "adjuster.wu", &[Role::ClaimsAdjuster]).await;
        let finance = staff(store, &ring, "finance.zheng", &[Role::FinanceOfficer]).await;
        let claimant = customer(store, &ring, "13812345678").await;
        store
            .claim_assign(&adjuster, "CLM-2026-0001", WHO, T0)
            .await
            .expect("assign");
        let claim = |id: &'static str| Target::Claim {
            claim_id: id,
            claimant: &claimant,
        };
        assert!(
            may(
                store,
                &adjuster,
                Permission::ClaimRead,
                claim("CLM-2026-0001")
            )
            .await
        );
        assert!(
            may(
                store,
                &adjuster,
                Permission::ClaimAssess,
                claim("CLM-2026-0001")
            )
            .await
        );
        assert!(
            may(
                store,
                &adjuster,
                Permission::PayoutInitiate,
                claim("CLM-2026-0001")
            )
            .await
        );
        assert!(
            !may(
                store,
                &adjuster,
                Permission::PayoutApprove,
                claim("CLM-2026-0001")
            )
            .await
        );
        assert!(
            !may(
                store,
                &adjuster,
                Permission::ClaimRead,
                claim("CLM-2026-0002")
            )
            .await
        );
        assert!(!may(store, &other, Permission::ClaimRead, claim("CLM-2026-0001")).await);
        assert!(
            !store
                .may_access(
                    &adjuster,
                    Permission::ClaimRead,
                    &Target::Customer(&claimant)
                )
                .await
                .expect("check"),
            "a claim permission does not reach the claimant's profile"
        );
        assert!(
            may(
                store,
                &finance,
                Permission::ClaimRead,
                claim("CLM-2026-0002")
            )
            .await
        );

        store
            .claim_assign(&other, "CLM-2026-0001", WHO, T0 + 1)
            .await
            .expect("reassign");
        assert!(
            !may(
                store,
                &adjuster,
                Permission::ClaimRead,
                claim("CLM-2026-0001")
            )
            .await
        );
        assert!(may(store, &other, Permission::ClaimRead, claim("CLM-2026-0001")).await);
        assert!(
            store
                .claim_unassign("CLM-2026-0001", WHO, T0 + 2)
                .await
                .expect("unassign")
        );
        assert!(!may(store, &other, Permission::ClaimRead, claim("CLM-2026-0001")).await);

        let message = refusal(store.claim_assign(&finance, "CLM-2026-0003", WHO, T0).await);
        assert!(message.contains("claims adjuster"), "{message}");
        for bad in ["", "CLM 1", "CLM;DROP", &"9".repeat(65)] {
            refusal(store.claim_assign(&adjuster, bad, WHO, T0).await);
        }
        let assigned = audited(store, "assign.claim").await;
        assert_eq!(assigned.len(), 3, "two assignments and one refusal");
        assert_eq!(assigned[2].0, "denied");
    }
}

/// A customer reaches only their own data and claims; an account without the customer role,
/// or a frozen one, reaches nothing.
/// req: 5.6.1-d, 5.3.2.2
#[tokio::test]
async fn customers_reach_only_their_own_data() {
    for test in stores().await {
        let ring = keyring(&test).await;
        let store = &test.store;
        let me = customer(store, &ring, "13812345678").await;
        let other = customer(store, &ring, "13912345678").await;
        assert!(
            may(
                store,
                &me,
                Permission::ProfileReadOwn,
                Target::Customer(&me)
            )
            .await
        );
        assert!(may(store, &me, Permission::PolicyPayOwn, Target::Customer(&me)).await);
        assert!(
            !may(
                store,
                &me,
                Permission::ProfileReadOwn,
                Target::Customer(&other)
            )
            .await
        );
        assert!(
            !may(
                store,
                &me,
                Permission::CustomerRead,
                Target::Customer(&other)
            )
            .await
        );
        assert!(!may(store, &me, Permission::ProfileReadOwn, Target::System).await);
        let mine = Target::Claim {
            claim_id: "CLM-1",
            claimant: &me,
        };
        let theirs = Target::Claim {
            claim_id: "CLM-2",
            claimant: &other,
        };
        assert!(may(store, &me, Permission::ClaimReadOwn, mine).await);
        assert!(!may(store, &me, Permission::ClaimReadOwn, theirs).await);
        assert!(!may(store, &me, Permission::ClaimRead, mine).await);

        assert!(
            store
                .role_revoke(&me, Role::Customer, WHO, T0)
                .await
                .expect("revoke")
        );
        assert!(
            !may(
                store,
                &me,
                Permission::ProfileReadOwn,
                Target::Customer(&me)
            )
            .await
        );
        store
            .role_grant(&me, Role::Customer, WHO, T0)
            .await
            .expect("grant");
        sqlx::query("UPDATE accounts SET status = 'frozen' WHERE id = $1")
            .bind(&me)
            .execute(store.pool())
            .await
            .expect("freeze");
        assert!(
            !may(
                store,
                &me,
                Permission::ProfileReadOwn,
                Target::Customer(&me)
            )
            .await,
            "a frozen account holds no permission ({})",
            test.label
        );
        assert!(store.grants(&me).await.expect("grants").roles().is_empty());
    }
}
