//! Graphic CAPTCHAs: the answer, the image and its PNG encoding, checked from the outside with
//! an independent PNG reader.

use inspay_identity::captcha::{
    ALPHABET, ANSWER_CHARS, CAPTCHA_TTL_S, CaptchaAnswer, IMAGE_HEIGHT_PX, IMAGE_WIDTH_PX,
    generate, render_png,
};
use inspay_identity::sign_in_flow::Factor;

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// CRC-32 as PNG defines it, bit by bit (deliberately not the table the encoder uses).
fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &byte in data {
        c ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (c & 1).wrapping_neg();
            c = (c >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !c
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

fn be_u32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes(bytes[..4].try_into().expect("four bytes"))
}

/// Splits a PNG into its chunks, checking the signature, every length and every CRC.
fn chunks(png: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
    assert_eq!(png[..8], PNG_SIGNATURE, "PNG signature");
    let mut out = Vec::new();
    let mut at = 8;
    while at < png.len() {
        assert!(at + 12 <= png.len(), "truncated chunk header");
        let length = be_u32(&png[at..]) as usize;
        let kind: [u8; 4] = png[at + 4..at + 8].try_into().expect("kind");
        let end = at + 8 + length;
        assert!(end + 4 <= png.len(), "truncated chunk");
        let stored_crc = be_u32(&png[end..]);
        assert_eq!(
            crc32(&png[at + 4..end]),
            stored_crc,
            "CRC of chunk {}",
            String::from_utf8_lossy(&kind)
        );
        out.push((kind, png[at + 8..end].to_vec()));
        at = end + 4;
    }
    assert_eq!(at, png.len(), "no trailing bytes");
    out
}

/// Inflates a zlib stream made of stored deflate blocks, checking header, block lengths and
/// the Adler-32 trailer. Any compressed block type fails the test.
fn inflate_stored(zlib: &[u8]) -> Vec<u8> {
    assert_eq!(zlib[0] & 0x0F, 8, "deflate method");
    assert_eq!(
        (u16::from(zlib[0]) * 256 + u16::from(zlib[1])) % 31,
        0,
        "zlib header check bits"
    );
    assert_eq!(zlib[1] & 0x20, 0, "no preset dictionary");
    let mut at = 2;
    let mut out = Vec::new();
    loop {
        let header = zlib[at];
        assert_eq!(header >> 1 & 0b11, 0, "stored block");
        let length = u16::from_le_bytes([zlib[at + 1], zlib[at + 2]]);
        let complement = u16::from_le_bytes([zlib[at + 3], zlib[at + 4]]);
        assert_eq!(length, !complement, "LEN and NLEN agree");
        let start = at + 5;
        out.extend_from_slice(&zlib[start..start + usize::from(length)]);
        at = start + usize::from(length);
        if header & 1 == 1 {
            break;
        }
    }
    assert_eq!(zlib.len(), at + 4, "only the Adler-32 trailer follows");
    assert_eq!(be_u32(&zlib[at..]), adler32(&out), "Adler-32");
    out
}

/// The decoded pixels of a CAPTCHA PNG, after checking every structural rule on the way.
fn decode(png: &[u8]) -> Vec<Vec<u8>> {
    let chunks = chunks(png);
    let kinds: Vec<&[u8; 4]> = chunks.iter().map(|(kind, _)| kind).collect();
    assert_eq!(
        kinds,
        [b"IHDR", b"IDAT", b"IEND"],
        "only the three needed chunks"
    );
    let header = &chunks[0].1;
    assert_eq!(header.len(), 13);
    assert_eq!(be_u32(&header[0..]), IMAGE_WIDTH_PX);
    assert_eq!(be_u32(&header[4..]), IMAGE_HEIGHT_PX);
    assert_eq!(header[8..], [8, 0, 0, 0, 0], "8-bit grey, no interlace");
    assert!(chunks[2].1.is_empty(), "IEND is empty");
    let raw = inflate_stored(&chunks[1].1);
    let (width, height) = (IMAGE_WIDTH_PX as usize, IMAGE_HEIGHT_PX as usize);
    assert_eq!(
        raw.len(),
        height * (width + 1),
        "IDAT inflates to the image"
    );
    raw.chunks(width + 1)
        .map(|line| {
            assert_eq!(line[0], 0, "filter type none");
            line[1..].to_vec()
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// The test's own CRC-32 matches the published check value, so the chunk checks above mean
/// something: CRC-32("123456789") = CBF43926, and every PNG's IEND CRC is AE426082.
#[test]
fn reference_crc_matches_known_answers() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
}

/// A CAPTCHA image is a well-formed PNG made by the server: signature, IHDR of 160 by 60
/// 8-bit grey, valid CRC on every chunk, IDAT that inflates to exactly one filter byte plus
/// one row of pixels per line, and no text chunk that could carry the answer.
/// req: 5.2.1.1-e
#[test]
fn image_is_a_well_formed_png() {
    let captcha = generate().expect("captcha");
    let rows = decode(&captcha.png);
    assert_eq!(rows.len(), IMAGE_HEIGHT_PX as usize);
    // It is a picture, not a blank: dark ink and light background are both present.
    let all: Vec<u8> = rows.concat();
    let dark = all.iter().filter(|&&value| value < 110).count();
    let light = all.iter().filter(|&&value| value > 200).count();
    assert!(dark > all.len() / 20, "ink: {dark} dark pixels");
    assert!(light > all.len() / 2, "background: {light} light pixels");
}

/// Answers are five characters from the unambiguous alphabet (no 0/O, 1/I/L), and they vary
/// from one CAPTCHA to the next; every alphabet character turns up over many draws.
/// req: 5.2.1.1-e
#[test]
fn answers_are_random_over_the_unambiguous_alphabet() {
    for ambiguous in *b"0O1IL" {
        assert!(!ALPHABET.contains(&ambiguous), "{}", char::from(ambiguous));
    }
    let mut answers = std::collections::HashSet::new();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..400 {
        let answer = CaptchaAnswer::generate().expect("answer");
        assert_eq!(answer.expose().len(), ANSWER_CHARS);
        assert!(answer.expose().bytes().all(|b| ALPHABET.contains(&b)));
        seen.extend(answer.expose().bytes());
        answers.insert(answer.expose().to_string());
    }
    assert!(answers.len() >= 395, "answers repeat: {}", answers.len());
    assert_eq!(seen.len(), ALPHABET.len(), "every character is drawn");
    let captchas: std::collections::HashSet<String> = (0..20)
        .map(|_| generate().expect("captcha").answer.expose().to_string())
        .collect();
    assert!(captchas.len() >= 19);
}

/// The answer is in the pixels only: its text is not in the PNG bytes, in upper or lower
/// case, over many CAPTCHAs.
/// req: 5.2.1.1-e
#[test]
fn answer_text_is_not_in_the_png_bytes() {
    for _ in 0..50 {
        let captcha = generate().expect("captcha");
        let answer = captcha.answer.expose().as_bytes();
        assert!(!contains(&captcha.png, answer));
        assert!(!contains(&captcha.png, &answer.to_ascii_lowercase()));
    }
}

/// Two images of one answer differ (fresh distortions each time), and differ a lot, so an
/// image cannot be recognised from an earlier one; characters are not on a fixed grid.
/// req: 5.2.1.1-e
#[test]
fn two_images_of_one_answer_differ() {
    let answer = CaptchaAnswer::parse("7K4XW").expect("answer");
    let first = decode(&render_png(&answer).expect("png")).concat();
    let second = decode(&render_png(&answer).expect("png")).concat();
    assert_ne!(first, second);
    let different = first
        .iter()
        .zip(&second)
        .filter(|(a, b)| a.abs_diff(**b) > 60)
        .count();
    assert!(
        different > first.len() / 20,
        "only {different} pixels differ"
    );
}

/// Neither the answer nor a CAPTCHA shows the answer in Debug output, and an error from a
/// bad answer does not repeat what was typed.
/// req: 5.2.1.1-e
#[test]
fn debug_and_errors_never_show_the_answer() {
    let captcha = generate().expect("captcha");
    let answer = captcha.answer.expose().to_string();
    for shown in [
        format!("{:?}", captcha.answer),
        format!("{captcha:?}"),
        format!("{captcha:#?}"),
    ] {
        assert!(!shown.contains(&answer), "{shown}");
        assert!(!shown.contains(&answer.to_lowercase()), "{shown}");
        assert!(shown.contains("REDACTED"), "{shown}");
    }
    let error = CaptchaAnswer::parse("7K4XQ").expect_err("Q is not in the alphabet");
    assert!(!format!("{error} {error:?}").contains("7K4X"));
}

/// Typed answers are normalised (case, spaces anywhere) and anything else is refused: wrong
/// length, characters outside the alphabet (including the ambiguous ones), oversized input.
/// req: 5.2.1.1-e
#[test]
fn typed_answers_are_normalised_or_refused() {
    let parsed = CaptchaAnswer::parse(" 7k 4x\tw\n").expect("normalised");
    assert_eq!(parsed.expose(), "7K4XW");
    for refused in [
        "", "7K4X", "7K4XWA", "7K4X0", "7K4XO", "7K4X1", "7K4XI", "7K4XL", "7K4X-", "7K4XＷ",
        "7K4Xé",
    ] {
        assert!(CaptchaAnswer::parse(refused).is_err(), "{refused:?}");
    }
    let padded = format!("7K4XW{}", " ".repeat(60));
    assert!(CaptchaAnswer::parse(&padded).is_err(), "oversized input");
}

/// The TTL is the catalogue's 120 s.
/// req: 5.2.1.1-e
#[test]
fn ttl_is_120_seconds() {
    assert_eq!(CAPTCHA_TTL_S, 120);
}

/// A CAPTCHA is not an authentication factor: no sign-in factor is or parses as one.
/// req: 5.2.1.1-f
#[test]
fn captcha_is_not_a_sign_in_factor() {
    assert!(Factor::parse("captcha").is_none());
    for factor in Factor::ALL {
        assert!(!factor.name().contains("captcha"), "{factor:?}");
    }
}
