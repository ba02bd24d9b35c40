//! A variable-time SM2 signature verifier, for public inputs only.
//!
//! Verification handles nothing secret (public key, message digest, signature), so it may run
//! in variable time. This module computes `[s]G + [t]P` with its own arithmetic:
//!
//! * the base field mod `p` in Montgomery form on four 64-bit limbs (CIOS multiplication,
//!   `-p^-1 mod 2^64 = 1` because `p = -1 mod 2^64`);
//! * Jacobian coordinates with the `a = -3` doubling (dbl-2001-b, 3M + 5S), mixed addition
//!   (madd-2007-bl, 7M + 4S) and general addition (add-2007-bl, 11M + 5S) from the
//!   Explicit-Formulas Database, with the exceptional cases (equal points, opposite points,
//!   infinity) handled by branches;
//! * one interleaved w-NAF ladder: width 8 for `G` over a table of 64 odd multiples built once
//!   per process, width 5 for `P` over 8 odd multiples built per verification;
//! * the final check `x1 = r - e (mod n)` done projectively (`X = (r - e) Z^2`, and the
//!   `r - e + n` candidate when it is below `p`), so no inversion is needed.
//!
//! It must never see a private key or nonce: signing stays on the RustCrypto constant-time
//! arithmetic. `tests/sm2_verifier_differential.rs` checks it against the `sm2` crate's
//! verifier on random keys, messages, and valid and invalid signatures.

use sm2::elliptic_curve::PrimeField;
use sm2::elliptic_curve::ops::Reduce;
use sm2::elliptic_curve::sec1::ToSec1Point;
use sm2::{FieldBytes, PublicKey, Scalar};
use std::sync::LazyLock;

/// `p` in little-endian 64-bit limbs.
const P: [u64; 4] = [
    0xffff_ffff_ffff_ffff,
    0xffff_ffff_0000_0000,
    0xffff_ffff_ffff_ffff,
    0xffff_fffe_ffff_ffff,
];

/// The group order `n` in little-endian 64-bit limbs.
const N: [u64; 4] = [
    0x53bb_f409_39d5_4123,
    0x7203_df6b_21c6_052b,
    0xffff_ffff_ffff_ffff,
    0xffff_fffe_ffff_ffff,
];

/// `R^2 mod p` with `R = 2^256`, to enter Montgomery form.
const R2: [u64; 4] = [
    0x0000_0002_0000_0003,
    0x0000_0002_ffff_ffff,
    0x0000_0001_0000_0001,
    0x0000_0004_0000_0002,
];

/// w-NAF width for the generator (64 odd multiples, precomputed once).
const WINDOW_G: u32 = 8;
/// w-NAF width for the public key (8 odd multiples, computed per verification).
const WINDOW_P: u32 = 5;

#[inline(always)]
fn mac(acc: u64, a: u64, b: u64, carry: u64) -> (u64, u64) {
    let wide = u128::from(acc) + u128::from(a) * u128::from(b) + u128::from(carry);
    (wide as u64, (wide >> 64) as u64)
}

#[inline(always)]
fn adc(a: u64, b: u64, carry: u64) -> (u64, u64) {
    let wide = u128::from(a) + u128::from(b) + u128::from(carry);
    (wide as u64, (wide >> 64) as u64)
}

/// `a - b - borrow`, returning the borrow out as 0 or 1.
#[inline(always)]
fn sbb(a: u64, b: u64, borrow: u64) -> (u64, u64) {
    let wide = u128::from(a).wrapping_sub(u128::from(b) + u128::from(borrow));
    (wide as u64, (wide >> 127) as u64)
}

/// 256-bit `a - b`, with the borrow out.
#[inline(always)]
fn sub_limbs(a: &[u64; 4], b: &[u64; 4]) -> ([u64; 4], u64) {
    let (d0, borrow) = sbb(a[0], b[0], 0);
    let (d1, borrow) = sbb(a[1], b[1], borrow);
    let (d2, borrow) = sbb(a[2], b[2], borrow);
    let (d3, borrow) = sbb(a[3], b[3], borrow);
    ([d0, d1, d2, d3], borrow)
}

