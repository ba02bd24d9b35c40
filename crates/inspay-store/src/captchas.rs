//! Graphic CAPTCHAs at rest (clauses 5.2.1.1-e and 5.2.1.1-f): valid for
//! [`CAPTCHA_TTL_S`], single use, and never stored in clear.
//!
//! An answer is stored only as an HMAC-SM3 under the blind-index key, with the CAPTCHA id in
//! the MAC's domain (`captcha/v1|<id>`), so a MAC copied onto another row never matches and
//! the database alone cannot tell which answer a row holds. Redeeming deletes the row in the
//! same statement that reads it (`DELETE ... RETURNING`) and commits before the answer is
//! even compared: the first attempt uses the CAPTCHA up whatever its outcome, and of two
//! concurrent attempts on one id, on one node or several, only one can see the row.
//!
//! A redeemed CAPTCHA yields a bare `bool`: it says a person answered, not who. Nothing here
//! takes an account, writes a session or moves a sign-in flow, so a CAPTCHA can never stand
//! as an authentication factor (clause 5.2.1.1-f).
//!
//! Issuing and redeeming are not written to the audit log. Both happen before anyone is
//! identified, so an entry would name no one, and an unauthenticated client could grow the
//! hash chain (and serialise every node on its head) at the rate it requests images. The
//! sign-in attempt that the CAPTCHA guards is audited by the sign-in flow; the table holds at
//! most what the issue rate allows in [`CAPTCHA_TTL_S`] plus one purge interval, and the
//! edge's rate limit bounds the issue rate.

use crate::{Store, StoreError};
use inspay_identity::captcha::{CAPTCHA_TTL_S, CaptchaAnswer};
use inspay_kms::Keyring;
use inspay_kms::sealed::Sealed;
use sqlx::Row;

/// Length of a CAPTCHA id: a hyphenated UUIDv7.
const ID_CHARS: usize = 36;

/// The MAC domain of one CAPTCHA: the id goes into the MAC input beside the answer (the
/// keyring length-prefixes both), so the MAC is bound to its row.
fn mac_domain(id: &str) -> String {
    format!("captcha/v1|{id}")
}

/// Whether `id` has the shape of an id this module issues. Anything else cannot name a row
/// and is answered `false` without a query.
fn is_captcha_id(id: &str) -> bool {
    id.len() == ID_CHARS && uuid::Uuid::try_parse(id).is_ok()
}

/// Whether `answer` is the one whose MAC is `stored`, under any blind-index key version that
/// may still be used for look-ups (so a key rotation inside the 120 s does not void live
/// CAPTCHAs). Compared in constant time.
fn answer_matches(
    keyring: &Keyring,
    id: &str,
    answer: &CaptchaAnswer,
    stored: &str,
) -> Result<bool, StoreError> {
    let stored = Sealed::parse(stored)?;
    let mut matched = false;
    for candidate in keyring.blind_indexes_for_lookup(&mac_domain(id), answer.expose()) {
        let candidate = Sealed::parse(&candidate)?;
        let same = candidate.algorithm == stored.algorithm
            && candidate.key_version == stored.key_version
            && inspay_crypto::sm3::constant_time_eq(&candidate.bytes, &stored.bytes);
        matched |= same;
    }
    Ok(matched)
}

impl Store {
    /// Stores a keyed MAC of the answer (never the answer), expiring after
    /// [`CAPTCHA_TTL_S`]. Returns the CAPTCHA id (UUIDv7), which the client sends back with
    /// its answer. The answer itself goes into the image only.
    pub async fn captcha_issue(
        &self,
        keyring: &Keyring,
        answer: &CaptchaAnswer,
        now_ms: i64,
    ) -> Result<String, StoreError> {
        let id = uuid::Uuid::now_v7().to_string();
        debug_assert!(is_captcha_id(&id));
        let mac = keyring
            .blind_index(&mac_domain(&id), answer.expose())?
            .to_text();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO captchas (id, answer_mac, created_at_ms, expires_at_ms)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(&mac)
        .bind(now_ms)
        .bind(now_ms + CAPTCHA_TTL_S * 1000)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Single use: the row is consumed whatever the outcome (right, wrong, expired, unknown
    /// id -> `Ok(false)`); a second redeem of the same id is always false. Concurrency-safe
    /// (two concurrent redeems of one id: at most one true). A CAPTCHA is expired from
    /// `CAPTCHA_TTL_S` after issue onward.
    pub async fn captcha_redeem(
        &self,
        keyring: &Keyring,
        id: &str,
        answer: &CaptchaAnswer,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let Some((stored, expires_at_ms)) = self.captcha_take(id).await? else {
            return Ok(false);
        };
        if now_ms >= expires_at_ms {
            return Ok(false);
        }
        answer_matches(keyring, id, answer, &stored)
    }

    /// Uses a CAPTCHA up without checking an answer, for a submission whose answer does not
    /// even parse: it still counts as the one attempt. Returns whether a row was removed.
    pub async fn captcha_discard(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.captcha_take(id).await?.is_some())
    }

    /// Deletes expired and consumed rows; returns how many. Redeeming already deletes the
    /// row it consumes, so what is left to purge is CAPTCHAs never answered.
    pub async fn captchas_purge(&self, now_ms: i64) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let purged = sqlx::query("DELETE FROM captchas WHERE expires_at_ms <= $1")
            .bind(now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(purged)
    }

    /// Deletes the row of `id` and returns its MAC and expiry, committed before the caller
    /// looks at them. One statement reads and deletes, so two callers cannot both get it.
    async fn captcha_take(&self, id: &str) -> Result<Option<(String, i64)>, StoreError> {
        if !is_captcha_id(id) {
            return Ok(None);
        }
        let mut tx = self.begin_write().await?;
        let row =
            sqlx::query("DELETE FROM captchas WHERE id = $1 RETURNING answer_mac, expires_at_ms")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        tx.commit().await?;
        match row {
            Some(row) => Ok(Some((row.try_get(0)?, row.try_get(1)?))),
            None => Ok(None),
        }
    }
}
