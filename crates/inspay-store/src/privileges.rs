//! Least privilege in the database (clause 5.3.1.1): on PostgreSQL the schema belongs to an
//! owner role that the operator uses only to apply migrations (`inspay db migrate`); the
//! server connects as a runtime role that may read and write rows as each table needs, and
//! nothing else: no DDL, no `TRUNCATE`, no `TRIGGER`, no ownership. A compromised server can
//! then neither drop nor disable the triggers that keep the audit log and the ledger
//! append-only, nor alter a table, nor rewrite or delete an audit row: those tables are
//! granted `SELECT` and `INSERT` only.
//!
//! [`RUNTIME_GRANTS`] is the grant list, table by table, written from the statements the code
//! runs (`grep -i 'update <table>\|delete from <table>'` over every crate). The test
//! `tests/privileges.rs` keeps it honest: every table of the schema has an entry, and every
//! `UPDATE`, `DELETE` and upsert in the sources has its right.
//!
//! SQLite has no roles: the database is a file, and the boundary is the operating system
//! user that may open it (the service user, mode 600 in the data directory).

use crate::{Backend, Store, StoreError};
use sqlx::{AssertSqlSafe, Row};

/// What the runtime role may do to one table's rows. `SELECT` is always granted: PostgreSQL
/// needs it for `WHERE`, `RETURNING` and `ON CONFLICT` as well as for reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableRights {
    /// `INSERT`.
    pub insert: bool,
    /// `UPDATE` (also what `ON CONFLICT ... DO UPDATE` and `SELECT ... FOR UPDATE` need).
    pub update: bool,
    /// `DELETE`.
    pub delete: bool,
}

impl TableRights {
    /// The privileges, as a `GRANT` list.
    pub fn sql(self) -> String {
        let mut rights = vec!["SELECT"];
        if self.insert {
            rights.push("INSERT");
        }
        if self.update {
            rights.push("UPDATE");
        }
        if self.delete {
            rights.push("DELETE");
        }
        rights.join(", ")
    }
}

/// Read only.
const READ: TableRights = TableRights {
    insert: false,
    update: false,
    delete: false,
};
/// Append-only: rows are added and read, never changed or removed (audit, evidence, ledger).
const APPEND: TableRights = TableRights {
    insert: true,
    update: false,
    delete: false,
};
/// Rows are added and change state; never removed.
const CHANGE: TableRights = TableRights {
    insert: true,
    update: true,
    delete: false,
};
/// Rows are added and removed (expiry, replacement); never changed.
const ADD_REMOVE: TableRights = TableRights {
    insert: true,
    update: false,
    delete: true,
};
/// Short-lived or replaceable rows: added, changed and removed.
const FULL: TableRights = TableRights {
    insert: true,
    update: true,
    delete: true,
};
/// A single row seeded by its migration, then only changed.
const UPDATE_ONLY: TableRights = TableRights {
    insert: false,
    update: true,
    delete: false,
};

/// The runtime role's rights, table by table, in name order.
pub const RUNTIME_GRANTS: &[(&str, TableRights)] = &[
    ("account_closures", CHANGE),
    ("account_failures", CHANGE),
    ("account_roles", ADD_REMOVE),
    ("account_secret_history", ADD_REMOVE),
    ("account_secrets", FULL),
    ("accounts", CHANGE),
    ("agent_customers", FULL),
    ("approvals", CHANGE),
    ("audit_checkpoints", APPEND),
    ("audit_head", CHANGE),
    ("audit_log", APPEND),
    ("captchas", ADD_REMOVE),
    ("channel_evidence", APPEND),
    ("claim_assignments", FULL),
    ("claims", CHANGE),
    ("client_app_keys", CHANGE),
    ("client_apps", CHANGE),
    ("consent_events", APPEND),
    ("containment_switches", FULL),
    ("credential_keys", CHANGE),
    ("data_keys", CHANGE),
    ("field_nonces", FULL),
    ("idempotency_keys", FULL),
    ("key_challenges", FULL),
    ("kms_meta", CHANGE),
    ("ledger_accounts", CHANGE),
    ("ledger_entries", APPEND),
    ("ledger_transfers", APPEND),
    ("one_time_codes", FULL),
    ("outbox", CHANGE),
    ("payment_methods", APPEND),
    ("payments", CHANGE),
    ("payout_accounts", CHANGE),
    ("payouts", CHANGE),
    ("person_keys", FULL),
    ("persons", CHANGE),
    ("policies", CHANGE),
    ("premium_instalments", CHANGE),
    ("privacy_notices", APPEND),
    ("products", APPEND),
    ("rate_counters", FULL),
    ("reconciliations", APPEND),
    ("refunds", CHANGE),
    ("request_evidence", APPEND),
    ("request_nonces", ADD_REMOVE),
    ("risk_baselines", CHANGE),
    ("risk_decisions", APPEND),
    ("risk_exports", FULL),
    ("risk_holds", CHANGE),
    ("risk_observations", APPEND),
    ("risk_packs", CHANGE),
    ("risk_sign_ins", FULL),
    ("risk_signers", CHANGE),
    ("risk_state", UPDATE_ONLY),
    ("schema_migrations", READ),
    ("security_events", APPEND),
    ("sessions", FULL),
    ("sign_in_flows", FULL),
    ("sign_in_name_failures", FULL),
    ("sms_sends", ADD_REMOVE),
    ("step_ups", FULL),
];

