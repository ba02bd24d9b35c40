//! Products, policies and premium schedules.

use super::{FundsError, check_mac, is_unique_violation, mac_text};
use crate::audit::{self, AuditEvent, AuditValue, Outcome};
use crate::{Store, StoreError};
use inspay_core::calendar::{date_text, parse_date};
use inspay_core::ids::{InstalmentId, PolicyId, ProductId};
use inspay_core::money::Amount;
use inspay_core::policy::{PaymentFrequency, PolicyStatus, ProductTerms};
use inspay_kms::Keyring;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::Date;

/// A product to put on sale.
#[derive(Debug, Clone)]
pub struct NewProduct {
    /// Short unique code, such as `TERM-LIFE-10`.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Its terms.
    pub terms: ProductTerms,
}

/// A product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// Id.
    pub id: ProductId,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Terms.
    pub terms: ProductTerms,
    /// Whether new policies may be written on it.
    pub on_sale: bool,
    /// When it was created.
    pub created_at_ms: i64,
}

/// A policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Id.
    pub id: PolicyId,
    /// The product it was written on.
    pub product_id: ProductId,
    /// The policyholder's account.
    pub holder_account_id: String,
    /// Where it stands.
    pub status: PolicyStatus,
    /// First day of cover.
    pub start_on: Date,
    /// Day after the last day of cover.
    pub end_on: Date,
    /// The terms, as they were when it was applied for.
    pub terms: ProductTerms,
    /// When it was applied for.
    pub created_at_ms: i64,
    /// When it last changed.
    pub updated_at_ms: i64,
}

/// Whether a premium is still to pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstalmentStatus {
    /// To pay.
    Due,
    /// Paid.
    Paid,
    /// No longer owed (the policy ended before it fell due).
    Void,
}

impl InstalmentStatus {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "due" => Some(Self::Due),
            "paid" => Some(Self::Paid),
            "void" => Some(Self::Void),
            _ => None,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Due => "due",
            Self::Paid => "paid",
            Self::Void => "void",
        }
    }
}

/// One premium of a policy's schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instalment {
    /// Id.
    pub id: InstalmentId,
    /// The policy.
    pub policy_id: PolicyId,
    /// 1 for the first premium.
    pub number: u32,
    /// Due date.
    pub due_on: Date,
    /// First day it covers.
    pub period_start: Date,
    /// Day after the last day it covers.
    pub period_end: Date,
    /// How much.
    pub amount: Amount,
    /// Paid or not.
    pub status: InstalmentStatus,
    /// The payment that paid it.
    pub paid_by: Option<String>,
}

