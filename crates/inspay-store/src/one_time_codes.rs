//! SMS one-time codes at rest (clause 5.2.1.1-d2): valid for a fixed time, single use, bound to
//! one purpose and one session or operation, a limited number of tries, and send rate limits per
//! mobile number. A code is stored only as an HMAC-SM3 over purpose, binding and code, under
//! the blind-index key, so the database never holds it in clear.

use crate::{Store, StoreError};
use inspay_core::sensitive::{MobileNumber, PersonalField};
use inspay_identity::otp::{CODE_TTL_S_DEFAULT, OneTimeCode, OtpPurpose, TRIES_MAX_DEFAULT};
use inspay_kms::Keyring;
use inspay_kms::sealed::Sealed;
use sqlx::Row;

/// Code and send limits. Defaults follow the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtpPolicy {
    /// Validity of a code.
    pub ttl_s: u32,
    /// Verification tries per code.
    pub tries_max: u32,
    /// Least time between two sends to one number.
    pub send_interval_s: u32,
    /// Most sends to one number in 24 hours.
    pub sends_per_day_max: u32,
}

impl Default for OtpPolicy {
    fn default() -> Self {
        OtpPolicy {
            ttl_s: CODE_TTL_S_DEFAULT,
            tries_max: TRIES_MAX_DEFAULT,
            send_interval_s: 60,
            sends_per_day_max: 10,
        }
    }
}

/// A code could not be issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueRefused {
    /// The number had a code less than `send_interval_s` ago, or too many today.
    RateLimited {
        /// Seconds until another send is allowed.
        retry_after_s: i64,
    },
}

/// The outcome of checking a code. Every failure reads the same to the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// Right, in time, first use: the code is now consumed.
    Accepted,
    /// Wrong code (a try is used up).
    Wrong,
    /// No live code for this purpose and binding: none sent, expired, used, or out of tries.
    NoLiveCode,
}

fn code_mac(
    keyring: &Keyring,
    purpose: OtpPurpose,
    binding: &str,
    code: &OneTimeCode,
) -> Result<String, StoreError> {
    Ok(keyring
        .blind_index(
            "one-time-code",
            &format!("{}|{binding}|{}", purpose.name(), code.expose()),
        )?
        .to_text())
}

fn mobile_index(keyring: &Keyring, mobile: &MobileNumber) -> Result<String, StoreError> {
    Ok(keyring
        .blind_index("mobile", mobile.index_form())?
        .to_text())
}