/// 256-bit `a + b`, with the carry out.
#[inline(always)]
fn add_limbs(a: &[u64; 4], b: &[u64; 4]) -> ([u64; 4], u64) {
    let (s0, carry) = adc(a[0], b[0], 0);
    let (s1, carry) = adc(a[1], b[1], carry);
    let (s2, carry) = adc(a[2], b[2], carry);
    let (s3, carry) = adc(a[3], b[3], carry);
    ([s0, s1, s2, s3], carry)
}

/// Picks `a` where `mask` is all ones, `b` where it is zero.
#[inline(always)]
fn select(mask: u64, a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
    [
        (a[0] & mask) | (b[0] & !mask),
        (a[1] & mask) | (b[1] & !mask),
        (a[2] & mask) | (b[2] & !mask),
        (a[3] & mask) | (b[3] & !mask),
    ]
}

fn limbs_from_be(bytes: &[u8; 32]) -> [u64; 4] {
    let mut limbs = [0u64; 4];
    for (index, limb) in limbs.iter_mut().enumerate() {
        let start = 32 - 8 * (index + 1);
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[start..start + 8]);
        *limb = u64::from_be_bytes(word);
    }
    limbs
}

#[cfg(test)]
fn limbs_to_be(limbs: &[u64; 4]) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    for (index, limb) in limbs.iter().enumerate() {
        let start = 32 - 8 * (index + 1);
        bytes[start..start + 8].copy_from_slice(&limb.to_be_bytes());
    }
    bytes
}

/// `a < b` for 256-bit integers.
fn less_than(a: &[u64; 4], b: &[u64; 4]) -> bool {
    sub_limbs(a, b).1 == 1
}

/// An element of GF(p) in Montgomery form (`a R mod p`), always fully reduced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fe([u64; 4]);

impl Fe {
    pub(crate) const ZERO: Fe = Fe([0; 4]);
    /// `R mod p`, which is one in Montgomery form.
    pub(crate) const ONE: Fe = Fe([1, 0xffff_ffff, 0, 0x1_0000_0000]);

    /// Montgomery multiplication: `self * other / R mod p`.
    #[inline(always)]
    pub(crate) fn mul(&self, other: &Fe) -> Fe {
        let a = &self.0;
        let b = &other.0;
        // Product scanning: column k sums a_i b_j with i + j = k into a 192-bit accumulator.
        let mut t = [0u64; 9];
        let mut low: u128 = 0;
        let mut high: u64 = 0;
        for (k, column) in t.iter_mut().enumerate().take(7) {
            let first = k.saturating_sub(3);
            let last = k.min(3);
            for i in first..=last {
                let (sum, overflow) = low.overflowing_add(u128::from(a[i]) * u128::from(b[k - i]));
                low = sum;
                high += u64::from(overflow);
            }
            *column = low as u64;
            low = (low >> 64) | (u128::from(high) << 64);
            high = 0;
        }
        t[7] = low as u64;
        Fe::montgomery_reduce(t)
    }

    /// Montgomery squaring: the cross products once, doubled, plus the squares.
    #[inline(always)]
    pub(crate) fn square(&self) -> Fe {
        let a = &self.0;
        let mut t = [0u64; 9];
        // Cross products a_i a_j, i < j.
        for i in 0..3 {
            let mut carry = 0;
            for j in (i + 1)..4 {
                (t[i + j], carry) = mac(t[i + j], a[i], a[j], carry);
            }
            t[i + 4] = carry;
        }
        // Double them.
        t[8] = t[7] >> 63;
        for k in (2..8).rev() {
            t[k] = (t[k] << 1) | (t[k - 1] >> 63);
        }
        t[1] <<= 1;
        // Add the squares a_i^2 at position 2i.
        let mut carry = 0;
        for i in 0..4 {
            let (low, high) = mac(0, a[i], a[i], 0);
            (t[2 * i], carry) = adc(t[2 * i], low, carry);
            (t[2 * i + 1], carry) = adc(t[2 * i + 1], high, carry);
        }
        t[8] += carry;
        Fe::montgomery_reduce(t)
    }

