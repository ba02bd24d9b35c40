//! The permission review report.

use super::{DAY_MS, PASSWORD, T0, customer, keyring, staff};
use crate::support::{WHO, stores};
use inspay_identity::authorization::{DataScope, Permission, Role};
use inspay_identity::lockout::LockoutPolicy;
use inspay_identity::login_name::LoginName;

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
