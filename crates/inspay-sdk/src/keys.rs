//! The server's response-signing public keys, as published at `GET /v1/protocol/keys`.

use inspay_crypto::sm2::Sm2PublicKey;

use crate::error::Error;

/// The path of the server's public-key document.
pub const KEYS_PATH: &str = "/v1/protocol/keys";

/// One of the server's response-signing public keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerKey {
    /// Its serial, as answers name it in `X-Inspay-Serial`.
    pub serial: u32,
    /// `active` (signs now) or `decrypt-only` (may still verify recent answers).
    pub state: String,
    /// The public key.
    pub public_key: Sm2PublicKey,
    /// `sm3:` and the SM3 of the key's SPKI DER, checked against the key: compare it with the
    /// fingerprint the operator gives you out of band.
    pub fingerprint: String,
}

/// The server's response-signing keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerKeys {
    /// The serial that signs answers now.
    pub active_serial: Option<u32>,
    /// The keys that may still verify answers, newest first.
    pub keys: Vec<ServerKey>,
}

impl ServerKeys {
    /// The key with this serial.
    pub fn get(&self, serial: u32) -> Option<&ServerKey> {
        self.keys.iter().find(|key| key.serial == serial)
    }
}

#[derive(serde::Deserialize)]
struct Document {
    response_signing: SigningKeys,
}

#[derive(serde::Deserialize)]
struct SigningKeys {
    active_serial: Option<u32>,
    keys: Vec<KeyEntry>,
}

#[derive(serde::Deserialize)]
struct KeyEntry {
    serial: u32,
    state: String,
    algorithm: String,
    public_key_pem: String,
    fingerprint: String,
}

/// The only algorithm the document may name.
const ALGORITHM: &str = "SM2-with-SM3";

/// Parses the key document, checking each key's algorithm and fingerprint.
pub(crate) fn parse_document(body: &[u8]) -> Result<ServerKeys, Error> {
    let document: Document = serde_json::from_slice(body).map_err(|error| Error::decode(&error))?;
    let mut keys = Vec::with_capacity(document.response_signing.keys.len());
    for entry in document.response_signing.keys {
        if entry.algorithm != ALGORITHM || entry.serial == 0 {
            return Err(Error::Decode(format!(
                "the key document names serial {} with an algorithm other than {ALGORITHM}",
                entry.serial
            )));
        }
        let public_key = Sm2PublicKey::from_spki_pem(&entry.public_key_pem).map_err(|_| {
            Error::Decode(format!(
                "key serial {} is not an SM2 public key PEM",
                entry.serial
            ))
        })?;
        let fingerprint = format!("sm3:{}", public_key.fingerprint());
        if fingerprint != entry.fingerprint {
            return Err(Error::Decode(format!(
                "key serial {}'s fingerprint does not match its key",
                entry.serial
            )));
        }
        keys.push(ServerKey {
            serial: entry.serial,
            state: entry.state,
            public_key,
            fingerprint,
        });
    }
    Ok(ServerKeys {
        active_serial: document.response_signing.active_serial,
        keys,
    })
}
