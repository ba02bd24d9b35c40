//! The canonical request and the signed Authorization header: exact bytes, round trips,
//! every refusal, tamper detection, and a bounded fuzz of the parser.

use inspay_crypto::sm2::Sm2PrivateKey;
use inspay_protocol::authorization::{HeaderError, SignedHeader};
use inspay_protocol::canonical::{CanonicalError, CanonicalRequest};

const NONCE: &str = "k3J9x0Qm2b7T5nYw";

/// The canonical form is exactly the documented five lines; the body digest is SM3 (the
/// digest of "abc" is the GB/T 32905 example value).
/// req: 5.6.2-c
#[test]
fn canonical_form_is_exact() {
    let request = CanonicalRequest::new("POST", "/v1/payments?x=1", 1_764_100_000, NONCE, b"abc")
        .expect("canonical");
    assert_eq!(
        String::from_utf8(request.to_bytes()).expect("utf-8"),
        "POST\n/v1/payments?x=1\n1764100000\nk3J9x0Qm2b7T5nYw\n\
         66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0\n"
    );
    for (method, target, ts, nonce, error) in [
        ("post", "/v1", 1, NONCE, CanonicalError::Method),
        ("TRACE", "/v1", 1, NONCE, CanonicalError::Method),
        ("GET", "v1", 1, NONCE, CanonicalError::Target),
        ("GET", "/v1 x", 1, NONCE, CanonicalError::Target),
        ("GET", "/v1", -1, NONCE, CanonicalError::Timestamp),
        ("GET", "/v1", 1, "short", CanonicalError::Nonce),
        ("GET", "/v1", 1, "k3J9x0Qm2b7T5nY=", CanonicalError::Nonce),
    ] {
        assert_eq!(
            CanonicalRequest::new(method, target, ts, nonce, b""),
            Err(error),
            "{method} {target}"
        );
    }
}

fn signed(body: &[u8]) -> (Sm2PrivateKey, CanonicalRequest, SignedHeader) {
    let key = Sm2PrivateKey::generate().expect("key");
    let request =
        CanonicalRequest::new("POST", "/v1/payments", 1_764_100_000, NONCE, body).expect("req");
    let header = SignedHeader::sign(&key, "app_01", 3, &request).expect("sign");
    (key, request, header)
}

/// A signed header formats and parses back to itself and verifies; a body changed by one
/// byte, another key, or a swapped timestamp or nonce does not verify.
/// req: 5.6.2-c, 5.6.2-d1
#[test]
fn signatures_bind_the_whole_request() {
    let body = br#"{"policy":"P-1","amount_fen":12345}"#;
    let (key, request, header) = signed(body);
    let text = header.format();
    assert!(text.starts_with("INSPAY-SM2-SM3 app_id=\"app_01\",serial=\"3\","));
    let parsed = SignedHeader::parse(&text).expect("parse");
    assert_eq!(parsed, header);
    assert!(parsed.verifies(key.public_key(), &request));

    let mut changed = body.to_vec();
    changed[12] ^= 1;
    let tampered =
        CanonicalRequest::new("POST", "/v1/payments", 1_764_100_000, NONCE, &changed).expect("req");
    assert!(
        !parsed.verifies(key.public_key(), &tampered),
        "one byte of body"
    );
    let other = Sm2PrivateKey::generate().expect("key");
    assert!(
        !parsed.verifies(other.public_key(), &request),
        "another key"
    );
    let moved =
        CanonicalRequest::new("POST", "/v1/payments", 1_764_100_001, NONCE, body).expect("req");
    assert!(
        !parsed.verifies(key.public_key(), &moved),
        "another timestamp"
    );
    let mut swapped = parsed.clone();
    swapped.nonce = "AAAAAAAAAAAAAAAA".into();
    assert!(
        !swapped.verifies(key.public_key(), &request),
        "header nonce swapped"
    );
}

/// Every malformed header gets its own refusal.
/// req: 5.6.2-c, 5.4.2.2
#[test]
fn malformed_headers_are_refused_each_with_its_reason() {
    let (_, _, header) = signed(b"");
    let good = header.format();
    let signature = good.rsplit_once("signature=").expect("sig").1.to_string();
    let with = |fields: &str| format!("INSPAY-SM2-SM3 {fields}");
    let base = format!("app_id=\"a\",serial=\"1\",timestamp=\"1\",nonce=\"{NONCE}\"");
    let cases = [
        ("x".repeat(2_000), HeaderError::Shape),
        (
            good.replace("INSPAY-SM2-SM3", "WECHATPAY2-SHA256-RSA2048"),
            HeaderError::Scheme,
        ),
        (
            good.replace("app_id=\"app_01\"", "app_id=app_01"),
            HeaderError::Syntax,
        ),
        (
            with(&format!("{base},signature={signature},extra=\"1\"")),
            HeaderError::UnknownField,
        ),
        (
            with(&format!("{base},signature={signature},nonce=\"{NONCE}\"")),
            HeaderError::DuplicateField,
        ),
        (with(&base), HeaderError::MissingField),
        (good.replace("app_01", "app 01"), HeaderError::AppId),
        (
            good.replace("serial=\"3\"", "serial=\"0\""),
            HeaderError::Serial,
        ),
        (
            good.replace("serial=\"3\"", "serial=\"03\""),
            HeaderError::Serial,
        ),
        (
            good.replace("timestamp=\"1764100000\"", "timestamp=\"-1\""),
            HeaderError::Timestamp,
        ),
        (good.replace(NONCE, "short"), HeaderError::Nonce),
        (good.replace(&signature, "\"AAAA\""), HeaderError::Signature),
        (
            good.replace('\u{0}', "").replace("app_01", "app\u{7}01"),
            HeaderError::Shape,
        ),
    ];
    for (value, error) in cases {
        assert_eq!(SignedHeader::parse(&value), Err(error), "{value:.80}");
    }
    // Spaces after commas are allowed.
    assert!(SignedHeader::parse(&good.replace(",", ", ")).is_ok());
}

/// Bounded fuzz: random mutations of a valid header and random printable strings never make
/// the parser panic, and anything it accepts formats back to a header it accepts again.
/// req: 5.4.2.2
#[test]
fn parser_survives_random_input() {
    let (_, _, header) = signed(b"fuzz");
    let good = header.format().into_bytes();
    let mut state = u64::from_le_bytes(inspay_crypto::random::bytes::<8>().expect("seed"));
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..20_000 {
        let mut input = if round % 2 == 0 {
            good.clone()
        } else {
            (0..(next() % 300))
                .map(|_| (next() % 96 + 32) as u8)
                .collect()
        };
        for _ in 0..(next() % 4) {
            if input.is_empty() {
                break;
            }
            let at = (next() as usize) % input.len();
            match next() % 3 {
                0 => input[at] = (next() % 96 + 32) as u8,
                1 => {
                    input.remove(at);
                }
                _ => input.insert(at, (next() % 96 + 32) as u8),
            }
        }
        let text = String::from_utf8_lossy(&input);
        if let Ok(parsed) = SignedHeader::parse(&text) {
            assert_eq!(SignedHeader::parse(&parsed.format()), Ok(parsed));
        }
    }
}
