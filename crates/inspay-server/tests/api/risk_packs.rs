//! Rule packs in a running server (clause 6.3.7): installed, rolled back and withdrawn without
//! a restart, on every node; a pack that no longer verifies (changed in the database, or its
//! signer revoked) stops running and raises an alert; a refused install raises one too.

use crate::helpers::{TestApp, spawn_apps, spawn_with, test_settings};
use inspay_crypto::sm2::Sm2PrivateKey;
use inspay_risk::pack::SignedPack;
use inspay_server::risk::packs::{self, InstallError, PACK_REFUSED};
use inspay_store::keys::Actor;
use std::time::Duration;

const WHO: Actor<'static> = Actor {
    actor: "operator:test",
    request_id: "risk-packs",
};

fn manifest(version: u32, threshold: i64) -> String {
    format!(
        r#"[pack]
id = "night"
version = {version}
inputs = ["op.amount_fen", "op.hour"]

[[rule]]
id = "large-at-night"
operations = ["premium-payment"]
when = "op.amount_fen >= {threshold} && op.hour < 6"
verdict = "step-up:sms-code"
note = "large premium at night"
"#
    )
}

async fn register(app: &TestApp, name: &str) -> Sm2PrivateKey {
    let key = Sm2PrivateKey::generate().expect("key");
    app.state
        .store
        .risk_signer_add(
            &app.state.keyring(),
            name,
            &key.public_key().to_spki_pem(),
            &key.public_key().fingerprint(),
            WHO,
            app.state.now_ms(),
        )
        .await
        .expect("signer");
    key
}

async fn install(app: &TestApp, key: &Sm2PrivateKey, text: &str) -> Result<(), InstallError> {
    install_as(app, "risk-officer", key, text).await
}

async fn install_as(
    app: &TestApp,
    signer: &str,
    key: &Sm2PrivateKey,
    text: &str,
) -> Result<(), InstallError> {
    let signature = SignedPack::sign(text.as_bytes(), signer, key).expect("signs");
    packs::install(
        &app.state.store,
        &app.state.keyring(),
        text.as_bytes(),
        &signature,
        WHO,
        app.state.now_ms(),
    )
    .await
    .map(|_| ())
}

