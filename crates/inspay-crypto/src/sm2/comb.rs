//! Constant-time `x([k]G)` for signing, on the RustCrypto `sm2` field arithmetic.
//!
//! The `sm2` crate's `mul_by_generator` walks 65 radix-16 digits with full projective
//! additions, and its `to_affine` inverts with a general constant-time inversion; together
//! they are most of the cost of a signature. Here:
//!
//! * `k` is recoded into 43 signed radix-64 digits in `[-32, 32]` with arithmetic only;
//! * a table built once per process holds `j 2^(6i) G` for `j = 1..=32` and every window `i`,
//!   in affine coordinates as Montgomery words;
//! * each digit reads its entry by scanning the whole row with masks (no secret-dependent
//!   address or branch), negates `y` by a constant-time select, and is added with the
//!   complete mixed addition of Renes, Costello and Batina (2015, algorithm 5, as in the
//!   `primeorder` crate), the zero digit being handled by a constant-time select;
//! * the affine `x` takes one inversion by Fermat's little theorem along a fixed addition
//!   chain (the exponent `p - 2` is public, so the sequence of operations never varies).
//!
//! Every field operation is the `sm2` crate's (fiat-crypto, constant-time); this module adds
//! only the table walk and the formulas. `tests` compare it with `ProjectivePoint::
//! mul_by_generator` for random and edge scalars.

use sm2::elliptic_curve::bigint::Word;
use sm2::elliptic_curve::group::Group;
use sm2::elliptic_curve::hazmat::FieldArithmetic;
use sm2::elliptic_curve::sec1::ToSec1Point;
use sm2::elliptic_curve::subtle::{
    Choice, ConditionallyNegatable, ConditionallySelectable, ConstantTimeEq,
};
use sm2::elliptic_curve::{BatchNormalize, PrimeField};
use sm2::{FieldBytes, ProjectivePoint, Scalar, U256};
use std::sync::LazyLock;
use zeroize::Zeroize;

type Fe = <sm2::Sm2 as FieldArithmetic>::FieldElement;

/// Bits per digit.
const WINDOW: usize = 6;
/// Table entries per window: digit magnitudes 1 to 2^(WINDOW-1).
const ENTRIES: usize = 1 << (WINDOW - 1);
/// Digits for a 256-bit scalar (the top one absorbs the last carry).
const DIGITS: usize = 256usize.div_ceil(WINDOW);
/// Machine words in one field element.
const LIMBS: usize = U256::LIMBS;

/// An affine point as the Montgomery words of `x` then `y`.
type Entry = [Word; 2 * LIMBS];

/// `b` of the curve equation.
const EQUATION_B: Fe =
    Fe::from_hex_vartime("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93");

fn words(fe: Fe) -> [Word; LIMBS] {
    primefield::MontyFieldElement::from(fe).to_montgomery_words()
}

fn from_words(words: &[Word]) -> Fe {
    let mut array = [0 as Word; LIMBS];
    array.copy_from_slice(words);
    Fe::from(primefield::MontyFieldElement::from_montgomery_words(array))
}

/// Row `i` holds `j 2^(WINDOW i) G` for `j = 1..=ENTRIES`.
static TABLE: LazyLock<Vec<[Entry; ENTRIES]>> = LazyLock::new(|| {
    let mut base = ProjectivePoint::generator();
    let mut rows = Vec::with_capacity(DIGITS);
    for _ in 0..DIGITS {
        let mut multiples = Vec::with_capacity(ENTRIES);
        let mut current = base;
        for _ in 0..ENTRIES {
            multiples.push(current);
            current += base;
        }
        let affine = ProjectivePoint::batch_normalize(multiples.as_slice());
        let mut row = [[0 as Word; 2 * LIMBS]; ENTRIES];
        for (entry, point) in row.iter_mut().zip(affine.iter()) {
            let sec1 = point.to_sec1_point(false);
            let bytes = sec1.as_bytes();
            for (half, coordinate) in [&bytes[1..33], &bytes[33..65]].into_iter().enumerate() {
                let fe = FieldBytes::try_from(coordinate)
                    .ok()
                    .and_then(|repr| Option::<Fe>::from(Fe::from_repr(repr)))
                    .unwrap_or(Fe::ZERO);
                entry[half * LIMBS..(half + 1) * LIMBS].copy_from_slice(&words(fe));
            }
        }
        rows.push(row);
        // base = 2^WINDOW base, which is (ENTRIES) base doubled.
        base = multiples[ENTRIES - 1].double();
    }
    rows
});

