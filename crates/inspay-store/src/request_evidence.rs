//! Evidence of signed requests, for non-repudiation (clause 5.6.2-d1): every fund-transaction
//! request, and every other signed request that changes something (any method but GET).
//!
//! For each such request the server answered, the row keeps what the client signed (method,
//! target, timestamp, nonce and the SM3 of the body), its signature and key serial, and the
//! server's signed answer (status, timestamp, nonce, SM3 of the body, key serial, signature).
//! That is enough to verify both signatures again years later, without keeping the bodies,
//! which can carry personal data. A record MAC (HMAC-SM3) detects rows changed outside the
//! application (clause 5.6.1-b).

use crate::{Store, StoreError};
use inspay_kms::Keyring;
use inspay_kms::sealed::Sealed;
use sqlx::Row;

/// One request and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// Row id (UUID v7, so ids sort by time).
    pub id: String,
    /// The application that signed.
    pub app_id: String,
    /// Its key serial.
    pub serial: u32,
    /// The signed-in account, if the request had a session.
    pub account_id: Option<String>,
    /// HTTP method.
    pub method: String,
    /// Path and query, as signed.
    pub target: String,
    /// The client's timestamp, unix seconds.
    pub timestamp_s: i64,
    /// The client's nonce.
    pub nonce: String,
    /// SM3 of the request body, hex.
    pub body_sm3: String,
    /// The client's signature, base64 DER.
    pub signature: String,
    /// The SDK the client reported.
    pub sdk: Option<String>,
    /// The response status.
    pub response_status: u16,
    /// The server's timestamp.
    pub response_timestamp_s: i64,
    /// The server's nonce.
    pub response_nonce: String,
    /// SM3 of the response body, hex.
    pub response_body_sm3: String,
    /// The server's response-signing key version.
    pub response_serial: u32,
    /// The server's signature, base64 DER.
    pub response_signature: String,
    /// When the server received the request, unix ms.
    pub received_at_ms: i64,
}

impl Evidence {
    fn mac_parts(&self) -> Vec<Vec<u8>> {
        let account = self.account_id.clone().unwrap_or_default();
        let sdk = self.sdk.clone().unwrap_or_default();
        [
            self.id.clone(),
            self.app_id.clone(),
            self.serial.to_string(),
            account,
            self.method.clone(),
            self.target.clone(),
            self.timestamp_s.to_string(),
            self.nonce.clone(),
            self.body_sm3.clone(),
            self.signature.clone(),
            sdk,
            self.response_status.to_string(),
            self.response_timestamp_s.to_string(),
            self.response_nonce.clone(),
            self.response_body_sm3.clone(),
            self.response_serial.to_string(),
            self.response_signature.clone(),
            self.received_at_ms.to_string(),
        ]
        .into_iter()
        .map(String::into_bytes)
        .collect()
    }
}

/// A stored row and whether its record MAC still matches.
#[derive(Debug, Clone)]
pub struct StoredEvidence {
    /// The row.
    pub evidence: Evidence,
    /// Whether the record MAC verifies (false: changed outside the application).
    pub mac_ok: bool,
}

const COLUMNS: &str = "id, app_id, serial, account_id, method, target, timestamp_s, nonce, \
    body_sm3, signature, sdk, response_status, response_timestamp_s, response_nonce, \
    response_body_sm3, response_serial, response_signature, received_at_ms, record_mac";

fn from_row(row: &sqlx::any::AnyRow) -> Result<(Evidence, String), StoreError> {
    let serial: i32 = row.try_get(2)?;
    let status: i32 = row.try_get(11)?;
    let response_serial: i32 = row.try_get(15)?;
    let malformed = |_| StoreError::Malformed("request evidence");
    Ok((
        Evidence {
            id: row.try_get(0)?,
            app_id: row.try_get(1)?,
            serial: u32::try_from(serial).map_err(malformed)?,
            account_id: row.try_get(3)?,
            method: row.try_get(4)?,
            target: row.try_get(5)?,
            timestamp_s: row.try_get(6)?,
            nonce: row.try_get(7)?,
            body_sm3: row.try_get(8)?,
            signature: row.try_get(9)?,
            sdk: row.try_get(10)?,
            response_status: u16::try_from(status).map_err(malformed)?,
            response_timestamp_s: row.try_get(12)?,
            response_nonce: row.try_get(13)?,
            response_body_sm3: row.try_get(14)?,
            response_serial: u32::try_from(response_serial).map_err(malformed)?,
            response_signature: row.try_get(16)?,
            received_at_ms: row.try_get(17)?,
        },
        row.try_get(18)?,
    ))
}

