//! `inspay apps` as an operator and an auditor use it: the client-application registry
//! (register, list, key rotation, suspend, resume, final revocation, SDK minimum, client
//! certificate) and the re-verification of kept request evidence.

mod support;

use inspay_crypto::sm2::Sm2PrivateKey;
use inspay_kms::KeyPurpose;
use inspay_protocol::authorization::SignedHeader;
use inspay_protocol::canonical::CanonicalRequest;
use inspay_protocol::response::{CanonicalResponse, ResponseSignature};
use inspay_store::request_evidence::Evidence;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::cli::{query, runtime};

fn inspay(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_inspay"))
        .args(args)
        .env("INSPAY__DATA_DIR", dir)
        .env("USER", "ops.tester")
        .env_remove("INSPAY_CONFIG")
        .output()
        .expect("inspay runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A fresh SM2 key pair, its public half written as SPKI PEM to `dir/name`.
fn key_file(dir: &Path, name: &str) -> (Sm2PrivateKey, PathBuf) {
    let key = Sm2PrivateKey::generate().expect("key");
    let path = dir.join(name);
    std::fs::write(&path, key.public_key().to_spki_pem()).expect("write");
    (key, path)
}

fn path(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn register(dir: &Path, id: &str, public_key: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "apps",
        "register",
        "--id",
        id,
        "--name",
        "Claims app",
        "--class",
        "fund-transaction",
        "--public-key",
        path(public_key),
    ];
    args.extend(extra);
    inspay(dir, &args)
}

/// The listing line of one application.
fn listed(dir: &Path, id: &str) -> String {
    let list = inspay(dir, &["apps", "list"]);
    assert!(list.status.success(), "{}", text(&list));
    stdout(&list)
        .lines()
        .find(|line| line.starts_with(&format!("{id} ")))
        .unwrap_or_else(|| panic!("{id} is not listed:\n{}", stdout(&list)))
        .to_string()
}

fn audited(dir: &Path, action: &str) -> Vec<Vec<String>> {
    query(
        dir,
        &format!(
            "SELECT actor, object, detail FROM audit_log WHERE action = '{action}' ORDER BY seq"
        ),
    )
}

/// An application is registered with its class and first SM2 key (serial 1, fingerprint
/// printed), listed with its status, mutual-TLS flag, SDK columns and keys, and the change is
/// audited with the operator as the actor. A taken id, a key already registered, an unknown
/// class and a key that is not SM2 are refused with messages saying what to do.
/// req: 5.4.2.1, 4-a, 6.4.6
#[test]
fn register_and_list_client_applications() {
    let dir = tempfile::tempdir().expect("dir");
    let (key, pem) = key_file(dir.path(), "app.pub.pem");
    let registered = register(dir.path(), "claims-app", &pem, &[]);
    assert!(registered.status.success(), "{}", text(&registered));
    let out = stdout(&registered);
    assert!(out.contains("registered application claims-app"), "{out}");
    assert!(out.contains("class fund-transaction"), "{out}");
    assert!(
        out.contains(&format!(
            "key serial 1: sm3:{}",
            key.public_key().fingerprint()
        )),
        "{out}"
    );
    assert!(out.contains("mutual TLS: not required"), "{out}");

    let line = listed(dir.path(), "claims-app");
    for expected in [
        "Claims app",
        "fund-transaction",
        "active",
        " no ",
        "never",
        "1 (live)",
    ] {
        assert!(line.contains(expected), "missing '{expected}': {line}");
    }
    let json = inspay(dir.path(), &["apps", "list", "--json"]);
    assert!(json.status.success(), "{}", text(&json));
    let apps: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(apps[0]["id"], "claims-app");
    assert_eq!(apps[0]["class"], "fund-transaction");
    assert_eq!(apps[0]["mtls"], false);
    assert_eq!(apps[0]["keys"][0]["serial"], 1);
    assert_eq!(apps[0]["keys"][0]["live"], true);
    assert_eq!(
        apps[0]["keys"][0]["fingerprint"],
        format!("sm3:{}", key.public_key().fingerprint())
    );

    let audit = audited(dir.path(), "client-app.register");
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0][0], "operator:ops.tester");
    assert_eq!(audit[0][1], "client-app:claims-app");

    let (_, other) = key_file(dir.path(), "other.pub.pem");
    let taken = register(dir.path(), "claims-app", &other, &[]);
    assert_eq!(taken.status.code(), Some(1), "{}", text(&taken));
    assert!(
        text(&taken).contains("already registered") && text(&taken).contains("choose another id"),
        "{}",
        text(&taken)
    );
    let reused = register(dir.path(), "second-app", &pem, &[]);
    assert_eq!(reused.status.code(), Some(1), "{}", text(&reused));
    assert!(
        text(&reused).contains("keys are never reused"),
        "{}",
        text(&reused)
    );
    let class = inspay(
        dir.path(),
        &[
            "apps",
            "register",
            "--id",
            "x",
            "--name",
            "X",
            "--class",
            "payments",
            "--public-key",
            path(&other),
        ],
    );
    assert_eq!(class.status.code(), Some(2));
    assert!(text(&class).contains("unknown class 'payments'"));
    let not_a_key = dir.path().join("junk.pem");
    std::fs::write(&not_a_key, "not a key").expect("write");
    let junk = register(dir.path(), "third-app", &not_a_key, &[]);
    assert_eq!(junk.status.code(), Some(1));
    assert!(
        text(&junk).contains("not an SM2 public key"),
        "{}",
        text(&junk)
    );
    let bad_id = register(dir.path(), "bad id!", &other, &[]);
    assert_eq!(bad_id.status.code(), Some(1));
    assert!(
        text(&bad_id).contains("A-Z a-z 0-9 - _"),
        "{}",
        text(&bad_id)
    );
    assert_eq!(
        query(dir.path(), "SELECT id FROM client_apps"),
        vec![vec!["claims-app"]],
        "nothing refused was registered"
    );
    assert_eq!(audited(dir.path(), "client-app.register").len(), 1);
}

