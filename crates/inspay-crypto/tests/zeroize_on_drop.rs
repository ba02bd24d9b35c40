//! Key material is wiped from memory when its owner is dropped, shown without `unsafe` code:
//! secrets are put in heap allocations of at least 64 bytes, the allocation's address is
//! noted, the owner is dropped, and the same address range is read back through
//! `/proc/self/mem` (our own process, through the file system, so no raw pointer is ever
//! dereferenced).
//!
//! glibc's allocator writes its free-list links into the first 16 bytes of a freed chunk, so
//! those bytes are never judged. A control allocation that is NOT zeroised must still show its
//! bytes after the drop; if it does not, the method cannot see a leak here and the test fails
//! as inconclusive instead of passing.
#![cfg(target_os = "linux")]

use inspay_crypto::SecretBytes;
use inspay_crypto::sm2::Sm2PrivateKey;
use inspay_crypto::sm4::Sm4Key;
use sm2::Scalar;
use sm2::elliptic_curve::PrimeField;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

/// Bytes of a freed chunk the allocator may overwrite with its own bookkeeping.
const ALLOCATOR_HEADER: usize = 16;

// The key types are zeroised on drop by contract, checked at compile time.
const _: () = {
    const fn zeroize_on_drop<T: zeroize::ZeroizeOnDrop>() {}
    zeroize_on_drop::<Sm4Key>();
    zeroize_on_drop::<SecretBytes>();
    zeroize_on_drop::<Sm2PrivateKey>();
};

/// Snapshots of one heap range before and after a drop.
struct Snapshots {
    before: Vec<u8>,
    after: Vec<u8>,
}

