//! What the SDK test targets share: the fund-transaction application their clients sign as.

use inspay_sdk::Sm2PrivateKey;
use inspay_server::state::AppState;
use inspay_store::client_apps::{AppClass, NewClientApp};

/// Registers `app_id` as a fund-transaction application (SDK 0.1.0 or later) with a fresh SM2
/// key and returns that key; `name` and `request_id` go into the record and its audit entry.
pub async fn register_fund_app(
    state: &AppState,
    app_id: &str,
    name: &str,
    request_id: &str,
) -> Sm2PrivateKey {
    let key = Sm2PrivateKey::generate().expect("key");
    state
        .store
        .client_app_register(
            &NewClientApp {
                id: app_id,
                name,
                class: AppClass::FundTransaction,
                public_key: key.public_key(),
                tls_fingerprint: None,
                sdk_version_min: Some("0.1.0"),
            },
            inspay_store::keys::Actor {
                actor: "operator:test",
                request_id,
            },
            state.now_ms(),
        )
        .await
        .expect("register the application");
    key
}
