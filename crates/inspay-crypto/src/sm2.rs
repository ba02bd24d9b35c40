//! SM2 (GB/T 32918): signatures with SM3 and the Z value, public-key encryption in C1C3C2
//! order, and keys in PKCS#8 / SPKI PEM.
//!
//! Signing is implemented here on top of the RustCrypto `sm2` field arithmetic, which is
//! constant-time, so that the private scalar and the precomputed `(1 + d)^-1` live in a type
//! that zeroises them on drop (the crate's own `SigningKey` does not) and so that the nonce
//! `k` comes straight from the OS CSPRNG. `[k]G` is computed by the private `comb` module: a
//! constant-time fixed-base comb over a per-process table, with a branch-free inversion, on
//! the crate's field elements (about 1.7 times the speed of the crate's `mul_by_generator`
//! followed by `to_affine`).
//!
//! Verification handles only public data. By default it runs on the variable-time verifier in
//! the private `vartime` module (two to three times the speed of the crate's constant-time
//! one); the crate's verifier stays available as [`Sm2Verifier::Reference`], and the two are
//! differential-tested against each other (`tests/sm2_verifier_differential.rs`).

mod comb;
mod vartime;

use crate::sm3::{Sm3Digest, sm3_parts};
use crate::{CryptoError, random};
use core::fmt;
use sm2::dsa::signature::hazmat::PrehashVerifier;
use sm2::dsa::{Signature, VerifyingKey};
use sm2::elliptic_curve::PrimeField;
use sm2::elliptic_curve::ops::Reduce;
use sm2::elliptic_curve::sec1::ToSec1Point;
use sm2::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use sm2::pke::{DecryptingKey, EncryptingKey, Mode};
use sm2::{FieldBytes, NonZeroScalar, PublicKey, Scalar, SecretKey};
use zeroize::{Zeroize, Zeroizing};

/// The default distinguishing identifier (GB/T 35276 and GM/T 0009), used by WeChat Pay, the
/// OpenSSL and Tongsuo defaults, and every inspay signature unless a protocol says otherwise.
pub const DEFAULT_ID: &[u8] = b"1234567812345678";

/// Longest distinguishing identifier accepted: ENTL is a 16-bit count of bits.
pub const ID_LEN_MAX: usize = 8191;

const CURVE_A: [u8; 32] = hex32("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC");
const CURVE_B: [u8; 32] = hex32("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93");
/// The base point G, affine x (computing it from the crate's projective constant would cost a
/// field inversion on every Z value).
const GENERATOR_X: [u8; 32] =
    hex32("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7");
/// The base point G, affine y.
const GENERATOR_Y: [u8; 32] =
    hex32("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0");

/// An SM2 signature, (r, s).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Sm2Signature(Signature);

impl Sm2Signature {
    /// Parses a DER `SEQUENCE { r INTEGER, s INTEGER }` (GB/T 35276), as OpenSSL writes it.
    pub fn from_der(der: &[u8]) -> Result<Self, CryptoError> {
        Signature::from_der(der)
            .map(Self)
            .map_err(|_| CryptoError::Encoding("SM2 DER signature"))
    }

    /// The DER encoding.
    pub fn to_der(&self) -> Vec<u8> {
        self.0.to_der().to_vec()
    }

    /// Parses the 64-byte `r || s` form.
    pub fn from_raw(raw: &[u8]) -> Result<Self, CryptoError> {
        Signature::from_slice(raw)
            .map(Self)
            .map_err(|_| CryptoError::Encoding("SM2 raw signature"))
    }

    /// The 64-byte `r || s` form.
    pub fn to_raw(&self) -> [u8; 64] {
        let mut raw = [0u8; 64];
        raw.copy_from_slice(&self.0.to_bytes());
        raw
    }
}

impl fmt::Debug for Sm2Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sm2Signature({})", hex::encode(self.to_raw()))
    }
}

/// Which implementation checks SM2 signatures. Both implement GB/T 32918.2 steps B1 to B7
/// and accept exactly the same signatures; they differ only in speed and provenance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Sm2Verifier {
    /// The variable-time verifier in this crate (interleaved w-NAF over Jacobian coordinates
    /// with its own Montgomery field arithmetic). Used only with public inputs; never for
    /// anything involving a private key.
    #[default]
    Fast,
    /// The RustCrypto `sm2` crate's `VerifyingKey::verify_prehash` (constant-time linear
    /// combination), kept as the reference and as a fallback.
    Reference,
}