impl Store {
    /// Issues a code for `purpose`, bound to `binding` (a session or operation id), to be sent
    /// to `mobile`, unless a send limit for that number is reached. Earlier live codes for the
    /// same purpose and binding are withdrawn. The caller sends the returned code's message.
    pub async fn otp_issue(
        &self,
        keyring: &Keyring,
        mobile: &MobileNumber,
        purpose: OtpPurpose,
        binding: &str,
        policy: &OtpPolicy,
        now_ms: i64,
    ) -> Result<Result<OneTimeCode, IssueRefused>, StoreError> {
        let index = mobile_index(keyring, mobile)?;
        let code = OneTimeCode::generate().map_err(|_| StoreError::Malformed("random source"))?;
        let mac = code_mac(keyring, purpose, binding, &code)?;
        let day_ago = now_ms - 86_400_000;
        let mut tx = self.begin_write().await?;
        if self.backend == crate::Backend::Postgres {
            // One number's sends are counted one request at a time across nodes.
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .bind(&index)
                .execute(&mut *tx)
                .await?;
        }
        let row = sqlx::query("SELECT COUNT(*), MAX(sent_at_ms), MIN(sent_at_ms) FROM sms_sends WHERE mobile_index = $1 AND sent_at_ms > $2")
            .bind(&index)
            .bind(day_ago)
            .fetch_one(&mut *tx)
            .await?;
        let (count, last, first): (i64, Option<i64>, Option<i64>) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        let interval_ms = i64::from(policy.send_interval_s) * 1000;
        if let Some(last) = last.filter(|last| now_ms - last < interval_ms) {
            return Ok(Err(IssueRefused::RateLimited {
                retry_after_s: (last + interval_ms - now_ms).div_euclid(1000) + 1,
            }));
        }
        if count >= i64::from(policy.sends_per_day_max) {
            let first = first.unwrap_or(now_ms);
            return Ok(Err(IssueRefused::RateLimited {
                retry_after_s: (first + 86_400_000 - now_ms).div_euclid(1000) + 1,
            }));
        }
        sqlx::query("UPDATE one_time_codes SET consumed_at_ms = $3 WHERE purpose = $1 AND binding = $2 AND consumed_at_ms IS NULL")
            .bind(purpose.name())
            .bind(binding)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO one_time_codes (id, purpose, binding, mobile_index, code_mac, created_at_ms, expires_at_ms, tries)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(purpose.name())
        .bind(binding)
        .bind(&index)
        .bind(&mac)
        .bind(now_ms)
        .bind(now_ms + i64::from(policy.ttl_s) * 1000)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO sms_sends (mobile_index, sent_at_ms) VALUES ($1, $2)")
            .bind(&index)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Ok(code))
    }

    /// Checks a typed code for `purpose` and `binding`. A right code is consumed; a wrong one
    /// uses up a try; after `tries_max` tries, or after expiry, no code is live any more.
    pub async fn otp_check(
        &self,
        keyring: &Keyring,
        purpose: OtpPurpose,
        binding: &str,
        typed: &OneTimeCode,
        policy: &OtpPolicy,
        now_ms: i64,
    ) -> Result<CodeCheck, StoreError> {
        let mut tx = self.begin_write().await?;
        // Taking the row first (an UPDATE) serialises checks of one code across nodes.
        sqlx::query(
            "UPDATE one_time_codes SET tries = tries WHERE purpose = $1 AND binding = $2 AND consumed_at_ms IS NULL",
        )
        .bind(purpose.name())
        .bind(binding)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(
            "SELECT id, code_mac, expires_at_ms, tries FROM one_time_codes
             WHERE purpose = $1 AND binding = $2 AND consumed_at_ms IS NULL
             ORDER BY created_at_ms DESC LIMIT 1",
        )
        .bind(purpose.name())
        .bind(binding)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(CodeCheck::NoLiveCode);
        };
        let (id, stored, expires_at_ms, tries): (String, String, i64, i64) = (
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
        );
        if now_ms >= expires_at_ms || tries >= i64::from(policy.tries_max) {
            sqlx::query("UPDATE one_time_codes SET consumed_at_ms = $2 WHERE id = $1")
                .bind(&id)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(CodeCheck::NoLiveCode);
        }
        let expected = Sealed::parse(&stored)?;
        let presented = Sealed::parse(&code_mac(keyring, purpose, binding, typed)?)?;
        let right = expected.key_version == presented.key_version
            && inspay_crypto::sm3::constant_time_eq(&expected.bytes, &presented.bytes);
        let outcome = if right {
            sqlx::query(
                "UPDATE one_time_codes SET consumed_at_ms = $2, tries = tries + 1 WHERE id = $1",
            )
            .bind(&id)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            CodeCheck::Accepted
        } else {
            sqlx::query("UPDATE one_time_codes SET tries = tries + 1 WHERE id = $1")
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            CodeCheck::Wrong
        };
        tx.commit().await?;
        Ok(outcome)
    }
}

impl Store {
    /// Deletes codes that can no longer be used (expired or consumed) and send records older
    /// than the day the send limit counts, so a number that never became an account leaves no
    /// keyed trace behind (clause 6.1.3). Returns how many rows went.
    pub async fn otp_purge(&self, now_ms: i64) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let codes = sqlx::query(
            "DELETE FROM one_time_codes WHERE expires_at_ms <= $1 OR consumed_at_ms IS NOT NULL",
        )
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let sends = sqlx::query("DELETE FROM sms_sends WHERE sent_at_ms <= $1")
            .bind(now_ms - 86_400_000)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(codes + sends)
    }
}
