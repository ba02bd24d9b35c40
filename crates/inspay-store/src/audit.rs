//! The audit log (clauses 5.4.4.2 and 5.6.1-b): append-only, each entry chained to the one
//! before by SM3, with SM2-signed checkpoints.
//!
//! An entry names its time, actor, action, object, outcome and request id, plus a few
//! details built from [`AuditValue`]s, which carry numbers, fixed words, masked values and
//! short identifiers, never a sensitive value in full. Its hash covers all of that and the
//! previous entry's hash, so changing, deleting, inserting or reordering an entry breaks the
//! chain from that point on. A checkpoint signs the hash at some sequence number with the
//! audit-signing key; with checkpoints, even rewriting the whole chain after an entry is
//! caught, up to the last checkpoint. The database also refuses UPDATE and DELETE on the
//! table (a trigger), so a mistake cannot damage it; the chain catches someone who removes
//! the trigger first.

use crate::{Store, StoreError};
use inspay_core::sensitive::Masked;
use inspay_crypto::sm2::{Sm2PublicKey, Sm2Signature};
use inspay_kms::master::length_prefixed;
use inspay_kms::sealed::Sealed;
use inspay_kms::{KeyPurpose, Keyring};
use sqlx::{AnyConnection, Row};

/// The hash that precedes the first entry.
pub const GENESIS_HASH: &str =
    "sm3:0000000000000000000000000000000000000000000000000000000000000000";
/// Longest text detail kept; longer ones are cut.
pub const DETAIL_TEXT_CHARS_MAX: usize = 128;
/// Longest run of digits a text detail may hold; longer runs could be a card, mobile or ID
/// number and are replaced.
const DIGIT_RUN_MAX: usize = 10;

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It happened.
    Success,
    /// It was refused (by a rule, a permission, a failed check).
    Denied,
    /// It failed.
    Failure,
}

impl Outcome {
    fn name(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Failure => "failure",
        }
    }
}

/// A detail value that is safe to keep in the audit log.
#[derive(Debug, Clone)]
pub enum AuditValue {
    /// A fixed word from the code.
    Word(&'static str),
    /// A number.
    Number(i64),
    /// A masked personal value.
    Masked(Masked),
    /// A key fingerprint or check value such as `hmac-sm3:1f0c...`: lower-case letters,
    /// digits and `:.-`, with at least one of `a` to `f`, so that a card, mobile or ID number
    /// (digits, or digits and `X`) can never pass as one; anything else is scrubbed as text.
    Fingerprint(String),
    /// A short identifier or label. Long digit runs are replaced and the text is cut to
    /// [`DETAIL_TEXT_CHARS_MAX`] characters, so a sensitive number cannot slip in whole.
    Text(String),
    /// A row id the service made (a UUID, `8-4-4-4-12` lower-case hex, optionally as
    /// `kind:<uuid>`): kept whole, since its hex digits can run long by chance; anything else
    /// is scrubbed as text.
    Id(String),
}

impl AuditValue {
    fn render(&self) -> String {
        match self {
            AuditValue::Word(word) => (*word).to_string(),
            AuditValue::Number(number) => number.to_string(),
            AuditValue::Masked(masked) => masked.as_str().to_string(),
            AuditValue::Fingerprint(text) if is_fingerprint(text) => text.clone(),
            AuditValue::Id(text) if is_uuid(text) => text.clone(),
            AuditValue::Fingerprint(text) | AuditValue::Text(text) | AuditValue::Id(text) => {
                scrub(text)
            }
        }
    }
}

/// Whether `text` is a UUID in the `8-4-4-4-12` lower-case hex form, optionally after a
/// lower-case kind and a colon (`account:<uuid>`).
fn is_uuid(text: &str) -> bool {
    let text = match text.split_once(':') {
        Some((kind, rest)) if !kind.is_empty() && kind.bytes().all(|b| b.is_ascii_lowercase()) => {
            rest
        }
        _ => text,
    };
    text.len() == 36
        && text.char_indices().all(|(at, c)| match at {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
        })
}

/// One thing to record.
#[derive(Debug, Clone)]
pub struct AuditEvent<'a> {
    /// Who: `user:<id>`, `app:<id>`, `operator:<name>`, `system`.
    pub actor: &'a str,
    /// What: a dotted action name such as `key.rotate`.
    pub action: &'a str,
    /// On what: `key:field-encryption:v3`, `person:<id>`.
    pub object: &'a str,
    /// How it ended.
    pub outcome: Outcome,
    /// The request id that joins this entry to logs and responses.
    pub request_id: &'a str,
    /// Further safe details.
    pub details: &'a [(&'static str, AuditValue)],
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// Unix milliseconds.
    pub at_ms: i64,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// On what.
    pub object: String,
    /// How it ended.
    pub outcome: String,
    /// Request id.
    pub request_id: String,
    /// Details as a JSON object.
    pub detail: String,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

