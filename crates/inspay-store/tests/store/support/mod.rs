//! Test databases: a fresh SQLite file, and a fresh PostgreSQL database when
//! `INSPAY_TEST_POSTGRES_URL` is set (CI sets it; `.ci/run` starts PostgreSQL).

pub mod claims;
pub mod funds;

use inspay_kms::{MasterKey, MasterKeySource};
use inspay_store::keys::{Actor, RotationPolicy};
use inspay_store::{PoolSettings, Store};
use sqlx::Connection;

/// A store under test and what keeps it alive.
pub struct TestStore {
    pub label: &'static str,
    pub store: Store,
    pub url: String,
    pub _dir: Option<tempfile::TempDir>,
}

pub const WHO: Actor<'static> = Actor {
    actor: "operator:test",
    request_id: "test-request",
};

/// A fresh store on every configured backend.
pub async fn stores() -> Vec<TestStore> {
    let mut out = vec![sqlite().await];
    if let Some(postgres) = postgres().await {
        out.push(postgres);
    }
    out
}

pub async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/inspay.db?mode=rwc", dir.path().display());
    let store = Store::connect(&url, &PoolSettings::default())
        .await
        .expect("sqlite");
    TestStore {
        label: "sqlite",
        store,
        url,
        _dir: Some(dir),
    }
}

/// A new, empty PostgreSQL database named after a fresh UUID.
pub async fn postgres() -> Option<TestStore> {
    let base = std::env::var("INSPAY_TEST_POSTGRES_URL").ok()?;
    let name = format!("inspay_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&base)
        .await
        .expect("INSPAY_TEST_POSTGRES_URL is set but PostgreSQL is unreachable");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let url = match base.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("INSPAY_TEST_POSTGRES_URL must end in /DATABASE"),
    };
    let store = Store::connect(&url, &PoolSettings::default())
        .await
        .expect("postgres");
    Some(TestStore {
        label: "postgres",
        store,
        url,
        _dir: None,
    })
}

pub fn master() -> MasterKey {
    MasterKey::generate(MasterKeySource::Environment).expect("master")
}

/// A store with keys initialised, and its master key.
pub async fn initialised(test: &TestStore) -> MasterKey {
    let master = master();
    test.store
        .kms_initialise(&master, &RotationPolicy::default(), WHO, 1_000_000)
        .await
        .expect("initialise");
    master
}

/// Creates an account whose login password is `password` (hashed at the lowest accepted cost,
/// to keep tests fast); staff or customer follows the login name.
pub async fn create_account(
    store: &Store,
    keyring: &inspay_kms::Keyring,
    name: &inspay_identity::login_name::LoginName,
    password: &str,
    must_change_password: bool,
    at_ms: i64,
) -> String {
    use inspay_identity::login_name::LoginName;
    use inspay_identity::secret_hash::{ITERATIONS_MIN, SecretHash, SecretKind};
    use inspay_store::accounts::{NewAccount, Population};
    let hash = SecretHash::new(
        SecretKind::LoginPassword,
        password.as_bytes(),
        ITERATIONS_MIN,
    )
    .expect("hash");
    let population = match name {
        LoginName::Customer(_) => Population::Customer,
        LoginName::Staff(_) => Population::Staff,
    };
    store
        .account_create(
            keyring,
            &NewAccount {
                population,
                login_name: name,
                person_id: None,
                password: &hash,
                must_change_password,
            },
            WHO,
            at_ms,
        )
        .await
        .expect("account")
}
