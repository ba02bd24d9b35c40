//! Roles, data scopes, maker-checker approvals and the permission review, on every
//! configured database.

mod approvals;
mod full_display;
mod review;
mod roles;
mod scopes;

use crate::support::{TestStore, WHO, create_account, initialised};
use inspay_identity::authorization::{Permission, Role};
use inspay_identity::login_name::LoginName;
use inspay_kms::Keyring;
use inspay_store::authorization::Target;
use inspay_store::{Store, StoreError};

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