/// A key is rotated: the new key gets serial 2, both stay live until the old one is revoked,
/// and the last live key of an active application cannot be revoked. Each change is audited.
/// req: 5.4.2.1
#[test]
fn keys_rotate_and_the_last_live_key_is_kept() {
    let dir = tempfile::tempdir().expect("dir");
    let (_, first) = key_file(dir.path(), "first.pub.pem");
    assert!(
        register(dir.path(), "claims-app", &first, &[])
            .status
            .success()
    );
    let (second_key, second) = key_file(dir.path(), "second.pub.pem");
    let added = inspay(
        dir.path(),
        &[
            "apps",
            "add-key",
            "--id",
            "claims-app",
            "--public-key",
            path(&second),
        ],
    );
    assert!(added.status.success(), "{}", text(&added));
    assert!(
        stdout(&added).contains(&format!(
            "added key serial 2 to claims-app: sm3:{}",
            second_key.public_key().fingerprint()
        )),
        "{}",
        text(&added)
    );
    assert!(listed(dir.path(), "claims-app").contains("1 (live), 2 (live)"));

    let revoke = |serial: &str| {
        inspay(
            dir.path(),
            &[
                "apps",
                "revoke-key",
                "--id",
                "claims-app",
                "--serial",
                serial,
            ],
        )
    };
    let revoked = revoke("1");
    assert!(revoked.status.success(), "{}", text(&revoked));
    assert!(stdout(&revoked).contains("revoked key serial 1 of claims-app"));
    assert!(listed(dir.path(), "claims-app").contains("1 (revoked), 2 (live)"));

    let last = revoke("2");
    assert_eq!(last.status.code(), Some(1), "{}", text(&last));
    assert!(
        text(&last).contains("last live key: add a new key first, or suspend the application"),
        "{}",
        text(&last)
    );
    assert!(listed(dir.path(), "claims-app").contains("2 (live)"));
    let missing = revoke("9");
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing).contains("claims-app has no key serial 9"),
        "{}",
        text(&missing)
    );
    let nobody = inspay(
        dir.path(),
        &[
            "apps",
            "add-key",
            "--id",
            "nobody",
            "--public-key",
            path(&first),
        ],
    );
    assert_eq!(nobody.status.code(), Some(1));
    assert!(
        text(&nobody).contains("no client application is registered as nobody"),
        "{}",
        text(&nobody)
    );

    let added = audited(dir.path(), "client-app.key-add");
    assert_eq!(added.len(), 1, "{added:?}");
    assert_eq!(added[0][0], "operator:ops.tester");
    assert!(added[0][2].contains("key_serial"), "{added:?}");
    assert_eq!(audited(dir.path(), "client-app.key-revoke").len(), 1);
}

