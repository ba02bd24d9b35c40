//! One-time nonces for client-side field encryption (clauses 5.2.2.1-c/d, 5.6.2-b): issued to
//! one application, valid [`FIELD_NONCE_TTL_MS`], consumed by the first request that uses
//! them, purged after expiry.

use crate::{Store, StoreError};

/// How long a field nonce is valid.
pub const FIELD_NONCE_TTL_MS: i64 = 300_000;

/// Why a field nonce is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldNonceRefusal {
    /// Never issued, or issued to another application.
    Unknown,
    /// Past its validity.
    Expired,
    /// Already used by a request.
    Used,
}

impl Store {
    /// Issues a field nonce to an application: 128 bits from the OS CSPRNG as 32 hex digits.
    /// Returns it and its expiry (unix ms).
    pub async fn field_nonce_issue(
        &self,
        app_id: &str,
        now_ms: i64,
    ) -> Result<(String, i64), StoreError> {
        let bytes = inspay_crypto::random::bytes::<16>()
            .map_err(|_| StoreError::Refused("no randomness for a field nonce"))?;
        let nonce = hex::encode(bytes);
        let expires_at_ms = now_ms + FIELD_NONCE_TTL_MS;
        sqlx::query(
            "INSERT INTO field_nonces (nonce, app_id, created_at_ms, expires_at_ms)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&nonce)
        .bind(app_id)
        .bind(now_ms)
        .bind(expires_at_ms)
        .execute(&self.pool)
        .await?;
        Ok((nonce, expires_at_ms))
    }

    /// Consumes a field nonce for a request of `app_id`: succeeds once, inside its validity.
    pub async fn field_nonce_consume(
        &self,
        app_id: &str,
        nonce: &str,
        now_ms: i64,
    ) -> Result<Result<(), FieldNonceRefusal>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        consume_on(&mut connection, app_id, nonce, now_ms).await
    }

    /// Deletes expired field nonces; returns how many.
    pub async fn field_nonces_purge(&self, now_ms: i64) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM field_nonces WHERE expires_at_ms <= $1")
                .bind(now_ms)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}

/// Consumes a field nonce on a connection (inside the caller's transaction, if any).
pub(crate) async fn consume_on(
    connection: &mut sqlx::AnyConnection,
    app_id: &str,
    nonce: &str,
    now_ms: i64,
) -> Result<Result<(), FieldNonceRefusal>, StoreError> {
    let consumed = sqlx::query(
        "UPDATE field_nonces SET consumed_at_ms = $3
         WHERE nonce = $1 AND app_id = $2 AND consumed_at_ms IS NULL AND expires_at_ms > $3",
    )
    .bind(nonce)
    .bind(app_id)
    .bind(now_ms)
    .execute(&mut *connection)
    .await?
    .rows_affected();
    if consumed == 1 {
        return Ok(Ok(()));
    }
    let row: Option<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT expires_at_ms, consumed_at_ms FROM field_nonces
         WHERE nonce = $1 AND app_id = $2",
    )
    .bind(nonce)
    .bind(app_id)
    .fetch_optional(&mut *connection)
    .await?;
    Ok(Err(match row {
        None => FieldNonceRefusal::Unknown,
        Some((_, Some(_))) => FieldNonceRefusal::Used,
        Some(_) => FieldNonceRefusal::Expired,
    }))
}
