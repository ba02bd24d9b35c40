//! The client-application registry (clauses 5.4.2.1, 4-a, 6.4.5, 6.4.6): which applications
//! may call the API, the highest operation class each may call, the SM2 keys they sign with
//! (numbered by serial, several live during a rotation), the client certificate they must
//! present on the mutual-TLS listener, and the oldest SDK version they may still use.
//!
//! Every change is audited under the operator who made it (`client-app.*`). Look-ups for a
//! request ([`Store::client_app_key`]) are one read; the SDK an application reports is written
//! back only when it changes or once a minute ([`Store::client_app_seen`]).

use crate::audit::{AuditEvent, AuditValue, Outcome, append};
use crate::keys::Actor;
use crate::{Store, StoreError};
use inspay_crypto::sm2::Sm2PublicKey;
use sqlx::Row;

/// The highest operation class an application may call (clause 4-a), lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AppClass {
    /// 资讯查询类: reads only.
    InformationQuery,
    /// 信息采集类: reads and collects personal information.
    InformationCollection,
    /// 资金交易类: everything, fund transactions included.
    FundTransaction,
}

impl AppClass {
    /// Every class, lowest first.
    pub const ALL: [AppClass; 3] = [
        AppClass::InformationQuery,
        AppClass::InformationCollection,
        AppClass::FundTransaction,
    ];

    /// Stable name.
    pub const fn name(self) -> &'static str {
        match self {
            AppClass::InformationQuery => "information-query",
            AppClass::InformationCollection => "information-collection",
            AppClass::FundTransaction => "fund-transaction",
        }
    }

    /// Parses a name.
    pub fn parse(name: &str) -> Option<AppClass> {
        AppClass::ALL.into_iter().find(|class| class.name() == name)
    }
}

/// An application's state. `Revoked` is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppStatus {
    /// May call the API.
    Active,
    /// Refused until resumed.
    Suspended,
    /// Refused for ever.
    Revoked,
}

impl AppStatus {
    /// Stable name.
    pub const fn name(self) -> &'static str {
        match self {
            AppStatus::Active => "active",
            AppStatus::Suspended => "suspended",
            AppStatus::Revoked => "revoked",
        }
    }

    fn parse(name: &str) -> Option<AppStatus> {
        [AppStatus::Active, AppStatus::Suspended, AppStatus::Revoked]
            .into_iter()
            .find(|status| status.name() == name)
    }
}

/// Longest application id.
pub const APP_ID_CHARS_MAX: usize = 64;
/// Longest display name.
pub const APP_NAME_CHARS_MAX: usize = 128;
/// Longest SDK report kept (`name/version`).
pub const SDK_CHARS_MAX: usize = 96;
/// How often, at most, an unchanged SDK report is written back.
pub const SEEN_WRITE_INTERVAL_MS: i64 = 60_000;

/// A registered application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientApp {
    /// Its identifier, as sent in `app_id`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Highest class it may call.
    pub class: AppClass,
    /// State.
    pub status: AppStatus,
    /// SM3 (hex) of the client certificate it must present, if mutual TLS is required.
    pub tls_fingerprint: Option<String>,
    /// Oldest SDK version allowed (`major.minor.patch`).
    pub sdk_version_min: Option<String>,
    /// The SDK it last reported.
    pub last_sdk: Option<String>,
    /// When it was last seen.
    pub last_seen_at_ms: Option<i64>,
    /// When it was registered.
    pub created_at_ms: i64,
}

/// One of an application's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppKey {
    /// Serial within the application.
    pub serial: u32,
    /// The public key.
    pub public_key: Sm2PublicKey,
    /// `sm3:` and the SM3 of the SPKI DER.
    pub fingerprint: String,
    /// When it was added.
    pub created_at_ms: i64,
    /// When it was revoked, if it was.
    pub revoked_at_ms: Option<i64>,
}

/// What a request's verification needs: the application and the key its header names.
#[derive(Debug, Clone)]
pub struct AppKeyLookup {
    /// The application.
    pub app: ClientApp,
    /// The key with the serial asked for, if the application has one.
    pub key: Option<AppKey>,
}