/// An SM2 public key, with the Z value for the default identifier computed once.
#[derive(Clone)]
pub struct Sm2PublicKey {
    key: PublicKey,
    verifier: VerifyingKey,
    z_default: Sm3Digest,
    /// The point in the variable-time verifier's representation.
    fast_point: vartime::Affine,
}

impl PartialEq for Sm2PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Sm2PublicKey {}

impl Sm2PublicKey {
    fn from_point(key: PublicKey) -> Result<Self, CryptoError> {
        let id = core::str::from_utf8(DEFAULT_ID).unwrap_or_default();
        let verifier =
            VerifyingKey::new(id, key).map_err(|_| CryptoError::InvalidKey("SM2 public key"))?;
        let z_default = z_value(DEFAULT_ID, &key)?;
        Ok(Self {
            key,
            verifier,
            z_default,
            fast_point: vartime::Affine::from_public_key(&key),
        })
    }

    /// Parses an uncompressed (`04 || x || y`) or compressed SEC1 point.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, CryptoError> {
        let key = PublicKey::from_sec1_bytes(bytes)
            .map_err(|_| CryptoError::InvalidKey("not a point on the SM2 curve"))?;
        Self::from_point(key)
    }

    /// The uncompressed SEC1 encoding, `04 || x || y` (65 bytes).
    pub fn to_sec1(&self) -> Vec<u8> {
        self.key
            .as_affine()
            .to_sec1_point(false)
            .as_bytes()
            .to_vec()
    }

    /// Parses a `-----BEGIN PUBLIC KEY-----` SPKI PEM whose algorithm is an SM2 key.
    pub fn from_spki_pem(pem: &str) -> Result<Self, CryptoError> {
        let key = PublicKey::from_public_key_pem(pem)
            .map_err(|_| CryptoError::Encoding("SM2 SPKI PEM public key"))?;
        Self::from_point(key)
    }

    /// Parses an SPKI DER public key.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, CryptoError> {
        let key = PublicKey::from_public_key_der(der)
            .map_err(|_| CryptoError::Encoding("SM2 SPKI DER public key"))?;
        Self::from_point(key)
    }

    /// The SPKI PEM encoding.
    pub fn to_spki_pem(&self) -> String {
        self.key
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_else(|_| unreachable!("an SM2 point always encodes"))
    }

    /// The SPKI DER encoding.
    pub fn to_spki_der(&self) -> Vec<u8> {
        self.key
            .to_public_key_der()
            .map(|doc| doc.as_bytes().to_vec())
            .unwrap_or_else(|_| unreachable!("an SM2 point always encodes"))
    }

    /// The SM3 fingerprint of the SPKI DER encoding, hex, for key listings and serials.
    pub fn fingerprint(&self) -> String {
        hex::encode(crate::sm3::sm3(&self.to_spki_der()))
    }

    /// `e = SM3(Z || message)` for the default identifier.
    pub fn message_digest(&self, message: &[u8]) -> Sm3Digest {
        sm3_parts(&[&self.z_default, message])
    }

    /// `e = SM3(Z || message)` for the given identifier.
    pub fn message_digest_with_id(
        &self,
        id: &[u8],
        message: &[u8],
    ) -> Result<Sm3Digest, CryptoError> {
        let z = z_value(id, &self.key)?;
        Ok(sm3_parts(&[&z, message]))
    }

    /// The Z value (user information hash) for `id`.
    pub fn z(&self, id: &[u8]) -> Result<Sm3Digest, CryptoError> {
        if id == DEFAULT_ID {
            return Ok(self.z_default);
        }
        z_value(id, &self.key)
    }

    /// Verifies a signature over `message` made with the default identifier.
    pub fn verify(&self, message: &[u8], signature: &Sm2Signature) -> Result<(), CryptoError> {
        self.verify_digest(&self.message_digest(message), signature)
    }

    /// Verifies a signature over `message` made with identifier `id`.
    pub fn verify_with_id(
        &self,
        id: &[u8],
        message: &[u8],
        signature: &Sm2Signature,
    ) -> Result<(), CryptoError> {
        self.verify_digest(&self.message_digest_with_id(id, message)?, signature)
    }

    /// Verifies a signature given `e = SM3(Z || M)`, with the default verifier.
    pub fn verify_digest(
        &self,
        e: &Sm3Digest,
        signature: &Sm2Signature,
    ) -> Result<(), CryptoError> {
        self.verify_digest_using(Sm2Verifier::default(), e, signature)
    }

    /// Verifies a signature given `e = SM3(Z || M)` with the chosen implementation.
    pub fn verify_digest_using(
        &self,
        verifier: Sm2Verifier,
        e: &Sm3Digest,
        signature: &Sm2Signature,
    ) -> Result<(), CryptoError> {
        let valid = match verifier {
            Sm2Verifier::Fast => {
                vartime::verify_prehash(&self.fast_point, e, &signature.0.r(), &signature.0.s())
            }
            Sm2Verifier::Reference => self.verifier.verify_prehash(e, &signature.0).is_ok(),
        };
        if valid {
            Ok(())
        } else {
            Err(CryptoError::BadSignature)
        }
    }

    /// Encrypts `plaintext` to this key. Output is `C1 || C3 || C2` with C1 an uncompressed
    /// point (`04 || x || y`), the order GB/T 32918.4-2016 specifies.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        EncryptingKey::new_with_mode(self.key, Mode::C1C3C2)
            .encrypt(&mut random::OsRng::default(), plaintext)
            .map_err(|_| CryptoError::Random)
    }

    /// Encrypts to the ASN.1 `SEQUENCE { x, y, hash, ciphertext }` form (GB/T 35276), which
    /// OpenSSL and Tongsuo use.
    pub fn encrypt_der(&self, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        EncryptingKey::new_with_mode(self.key, Mode::C1C3C2)
            .encrypt_der(&mut random::OsRng::default(), plaintext)
            .map_err(|_| CryptoError::Random)
    }
}