/// Reads `len` bytes at `address` from `/proc/self/mem`, then runs `drop_it` (which must drop
/// the owner of that range), then reads the range again. The file is opened and both buffers
/// are allocated before the drop, so that nothing reuses the freed chunk before it is read.
fn around_drop(address: usize, len: usize, drop_it: impl FnOnce()) -> Snapshots {
    let mut mem = File::open("/proc/self/mem").expect("open /proc/self/mem");
    let mut before = vec![0u8; len];
    let mut after = vec![0u8; len];
    mem.seek(SeekFrom::Start(address as u64)).expect("seek");
    mem.read_exact(&mut before).expect("read live allocation");
    drop_it();
    mem.seek(SeekFrom::Start(address as u64)).expect("seek");
    mem.read_exact(&mut after)
        .expect("read freed allocation (still mapped: small chunks stay in the heap)");
    Snapshots { before, after }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// The part of a snapshot the allocator leaves alone.
fn judged(bytes: &[u8]) -> &[u8] {
    &bytes[ALLOCATOR_HEADER..]
}

/// The control: a 64-byte heap array that is not zeroised keeps its bytes (past the first 16)
/// after it is dropped, so the method below does see memory that was left behind. If it did
/// not (another allocator, `MALLOC_PERTURB_`, a hardened libc), every other check here would be
/// meaningless: fail as inconclusive.
fn control_shows_leftover_bytes() {
    let pattern: [u8; 64] = core::array::from_fn(|index| 0xA5 ^ (index as u8).wrapping_mul(29));
    let boxed = Box::new(pattern);
    let address = boxed.as_ptr() as usize;
    let snapshots = around_drop(address, 64, move || drop(boxed));
    assert_eq!(
        snapshots.before, pattern,
        "control: read the live allocation"
    );
    assert_eq!(
        judged(&snapshots.after),
        &pattern[ALLOCATOR_HEADER..],
        "INCONCLUSIVE: a plain Box<[u8; 64]> did not keep its bytes after drop, so this method \
         cannot tell a wiped key from a freed one on this system"
    );
}

/// Control: a plain, non-zeroised `Box<[u8; 64]>` still shows its bytes after drop, so the
/// method detects memory left behind.
/// req: 5.6.3.2, 5.6.5-a2
#[test]
fn control_plain_allocation_is_visible_after_drop() {
    control_shows_leftover_bytes();
}

/// Four SM4 keys in one 64-byte heap allocation (`Box<[Sm4Key; 4]>`): the three whose bytes
/// lie past the allocator's header are present before the drop and gone after it.
/// req: 5.6.3.2, 5.6.5-a2
#[test]
fn sm4_keys_are_wiped_on_drop() {
    control_shows_leftover_bytes();
    let keys: [Sm4Key; 4] = core::array::from_fn(|_| Sm4Key::generate().expect("key"));
    let copies: Vec<[u8; 16]> = keys.iter().map(|key| *key.expose()).collect();
    let boxed = Box::new(keys);
    assert_eq!(core::mem::size_of_val(&*boxed), 64);
    let address = boxed.as_ptr() as usize;
    let snapshots = around_drop(address, 64, move || drop(boxed));
    for (index, key) in copies.iter().enumerate().skip(1) {
        assert!(
            contains(judged(&snapshots.before), key),
            "key {index} is in the live allocation"
        );
        assert!(
            !contains(judged(&snapshots.after), key),
            "key {index} is still in memory after drop"
        );
    }
}

/// A 64-byte `SecretBytes`: its heap buffer holds the secret while alive and, after the drop,
/// none of its 8-byte pieces past the allocator's header.
/// req: 5.6.3.2, 5.6.5-a2
#[test]
fn secret_bytes_are_wiped_on_drop() {
    control_shows_leftover_bytes();
    let secret: [u8; 64] = inspay_crypto::random::bytes().expect("rng");
    let owner = SecretBytes::from_slice(&secret);
    let address = owner.expose().as_ptr() as usize;
    let snapshots = around_drop(address, 64, move || drop(owner));
    assert_eq!(
        snapshots.before, secret,
        "the buffer holds the secret while alive"
    );
    for piece in secret[ALLOCATOR_HEADER..].chunks(8) {
        assert!(
            !contains(judged(&snapshots.after), piece),
            "a piece of the secret is still in memory after drop"
        );
    }
}

/// The in-memory form of a scalar in the `sm2` crate: Montgomery words, least significant
/// first, each in native byte order.
fn montgomery_bytes(scalar: Scalar) -> Vec<u8> {
    primefield::MontyFieldElement::from(scalar)
        .to_montgomery_words()
        .iter()
        .flat_map(|word| word.to_ne_bytes())
        .collect()
}

/// Two SM2 private keys in one heap allocation (`Box<[Sm2PrivateKey; 2]>`): the scalar `d`
/// and the precomputed `(1 + d)^-1`, in the Montgomery form the key holds them in, are found
/// in the live allocation (which shows the search looks for the right bytes) and are gone
/// after the drop.
/// req: 5.6.3.2, 5.6.5-a2
#[test]
fn sm2_private_keys_are_wiped_on_drop() {
    control_shows_leftover_bytes();
    let keys: [Sm2PrivateKey; 2] =
        core::array::from_fn(|_| Sm2PrivateKey::generate().expect("key"));
    let mut secrets = vec![];
    for key in &keys {
        let d = Option::<Scalar>::from(Scalar::from_repr((*key.to_bytes()).into())).expect("d");
        let inverse = Option::<Scalar>::from((d + Scalar::ONE).invert()).expect("invertible");
        secrets.push(montgomery_bytes(d));
        secrets.push(montgomery_bytes(inverse));
    }
    let boxed = Box::new(keys);
    let len = core::mem::size_of_val(&*boxed);
    assert!(
        (64..1024).contains(&len),
        "size {len} stays in glibc's small-chunk range"
    );
    let address = boxed.as_ptr() as usize;
    let snapshots = around_drop(address, len, move || drop(boxed));

    let mut judged_secrets = 0;
    for (index, secret) in secrets.iter().enumerate() {
        if !contains(judged(&snapshots.before), secret) {
            // Only the first key's fields may sit inside the allocator's header.
            assert!(index < 2, "secret {index} not found in the live allocation");
            continue;
        }
        judged_secrets += 1;
        assert!(
            !contains(judged(&snapshots.after), secret),
            "secret {index} (d or (1 + d)^-1) is still in memory after drop"
        );
    }
    assert!(
        judged_secrets >= 3,
        "the secrets were found in the live allocation"
    );
}