/// Columns of a row of `request_evidence` as inserted.
const INSERTED_COLUMNS: usize = 19;

/// Keeps evidence rows, each under its record MAC, in as few statements as the batch allows.
pub(crate) async fn insert_many(
    connection: &mut sqlx::AnyConnection,
    keyring: &Keyring,
    rows: &[&Evidence],
) -> Result<(), StoreError> {
    let number = |value: u32| i32::try_from(value).map_err(|_| StoreError::Refused("serial"));
    for chunk in crate::db::row_runs(rows) {
        let mut macs = Vec::with_capacity(chunk.len());
        for evidence in chunk {
            let parts = evidence.mac_parts();
            let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
            macs.push(keyring.record_mac(&refs)?.to_text());
        }
        let sql = format!(
            "INSERT INTO request_evidence ({COLUMNS}) VALUES {}",
            crate::db::values_rows(connection, chunk.len(), INSERTED_COLUMNS)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (evidence, mac) in chunk.iter().zip(macs) {
            query = query
                .bind(&evidence.id)
                .bind(&evidence.app_id)
                .bind(number(evidence.serial)?)
                .bind(&evidence.account_id)
                .bind(&evidence.method)
                .bind(&evidence.target)
                .bind(evidence.timestamp_s)
                .bind(&evidence.nonce)
                .bind(&evidence.body_sm3)
                .bind(&evidence.signature)
                .bind(&evidence.sdk)
                .bind(i32::from(evidence.response_status))
                .bind(evidence.response_timestamp_s)
                .bind(&evidence.response_nonce)
                .bind(&evidence.response_body_sm3)
                .bind(number(evidence.response_serial)?)
                .bind(&evidence.response_signature)
                .bind(evidence.received_at_ms)
                .bind(mac);
        }
        query.execute(&mut *connection).await?;
    }
    Ok(())
}

impl Store {
    /// Keeps one request's evidence under a record MAC.
    pub async fn request_evidence_record(
        &self,
        keyring: &Keyring,
        evidence: &Evidence,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_many(&mut tx, keyring, &[evidence]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Evidence of one application (or every one) received in `[from_ms, until_ms)`, oldest
    /// first, at most `limit` rows, each with its record-MAC verdict.
    pub async fn request_evidence_list(
        &self,
        keyring: &Keyring,
        app_id: Option<&str>,
        from_ms: i64,
        until_ms: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvidence>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM request_evidence
             WHERE ($1 IS NULL OR app_id = $1) AND received_at_ms >= $2 AND received_at_ms < $3
             ORDER BY received_at_ms, id LIMIT $4"
        )))
        .bind(app_id)
        .bind(from_ms)
        .bind(until_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut out = vec![];
        for row in &rows {
            let (evidence, mac) = from_row(row)?;
            let parts = evidence.mac_parts();
            let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
            let mac_ok = match Sealed::parse(&mac) {
                Ok(sealed) => keyring.verify_record_mac(&refs, &sealed)?,
                Err(_) => false,
            };
            out.push(StoredEvidence { evidence, mac_ok });
        }
        Ok(out)
    }
}

impl Store {
    /// The scheduled integrity check of `request_evidence` (clause 5.6.1-b): recomputes every
    /// row's record MAC, a page at a time, and returns the ids of the rows that fail.
    pub async fn request_evidence_verify(
        &self,
        keyring: &Keyring,
    ) -> Result<Vec<String>, StoreError> {
        let select = format!("SELECT {COLUMNS} FROM request_evidence");
        crate::record_check::failing_rows(&self.pool, &select, "id", |row| {
            let (evidence, mac) = from_row(row)?;
            let parts = evidence.mac_parts();
            let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
            let intact = match Sealed::parse(&mac) {
                Ok(sealed) => keyring.verify_record_mac(&refs, &sealed)?,
                Err(_) => false,
            };
            if intact {
                Ok(())
            } else {
                Err(StoreError::Integrity("request evidence".into()))
            }
        })
        .await
    }
}