/// An application is suspended and resumed; revocation is final: it revokes every key, and
/// resuming, adding a key or configuring afterwards is refused. Each change is audited.
/// req: 5.4.2.1
#[test]
fn suspend_resume_and_final_revocation() {
    let dir = tempfile::tempdir().expect("dir");
    let (_, pem) = key_file(dir.path(), "app.pub.pem");
    assert!(
        register(dir.path(), "claims-app", &pem, &[])
            .status
            .success()
    );
    let apps = |verb: &str| inspay(dir.path(), &["apps", verb, "--id", "claims-app"]);

    let suspended = apps("suspend");
    assert!(suspended.status.success(), "{}", text(&suspended));
    assert!(stdout(&suspended).contains("claims-app is suspended"));
    assert!(listed(dir.path(), "claims-app").contains(" suspended "));
    let again = apps("suspend");
    assert!(again.status.success());
    assert!(stdout(&again).contains("already suspended; nothing changed"));
    let resumed = apps("resume");
    assert!(resumed.status.success(), "{}", text(&resumed));
    assert!(listed(dir.path(), "claims-app").contains(" active "));

    let revoked = apps("revoke");
    assert!(revoked.status.success(), "{}", text(&revoked));
    assert!(stdout(&revoked).contains("which is final"));
    let line = listed(dir.path(), "claims-app");
    assert!(line.contains(" revoked "), "{line}");
    assert!(line.contains("1 (revoked)"), "{line}");

    for refused in [
        apps("resume"),
        apps("suspend"),
        inspay(
            dir.path(),
            &[
                "apps",
                "configure",
                "--id",
                "claims-app",
                "--min-sdk-version",
                "2.0.0",
            ],
        ),
    ] {
        assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
        assert!(
            text(&refused).contains("claims-app is revoked, which is final"),
            "{}",
            text(&refused)
        );
    }
    let (_, fresh) = key_file(dir.path(), "fresh.pub.pem");
    let add = inspay(
        dir.path(),
        &[
            "apps",
            "add-key",
            "--id",
            "claims-app",
            "--public-key",
            path(&fresh),
        ],
    );
    assert_eq!(add.status.code(), Some(1));
    assert!(text(&add).contains("revoked, which is final"));
    let help = inspay(dir.path(), &["apps", "revoke", "--help"]);
    assert!(text(&help).contains("FINAL"), "{}", text(&help));

    for action in [
        "client-app.suspend",
        "client-app.resume",
        "client-app.revoke",
    ] {
        let rows = audited(dir.path(), action);
        assert_eq!(rows.len(), 1, "{action}: {rows:?}");
        assert_eq!(rows[0][0], "operator:ops.tester");
        assert_eq!(rows[0][1], "client-app:claims-app");
    }
}

/// A self-signed client certificate made by openssl, as PEM, and the SM3 of its DER, hex.
fn client_certificate(dir: &Path, name: &str) -> (PathBuf, String) {
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl runs");
        assert!(status.success(), "openssl {args:?}");
    };
    let key = format!("{name}.key");
    let pem = format!("{name}.crt.pem");
    let der = format!("{name}.crt.der");
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &key,
        "-out",
        &pem,
        "-subj",
        &format!("/CN={name}"),
        "-days",
        "30",
        "-sha256",
    ]);
    openssl(&["x509", "-in", &pem, "-outform", "DER", "-out", &der]);
    let bytes = std::fs::read(dir.join(&der)).expect("der");
    let fingerprint: String = inspay_crypto::sm3::sm3(&bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    (dir.join(pem), fingerprint)
}

