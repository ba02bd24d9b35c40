//! Graphic CAPTCHAs (clauses 5.2.1.1-e and 5.2.1.1-f), pure and without I/O.
//!
//! The server makes the challenge: an answer of [`ANSWER_CHARS`] characters drawn from the
//! operating system's CSPRNG, and a PNG image of it drawn here with a small built-in stroke
//! font. Each character gets its own random scale, rotation, shear and position (no fixed
//! grid), the whole picture is warped by a random wave, and noise curves as dark as the text
//! (with lighter lines and speckle) cross it, so that thresholding or slicing at fixed
//! positions does not read it. The PNG is written by the encoder at the end of this module (stored
//! deflate blocks, CRC-32, Adler-32: no font files, no image crates). It carries no text
//! chunks, so the only place the answer exists outside the server is the pixels.
//!
//! The answer ([`CaptchaAnswer`]) has a redacted `Debug`, no `Display` or `Serialize`, and is
//! zeroised on drop, so it cannot reach a response body, a page or a log by accident. The
//! store keeps only a keyed MAC of it, bound to the CAPTCHA id, for [`CAPTCHA_TTL_S`], and
//! consumes it on the first attempt (see `inspay_store::captchas`).
//!
//! A CAPTCHA tells a person from a script; it identifies no one. It is therefore never an
//! authentication factor (clause 5.2.1.1-f): there is no CAPTCHA variant of
//! [`crate::sign_in_flow::Factor`], and redeeming one yields a bare `bool` that no sign-in
//! step accepts as proof.

use core::fmt;
use inspay_crypto::CryptoError;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// How long a CAPTCHA may be redeemed after it is issued (clause 5.2.1.1-e).
pub const CAPTCHA_TTL_S: i64 = 120;
/// Characters in an answer.
pub const ANSWER_CHARS: usize = 5;
/// The characters an answer is drawn from: upper-case letters and digits without the glyphs
/// people confuse: no 0, O or Q; no 1, I or L; and of the pairs 2/Z, 5/S, 6/G and 8/B only
/// the digit.
pub const ALPHABET: &[u8] = b"ACDEFHJKMNPRTUVWXY23456789";
/// Image width in pixels.
pub const IMAGE_WIDTH_PX: u32 = 160;
/// Image height in pixels.
pub const IMAGE_HEIGHT_PX: u32 = 60;
/// Longest typed answer looked at, in bytes (spaces included); longer input is refused
/// before any work is done on it.
pub const TYPED_BYTES_MAX: usize = 64;

const _: () = assert!(ALPHABET.len() >= 20 && ALPHABET.len() <= 64);
const _: () = assert!(ANSWER_CHARS >= 4 && ANSWER_CHARS <= 8);
const _: () = assert!(TYPED_BYTES_MAX >= 4 * ANSWER_CHARS);
const _: () = assert!(CAPTCHA_TTL_S > 0 && CAPTCHA_TTL_S <= 300);

/// Why a typed answer is refused. It names the expected shape, never what was typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a CAPTCHA answer is {ANSWER_CHARS} letters or digits")]
pub struct CaptchaFormatError;

/// A CAPTCHA answer, normalised to upper case without spaces. `Debug` is redacted; there is
/// no `Display`, `Serialize` or `PartialEq` (compare keyed MACs, in constant time, instead);
/// zeroised on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct CaptchaAnswer(String);

impl fmt::Debug for CaptchaAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CaptchaAnswer([REDACTED])")
    }
}

impl CaptchaAnswer {
    /// A fresh answer: each character uniform over [`ALPHABET`], from the OS CSPRNG
    /// (rejection sampling, no modulo bias).
    pub fn generate() -> Result<CaptchaAnswer, CryptoError> {
        // The largest multiple of the alphabet size that fits in a byte; bytes at or above it
        // are drawn again.
        const LIMIT: usize = 256 - 256 % ALPHABET.len();
        let mut answer = CaptchaAnswer(String::with_capacity(ANSWER_CHARS));
        while answer.0.len() < ANSWER_CHARS {
            let draws = Zeroizing::new(inspay_crypto::random::bytes::<16>()?);
            for &byte in draws.iter() {
                if usize::from(byte) < LIMIT && answer.0.len() < ANSWER_CHARS {
                    answer
                        .0
                        .push(char::from(ALPHABET[usize::from(byte) % ALPHABET.len()]));
                }
            }
        }
        Ok(answer)
    }

