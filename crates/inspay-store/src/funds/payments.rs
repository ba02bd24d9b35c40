//! Premium payments: begun in one transaction (pending, with an outbox row that resolves it if
//! the channel's answer never comes), settled in another with the instalment, the policy's
//! state, the ledger transfer and the audit entry.

use super::outbox::{self, OutboxKind};
use super::policies::{
    INSTALMENT_COLUMNS, Policy, instalment_from_row, policy_for_update, set_policy_status,
};
use super::refunds::{RefundReason, insert_refund};
use super::{FundsError, InstalmentStatus, check_mac, is_unique_violation, mac_text};
use crate::audit::{self, AuditEvent, AuditValue, Outcome};
use crate::ledger::{self, Subject};
use crate::{Store, StoreError};
use inspay_core::funds::{ChannelOutcome, OrderStatus, Settlement};
use inspay_core::ids::{InstalmentId, PaymentId, PolicyId};
use inspay_core::ledger::Transfer;
use inspay_core::money::Amount;
use inspay_core::policy::{PolicyEvent, PolicyStatus};
use inspay_kms::Keyring;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// How the premium is paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentMethod {
    /// Card details sent once to the channel; only the masked number is kept.
    Card {
        /// First 6 and last 4 digits.
        masked: String,
    },
    /// A card saved earlier (the channel's token, kept sealed).
    Token {
        /// The saved method's id.
        method_id: String,
        /// Its masked number.
        masked: String,
    },
}

impl PaymentMethod {
    fn name(&self) -> &'static str {
        match self {
            PaymentMethod::Card { .. } => "card",
            PaymentMethod::Token { .. } => "token",
        }
    }

    fn masked(&self) -> &str {
        match self {
            PaymentMethod::Card { masked } | PaymentMethod::Token { masked, .. } => masked,
        }
    }
}

/// A payment to begin.
#[derive(Debug, Clone)]
pub struct BeginPayment<'a> {
    /// The policy.
    pub policy_id: &'a PolicyId,
    /// Which premium (1 = the first).
    pub number: u32,
    /// Who pays: must be the policyholder.
    pub account_id: &'a str,
    /// How.
    pub method: PaymentMethod,
    /// When the outbox should ask the channel how it ended, if nobody settled it by then.
    pub resolve_at_ms: i64,
}

/// A premium payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// Id (also the channel order id).
    pub id: PaymentId,
    /// The premium it pays.
    pub instalment_id: InstalmentId,
    /// Which premium.
    pub number: u32,
    /// The policy.
    pub policy_id: PolicyId,
    /// Who paid.
    pub account_id: String,
    /// How much.
    pub amount: Amount,
    /// Where it stands.
    pub status: OrderStatus,
    /// `card` or `token`.
    pub method: String,
    /// The masked card.
    pub card_masked: Option<String>,
    /// The channel's transaction id.
    pub channel_ref: Option<String>,
    /// Why it failed.
    pub failure_code: Option<String>,
    /// When it began.
    pub created_at_ms: i64,
    /// When its outcome was recorded.
    pub settled_at_ms: Option<i64>,
}

/// The channel's answer to record.
#[derive(Debug, Clone)]
pub struct SettleOrder {
    /// Moved or not.
    pub outcome: ChannelOutcome,
    /// The channel's transaction id.
    pub channel_ref: Option<String>,
    /// A fixed failure code (`CARD_DECLINED`...), never free text from outside.
    pub failure_code: Option<String>,
    /// The channel's signature over the answer, kept with the order (clause 5.6.2-d1); `None`
    /// when the outcome was decided without a signed answer (nothing was sent, or the order
    /// never reached the channel).
    pub evidence: Option<super::ChannelEvidence>,
}

/// What settling did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentSettled {
    /// The payment as it now stands.
    pub payment: Payment,
    /// False when the outcome was already recorded (a duplicate answer): nothing was posted.
    pub changed: bool,
    /// The policy's state afterwards.
    pub policy_status: PolicyStatus,
    /// Whether the money paid the premium; false when nothing was due any more (the policy
    /// was cancelled meanwhile, say), in which case a refund was started.
    pub applied: bool,
}

