//! Bank accounts claim payouts go to (issue 5 item 3). An account is stored only after the
//! payment channel verified that the number belongs to the customer (number, legal name, ID
//! number and mobile checked by the bank, 银行卡四要素验证); the check's id is kept with it.
//! The number is sealed under the field key with the row and the customer bound in the
//! associated data, so a sealed number copied to another row or customer does not open; only
//! the masked form (first 6, last 4) is readable without the key.

use super::payments::bind_method;
use super::{ChannelEvidence, FundsError, check_mac, mac_text};
use crate::audit::{self, AuditEvent, AuditValue, Outcome};
use crate::{Store, StoreError};
use inspay_core::sensitive::{CardNumber, Exposed, PersonalField};
use inspay_kms::Keyring;
use inspay_kms::sealed::Sealed;
use sqlx::Row;
use sqlx::any::AnyRow;

/// Most live payout accounts one customer may hold.
pub const PAYOUT_ACCOUNTS_LIVE_MAX: i64 = 5;

/// An account the channel verified, to store.
#[derive(Debug, Clone, Copy)]
pub struct NewPayoutAccount<'a> {
    /// The customer.
    pub account_id: &'a str,
    /// The bank account number.
    pub number: &'a CardNumber,
    /// The channel's id of the check that verified it.
    pub verification_ref: &'a str,
    /// The channel's signed answer to the check, kept sealed as evidence.
    pub evidence: Option<&'a ChannelEvidence>,
    /// The channel's direct-debit token for the account, if it gave one: saved (sealed) as a
    /// payment method, so premiums can be paid from the bound account.
    pub debit_token: Option<&'a str>,
}

/// A verified payout account, as listings show it (no number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutAccount {
    /// Id.
    pub id: String,
    /// The customer.
    pub account_id: String,
    /// First 6 and last 4 digits.
    pub account_masked: String,
    /// The channel's id of the check that verified it.
    pub verification_ref: String,
    /// When the channel verified it (unix ms).
    pub verified_at_ms: i64,
    /// When it was added (unix ms).
    pub created_at_ms: i64,
    /// When it was removed, if it was.
    pub revoked_at_ms: Option<i64>,
}

const COLUMNS: &str = "id, account_id, account_masked, verification_ref, verified_at_ms, \
     created_at_ms, revoked_at_ms, number_sealed, record_mac, verification_evidence";

fn aad(id: &str, account_id: &str) -> String {
    format!("payout_accounts|number_sealed|{id}|{account_id}")
}

fn evidence_aad(id: &str) -> String {
    format!("payout_accounts|verification_evidence|{id}")
}

/// The bank's answer as one text: status, timestamp, nonces and signature on the first five
/// lines, the signed body after them.
fn evidence_text(evidence: &ChannelEvidence) -> String {
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        evidence.http_status,
        evidence.timestamp_s,
        evidence.nonce,
        evidence.request_nonce,
        evidence.signature_base64,
        evidence.body.as_str()
    )
}

