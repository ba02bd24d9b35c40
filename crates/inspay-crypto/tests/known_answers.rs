//! Known-answer tests from the national standards, loaded from `tests/vectors/`.

use inspay_crypto::sm2::{Sm2PrivateKey, Sm2PublicKey, Sm2Signature};
use inspay_crypto::sm3::sm3;
use inspay_crypto::sm4::Sm4Key;
use sm4::cipher::{BlockCipherEncrypt, KeyInit};
use std::collections::HashMap;

/// Parses a vector file: blocks of `name = value` lines separated by blank lines.
fn vectors(name: &str) -> Vec<HashMap<String, String>> {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("vector file");
    let mut blocks = vec![];
    let mut block = HashMap::new();
    for line in text.lines().chain(std::iter::once("")) {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        if line.is_empty() {
            if !block.is_empty() {
                blocks.push(std::mem::take(&mut block));
            }
            continue;
        }
        let (key, value) = line.split_once('=').expect("name = value");
        block.insert(key.trim().to_string(), value.trim().to_string());
    }
    assert!(!blocks.is_empty(), "{name} holds no vectors");
    blocks
}

fn bytes(block: &HashMap<String, String>, name: &str) -> Vec<u8> {
    hex::decode(&block[name]).expect("hex")
}

/// SM3 of "abc", of "abcd" x 16 and of the empty message match GB/T 32905.
/// req: 5.5.1.1
#[test]
fn sm3_matches_gbt_32905() {
    for block in vectors("sm3.txt") {
        let digest = sm3(block["message_ascii"].as_bytes());
        assert_eq!(hex::encode(digest), block["digest"]);
    }
}

/// SM4 single block and 1,000,000 iterations match GB/T 32907 appendix A.
/// req: 5.5.1.1
#[test]
fn sm4_matches_gbt_32907() {
    for block in vectors("sm4.txt") {
        let cipher = sm4::Sm4::new_from_slice(&bytes(&block, "key")).expect("16-byte key");
        let mut data: [u8; 16] = bytes(&block, "plaintext").try_into().expect("one block");
        let iterations: u32 = block["iterations"].parse().expect("count");
        let mut state = data.into();
        for _ in 0..iterations {
            cipher.encrypt_block(&mut state);
        }
        data.copy_from_slice(&state);
        assert_eq!(
            hex::encode(data),
            block["ciphertext"],
            "{iterations} iterations"
        );
    }
}

/// SM4-GCM with associated data matches RFC 8998 appendix A.1, and a changed byte of the
/// ciphertext, tag or AAD is rejected.
/// req: 5.5.1.1
#[test]
fn sm4_gcm_matches_rfc_8998() {
    for block in vectors("sm4_gcm.txt") {
        let key = Sm4Key::from_slice(&bytes(&block, "key")).expect("key");
        let nonce: [u8; 12] = bytes(&block, "nonce").try_into().expect("nonce");
        let aad = bytes(&block, "aad");
        let plaintext = bytes(&block, "plaintext");
        let sealed = key.seal_with_nonce(&nonce, &aad, &plaintext).expect("seal");
        let mut expected = nonce.to_vec();
        expected.extend(bytes(&block, "ciphertext"));
        expected.extend(bytes(&block, "tag"));
        assert_eq!(hex::encode(&sealed), hex::encode(&expected));
        assert_eq!(*key.open(&aad, &sealed).expect("open"), plaintext);

        for index in [0, 12, sealed.len() - 1] {
            let mut altered = sealed.clone();
            altered[index] ^= 1;
            assert!(key.open(&aad, &altered).is_err(), "byte {index}");
        }
        let mut other_aad = aad.clone();
        other_aad[0] ^= 1;
        assert!(key.open(&other_aad, &sealed).is_err());
    }
}