/// The oldest allowed SDK version is set, validated (a version that is not major.minor.patch
/// is refused) and cleared; the client certificate's SM3 fingerprint (of its DER) is stored at
/// registration and by `configure`, shown as mTLS yes, and cleared. Each change is audited.
/// req: 6.4.5, 5.4.2.1
#[test]
fn configure_sdk_minimum_and_client_certificate() {
    let dir = tempfile::tempdir().expect("dir");
    let (cert, fingerprint) = client_certificate(dir.path(), "claims");
    let (_, pem) = key_file(dir.path(), "app.pub.pem");
    let bad = register(
        dir.path(),
        "claims-app",
        &pem,
        &["--min-sdk-version", "1.2"],
    );
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(
        text(&bad).contains("'1.2' is not a version; use major.minor.patch"),
        "{}",
        text(&bad)
    );
    let registered = register(
        dir.path(),
        "claims-app",
        &pem,
        &["--client-cert", path(&cert), "--min-sdk-version", "1.2.0"],
    );
    assert!(registered.status.success(), "{}", text(&registered));
    assert!(stdout(&registered).contains(&format!("client certificate sm3:{fingerprint}")));
    assert_eq!(
        query(
            dir.path(),
            "SELECT tls_fingerprint, sdk_version_min FROM client_apps"
        ),
        vec![vec![fingerprint.clone(), "1.2.0".to_string()]]
    );
    let line = listed(dir.path(), "claims-app");
    assert!(line.contains(" yes ") && line.contains(" 1.2.0 "), "{line}");

    let configure = |args: &[&str]| {
        let mut all = vec!["apps", "configure", "--id", "claims-app"];
        all.extend(args);
        inspay(dir.path(), &all)
    };
    for bad in ["1.x.0", "1.2.3.4", "v1.2.3"] {
        let refused = configure(&["--min-sdk-version", bad]);
        assert_eq!(refused.status.code(), Some(2), "{bad}: {}", text(&refused));
        assert!(text(&refused).contains("is not a version"), "{bad}");
    }
    let nothing = configure(&[]);
    assert_eq!(nothing.status.code(), Some(1));
    assert!(text(&nothing).contains("nothing to change"));
    let both = configure(&["--min-sdk-version", "1.0.0", "--no-min-sdk-version"]);
    assert_eq!(both.status.code(), Some(2));

    let raised = configure(&["--min-sdk-version", "1.10.0"]);
    assert!(raised.status.success(), "{}", text(&raised));
    assert!(stdout(&raised).contains("minimum SDK version is now 1.10.0"));
    let (cert_2, fingerprint_2) = client_certificate(dir.path(), "claims-2026");
    assert_ne!(fingerprint, fingerprint_2);
    let recert = configure(&["--client-cert", path(&cert_2)]);
    assert!(recert.status.success(), "{}", text(&recert));
    assert_eq!(
        query(
            dir.path(),
            "SELECT tls_fingerprint, sdk_version_min FROM client_apps"
        ),
        vec![vec![fingerprint_2, "1.10.0".to_string()]]
    );
    let junk = dir.path().join("junk.crt.pem");
    std::fs::write(
        &junk,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .expect("write");
    let refused = configure(&["--client-cert", path(&junk)]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));

    let cleared = configure(&["--no-min-sdk-version", "--no-client-cert"]);
    assert!(cleared.status.success(), "{}", text(&cleared));
    assert_eq!(
        query(
            dir.path(),
            "SELECT tls_fingerprint, sdk_version_min FROM client_apps"
        ),
        vec![vec![String::new(), String::new()]]
    );
    assert!(listed(dir.path(), "claims-app").contains(" no "));

    let audit = audited(dir.path(), "client-app.configure");
    assert_eq!(audit.len(), 3, "{audit:?}");
    assert!(audit.iter().all(|row| row[0] == "operator:ops.tester"));
    assert!(audit[0][2].contains("1.10.0"), "{audit:?}");
    assert!(
        audit
            .iter()
            .all(|row| !row[2].contains("BEGIN CERTIFICATE"))
    );
}

