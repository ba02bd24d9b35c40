//! Challenges: the signed message, and the judgement of an answer against its stored
//! challenge.

use super::{CONTEXT_BYTES_MAX, SIGNATURE_DER_BYTES_MAX};
use crate::StoreError;
use inspay_crypto::sm2::{Sm2PublicKey, Sm2Signature};
use sqlx::{AnyConnection, Row};

/// The first line of every challenge message.
const MESSAGE_DOMAIN: &str = "inspay-key-challenge:v1";

/// Why an answer was refused, for the audit log only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    UnknownChallenge,
    Replayed,
    Expired,
    WrongPurpose,
    WrongBinding,
    KeyRevoked,
    CertificateNotValid,
    AccountNotActive,
    MalformedSignature,
    BadSignature,
}

impl Refusal {
    pub(super) fn name(self) -> &'static str {
        match self {
            Refusal::UnknownChallenge => "unknown-challenge",
            Refusal::Replayed => "replayed",
            Refusal::Expired => "expired",
            Refusal::WrongPurpose => "wrong-purpose",
            Refusal::WrongBinding => "wrong-binding",
            Refusal::KeyRevoked => "key-revoked",
            Refusal::CertificateNotValid => "certificate-not-valid",
            Refusal::AccountNotActive => "account-not-active",
            Refusal::MalformedSignature => "malformed-signature",
            Refusal::BadSignature => "bad-signature",
        }
    }
}

/// The bytes a client signs; see the module documentation.
pub(super) fn challenge_message(
    challenge_id: &str,
    purpose: &str,
    binding: &str,
    account_id: &str,
    key_id: &str,
    nonce_hex: &str,
) -> Vec<u8> {
    [
        MESSAGE_DOMAIN,
        challenge_id,
        purpose,
        binding,
        account_id,
        key_id,
        nonce_hex,
    ]
    .join("\n")
    .into_bytes()
}

/// A purpose or binding: 1 to [`CONTEXT_BYTES_MAX`] printable ASCII characters, so that the
/// newline-separated challenge message has exactly one reading.
pub(super) fn check_context(purpose: &str, binding: &str) -> Result<(), StoreError> {
    let ok = |text: &str| {
        (1..=CONTEXT_BYTES_MAX).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic())
    };
    if ok(purpose) && ok(binding) {
        Ok(())
    } else {
        Err(StoreError::Refused(
            "a challenge purpose and binding must be 1 to 128 printable ASCII characters",
        ))
    }
}

/// A challenge with its key and account, as an answer needs them.
#[derive(Debug)]
pub(super) struct ChallengeRow {
    pub(super) key_id: String,
    pub(super) account_id: String,
    pub(super) purpose: String,
    pub(super) binding: String,
    pub(super) nonce: String,
    pub(super) expires_at_ms: i64,
    pub(super) kind: String,
    pub(super) public_key: String,
    pub(super) fingerprint: String,
    pub(super) revoked_at_ms: Option<i64>,
    pub(super) not_before_ms: Option<i64>,
    pub(super) not_after_ms: Option<i64>,
    pub(super) account_status: String,
}

pub(super) async fn challenge_row(
    connection: &mut AnyConnection,
    challenge_id: &str,
) -> Result<Option<ChallengeRow>, StoreError> {
    let row = sqlx::query(
        "SELECT c.key_id, c.account_id, c.purpose, c.binding, c.nonce, c.expires_at_ms,
            k.kind, k.public_key, k.fingerprint, k.revoked_at_ms, k.not_before_ms, k.not_after_ms,
            a.status
         FROM key_challenges c
         JOIN credential_keys k ON k.id = c.key_id
         JOIN accounts a ON a.id = c.account_id
         WHERE c.id = $1",
    )
    .bind(challenge_id)
    .fetch_optional(connection)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(ChallengeRow {
        key_id: row.try_get(0)?,
        account_id: row.try_get(1)?,
        purpose: row.try_get(2)?,
        binding: row.try_get(3)?,
        nonce: row.try_get(4)?,
        expires_at_ms: row.try_get(5)?,
        kind: row.try_get(6)?,
        public_key: row.try_get(7)?,
        fingerprint: row.try_get(8)?,
        revoked_at_ms: row.try_get(9)?,
        not_before_ms: row.try_get(10)?,
        not_after_ms: row.try_get(11)?,
        account_status: row.try_get(12)?,
    }))
}

/// An answer to a challenge, as presented.
pub(super) struct Answer<'a> {
    pub(super) challenge_id: &'a str,
    pub(super) fresh: bool,
    pub(super) purpose: &'a str,
    pub(super) binding: &'a str,
    pub(super) signature_der: &'a [u8],
    pub(super) now_ms: i64,
}

/// Judges an answer against its stored challenge: `None` if every check passes. The
/// signature is checked last, over the message rebuilt from the stored columns.
pub(super) fn judge(
    row: &ChallengeRow,
    answer: &Answer<'_>,
) -> Result<Option<Refusal>, StoreError> {
    let now_ms = answer.now_ms;
    let refusal = if !answer.fresh {
        Some(Refusal::Replayed)
    } else if now_ms >= row.expires_at_ms {
        Some(Refusal::Expired)
    } else if row.purpose != answer.purpose {
        Some(Refusal::WrongPurpose)
    } else if row.binding != answer.binding {
        Some(Refusal::WrongBinding)
    } else if row.revoked_at_ms.is_some() {
        Some(Refusal::KeyRevoked)
    } else if row.not_before_ms.is_some_and(|start| now_ms < start)
        || row.not_after_ms.is_some_and(|end| now_ms > end)
    {
        Some(Refusal::CertificateNotValid)
    } else if row.account_status != "active" {
        Some(Refusal::AccountNotActive)
    } else {
        None
    };
    if refusal.is_some() {
        return Ok(refusal);
    }
    if answer.signature_der.len() > SIGNATURE_DER_BYTES_MAX {
        return Ok(Some(Refusal::MalformedSignature));
    }
    let Ok(signature) = Sm2Signature::from_der(answer.signature_der) else {
        return Ok(Some(Refusal::MalformedSignature));
    };
    let public_key = hex::decode(&row.public_key)
        .ok()
        .and_then(|sec1| Sm2PublicKey::from_sec1(&sec1).ok())
        .ok_or(StoreError::Malformed("credential public key"))?;
    let message = challenge_message(
        answer.challenge_id,
        &row.purpose,
        &row.binding,
        &row.account_id,
        &row.key_id,
        &row.nonce,
    );
    Ok(match public_key.verify(&message, &signature) {
        Ok(()) => None,
        Err(_) => Some(Refusal::BadSignature),
    })
}
