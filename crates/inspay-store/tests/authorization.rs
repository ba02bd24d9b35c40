//! Roles, data scopes, maker-checker approvals and the permission review, on every
//! configured database.

mod support;

use inspay_core::sensitive::FieldKind;
use inspay_identity::authorization::{
    ApprovalKind, DataScope, FieldView, PayloadDigest, Permission, Role,
};
use inspay_identity::lockout::LockoutPolicy;
use inspay_identity::login_name::LoginName;
use inspay_kms::Keyring;
use inspay_store::authorization::{ApprovalState, Target};
use inspay_store::keys::Actor;
use inspay_store::{Store, StoreError};
use support::{TestStore, WHO, create_account, initialised, stores};

const T0: i64 = 1_800_000_000_000;
const DAY_MS: i64 = 86_400_000;
const PASSWORD: &str = "Staff-Pass-2026!";

async fn keyring(test: &TestStore) -> Keyring {
    let master = initialised(test).await;
    test.store.keyring_load(&master).await.expect("keyring")
}

async fn staff(store: &Store, ring: &Keyring, name: &str, roles: &[Role]) -> String {
    let login = LoginName::staff(name).expect("name");
    let id = create_account(store, ring, &login, PASSWORD, true, T0).await;
    for role in roles {
        store.role_grant(&id, *role, WHO, T0).await.expect("grant");
    }
    id
}

async fn customer(store: &Store, ring: &Keyring, mobile: &str) -> String {
    let login = LoginName::customer(mobile).expect("mobile");
    let id = create_account(store, ring, &login, PASSWORD, false, T0).await;
    store
        .role_grant(&id, Role::Customer, WHO, T0)
        .await
        .expect("grant");
    id
}

/// The audit entries with this action, as (outcome, object, detail).
async fn audited(store: &Store, action: &str) -> Vec<(String, String, String)> {
    store
        .audit_entries(0, 10_000)
        .await
        .expect("audit")
        .into_iter()
        .filter(|entry| entry.action == action)
        .map(|entry| (entry.outcome, entry.object, entry.detail))
        .collect()
}

async fn may(store: &Store, account: &str, permission: Permission, target: Target<'_>) -> bool {
    store
        .may_access(account, permission, &target)
        .await
        .expect("check")
}