    /// Parses an answer as typed: case is ignored and spaces anywhere are dropped, so
    /// `" 7k 4xw "` reads as `7K4XW`. Anything but [`ANSWER_CHARS`] characters of
    /// [`ALPHABET`] is refused.
    pub fn parse(raw: &str) -> Result<CaptchaAnswer, CaptchaFormatError> {
        if raw.len() > TYPED_BYTES_MAX {
            return Err(CaptchaFormatError);
        }
        // Built in place with its final capacity, so no unzeroised copy is left behind.
        let mut answer = CaptchaAnswer(String::with_capacity(ANSWER_CHARS));
        for c in raw.chars().filter(|c| !c.is_whitespace()) {
            let upper = c.to_ascii_uppercase();
            let allowed = upper.is_ascii() && ALPHABET.contains(&(upper as u8));
            if !allowed || answer.0.len() == ANSWER_CHARS {
                return Err(CaptchaFormatError);
            }
            answer.0.push(upper);
        }
        if answer.0.len() == ANSWER_CHARS {
            Ok(answer)
        } else {
            Err(CaptchaFormatError)
        }
    }

    /// The characters, for computing the stored MAC and drawing the image only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A new CAPTCHA: the answer, which stays on the server, and the PNG image sent to the client.
pub struct Captcha {
    /// The answer; give it to the store, never to the client.
    pub answer: CaptchaAnswer,
    /// The PNG image of the answer, grayscale, [`IMAGE_WIDTH_PX`] by [`IMAGE_HEIGHT_PX`].
    pub png: Vec<u8>,
}

impl fmt::Debug for Captcha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Captcha")
            .field("answer", &self.answer)
            .field("png_bytes", &self.png.len())
            .finish()
    }
}

/// Makes a CAPTCHA: a fresh answer and a freshly distorted image of it.
pub fn generate() -> Result<Captcha, CryptoError> {
    let answer = CaptchaAnswer::generate()?;
    let png = render_png(&answer)?;
    Ok(Captcha { answer, png })
}

/// Draws `answer` as a PNG. Every call draws new distortions, so two images of one answer
/// differ.
pub fn render_png(answer: &CaptchaAnswer) -> Result<Vec<u8>, CryptoError> {
    let mut jitter = Jitter::new()?;
    let pixels = draw::picture(answer.expose().as_bytes(), &mut jitter);
    Ok(png::encode_gray(IMAGE_WIDTH_PX, IMAGE_HEIGHT_PX, &pixels))
}

/// The randomness behind the distortions: SM3 in counter mode over a 256-bit seed from the OS
/// CSPRNG. One system call per image instead of thousands; the stream is as unpredictable
/// as the seed.
struct Jitter {
    seed: Zeroizing<[u8; 32]>,
    counter: u64,
    block: Zeroizing<[u8; 32]>,
    used: usize,
}

impl Jitter {
    fn new() -> Result<Jitter, CryptoError> {
        Ok(Jitter {
            seed: Zeroizing::new(inspay_crypto::random::bytes::<32>()?),
            counter: 0,
            block: Zeroizing::new([0; 32]),
            used: 32,
        })
    }

    fn next_u32(&mut self) -> u32 {
        if self.used + 4 > self.block.len() {
            *self.block = inspay_crypto::sm3::sm3_parts(&[
                b"inspay/captcha/jitter/v1",
                self.seed.as_slice(),
                &self.counter.to_be_bytes(),
            ]);
            self.counter += 1;
            self.used = 0;
        }
        let bytes = &self.block[self.used..self.used + 4];
        self.used += 4;
        u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
    }

    /// Uniform in `[low, high)`.
    fn between(&mut self, low: f32, high: f32) -> f32 {
        // 24 random bits: exactly representable in an f32 mantissa.
        let unit = (self.next_u32() >> 8) as f32 / (1u32 << 24) as f32;
        low + (high - low) * unit
    }

    /// Uniform in `[-magnitude, magnitude)`.
    fn signed(&mut self, magnitude: f32) -> f32 {
        self.between(-magnitude, magnitude)
    }

    /// A fair coin.
    fn coin(&mut self) -> bool {
        self.next_u32() & 1 == 1
    }
}

/// The stroke font: each glyph is a few polylines on a 4 by 6 grid, y pointing down.
mod font {
    /// Glyph width in font units.
    pub(super) const WIDTH: f32 = 4.0;
    /// Glyph height in font units.
    pub(super) const HEIGHT: f32 = 6.0;

