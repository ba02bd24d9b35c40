//! The channel's signed answers, kept with the order they decided (clause 5.6.2-d1): the bank
//! cannot later deny having answered "paid" or "refunded", and we cannot later claim it did when
//! it did not. The answer body is kept exactly as signed, sealed under the field-encryption key
//! (it names the card's token) with the row bound in the associated data.

use crate::{Store, StoreError};
use inspay_kms::Keyring;
use inspay_kms::sealed::Sealed;
use sqlx::{AnyConnection, Row};

/// One signed answer from the channel.
#[derive(Clone, PartialEq, Eq)]
pub struct ChannelEvidence {
    /// The HTTP status it came with.
    pub http_status: u16,
    /// The channel's timestamp, unix seconds.
    pub timestamp_s: i64,
    /// The channel's nonce.
    pub nonce: String,
    /// Our request's nonce, which the signature binds.
    pub request_nonce: String,
    /// The body exactly as signed.
    pub body: zeroize::Zeroizing<String>,
    /// The channel's signature, base64 of DER.
    pub signature_base64: String,
}

impl std::fmt::Debug for ChannelEvidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelEvidence")
            .field("http_status", &self.http_status)
            .field("timestamp_s", &self.timestamp_s)
            .field("nonce", &self.nonce)
            .field("request_nonce", &self.request_nonce)
            .field("body", &"[sealed]")
            .finish_non_exhaustive()
    }
}

fn aad(id: &str) -> String {
    format!("channel_evidence|body_sealed|{id}")
}

/// Keeps one answer inside the caller's transaction.
pub(crate) async fn insert(
    connection: &mut AnyConnection,
    keyring: &Keyring,
    order_kind: &str,
    order_id: &str,
    evidence: &ChannelEvidence,
    at_ms: i64,
) -> Result<(), StoreError> {
    let id = uuid::Uuid::now_v7().to_string();
    let sealed = keyring
        .seal_field(aad(&id).as_bytes(), evidence.body.as_bytes())?
        .to_text();
    sqlx::query(
        "INSERT INTO channel_evidence (id, order_kind, order_id, http_status, timestamp_s, nonce,
             request_nonce, body_sealed, signature, received_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&id)
    .bind(order_kind)
    .bind(order_id)
    .bind(i32::from(evidence.http_status))
    .bind(evidence.timestamp_s)
    .bind(&evidence.nonce)
    .bind(&evidence.request_nonce)
    .bind(&sealed)
    .bind(&evidence.signature_base64)
    .bind(at_ms)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

impl Store {
    /// The channel's signed answers kept for an order (a payment, refund or payout id), oldest
    /// first, bodies opened.
    pub async fn channel_evidence(
        &self,
        keyring: &Keyring,
        order_id: &str,
    ) -> Result<Vec<ChannelEvidence>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, http_status, timestamp_s, nonce, request_nonce, body_sealed, signature
             FROM channel_evidence WHERE order_id = $1 ORDER BY received_at_ms, id",
        )
        .bind(order_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get(0)?;
                let status: i32 = row.try_get(1)?;
                let sealed = Sealed::parse(&row.try_get::<String, _>(5)?)?;
                let body = keyring.open_field(aad(&id).as_bytes(), &sealed)?;
                let body = String::from_utf8(body.to_vec())
                    .map_err(|_| StoreError::Malformed("channel evidence body"))?;
                Ok(ChannelEvidence {
                    http_status: u16::try_from(status)
                        .map_err(|_| StoreError::Malformed("channel evidence status"))?,
                    timestamp_s: row.try_get(2)?,
                    nonce: row.try_get(3)?,
                    request_nonce: row.try_get(4)?,
                    body: zeroize::Zeroizing::new(body),
                    signature_base64: row.try_get(6)?,
                })
            })
            .collect()
    }
}