const PAYMENT_COLUMNS: &str = "p.id, p.instalment_id, i.number, p.policy_id, p.account_id, \
     p.amount_fen, p.status, p.method, p.card_masked, p.channel_ref, p.failure_code, \
     p.created_at_ms, p.settled_at_ms, p.record_mac";

fn mac_parts(payment: &Payment) -> Vec<Vec<u8>> {
    [
        "inspay/payment/v1".to_string(),
        payment.id.to_string(),
        payment.instalment_id.to_string(),
        payment.policy_id.to_string(),
        payment.account_id.clone(),
        payment.amount.fen().to_string(),
        payment.status.as_str().to_string(),
        payment.method.clone(),
        payment.card_masked.clone().unwrap_or_default(),
        payment.channel_ref.clone().unwrap_or_default(),
        payment.failure_code.clone().unwrap_or_default(),
        payment.settled_at_ms.unwrap_or(0).to_string(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}

fn payment_from_row(keyring: &Keyring, row: &AnyRow) -> Result<Payment, StoreError> {
    let malformed = || StoreError::Malformed("payment");
    let number: i32 = row.try_get(2)?;
    let status: String = row.try_get(6)?;
    let payment = Payment {
        id: PaymentId::parse(&row.try_get::<String, _>(0)?).map_err(|_| malformed())?,
        instalment_id: InstalmentId::parse(&row.try_get::<String, _>(1)?)
            .map_err(|_| malformed())?,
        number: u32::try_from(number).map_err(|_| malformed())?,
        policy_id: PolicyId::parse(&row.try_get::<String, _>(3)?).map_err(|_| malformed())?,
        account_id: row.try_get(4)?,
        amount: Amount::from_fen(row.try_get(5)?).map_err(|_| malformed())?,
        status: OrderStatus::parse(&status).ok_or_else(malformed)?,
        method: row.try_get(7)?,
        card_masked: row.try_get(8)?,
        channel_ref: row.try_get(9)?,
        failure_code: row.try_get(10)?,
        created_at_ms: row.try_get(11)?,
        settled_at_ms: row.try_get(12)?,
    };
    let mac: String = row.try_get(13)?;
    check_mac(keyring, &mac_parts(&payment), &mac, "a payment")?;
    Ok(payment)
}

pub(super) async fn payment_for_update(
    connection: &mut AnyConnection,
    backend: crate::Backend,
    keyring: &Keyring,
    payment_id: &str,
) -> Result<Payment, FundsError> {
    let lock = match backend {
        crate::Backend::Postgres => " FOR UPDATE OF p",
        crate::Backend::Sqlite => "",
    };
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments p JOIN premium_instalments i ON i.id = p.instalment_id
         WHERE p.id = $1{lock}"
    )))
    .bind(payment_id)
    .fetch_optional(&mut *connection)
    .await
    .map_err(StoreError::from)?
    .ok_or(FundsError::NotFound("payment"))?;
    Ok(payment_from_row(keyring, &row)?)
}

async fn write_payment(
    connection: &mut AnyConnection,
    keyring: &Keyring,
    payment: &Payment,
    insert: bool,
) -> Result<(), sqlx::Error> {
    let mac = mac_text(keyring, &mac_parts(payment))
        .map_err(|error| sqlx::Error::Protocol(format!("record MAC: {error}")))?;
    let sql = if insert {
        "INSERT INTO payments (id, instalment_id, policy_id, account_id, amount_fen, status,
             method, card_masked, channel_ref, failure_code, created_at_ms, settled_at_ms,
             record_mac)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    } else {
        "UPDATE payments SET instalment_id = $2, policy_id = $3, account_id = $4,
             amount_fen = $5, status = $6, method = $7, card_masked = $8, channel_ref = $9,
             failure_code = $10, created_at_ms = $11, settled_at_ms = $12, record_mac = $13
         WHERE id = $1"
    };
    sqlx::query(sql)
        .bind(payment.id.as_str())
        .bind(payment.instalment_id.as_str())
        .bind(payment.policy_id.as_str())
        .bind(&payment.account_id)
        .bind(payment.amount.fen())
        .bind(payment.status.as_str())
        .bind(&payment.method)
        .bind(&payment.card_masked)
        .bind(&payment.channel_ref)
        .bind(&payment.failure_code)
        .bind(payment.created_at_ms)
        .bind(payment.settled_at_ms)
        .bind(&mac)
        .execute(&mut *connection)
        .await?;
    Ok(())
}

