//! The server's stable error codes, read from its error catalogue's source.

/// Whether `text` has the shape of a stable error code: `INSPAY-`, an upper-case family, `-`
/// and three digits (`INSPAY-REQ-003`).
pub fn is_error_code(text: &str) -> bool {
    let Some((family, number)) = text
        .strip_prefix("INSPAY-")
        .and_then(|rest| rest.split_once('-'))
    else {
        return false;
    };
    !family.is_empty()
        && family.bytes().all(|b| b.is_ascii_uppercase())
        && number.len() == 3
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// The stable error codes defined in the server's catalogue source: every string literal that
/// is an error code, in order, each once.
pub fn error_codes(source: &str) -> Vec<String> {
    let mut codes: Vec<String> = vec![];
    for (at, _) in source.match_indices("\"INSPAY-") {
        let code = source[at + 1..].split('"').next().unwrap_or_default();
        if is_error_code(code) && !codes.iter().any(|known| known == code) {
            codes.push(code.to_string());
        }
    }
    codes
}