/// Keeps one evidence row as the server does: the request signed by `client` (serial 1 of
/// `app_id`), the answer signed with the active response-signing key.
fn keep_evidence(dir: &Path, app_id: &str, client: &Sm2PrivateKey, id: &str, received_at_ms: i64) {
    runtime().block_on(async {
        let settings = inspay_server::Settings {
            data_dir: dir.to_path_buf(),
            ..inspay_server::Settings::default()
        };
        let store = inspay_store::Store::connect(
            &settings.database_url(),
            &inspay_store::PoolSettings::default(),
        )
        .await
        .expect("store");
        let master = inspay_server::master_key::load(&settings).expect("master key");
        let keyring = store.keyring_load(&master).await.expect("keyring");
        let nonce = format!("req-nonce-{id}-0123456789");
        let request = CanonicalRequest::new(
            "POST",
            "/v1/payments?policy=P-1",
            1_764_100_000,
            &nonce,
            br#"{"amount":"100.00"}"#,
        )
        .expect("canonical");
        let header = SignedHeader::sign(client, app_id, 1, &request).expect("sign");
        let response = CanonicalResponse::new(
            201,
            1_764_100_001,
            "srv-nonce-0123456789",
            Some(&nonce),
            br#"{"id":"pay-1"}"#,
        );
        let signed = keyring
            .sign(KeyPurpose::ResponseSigning, &response.to_bytes())
            .expect("server signs");
        let base64 = |der: Vec<u8>, serial: u32| {
            ResponseSignature {
                timestamp_s: 0,
                nonce: String::new(),
                serial,
                signature_der: der,
            }
            .signature_base64()
        };
        let evidence = Evidence {
            id: id.to_string(),
            app_id: app_id.to_string(),
            serial: 1,
            account_id: None,
            method: "POST".into(),
            target: request.target().to_string(),
            timestamp_s: request.timestamp_s(),
            nonce: nonce.clone(),
            body_sm3: request.body_sm3_hex().to_string(),
            signature: base64(header.signature_der, 1),
            sdk: Some("inspay-sdk-java/1.2.0".into()),
            response_status: 201,
            response_timestamp_s: 1_764_100_001,
            response_nonce: "srv-nonce-0123456789".into(),
            response_body_sm3: response.body_sm3_hex().to_string(),
            response_serial: signed.key_version,
            response_signature: base64(signed.bytes, signed.key_version),
            received_at_ms,
        };
        store
            .request_evidence_record(&keyring, &evidence)
            .await
            .expect("record");
    });
}