/// The message of a separation-of-duty or state conflict.
fn conflict(result: Result<impl std::fmt::Debug, StoreError>) -> &'static str {
    match result {
        Err(StoreError::Conflict(message)) => message,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

/// The message of a refusal by a rule (population, permission, input).
fn refusal(result: Result<impl std::fmt::Debug, StoreError>) -> &'static str {
    match result {
        Err(StoreError::Refused(message)) => message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Roles are granted and revoked per account, each change audited; granting a held role
/// changes nothing, revoking a role not held reports false.
/// req: 5.3.2.1
#[tokio::test]
async fn roles_are_granted_and_revoked() {
    for test in stores().await {
        let ring = keyring(&test).await;
        let store = &test.store;
        let id = staff(store, &ring, "finance.wang", &[]).await;
        assert!(store.grants(&id).await.expect("grants").roles().is_empty());
        assert!(
            !store
                .may_access(&id, Permission::LedgerRead, &Target::System)
                .await
                .expect("check"),
            "no role, no permission"
        );
        store
            .role_grant(&id, Role::FinanceOfficer, WHO, T0)
            .await
            .expect("grant");
        store
            .role_grant(&id, Role::FinanceOfficer, WHO, T0 + 1)
            .await
            .expect("again");
        let grants = store.grants(&id).await.expect("grants");
        assert_eq!(grants.roles(), &[Role::FinanceOfficer], "{}", test.label);
        assert!(grants.allows(Permission::PayoutApprove));
        assert!(
            store
                .may_access(&id, Permission::LedgerRead, &Target::System)
                .await
                .expect("check")
        );
        let granted = audited(store, "role.grant").await;
        assert_eq!(granted.len(), 1, "a repeated grant is not a change");
        assert_eq!(granted[0].0, "success");
        assert_eq!(granted[0].1, format!("account:{id}"));
        assert!(granted[0].2.contains("finance-officer"));

        assert!(
            store
                .role_revoke(&id, Role::FinanceOfficer, WHO, T0 + 2)
                .await
                .expect("revoke")
        );
        assert!(
            !store
                .role_revoke(&id, Role::FinanceOfficer, WHO, T0 + 3)
                .await
                .expect("revoke")
        );
        assert!(store.grants(&id).await.expect("grants").roles().is_empty());
        assert!(
            !store
                .may_access(&id, Permission::LedgerRead, &Target::System)
                .await
                .expect("check")
        );
        assert_eq!(audited(store, "role.revoke").await.len(), 1);
        assert!(matches!(
            store.grants("no-such-account").await,
            Err(StoreError::NotFound("account"))
        ));
    }
}

/// The customer role goes only on customer accounts and staff roles only on staff accounts;
/// nobody grants a role to their own account. Each refusal is audited and stores nothing.
/// req: 5.3.2.1, 5.3.2.2
#[tokio::test]
async fn roles_fit_their_population() {
    for test in stores().await {
        let ring = keyring(&test).await;
        let store = &test.store;
        let clerk = staff(store, &ring, "clerk.li", &[]).await;
        let person = customer(store, &ring, "13812345678").await;

        let message = refusal(store.role_grant(&clerk, Role::Customer, WHO, T0).await);
        assert!(message.contains("customer role"), "{message}");
        let message = refusal(store.role_grant(&person, Role::Agent, WHO, T0).await);
        assert!(message.contains("staff roles"), "{message}");
        assert!(!message.contains(&person), "no account id in the message");
        assert!(
            store
                .grants(&clerk)
                .await
                .expect("grants")
                .roles()
                .is_empty()
        );
        assert_eq!(
            store.grants(&person).await.expect("grants").roles(),
            &[Role::Customer]
        );

        let own = format!("account:{clerk}");
        let itself = Actor {
            actor: &own,
            request_id: "r-self",
        };
        let message = conflict(store.role_grant(&clerk, Role::Agent, itself, T0).await);
        assert!(message.contains("own account"), "{message}");
        assert!(
            store
                .grants(&clerk)
                .await
                .expect("grants")
                .roles()
                .is_empty()
        );

        let denied: Vec<_> = audited(store, "role.grant")
            .await
            .into_iter()
            .filter(|(outcome, _, _)| outcome == "denied")
            .collect();
        assert_eq!(denied.len(), 3, "{}", test.label);
        assert!(denied[0].2.contains("wrong-population"));
        assert!(denied[2].2.contains("self-grant"));
        assert!(
            matches!(
                store
                    .role_grant("no-such-account", Role::Agent, WHO, T0)
                    .await,
                Err(StoreError::NotFound("account"))
            ),
            "an unknown account is not found"
        );
    }
}

/// Separation of duties: a role that conflicts with one the account holds is refused with
/// the rule as the message (audited); compatible roles are granted; two conflicting grants
/// racing on one account never both succeed.
/// req: 5.3.2.2
#[tokio::test]
async fn conflicting_roles_are_refused() {
    for test in stores().await {
        let ring = keyring(&test).await;
        let store = &test.store;
        let finance = staff(store, &ring, "finance.zhao", &[Role::FinanceOfficer]).await;
        let message = conflict(store.role_grant(&finance, Role::Auditor, WHO, T0).await);
        assert!(message.starts_with("separation of duties"), "{message}");
        let message = conflict(
            store
                .role_grant(&finance, Role::SecurityOfficer, WHO, T0)
                .await,
        );
        assert!(message.contains("key custodian"), "{message}");
        conflict(
            store
                .role_grant(&finance, Role::Administrator, WHO, T0)
                .await,
        );
        conflict(
            store
                .role_grant(&finance, Role::ClaimsAdjuster, WHO, T0)
                .await,
        );
        assert_eq!(
            store.grants(&finance).await.expect("grants").roles(),
            &[Role::FinanceOfficer]
        );
        let denied = audited(store, "role.grant").await;
        let conflict = denied
            .iter()
            .find(|(outcome, _, detail)| outcome == "denied" && detail.contains("auditor"))
            .expect("the refusal is audited");
        assert!(
            conflict.2.contains("separation-of-duties"),
            "{}",
            conflict.2
        );
        assert!(conflict.2.contains("finance-officer"), "{}", conflict.2);

        let agent = staff(store, &ring, "agent.sun", &[Role::Agent]).await;
        store
            .role_grant(&agent, Role::SecurityOfficer, WHO, T0)
            .await
            .expect("compatible roles");

        let racer = staff(store, &ring, "racer.qian", &[]).await;
        let (first, second) = tokio::join!(
            store.role_grant(&racer, Role::Auditor, WHO, T0),
            store.role_grant(&racer, Role::FinanceOfficer, WHO, T0),
        );
        assert_eq!(
            usize::from(first.is_ok()) + usize::from(second.is_ok()),
            1,
            "{}: {first:?} {second:?}",
            test.label
        );
        let grants = store.grants(&racer).await.expect("grants");
        assert_eq!(grants.roles().len(), 1);
        assert!(grants.conflicts().is_empty());
    }
}

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

/// Full display of a masked field needs the permission, the data scope and a fresh
/// re-authentication, and every request is audited; payment-sensitive fields are never shown.
/// req: 5.2.2.2-c2, 5.6.4.2
#[tokio::test]
async fn full_display_needs_permission_scope_and_fresh_reauthentication() {
    for test in stores().await {
        let ring = keyring(&test).await;
        let store = &test.store;
        let me = customer(store, &ring, "13812345678").await;
        let agent = staff(store, &ring, "agent.fu", &[Role::Agent]).await;
        let stranger = staff(store, &ring, "agent.xu", &[Role::Agent]).await;
        let auditor = staff(store, &ring, "auditor.qin", &[Role::Auditor]).await;
        store
            .agent_assign_customer(&agent, &me, WHO, T0)
            .await
            .expect("assign");
        let now = T0 + 1_000_000;
        let fresh = Some(now - 60_000);
        let stale = Some(now - 600_000);
        let show = |viewer: &str, field, reauthenticated| {
            let (viewer, me) = (viewer.to_string(), me.clone());
            async move {
                store
                    .full_display(&viewer, &me, field, reauthenticated, "r", now)
                    .await
                    .expect("display")
            }
        };
        let id = FieldKind::IdNumber;
        assert_eq!(show(&me, id, None).await, FieldView::Masked);
        assert_eq!(show(&me, id, stale).await, FieldView::Masked);
        assert_eq!(show(&me, id, fresh).await, FieldView::Full);
        assert_eq!(
            show(&agent, FieldKind::MobileNumber, fresh).await,
            FieldView::Full
        );
        assert_eq!(show(&stranger, id, fresh).await, FieldView::Hidden);
        assert_eq!(show(&auditor, id, fresh).await, FieldView::Masked);
        assert_eq!(show(&me, FieldKind::Cvv, fresh).await, FieldView::Hidden);

        let entries = audited(store, "customer.full-display").await;
        let outcomes: Vec<&str> = entries.iter().map(|(o, _, _)| o.as_str()).collect();
        assert_eq!(
            outcomes,
            [
                "denied", "denied", "success", "success", "denied", "denied", "denied"
            ],
            "{}",
            test.label
        );
        assert!(entries[0].2.contains("reauthentication-not-fresh"));
        assert!(entries[4].2.contains("not-permitted"));
        assert!(
            entries
                .iter()
                .all(|(_, object, _)| *object == format!("account:{me}"))
        );
    }
}

/// The permission review report lists every staff account (and no customer) with its roles,
/// effective permissions, scopes, assignments, last sign-in, dormant flag and initial-password
/// flag; conflicts (here made outside inspay) and dormant accounts come first; an account with
/// conflicting roles holds no effective permission.
/// req: 5.3.2.2, 5.6.1-d, 5.2.4.2-a
#[tokio::test]
async fn permission_review_report() {
    for test in stores().await {
        let ring = keyring(&test).await;
        let store = &test.store;
        let finance = staff(store, &ring, "finance.an", &[Role::FinanceOfficer]).await;
        let agent = staff(store, &ring, "agent.bo", &[Role::Agent]).await;
        let idle = staff(store, &ring, "idle.chen", &[Role::Auditor]).await;
        let mixed = staff(store, &ring, "mixed.du", &[Role::FinanceOfficer]).await;
        let person = customer(store, &ring, "13812345678").await;
        store
            .agent_assign_customer(&agent, &person, WHO, T0)
            .await
            .expect("assign");
        sqlx::query(
            "INSERT INTO account_roles (account_id, role, granted_by, granted_at_ms)
             VALUES ($1, 'auditor', 'outside', $2)",
        )
        .bind(&mixed)
        .bind(T0)
        .execute(store.pool())
        .await
        .expect("a grant made outside inspay");

        let lockout = LockoutPolicy::default();
        let signed_in_at = T0 + 10 * DAY_MS;
        for name in ["finance.an", "agent.bo", "mixed.du"] {
            let login = LoginName::staff(name).expect("name");
            store
                .password_sign_in(&ring, &login, PASSWORD, &lockout, "r", signed_in_at)
                .await
                .expect("sign in");
        }
        let now = signed_in_at + 179 * DAY_MS;
        let report = store.permission_review(now).await.expect("review");
        let names: Vec<&str> = report.iter().map(|row| row.login_name.as_str()).collect();
        assert_eq!(
            names,
            ["mixed.du", "idle.chen", "agent.bo", "finance.an"],
            "conflicts first, then dormant, then by name ({})",
            test.label
        );
        assert!(report.iter().all(|row| row.account_id != person));

        let mixed_row = &report[0];
        assert_eq!(mixed_row.account_id, mixed);
        assert_eq!(
            mixed_row.conflicts,
            vec![(Role::FinanceOfficer, Role::Auditor)]
        );
        assert!(mixed_row.permissions.is_empty(), "fails closed");
        assert!(
            store
                .grants(&mixed)
                .await
                .expect("grants")
                .permissions()
                .is_empty()
        );

        let idle_row = &report[1];
        assert_eq!(idle_row.account_id, idle);
        assert!(idle_row.dormant, "never signed in");
        assert_eq!(idle_row.last_sign_in_ms, None);
        assert_eq!(idle_row.days_since_sign_in, 189);
        assert!(idle_row.initial_password);
        assert!(idle_row.permissions.contains(&Permission::AuditRead));

        let agent_row = &report[2];
        assert_eq!(agent_row.roles, vec![Role::Agent]);
        assert_eq!(agent_row.data_scopes, vec![DataScope::AssignedCustomers]);
        assert_eq!(agent_row.assigned_customers, 1);
        assert_eq!(agent_row.assigned_claims, 0);
        assert_eq!(agent_row.last_sign_in_ms, Some(signed_in_at));
        assert_eq!(agent_row.days_since_sign_in, 179);
        assert!(!agent_row.dormant);
        assert!(agent_row.initial_password);
        assert_eq!(
            agent_row.permissions,
            Role::Agent.permissions().to_vec(),
            "effective permissions"
        );
        let finance_row = &report[3];
        assert_eq!(finance_row.account_id, finance);
        assert_eq!(finance_row.status, "active");
        assert!(finance_row.conflicts.is_empty());

        let later = store
            .permission_review(signed_in_at + 180 * DAY_MS)
            .await
            .expect("review");
        assert!(
            later.iter().all(|row| row.dormant),
            "180 days without a sign-in make every account dormant"
        );
        let json = serde_json::to_value(&report).expect("json");
        assert_eq!(json[0]["conflicts"][0]["roles"][0], "finance-officer");
        assert_eq!(json[2]["roles"][0], "agent");
        assert_eq!(json[2]["data_scopes"][0], "assigned-customers");
    }
}