impl AuditEntry {
    /// The hash this entry should have.
    pub fn expected_hash(&self) -> String {
        entry_hash(
            self.seq,
            self.at_ms,
            [
                &self.actor,
                &self.action,
                &self.object,
                &self.outcome,
                &self.request_id,
                &self.detail,
            ],
            &self.prev_hash,
        )
    }
}

fn entry_hash(seq: i64, at_ms: i64, fields: [&str; 6], prev_hash: &str) -> String {
    let seq = seq.to_string();
    let at = at_ms.to_string();
    let mut parts: Vec<&[u8]> = vec![b"inspay/audit/v1", seq.as_bytes(), at.as_bytes()];
    parts.extend(fields.iter().map(|field| field.as_bytes()));
    parts.push(prev_hash.as_bytes());
    format!(
        "sm3:{}",
        hex::encode(inspay_crypto::sm3::sm3(&length_prefixed(&parts)))
    )
}

fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(DETAIL_TEXT_CHARS_MAX));
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() > DIGIT_RUN_MAX {
            out.push_str("[redacted]");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars().take(DETAIL_TEXT_CHARS_MAX) {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

fn is_fingerprint(text: &str) -> bool {
    (8..=DETAIL_TEXT_CHARS_MAX).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b":.-".contains(&b))
        && text.bytes().any(|b| (b'a'..=b'f').contains(&b))
}

fn render_details(details: &[(&'static str, AuditValue)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = details
        .iter()
        .map(|(name, value)| {
            (
                (*name).to_string(),
                serde_json::Value::String(value.render()),
            )
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// Appends an entry inside the caller's transaction, so the entry commits with the change it
/// records or not at all. The first statement takes the chain head's row lock (PostgreSQL) or
/// the write lock (SQLite), so appends from several nodes are serialised.
pub async fn append(
    connection: &mut AnyConnection,
    event: &AuditEvent<'_>,
    at_ms: i64,
) -> Result<i64, StoreError> {
    let head = sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
        .fetch_optional(&mut *connection)
        .await?;
    let (seq, prev_hash): (i64, String) = match head {
        Some(row) => (row.try_get(0)?, row.try_get(1)?),
        None => {
            sqlx::query("INSERT INTO audit_head (id, seq, hash) VALUES (1, 1, $1)")
                .bind(GENESIS_HASH)
                .execute(&mut *connection)
                .await?;
            (1, GENESIS_HASH.to_string())
        }
    };
    let detail = render_details(event.details);
    let outcome = event.outcome.name();
    let hash = entry_hash(
        seq,
        at_ms,
        [
            event.actor,
            event.action,
            event.object,
            outcome,
            event.request_id,
            &detail,
        ],
        &prev_hash,
    );
    sqlx::query(
        "INSERT INTO audit_log (seq, at_ms, actor, action, object, outcome, request_id, detail, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(seq)
    .bind(at_ms)
    .bind(event.actor)
    .bind(event.action)
    .bind(event.object)
    .bind(outcome)
    .bind(event.request_id)
    .bind(&detail)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut *connection)
    .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&hash)
        .execute(&mut *connection)
        .await?;
    Ok(seq)
}

/// Appends an event that an account did to itself (`actor` and `object` both
/// `account:<id>`), inside the caller's transaction.
pub(crate) async fn append_by_account(
    connection: &mut AnyConnection,
    account_id: &str,
    action: &str,
    outcome: Outcome,
    request_id: &str,
    details: &[(&'static str, AuditValue)],
    at_ms: i64,
) -> Result<i64, StoreError> {
    let object = format!("account:{account_id}");
    append(
        connection,
        &AuditEvent {
            actor: &object,
            action,
            object: &object,
            outcome,
            request_id,
            details,
        },
        at_ms,
    )
    .await
}

/// What a checkpoint signs.
fn checkpoint_message(seq: i64, hash: &str) -> Vec<u8> {
    format!("inspay/audit/checkpoint|{seq}|{hash}").into_bytes()
}

impl Store {
    /// Records one event in its own transaction.
    pub async fn audit(&self, event: &AuditEvent<'_>, at_ms: i64) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let seq = append(&mut tx, event, at_ms).await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// Signs the current chain head if it moved since the last checkpoint. Returns the
    /// sequence number signed, if any.
    pub async fn audit_checkpoint(
        &self,
        keyring: &Keyring,
        at_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.begin_write().await?;
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_optional(&mut *tx)
            .await?;
        let Some(head) = head else {
            return Ok(None);
        };
        let (seq, hash): (i64, String) = (head.try_get(0)?, head.try_get(1)?);
        let last: Option<i64> = sqlx::query("SELECT MAX(seq) FROM audit_checkpoints")
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        if last.is_some_and(|last| last >= seq) {
            return Ok(None);
        }
        let signature = keyring.sign(KeyPurpose::AuditSigning, &checkpoint_message(seq, &hash))?;
        sqlx::query("INSERT INTO audit_checkpoints (seq, hash, signature, signed_at_ms) VALUES ($1, $2, $3, $4)")
            .bind(seq)
            .bind(&hash)
            .bind(signature.to_text())
            .bind(at_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(seq))
    }

    /// Number of audit entries, for progress reporting.
    pub async fn audit_len(&self) -> Result<i64, StoreError> {
        let count: i64 = sqlx::query("SELECT COUNT(*) FROM audit_log")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        Ok(count)
    }

    /// Reads entries with `seq > after`, in order, at most `limit`.
    pub async fn audit_entries(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at_ms, actor, action, object, outcome, request_id, detail, prev_hash, hash
             FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    seq: row.try_get(0)?,
                    at_ms: row.try_get(1)?,
                    actor: row.try_get(2)?,
                    action: row.try_get(3)?,
                    object: row.try_get(4)?,
                    outcome: row.try_get(5)?,
                    request_id: row.try_get(6)?,
                    detail: row.try_get(7)?,
                    prev_hash: row.try_get(8)?,
                    hash: row.try_get(9)?,
                })
            })
            .collect()
    }

    /// Proves the chain and its checkpoints. Checkpoints signed by a key marked compromised
    /// do not count. `pinned` public keys, if given, replace the
    /// audit-signing public keys stored in the database (an auditor pins the exported key, so
    /// a key swapped in the database does not vouch for a rewritten chain). `progress` is
    /// called with the number of entries checked so far.
    pub async fn audit_verify(
        &self,
        pinned: Option<&[(u32, Sm2PublicKey)]>,
        mut progress: impl FnMut(i64),
    ) -> Result<AuditReport, StoreError> {
        const PAGE: i64 = 1_000;
        let mut report = AuditReport::default();
        // Checkpoints are few; entries may be millions, so they are streamed and each is
        // compared with its checkpoint (if any) as it passes.
        let rows = sqlx::query("SELECT seq, hash, signature FROM audit_checkpoints ORDER BY seq")
            .fetch_all(&self.pool)
            .await?;
        let mut checkpoints = std::collections::BTreeMap::new();
        for row in rows {
            let (seq, hash, signature): (i64, String, String) =
                (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
            checkpoints.insert(seq, (hash, signature, false));
        }
        let mut expected_prev = GENESIS_HASH.to_string();
        let mut expected_seq = 1;
        loop {
            let page = self.audit_entries(expected_seq - 1, PAGE).await?;
            if page.is_empty() {
                break;
            }
            for entry in page {
                if entry.seq != expected_seq {
                    report.problem(
                        expected_seq,
                        format!("entries {expected_seq} to {} are missing", entry.seq - 1),
                    );
                }
                if entry.prev_hash != expected_prev {
                    report.problem(
                        entry.seq,
                        "does not follow the entry before it (deleted, inserted or reordered)"
                            .into(),
                    );
                }
                if entry.expected_hash() != entry.hash {
                    report.problem(
                        entry.seq,
                        "content does not match its hash (modified)".into(),
                    );
                }
                if let Some((hash, _, matched)) = checkpoints.get_mut(&entry.seq) {
                    *matched = *hash == entry.hash;
                }
                expected_seq = entry.seq + 1;
                expected_prev = entry.hash;
                report.entries += 1;
            }
            progress(report.entries);
        }
        report.last_seq = expected_seq - 1;
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?;
        if let Some(head) = head {
            let (seq, hash): (i64, String) = (head.try_get(0)?, head.try_get(1)?);
            if seq != report.last_seq || hash != expected_prev {
                report.problem(
                    seq,
                    "the chain head does not match the last entry (entries removed from the end)"
                        .into(),
                );
            }
        }
        let keys = match pinned {
            Some(keys) => keys.to_vec(),
            None => self.audit_public_keys().await?,
        };
        for (seq, (hash, signature, matched)) in checkpoints {
            report.checkpoints += 1;
            if !matched {
                report.problem(seq, "checkpoint does not match the entry it signed".into());
            }
            let verified = Sealed::parse(&signature).ok().and_then(|sealed| {
                let key = keys
                    .iter()
                    .find(|(version, _)| *version == sealed.key_version)?;
                let signature = Sm2Signature::from_der(&sealed.bytes).ok()?;
                key.1
                    .verify(&checkpoint_message(seq, &hash), &signature)
                    .ok()
            });
            if verified.is_none() {
                report.problem(seq, "checkpoint signature does not verify".into());
            } else if matched {
                report.last_checkpoint_seq = seq;
            }
        }
        Ok(report)
    }

    async fn audit_public_keys(&self) -> Result<Vec<(u32, Sm2PublicKey)>, StoreError> {
        let rows = sqlx::query(
            "SELECT version, public_key_pem FROM data_keys
             WHERE purpose = $1 AND public_key_pem IS NOT NULL AND state <> 'compromised'",
        )
        .bind(KeyPurpose::AuditSigning.name())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let version: i64 = row.try_get(0)?;
                let pem: String = row.try_get(1)?;
                let key = Sm2PublicKey::from_spki_pem(&pem)
                    .map_err(|_| StoreError::Malformed("audit public key"))?;
                Ok((
                    u32::try_from(version).map_err(|_| StoreError::Malformed("key version"))?,
                    key,
                ))
            })
            .collect()
    }
}

/// The result of [`Store::audit_verify`].
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct AuditReport {
    /// Entries read.
    pub entries: i64,
    /// The last sequence number read.
    pub last_seq: i64,
    /// Checkpoints read.
    pub checkpoints: i64,
    /// The last checkpoint whose signature verified.
    pub last_checkpoint_seq: i64,
    /// Everything wrong, by sequence number.
    pub problems: Vec<(i64, String)>,
}

impl AuditReport {
    fn problem(&mut self, seq: i64, what: String) {
        const PROBLEMS_MAX: usize = 1_000;
        if self.problems.len() < PROBLEMS_MAX {
            self.problems.push((seq, what));
        }
    }

    /// Whether the chain and every checkpoint are intact.
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Long digit runs in free-text details are replaced, so a card, mobile or ID number
    /// cannot be written to the audit log whole.
    /// req: 5.6.1-a5
    #[test]
    fn text_details_cannot_hold_long_numbers() {
        assert_eq!(scrub("card 6222021234567890128 ok"), "card [redacted] ok");
        assert_eq!(scrub("mobile 13812345678"), "mobile [redacted]");
        assert_eq!(scrub("v12 of 2026"), "v12 of 2026");
        assert_eq!(scrub(&"x".repeat(500)).len(), DETAIL_TEXT_CHARS_MAX);
        let check = AuditValue::Fingerprint("hmac-sm3:1234567890123a45".into());
        assert_eq!(check.render(), "hmac-sm3:1234567890123a45");
        let card = AuditValue::Fingerprint("6222021234567890128".into());
        assert_eq!(card.render(), "[redacted]");
        // Row ids stay whole even when their hex digits run long; a number posing as one
        // does not.
        let id = AuditValue::Id("01a214f2-3c7e-76e1-88ad-55834506781a".into());
        assert_eq!(id.render(), "01a214f2-3c7e-76e1-88ad-55834506781a");
        let account = AuditValue::Id("account:01a214f2-3c7e-76e1-88ad-55834506781a".into());
        assert_eq!(
            account.render(),
            "account:01a214f2-3c7e-76e1-88ad-55834506781a"
        );
        let mobile = AuditValue::Id("13812345678".into());
        assert_eq!(mobile.render(), "[redacted]");
    }
}