impl Store {
    /// Begins paying a premium: checks the policy is the payer's, the premium is due and its
    /// policy can take it, and writes a pending payment with an outbox row that resolves it if
    /// no answer is recorded by `resolve_at_ms`. At most one payment per premium can be pending
    /// or succeeded (a unique index), so one premium is never paid twice.
    pub async fn payment_begin(
        &self,
        keyring: &Keyring,
        begin: BeginPayment<'_>,
        request_id: &str,
        at_ms: i64,
    ) -> Result<Payment, FundsError> {
        let mut tx = self.begin_write().await?;
        let policy = policy_for_update(&mut tx, self.backend, keyring, begin.policy_id).await?;
        if policy.holder_account_id != begin.account_id {
            return Err(FundsError::NotFound("policy"));
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INSTALMENT_COLUMNS} FROM premium_instalments WHERE policy_id = $1 AND number = $2"
        )))
        .bind(policy.id.as_str())
        .bind(i32::try_from(begin.number).unwrap_or(i32::MAX))
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?
        .ok_or(FundsError::NotFound("premium"))?;
        let instalment = instalment_from_row(&row)?;
        if instalment.status != InstalmentStatus::Due {
            return Err(FundsError::InstalmentNotDue);
        }
        let event = if begin.number == 1 {
            PolicyEvent::FirstPremiumPaid
        } else {
            PolicyEvent::RenewalPaid
        };
        policy.status.on(event)?;
        if instalment.amount != policy.terms.premium() {
            return Err(StoreError::Integrity(
                "a premium instalment's amount differs from its policy's premium; investigate \
                 (clause 5.6.1-b)"
                    .into(),
            )
            .into());
        }
        let payment = Payment {
            id: PaymentId::generate(),
            instalment_id: instalment.id.clone(),
            number: instalment.number,
            policy_id: policy.id.clone(),
            account_id: begin.account_id.to_string(),
            amount: instalment.amount,
            status: OrderStatus::Pending,
            method: begin.method.name().to_string(),
            card_masked: Some(begin.method.masked().to_string()),
            channel_ref: None,
            failure_code: None,
            created_at_ms: at_ms,
            settled_at_ms: None,
        };
        match write_payment(&mut tx, keyring, &payment, true).await {
            Err(error) if is_unique_violation(&error) => return Err(FundsError::PaymentInProgress),
            other => other.map_err(StoreError::from)?,
        }
        outbox::insert(
            &mut tx,
            OutboxKind::ResolvePayment,
            payment.id.as_str(),
            begin.resolve_at_ms,
            at_ms,
        )
        .await?;
        audit_payment(
            &mut tx,
            &payment,
            "payment.begin",
            Outcome::Success,
            request_id,
            at_ms,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(payment)
    }

    /// Records the channel's answer for a payment. A duplicate answer changes nothing; a
    /// contradicting one is refused. On success the premium is marked paid, the policy moves
    /// (applied → active), the premium is posted to the ledger and the card token, if any, is
    /// saved sealed; all in one transaction.
    pub async fn payment_settle(
        &self,
        keyring: &Keyring,
        payment_id: &PaymentId,
        answer: &SettleOrder,
        card_token: Option<&str>,
        request_id: &str,
        at_ms: i64,
    ) -> Result<PaymentSettled, FundsError> {
        let mut tx = self.begin_write().await?;
        // The policy's row is locked before the payment's, the order cancellation takes too,
        // so a settlement and a cancellation of one policy never wait for each other in a cycle.
        let policy_id: String = sqlx::query("SELECT policy_id FROM payments WHERE id = $1")
            .bind(payment_id.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from)?
            .ok_or(FundsError::NotFound("payment"))?
            .try_get(0)
            .map_err(StoreError::from)?;
        let policy_id =
            PolicyId::parse(&policy_id).map_err(|_| StoreError::Malformed("payment policy id"))?;
        let policy = policy_for_update(&mut tx, self.backend, keyring, &policy_id).await?;
        let mut payment =
            payment_for_update(&mut tx, self.backend, keyring, payment_id.as_str()).await?;
        let next = match payment.status.settle(answer.outcome)? {
            Settlement::AlreadySo => {
                let applied = applied(&mut tx, &payment).await?;
                return Ok(PaymentSettled {
                    payment,
                    changed: false,
                    policy_status: policy.status,
                    applied,
                });
            }
            Settlement::Changed(next) => next,
        };
        payment.status = next;
        payment.channel_ref = answer.channel_ref.clone();
        payment.failure_code = answer.failure_code.clone();
        payment.settled_at_ms = Some(at_ms);
        write_payment(&mut tx, keyring, &payment, false)
            .await
            .map_err(StoreError::from)?;
        outbox::finish(
            &mut tx,
            OutboxKind::ResolvePayment,
            payment.id.as_str(),
            at_ms,
        )
        .await?;
        if let Some(evidence) = &answer.evidence {
            super::evidence::insert(
                &mut tx,
                keyring,
                "payment",
                payment.id.as_str(),
                evidence,
                at_ms,
            )
            .await?;
        }
        let (policy_status, applied) = if next == OrderStatus::Succeeded {
            let result =
                apply_premium(&mut tx, keyring, &policy, &payment, request_id, at_ms).await?;
            if let Some(token) = card_token {
                save_method(&mut tx, keyring, &payment, token, at_ms).await?;
            }
            result
        } else {
            (policy.status, false)
        };
        let (action, outcome) = match next {
            OrderStatus::Succeeded => ("payment.succeeded", Outcome::Success),
            _ => ("payment.failed", Outcome::Failure),
        };
        audit_payment(&mut tx, &payment, action, outcome, request_id, at_ms).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(PaymentSettled {
            payment,
            changed: true,
            policy_status,
            applied,
        })
    }

    /// One payment; with `account`, only if it is that account's.
    pub async fn payment(
        &self,
        keyring: &Keyring,
        payment_id: &PaymentId,
        account: Option<&str>,
    ) -> Result<Payment, FundsError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments p JOIN premium_instalments i ON i.id = p.instalment_id
             WHERE p.id = $1"
        )))
        .bind(payment_id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from)?
        .ok_or(FundsError::NotFound("payment"))?;
        let payment = payment_from_row(keyring, &row)?;
        if account.is_some_and(|account| account != payment.account_id) {
            return Err(FundsError::NotFound("payment"));
        }
        Ok(payment)
    }

    /// A saved card of `account`: its masked number and the channel's token, opened from its
    /// sealed form. `None` if there is no such live method of this account.
    pub async fn payment_method(
        &self,
        keyring: &Keyring,
        account_id: &str,
        method_id: &str,
    ) -> Result<Option<(String, zeroize::Zeroizing<String>)>, StoreError> {
        let row = sqlx::query(
            "SELECT card_masked, token_sealed FROM payment_methods
             WHERE id = $1 AND account_id = $2 AND revoked_at_ms IS NULL",
        )
        .bind(method_id)
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let sealed: String = row.try_get(1)?;
        let aad = method_aad(method_id, account_id);
        let sealed = inspay_kms::sealed::Sealed::parse(&sealed)?;
        // The account is bound into the associated data: a row moved to another account
        // cannot be opened there (clause 5.6.1-b).
        let token = keyring.open_field(aad.as_bytes(), &sealed).map_err(|_| {
            StoreError::Integrity(
                "a saved card's token could not be opened: the row was changed outside inspay \
                 (moved to another account?) or its key is unavailable; investigate (clause 5.6.1-b)"
                    .into(),
            )
        })?;
        let token = String::from_utf8(token.to_vec())
            .map_err(|_| StoreError::Malformed("payment method token"))?;
        Ok(Some((row.try_get(0)?, zeroize::Zeroizing::new(token))))
    }

    /// An account's live saved cards: (id, masked number), newest first.
    pub async fn payment_methods(
        &self,
        account_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, card_masked FROM payment_methods
             WHERE account_id = $1 AND revoked_at_ms IS NULL ORDER BY created_at_ms DESC, id DESC",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect()
    }

    /// Premium payments an account began since `since_ms` that succeeded or may still
    /// succeed: (count, total fen), for the daily limits (clause 5.3.3.4-b).
    pub async fn premium_payments_since(
        &self,
        account_id: &str,
        since_ms: i64,
    ) -> Result<(i64, i64), StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*), CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM payments
             WHERE account_id = $1 AND created_at_ms >= $2 AND status IN ('pending', 'succeeded')",
        )
        .bind(account_id)
        .bind(since_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    /// How many of a customer's policies were cancelled since `since_ms` (for the daily limit
    /// on cancellations: each one sends money back).
    pub async fn policies_cancelled_since(
        &self,
        account_id: &str,
        since_ms: i64,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query(
            "SELECT COUNT(*) FROM policies
             WHERE holder_account_id = $1 AND status = 'cancelled' AND updated_at_ms >= $2",
        )
        .bind(account_id)
        .bind(since_ms)
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?)
    }

    /// A policy's payments, oldest first.
    pub async fn payments_of_policy(
        &self,
        keyring: &Keyring,
        policy_id: &PolicyId,
    ) -> Result<Vec<Payment>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments p JOIN premium_instalments i ON i.id = p.instalment_id
             WHERE p.policy_id = $1 ORDER BY p.created_at_ms, p.id"
        )))
        .bind(policy_id.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| payment_from_row(keyring, row))
            .collect()
    }
}

