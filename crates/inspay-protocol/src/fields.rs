//! Sensitive fields encrypted by the client (clauses 5.2.2.1-c/d, 5.6.2-b): card number, CVV,
//! expiry, ID number, mobile number, login and transaction passwords never travel in clear
//! inside the request body, even inside TLS.
//!
//! The client first asks the server for a one-time field nonce (`POST /v1/protocol/field-nonce`,
//! valid 300 s, used by one request), then replaces each sensitive JSON string value with an
//! envelope:
//!
//! ```text
//! INSPAY-ENC1.<serial>.<base64url-no-pad(SM2 ciphertext C1||C3||C2)>
//! ```
//!
//! where `serial` names the server's field-transport key and the plaintext is
//!
//! ```text
//! <field nonce> \n <JSON field name> \n <value>
//! ```
//!
//! Binding the field name stops an attacker who sees two envelopes from swapping them (a
//! mobile number sent as a password); binding the nonce makes an envelope single-use and
//! short-lived. The request is then signed over the body with the envelopes in it, so the
//! signature covers the ciphertext.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use inspay_crypto::sm2::{Sm2PrivateKey, Sm2PublicKey};
use zeroize::Zeroizing;

/// The envelope prefix.
pub const PREFIX: &str = "INSPAY-ENC1.";
/// The JSON field names whose values must arrive encrypted.
/// (`login_name` is a customer's mobile number; `current` and `new` are the secret-change
/// fields of the password, transaction-password and gesture routes; `account_number` is a
/// bank account for claim payouts.)
pub const SENSITIVE_FIELDS: &[&str] = &[
    "card_number",
    "account_number",
    "cvv",
    "expiry",
    "id_number",
    "mobile",
    "new_mobile",
    "login_name",
    "password",
    "new_password",
    "current_password",
    "transaction_password",
    "gesture",
    "current",
    "new",
];
/// Field nonce length, characters.
pub const NONCE_CHARS: usize = 32;
/// Longest value an envelope may carry, bytes.
pub const VALUE_BYTES_MAX: usize = 256;
/// Longest envelope accepted, characters.
pub const ENVELOPE_CHARS_MAX: usize = 1_024;

/// Why an envelope is refused. Messages never hold the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// Not `INSPAY-ENC1.<serial>.<base64url>`.
    #[error("an encrypted field is not INSPAY-ENC1.<serial>.<base64url>")]
    Shape,
    /// The ciphertext does not decrypt with the key the serial names.
    #[error("an encrypted field does not decrypt with the server key it names")]
    Decrypt,
    /// The plaintext is not `nonce\nfield\nvalue`, or names another field.
    #[error("an encrypted field is bound to another field name or is malformed inside")]
    Binding,
    /// The value is longer than [`VALUE_BYTES_MAX`] or not UTF-8.
    #[error("an encrypted field's value is too long or not UTF-8")]
    Value,
    /// Encryption failed (no randomness).
    #[error("encryption failed")]
    Encrypt,
}

/// Whether a JSON field name must arrive encrypted.
pub fn is_sensitive(name: &str) -> bool {
    SENSITIVE_FIELDS.contains(&name)
}

/// Whether a string is an envelope (by its prefix).
pub fn is_envelope(value: &str) -> bool {
    value.starts_with(PREFIX)
}

/// Encrypts one field value for the server (client side).
pub fn seal(
    server_key: &Sm2PublicKey,
    serial: u32,
    nonce: &str,
    field: &str,
    value: &str,
) -> Result<String, FieldError> {
    if value.len() > VALUE_BYTES_MAX {
        return Err(FieldError::Value);
    }
    let plaintext = Zeroizing::new(format!("{nonce}\n{field}\n{value}"));
    let ciphertext = server_key
        .encrypt(plaintext.as_bytes())
        .map_err(|_| FieldError::Encrypt)?;
    Ok(format!(
        "{PREFIX}{serial}.{}",
        URL_SAFE_NO_PAD.encode(ciphertext)
    ))
}

/// The key serial an envelope names.
pub fn serial_of(envelope: &str) -> Result<u32, FieldError> {
    let rest = envelope.strip_prefix(PREFIX).ok_or(FieldError::Shape)?;
    let (serial, _) = rest.split_once('.').ok_or(FieldError::Shape)?;
    if serial.is_empty() || serial.len() > 9 || !serial.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::Shape);
    }
    serial.parse().map_err(|_| FieldError::Shape)
}