    type Glyph = &'static [&'static [(f32, f32)]];

    /// The polylines of `c`, or none for a character outside the alphabet.
    pub(super) fn glyph(c: u8) -> Glyph {
        match c {
            b'A' => &[
                &[(0.0, 6.0), (2.0, 0.0), (4.0, 6.0)],
                &[(0.7, 4.0), (3.3, 4.0)],
            ],
            b'C' => &[&[
                (4.0, 1.0),
                (3.0, 0.0),
                (1.0, 0.0),
                (0.0, 1.5),
                (0.0, 4.5),
                (1.0, 6.0),
                (3.0, 6.0),
                (4.0, 5.0),
            ]],
            b'D' => &[&[
                (0.0, 0.0),
                (0.0, 6.0),
                (2.4, 6.0),
                (4.0, 4.5),
                (4.0, 1.5),
                (2.4, 0.0),
                (0.0, 0.0),
            ]],
            b'E' => &[
                &[(4.0, 0.0), (0.0, 0.0), (0.0, 6.0), (4.0, 6.0)],
                &[(0.0, 3.0), (3.0, 3.0)],
            ],
            b'F' => &[
                &[(4.0, 0.0), (0.0, 0.0), (0.0, 6.0)],
                &[(0.0, 3.0), (3.0, 3.0)],
            ],
            b'H' => &[
                &[(0.0, 0.0), (0.0, 6.0)],
                &[(4.0, 0.0), (4.0, 6.0)],
                &[(0.0, 3.0), (4.0, 3.0)],
            ],
            b'J' => &[&[(4.0, 0.0), (4.0, 4.6), (3.0, 6.0), (1.0, 6.0), (0.0, 4.6)]],
            b'K' => &[
                &[(0.0, 0.0), (0.0, 6.0)],
                &[(4.0, 0.0), (0.0, 3.6)],
                &[(1.4, 2.4), (4.0, 6.0)],
            ],
            b'M' => &[&[(0.0, 6.0), (0.0, 0.0), (2.0, 3.6), (4.0, 0.0), (4.0, 6.0)]],
            b'N' => &[&[(0.0, 6.0), (0.0, 0.0), (4.0, 6.0), (4.0, 0.0)]],
            b'P' => &[&[
                (0.0, 6.0),
                (0.0, 0.0),
                (3.0, 0.0),
                (4.0, 0.8),
                (4.0, 2.4),
                (3.0, 3.2),
                (0.0, 3.2),
            ]],
            b'R' => &[
                &[
                    (0.0, 6.0),
                    (0.0, 0.0),
                    (3.0, 0.0),
                    (4.0, 0.8),
                    (4.0, 2.4),
                    (3.0, 3.2),
                    (0.0, 3.2),
                ],
                &[(2.0, 3.2), (4.0, 6.0)],
            ],
            b'T' => &[&[(0.0, 0.0), (4.0, 0.0)], &[(2.0, 0.0), (2.0, 6.0)]],
            b'U' => &[&[
                (0.0, 0.0),
                (0.0, 4.6),
                (1.0, 6.0),
                (3.0, 6.0),
                (4.0, 4.6),
                (4.0, 0.0),
            ]],
            b'V' => &[&[(0.0, 0.0), (2.0, 6.0), (4.0, 0.0)]],
            b'W' => &[&[(0.0, 0.0), (1.0, 6.0), (2.0, 2.4), (3.0, 6.0), (4.0, 0.0)]],
            b'X' => &[&[(0.0, 0.0), (4.0, 6.0)], &[(4.0, 0.0), (0.0, 6.0)]],
            b'Y' => &[
                &[(0.0, 0.0), (2.0, 3.0), (4.0, 0.0)],
                &[(2.0, 3.0), (2.0, 6.0)],
            ],
            b'2' => &[&[
                (0.0, 1.2),
                (1.0, 0.0),
                (3.0, 0.0),
                (4.0, 1.2),
                (4.0, 2.4),
                (0.0, 6.0),
                (4.0, 6.0),
            ]],
            b'3' => &[
                &[
                    (0.0, 0.8),
                    (1.0, 0.0),
                    (3.0, 0.0),
                    (4.0, 1.0),
                    (4.0, 2.0),
                    (3.0, 2.9),
                    (1.6, 2.9),
                ],
                &[
                    (3.0, 2.9),
                    (4.0, 3.9),
                    (4.0, 5.0),
                    (3.0, 6.0),
                    (1.0, 6.0),
                    (0.0, 5.2),
                ],
            ],
            b'4' => &[&[(3.0, 6.0), (3.0, 0.0), (0.0, 4.2), (4.0, 4.2)]],
            b'5' => &[&[
                (4.0, 0.0),
                (0.4, 0.0),
                (0.0, 2.8),
                (2.8, 2.6),
                (4.0, 3.6),
                (4.0, 5.0),
                (3.0, 6.0),
                (1.0, 6.0),
                (0.0, 5.2),
            ]],
            b'6' => &[&[
                (3.6, 0.3),
                (2.5, 0.0),
                (1.2, 0.0),
                (0.0, 1.5),
                (0.0, 4.8),
                (1.0, 6.0),
                (3.0, 6.0),
                (4.0, 5.0),
                (4.0, 3.8),
                (3.0, 2.8),
                (1.0, 2.8),
                (0.0, 3.8),
            ]],
            b'7' => &[&[(0.0, 0.0), (4.0, 0.0), (1.5, 6.0)]],
            b'8' => &[
                &[
                    (2.0, 0.0),
                    (3.4, 0.4),
                    (3.6, 1.6),
                    (2.0, 2.9),
                    (0.4, 1.6),
                    (0.6, 0.4),
                    (2.0, 0.0),
                ],
                &[
                    (2.0, 2.9),
                    (3.8, 4.0),
                    (3.8, 5.2),
                    (2.8, 6.0),
                    (1.2, 6.0),
                    (0.2, 5.2),
                    (0.2, 4.0),
                    (2.0, 2.9),
                ],
            ],
            b'9' => &[&[
                (4.0, 2.2),
                (3.0, 3.2),
                (1.0, 3.2),
                (0.0, 2.2),
                (0.0, 1.0),
                (1.0, 0.0),
                (3.0, 0.0),
                (4.0, 1.0),
                (4.0, 4.6),
                (3.0, 6.0),
                (1.0, 6.0),
                (0.3, 5.4),
            ]],
            _ => &[],
        }
    }
}