/// Longest PostgreSQL identifier.
const ROLE_NAME_BYTES_MAX: usize = 63;

/// A PostgreSQL role name the grant command accepts: lower-case letters, digits and
/// underscores, starting with a letter or underscore, so it needs no quoting rules beyond the
/// double quotes it is written in.
fn role_name_valid(role: &str) -> bool {
    let mut bytes = role.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'_'))
        && bytes.all(|byte| matches!(byte, b'a'..=b'z' | b'0'..=b'9' | b'_'))
        && role.len() <= ROLE_NAME_BYTES_MAX
}

/// One way the connected role holds more than a runtime role may.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExcessPrivilege(
    /// What was found, naming the role and the schema.
    pub String,
);

impl Store {
    /// The tables of the current schema (SQLite: of the database), in name order.
    pub async fn schema_tables(&self) -> Result<Vec<String>, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table'
                 AND name NOT LIKE 'sqlite_%' ORDER BY name"
            }
            Backend::Postgres => {
                "SELECT tablename::text FROM pg_catalog.pg_tables
                 WHERE schemaname = current_schema() ORDER BY tablename"
            }
        };
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| row.try_get::<String, _>(0).map_err(StoreError::from))
            .collect()
    }

    /// Grants `role` exactly the runtime rights on the current schema (PostgreSQL only):
    /// `USAGE` on the schema, [`RUNTIME_GRANTS`] table by table after revoking whatever it
    /// held on them, and `USAGE` on the schema's sequences. Never `CREATE`, ownership,
    /// `TRUNCATE`, `TRIGGER` or `REFERENCES`. Run as the schema owner after `migrate`; run
    /// again after every upgrade that adds a table. Refuses a role that owns the schema's
    /// tables or is a superuser: it would keep its rights whatever is granted.
    pub async fn grant_runtime(&self, role: &str) -> Result<(), StoreError> {
        if self.backend != Backend::Postgres {
            return Err(StoreError::Refused(
                "roles exist only on PostgreSQL; a SQLite database is protected by the \
                 operating system user that owns its file",
            ));
        }
        if !role_name_valid(role) {
            return Err(StoreError::Refused(
                "the role name must be lower-case letters, digits and underscores, starting \
                 with a letter, at most 63 bytes",
            ));
        }
        self.require_current_schema().await?;
        let row = sqlx::query(
            "SELECT r.rolsuper, pg_has_role(r.rolname, current_user, 'USAGE'),
                    quote_ident(current_schema())
             FROM pg_catalog.pg_roles r WHERE r.rolname = $1",
        )
        .bind(role)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound("role"))?;
        let (superuser, member_of_owner, schema): (bool, bool, String) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        if superuser || member_of_owner {
            return Err(StoreError::Refused(
                "that role is a superuser, or is (or is a member of) the role running this \
                 command, which owns the schema: create a separate LOGIN role for the server",
            ));
        }
        let quoted = format!("\"{role}\"");
        let mut statements = vec![
            format!("REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {quoted}"),
            format!("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {quoted}"),
            format!("REVOKE ALL ON SCHEMA {schema} FROM {quoted}"),
            format!("GRANT USAGE ON SCHEMA {schema} TO {quoted}"),
        ];
        for (table, rights) in RUNTIME_GRANTS {
            statements.push(format!(
                "GRANT {} ON TABLE {schema}.{table} TO {quoted}",
                rights.sql()
            ));
        }
        statements.push(format!(
            "GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {quoted}"
        ));
        let mut tx = self.pool.begin().await?;
        for statement in statements {
            // The role name was checked above and the schema quoted by PostgreSQL; the
            // table names are constants.
            sqlx::query(AssertSqlSafe(statement))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// What the connected role holds beyond a runtime role's rights (PostgreSQL; SQLite has
    /// no roles and answers with nothing): superuser, ownership of (or membership in the owner
    /// of) the schema's tables, `CREATE` in the schema, `TRUNCATE` or `TRIGGER` on any of its
    /// tables. The production profile refuses to serve while the list is not empty.
    pub async fn excess_privileges(&self) -> Result<Vec<ExcessPrivilege>, StoreError> {
        if self.backend != Backend::Postgres {
            return Ok(vec![]);
        }
        let row = sqlx::query(
            "SELECT current_user::text, current_schema()::text,
                    (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user),
                    (SELECT COUNT(*) FROM pg_catalog.pg_tables t
                     WHERE t.schemaname = current_schema()
                       AND pg_has_role(current_user, t.tableowner, 'USAGE')),
                    has_schema_privilege(current_schema(), 'CREATE'),
                    (SELECT COUNT(*) FROM pg_catalog.pg_tables t
                     WHERE t.schemaname = current_schema()
                       AND (has_table_privilege(quote_ident(t.schemaname) || '.' ||
                                quote_ident(t.tablename), 'TRUNCATE')
                            OR has_table_privilege(quote_ident(t.schemaname) || '.' ||
                                quote_ident(t.tablename), 'TRIGGER')))",
        )
        .fetch_one(&self.pool)
        .await?;
        let role: String = row.try_get(0)?;
        let schema: String = row.try_get(1)?;
        let superuser: bool = row.try_get(2)?;
        let owned: i64 = row.try_get(3)?;
        let create: bool = row.try_get(4)?;
        let truncate_or_trigger: i64 = row.try_get(5)?;
        let mut found = vec![];
        if superuser {
            found.push(ExcessPrivilege(format!("role {role} is a superuser")));
        }
        if owned > 0 {
            found.push(ExcessPrivilege(format!(
                "role {role} owns (or is a member of the owner of) {owned} table(s) in schema {schema}"
            )));
        }
        if create {
            found.push(ExcessPrivilege(format!(
                "role {role} may CREATE in schema {schema}"
            )));
        }
        if truncate_or_trigger > 0 {
            found.push(ExcessPrivilege(format!(
                "role {role} holds TRUNCATE or TRIGGER on {truncate_or_trigger} table(s) in schema {schema}"
            )));
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_list_is_sorted_unique_and_append_only_where_it_matters() {
        let names: Vec<&str> = RUNTIME_GRANTS.iter().map(|(name, _)| *name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted, "RUNTIME_GRANTS must be sorted and unique");
        for table in [
            "audit_log",
            "audit_checkpoints",
            "ledger_entries",
            "ledger_transfers",
            "security_events",
            "request_evidence",
            "channel_evidence",
        ] {
            let rights = RUNTIME_GRANTS
                .iter()
                .find(|(name, _)| *name == table)
                .map(|(_, rights)| *rights);
            assert_eq!(rights, Some(APPEND), "{table}");
        }
        assert_eq!(APPEND.sql(), "SELECT, INSERT");
        assert_eq!(FULL.sql(), "SELECT, INSERT, UPDATE, DELETE");
    }

    #[test]
    fn role_names_that_would_need_quoting_are_refused() {
        assert!(role_name_valid("inspay_app"));
        assert!(role_name_valid("_r2"));
        for bad in [
            "",
            "Inspay",
            "9role",
            "a\"; DROP TABLE audit_log; --",
            "a b",
            &"r".repeat(64),
        ] {
            assert!(!role_name_valid(bad), "{bad}");
        }
    }
}