    /// Montgomery reduction of a product below `p^2` (`t[8]` is zero on entry).
    ///
    /// With `-p^-1 mod 2^64 = 1` each round's multiplier is the low limb `m` itself, and
    /// `t + m p` clears that limb and adds `m (2^192 - 2^160 - 2^32 + 1)` one limb higher,
    /// which takes shifts and subtractions instead of multiplications.
    #[inline(always)]
    fn montgomery_reduce(mut t: [u64; 9]) -> Fe {
        // The carry out of round i belongs to limb i + 5, which round i + 1 adds to anyway.
        let mut pending = 0u64;
        for i in 0..4 {
            let m = t[i];
            let low = m << 32;
            let high = m >> 32;
            // c = [m, 0, 0, m] - [low, high, low, high], never negative.
            let (c0, borrow) = sbb(m, low, 0);
            let (c1, borrow) = sbb(0, high, borrow);
            let (c2, borrow) = sbb(0, low, borrow);
            let (c3, _) = sbb(m, high, borrow);
            let mut carry;
            (t[i + 1], carry) = adc(t[i + 1], c0, 0);
            (t[i + 2], carry) = adc(t[i + 2], c1, carry);
            (t[i + 3], carry) = adc(t[i + 3], c2, carry);
            let wide =
                u128::from(t[i + 4]) + u128::from(c3) + u128::from(carry) + u128::from(pending);
            t[i + 4] = wide as u64;
            pending = (wide >> 64) as u64;
        }
        Fe::reduce_once([t[4], t[5], t[6], t[7]], t[8] + pending)
    }

    /// Reduces `high * 2^256 + value`, known to be below `2p`, into `[0, p)`.
    #[inline(always)]
    fn reduce_once(value: [u64; 4], high: u64) -> Fe {
        let (reduced, borrow) = sub_limbs(&value, &P);
        // Keep `value - p` unless it borrowed and there was no carry into bit 256.
        let keep_value = 0u64.wrapping_sub(borrow & (high ^ 1));
        Fe(select(keep_value, &value, &reduced))
    }

    /// `self^(2^k)`.
    fn square_times(&self, k: u32) -> Fe {
        let mut out = *self;
        for _ in 0..k {
            out = out.square();
        }
        out
    }

    #[inline(always)]
    pub(crate) fn add(&self, other: &Fe) -> Fe {
        let (sum, carry) = add_limbs(&self.0, &other.0);
        Fe::reduce_once(sum, carry)
    }

    #[inline(always)]
    pub(crate) fn sub(&self, other: &Fe) -> Fe {
        let (difference, borrow) = sub_limbs(&self.0, &other.0);
        let mask = 0u64.wrapping_sub(borrow);
        let (sum, _) = add_limbs(
            &difference,
            &[P[0] & mask, P[1] & mask, P[2] & mask, P[3] & mask],
        );
        Fe(sum)
    }

    #[inline(always)]
    pub(crate) fn double(&self) -> Fe {
        self.add(self)
    }

    #[inline(always)]
    pub(crate) fn neg(&self) -> Fe {
        Fe::ZERO.sub(self)
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.0 == [0; 4]
    }

    /// From a canonical integer below `p` (not in Montgomery form).
    fn from_canonical(limbs: [u64; 4]) -> Option<Fe> {
        less_than(&limbs, &P).then(|| Fe(limbs).mul(&Fe(R2)))
    }

    /// From 32 big-endian bytes; `None` if the value is not below `p`.
    pub(crate) fn from_be_bytes(bytes: &[u8; 32]) -> Option<Fe> {
        Fe::from_canonical(limbs_from_be(bytes))
    }

    /// The canonical value as 32 big-endian bytes.
    #[cfg(test)]
    pub(crate) fn to_be_bytes(self) -> [u8; 32] {
        limbs_to_be(&self.mul(&Fe([1, 0, 0, 0])).0)
    }

    /// `self^(p-2)` by an addition chain (256 squarings, 14 multiplications): the inverse for
    /// non-zero `self`, zero for zero. `p - 2` in binary is 31 ones, a zero, 128 ones,
    /// 32 zeros, 62 ones, then `01`.
    pub(crate) fn invert(&self) -> Fe {
        let x1 = *self;
        let x2 = x1.square().mul(&x1);
        let x3 = x2.square().mul(&x1);
        let x6 = x3.square_times(3).mul(&x3);
        let x12 = x6.square_times(6).mul(&x6);
        let x24 = x12.square_times(12).mul(&x12);
        let x30 = x24.square_times(6).mul(&x6);
        let x31 = x30.square().mul(&x1);
        let x32 = x31.square().mul(&x1);
        let mut t = x31.square();
        for _ in 0..4 {
            t = t.square_times(32).mul(&x32);
        }
        t = t.square_times(32);
        t = t.square_times(31).mul(&x31);
        t = t.square_times(31).mul(&x31);
        t.square_times(2).mul(&x1)
    }
}