/// The rasteriser: strokes as anti-aliased thick polylines over a noisy background, sampled
/// through a random wave.
mod draw {
    use super::{IMAGE_HEIGHT_PX, IMAGE_WIDTH_PX, Jitter, font};
    use core::f32::consts::TAU;

    const WIDTH: usize = IMAGE_WIDTH_PX as usize;
    const HEIGHT: usize = IMAGE_HEIGHT_PX as usize;
    /// Free space left and right of the text, in pixels.
    const MARGIN_PX: f32 = 12.0;
    /// Long noise curves across the whole width.
    const CURVES: usize = 2;
    /// Short straight noise lines.
    const LINES: usize = 4;
    /// Speckle dots: one pixel in this many.
    const SPECKLE_ONE_IN: usize = 22;

    /// One thick polyline in image space, with its shade and bounding box.
    struct Stroke {
        points: Vec<(f32, f32)>,
        half_width_px: f32,
        shade: f32,
        bounds: [f32; 4],
    }

    impl Stroke {
        fn new(points: Vec<(f32, f32)>, half_width_px: f32, shade: f32) -> Stroke {
            let pad = half_width_px + 1.0;
            let mut bounds = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
            for &(x, y) in &points {
                bounds = [
                    bounds[0].min(x - pad),
                    bounds[1].min(y - pad),
                    bounds[2].max(x + pad),
                    bounds[3].max(y + pad),
                ];
            }
            Stroke {
                points,
                half_width_px,
                shade,
                bounds,
            }
        }

        /// How much of the pixel at `(x, y)` the stroke covers, from 0 to 1.
        fn coverage(&self, x: f32, y: f32) -> f32 {
            let [left, top, right, bottom] = self.bounds;
            if x < left || x > right || y < top || y > bottom {
                return 0.0;
            }
            let distance = self
                .points
                .windows(2)
                .map(|pair| segment_distance((x, y), pair[0], pair[1]))
                .fold(f32::MAX, f32::min);
            (self.half_width_px + 0.5 - distance).clamp(0.0, 1.0)
        }
    }

