//! Granting and revoking roles: population, self-grants and separation of duties.

use super::{T0, audited, conflict, customer, keyring, refusal, staff};
use crate::support::{WHO, stores};
use inspay_identity::authorization::{Permission, Role};
use inspay_store::StoreError;
use inspay_store::authorization::Target;
use inspay_store::keys::Actor;

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
