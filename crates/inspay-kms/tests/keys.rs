//! Master key handling, wrapping and the keyring's use rules.

use inspay_kms::keyring::KeyEntry;
use inspay_kms::master::DEVELOPMENT_MARKER;
use inspay_kms::material::KeyMaterial;
use inspay_kms::{KeyPurpose, KeyState, Keyring, MasterKey, MasterKeySource};

fn entry(purpose: KeyPurpose, version: u32, state: KeyState) -> KeyEntry {
    KeyEntry {
        purpose,
        version,
        state,
        material: Some(KeyMaterial::generate(purpose).expect("generate")),
    }
}

/// Wrapped key material opens only under the same master key, purpose and version, so a
/// wrapped key copied into another slot or read with another master key is useless.
/// req: 5.5.2.2
#[test]
fn wrapping_binds_master_purpose_and_version() {
    let master = MasterKey::generate(MasterKeySource::Environment).expect("master");
    let material = KeyMaterial::generate(KeyPurpose::RecordMac).expect("material");
    let wrapped = master
        .wrap(KeyPurpose::RecordMac, 2, &material.to_bytes())
        .expect("wrap");
    assert!(
        !wrapped
            .windows(32)
            .any(|window| window == material.to_bytes().as_slice())
    );
    assert_eq!(
        *master
            .unwrap(KeyPurpose::RecordMac, 2, &wrapped)
            .expect("unwrap"),
        *material.to_bytes()
    );
    assert!(master.unwrap(KeyPurpose::RecordMac, 3, &wrapped).is_err());
    assert!(master.unwrap(KeyPurpose::BlindIndex, 2, &wrapped).is_err());
    let other = MasterKey::generate(MasterKeySource::Environment).expect("master");
    assert!(other.unwrap(KeyPurpose::RecordMac, 2, &wrapped).is_err());
    assert_ne!(master.check_value(), other.check_value());
}

/// A master key split among custodians is rebuilt only from all shares; one share alone is
/// not the key, and duplicate shares are refused.
/// req: 5.5.2.2
#[test]
fn custodian_shares_rebuild_the_master_key() {
    let master = MasterKey::generate(MasterKeySource::Environment).expect("master");
    let shares = master.split(3).expect("split");
    let parts: Vec<&str> = shares.iter().map(|share| share.as_str()).collect();
    let rebuilt = MasterKey::from_shares(&parts).expect("combine");
    assert_eq!(rebuilt.check_value(), master.check_value());
    assert_eq!(rebuilt.source(), MasterKeySource::CustodianShares(3));
    let partial = MasterKey::from_shares(&parts[..2]).expect("two of three");
    assert_ne!(partial.check_value(), master.check_value());
    assert!(MasterKey::from_shares(&[parts[0]]).is_err());
    assert!(MasterKey::from_shares(&[parts[0], parts[0]]).is_err());
}

/// A key file carrying the development marker is a development key whatever it is loaded as.
/// req: 5.5.2.2
#[test]
fn development_marker_is_recognised() {
    let text = format!("{DEVELOPMENT_MARKER}\n00112233445566778899aabbccddeeff\n");
    let key = MasterKey::from_text(&text, MasterKeySource::File).expect("parse");
    assert!(key.source().is_development());
    let error = MasterKey::from_text("not hex", MasterKeySource::File).expect_err("bad");
    assert!(error.to_string().contains("32 hexadecimal digits"));
}

