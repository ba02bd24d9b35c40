//! Differential tests of the variable-time SM2 verifier (`Sm2Verifier::Fast`, the default)
//! against the RustCrypto `sm2` crate's verifier (`Sm2Verifier::Reference`): on random keys and
//! messages, valid signatures from both signers and many kinds of invalid ones, the two must
//! give the same verdict every time.

use inspay_crypto::sm2::{DEFAULT_ID, Sm2PrivateKey, Sm2PublicKey, Sm2Signature, Sm2Verifier};
use inspay_crypto::sm3::Sm3Digest;
use sm2::dsa::signature::Signer;

/// n, the order of the SM2 group, big-endian.
const N: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0x72, 0x03, 0xDF, 0x6B, 0x21, 0xC6, 0x05, 0x2B, 0x53, 0xBB, 0xF4, 0x09, 0x39, 0xD5, 0x41, 0x23,
];

/// Both verifiers' verdict, which must agree.
fn verdict(public: &Sm2PublicKey, e: &Sm3Digest, signature: &Sm2Signature) -> bool {
    let fast = public
        .verify_digest_using(Sm2Verifier::Fast, e, signature)
        .is_ok();
    let reference = public
        .verify_digest_using(Sm2Verifier::Reference, e, signature)
        .is_ok();
    assert_eq!(
        fast,
        reference,
        "verifiers disagree: key {public:?}, e {}, signature {signature:?}",
        hex::encode(e)
    );
    fast
}

fn random<const LEN: usize>() -> [u8; LEN] {
    inspay_crypto::random::bytes::<LEN>().expect("rng")
}

/// Big-endian 256-bit `a + b mod 2^256` and `a - b mod 2^256`.
fn add(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for index in (0..32).rev() {
        let sum = u16::from(a[index]) + u16::from(b[index]) + carry;
        out[index] = sum as u8;
        carry = sum >> 8;
    }
    out
}

fn sub(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for index in (0..32).rev() {
        let mut value = i16::from(a[index]) - i16::from(b[index]) - borrow;
        borrow = 0;
        if value < 0 {
            value += 256;
            borrow = 1;
        }
        out[index] = value as u8;
    }
    out
}

fn small(value: u8) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[31] = value;
    out
}

/// A signature from raw r and s if both are in [1, n-1] (otherwise parsing refuses it, and
/// neither verifier is reached).
fn signature(r: &[u8; 32], s: &[u8; 32]) -> Option<Sm2Signature> {
    let mut raw = [0u8; 64];
    raw[..32].copy_from_slice(r);
    raw[32..].copy_from_slice(s);
    Sm2Signature::from_raw(&raw).ok()
}