impl fmt::Debug for Sm2PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sm2PublicKey({})", &self.fingerprint()[..16])
    }
}

/// An SM2 private key. Redacted in `Debug`, zeroised on drop, never serialised except through
/// [`Sm2PrivateKey::to_pkcs8_pem`], whose output is itself zeroised.
pub struct Sm2PrivateKey {
    d: NonZeroScalar,
    /// `(1 + d)^-1 mod n`, precomputed once: it is as secret as `d`.
    d_plus_1_inv: Scalar,
    public: Sm2PublicKey,
}

impl Sm2PrivateKey {
    /// A new key pair from the OS CSPRNG.
    pub fn generate() -> Result<Self, CryptoError> {
        Self::from_scalar(random_nonzero_scalar()?)
    }

    fn from_scalar(d: NonZeroScalar) -> Result<Self, CryptoError> {
        let d_plus_1_inv = Option::<Scalar>::from((*d + Scalar::ONE).invert()).ok_or(
            CryptoError::InvalidKey("SM2 private key d = n - 1 is not allowed"),
        )?;
        let point = PublicKey::from_secret_scalar(&d);
        Ok(Self {
            d,
            d_plus_1_inv,
            public: Sm2PublicKey::from_point(point)?,
        })
    }

    /// A key from its 32-byte big-endian scalar.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CryptoError::InvalidKey("an SM2 private key is 32 bytes"))?;
        let mut repr = FieldBytes::from(array);
        let scalar = Option::<NonZeroScalar>::from(NonZeroScalar::from_repr(repr))
            .ok_or(CryptoError::InvalidKey("SM2 private key out of range"));
        repr.zeroize();
        Self::from_scalar(scalar?)
    }

    /// The 32-byte big-endian scalar, in a buffer zeroised on drop.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&self.d.to_repr());
        out
    }

    /// Parses a PKCS#8 `-----BEGIN PRIVATE KEY-----` PEM holding an SM2 key.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, CryptoError> {
        let secret = SecretKey::from_pkcs8_pem(pem)
            .map_err(|_| CryptoError::Encoding("SM2 PKCS#8 PEM private key"))?;
        Self::from_scalar(secret.to_nonzero_scalar())
    }

    /// Parses a PKCS#8 DER SM2 key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, CryptoError> {
        let secret = SecretKey::from_pkcs8_der(der)
            .map_err(|_| CryptoError::Encoding("SM2 PKCS#8 DER private key"))?;
        Self::from_scalar(secret.to_nonzero_scalar())
    }

    /// The PKCS#8 PEM encoding, in a string zeroised on drop.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, CryptoError> {
        SecretKey::from(self.d)
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|_| CryptoError::Encoding("SM2 PKCS#8 encoding"))
    }

    /// The matching public key.
    pub fn public_key(&self) -> &Sm2PublicKey {
        &self.public
    }

    /// Signs `message` with the default identifier; the signature is DER-encodable.
    pub fn sign(&self, message: &[u8]) -> Result<Sm2Signature, CryptoError> {
        self.sign_digest(&self.public.message_digest(message))
    }

    /// Signs `message` with identifier `id`.
    pub fn sign_with_id(&self, id: &[u8], message: &[u8]) -> Result<Sm2Signature, CryptoError> {
        self.sign_digest(&self.public.message_digest_with_id(id, message)?)
    }

    /// Signs `e = SM3(Z || M)` (GB/T 32918.2 steps A3 to A7), with `k` from the OS CSPRNG.
    pub fn sign_digest(&self, e: &Sm3Digest) -> Result<Sm2Signature, CryptoError> {
        let e = <Scalar as Reduce<FieldBytes>>::reduce(&FieldBytes::from(*e));
        loop {
            let mut k = random_nonzero_scalar()?;
            // A3, A4: (x1, y1) = [k]G in constant time; r = e + x1 mod n.
            let r = e + comb::x_of_k_times_g_mod_n(&k);
            // A5: retry if r = 0 or r + k = n.
            if bool::from(r.is_zero() | (r + *k).is_zero()) {
                k.zeroize();
                continue;
            }
            let s = self.d_plus_1_inv * (*k - r * *self.d);
            k.zeroize();
            if bool::from(s.is_zero()) {
                continue;
            }
            return Signature::from_scalars(r, s)
                .map(Sm2Signature)
                .map_err(|_| CryptoError::BadSignature);
        }
    }

    /// Decrypts a `C1 || C3 || C2` ciphertext made by [`Sm2PublicKey::encrypt`].
    pub fn decrypt(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        DecryptingKey::new_with_mode(self.d, Mode::C1C3C2)
            .decrypt(ciphertext)
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Decrypt)
    }

    /// Decrypts the ASN.1 form made by [`Sm2PublicKey::encrypt_der`] or by OpenSSL.
    pub fn decrypt_der(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        DecryptingKey::new_with_mode(self.d, Mode::C1C3C2)
            .decrypt_der(ciphertext)
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Decrypt)
    }
}