fn product_mac_parts(id: &str, code: &str, name: &str, terms: &ProductTerms) -> Vec<Vec<u8>> {
    [
        "inspay/product/v1".to_string(),
        id.to_string(),
        code.to_string(),
        name.to_string(),
        terms_text(terms),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}

fn terms_text(terms: &ProductTerms) -> String {
    format!(
        "{}|{}|{}|{}|{}",
        terms.cover().fen(),
        terms.premium().fen(),
        terms.frequency().as_str(),
        terms.term_months(),
        terms.grace_days()
    )
}

pub(super) fn policy_mac_parts(
    id: &str,
    product_id: &str,
    holder: &str,
    status: PolicyStatus,
    start_on: Date,
    terms: &ProductTerms,
    updated_at_ms: i64,
) -> Vec<Vec<u8>> {
    [
        "inspay/policy/v1".to_string(),
        id.to_string(),
        product_id.to_string(),
        holder.to_string(),
        status.as_str().to_string(),
        date_text(start_on),
        terms_text(terms),
        updated_at_ms.to_string(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}

fn terms_from_row(row: &AnyRow, first: usize) -> Result<ProductTerms, StoreError> {
    let malformed = || StoreError::Malformed("product terms");
    let amount = |index: usize| -> Result<Amount, StoreError> {
        Amount::from_fen(row.try_get(index)?).map_err(|_| malformed())
    };
    let frequency: String = row.try_get(first + 2)?;
    let term_months: i32 = row.try_get(first + 3)?;
    let grace_days: i32 = row.try_get(first + 4)?;
    ProductTerms::new(
        amount(first)?,
        amount(first + 1)?,
        PaymentFrequency::parse(&frequency).ok_or_else(malformed)?,
        u32::try_from(term_months).map_err(|_| malformed())?,
        u32::try_from(grace_days).map_err(|_| malformed())?,
    )
    .map_err(|_| malformed())
}

const PRODUCT_COLUMNS: &str = "id, code, name, cover_fen, premium_fen, frequency, term_months, \
     grace_days, status, created_at_ms, record_mac";

fn product_from_row(keyring: &Keyring, row: &AnyRow) -> Result<Product, StoreError> {
    let id: String = row.try_get(0)?;
    let code: String = row.try_get(1)?;
    let name: String = row.try_get(2)?;
    let terms = terms_from_row(row, 3)?;
    let mac: String = row.try_get(10)?;
    check_mac(
        keyring,
        &product_mac_parts(&id, &code, &name, &terms),
        &mac,
        "a product",
    )?;
    let status: String = row.try_get(8)?;
    Ok(Product {
        id: ProductId::parse(&id).map_err(|_| StoreError::Malformed("product id"))?,
        code,
        name,
        terms,
        on_sale: status == "on_sale",
        created_at_ms: row.try_get(9)?,
    })
}

pub(super) const POLICY_COLUMNS: &str = "id, product_id, holder_account_id, status, start_on, \
     end_on, cover_fen, premium_fen, frequency, term_months, grace_days, created_at_ms, \
     updated_at_ms, record_mac";

pub(super) fn policy_from_row(keyring: &Keyring, row: &AnyRow) -> Result<Policy, StoreError> {
    let malformed = |what| StoreError::Malformed(what);
    let id: String = row.try_get(0)?;
    let product_id: String = row.try_get(1)?;
    let holder: String = row.try_get(2)?;
    let status: String = row.try_get(3)?;
    let status = PolicyStatus::parse(&status).ok_or(malformed("policy status"))?;
    let start_on = parse_date(&row.try_get::<String, _>(4)?).ok_or(malformed("policy date"))?;
    let end_on = parse_date(&row.try_get::<String, _>(5)?).ok_or(malformed("policy date"))?;
    let terms = terms_from_row(row, 6)?;
    let updated_at_ms: i64 = row.try_get(12)?;
    let mac: String = row.try_get(13)?;
    check_mac(
        keyring,
        &policy_mac_parts(
            &id,
            &product_id,
            &holder,
            status,
            start_on,
            &terms,
            updated_at_ms,
        ),
        &mac,
        "a policy",
    )?;
    Ok(Policy {
        id: PolicyId::parse(&id).map_err(|_| malformed("policy id"))?,
        product_id: ProductId::parse(&product_id).map_err(|_| malformed("product id"))?,
        holder_account_id: holder,
        status,
        start_on,
        end_on,
        terms,
        created_at_ms: row.try_get(11)?,
        updated_at_ms,
    })
}

pub(super) const INSTALMENT_COLUMNS: &str =
    "id, policy_id, number, due_on, period_start, period_end, amount_fen, status, paid_by";

pub(super) fn instalment_from_row(row: &AnyRow) -> Result<Instalment, StoreError> {
    let malformed = || StoreError::Malformed("premium instalment");
    let date = |index: usize| -> Result<Date, StoreError> {
        parse_date(&row.try_get::<String, _>(index)?).ok_or_else(malformed)
    };
    let number: i32 = row.try_get(2)?;
    let status: String = row.try_get(7)?;
    Ok(Instalment {
        id: InstalmentId::parse(&row.try_get::<String, _>(0)?).map_err(|_| malformed())?,
        policy_id: PolicyId::parse(&row.try_get::<String, _>(1)?).map_err(|_| malformed())?,
        number: u32::try_from(number).map_err(|_| malformed())?,
        due_on: date(3)?,
        period_start: date(4)?,
        period_end: date(5)?,
        amount: Amount::from_fen(row.try_get(6)?).map_err(|_| malformed())?,
        status: InstalmentStatus::parse(&status).ok_or_else(malformed)?,
        paid_by: row.try_get(8)?,
    })
}

/// Reads a policy inside a transaction, locking its row on PostgreSQL.
pub(super) async fn policy_for_update(
    connection: &mut AnyConnection,
    backend: crate::Backend,
    keyring: &Keyring,
    policy_id: &PolicyId,
) -> Result<Policy, FundsError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {POLICY_COLUMNS} FROM policies WHERE id = $1{}",
        backend.for_update()
    )))
    .bind(policy_id.as_str())
    .fetch_optional(&mut *connection)
    .await
    .map_err(StoreError::from)?
    .ok_or(FundsError::NotFound("policy"))?;
    Ok(policy_from_row(keyring, &row)?)
}

/// Moves a policy to a new state inside a transaction, with a fresh record MAC.
pub(super) async fn set_policy_status(
    connection: &mut AnyConnection,
    keyring: &Keyring,
    policy: &Policy,
    status: PolicyStatus,
    at_ms: i64,
) -> Result<(), StoreError> {
    let mac = mac_text(
        keyring,
        &policy_mac_parts(
            policy.id.as_str(),
            policy.product_id.as_str(),
            &policy.holder_account_id,
            status,
            policy.start_on,
            &policy.terms,
            at_ms,
        ),
    )?;
    sqlx::query(
        "UPDATE policies SET status = $1, updated_at_ms = $2, record_mac = $3 WHERE id = $4",
    )
    .bind(status.as_str())
    .bind(at_ms)
    .bind(&mac)
    .bind(policy.id.as_str())
    .execute(&mut *connection)
    .await?;
    Ok(())
}