/// The SM2 signature example of GB/T 32918.5 appendix A verifies, with the Z value and the
/// digest e computed as the standard shows; one changed bit of message or signature fails.
/// req: 5.5.1.1
#[test]
fn sm2_signature_example_of_gbt_32918_5_verifies() {
    for block in vectors("sm2_sign.txt") {
        let private = Sm2PrivateKey::from_bytes(&bytes(&block, "private_key")).expect("key");
        let mut point = vec![4u8];
        point.extend(bytes(&block, "public_x"));
        point.extend(bytes(&block, "public_y"));
        let public = Sm2PublicKey::from_sec1(&point).expect("point");
        assert_eq!(private.public_key(), &public, "public key derives from d");

        let id = block["id_ascii"].as_bytes();
        let message = block["message_ascii"].as_bytes();
        assert_eq!(hex::encode(public.z(id).expect("z")), block["z"]);
        assert_eq!(hex::encode(public.message_digest(message)), block["e"]);

        let mut raw = bytes(&block, "r");
        raw.extend(bytes(&block, "s"));
        let signature = Sm2Signature::from_raw(&raw).expect("r || s");
        public
            .verify(message, &signature)
            .expect("standard example verifies");
        public
            .verify_with_id(id, message, &signature)
            .expect("explicit identifier");
        assert!(public.verify(b"message digesT", &signature).is_err());
        assert!(
            public
                .verify_with_id(b"ALICE123@YAHOO.COM", message, &signature)
                .is_err()
        );
        let mut bad = raw.clone();
        bad[63] ^= 1;
        let bad = Sm2Signature::from_raw(&bad).expect("still in range");
        assert!(public.verify(message, &bad).is_err());

        // DER round trip of the standard's signature.
        let der = signature.to_der();
        assert_eq!(Sm2Signature::from_der(&der).expect("der"), signature);
    }
}

/// Our signer and the RustCrypto reference signer agree: each verifies the other's signatures
/// (differential test of the signing code written here).
/// req: 5.5.1.1
#[test]
fn own_signer_agrees_with_reference_implementation() {
    use sm2::dsa::signature::{Signer, Verifier};
    for round in 0..64u32 {
        let key = Sm2PrivateKey::generate().expect("key");
        let message = format!("round {round}").into_bytes();
        let ours = key.sign(&message).expect("sign");
        let reference_verifier = sm2::dsa::VerifyingKey::from_sec1_bytes(
            "1234567812345678",
            &key.public_key().to_sec1(),
        )
        .expect("point");
        let theirs: sm2::dsa::Signature = {
            let signing =
                sm2::dsa::SigningKey::from_slice("1234567812345678", key.to_bytes().as_slice())
                    .expect("scalar");
            signing.sign(&message)
        };
        let ours_raw = sm2::dsa::Signature::from_slice(&ours.to_raw()).expect("raw");
        reference_verifier
            .verify(&message, &ours_raw)
            .expect("reference accepts ours");
        let theirs = Sm2Signature::from_raw(&theirs.to_bytes()).expect("raw");
        key.public_key()
            .verify(&message, &theirs)
            .expect("we accept reference");
    }
}

/// SM2 encryption round-trips in both encodings, refuses altered ciphertext, and puts C3 (the
/// SM3 check value) before C2.
/// req: 5.5.1.1
#[test]
fn sm2_encryption_round_trips_in_c1c3c2_order() {
    let key = Sm2PrivateKey::generate().expect("key");
    let message = b"6222 0212 3456 7890";
    let ciphertext = key.public_key().encrypt(message).expect("encrypt");
    assert_eq!(ciphertext.len(), 65 + 32 + message.len());
    assert_eq!(ciphertext[0], 4, "C1 is an uncompressed point");
    assert_eq!(*key.decrypt(&ciphertext).expect("decrypt"), message);
    // C1C3C2: flipping the last byte changes C2, and C3 then fails to match.
    let mut altered = ciphertext.clone();
    *altered.last_mut().expect("non-empty") ^= 1;
    assert!(key.decrypt(&altered).is_err());
    let der = key.public_key().encrypt_der(message).expect("der");
    assert_eq!(*key.decrypt_der(&der).expect("decrypt der"), message);
    let other = Sm2PrivateKey::generate().expect("key");
    assert!(other.decrypt(&ciphertext).is_err());
}

/// Keys survive PKCS#8 and SPKI PEM round trips.
/// req: 5.5.1.1
#[test]
fn sm2_keys_round_trip_through_pem() {
    let key = Sm2PrivateKey::generate().expect("key");
    let pem = key.to_pkcs8_pem().expect("pem");
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let again = Sm2PrivateKey::from_pkcs8_pem(&pem).expect("parse");
    assert_eq!(again.public_key(), key.public_key());
    let public_pem = key.public_key().to_spki_pem();
    assert!(public_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    let public = Sm2PublicKey::from_spki_pem(&public_pem).expect("spki");
    let signature = key.sign(b"m").expect("sign");
    public.verify(b"m", &signature).expect("verify");
    assert!(!format!("{key:?}").contains(&hex::encode(key.to_bytes().as_slice())));
}
