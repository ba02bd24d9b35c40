//! Client-encrypted sensitive fields, opened at the edge (clauses 5.2.2.1-c/d, 5.6.2-b,
//! 5.6.1-a2).
//!
//! After the request's signature is verified (it covers the envelopes), the JSON body is
//! walked: every `INSPAY-ENC1.` envelope is decrypted with the field-transport key its serial
//! names, checked to be bound to the field it sits under and to the request's one-time field
//! nonce, and replaced by its value; the nonce is consumed once, in the same commit as the
//! request's own nonce ([`inspay_store::protocol_writes::Admission`]), before the route runs. A sensitive field sent in
//! clear is refused when encryption is required. The rebuilt body lives in a zeroising buffer
//! the handler parses from (into `Zeroizing` fields), and every decrypted copy is wiped when
//! the request is done.

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use axum::body::Bytes;
use inspay_protocol::fields::{self, FieldError};
use inspay_store::field_nonces::FieldNonceRefusal;
use serde_json::Value;
use zeroize::{Zeroize, Zeroizing};

/// Whether sensitive fields must arrive encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldEncryptionMode {
    /// A sensitive field in clear is refused (the default; production requires it).
    Required,
    /// Clear values are accepted (development only); envelopes are still opened.
    Optional,
}

/// Deepest JSON nesting walked.
const DEPTH_MAX: usize = 16;

struct Walk<'a> {
    state: &'a AppState,
    nonce: Option<String>,
    clear_sensitive: bool,
    opened: usize,
}

fn refused(error: FieldError) -> ApiError {
    ApiError::new(ErrorCode::FieldUndecryptable).detail(error.to_string())
}

impl Walk<'_> {
    fn value(
        &mut self,
        key: Option<&str>,
        value: &mut Value,
        depth: usize,
    ) -> Result<(), ApiError> {
        if depth > DEPTH_MAX {
            return Err(ApiError::new(ErrorCode::MalformedJson).detail("nested too deeply"));
        }
        match value {
            Value::Object(map) => {
                for (name, inner) in map.iter_mut() {
                    self.value(Some(name), inner, depth + 1)?;
                }
            }
            Value::Array(items) => {
                for inner in items {
                    self.value(key, inner, depth + 1)?;
                }
            }
            Value::String(text) if fields::is_envelope(text) => {
                let Some(field) = key else {
                    return Err(refused(FieldError::Binding));
                };
                let (serial, ciphertext) = fields::parse(text).map_err(refused)?;
                let plaintext = self
                    .state
                    .keyring()
                    .transport_decrypt(serial, &ciphertext)
                    .map_err(|_| refused(FieldError::Decrypt))?;
                let opened = fields::open_plaintext(&plaintext, field).map_err(refused)?;
                match &self.nonce {
                    None => self.nonce = Some(opened.nonce.clone()),
                    Some(nonce) if *nonce == opened.nonce => {}
                    Some(_) => {
                        return Err(ApiError::new(ErrorCode::FieldNonceInvalid).detail(
                            "every encrypted field of a request must use the same field nonce",
                        ));
                    }
                }
                text.zeroize();
                *text = opened.value.as_str().to_string();
                self.opened += 1;
            }
            Value::String(_) if key.is_some_and(fields::is_sensitive) => {
                self.clear_sensitive = true;
            }
            _ => {}
        }
        Ok(())
    }
}

/// Wipes every string in a JSON value.
fn wipe(value: &mut Value) {
    match value {
        Value::String(text) => text.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(wipe),
        Value::Object(map) => map.values_mut().for_each(wipe),
        _ => {}
    }
}

/// Opens the encrypted fields of a verified request body. Returns the body the handler gets
/// (the same bytes when nothing was encrypted and nothing sensitive was in clear) and the field
/// nonce the opened fields were bound to, which the caller consumes before the route runs.
pub fn open_fields(state: &AppState, body: Bytes) -> Result<(Bytes, Option<String>), ApiError> {
    let required = state.settings.protocol.field_encryption == FieldEncryptionMode::Required;
    let looks_like_json = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if !looks_like_json {
        return Ok((body, None));
    }
    // Nothing to open or refuse: no envelope and no sensitive field name anywhere in the body,
    // and no escape sequence that could spell a name another way (`"\u006dobile"`).
    let mentions = |needle: &[u8]| body.windows(needle.len()).any(|window| window == needle);
    let sensitive_named = fields::SENSITIVE_FIELDS
        .iter()
        .any(|name| mentions(format!("\"{name}\"").as_bytes()));
    if !sensitive_named && !mentions(fields::PREFIX.as_bytes()) && !body.contains(&b'\\') {
        return Ok((body, None));
    }
    // Not JSON for this parser: the handler's extractor answers with its usual error.
    let Ok(mut value) = serde_json::from_slice::<Value>(&body) else {
        return Ok((body, None));
    };
    let mut walk = Walk {
        state,
        nonce: None,
        clear_sensitive: false,
        opened: 0,
    };
    let outcome = walk.value(None, &mut value, 0);
    let refusal = match outcome {
        Err(error) => Some(error),
        Ok(()) if walk.clear_sensitive && required => Some(
            ApiError::new(ErrorCode::FieldNotEncrypted).detail(format!(
                "encrypt {} with the server's field-transport key and a nonce from POST /v1/protocol/field-nonce",
                fields::SENSITIVE_FIELDS.join(", ")
            )),
        ),
        Ok(()) => None,
    };
    if let Some(error) = refusal {
        wipe(&mut value);
        return Err(error);
    }
    if walk.opened == 0 {
        wipe(&mut value);
        return Ok((body, None));
    }
    // Values are shorter than their envelopes: the buffer never grows, so no copy of a value is
    // left behind in a freed allocation.
    let mut rebuilt = Zeroizing::new(Vec::with_capacity(body.len()));
    let written = serde_json::to_writer(&mut *rebuilt, &value).map_err(|error| {
        ApiError::new(ErrorCode::Internal).cause(format!("re-encoding the body: {error}"))
    });
    wipe(&mut value);
    written?;
    Ok((Bytes::from_owner(rebuilt), walk.nonce))
}

/// The answer to a request whose field nonce was not accepted.
pub fn field_nonce_refused(refusal: FieldNonceRefusal) -> ApiError {
    ApiError::new(ErrorCode::FieldNonceInvalid).detail(match refusal {
        FieldNonceRefusal::Unknown => "the field nonce was not issued to this application",
        FieldNonceRefusal::Expired => "the field nonce expired: get a new one",
        FieldNonceRefusal::Used => "the field nonce was already used: get a new one",
    })
}