/// A point in affine coordinates (never the point at infinity).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Affine {
    pub(crate) x: Fe,
    pub(crate) y: Fe,
}

impl Affine {
    fn neg(&self) -> Affine {
        Affine {
            x: self.x,
            y: self.y.neg(),
        }
    }

    /// The SM2 generator.
    pub(crate) fn generator() -> Affine {
        Affine {
            x: Fe::from_be_bytes(&super::GENERATOR_X).unwrap_or(Fe::ZERO),
            y: Fe::from_be_bytes(&super::GENERATOR_Y).unwrap_or(Fe::ZERO),
        }
    }

    /// From a validated public key.
    pub(crate) fn from_public_key(key: &PublicKey) -> Affine {
        let sec1 = key.as_affine().to_sec1_point(false);
        let bytes = sec1.as_bytes();
        let mut x = [0u8; 32];
        let mut y = [0u8; 32];
        x.copy_from_slice(&bytes[1..33]);
        y.copy_from_slice(&bytes[33..65]);
        // A `PublicKey` is a validated point other than infinity, so both coordinates are
        // canonical field elements.
        Affine {
            x: Fe::from_be_bytes(&x).unwrap_or(Fe::ZERO),
            y: Fe::from_be_bytes(&y).unwrap_or(Fe::ZERO),
        }
    }
}

/// A point in Jacobian coordinates, `(X / Z^2, Y / Z^3)`; `Z = 0` is the point at infinity.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Jacobian {
    x: Fe,
    y: Fe,
    z: Fe,
}

impl Jacobian {
    pub(crate) const INFINITY: Jacobian = Jacobian {
        x: Fe::ONE,
        y: Fe::ONE,
        z: Fe::ZERO,
    };

    pub(crate) fn is_infinity(&self) -> bool {
        self.z.is_zero()
    }

    fn neg(&self) -> Jacobian {
        Jacobian {
            x: self.x,
            y: self.y.neg(),
            z: self.z,
        }
    }