impl Store {
    /// Puts a product on sale.
    pub async fn product_create(
        &self,
        keyring: &Keyring,
        product: &NewProduct,
        actor: &str,
        request_id: &str,
        at_ms: i64,
    ) -> Result<Product, FundsError> {
        let id = ProductId::generate();
        let terms = &product.terms;
        let mac = mac_text(
            keyring,
            &product_mac_parts(id.as_str(), &product.code, &product.name, terms),
        )?;
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO products (id, code, name, cover_fen, premium_fen, frequency, term_months,
                 grace_days, status, created_by, created_at_ms, record_mac)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'on_sale', $9, $10, $11)",
        )
        .bind(id.as_str())
        .bind(&product.code)
        .bind(&product.name)
        .bind(terms.cover().fen())
        .bind(terms.premium().fen())
        .bind(terms.frequency().as_str())
        .bind(i32::try_from(terms.term_months()).unwrap_or(i32::MAX))
        .bind(i32::try_from(terms.grace_days()).unwrap_or(i32::MAX))
        .bind(actor)
        .bind(at_ms)
        .bind(&mac)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(error) if is_unique_violation(&error) => return Err(FundsError::ProductCodeTaken),
            other => other.map_err(StoreError::from)?,
        };
        let object = format!("product:{id}");
        audit::append(
            &mut tx,
            &AuditEvent {
                actor,
                action: "product.create",
                object: &object,
                outcome: Outcome::Success,
                request_id,
                details: &[
                    ("cover_fen", AuditValue::Number(terms.cover().fen())),
                    ("premium_fen", AuditValue::Number(terms.premium().fen())),
                    ("frequency", AuditValue::Word(terms.frequency().as_str())),
                ],
            },
            at_ms,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Product {
            id,
            code: product.code.clone(),
            name: product.name.clone(),
            terms: *terms,
            on_sale: true,
            created_at_ms: at_ms,
        })
    }

    /// Every product, on sale or not, in code order.
    pub async fn products(&self, keyring: &Keyring) -> Result<Vec<Product>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PRODUCT_COLUMNS} FROM products ORDER BY code"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| product_from_row(keyring, row))
            .collect()
    }

    /// One product.
    pub async fn product(&self, keyring: &Keyring, id: &ProductId) -> Result<Product, FundsError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PRODUCT_COLUMNS} FROM products WHERE id = $1"
        )))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from)?
        .ok_or(FundsError::NotFound("product"))?;
        Ok(product_from_row(keyring, &row)?)
    }

    /// Applies for a policy (投保): the policy starts `applied`, with its premium schedule,
    /// and becomes active when the first premium is paid.
    pub async fn policy_apply(
        &self,
        keyring: &Keyring,
        holder_account_id: &str,
        product_id: &ProductId,
        start_on: Date,
        request_id: &str,
        at_ms: i64,
    ) -> Result<(Policy, Vec<Instalment>), FundsError> {
        let product = self.product(keyring, product_id).await?;
        if !product.on_sale {
            return Err(FundsError::ProductWithdrawn);
        }
        let terms = product.terms;
        let policy = Policy {
            id: PolicyId::generate(),
            product_id: product.id.clone(),
            holder_account_id: holder_account_id.to_string(),
            status: PolicyStatus::Applied,
            start_on,
            end_on: terms.end_date(start_on),
            terms,
            created_at_ms: at_ms,
            updated_at_ms: at_ms,
        };
        let mac = mac_text(
            keyring,
            &policy_mac_parts(
                policy.id.as_str(),
                product.id.as_str(),
                holder_account_id,
                policy.status,
                start_on,
                &terms,
                at_ms,
            ),
        )?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO policies (id, product_id, holder_account_id, status, start_on, end_on,
                 cover_fen, premium_fen, frequency, term_months, grace_days, created_at_ms,
                 updated_at_ms, record_mac)
             VALUES ($1, $2, $3, 'applied', $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)",
        )
        .bind(policy.id.as_str())
        .bind(product.id.as_str())
        .bind(holder_account_id)
        .bind(date_text(start_on))
        .bind(date_text(policy.end_on))
        .bind(terms.cover().fen())
        .bind(terms.premium().fen())
        .bind(terms.frequency().as_str())
        .bind(i32::try_from(terms.term_months()).unwrap_or(i32::MAX))
        .bind(i32::try_from(terms.grace_days()).unwrap_or(i32::MAX))
        .bind(at_ms)
        .bind(&mac)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let mut instalments = Vec::new();
        for scheduled in terms.schedule(start_on) {
            let instalment = Instalment {
                id: InstalmentId::generate(),
                policy_id: policy.id.clone(),
                number: scheduled.number,
                due_on: scheduled.due_on,
                period_start: scheduled.period_start,
                period_end: scheduled.period_end,
                amount: scheduled.amount,
                status: InstalmentStatus::Due,
                paid_by: None,
            };
            sqlx::query(
                "INSERT INTO premium_instalments (id, policy_id, number, due_on, period_start,
                     period_end, amount_fen, status)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'due')",
            )
            .bind(instalment.id.as_str())
            .bind(policy.id.as_str())
            .bind(i32::try_from(instalment.number).unwrap_or(i32::MAX))
            .bind(date_text(instalment.due_on))
            .bind(date_text(instalment.period_start))
            .bind(date_text(instalment.period_end))
            .bind(instalment.amount.fen())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
            instalments.push(instalment);
        }
        let actor = format!("account:{holder_account_id}");
        let object = format!("policy:{}", policy.id);
        audit::append(
            &mut tx,
            &AuditEvent {
                actor: &actor,
                action: "policy.apply",
                object: &object,
                outcome: Outcome::Success,
                request_id,
                details: &[
                    ("product", AuditValue::Id(format!("product:{}", product.id))),
                    ("premium_fen", AuditValue::Number(terms.premium().fen())),
                ],
            },
            at_ms,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok((policy, instalments))
    }

    /// One policy, if `holder` is its policyholder (or `None` for staff, who see all).
    pub async fn policy(
        &self,
        keyring: &Keyring,
        policy_id: &PolicyId,
        holder: Option<&str>,
    ) -> Result<Policy, FundsError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {POLICY_COLUMNS} FROM policies WHERE id = $1"
        )))
        .bind(policy_id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from)?
        .ok_or(FundsError::NotFound("policy"))?;
        let policy = policy_from_row(keyring, &row)?;
        if holder.is_some_and(|holder| holder != policy.holder_account_id) {
            return Err(FundsError::NotFound("policy"));
        }
        Ok(policy)
    }

    /// A policyholder's policies, newest first, at most `limit`.
    pub async fn policies_of(
        &self,
        keyring: &Keyring,
        holder: &str,
        limit: i64,
    ) -> Result<Vec<Policy>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {POLICY_COLUMNS} FROM policies WHERE holder_account_id = $1
             ORDER BY created_at_ms DESC, id DESC LIMIT $2"
        )))
        .bind(holder)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| policy_from_row(keyring, row))
            .collect()
    }

    /// One premium of a policy's schedule.
    pub async fn instalment(
        &self,
        policy_id: &PolicyId,
        number: u32,
    ) -> Result<Option<Instalment>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INSTALMENT_COLUMNS} FROM premium_instalments WHERE policy_id = $1 AND number = $2"
        )))
        .bind(policy_id.as_str())
        .bind(i32::try_from(number).unwrap_or(i32::MAX))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(instalment_from_row).transpose()
    }

    /// A policy's premium schedule, in order.
    pub async fn instalments(&self, policy_id: &PolicyId) -> Result<Vec<Instalment>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INSTALMENT_COLUMNS} FROM premium_instalments WHERE policy_id = $1 ORDER BY number"
        )))
        .bind(policy_id.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(instalment_from_row).collect()
    }
}

impl Store {
    /// The scheduled integrity check of `products` (clause 5.6.1-b): every row's record MAC
    /// is recomputed, a page at a time. Returns the ids of the rows that fail: changed outside
    /// inspay, no longer parseable, or under a MAC key that can no longer verify.
    pub async fn products_verify(&self, keyring: &Keyring) -> Result<Vec<String>, StoreError> {
        crate::record_check::failing_rows(
            &self.pool,
            &format!("SELECT {PRODUCT_COLUMNS} FROM products"),
            "id",
            |row| product_from_row(keyring, row).map(|_| ()),
        )
        .await
    }
}

impl Store {
    /// The scheduled integrity check of `policies` (clause 5.6.1-b): every row's record MAC
    /// is recomputed, a page at a time. Returns the ids of the rows that fail: changed outside
    /// inspay, no longer parseable, or under a MAC key that can no longer verify.
    pub async fn policies_verify(&self, keyring: &Keyring) -> Result<Vec<String>, StoreError> {
        crate::record_check::failing_rows(
            &self.pool,
            &format!("SELECT {POLICY_COLUMNS} FROM policies"),
            "id",
            |row| policy_from_row(keyring, row).map(|_| ()),
        )
        .await
    }
}