/// Rounds of the random differential test: 150 by default, more with
/// `INSPAY_SM2_DIFF_ROUNDS` (for example 20000 in a release build before a change to the
/// verifier lands).
fn rounds() -> usize {
    std::env::var("INSPAY_SM2_DIFF_ROUNDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(150)
}

/// On 150 random keys (or `INSPAY_SM2_DIFF_ROUNDS`): signatures by inspay's signer and by the `sm2` crate's signer over
/// random messages verify under both verifiers; and both verifiers reject, alike, signatures
/// with r or s changed by one, r and s swapped, the message or digest changed, the wrong key,
/// random (r, s), s = n - r (t = 0), and r or s at 1 and n - 1.
/// req: 5.5.1.1
#[test]
fn fast_and_reference_verifiers_agree_on_random_cases() {
    let mut accepted = 0;
    let mut rejected = 0;
    let mut tally = |verdict: bool| {
        if verdict {
            accepted += 1;
        } else {
            rejected += 1;
        }
    };
    let other = Sm2PrivateKey::generate().expect("key");
    let rounds = rounds();
    for round in 0..rounds {
        let key = Sm2PrivateKey::generate().expect("key");
        let public = key.public_key();
        let mut message = vec![0u8; round % 130];
        inspay_crypto::random::fill(&mut message).expect("rng");
        let e = public.message_digest(&message);

        let ours = key.sign(&message).expect("sign");
        assert!(verdict(public, &e, &ours), "own signature");
        tally(true);

        let reference_signer =
            sm2::dsa::SigningKey::from_slice("1234567812345678", key.to_bytes().as_slice())
                .expect("scalar");
        let theirs: sm2::dsa::Signature = reference_signer.sign(&message);
        let theirs = Sm2Signature::from_raw(&theirs.to_bytes()).expect("raw");
        assert!(verdict(public, &e, &theirs), "reference signature");
        tally(true);

        let raw = ours.to_raw();
        let r: [u8; 32] = raw[..32].try_into().expect("r");
        let s: [u8; 32] = raw[32..].try_into().expect("s");
        let mut cases = vec![
            signature(&add(&r, &small(1)), &s),
            signature(&r, &add(&s, &small(1))),
            signature(&sub(&r, &small(1)), &s),
            signature(&s, &r),
            signature(&r, &sub(&N, &r)), // t = r + s = n
            signature(&small(1), &s),
            signature(&r, &small(1)),
            signature(&sub(&N, &small(1)), &s),
            signature(&r, &sub(&N, &small(1))),
            signature(&random(), &random()),
        ];
        cases.retain(Option::is_some);
        for case in cases.into_iter().flatten() {
            tally(verdict(public, &e, &case));
        }

        let mut other_message = message.clone();
        other_message.push(round as u8);
        tally(verdict(
            public,
            &public.message_digest(&other_message),
            &ours,
        ));
        let mut flipped = e;
        flipped[round % 32] ^= 1 << (round % 8);
        tally(verdict(public, &flipped, &ours));
        tally(verdict(other.public_key(), &e, &ours));
        let with_other_id = public
            .message_digest_with_id(b"ALICE123@YAHOO.COM", &message)
            .expect("id");
        tally(verdict(public, &with_other_id, &ours));
    }
    // The cases above are valid by construction for the first two per round and invalid
    // (but for negligible chance) for the rest.
    assert_eq!(
        accepted,
        2 * rounds,
        "valid signatures accepted, no invalid one"
    );
    assert!(rejected >= rounds * 12, "rejections counted: {rejected}");
}

/// Digests at and above the group order (e = 0, 1, n - 1, n, n + 1, 2^256 - 1) are reduced
/// mod n the same way by both verifiers: signatures made over them verify, and fail when the
/// digest differs by n (which is the same scalar only for e < 2^256 - n, and the verifiers must
/// still agree).
/// req: 5.5.1.1
#[test]
fn verifiers_agree_on_digests_around_the_group_order() {
    let key = Sm2PrivateKey::generate().expect("key");
    let public = key.public_key();
    let digests = [
        [0u8; 32],
        small(1),
        sub(&N, &small(1)),
        N,
        add(&N, &small(1)),
        [0xFF; 32],
    ];
    for e in digests {
        let signature = key.sign_digest(&e).expect("sign");
        assert!(verdict(public, &e, &signature), "e = {}", hex::encode(e));
        // e + n (mod 2^256) and e - n denote the same scalar unless they wrapped.
        verdict(public, &add(&e, &N), &signature);
        verdict(public, &sub(&e, &N), &signature);
    }
}

/// The standard's example key and identifier (GB/T 32918.5 appendix A) and a key near the
/// edges of the scalar range (d = 1, d = 2, d = n - 2) agree too: with d = 1 the public key is
/// G itself, which sends the verifier's ladder through its doubling and cancellation branches.
/// req: 5.5.1.1
#[test]
fn verifiers_agree_on_edge_keys() {
    for d in [small(1), small(2), sub(&N, &small(2))] {
        let key = Sm2PrivateKey::from_bytes(&d).expect("key");
        for round in 0..40u8 {
            let message = [round; 7];
            let e = key.public_key().message_digest(&message);
            let valid = key.sign(&message).expect("sign");
            assert!(verdict(key.public_key(), &e, &valid));
            let raw = valid.to_raw();
            let r: [u8; 32] = raw[..32].try_into().expect("r");
            let s: [u8; 32] = raw[32..].try_into().expect("s");
            for case in [
                signature(&r, &add(&s, &small(round.max(1)))),
                signature(&add(&r, &small(1)), &s),
                signature(&s, &s),
            ]
            .into_iter()
            .flatten()
            {
                assert!(!verdict(key.public_key(), &e, &case));
            }
        }
        let with_id = key
            .public_key()
            .message_digest_with_id(DEFAULT_ID, b"x")
            .expect("id");
        verdict(key.public_key(), &with_id, &key.sign(b"x").expect("sign"));
    }
}