    fn segment_distance(p: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let length_squared = dx * dx + dy * dy;
        let t = if length_squared > 0.0 {
            (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / length_squared).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let (nearest_x, nearest_y) = (a.0 + t * dx, a.1 + t * dy);
        ((p.0 - nearest_x).powi(2) + (p.1 - nearest_y).powi(2)).sqrt()
    }

    /// The strokes of every character, each with its own scale, shear, rotation and place.
    fn text(answer: &[u8], jitter: &mut Jitter) -> Vec<Stroke> {
        let count = answer.len().max(1) as f32;
        let advance_px = (WIDTH as f32 - 2.0 * MARGIN_PX) / count;
        let start_px = MARGIN_PX + jitter.signed(3.0);
        let mut strokes = Vec::new();
        for (index, &c) in answer.iter().enumerate() {
            let centre = (
                start_px + advance_px * (index as f32 + 0.5) + jitter.signed(2.5),
                HEIGHT as f32 / 2.0 + jitter.signed(6.0),
            );
            let scale = (jitter.between(4.0, 4.8), jitter.between(4.4, 5.4));
            let shear = jitter.signed(0.28);
            let (sin, cos) = jitter.signed(0.32).sin_cos();
            let half_width_px = jitter.between(1.3, 1.8);
            let shade = jitter.between(10.0, 60.0);
            for line in font::glyph(c) {
                let points = line
                    .iter()
                    .map(|&(x, y)| {
                        let u = (x - font::WIDTH / 2.0) * scale.0;
                        let v = (y - font::HEIGHT / 2.0) * scale.1;
                        let u = u + shear * v;
                        (centre.0 + u * cos - v * sin, centre.1 + u * sin + v * cos)
                    })
                    .collect();
                strokes.push(Stroke::new(points, half_width_px, shade));
            }
        }
        strokes
    }

    /// Wavy curves across the full width, as dark as the text.
    fn curves(jitter: &mut Jitter) -> Vec<Stroke> {
        (0..CURVES)
            .map(|_| {
                let base = jitter.between(14.0, HEIGHT as f32 - 14.0);
                let amplitude = jitter.between(4.0, 12.0);
                let period = jitter.between(60.0, 170.0);
                let phase = jitter.between(0.0, TAU);
                let points = (0..=WIDTH / 5 + 2)
                    .map(|step| {
                        let x = (step * 5) as f32 - 5.0;
                        (x, base + amplitude * (TAU * x / period + phase).sin())
                    })
                    .collect();
                Stroke::new(
                    points,
                    jitter.between(0.55, 0.85),
                    jitter.between(40.0, 110.0),
                )
            })
            .collect()
    }

    /// Short straight lines anywhere.
    fn lines(jitter: &mut Jitter) -> Vec<Stroke> {
        (0..LINES)
            .map(|_| {
                let from = (
                    jitter.between(0.0, WIDTH as f32),
                    jitter.between(0.0, HEIGHT as f32),
                );
                let angle = jitter.between(0.0, TAU);
                let length = jitter.between(20.0, 60.0);
                let to = (from.0 + length * angle.cos(), from.1 + length * angle.sin());
                Stroke::new(
                    vec![from, to],
                    jitter.between(0.35, 0.6),
                    jitter.between(110.0, 170.0),
                )
            })
            .collect()
    }

    /// The picture as 8-bit grey, row by row.
    pub(super) fn picture(answer: &[u8], jitter: &mut Jitter) -> Vec<u8> {
        let mut strokes = curves(jitter);
        strokes.extend(text(answer, jitter));
        strokes.extend(lines(jitter));
        let wave = [
            jitter.between(1.0, 2.5),
            jitter.between(28.0, 60.0),
            jitter.between(0.0, TAU),
            jitter.between(1.5, 3.0),
            jitter.between(50.0, 110.0),
            jitter.between(0.0, TAU),
        ];
        let shading = [
            jitter.between(0.02, 0.08),
            jitter.between(0.0, TAU),
            jitter.between(0.05, 0.15),
            jitter.between(0.0, TAU),
        ];
        let mut pixels = Vec::with_capacity(WIDTH * HEIGHT);
        for row in 0..HEIGHT {
            for column in 0..WIDTH {
                let (x, y) = (column as f32 + 0.5, row as f32 + 0.5);
                let sample_x = x + wave[0] * (TAU * y / wave[1] + wave[2]).sin();
                let sample_y = y + wave[3] * (TAU * x / wave[4] + wave[5]).sin();
                let mut value = 232.0
                    + 12.0
                        * (x * shading[0] + shading[1]).sin()
                        * (y * shading[2] + shading[3]).cos()
                    + jitter.signed(7.0);
                for stroke in &strokes {
                    let cover = stroke.coverage(sample_x, sample_y);
                    value += (stroke.shade - value) * cover;
                }
                pixels.push(value.clamp(0.0, 255.0) as u8);
            }
        }
        speckle(&mut pixels, jitter);
        pixels
    }

    /// Dark and light dots scattered over everything.
    fn speckle(pixels: &mut [u8], jitter: &mut Jitter) {
        for _ in 0..pixels.len() / SPECKLE_ONE_IN {
            let index = jitter.next_u32() as usize % pixels.len();
            let shade = if jitter.coin() {
                jitter.between(30.0, 120.0)
            } else {
                jitter.between(225.0, 255.0)
            };
            pixels[index] = shade as u8;
        }
    }
}

/// A minimal PNG writer: 8-bit grayscale, no filtering, deflate in stored blocks.
mod png {
    const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    /// The most a stored deflate block holds (its length field is 16 bits).
    const STORED_BLOCK_BYTES_MAX: usize = 65_535;
    /// zlib header: deflate with a 32 KiB window, no preset dictionary, "fastest" level;
    /// `0x7801` is a multiple of 31 as RFC 1950 requires.
    const ZLIB_HEADER: [u8; 2] = [0x78, 0x01];
    const _: () = assert!((ZLIB_HEADER[0] as u32 * 256 + ZLIB_HEADER[1] as u32).is_multiple_of(31));