/// A new application.
#[derive(Debug, Clone)]
pub struct NewClientApp<'a> {
    /// Identifier: 1 to 64 characters of `A-Z a-z 0-9 - _`.
    pub id: &'a str,
    /// Display name, 1 to 128 characters.
    pub name: &'a str,
    /// Highest class.
    pub class: AppClass,
    /// Its first key (serial 1).
    pub public_key: &'a Sm2PublicKey,
    /// Client certificate SM3, hex, if mutual TLS is required.
    pub tls_fingerprint: Option<&'a str>,
    /// Oldest SDK version allowed.
    pub sdk_version_min: Option<&'a str>,
}

/// Checks an application id's shape (the protocol's `app_id` rule).
pub fn valid_app_id(id: &str) -> bool {
    (1..=APP_ID_CHARS_MAX).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks a client-certificate fingerprint: 64 lower-case hex digits (SM3).
pub fn valid_tls_fingerprint(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Parses `major.minor.patch` (each up to 5 digits) for comparison.
pub fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text.split('.');
    let mut next = || -> Option<u32> {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 5 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let version = (next()?, next()?, next()?);
    parts.next().is_none().then_some(version)
}

fn key_fingerprint(key: &Sm2PublicKey) -> String {
    format!("sm3:{}", key.fingerprint())
}

const APP_COLUMNS: &str = "a.id, a.name, a.class, a.status, a.tls_fingerprint, \
    a.sdk_version_min, a.last_sdk, a.last_seen_at_ms, a.created_at_ms";

fn app_from_row(row: &sqlx::any::AnyRow) -> Result<ClientApp, StoreError> {
    let class: String = row.try_get(2)?;
    let status: String = row.try_get(3)?;
    Ok(ClientApp {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        class: AppClass::parse(&class).ok_or(StoreError::Malformed("client app class"))?,
        status: AppStatus::parse(&status).ok_or(StoreError::Malformed("client app status"))?,
        tls_fingerprint: row.try_get(4)?,
        sdk_version_min: row.try_get(5)?,
        last_sdk: row.try_get(6)?,
        last_seen_at_ms: row.try_get(7)?,
        created_at_ms: row.try_get(8)?,
    })
}

fn key_from_row(row: &sqlx::any::AnyRow, first: usize) -> Result<AppKey, StoreError> {
    let serial: i32 = row.try_get(first)?;
    let public_key: String = row.try_get(first + 1)?;
    let bytes = hex::decode(&public_key).map_err(|_| StoreError::Malformed("client app key"))?;
    Ok(AppKey {
        serial: u32::try_from(serial).map_err(|_| StoreError::Malformed("client app serial"))?,
        public_key: Sm2PublicKey::from_sec1(&bytes)
            .map_err(|_| StoreError::Malformed("client app key"))?,
        fingerprint: row.try_get(first + 2)?,
        created_at_ms: row.try_get(first + 3)?,
        revoked_at_ms: row.try_get(first + 4)?,
    })
}

async fn audit(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    who: Actor<'_>,
    action: &str,
    app_id: &str,
    details: &[(&'static str, AuditValue)],
    now_ms: i64,
) -> Result<(), StoreError> {
    let object = format!("client-app:{app_id}");
    append(
        tx,
        &AuditEvent {
            actor: who.actor,
            action,
            object: &object,
            outcome: Outcome::Success,
            request_id: who.request_id,
            details,
        },
        now_ms,
    )
    .await?;
    Ok(())
}

async fn insert_key(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    app_id: &str,
    serial: u32,
    key: &Sm2PublicKey,
    now_ms: i64,
) -> Result<String, StoreError> {
    let fingerprint = key_fingerprint(key);
    let taken = sqlx::query("SELECT 1 FROM client_app_keys WHERE fingerprint = $1")
        .bind(&fingerprint)
        .fetch_optional(&mut **tx)
        .await?;
    if taken.is_some() {
        return Err(StoreError::Conflict(
            "this public key is already registered (keys are never reused)",
        ));
    }
    sqlx::query(
        "INSERT INTO client_app_keys (app_id, serial, public_key, fingerprint, created_at_ms)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(app_id)
    .bind(i32::try_from(serial).map_err(|_| StoreError::Refused("too many keys"))?)
    .bind(hex::encode(key.to_sec1()))
    .bind(&fingerprint)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(fingerprint)
}

impl Store {
    /// Registers an application with its first key (serial 1). Refuses a malformed id or
    /// name, a bad fingerprint or version ([`StoreError::Refused`]) and a taken id or key
    /// ([`StoreError::Conflict`]). Audited (`client-app.register`).
    pub async fn client_app_register(
        &self,
        app: &NewClientApp<'_>,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if !valid_app_id(app.id) {
            return Err(StoreError::Refused(
                "the application id must be 1 to 64 characters of A-Z a-z 0-9 - _",
            ));
        }
        let name = app.name.trim();
        if name.is_empty() || name.chars().count() > APP_NAME_CHARS_MAX {
            return Err(StoreError::Refused(
                "the application name must be 1 to 128 characters",
            ));
        }
        if app
            .tls_fingerprint
            .is_some_and(|f| !valid_tls_fingerprint(f))
        {
            return Err(StoreError::Refused(
                "the certificate fingerprint must be 64 lower-case hex digits (SM3 of the DER certificate)",
            ));
        }
        if app
            .sdk_version_min
            .is_some_and(|v| parse_version(v).is_none())
        {
            return Err(StoreError::Refused(
                "the minimum SDK version must be major.minor.patch",
            ));
        }
        let mut tx = self.begin_write().await?;
        let taken = sqlx::query("SELECT 1 FROM client_apps WHERE id = $1")
            .bind(app.id)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict("an application with this id exists"));
        }
        sqlx::query(
            "INSERT INTO client_apps (id, name, class, status, tls_fingerprint, sdk_version_min,
                                      created_at_ms, updated_at_ms)
             VALUES ($1, $2, $3, 'active', $4, $5, $6, $6)",
        )
        .bind(app.id)
        .bind(name)
        .bind(app.class.name())
        .bind(app.tls_fingerprint)
        .bind(app.sdk_version_min)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        let fingerprint = insert_key(&mut tx, app.id, 1, app.public_key, now_ms).await?;
        audit(
            &mut tx,
            who,
            "client-app.register",
            app.id,
            &[
                ("class", AuditValue::Word(app.class.name())),
                ("key_serial", AuditValue::Number(1)),
                ("key_fingerprint", AuditValue::Fingerprint(fingerprint)),
                (
                    "mtls",
                    AuditValue::Word(if app.tls_fingerprint.is_some() {
                        "required"
                    } else {
                        "off"
                    }),
                ),
            ],
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds a key to a live application (a rotation: the older keys stay live until revoked).
    /// Returns its serial. Audited (`client-app.key-add`).
    pub async fn client_app_key_add(
        &self,
        app_id: &str,
        public_key: &Sm2PublicKey,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<u32, StoreError> {
        let mut tx = self.begin_write().await?;
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM client_apps WHERE id = $1")
                .bind(app_id)
                .fetch_optional(&mut *tx)
                .await?;
        match status.as_deref() {
            None => return Err(StoreError::NotFound("client application")),
            Some("revoked") => {
                return Err(StoreError::Refused("the application is revoked"));
            }
            Some(_) => {}
        }
        let last: Option<i32> =
            sqlx::query_scalar("SELECT MAX(serial) FROM client_app_keys WHERE app_id = $1")
                .bind(app_id)
                .fetch_one(&mut *tx)
                .await?;
        let serial = u32::try_from(last.unwrap_or(0)).unwrap_or(0) + 1;
        let fingerprint = insert_key(&mut tx, app_id, serial, public_key, now_ms).await?;
        touch(&mut tx, app_id, now_ms).await?;
        audit(
            &mut tx,
            who,
            "client-app.key-add",
            app_id,
            &[
                ("key_serial", AuditValue::Number(i64::from(serial))),
                ("key_fingerprint", AuditValue::Fingerprint(fingerprint)),
            ],
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(serial)
    }

    /// Revokes one key; requests signed with it are refused from then on. Refuses to revoke
    /// the last live key of an active application (suspend or revoke the application instead).
    /// Audited (`client-app.key-revoke`).
    pub async fn client_app_key_revoke(
        &self,
        app_id: &str,
        serial: u32,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let serial_db = i32::try_from(serial).map_err(|_| StoreError::NotFound("key serial"))?;
        let mut tx = self.begin_write().await?;
        let live: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM client_app_keys WHERE app_id = $1 AND revoked_at_ms IS NULL",
        )
        .bind(app_id)
        .fetch_one(&mut *tx)
        .await?;
        let updated = sqlx::query(
            "UPDATE client_app_keys SET revoked_at_ms = $3
             WHERE app_id = $1 AND serial = $2 AND revoked_at_ms IS NULL",
        )
        .bind(app_id)
        .bind(serial_db)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound("live key with this serial"));
        }
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM client_apps WHERE id = $1")
                .bind(app_id)
                .fetch_optional(&mut *tx)
                .await?;
        if live <= 1 && status.as_deref() == Some("active") {
            return Err(StoreError::Refused(
                "this is the application's last live key: add a new key first, or suspend the application",
            ));
        }
        touch(&mut tx, app_id, now_ms).await?;
        audit(
            &mut tx,
            who,
            "client-app.key-revoke",
            app_id,
            &[("key_serial", AuditValue::Number(i64::from(serial)))],
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Moves an application to `status`: suspend, resume (active) or revoke. A revoked
    /// application stays revoked, and revoking also revokes its keys. Audited
    /// (`client-app.suspend`, `client-app.resume`, `client-app.revoke`).
    pub async fn client_app_set_status(
        &self,
        app_id: &str,
        status: AppStatus,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE client_apps SET status = $2, updated_at_ms = $3
             WHERE id = $1 AND status <> 'revoked'",
        )
        .bind(app_id)
        .bind(status.name())
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound(
                "client application that is not revoked",
            ));
        }
        if status == AppStatus::Revoked {
            sqlx::query(
                "UPDATE client_app_keys SET revoked_at_ms = $2
                 WHERE app_id = $1 AND revoked_at_ms IS NULL",
            )
            .bind(app_id)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        }
        let action = match status {
            AppStatus::Active => "client-app.resume",
            AppStatus::Suspended => "client-app.suspend",
            AppStatus::Revoked => "client-app.revoke",
        };
        audit(&mut tx, who, action, app_id, &[], now_ms).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets or clears the minimum SDK version and the mutual-TLS certificate fingerprint.
    /// `None` leaves a setting as it is; `Some(None)` clears it. Audited
    /// (`client-app.configure`).
    pub async fn client_app_configure(
        &self,
        app_id: &str,
        sdk_version_min: Option<Option<&str>>,
        tls_fingerprint: Option<Option<&str>>,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if let Some(Some(version)) = sdk_version_min
            && parse_version(version).is_none()
        {
            return Err(StoreError::Refused(
                "the minimum SDK version must be major.minor.patch",
            ));
        }
        if let Some(Some(fingerprint)) = tls_fingerprint
            && !valid_tls_fingerprint(fingerprint)
        {
            return Err(StoreError::Refused(
                "the certificate fingerprint must be 64 lower-case hex digits (SM3 of the DER certificate)",
            ));
        }
        let mut tx = self.begin_write().await?;
        let exists = sqlx::query("SELECT 1 FROM client_apps WHERE id = $1 AND status <> 'revoked'")
            .bind(app_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound(
                "client application that is not revoked",
            ));
        }
        let mut details = vec![];
        if let Some(version) = sdk_version_min {
            sqlx::query("UPDATE client_apps SET sdk_version_min = $2 WHERE id = $1")
                .bind(app_id)
                .bind(version)
                .execute(&mut *tx)
                .await?;
            details.push((
                "sdk_version_min",
                AuditValue::Text(version.unwrap_or("none").to_string()),
            ));
        }
        if let Some(fingerprint) = tls_fingerprint {
            sqlx::query("UPDATE client_apps SET tls_fingerprint = $2 WHERE id = $1")
                .bind(app_id)
                .bind(fingerprint)
                .execute(&mut *tx)
                .await?;
            details.push((
                "mtls",
                AuditValue::Word(if fingerprint.is_some() {
                    "required"
                } else {
                    "off"
                }),
            ));
        }
        touch(&mut tx, app_id, now_ms).await?;
        audit(
            &mut tx,
            who,
            "client-app.configure",
            app_id,
            &details,
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every application with its keys, by id.
    pub async fn client_apps_list(&self) -> Result<Vec<(ClientApp, Vec<AppKey>)>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {APP_COLUMNS} FROM client_apps a ORDER BY a.id"
        )))
        .fetch_all(&self.pool)
        .await?;
        let keys = sqlx::query(
            "SELECT app_id, serial, public_key, fingerprint, created_at_ms, revoked_at_ms
             FROM client_app_keys ORDER BY app_id, serial",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut apps = vec![];
        for row in &rows {
            let app = app_from_row(row)?;
            let mut own = vec![];
            for key in &keys {
                let owner: String = key.try_get(0)?;
                if owner == app.id {
                    own.push(key_from_row(key, 1)?);
                }
            }
            apps.push((app, own));
        }
        Ok(apps)
    }

    /// The application `app_id` and its key `serial`, for verifying a request: one read.
    /// `None` when there is no such application.
    pub async fn client_app_key(
        &self,
        app_id: &str,
        serial: u32,
    ) -> Result<Option<AppKeyLookup>, StoreError> {
        let Ok(serial) = i32::try_from(serial) else {
            return Ok(None);
        };
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {APP_COLUMNS}, k.serial, k.public_key, k.fingerprint, k.created_at_ms,
                    k.revoked_at_ms
             FROM client_apps a
             LEFT JOIN client_app_keys k ON k.app_id = a.id AND k.serial = $2
             WHERE a.id = $1"
        )))
        .bind(app_id)
        .bind(serial)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let app = app_from_row(&row)?;
        let key_serial: Option<i32> = row.try_get(9)?;
        let key = match key_serial {
            Some(_) => Some(key_from_row(&row, 9)?),
            None => None,
        };
        Ok(Some(AppKeyLookup { app, key }))
    }

    /// Records the SDK an application reported and when it was seen: written when the report
    /// changed or the last write is older than [`SEEN_WRITE_INTERVAL_MS`], so a busy
    /// application costs one write a minute, not one a request.
    pub async fn client_app_seen(
        &self,
        app: &ClientApp,
        sdk: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let sdk = sdk.filter(|sdk| !sdk.is_empty() && sdk.len() <= SDK_CHARS_MAX);
        let changed = sdk.is_some() && sdk != app.last_sdk.as_deref();
        let stale = app
            .last_seen_at_ms
            .is_none_or(|seen| now_ms - seen >= SEEN_WRITE_INTERVAL_MS);
        if !changed && !stale {
            return Ok(());
        }
        sqlx::query(
            "UPDATE client_apps SET last_sdk = COALESCE($2, last_sdk), last_seen_at_ms = $3
             WHERE id = $1",
        )
        .bind(&app.id)
        .bind(sdk)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

async fn touch(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    app_id: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE client_apps SET updated_at_ms = $2 WHERE id = $1")
        .bind(app_id)
        .bind(now_ms)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_strictly() {
        assert_eq!(parse_version("1.2.3"), Some((1, 2, 3)));
        assert_eq!(parse_version("10.0.12"), Some((10, 0, 12)));
        for bad in [
            "1.2",
            "1.2.3.4",
            "1..3",
            "a.b.c",
            "1.2.-3",
            "",
            "123456.0.0",
            "1.2.3 ",
        ] {
            assert_eq!(parse_version(bad), None, "{bad:?}");
        }
        assert!(parse_version("1.10.0") > parse_version("1.9.9"));
    }

    #[test]
    fn classes_order_lowest_first() {
        assert!(AppClass::InformationQuery < AppClass::InformationCollection);
        assert!(AppClass::InformationCollection < AppClass::FundTransaction);
        for class in AppClass::ALL {
            assert_eq!(AppClass::parse(class.name()), Some(class));
        }
    }
}