/// The versions of `night` this node runs (empty when none), waiting up to 10 s for the node's
/// reload job to reach `expected`.
async fn running(app: &TestApp, expected: Option<u32>) -> Option<u32> {
    let mut seen = None;
    for _ in 0..100 {
        seen = app
            .state
            .risk()
            .packs()
            .packs
            .iter()
            .find(|pack| pack.manifest().id == "night")
            .map(|pack| pack.manifest().version);
        if seen == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    seen
}

async fn refusals(app: &TestApp) -> Vec<String> {
    app.state
        .store
        .security_events_list(0, 100)
        .await
        .expect("events")
        .into_iter()
        .filter(|event| event.kind == PACK_REFUSED && event.alert)
        .map(|event| event.detail)
        .collect()
}

/// req: 6.3.7
/// A signed pack comes into force on a running node without a restart; a new version replaces
/// it, a rollback brings the old one back, a withdrawal stops it.
#[tokio::test]
async fn packs_are_hot_loaded_versioned_and_rolled_back() {
    for app in spawn_apps().await {
        let label = app.label;
        let key = register(&app, "risk-officer").await;
        assert_eq!(running(&app, None).await, None, "{label}");
        install(&app, &key, &manifest(1, 500_000))
            .await
            .expect("v1");
        assert_eq!(
            running(&app, Some(1)).await,
            Some(1),
            "{label}: v1 hot-loaded"
        );
        install(&app, &key, &manifest(2, 300_000))
            .await
            .expect("v2");
        assert_eq!(
            running(&app, Some(2)).await,
            Some(2),
            "{label}: v2 replaces v1"
        );
        app.state
            .store
            .risk_pack_rollback("night", 1, WHO, app.state.now_ms())
            .await
            .expect("rollback");
        assert_eq!(
            running(&app, Some(1)).await,
            Some(1),
            "{label}: rolled back"
        );
        assert!(
            app.state
                .store
                .risk_pack_withdraw("night", WHO, app.state.now_ms())
                .await
                .expect("withdraw")
        );
        assert_eq!(running(&app, None).await, None, "{label}: withdrawn");
        app.stop().await;
    }
}

/// req: 6.3.7
/// A pack changed in the database after it was installed, or whose signer is revoked, stops
/// running at the next reload with an alert; an unsigned or over-reaching install is refused
/// with an alert and nothing is stored.
#[tokio::test]
async fn packs_that_no_longer_verify_stop_running() {
    for app in spawn_apps().await {
        let label = app.label;
        let key = register(&app, "risk-officer").await;
        install(&app, &key, &manifest(1, 500_000))
            .await
            .expect("v1");
        assert_eq!(running(&app, Some(1)).await, Some(1), "{label}");

        // Someone with database access loosens the rule behind inspay's back.
        for statement in [
            "UPDATE risk_packs SET manifest = replace(manifest, '500000', '900000000')",
            "UPDATE risk_state SET pack_generation = pack_generation + 1",
        ] {
            sqlx::query(statement)
                .execute(app.state.store.pool())
                .await
                .expect("tamper");
        }
        assert_eq!(
            running(&app, None).await,
            None,
            "{label}: tampered pack dropped"
        );
        let seen = refusals(&app).await;
        assert!(
            seen.iter()
                .any(|detail| detail.starts_with("RISK-PACK-TAMPERED night v1")),
            "{label}: {seen:?}"
        );

        // A clean v2, then its signer revoked: it stops too.
        install(&app, &key, &manifest(2, 500_000))
            .await
            .expect("v2");
        assert_eq!(running(&app, Some(2)).await, Some(2), "{label}");
        assert!(
            app.state
                .store
                .risk_signer_revoke(
                    &app.state.keyring(),
                    "risk-officer",
                    WHO,
                    app.state.now_ms()
                )
                .await
                .expect("revoke")
        );
        assert_eq!(
            running(&app, None).await,
            None,
            "{label}: revoked signer's pack dropped"
        );

        // Installs that are refused store nothing and raise an alert.
        let other = register(&app, "risk-officer-2").await;
        let before = refusals(&app).await.len();
        let unsigned = packs::install(
            &app.state.store,
            &app.state.keyring(),
            manifest(3, 1).as_bytes(),
            "",
            WHO,
            app.state.now_ms(),
        )
        .await;
        assert!(
            matches!(&unsigned, Err(InstallError::Refused(error)) if error.code() == "RISK-PACK-UNSIGNED"),
            "{label}: {unsigned:?}"
        );
        let reaching = manifest(3, 1).replace(
            r#"inputs = ["op.amount_fen", "op.hour"]"#,
            r#"inputs = ["op.amount_fen"]"#,
        );
        let reaching = install_as(&app, "risk-officer-2", &other, &reaching).await;
        assert!(
            matches!(&reaching, Err(InstallError::Refused(error)) if error.code() == "RISK-PACK-OVERREACH"),
            "{label}: {reaching:?}"
        );
        assert_eq!(refusals(&app).await.len(), before + 2, "{label}");
        assert_eq!(
            app.state
                .store
                .risk_packs(Some("night"))
                .await
                .expect("list")
                .len(),
            2,
            "{label}: nothing refused was stored"
        );
        app.stop().await;
    }
}

/// req: 6.3.7
/// Two nodes on one PostgreSQL database: a pack installed through one is in force on both.
#[tokio::test]
async fn every_node_loads_an_installed_pack() {
    let Some(url) = crate::helpers::postgres_database().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let first = spawn_with("postgres-1", test_settings(dir.path(), &url), dir).await;
    // The second node shares the first one's master key, as nodes of one deployment do.
    let dir = tempfile::tempdir().expect("dir");
    let key_file = inspay_server::master_key::DEVELOPMENT_KEY_FILE;
    std::fs::copy(first.dir.path().join(key_file), dir.path().join(key_file)).expect("key");
    let second = inspay_server::startup::Application::build(test_settings(dir.path(), &url))
        .await
        .expect("second node builds");
    let second_state = second.state().clone();
    let second_shutdown = second.shutdown_token();
    let second_handle = tokio::spawn(second.run());
    let key = register(&first, "risk-officer").await;
    install(&first, &key, &manifest(1, 500_000))
        .await
        .expect("v1");
    assert_eq!(running(&first, Some(1)).await, Some(1));
    let mut on_second = None;
    for _ in 0..100 {
        on_second = second_state
            .risk()
            .packs()
            .packs
            .first()
            .map(|pack| pack.manifest().version);
        if on_second == Some(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(on_second, Some(1), "the other node runs it too");
    first.stop().await;
    second_shutdown.cancel();
    let _ = second_handle.await;
    drop(dir);
}