/// Whether this payment paid its instalment.
async fn applied(connection: &mut AnyConnection, payment: &Payment) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT paid_by FROM premium_instalments WHERE id = $1")
        .bind(payment.instalment_id.as_str())
        .fetch_one(&mut *connection)
        .await?;
    let paid_by: Option<String> = row.try_get(0)?;
    Ok(paid_by.as_deref() == Some(payment.id.as_str()))
}

/// Applies a succeeded payment to its premium, or, when nothing is due any more, holds the
/// money for the customer and starts its refund.
async fn apply_premium(
    connection: &mut AnyConnection,
    keyring: &Keyring,
    policy: &Policy,
    payment: &Payment,
    request_id: &str,
    at_ms: i64,
) -> Result<(PolicyStatus, bool), FundsError> {
    let event = if payment.number == 1 {
        PolicyEvent::FirstPremiumPaid
    } else {
        PolicyEvent::RenewalPaid
    };
    let subject = Subject {
        kind: "payment",
        id: payment.id.as_str(),
    };
    let customer = &payment.account_id;
    let marked = sqlx::query(
        "UPDATE premium_instalments SET status = 'paid', paid_by = $1, paid_at_ms = $2
         WHERE id = $3 AND status = 'due'",
    )
    .bind(payment.id.as_str())
    .bind(at_ms)
    .bind(payment.instalment_id.as_str())
    .execute(&mut *connection)
    .await
    .map_err(StoreError::from)?;
    let next = policy.status.on(event);
    match next {
        Ok(next) if marked.rows_affected() == 1 => {
            if next != policy.status {
                set_policy_status(connection, keyring, policy, next, at_ms).await?;
            }
            let transfer = Transfer::premium_received(customer, payment.amount)
                .map_err(|_| StoreError::Refused("ledger account"))?;
            ledger::post(connection, keyring, &transfer, subject, request_id, at_ms).await?;
            Ok((next, true))
        }
        _ => {
            // Money arrived that nothing needs: keep it for the customer and send it back.
            let transfer = Transfer::overpayment_received(customer, payment.amount)
                .map_err(|_| StoreError::Refused("ledger account"))?;
            ledger::post(connection, keyring, &transfer, subject, request_id, at_ms).await?;
            insert_refund(
                connection,
                keyring,
                payment,
                payment.amount,
                RefundReason::Overpayment,
                "system",
                request_id,
                at_ms,
            )
            .await?;
            Ok((policy.status, false))
        }
    }
}

