//! The production profile and configuration refusals.

use crate::helpers::test_settings;
use inspay_server::config::Profile;
use inspay_server::{Application, Settings};

async fn refusal(settings: Settings) -> String {
    match Application::build(settings).await {
        Ok(_) => panic!("the server started with a refused configuration"),
        Err(error) => format!("{error:#}"),
    }
}

/// The production profile refuses the development master key and the development
/// certificate, naming the clause each would break.
/// req: 5.5.2.2
#[tokio::test]
async fn production_refuses_development_keys_and_certificates() {
    let dir = tempfile::tempdir().expect("dir");
    let mut settings = test_settings(dir.path(), "");
    settings.profile = Profile::Production;
    let error = refusal(settings.clone()).await;
    assert!(
        error.contains("development master key") && error.contains("5.5.2.2"),
        "{error}"
    );

    // A development key file passed off as an operator file is still recognised.
    let development = test_settings(dir.path(), "");
    Application::build(development)
        .await
        .expect("development starts and writes its key");
    settings.master_key.source = "file".into();
    settings.master_key.file = Some(dir.path().join("dev-master.key"));
    settings.tls.certificate_file = Some(dir.path().join("dev-tls/server.pem"));
    settings.tls.private_key_file = Some(dir.path().join("dev-tls/server-key.pem"));
    let error = refusal(settings.clone()).await;
    assert!(
        error.contains("development master key") && error.contains("5.5.2.2"),
        "{error}"
    );

    // An operator key, but the development certificate.
    let key_file = dir.path().join("operator.key");
    std::fs::write(&key_file, "00112233445566778899aabbccddeeff\n").expect("key file");
    settings.master_key.file = Some(key_file);
    let error = refusal(settings.clone()).await;
    assert!(
        error.contains("development certificate") && error.contains("5.6.2-a3"),
        "{error}"
    );

    settings.tls.certificate_file = None;
    let error = refusal(settings).await;
    assert!(error.contains("5.6.2-a3"), "{error}");
}

/// Weak protocol versions, weak or unknown cipher suites and out-of-range limits are refused,
/// naming the clause.
/// req: 5.5.1.2
#[tokio::test]
async fn weak_settings_are_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let base = test_settings(dir.path(), "");
    type Change = Box<dyn Fn(&mut Settings)>;
    let cases: Vec<(Change, &str)> = vec![
        (Box::new(|s| s.tls.min_version = "1.1".into()), "5.6.2-a2"),
        (
            Box::new(|s| s.tls.cipher_suites = vec!["TLS_RSA_WITH_RC4_128_SHA".into()]),
            "5.5.1.2",
        ),
        (
            Box::new(|s| s.tls.cipher_suites = vec!["TLS_RSA_WITH_3DES_EDE_CBC_SHA".into()]),
            "5.5.1.2",
        ),
        (
            Box::new(|s| s.tls.cipher_suites = vec!["TLS_RSA_WITH_AES_128_CBC_SHA256".into()]),
            "5.6.2-a1",
        ),
        (Box::new(|s| s.limits.body_bytes_max = 0), "5.4.2.2"),
        (
            Box::new(|s| {
                s.keys.rotation_days.insert("field-encryption".into(), 5000);
            }),
            "5.2.2.1-b",
        ),
        (
            Box::new(|s| s.master_key.source = "hardcoded".into()),
            "5.5.2.2",
        ),
    ];
    for (change, clause) in cases {
        let mut settings = base.clone();
        change(&mut settings);
        let error = refusal(settings).await;
        assert!(error.contains(clause), "{clause}: {error}");
    }
}

/// A configuration file naming a weak algorithm is refused on load, and environment
/// variables override the file.
/// req: 5.5.1.2
#[tokio::test]
async fn configuration_layers_and_refusals() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("inspay.toml");
    std::fs::write(
        &file,
        "[tls]\ncipher_suites = [\"TLS_ECDHE_RSA_WITH_DES_CBC_SHA\"]\n",
    )
    .expect("write");
    let settings = Settings::load(Some(&file)).expect("parses");
    let error = settings.validate().expect_err("refused").to_string();
    assert!(error.contains("5.5.1.2"), "{error}");
    std::fs::write(&file, "[limits]\nbody_bytes_max = 1024\n").expect("write");
    let settings = Settings::load(Some(&file)).expect("parses");
    assert_eq!(settings.limits.body_bytes_max, 1024);
    std::fs::write(&file, "[limits]\nbody_bytes_maximum = 1024\n").expect("write");
    assert!(
        Settings::load(Some(&file)).is_err(),
        "unknown settings are refused"
    );
}
