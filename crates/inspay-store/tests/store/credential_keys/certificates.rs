//! Staff certificates (made by openssl, which speaks SM2) and bare staff keys.

use super::*;
use std::path::Path;
use std::process::Command;

/// Makes a self-signed certificate with openssl: `key_args` choose the key and signature,
/// `extra` adds options. Returns the certificate PEM and the private key PEM.
fn openssl_certificate(
    dir: &Path,
    name: &str,
    subject: &str,
    days: u32,
    key_args: &[&str],
    extra: &[&str],
) -> (String, String) {
    let certificate = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    let days = days.to_string();
    let output = Command::new("openssl")
        .args(["req", "-x509", "-nodes", "-subj", subject, "-days", &days])
        .args(key_args)
        .args(extra)
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&certificate)
        .output()
        .expect("run openssl");
    assert!(
        output.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        std::fs::read_to_string(certificate).expect("certificate"),
        std::fs::read_to_string(key).expect("key"),
    )
}

/// The serial number openssl reports for `<name>.pem`, in lower-case hex. A random 159-bit
/// serial is 19 or 20 bytes long, so the test compares with this rather than a length.
fn openssl_serial(dir: &Path, name: &str) -> String {
    let output = Command::new("openssl")
        .args(["x509", "-noout", "-serial", "-in"])
        .arg(dir.join(format!("{name}.pem")))
        .output()
        .expect("run openssl");
    assert!(output.status.success(), "openssl x509 -serial");
    let printed = String::from_utf8(output.stdout).expect("utf-8");
    let hex = printed.trim().strip_prefix("serial=").expect("serial=");
    hex.to_ascii_lowercase()
}

const SM2: &[&str] = &[
    "-newkey",
    "sm2",
    "-sm3",
    "-sigopt",
    "distid:1234567812345678",
];
const P256: &[&str] = &[
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-sha256",
];

/// A staff member's SM2 certificate (made by openssl) is registered by an officer with its
/// fingerprint, serial, subject (an ID number in it replaced) and validity, and then proves a
/// challenge; it cannot be registered twice, nor for a customer account. A bare SM2 public
/// key registered for a staff member proves challenges the same way.
/// req: 5.2.1.1, 5.2.1.1-a
#[tokio::test]
async fn staff_certificates_and_keys_prove_challenges() {
    let dir = tempfile::tempdir().expect("dir");
    let subject = "/CN=Finance Wang/serialNumber=11010119900101123X/O=inspay";
    let usage = ["-addext", "keyUsage=critical,digitalSignature"];
    let (certificate, key_pem) = openssl_certificate(dir.path(), "staff", subject, 30, SM2, &usage);
    let key = Sm2PrivateKey::from_pkcs8_pem(&key_pem).expect("openssl SM2 key");
    let now = inspay_store::now_ms() + 1_000;
    for test in stores().await {
        let store = &test.store;
        let ids = accounts(&test, now).await;
        let refused = store
            .certificate_register(&ids.customer, &certificate, WHO, now)
            .await
            .expect_err("customer");
        assert!(matches!(refused, StoreError::Refused(_)), "{refused}");
        let key_id = store
            .certificate_register(&ids.staff, &certificate, WHO, now)
            .await
            .expect("register");
        let again = store
            .certificate_register(&ids.staff, &certificate, WHO, now)
            .await
            .expect_err("twice");
        assert!(matches!(again, StoreError::Conflict(_)), "{again}");

        let listed = store.credential_keys_list(&ids.staff).await.expect("list");
        let registered = &listed[0];
        assert_eq!(registered.kind, KeyKind::Certificate, "{}", test.label);
        assert_eq!(
            registered.fingerprint,
            format!("sm3:{}", key.public_key().fingerprint())
        );
        let serial = registered.serial.as_deref().expect("serial");
        assert_eq!(
            serial.trim_start_matches('0'),
            openssl_serial(dir.path(), "staff").trim_start_matches('0'),
            "{}",
            test.label
        );
        let stored_subject = registered.subject.clone().expect("subject");
        assert!(
            stored_subject.contains("CN=Finance Wang"),
            "{stored_subject}"
        );
        assert!(!stored_subject.contains("1101011990"), "{stored_subject}");
        assert!(!stored_subject.contains("123X"), "{stored_subject}");
        assert!(!format!("{registered:?}").contains("1101011990"));
        let not_after = registered.not_after_ms.expect("not after");
        assert!(
            (not_after - (now + 30 * DAY_MS)).abs() < DAY_MS,
            "{not_after}"
        );
        assert!(registered.not_before_ms.expect("not before") <= now);

        let challenge = issue(store, &ids.staff, &key_id, "sign-in", "flow", now).await;
        assert_eq!(
            answer(
                store,
                &challenge,
                "sign-in",
                "flow",
                &sign(&key, &challenge),
                now + 1
            )
            .await,
            KeyProof::Verified {
                account_id: ids.staff.clone(),
                key_id: key_id.clone(),
                kind: KeyKind::Certificate
            }
        );
        let registrations: Vec<_> = store
            .audit_entries(0, 10_000)
            .await
            .expect("audit")
            .into_iter()
            .filter(|entry| entry.action == "credential-key.register")
            .collect();
        assert_eq!(registrations.len(), 1, "refusals register nothing");
        assert_eq!(registrations[0].actor, WHO.actor);
        assert_eq!(registrations[0].object, format!("account:{}", ids.staff));
        assert!(registrations[0].detail.contains(&registered.fingerprint));
        assert!(!registrations[0].detail.contains("1101011990"));

        let bare = device_key();
        let bare_id = store
            .staff_public_key_register(&ids.staff, bare.public_key(), "USB token", WHO, now)
            .await
            .expect("register bare key");
        let listed = store.credential_keys_list(&ids.staff).await.expect("list");
        let bare_key = listed.iter().find(|key| key.id == bare_id).expect("listed");
        assert_eq!(bare_key.kind, KeyKind::Certificate);
        assert_eq!(
            (bare_key.serial.clone(), bare_key.not_after_ms),
            (None, None)
        );
        let challenge = issue(store, &ids.staff, &bare_id, "step-up:payout", "s", now).await;
        assert_eq!(
            answer(
                store,
                &challenge,
                "step-up:payout",
                "s",
                &sign(&bare, &challenge),
                now + 2
            )
            .await,
            KeyProof::Verified {
                account_id: ids.staff.clone(),
                key_id: bare_id,
                kind: KeyKind::Certificate
            }
        );
    }
}