fn mac_parts(account: &PayoutAccount, sealed: &str, evidence: &str) -> Vec<Vec<u8>> {
    [
        "inspay/payout-account/v1".to_string(),
        account.id.clone(),
        account.account_id.clone(),
        account.account_masked.clone(),
        sealed.to_string(),
        account.verification_ref.clone(),
        account.verified_at_ms.to_string(),
        account.revoked_at_ms.unwrap_or(0).to_string(),
        evidence.to_string(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}

fn from_row(keyring: &Keyring, row: &AnyRow) -> Result<(PayoutAccount, String), StoreError> {
    let account = PayoutAccount {
        id: row.try_get(0)?,
        account_id: row.try_get(1)?,
        account_masked: row.try_get(2)?,
        verification_ref: row.try_get(3)?,
        verified_at_ms: row.try_get(4)?,
        created_at_ms: row.try_get(5)?,
        revoked_at_ms: row.try_get(6)?,
    };
    let sealed: String = row.try_get(7)?;
    let mac: String = row.try_get(8)?;
    let evidence: Option<String> = row.try_get(9)?;
    check_mac(
        keyring,
        &mac_parts(&account, &sealed, evidence.as_deref().unwrap_or_default()),
        &mac,
        "a payout account",
    )?;
    Ok((account, sealed))
}

impl Store {
    /// Stores a payout account the channel verified (`verification_ref` is its check id), and
    /// its direct-debit token, when the channel gave one, as a saved payment method (a bound
    /// account premiums can be paid from). The same number twice for one customer returns the
    /// live row already there; more than [`PAYOUT_ACCOUNTS_LIVE_MAX`] live accounts is refused. Audited
    /// (`payout-account.add`, masked number only).
    pub async fn payout_account_add(
        &self,
        keyring: &Keyring,
        new: NewPayoutAccount<'_>,
        request_id: &str,
        at_ms: i64,
    ) -> Result<PayoutAccount, FundsError> {
        let NewPayoutAccount {
            account_id,
            number,
            verification_ref,
            evidence,
            debit_token,
        } = new;
        let masked = number.masked().as_str().to_string();
        let mut tx = self.begin_write().await?;
        let live = self
            .payout_accounts_in(&mut tx, keyring, account_id, true)
            .await?;
        if let Some(token) = debit_token {
            bind_method(&mut tx, keyring, account_id, &masked, token, at_ms).await?;
        }
        for (account, sealed) in &live {
            let sealed = Sealed::parse(sealed).map_err(|_| StoreError::Malformed("sealed"))?;
            let known = keyring
                .open_field(aad(&account.id, account_id).as_bytes(), &sealed)
                .map_err(StoreError::from)?;
            if known.as_slice() == number.expose().as_bytes() {
                tx.commit().await.map_err(StoreError::from)?;
                return Ok(account.clone());
            }
        }
        if i64::try_from(live.len()).unwrap_or(i64::MAX) >= PAYOUT_ACCOUNTS_LIVE_MAX {
            return Err(FundsError::Limit("payout accounts per customer"));
        }
        let account = PayoutAccount {
            id: uuid::Uuid::now_v7().to_string(),
            account_id: account_id.to_string(),
            account_masked: masked,
            verification_ref: verification_ref.to_string(),
            verified_at_ms: at_ms,
            created_at_ms: at_ms,
            revoked_at_ms: None,
        };
        let sealed = keyring
            .seal_field(
                aad(&account.id, account_id).as_bytes(),
                number.expose().as_bytes(),
            )
            .map_err(StoreError::from)?
            .to_text();
        let evidence = match evidence {
            Some(evidence) => Some(
                keyring
                    .seal_field(
                        evidence_aad(&account.id).as_bytes(),
                        evidence_text(evidence).as_bytes(),
                    )
                    .map_err(StoreError::from)?
                    .to_text(),
            ),
            None => None,
        };
        let mac = mac_text(
            keyring,
            &mac_parts(&account, &sealed, evidence.as_deref().unwrap_or_default()),
        )?;
        sqlx::query(
            "INSERT INTO payout_accounts (id, account_id, account_masked, number_sealed,
                 verification_ref, verified_at_ms, created_at_ms, revoked_at_ms, record_mac,
                 verification_evidence)
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9)",
        )
        .bind(&account.id)
        .bind(account_id)
        .bind(&account.account_masked)
        .bind(&sealed)
        .bind(&account.verification_ref)
        .bind(at_ms)
        .bind(at_ms)
        .bind(&mac)
        .bind(&evidence)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let actor = format!("account:{account_id}");
        let object = format!("payout-account:{}", account.id);
        audit::append(
            &mut tx,
            &AuditEvent {
                actor: &actor,
                action: "payout-account.add",
                object: &object,
                outcome: Outcome::Success,
                request_id,
                details: &[
                    ("masked", AuditValue::Text(account.account_masked.clone())),
                    (
                        "verification",
                        AuditValue::Text(account.verification_ref.clone()),
                    ),
                ],
            },
            at_ms,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(account)
    }

    /// Removes one of a customer's live payout accounts; refused while a payout to it is
    /// pending or a claim waiting for a decision names it (its approval would pay it). Returns whether a live account was removed (`false` for an unknown, foreign
    /// or removed one). Audited (`payout-account.remove`).
    pub async fn payout_account_remove(
        &self,
        keyring: &Keyring,
        account_id: &str,
        payout_account_id: &str,
        request_id: &str,
        at_ms: i64,
    ) -> Result<bool, FundsError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM payout_accounts WHERE id = $1 AND account_id = $2{}",
            self.backend.for_update()
        )))
        .bind(payout_account_id)
        .bind(account_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let Some(row) = row else {
            return Ok(false);
        };
        let (mut account, sealed) = from_row(keyring, &row)?;
        if account.revoked_at_ms.is_some() {
            return Ok(false);
        }
        let in_use = sqlx::query(
            "SELECT 1 FROM payouts WHERE payout_account_id = $1 AND status = 'pending'
             UNION ALL
             SELECT 1 FROM claims WHERE payout_account_id = $1
                 AND status IN ('filed', 'awaiting_second_approval')",
        )
        .bind(payout_account_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        if in_use.is_some() {
            return Err(FundsError::ClaimRefused(
                "a claim waiting for a decision names this account, or a payout to it is under \
                 way; remove it once the claim is decided and the payout has settled",
            ));
        }
        let evidence: Option<String> = row.try_get(9).map_err(StoreError::from)?;
        account.revoked_at_ms = Some(at_ms);
        let mac = mac_text(
            keyring,
            &mac_parts(&account, &sealed, evidence.as_deref().unwrap_or_default()),
        )?;
        sqlx::query("UPDATE payout_accounts SET revoked_at_ms = $1, record_mac = $2 WHERE id = $3")
            .bind(at_ms)
            .bind(&mac)
            .bind(payout_account_id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        let actor = format!("account:{account_id}");
        let object = format!("payout-account:{payout_account_id}");
        audit::append(
            &mut tx,
            &AuditEvent {
                actor: &actor,
                action: "payout-account.remove",
                object: &object,
                outcome: Outcome::Success,
                request_id,
                details: &[("masked", AuditValue::Text(account.account_masked.clone()))],
            },
            at_ms,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(true)
    }

    /// A customer's live payout accounts, oldest first.
    pub async fn payout_accounts(
        &self,
        keyring: &Keyring,
        account_id: &str,
    ) -> Result<Vec<PayoutAccount>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        Ok(self
            .payout_accounts_in(&mut connection, keyring, account_id, true)
            .await?
            .into_iter()
            .map(|(account, _)| account)
            .collect())
    }

    async fn payout_accounts_in(
        &self,
        connection: &mut sqlx::AnyConnection,
        keyring: &Keyring,
        account_id: &str,
        live_only: bool,
    ) -> Result<Vec<(PayoutAccount, String)>, StoreError> {
        let filter = if live_only {
            " AND revoked_at_ms IS NULL"
        } else {
            ""
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM payout_accounts WHERE account_id = $1{filter}
             ORDER BY created_at_ms, id"
        )))
        .bind(account_id)
        .fetch_all(&mut *connection)
        .await?;
        rows.iter().map(|row| from_row(keyring, row)).collect()
    }

    /// One payout account with its number opened, for the channel; `None` if it is unknown,
    /// not `account_id`'s, or removed.
    pub async fn payout_account_number(
        &self,
        keyring: &Keyring,
        payout_account_id: &str,
        account_id: &str,
    ) -> Result<Option<(PayoutAccount, CardNumber)>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM payout_accounts WHERE id = $1 AND account_id = $2"
        )))
        .bind(payout_account_id)
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let (account, sealed) = from_row(keyring, &row)?;
        if account.revoked_at_ms.is_some() {
            return Ok(None);
        }
        let sealed = Sealed::parse(&sealed).map_err(|_| StoreError::Malformed("sealed"))?;
        let opened = keyring.open_field(aad(&account.id, account_id).as_bytes(), &sealed)?;
        let text = std::str::from_utf8(&opened).map_err(|_| StoreError::Malformed("sealed"))?;
        let number =
            CardNumber::parse(text).map_err(|_| StoreError::Malformed("payout account number"))?;
        Ok(Some((account, number)))
    }
}