/// Only the active key protects new data; decrypt-only keys still open; suspended,
/// compromised and destroyed keys do not (compromised ones only for a rewrap).
/// req: 5.5.2.1
#[test]
fn keyring_enforces_state_rules() {
    let mut ring = Keyring::new();
    ring.insert(entry(KeyPurpose::FieldEncryption, 1, KeyState::Active));
    let old = ring.seal_field(b"t|c|1", b"13812345678").expect("seal v1");
    ring.insert(entry(KeyPurpose::FieldEncryption, 1, KeyState::DecryptOnly));
    assert!(ring.seal_field(b"t|c|1", b"x").is_err(), "no active key");
    ring.insert(entry(KeyPurpose::FieldEncryption, 2, KeyState::Active));
    let new = ring.seal_field(b"t|c|1", b"x").expect("seal v2");
    assert_eq!(new.key_version, 2);
    // The v1 key object was replaced above, so its ciphertext no longer opens.
    assert!(ring.open_field(b"t|c|1", &old).is_err());

    let mut ring = Keyring::new();
    ring.insert(entry(KeyPurpose::FieldEncryption, 1, KeyState::Active));
    let sealed = ring.seal_field(b"t|c|1", b"13812345678").expect("seal");
    assert!(
        ring.open_field(b"t|c|2", &sealed).is_err(),
        "AAD binds the row"
    );
    for (state, opens, rewraps) in [
        (KeyState::DecryptOnly, true, true),
        (KeyState::Suspended, false, false),
        (KeyState::Compromised, false, true),
    ] {
        let KeyEntry { material, .. } = ring_take(&mut ring);
        ring.insert(KeyEntry {
            purpose: KeyPurpose::FieldEncryption,
            version: 1,
            state,
            material,
        });
        assert_eq!(ring.open_field(b"t|c|1", &sealed).is_ok(), opens, "{state}");
        assert_eq!(
            ring.open_field_for_rewrap(b"t|c|1", &sealed).is_ok(),
            rewraps,
            "{state}"
        );
    }
    ring.insert(KeyEntry {
        purpose: KeyPurpose::FieldEncryption,
        version: 1,
        state: KeyState::Destroyed,
        material: None,
    });
    assert!(ring.open_field_for_rewrap(b"t|c|1", &sealed).is_err());
}

fn ring_take(ring: &mut Keyring) -> KeyEntry {
    let mut entries = std::mem::take(ring).into_entries();
    entries.pop().expect("one entry")
}

/// Signatures name their key version and verify; a compromised key no longer verifies.
/// req: 5.5.2.1
#[test]
fn signatures_verify_by_version() {
    let mut ring = Keyring::new();
    ring.insert(entry(KeyPurpose::AuditSigning, 1, KeyState::Active));
    let signature = ring
        .sign(KeyPurpose::AuditSigning, b"checkpoint")
        .expect("sign");
    assert!(signature.to_text().starts_with("sm2-sm3:v1:"));
    ring.verify(KeyPurpose::AuditSigning, b"checkpoint", &signature)
        .expect("verify");
    assert!(
        ring.verify(KeyPurpose::AuditSigning, b"checkpoinT", &signature)
            .is_err()
    );
}

/// A stored wrapped key names its algorithm and master key; one naming a forbidden algorithm
/// or another master key is refused with a clear error.
/// req: 5.5.1.3, 5.5.1.2
#[test]
fn wrapped_keys_name_algorithm_and_master_key() {
    let master = MasterKey::generate(MasterKeySource::Environment).expect("master");
    let text = master
        .wrap_text(KeyPurpose::BlindIndex, 1, &[7u8; 32])
        .expect("wrap");
    assert!(
        text.starts_with(&format!("sm4-gcm:kek.{}:", master.key_id())),
        "{text}"
    );
    assert_eq!(
        *master
            .unwrap_text(KeyPurpose::BlindIndex, 1, &text)
            .expect("unwrap"),
        [7u8; 32]
    );
    let forged = text.replacen("sm4-gcm", "des-cbc", 1);
    let error = master
        .unwrap_text(KeyPurpose::BlindIndex, 1, &forged)
        .expect_err("des");
    assert!(error.to_string().contains("5.5.1.2"), "{error}");
    let other = MasterKey::generate(MasterKeySource::Environment).expect("other");
    let error = other
        .unwrap_text(KeyPurpose::BlindIndex, 1, &text)
        .expect_err("other master");
    assert!(
        error.to_string().contains("wrapped under master key"),
        "{error}"
    );
}