/// A certificate is refused at registration when expired or not yet valid; one registered in
/// time stops proving challenges once it expires, even a challenge issued before.
/// req: 5.2.1.1
#[tokio::test]
async fn certificate_validity_is_enforced() {
    let dir = tempfile::tempdir().expect("dir");
    let (certificate, key_pem) =
        openssl_certificate(dir.path(), "short", "/CN=Adjuster Li", 1, SM2, &[]);
    let key = Sm2PrivateKey::from_pkcs8_pem(&key_pem).expect("openssl SM2 key");
    let now = inspay_store::now_ms() + 1_000;
    for test in stores().await {
        let store = &test.store;
        let ids = accounts(&test, now).await;
        for (at_ms, expected) in [
            (now + 2 * DAY_MS, "refused: the certificate has expired"),
            (now - 3_600_000, "refused: the certificate is not yet valid"),
        ] {
            let refused = store
                .certificate_register(&ids.staff, &certificate, WHO, at_ms)
                .await
                .expect_err("out of validity");
            assert_eq!(refused.to_string(), expected, "{}", test.label);
        }
        assert!(
            store
                .credential_keys_list(&ids.staff)
                .await
                .expect("list")
                .is_empty()
        );

        let key_id = store
            .certificate_register(&ids.staff, &certificate, WHO, now)
            .await
            .expect("register");
        let listed = store.credential_keys_list(&ids.staff).await.expect("list");
        let not_after = listed[0].not_after_ms.expect("not after");
        let challenge = issue(
            store,
            &ids.staff,
            &key_id,
            "sign-in",
            "f",
            not_after - 60_000,
        )
        .await;
        assert_eq!(
            answer(
                store,
                &challenge,
                "sign-in",
                "f",
                &sign(&key, &challenge),
                not_after + 1
            )
            .await,
            KeyProof::Refused
        );
        let last = key_audit(store).await.pop().expect("audited");
        assert_eq!(reason(&last.1).as_deref(), Some("certificate-not-valid"));
        let refused = store
            .key_challenge_issue(&ids.staff, &key_id, "sign-in", "f", not_after + 1)
            .await
            .expect_err("expired");
        assert!(matches!(refused, StoreError::NotFound(_)), "{refused}");
    }
}

/// Certificates that are not SM2 (a P-256 key), signed with SHA-1, not a certificate at all,
/// too large, or whose key usage excludes signatures are refused with a fixed message, and
/// nothing is stored.
/// req: 5.2.1.1, 5.5.1.2
#[tokio::test]
async fn certificates_without_a_usable_sm2_key_are_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let (p256, _) = openssl_certificate(dir.path(), "p256", "/CN=Auditor Sun", 30, P256, &[]);
    let sha1 = [P256[0], P256[1], P256[2], P256[3], "-sha1"];
    let (sha1, _) = openssl_certificate(dir.path(), "sha1", "/CN=Auditor Sun", 30, &sha1, &[]);
    let usage = ["-addext", "keyUsage=critical,keyEncipherment"];
    let (encipher_only, _) =
        openssl_certificate(dir.path(), "enc", "/CN=Auditor Sun", 30, SM2, &usage);
    let now = inspay_store::now_ms() + 1_000;
    for test in stores().await {
        let store = &test.store;
        let ids = accounts(&test, now).await;
        let cases = [
            (p256.as_str(), "id-ecPublicKey on curve sm2p256v1"),
            (sha1.as_str(), "clause 5.5.1.2 forbids"),
            (encipher_only.as_str(), "does not allow digital signatures"),
            (
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "could not be parsed",
            ),
            ("not a certificate", "could not be parsed"),
        ];
        for (pem, expected) in cases {
            let refused = store
                .certificate_register(&ids.staff, pem, WHO, now)
                .await
                .expect_err("refused");
            assert!(matches!(refused, StoreError::Refused(_)), "{refused}");
            assert!(
                refused.to_string().contains(expected),
                "{}: {refused}",
                test.label
            );
        }
        let huge = "A".repeat(17 * 1024);
        let refused = store
            .certificate_register(&ids.staff, &huge, WHO, now)
            .await
            .expect_err("too large");
        assert!(matches!(refused, StoreError::Refused(_)), "{refused}");
        assert!(
            store
                .credential_keys_list(&ids.staff)
                .await
                .expect("list")
                .is_empty()
        );
    }
}