    /// Doubling for `a = -3` (dbl-2001-b). Infinity doubles to infinity (`Z3 = 0`).
    pub(crate) fn double(&self) -> Jacobian {
        let delta = self.z.square();
        let gamma = self.y.square();
        let beta = self.x.mul(&gamma);
        let t = self.x.sub(&delta).mul(&self.x.add(&delta));
        let alpha = t.double().add(&t);
        let beta4 = beta.double().double();
        let x3 = alpha.square().sub(&beta4.double());
        let z3 = self.y.add(&self.z).square().sub(&gamma).sub(&delta);
        let gamma_sq8 = gamma.square().double().double().double();
        let y3 = alpha.mul(&beta4.sub(&x3)).sub(&gamma_sq8);
        Jacobian {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// `self + q` for affine `q` (madd-2007-bl).
    pub(crate) fn add_affine(&self, q: &Affine) -> Jacobian {
        if self.is_infinity() {
            return Jacobian::from(q);
        }
        let z1z1 = self.z.square();
        let u2 = q.x.mul(&z1z1);
        let s2 = q.y.mul(&self.z).mul(&z1z1);
        let h = u2.sub(&self.x);
        let r = s2.sub(&self.y).double();
        if h.is_zero() {
            return if r.is_zero() {
                self.double()
            } else {
                Jacobian::INFINITY
            };
        }
        let hh = h.square();
        let i = hh.double().double();
        let j = h.mul(&i);
        let v = self.x.mul(&i);
        let x3 = r.square().sub(&j).sub(&v.double());
        let y3 = r.mul(&v.sub(&x3)).sub(&self.y.mul(&j).double());
        let z3 = self.z.add(&h).square().sub(&z1z1).sub(&hh);
        Jacobian {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// `self + q` (add-2007-bl).
    pub(crate) fn add(&self, q: &Jacobian) -> Jacobian {
        if self.is_infinity() {
            return *q;
        }
        if q.is_infinity() {
            return *self;
        }
        let z1z1 = self.z.square();
        let z2z2 = q.z.square();
        let u1 = self.x.mul(&z2z2);
        let u2 = q.x.mul(&z1z1);
        let s1 = self.y.mul(&q.z).mul(&z2z2);
        let s2 = q.y.mul(&self.z).mul(&z1z1);
        let h = u2.sub(&u1);
        let r = s2.sub(&s1).double();
        if h.is_zero() {
            return if r.is_zero() {
                self.double()
            } else {
                Jacobian::INFINITY
            };
        }
        let i = h.double().square();
        let j = h.mul(&i);
        let v = u1.mul(&i);
        let x3 = r.square().sub(&j).sub(&v.double());
        let y3 = r.mul(&v.sub(&x3)).sub(&s1.mul(&j).double());
        let z3 = self.z.add(&q.z).square().sub(&z1z1).sub(&z2z2).mul(&h);
        Jacobian {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// Affine coordinates, `None` for infinity.
    pub(crate) fn to_affine(self) -> Option<Affine> {
        if self.is_infinity() {
            return None;
        }
        let z_inv = self.z.invert();
        let z_inv2 = z_inv.square();
        Some(Affine {
            x: self.x.mul(&z_inv2),
            y: self.y.mul(&z_inv2).mul(&z_inv),
        })
    }
}

impl From<&Affine> for Jacobian {
    fn from(point: &Affine) -> Jacobian {
        Jacobian {
            x: point.x,
            y: point.y,
            z: Fe::ONE,
        }
    }
}

/// Odd multiples `G, 3G, ..., 127G` in affine coordinates.
static G_TABLE: LazyLock<Vec<Affine>> = LazyLock::new(|| {
    let generator = Affine::generator();
    odd_multiples(&Jacobian::from(&generator), 1 << (WINDOW_G - 2))
        .into_iter()
        .map(|point| point.to_affine().unwrap_or(generator))
        .collect()
});

/// `[P, 3P, 5P, ...]`, `count` entries.
fn odd_multiples(point: &Jacobian, count: usize) -> Vec<Jacobian> {
    let twice = point.double();
    let mut out = Vec::with_capacity(count);
    out.push(*point);
    for index in 1..count {
        let next = out[index - 1].add(&twice);
        out.push(next);
    }
    out
}

/// Width-`w` non-adjacent form of a 256-bit scalar: digits odd or zero, `|d| < 2^(w-1)`,
/// `sum d_i 2^i = k`. 257 digits, since the top carry may spill into bit 256.
fn wnaf(scalar: &[u64; 4], width: u32) -> [i16; 257] {
    let limbs = [scalar[0], scalar[1], scalar[2], scalar[3], 0];
    let window: u64 = 1 << width;
    let mask = window - 1;
    let mut digits = [0i16; 257];
    let mut position = 0usize;
    let mut carry = 0u64;
    while position < 257 {
        let index = position / 64;
        let bit = position % 64;
        let buffer = if bit + width as usize <= 64 || index + 1 >= limbs.len() {
            limbs[index] >> bit
        } else {
            (limbs[index] >> bit) | (limbs[index + 1] << (64 - bit))
        };
        let value = carry + (buffer & mask);
        if value & 1 == 0 {
            position += 1;
            continue;
        }
        if value < window / 2 {
            carry = 0;
            digits[position] = value as i16;
        } else {
            carry = 1;
            digits[position] = value as i16 - window as i16;
        }
        position += width as usize;
    }
    digits
}

/// `[s]G + [t]P`.
pub(crate) fn double_scalar_mul(s: &[u64; 4], t: &[u64; 4], public: &Affine) -> Jacobian {
    let g_table = &*G_TABLE;
    let p_table = odd_multiples(&Jacobian::from(public), 1 << (WINDOW_P - 2));
    let s_digits = wnaf(s, WINDOW_G);
    let t_digits = wnaf(t, WINDOW_P);
    let mut acc = Jacobian::INFINITY;
    for index in (0..257).rev() {
        if !acc.is_infinity() {
            acc = acc.double();
        }
        let digit = t_digits[index];
        if digit > 0 {
            acc = acc.add(&p_table[(digit / 2) as usize]);
        } else if digit < 0 {
            acc = acc.add(&p_table[(-digit / 2) as usize].neg());
        }
        let digit = s_digits[index];
        if digit > 0 {
            acc = acc.add_affine(&g_table[(digit / 2) as usize]);
        } else if digit < 0 {
            acc = acc.add_affine(&g_table[(-digit / 2) as usize].neg());
        }
    }
    acc
}

/// Verifies `(r, s)` over `e = SM3(Z || M)` for `public` (GB/T 32918.2 steps B1 to B7).
/// `r` and `s` are already known to lie in `[1, n-1]` (the signature type guarantees it).
pub(crate) fn verify_prehash(public: &Affine, e: &[u8; 32], r: &Scalar, s: &Scalar) -> bool {
    let e = <Scalar as Reduce<FieldBytes>>::reduce(&FieldBytes::from(*e));
    // B5: t = r + s mod n, reject t = 0.
    let t = *r + *s;
    if bool::from(t.is_zero()) {
        return false;
    }
    let s_limbs = limbs_from_be(&s.to_repr().into());
    let t_limbs = limbs_from_be(&t.to_repr().into());
    // B6: (x1, y1) = [s]G + [t]P, rejecting infinity.
    let point = double_scalar_mul(&s_limbs, &t_limbs, public);
    if point.is_infinity() {
        return false;
    }
    // B7: r = e + x1 mod n  <=>  x1 mod n = r - e mod n =: v  <=>  x1 in {v, v + n} (x1 < p).
    // With x1 = X / Z^2: X = v Z^2, or X = (v + n) Z^2 when v + n < p.
    let v = limbs_from_be(&(*r - e).to_repr().into());
    let z2 = point.z.square();
    let matches = |candidate: [u64; 4]| {
        Fe::from_canonical(candidate).is_some_and(|value| value.mul(&z2) == point.x)
    };
    if matches(v) {
        return true;
    }
    let (v_plus_n, carry) = add_limbs(&v, &N);
    carry == 0 && matches(v_plus_n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sm2::ProjectivePoint;
    use sm2::elliptic_curve::Group;
    use sm2::elliptic_curve::hazmat::FieldArithmetic;
    use sm2::elliptic_curve::point::AffineCoordinates;

    type Reference = <sm2::Sm2 as FieldArithmetic>::FieldElement;

    fn random_fe() -> ([u8; 32], Fe, Reference) {
        loop {
            let bytes = crate::random::bytes::<32>().expect("random");
            if let (Some(ours), Some(theirs)) = (
                Fe::from_be_bytes(&bytes),
                Option::<Reference>::from(Reference::from_repr(bytes.into())),
            ) {
                return (bytes, ours, theirs);
            }
        }
    }

    fn same(ours: Fe, theirs: Reference) -> bool {
        ours.to_be_bytes() == <[u8; 32]>::from(theirs.to_repr())
    }

    /// The field arithmetic of the variable-time verifier (multiplication, squaring, addition,
    /// subtraction, negation, inversion, encoding) agrees with the RustCrypto `sm2` field on
    /// random elements and on the edge values 0, 1, p - 1 and p - 2.
    /// req: 5.5.1.1
    #[test]
    fn field_arithmetic_matches_reference() {
        let mut edge = vec![];
        let p_minus = |k: u8| {
            let mut bytes = limbs_to_be(&P);
            bytes[31] -= k;
            bytes
        };
        let mut one = [0u8; 32];
        one[31] = 1;
        for bytes in [[0u8; 32], one, p_minus(1), p_minus(2)] {
            edge.push((
                bytes,
                Fe::from_be_bytes(&bytes).expect("below p"),
                Option::<Reference>::from(Reference::from_repr(bytes.into())).expect("below p"),
            ));
        }
        let mut values = edge;
        for _ in 0..500 {
            values.push(random_fe());
        }
        for (index, (bytes, a, ra)) in values.iter().enumerate() {
            assert_eq!(a.to_be_bytes(), *bytes, "round trip");
            let (_, b, rb) = values[(index * 7 + 3) % values.len()];
            assert!(same(a.mul(&b), *ra * rb), "mul");
            assert!(same(a.square(), ra.square()), "square");
            assert!(same(a.add(&b), *ra + rb), "add");
            assert!(same(a.sub(&b), *ra - rb), "sub");
            assert!(same(a.neg(), -*ra), "neg");
            assert!(same(a.double(), ra.double()), "double");
            let inverse = Option::<Reference>::from(ra.invert()).unwrap_or(Reference::ZERO);
            assert!(same(a.invert(), inverse), "invert");
        }
        assert!(
            Fe::from_be_bytes(&limbs_to_be(&P)).is_none(),
            "p itself is refused"
        );
    }

    /// `[s]G + [t]P` from the variable-time ladder equals the RustCrypto result for random
    /// scalars and for the edge scalars 1, 2, n - 1 and n - 2 (which drive the ladder through
    /// the doubling and opposite-point branches), and with P = G and P = -G.
    /// req: 5.5.1.1
    #[test]
    fn double_scalar_mul_matches_reference() {
        let scalar = |k: u64| Scalar::from(k);
        let mut scalars = vec![
            scalar(1),
            scalar(2),
            scalar(3),
            -scalar(1),
            -scalar(2),
            scalar(0),
        ];
        for _ in 0..24 {
            scalars.push(*crate::sm2::random_nonzero_scalar().expect("rng"));
        }
        let random_point = ProjectivePoint::mul_by_generator(&scalars[8]);
        let points = [
            ProjectivePoint::GENERATOR,
            -ProjectivePoint::GENERATOR,
            ProjectivePoint::GENERATOR.double(),
            random_point,
        ];
        for point in points {
            let key = PublicKey::from_affine(point.to_affine()).expect("not infinity");
            let ours_key = Affine::from_public_key(&key);
            for (index, s) in scalars.iter().enumerate() {
                for t in [scalars[(index + 1) % scalars.len()], *s, -*s] {
                    let expected = ProjectivePoint::GENERATOR * s + point * t;
                    let ours = double_scalar_mul(
                        &limbs_from_be(&s.to_repr().into()),
                        &limbs_from_be(&t.to_repr().into()),
                        &ours_key,
                    );
                    if bool::from(expected.is_identity()) {
                        assert!(ours.is_infinity(), "expected infinity");
                        continue;
                    }
                    let expected = expected.to_affine();
                    let ours = ours.to_affine().expect("not infinity");
                    assert_eq!(
                        ours.x.to_be_bytes(),
                        <[u8; 32]>::from(expected.x()),
                        "x for s = {s:?}, t = {t:?}"
                    );
                    let y = ours.y.to_be_bytes();
                    assert_eq!(
                        u8::from(bool::from(expected.y_is_odd())),
                        y[31] & 1,
                        "y parity"
                    );
                }
            }
        }
    }

    /// w-NAF recoding reproduces the scalar, with odd digits below 2^(w-1) in magnitude.
    /// req: 5.5.1.1
    #[test]
    fn wnaf_reconstructs_the_scalar() {
        for width in [WINDOW_P, WINDOW_G] {
            for _ in 0..200 {
                let bytes = crate::random::bytes::<32>().expect("rng");
                let limbs = limbs_from_be(&bytes);
                let digits = wnaf(&limbs, width);
                // Horner evaluation over 5 limbs, signed digits via two's complement.
                let mut acc = [0u64; 5];
                for &digit in digits.iter().rev() {
                    let mut carry = 0u64;
                    for limb in acc.iter_mut() {
                        let next = *limb >> 63;
                        *limb = (*limb << 1) | carry;
                        carry = next;
                    }
                    assert!(
                        digit == 0 || (digit % 2 != 0 && digit.unsigned_abs() < 1 << (width - 1))
                    );
                    let add = i128::from(digit);
                    let extend = if add < 0 { u64::MAX } else { 0 };
                    let mut carry = 0u128;
                    for (position, limb) in acc.iter_mut().enumerate() {
                        let term = if position == 0 { add as u64 } else { extend };
                        let sum = u128::from(*limb) + u128::from(term) + carry;
                        *limb = sum as u64;
                        carry = sum >> 64;
                    }
                }
                assert_eq!(&acc[..4], &limbs[..], "value");
                assert_eq!(acc[4], 0, "no overflow");
            }
        }
    }
}