/// The associated data a saved card's token is sealed with: its row and its account.
fn method_aad(method_id: &str, account_id: &str) -> String {
    format!("payment_methods|token_sealed|{method_id}|{account_id}")
}

async fn save_method(
    connection: &mut AnyConnection,
    keyring: &Keyring,
    payment: &Payment,
    token: &str,
    at_ms: i64,
) -> Result<(), StoreError> {
    let masked = payment.card_masked.clone().unwrap_or_default();
    bind_method(
        connection,
        keyring,
        &payment.account_id,
        &masked,
        token,
        at_ms,
    )
    .await
}

/// Saves a token the channel gave for a card or bank account of `account_id` (a card charged,
/// or a bank account verified for direct debit), sealed, inside the caller's transaction. One
/// saved method per card or account: one already saved keeps its first token.
pub(super) async fn bind_method(
    connection: &mut AnyConnection,
    keyring: &Keyring,
    account_id: &str,
    masked: &str,
    token: &str,
    at_ms: i64,
) -> Result<(), StoreError> {
    let known = sqlx::query(
        "SELECT COUNT(*) FROM payment_methods
         WHERE account_id = $1 AND card_masked = $2 AND revoked_at_ms IS NULL",
    )
    .bind(account_id)
    .bind(masked)
    .fetch_one(&mut *connection)
    .await?;
    if known.try_get::<i64, _>(0)? > 0 {
        return Ok(());
    }
    let id = uuid::Uuid::now_v7().to_string();
    let aad = method_aad(&id, account_id);
    let sealed = keyring
        .seal_field(aad.as_bytes(), token.as_bytes())?
        .to_text();
    sqlx::query(
        "INSERT INTO payment_methods (id, account_id, card_masked, token_sealed, created_at_ms)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(account_id)
    .bind(masked)
    .bind(&sealed)
    .bind(at_ms)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

async fn audit_payment(
    connection: &mut AnyConnection,
    payment: &Payment,
    action: &str,
    outcome: Outcome,
    request_id: &str,
    at_ms: i64,
) -> Result<(), StoreError> {
    let actor = format!("account:{}", payment.account_id);
    let object = format!("payment:{}", payment.id);
    let mut details = vec![
        (
            "policy",
            AuditValue::Id(format!("policy:{}", payment.policy_id)),
        ),
        ("amount_fen", AuditValue::Number(payment.amount.fen())),
        ("instalment", AuditValue::Number(i64::from(payment.number))),
    ];
    if let Some(code) = &payment.failure_code {
        details.push(("failure", AuditValue::Text(code.clone())));
    }
    audit::append(
        connection,
        &AuditEvent {
            actor: &actor,
            action,
            object: &object,
            outcome,
            request_id,
            details: &details,
        },
        at_ms,
    )
    .await?;
    Ok(())
}

impl Store {
    /// The scheduled integrity check of `payments` (clause 5.6.1-b): every row's record MAC
    /// is recomputed, a page at a time. Returns the ids of the rows that fail: changed outside
    /// inspay, no longer parseable, or under a MAC key that can no longer verify.
    pub async fn payments_verify(&self, keyring: &Keyring) -> Result<Vec<String>, StoreError> {
        let select = format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments p
             JOIN premium_instalments i ON i.id = p.instalment_id"
        );
        crate::record_check::failing_rows(&self.pool, &select, "p.id", |row| {
            payment_from_row(keyring, row).map(|_| ())
        })
        .await
    }
}