/// `apps evidence` re-verifies every kept row on its own: the record MAC, the client's SM2
/// signature with the registered key of that serial (still after the key is revoked) and the
/// server's response signature; it prints a summary and exits with status 1 when a row was
/// altered or signed by another key. No rows is a success with "0 rows".
/// req: 5.6.2-d1, 5.6.1-b
#[test]
fn evidence_is_verified_again_and_alterations_are_caught() {
    let dir = tempfile::tempdir().expect("dir");
    let empty = inspay(dir.path(), &["apps", "evidence"]);
    assert!(empty.status.success(), "{}", text(&empty));
    assert!(
        stdout(&empty).ends_with("0 rows: 0 verified, 0 failed\n"),
        "{}",
        text(&empty)
    );
    let help = inspay(dir.path(), &["apps", "evidence", "--help"]);
    assert!(help.status.success());
    assert!(text(&help).contains("Example"), "{}", text(&help));

    let (client, pem) = key_file(dir.path(), "app.pub.pem");
    assert!(
        register(dir.path(), "claims-app", &pem, &[])
            .status
            .success()
    );
    let day = 86_400_000;
    let jan_2 = 20_455 * day + 3_600_000; // 2026-01-02 01:00 UTC
    keep_evidence(dir.path(), "claims-app", &client, "ev-1", jan_2);

    // Verifiable after the key that signed it is rotated out.
    let (_, second) = key_file(dir.path(), "second.pub.pem");
    assert!(
        inspay(
            dir.path(),
            &[
                "apps",
                "add-key",
                "--id",
                "claims-app",
                "--public-key",
                path(&second)
            ]
        )
        .status
        .success()
    );
    assert!(
        inspay(
            dir.path(),
            &["apps", "revoke-key", "--id", "claims-app", "--serial", "1"]
        )
        .status
        .success()
    );
    let good = inspay(dir.path(), &["apps", "evidence", "--id", "claims-app"]);
    assert!(good.status.success(), "{}", text(&good));
    let out = stdout(&good);
    assert!(out.contains("2026-01-02 01:00"), "{out}");
    assert!(out.contains("POST /v1/payments "), "{out}");
    assert!(!out.contains("policy=P-1"), "no query in the table: {out}");
    assert!(out.ends_with("1 row: 1 verified, 0 failed\n"), "{out}");

    let json = inspay(dir.path(), &["apps", "evidence", "--json"]);
    assert!(json.status.success(), "{}", text(&json));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(report["summary"]["verified"], 1);
    assert_eq!(report["rows"][0]["checks"]["client_signature"]["ok"], true);
    assert_eq!(report["rows"][0]["checks"]["server_signature"]["ok"], true);
    assert_eq!(report["rows"][0]["target"], "/v1/payments?policy=P-1");

    let window = |since: &str, until: &str| {
        stdout(&inspay(
            dir.path(),
            &["apps", "evidence", "--since", since, "--until", until],
        ))
    };
    assert!(window("2026-01-02", "2026-01-02").ends_with("1 row: 1 verified, 0 failed\n"));
    assert!(window("2026-01-03", "2026-12-31").ends_with("0 rows: 0 verified, 0 failed\n"));
    assert!(window("2025-01-01", "2026-01-01").ends_with("0 rows: 0 verified, 0 failed\n"));
    let bad_date = inspay(dir.path(), &["apps", "evidence", "--since", "2026-02-30"]);
    assert_eq!(bad_date.status.code(), Some(1));
    assert!(text(&bad_date).contains("use YYYY-MM-DD"));
    let unknown = inspay(dir.path(), &["apps", "evidence", "--id", "nobody"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown).contains("no client application is registered as nobody"));

    // A row signed by a key that is not the registered serial 1: the MAC holds, the client
    // signature does not.
    let stranger = Sm2PrivateKey::generate().expect("key");
    keep_evidence(dir.path(), "claims-app", &stranger, "ev-2", jan_2 + 1);
    let forged = inspay(dir.path(), &["apps", "evidence"]);
    assert_eq!(forged.status.code(), Some(1), "{}", text(&forged));
    let out = text(&forged);
    assert!(out.contains("2 rows: 1 verified, 1 failed"), "{out}");
    assert!(
        out.contains("evidence ev-2: the client's signature does not verify with key serial 1"),
        "{out}"
    );

    // A row changed in the database: the MAC and the client signature fail.
    query(
        dir.path(),
        &format!(
            "UPDATE request_evidence SET body_sm3 = '{}' WHERE id = 'ev-1' RETURNING id",
            "0".repeat(64)
        ),
    );
    let altered = inspay(dir.path(), &["apps", "evidence", "--limit", "1"]);
    assert_eq!(altered.status.code(), Some(1), "{}", text(&altered));
    let out = text(&altered);
    assert!(out.contains("1 row: 0 verified, 1 failed"), "{out}");
    assert!(
        out.contains("evidence ev-1: the record MAC does not match"),
        "{out}"
    );
    assert!(out.contains("only the first 1 rows were read"), "{out}");
}

/// Every `apps` subcommand has help with an example.
/// req: 6.2.3
#[test]
fn every_apps_command_has_help_with_an_example() {
    let dir = tempfile::tempdir().expect("dir");
    for command in [
        "register",
        "list",
        "add-key",
        "revoke-key",
        "suspend",
        "resume",
        "revoke",
        "configure",
        "evidence",
    ] {
        let output = inspay(dir.path(), &["apps", command, "--help"]);
        assert!(output.status.success(), "{command}");
        assert!(text(&output).contains("Example"), "{command}");
    }
}