/// Signed radix-2^WINDOW digits of `k` (big-endian bytes), each in `[-2^(WINDOW-1), 2^(WINDOW-1)]`,
/// computed without branches.
fn recode(k: &[u8; 32]) -> [i8; DIGITS] {
    let mut digits = [0i8; DIGITS];
    let mut carry: i32 = 0;
    for (index, digit) in digits.iter_mut().enumerate() {
        let mut bits: i32 = 0;
        for offset in 0..WINDOW {
            let position = index * WINDOW + offset;
            if position < 256 {
                // Public positions; the bit value itself is only shifted and or-ed.
                let byte = k[31 - position / 8];
                bits |= i32::from((byte >> (position % 8)) & 1) << offset;
            }
        }
        let value = bits + carry;
        carry = (value + (1 << (WINDOW - 1))) >> WINDOW;
        *digit = (value - (carry << WINDOW)) as i8;
    }
    digits
}

/// Projective `(X : Y : Z)`, `x = X / Z`, `y = Y / Z`.
struct Projective {
    x: Fe,
    y: Fe,
    z: Fe,
}

impl Projective {
    /// Complete mixed addition for `a = -3` (Renes-Costello-Batina 2015, algorithm 5),
    /// exactly as `primeorder`'s `add_assign_mixed`. `(qx, qy)` must be on the curve.
    fn add_mixed(&self, qx: &Fe, qy: &Fe) -> Projective {
        let xx = self.x * qx;
        let yy = self.y * qy;
        let xy_pairs = ((self.x + self.y) * (*qx + qy)) - (xx + yy);
        let yz_pairs = (*qy * self.z) + self.y;
        let xz_pairs = (*qx * self.z) + self.x;

        let bz_part = xz_pairs - (EQUATION_B * self.z);
        let bz3_part = bz_part.double() + bz_part;
        let yy_m_bzz3 = yy - bz3_part;
        let yy_p_bzz3 = yy + bz3_part;

        let z3 = self.z.double() + self.z;
        let bxz_part = (EQUATION_B * xz_pairs) - (z3 + xx);
        let bxz3_part = bxz_part.double() + bxz_part;
        let xx3_m_zz3 = xx.double() + xx - z3;

        Projective {
            x: (yy_p_bzz3 * xy_pairs) - (yz_pairs * bxz3_part),
            y: (yy_p_bzz3 * yy_m_bzz3) + (xx3_m_zz3 * bxz3_part),
            z: (yy_m_bzz3 * yz_pairs) + (xy_pairs * xx3_m_zz3),
        }
    }

    fn conditional_assign(&mut self, other: &Projective, choice: Choice) {
        self.x.conditional_assign(&other.x, choice);
        self.y.conditional_assign(&other.y, choice);
        self.z.conditional_assign(&other.z, choice);
    }
}

impl Drop for Projective {
    fn drop(&mut self) {
        self.x.zeroize();
        self.y.zeroize();
        self.z.zeroize();
    }
}

/// `fe^(2^k)`.
fn square_times(fe: &Fe, k: usize) -> Fe {
    let mut out = *fe;
    for _ in 0..k {
        out = out.square();
    }
    out
}

/// `fe^(p-2)`, the inverse of a non-zero `fe`, along a fixed chain of 256 squarings and 14
/// multiplications. `p - 2` is 31 ones, a zero, 128 ones, 32 zeros, 62 ones, then `01`.
fn invert(fe: &Fe) -> Fe {
    let x1 = *fe;
    let x2 = x1.square() * x1;
    let x3 = x2.square() * x1;
    let x6 = square_times(&x3, 3) * x3;
    let x12 = square_times(&x6, 6) * x6;
    let x24 = square_times(&x12, 12) * x12;
    let x30 = square_times(&x24, 6) * x6;
    let x31 = x30.square() * x1;
    let x32 = x31.square() * x1;
    let mut t = x31.square();
    for _ in 0..4 {
        t = square_times(&t, 32) * x32;
    }
    t = square_times(&t, 32);
    t = square_times(&t, 31) * x31;
    t = square_times(&t, 31) * x31;
    square_times(&t, 2) * x1
}

