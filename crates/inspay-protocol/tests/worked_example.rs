//! The worked example of `docs/integrator-guide.md` (section 10.2, "Signing a request"), checked: every value
//! the guide prints is computed here from the guide's inputs, so the guide cannot drift from
//! the code and a reader can reproduce each step with any SM2/SM3 implementation.

use base64::Engine;
use inspay_crypto::sm2::{Sm2PrivateKey, Sm2Signature};
use inspay_crypto::sm3::sm3;
use inspay_protocol::authorization::SignedHeader;
use inspay_protocol::canonical::CanonicalRequest;

/// The example key: the private key of the GB/T 32918 sample (public, for examples only).
const PRIVATE_KEY_HEX: &str = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8";
const BODY: &str = r#"{"legal_name":"Wang Wei"}"#;
const TIMESTAMP: i64 = 1_764_100_000;
const NONCE: &str = "k3J9x0Qm2b7T5nYwAbCd";
/// A signature made once with the example key; SM2 signatures are randomised, so a reader's
/// own will differ, but this one verifies.
const SIGNATURE_B64: &str = "MEUCID3XdG5lz+S3wfApup8QvsQS1ThxjN8HpoVTdEH26806AiEA44yMUIsheLJSyEMlcii29zKIRLGOgFjwwGf47oacGYA=";
const PUBLIC_KEY_HEX: &str = "0409f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13";
const BODY_SM3: &str = "70cb80eb3c35924385c08254e13b805784d918533f022c6ce7027d97e06124fc";
const DIGEST_E: &str = "bb1b00e2cf7f4cabe52764c831a3089111d398f74240dcde7e759b3c902119a6";

fn key() -> Sm2PrivateKey {
    Sm2PrivateKey::from_bytes(&hex::decode(PRIVATE_KEY_HEX).expect("hex")).expect("key")
}

/// req: 5.6.2-c
#[test]
fn the_guide_example_reproduces() {
    let key = key();
    assert_eq!(hex::encode(key.public_key().to_sec1()), PUBLIC_KEY_HEX);
    assert_eq!(hex::encode(sm3(BODY.as_bytes())), BODY_SM3);
    let canonical =
        CanonicalRequest::new("POST", "/v1/validate", TIMESTAMP, NONCE, BODY.as_bytes())
            .expect("canonical");
    let text = String::from_utf8(canonical.to_bytes()).expect("ascii");
    assert_eq!(
        text,
        format!("POST\n/v1/validate\n{TIMESTAMP}\n{NONCE}\n{BODY_SM3}\n")
    );
    assert_eq!(
        hex::encode(key.public_key().message_digest(&canonical.to_bytes())),
        DIGEST_E
    );
    let der = base64::engine::general_purpose::STANDARD
        .decode(SIGNATURE_B64)
        .expect("b64");
    let signature = Sm2Signature::from_der(&der).expect("der");
    key.public_key()
        .verify(&canonical.to_bytes(), &signature)
        .expect("the guide's signature verifies");
    let header = SignedHeader::parse(&format!(
        "INSPAY-SM2-SM3 app_id=\"demo-app\",serial=\"1\",timestamp=\"{TIMESTAMP}\",nonce=\"{NONCE}\",signature=\"{SIGNATURE_B64}\""
    ))
    .expect("header");
    assert!(header.verifies(key.public_key(), &canonical));

    let guide = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/integrator-guide.md"
    ))
    .expect("the integrator guide");
    for value in [
        PRIVATE_KEY_HEX,
        PUBLIC_KEY_HEX,
        BODY,
        NONCE,
        BODY_SM3,
        DIGEST_E,
        SIGNATURE_B64,
    ] {
        assert!(guide.contains(value), "the guide shows {value}");
    }
}
