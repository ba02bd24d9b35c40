//! Sensitive fields encrypted before signing (clauses 5.2.2.1-c, 5.6.2-b), with
//! [`inspay_protocol::fields::seal`]: every JSON string whose key is one of
//! [`inspay_protocol::fields::SENSITIVE_FIELDS`], at any depth, is replaced by an
//! `INSPAY-ENC1.` envelope bound to a one-time field nonce and to its field name.
//!
//! The JSON body is held in a [`SecretJson`], whose strings are wiped when it is dropped.

use inspay_crypto::sm2::Sm2PublicKey;
use inspay_protocol::fields::{self, FieldError};
use serde_json::Value;
use zeroize::{Zeroize, Zeroizing};

use crate::error::Error;

/// A JSON body whose string values are zeroised on drop (best effort: `serde_json` may have
/// made copies while building it).
#[derive(Clone)]
pub(crate) struct SecretJson(pub(crate) Value);

impl Drop for SecretJson {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

impl std::fmt::Debug for SecretJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted JSON>")
    }
}

fn wipe(value: &mut Value) {
    match value {
        Value::String(text) => text.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(wipe),
        Value::Object(map) => map.values_mut().for_each(wipe),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Whether the body holds a sensitive field anywhere (so a field nonce is needed).
pub(crate) fn has_sensitive(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.iter().any(has_sensitive),
        Value::Object(map) => map
            .iter()
            .any(|(name, value)| fields::is_sensitive(name) || has_sensitive(value)),
        _ => false,
    }
}

/// The server's answer to `POST /v1/protocol/field-nonce`.
pub(crate) struct FieldNonce {
    pub(crate) nonce: String,
    pub(crate) serial: u32,
    pub(crate) key: Sm2PublicKey,
}

#[derive(serde::Deserialize)]
struct FieldNonceBody {
    nonce: String,
    key: FieldKeyBody,
}

#[derive(serde::Deserialize)]
struct FieldKeyBody {
    serial: u32,
    public_key_pem: String,
}

impl FieldNonce {
    /// Parses the (verified) answer.
    pub(crate) fn parse(body: &[u8]) -> Result<FieldNonce, Error> {
        let parsed: FieldNonceBody =
            serde_json::from_slice(body).map_err(|error| Error::decode(&error))?;
        let nonce_ok = parsed.nonce.len() == fields::NONCE_CHARS
            && parsed
                .nonce
                .bytes()
                .all(inspay_protocol::authorization::is_token_char);
        if !nonce_ok || parsed.key.serial == 0 {
            return Err(Error::Decode(
                "the field nonce answer has a malformed nonce or key serial".to_string(),
            ));
        }
        let key = Sm2PublicKey::from_spki_pem(&parsed.key.public_key_pem).map_err(|_| {
            Error::Decode("the field nonce answer's key is not an SM2 public key PEM".to_string())
        })?;
        Ok(FieldNonce {
            nonce: parsed.nonce,
            serial: parsed.key.serial,
            key,
        })
    }
}

fn field_error(error: FieldError) -> Error {
    Error::Encryption(match error {
        FieldError::Value => "a sensitive field's value is longer than the protocol allows",
        FieldError::Encrypt => "a sensitive field could not be encrypted (no randomness)",
        FieldError::Shape | FieldError::Decrypt | FieldError::Binding => {
            "a sensitive field could not be encrypted"
        }
    })
}

/// Replaces every sensitive string in `value` by its envelope. A sensitive field whose value
/// is neither a string nor `null` is refused: it would otherwise travel in clear.
pub(crate) fn seal_all(value: &mut Value, nonce: &FieldNonce) -> Result<(), Error> {
    match value {
        Value::Array(items) => items.iter_mut().try_for_each(|item| seal_all(item, nonce)),
        Value::Object(map) => {
            for (name, field) in map.iter_mut() {
                if !fields::is_sensitive(name) {
                    seal_all(field, nonce)?;
                    continue;
                }
                match field {
                    Value::Null => {}
                    Value::String(text) => {
                        let sealed =
                            fields::seal(&nonce.key, nonce.serial, &nonce.nonce, name, text)
                                .map_err(field_error)?;
                        drop(Zeroizing::new(std::mem::replace(text, sealed)));
                    }
                    _ => {
                        return Err(Error::Encryption(
                            "a sensitive field must be a JSON string (or null)",
                        ));
                    }
                }
            }
            Ok(())
        }
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inspay_crypto::sm2::Sm2PrivateKey;
    use serde_json::json;

    const NONCE: &str = "abcdefghijklmnopqrstuvwxyz012345";

    /// req: 5.2.2.1-c
    /// Every sensitive field, at any depth, leaves the SDK as an envelope bound to the field
    /// nonce and its own name, which the server's key opens; other fields are untouched.
    #[test]
    fn sensitive_fields_are_sealed_at_any_depth_and_bound_to_their_names() {
        let server = Sm2PrivateKey::generate().expect("key");
        let nonce = FieldNonce {
            nonce: NONCE.to_string(),
            serial: 7,
            key: server.public_key().clone(),
        };
        let mut body = json!({
            "mobile": "13812345678",
            "legal_name": "张三",
            "card": {"card_number": "6222021234567890128", "cvv": "123", "expiry": null},
            "people": [{"id_number": "11010519491231002X"}],
        });
        assert!(has_sensitive(&body));
        seal_all(&mut body, &nonce).expect("seal");
        let text = body.to_string();
        for secret in [
            "13812345678",
            "6222021234567890128",
            "\"123\"",
            "1101051949",
        ] {
            assert!(!text.contains(secret), "{secret} left in clear");
        }
        assert_eq!(body["legal_name"], "张三");
        assert_eq!(body["card"]["expiry"], Value::Null);
        for (name, envelope, plain) in [
            ("mobile", &body["mobile"], "13812345678"),
            (
                "card_number",
                &body["card"]["card_number"],
                "6222021234567890128",
            ),
            ("cvv", &body["card"]["cvv"], "123"),
            (
                "id_number",
                &body["people"][0]["id_number"],
                "11010519491231002X",
            ),
        ] {
            let envelope = envelope.as_str().expect("a string");
            assert!(envelope.starts_with("INSPAY-ENC1.7."), "{envelope}");
            let opened = fields::open(&server, name, envelope).expect("opens");
            assert_eq!(opened.nonce, NONCE);
            assert_eq!(opened.value.as_str(), plain);
            assert!(fields::open(&server, "password", envelope).is_err());
        }
        assert!(!has_sensitive(
            &json!({"legal_name": "张三", "list": [1, 2]})
        ));
    }

    /// req: 5.2.2.1-c
    #[test]
    fn a_sensitive_field_that_is_not_a_string_is_refused_not_sent_in_clear() {
        let server = Sm2PrivateKey::generate().expect("key");
        let nonce = FieldNonce {
            nonce: NONCE.to_string(),
            serial: 1,
            key: server.public_key().clone(),
        };
        let mut body = json!({"card_number": 6222021234567890128_u64});
        assert!(matches!(
            seal_all(&mut body, &nonce),
            Err(Error::Encryption(_))
        ));
    }

    #[test]
    fn field_nonce_answers_are_checked() {
        let key = Sm2PrivateKey::generate().expect("key");
        let pem = key.public_key().to_spki_pem();
        let good =
            json!({"nonce": NONCE, "expires_at": 1, "key": {"serial": 2, "public_key_pem": pem}});
        let parsed = FieldNonce::parse(good.to_string().as_bytes()).expect("parses");
        assert_eq!(parsed.serial, 2);
        assert_eq!(&parsed.key, key.public_key());
        let short =
            json!({"nonce": "short", "expires_at": 1, "key": {"serial": 2, "public_key_pem": pem}});
        assert!(FieldNonce::parse(short.to_string().as_bytes()).is_err());
        let bad_pem =
            json!({"nonce": NONCE, "expires_at": 1, "key": {"serial": 2, "public_key_pem": "x"}});
        assert!(FieldNonce::parse(bad_pem.to_string().as_bytes()).is_err());
    }

    #[test]
    fn secret_json_debug_is_redacted() {
        let body = SecretJson(json!({"mobile": "13812345678"}));
        assert!(!format!("{body:?}").contains("138"));
    }
}