/// The affine x-coordinate of `[k]G`, reduced mod n, in constant time. `k` must be non-zero
/// mod n (so that `[k]G` is not the point at infinity).
pub(crate) fn x_of_k_times_g_mod_n(k: &Scalar) -> Scalar {
    use sm2::elliptic_curve::ops::Reduce;

    let table = &*TABLE;
    let mut k_bytes: [u8; 32] = k.to_repr().into();
    let mut digits = recode(&k_bytes);
    k_bytes.zeroize();

    let mut acc = Projective {
        x: Fe::ZERO,
        y: Fe::ONE,
        z: Fe::ZERO,
    };
    let mut entry: Entry = [0; 2 * LIMBS];
    let mut masks = [0 as Word; ENTRIES];
    for (row, digit) in table.iter().zip(digits.iter()) {
        let digit = i32::from(*digit);
        let negative = (digit >> 31) & 1; // 1 if digit < 0
        let magnitude = ((digit ^ -negative) + negative) as u32; // |digit|
        // Read entry |digit| - 1 by touching every entry of the row.
        for (index, mask) in masks.iter_mut().enumerate() {
            let hit = (index as u32 + 1).ct_eq(&magnitude);
            *mask = (0 as Word).wrapping_sub(Word::from(hit.unwrap_u8()));
        }
        entry = [0; 2 * LIMBS];
        for (candidate, mask) in row.iter().zip(masks.iter()) {
            for (word, value) in entry.iter_mut().zip(candidate.iter()) {
                *word |= value & mask;
            }
        }
        let qx = from_words(&entry[..LIMBS]);
        let mut qy = from_words(&entry[LIMBS..]);
        qy.conditional_negate(Choice::from(negative as u8));
        let sum = acc.add_mixed(&qx, &qy);
        qy.zeroize();
        // A zero digit adds nothing: keep the accumulator.
        acc.conditional_assign(&sum, !magnitude.ct_eq(&0));
    }
    entry.zeroize();
    masks.zeroize();
    digits.zeroize();

    let mut x = acc.x * invert(&acc.z);
    let reduced = <Scalar as Reduce<FieldBytes>>::reduce(&x.to_repr());
    x.zeroize();
    reduced
}

#[cfg(test)]
mod tests {
    use super::*;
    use sm2::elliptic_curve::ops::Reduce;
    use sm2::elliptic_curve::point::AffineCoordinates;

    fn reference(k: &Scalar) -> Scalar {
        let x = ProjectivePoint::mul_by_generator(k).to_affine().x();
        <Scalar as Reduce<FieldBytes>>::reduce(&x)
    }

    /// The constant-time comb gives the same `x([k]G) mod n` as the `sm2` crate for random
    /// scalars and for edge scalars (1, 2, 31, 32, 33, 63, 64, n - 1, n - 32, 2^255, and
    /// scalars whose digits are all 32 or all -32), which exercise the zero digit, the largest
    /// magnitude, negative digits and the final carry.
    /// req: 5.5.1.1
    #[test]
    fn comb_matches_reference_scalar_multiplication() {
        let mut scalars: Vec<Scalar> = [1u64, 2, 31, 32, 33, 63, 64, 1 << 40]
            .into_iter()
            .map(Scalar::from)
            .collect();
        scalars.push(-Scalar::ONE);
        scalars.push(-Scalar::from(32u64));
        let mut top = [0u8; 32];
        top[0] = 0x80;
        scalars.push(<Scalar as Reduce<FieldBytes>>::reduce(&top.into()));
        // 0b100000 repeated (digit +32 everywhere) and 0b011111... patterns.
        let mut pattern = [0u8; 32];
        for position in (5..256).step_by(WINDOW) {
            pattern[31 - position / 8] |= 1 << (position % 8);
        }
        scalars.push(<Scalar as Reduce<FieldBytes>>::reduce(&pattern.into()));
        scalars.push(<Scalar as Reduce<FieldBytes>>::reduce(&[0xffu8; 32].into()));
        for _ in 0..200 {
            scalars.push(*crate::sm2::random_nonzero_scalar().expect("rng"));
        }
        for k in &scalars {
            assert_eq!(x_of_k_times_g_mod_n(k), reference(k), "k = {k:?}");
        }
    }

    /// The branch-free inversion agrees with the `sm2` crate's.
    /// req: 5.5.1.1
    #[test]
    fn inversion_matches_reference() {
        for _ in 0..50 {
            let bytes = crate::random::bytes::<32>().expect("rng");
            let Some(fe) = Option::<Fe>::from(Fe::from_repr(bytes.into())) else {
                continue;
            };
            let expected = Option::<Fe>::from(fe.invert()).expect("non-zero");
            assert_eq!(invert(&fe), expected);
        }
    }

    /// Recoding gives digits in range whose weighted sum is the scalar.
    /// req: 5.5.1.1
    #[test]
    fn recoding_reconstructs_the_scalar() {
        for _ in 0..100 {
            let k = *crate::sm2::random_nonzero_scalar().expect("rng");
            let digits = recode(&k.to_repr().into());
            let mut sum = Scalar::ZERO;
            let radix = Scalar::from(1u64 << WINDOW);
            for digit in digits.iter().rev() {
                assert!(digit.unsigned_abs() as usize <= ENTRIES);
                let magnitude = Scalar::from(u64::from(digit.unsigned_abs()));
                sum = sum * radix + if *digit < 0 { -magnitude } else { magnitude };
            }
            assert_eq!(sum, k);
        }
    }
}