/// An opened envelope: the nonce it was bound to and the value (zeroised on drop).
pub struct Opened {
    /// The field nonce.
    pub nonce: String,
    /// The value.
    pub value: Zeroizing<String>,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("nonce", &self.nonce)
            .field("value", &"<redacted>")
            .finish()
    }
}

/// Splits an envelope into the key serial it names and the SM2 ciphertext.
pub fn parse(envelope: &str) -> Result<(u32, Vec<u8>), FieldError> {
    if envelope.len() > ENVELOPE_CHARS_MAX {
        return Err(FieldError::Shape);
    }
    let serial = serial_of(envelope)?;
    let encoded = envelope
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('.'))
        .map(|(_, encoded)| encoded)
        .ok_or(FieldError::Shape)?;
    let ciphertext = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| FieldError::Shape)?;
    Ok((serial, ciphertext))
}

/// Decrypts an envelope found under the JSON field `field` with the private key (tests and
/// tools; the server decrypts through its keyring and [`open_plaintext`]).
pub fn open(key: &Sm2PrivateKey, field: &str, envelope: &str) -> Result<Opened, FieldError> {
    let (_, ciphertext) = parse(envelope)?;
    let plaintext = key.decrypt(&ciphertext).map_err(|_| FieldError::Decrypt)?;
    open_plaintext(&plaintext, field)
}

/// Checks a decrypted envelope's binding to `field` and takes it apart.
pub fn open_plaintext(plaintext: &[u8], field: &str) -> Result<Opened, FieldError> {
    let text = std::str::from_utf8(plaintext).map_err(|_| FieldError::Value)?;
    let mut parts = text.splitn(3, '\n');
    let (Some(nonce), Some(bound), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(FieldError::Binding);
    };
    if bound != field
        || nonce.len() != NONCE_CHARS
        || !nonce.bytes().all(crate::authorization::is_token_char)
    {
        return Err(FieldError::Binding);
    }
    if value.len() > VALUE_BYTES_MAX {
        return Err(FieldError::Value);
    }
    Ok(Opened {
        nonce: nonce.to_string(),
        value: Zeroizing::new(value.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONCE: &str = "abcdefghijklmnopqrstuvwxyz012345";

    #[test]
    fn a_sealed_field_opens_only_under_its_own_name() {
        let key = Sm2PrivateKey::generate().expect("key");
        let envelope = seal(
            key.public_key(),
            3,
            NONCE,
            "card_number",
            "6222021234567890128",
        )
        .expect("seal");
        assert!(envelope.starts_with("INSPAY-ENC1.3."));
        assert!(!envelope.contains("6222021234567890128"));
        assert_eq!(serial_of(&envelope), Ok(3));
        let opened = open(&key, "card_number", &envelope).expect("open");
        assert_eq!(opened.nonce, NONCE);
        assert_eq!(opened.value.as_str(), "6222021234567890128");
        assert!(!format!("{opened:?}").contains("6222"));
        assert_eq!(
            open(&key, "password", &envelope).map(|_| ()),
            Err(FieldError::Binding)
        );
        let other = Sm2PrivateKey::generate().expect("key");
        assert_eq!(
            open(&other, "card_number", &envelope).map(|_| ()),
            Err(FieldError::Decrypt)
        );
        let mut flipped = envelope.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).expect("ascii");
        assert!(open(&key, "card_number", &flipped).is_err());
        for bad in [
            "",
            "INSPAY-ENC1.",
            "INSPAY-ENC1.x.AAAA",
            "INSPAY-ENC1.1.!!!",
            "plain",
        ] {
            assert!(open(&key, "card_number", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn values_with_newlines_survive_and_long_values_are_refused() {
        let key = Sm2PrivateKey::generate().expect("key");
        let envelope = seal(key.public_key(), 1, NONCE, "password", "a\nb").expect("seal");
        assert_eq!(
            open(&key, "password", &envelope)
                .expect("open")
                .value
                .as_str(),
            "a\nb"
        );
        assert_eq!(
            seal(key.public_key(), 1, NONCE, "password", &"x".repeat(300)).map(|_| ()),
            Err(FieldError::Value)
        );
    }
}