    /// The PNG of a `width` by `height` grayscale picture given row by row.
    pub(super) fn encode_gray(width: u32, height: u32, pixels: &[u8]) -> Vec<u8> {
        let row_bytes = width as usize;
        debug_assert_eq!(pixels.len(), row_bytes * height as usize);
        let mut scanlines = Vec::with_capacity(pixels.len() + height as usize);
        for row in pixels.chunks(row_bytes.max(1)) {
            scanlines.push(0); // Filter type 0: none.
            scanlines.extend_from_slice(row);
        }
        let mut header = Vec::with_capacity(13);
        header.extend_from_slice(&width.to_be_bytes());
        header.extend_from_slice(&height.to_be_bytes());
        // Bit depth 8, colour type 0 (grey), deflate, adaptive filtering, no interlace.
        header.extend_from_slice(&[8, 0, 0, 0, 0]);
        let mut out = SIGNATURE.to_vec();
        chunk(&mut out, b"IHDR", &header);
        chunk(&mut out, b"IDAT", &zlib_stored(&scanlines));
        chunk(&mut out, b"IEND", &[]);
        out
    }

    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        debug_assert!(u32::try_from(data.len()).is_ok());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc32(&[kind, data]).to_be_bytes());
    }

    /// A zlib stream holding `data` in stored (uncompressed) deflate blocks.
    fn zlib_stored(data: &[u8]) -> Vec<u8> {
        let blocks = data.len().div_ceil(STORED_BLOCK_BYTES_MAX).max(1);
        let mut out = Vec::with_capacity(data.len() + 5 * blocks + 6);
        out.extend_from_slice(&ZLIB_HEADER);
        for index in 0..blocks {
            let start = index * STORED_BLOCK_BYTES_MAX;
            let block = &data[start..data.len().min(start + STORED_BLOCK_BYTES_MAX)];
            let length = block.len() as u16;
            out.push(u8::from(index + 1 == blocks)); // BFINAL on the last; BTYPE 00: stored.
            out.extend_from_slice(&length.to_le_bytes());
            out.extend_from_slice(&(!length).to_le_bytes());
            out.extend_from_slice(block);
        }
        out.extend_from_slice(&adler32(data).to_be_bytes());
        out
    }

    const CRC_TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut n = 0;
        while n < 256 {
            let mut c = n as u32;
            let mut bit = 0;
            while bit < 8 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                bit += 1;
            }
            table[n] = c;
            n += 1;
        }
        table
    };

    /// CRC-32 (ISO 3309, as PNG uses it) over the concatenation of `parts`.
    fn crc32(parts: &[&[u8]]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for byte in parts.iter().flat_map(|part| part.iter()) {
            c = CRC_TABLE[((c ^ u32::from(*byte)) & 0xFF) as usize] ^ (c >> 8);
        }
        c ^ 0xFFFF_FFFF
    }

    /// Adler-32 (RFC 1950).
    fn adler32(data: &[u8]) -> u32 {
        const MODULUS: u32 = 65_521;
        let (mut a, mut b) = (1u32, 0u32);
        for byte in data {
            a = (a + u32::from(*byte)) % MODULUS;
            b = (b + a) % MODULUS;
        }
        (b << 16) | a
    }
}