impl Drop for Sm2PrivateKey {
    fn drop(&mut self) {
        self.d.zeroize();
        self.d_plus_1_inv.zeroize();
    }
}

impl zeroize::ZeroizeOnDrop for Sm2PrivateKey {}

impl fmt::Debug for Sm2PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sm2PrivateKey([REDACTED], public: {:?})", self.public)
    }
}

/// A uniformly random scalar in [1, n-1] by rejection sampling from the OS CSPRNG.
fn random_nonzero_scalar() -> Result<NonZeroScalar, CryptoError> {
    loop {
        let mut bytes = Zeroizing::new(random::bytes::<32>()?);
        let candidate = NonZeroScalar::from_repr(FieldBytes::from(*bytes));
        bytes.zeroize();
        if let Some(scalar) = Option::<NonZeroScalar>::from(candidate) {
            return Ok(scalar);
        }
    }
}

/// `Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA)` (GB/T 32918.2, 5.5).
fn z_value(id: &[u8], key: &PublicKey) -> Result<Sm3Digest, CryptoError> {
    if id.len() > ID_LEN_MAX {
        return Err(CryptoError::InvalidKey(
            "SM2 identifier longer than 8191 bytes",
        ));
    }
    let entl = u16::try_from(id.len() * 8)
        .map_err(|_| CryptoError::InvalidKey("SM2 identifier too long"))?
        .to_be_bytes();
    let public = key.as_affine().to_sec1_point(false);
    // Uncompressed points are 0x04 || x || y; skip the tag byte.
    Ok(sm3_parts(&[
        &entl,
        id,
        &CURVE_A,
        &CURVE_B,
        &GENERATOR_X,
        &GENERATOR_Y,
        &public.as_bytes()[1..],
    ]))
}

const fn hex32(text: &str) -> [u8; 32] {
    let bytes = text.as_bytes();
    let mut out = [0u8; 32];
    let mut index = 0;
    while index < 32 {
        out[index] = (nibble(bytes[2 * index]) << 4) | nibble(bytes[2 * index + 1]);
        index += 1;
    }
    out
}

const fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'A'..=b'F' => c - b'A' + 10,
        b'a'..=b'f' => c - b'a' + 10,
        _ => panic!("not a hex digit"),
    }
}