/// Whether `payout_account_id` is a live payout account of `account_id`, locking its row on
/// PostgreSQL (a payout about to start holds it against a concurrent removal, which locks it
/// too), inside a transaction.
pub(super) async fn lock_live(
    connection: &mut sqlx::AnyConnection,
    backend: crate::Backend,
    payout_account_id: &str,
    account_id: &str,
) -> Result<bool, StoreError> {
    Ok(sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT 1 FROM payout_accounts WHERE id = $1 AND account_id = $2
         AND revoked_at_ms IS NULL{}",
        backend.for_update()
    )))
    .bind(payout_account_id)
    .bind(account_id)
    .fetch_optional(&mut *connection)
    .await?
    .is_some())
}

impl Store {
    /// The scheduled integrity check of `payout_accounts` (clause 5.6.1-b): every row's record MAC
    /// is recomputed, a page at a time. Returns the ids of the rows that fail: changed outside
    /// inspay, no longer parseable, or under a MAC key that can no longer verify.
    pub async fn payout_accounts_verify(
        &self,
        keyring: &Keyring,
    ) -> Result<Vec<String>, StoreError> {
        crate::record_check::failing_rows(
            &self.pool,
            &format!("SELECT {COLUMNS} FROM payout_accounts"),
            "id",
            |row| from_row(keyring, row).map(|_| ()),
        )
        .await
    }
}
