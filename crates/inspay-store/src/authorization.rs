//! Who holds which role, whose data they reach, and maker-checker approvals (clauses 5.3.2.1,
//! 5.3.2.2, 5.6.1-d, 5.6.4.2 and 5.2.2.2-c2). The rules are in
//! [`inspay_identity::authorization`]; this module keeps the facts and applies the rules to
//! them, auditing every change and every refusal in the same transaction.
//!
//! - Roles go only on accounts of their population (the customer role on customer accounts,
//!   staff roles on staff accounts), never in a conflicting pair, never on a closed account,
//!   and never by an account to itself.
//! - Scopes: an agent reaches the customers assigned to them, an adjuster the claims assigned
//!   to them, a customer their own data ([`Store::may_access`]). Revoking the agent or adjuster
//!   role also removes its assignments.
//! - A frozen or closed account holds no permission; an account whose roles conflict holds
//!   none either ([`Grants`] fails closed).
//! - Approvals: a maker files a pending action with the SM3 digest of its payload; another
//!   account holding the approve permission decides it, once.
//! - The permission review report lists every staff account with its roles, effective
//!   permissions, scopes, last sign-in and findings.

use crate::audit::{AuditEvent, AuditValue, Outcome, append};
use crate::keys::Actor;
use crate::{Store, StoreError};
use inspay_core::sensitive::FieldKind;
use inspay_identity::authorization::{
    ApprovalKind, DataScope, FieldView, Grants, PayloadDigest, Permission, Population, Role,
    SeparationError, Subject, check_maker_checker, conflict_reason, conflicting_roles,
    reauthentication_is_fresh,
};
use inspay_identity::login_name::LoginName;
use inspay_kms::Keyring;
use serde::Serializer;
use sqlx::{AnyConnection, Row};

/// Days without a sign-in after which an account counts as dormant (clause 5.3.3.3-c).
pub const DORMANT_DAYS: i64 = 180;
/// Longest claim id accepted for an assignment.
pub const CLAIM_ID_CHARS_MAX: usize = 64;
/// Longest object name of an approval.
pub const APPROVAL_OBJECT_CHARS_MAX: usize = 128;
/// Most accounts one permission review reads.
pub const REVIEW_ACCOUNTS_MAX: i64 = 10_000;
const DAY_MS: i64 = 86_400_000;

type Transaction = sqlx::Transaction<'static, sqlx::Any>;

/// What a permission is to be used on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// A customer's data (profile, policies, statements, refunds): the customer's account id.
    Customer(&'a str),
    /// A claim, with the account id of its claimant (read from the claim by the caller).
    Claim {
        /// The claim.
        claim_id: &'a str,
        /// The claimant's account id.
        claimant: &'a str,
    },
    /// The system as a whole (keys, users, the audit log, the ledger).
    System,
}

/// Where an approval stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalState {
    /// Waiting for a checker.
    Pending,
    /// Approved by a checker; the fund flow may act on exactly the approved payload.
    Approved,
    /// Rejected by a checker.
    Rejected,
}

impl ApprovalState {
    /// The stable name.
    pub const fn name(self) -> &'static str {
        match self {
            ApprovalState::Pending => "pending",
            ApprovalState::Approved => "approved",
            ApprovalState::Rejected => "rejected",
        }
    }

    fn parse(name: &str) -> Option<ApprovalState> {
        [
            ApprovalState::Pending,
            ApprovalState::Approved,
            ApprovalState::Rejected,
        ]
        .into_iter()
        .find(|state| state.name() == name)
    }
}

/// One approval as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// Its id.
    pub id: String,
    /// What kind of action.
    pub kind: ApprovalKind,
    /// The object acted on, such as `claim:<id>`.
    pub object: String,
    /// The digest of the payload the maker filed.
    pub payload_digest: PayloadDigest,
    /// The account that asked.
    pub maker: String,
    /// When it asked.
    pub requested_at_ms: i64,
    /// Where it stands.
    pub state: ApprovalState,
    /// The account that decided, once decided.
    pub checker: Option<String>,
    /// When it was decided.
    pub decided_at_ms: Option<i64>,
}

/// One staff account in the permission review report (clauses 5.3.2.2 and 5.6.1-d).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReviewRow {
    /// The account id.
    pub account_id: String,
    /// The staff user name.
    pub login_name: String,
    /// `active`, `frozen` or `closed`.
    pub status: String,
    /// The roles held.
    #[serde(serialize_with = "role_names")]
    pub roles: Vec<Role>,
    /// The permissions the account may use now (none when frozen, closed or conflicting).
    #[serde(serialize_with = "permission_names")]
    pub permissions: Vec<Permission>,
    /// The data scopes of its roles.
    #[serde(serialize_with = "scope_names")]
    pub data_scopes: Vec<DataScope>,
    /// Customers assigned to it (as an agent).
    pub assigned_customers: i64,
    /// Claims assigned to it (as an adjuster).
    pub assigned_claims: i64,
    /// Created (unix ms).
    pub created_at_ms: i64,
    /// Last successful sign-in, if any.
    pub last_sign_in_ms: Option<i64>,
    /// Whole days since the last sign-in (or since creation, if it never signed in).
    pub days_since_sign_in: i64,
    /// Never signed in, or not for [`DORMANT_DAYS`] days or more.
    pub dormant: bool,
    /// Role pairs that break separation of duties.
    #[serde(serialize_with = "conflict_list")]
    pub conflicts: Vec<(Role, Role)>,
    /// Roles that do not belong to the account's population.
    #[serde(serialize_with = "role_names")]
    pub wrong_population: Vec<Role>,
    /// It still has an initial password (clause 5.2.4.2-a).
    pub initial_password: bool,
}

impl ReviewRow {
    /// Whether the row needs action: conflicting or misplaced roles.
    pub fn has_conflicts(&self) -> bool {
        !self.conflicts.is_empty() || !self.wrong_population.is_empty()
    }
}

fn role_names<S: Serializer>(roles: &[Role], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(roles.iter().map(|role| role.name()))
}

fn permission_names<S: Serializer>(
    permissions: &[Permission],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(permissions.iter().map(|permission| permission.name()))
}

fn scope_names<S: Serializer>(scopes: &[DataScope], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(scopes.iter().map(|scope| scope.name()))
}

fn conflict_list<S: Serializer>(pairs: &[(Role, Role)], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(pairs.iter().map(|(first, second)| {
        serde_json::json!({
            "roles": [first.name(), second.name()],
            "reason": conflict_reason(*first, *second),
        })
    }))
}

/// An account's population and status.
struct AccountFacts {
    population: Population,
    active: bool,
    closed: bool,
}

async fn account_facts(
    connection: &mut AnyConnection,
    account_id: &str,
) -> Result<Option<AccountFacts>, StoreError> {
    let row = sqlx::query("SELECT population, status FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_optional(connection)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let population: String = row.try_get(0)?;
    let status: String = row.try_get(1)?;
    Ok(Some(AccountFacts {
        population: Population::parse(&population)
            .ok_or(StoreError::Malformed("account population"))?,
        active: status == "active",
        closed: status == "closed",
    }))
}

/// Takes the account's row lock (PostgreSQL; SQLite already holds the write lock) so that two
/// grants to one account are checked one after the other, then reads its facts.
async fn lock_account(
    connection: &mut AnyConnection,
    account_id: &str,
) -> Result<AccountFacts, StoreError> {
    sqlx::query("UPDATE accounts SET status = status WHERE id = $1")
        .bind(account_id)
        .execute(&mut *connection)
        .await?;
    account_facts(connection, account_id)
        .await?
        .ok_or(StoreError::NotFound("account"))
}

async fn roles_of(
    connection: &mut AnyConnection,
    account_id: &str,
) -> Result<Vec<Role>, StoreError> {
    let rows = sqlx::query("SELECT role FROM account_roles WHERE account_id = $1")
        .bind(account_id)
        .fetch_all(connection)
        .await?;
    rows.iter()
        .map(|row| {
            let name: String = row.try_get(0)?;
            Role::parse(&name).ok_or(StoreError::Malformed("role"))
        })
        .collect()
}

/// The grants of an account as they apply now: none unless the account is active.
async fn grants_in(connection: &mut AnyConnection, account_id: &str) -> Result<Grants, StoreError> {
    let facts = account_facts(&mut *connection, account_id)
        .await?
        .ok_or(StoreError::NotFound("account"))?;
    if !facts.active {
        return Ok(Grants::none());
    }
    Ok(Grants::new(roles_of(connection, account_id).await?))
}

/// A refusal: the word recorded in the audit log and the error given to the caller.
type Refusal = (&'static str, StoreError);

/// Records a refusal in the audit log, commits it, and returns the error for the caller.
async fn refused(
    mut tx: Transaction,
    event: &AuditEvent<'_>,
    now_ms: i64,
    error: StoreError,
) -> StoreError {
    if let Err(failure) = append(&mut tx, event, now_ms).await {
        return failure;
    }
    match tx.commit().await {
        Ok(()) => error,
        Err(failure) => failure.into(),
    }
}

/// A maker-checker refusal: the checker being the maker is a separation-of-duty conflict;
/// the rest are permissions missing.
fn separation_refusal(error: SeparationError) -> Refusal {
    match error {
        SeparationError::CheckerIsMaker => (
            "checker-is-maker",
            StoreError::Conflict(
                "separation of duties: an action is approved by another account than the one that asked for it",
            ),
        ),
        SeparationError::CheckerNotPermitted => (
            "checker-not-permitted",
            StoreError::Refused("the checker does not hold the permission to approve this action"),
        ),
        SeparationError::MakerNotPermitted => (
            "maker-not-permitted",
            StoreError::Refused("the maker does not hold the permission to start this action"),
        ),
        SeparationError::NotAnApproval => (
            "not-an-approval",
            StoreError::Refused("the permission named is not an approval permission"),
        ),
    }
}

/// The two kinds of assignment that give a data scope: customers to agents, claims to
/// adjusters. Each customer or claim has at most one assignee at a time.
#[derive(Debug, Clone, Copy)]
enum Assignment {
    CustomerToAgent,
    ClaimToAdjuster,
}

impl Assignment {
    fn role(self) -> Role {
        match self {
            Assignment::CustomerToAgent => Role::Agent,
            Assignment::ClaimToAdjuster => Role::ClaimsAdjuster,
        }
    }

    fn object(self, key: &str) -> String {
        match self {
            Assignment::CustomerToAgent => format!("account:{key}"),
            Assignment::ClaimToAdjuster => format!("claim:{key}"),
        }
    }

    fn action(self, assign: bool) -> &'static str {
        match (self, assign) {
            (Assignment::CustomerToAgent, true) => "assign.customer",
            (Assignment::CustomerToAgent, false) => "unassign.customer",
            (Assignment::ClaimToAdjuster, true) => "assign.claim",
            (Assignment::ClaimToAdjuster, false) => "unassign.claim",
        }
    }

    fn previous(self) -> &'static str {
        match self {
            Assignment::CustomerToAgent => {
                "SELECT agent_account_id FROM agent_customers WHERE customer_account_id = $1"
            }
            Assignment::ClaimToAdjuster => {
                "SELECT adjuster_account_id FROM claim_assignments WHERE claim_id = $1"
            }
        }
    }

    fn upsert(self) -> &'static str {
        match self {
            Assignment::CustomerToAgent => {
                "INSERT INTO agent_customers (customer_account_id, agent_account_id, assigned_by, assigned_at_ms)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (customer_account_id) DO UPDATE SET agent_account_id = excluded.agent_account_id,
                    assigned_by = excluded.assigned_by, assigned_at_ms = excluded.assigned_at_ms"
            }
            Assignment::ClaimToAdjuster => {
                "INSERT INTO claim_assignments (claim_id, adjuster_account_id, assigned_by, assigned_at_ms)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (claim_id) DO UPDATE SET adjuster_account_id = excluded.adjuster_account_id,
                    assigned_by = excluded.assigned_by, assigned_at_ms = excluded.assigned_at_ms"
            }
        }
    }

    fn delete(self) -> &'static str {
        match self {
            Assignment::CustomerToAgent => {
                "DELETE FROM agent_customers WHERE customer_account_id = $1"
            }
            Assignment::ClaimToAdjuster => "DELETE FROM claim_assignments WHERE claim_id = $1",
        }
    }

    fn not_assignable(self) -> Refusal {
        match self {
            Assignment::CustomerToAgent => (
                "not-an-agent",
                StoreError::Refused("the account to assign to is not an active agent"),
            ),
            Assignment::ClaimToAdjuster => (
                "not-an-adjuster",
                StoreError::Refused("the account to assign to is not an active claims adjuster"),
            ),
        }
    }
}

fn valid_claim_id(claim_id: &str) -> bool {
    (1..=CLAIM_ID_CHARS_MAX).contains(&claim_id.len())
        && claim_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

impl Store {
    /// Grants `role` to an account. Separation-of-duty refusals are [`StoreError::Conflict`]
    /// with the rule as the message: a role that conflicts with one the account holds, or a
    /// grant by the account to itself (`who.actor` is `account:<account_id>`). A role of the
    /// other population, or any role for a closed account, is [`StoreError::Refused`]. Every
    /// refusal is audited. Granting a role already held changes nothing.
    pub async fn role_grant(
        &self,
        account_id: &str,
        role: Role,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let object = format!("account:{account_id}");
        let mut tx = self.begin_write().await?;
        let facts = lock_account(&mut tx, account_id).await?;
        let held = roles_of(&mut tx, account_id).await?;
        if held.contains(&role) {
            return Ok(());
        }
        let conflict = held
            .iter()
            .find_map(|other| conflict_reason(*other, role).map(|reason| (*other, reason)));
        let refusal: Option<Refusal> = if who.actor == object {
            let message = "separation of duties: nobody grants roles to their own account";
            Some(("self-grant", StoreError::Conflict(message)))
        } else if facts.closed {
            let message = "roles are not granted to a closed account";
            Some(("account-closed", StoreError::Refused(message)))
        } else if role.population() != facts.population {
            let message = "the customer role is only for customer accounts and staff roles only for staff accounts";
            Some(("wrong-population", StoreError::Refused(message)))
        } else {
            conflict.map(|(_, reason)| ("separation-of-duties", StoreError::Conflict(reason)))
        };
        let mut details = vec![("role", AuditValue::Word(role.name()))];
        if let Some((reason, error)) = refusal {
            details.push(("reason", AuditValue::Word(reason)));
            if let Some((other, _)) = conflict {
                details.push(("conflicts_with", AuditValue::Word(other.name())));
            }
            let event = role_event(who, "role.grant", &object, Outcome::Denied, &details);
            return Err(refused(tx, &event, now_ms, error).await);
        }
        sqlx::query(
            "INSERT INTO account_roles (account_id, role, granted_by, granted_at_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(account_id)
        .bind(role.name())
        .bind(who.actor)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        let event = role_event(who, "role.grant", &object, Outcome::Success, &details);
        append(&mut tx, &event, now_ms).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Revokes `role` from an account; returns whether it was held. Revoking the agent or
    /// claims adjuster role also removes the customers or claims assigned to the account.
    pub async fn role_revoke(
        &self,
        account_id: &str,
        role: Role,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let object = format!("account:{account_id}");
        let mut tx = self.begin_write().await?;
        lock_account(&mut tx, account_id).await?;
        let deleted = sqlx::query("DELETE FROM account_roles WHERE account_id = $1 AND role = $2")
            .bind(account_id)
            .bind(role.name())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Ok(false);
        }
        let unassign = match role {
            Role::Agent => Some("DELETE FROM agent_customers WHERE agent_account_id = $1"),
            Role::ClaimsAdjuster => {
                Some("DELETE FROM claim_assignments WHERE adjuster_account_id = $1")
            }
            _ => None,
        };
        let mut removed = 0;
        if let Some(statement) = unassign {
            removed = sqlx::query(statement)
                .bind(account_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        let details = [
            ("role", AuditValue::Word(role.name())),
            (
                "assignments_removed",
                AuditValue::Number(i64::try_from(removed).unwrap_or(i64::MAX)),
            ),
        ];
        let event = role_event(who, "role.revoke", &object, Outcome::Success, &details);
        append(&mut tx, &event, now_ms).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The roles of an account as they apply now: none while the account is frozen or closed.
    pub async fn grants(&self, account_id: &str) -> Result<Grants, StoreError> {
        let mut connection = self.pool.acquire().await?;
        grants_in(&mut connection, account_id).await
    }

    /// Makes `agent_account` the agent serving `customer_account` (a customer has at most one
    /// agent; assigning another moves the customer). Refused unless the agent account is
    /// active and holds the agent role and the customer account is an open customer account.
    /// Audited, refusals too.
    pub async fn agent_assign_customer(
        &self,
        agent_account: &str,
        customer_account: &str,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let assignment = Assignment::CustomerToAgent;
        self.assign(assignment, agent_account, customer_account, who, now_ms)
            .await
    }

    /// Removes a customer's agent; returns whether it had one. Audited.
    pub async fn agent_unassign_customer(
        &self,
        customer_account: &str,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let assignment = Assignment::CustomerToAgent;
        self.unassign(assignment, customer_account, who, now_ms)
            .await
    }

    /// Assigns a claim to an adjuster (a claim has at most one; assigning another moves it).
    /// Refused unless the adjuster account is active and holds the claims adjuster role; a
    /// claim id is 1 to 64 letters, digits, `-`, `_`, `.` or `:`. Audited, refusals too.
    pub async fn claim_assign(
        &self,
        adjuster_account: &str,
        claim_id: &str,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if !valid_claim_id(claim_id) {
            return Err(StoreError::Refused(
                "a claim id is 1 to 64 letters, digits, '-', '_', '.' or ':'",
            ));
        }
        let assignment = Assignment::ClaimToAdjuster;
        self.assign(assignment, adjuster_account, claim_id, who, now_ms)
            .await
    }

    /// Removes a claim's adjuster; returns whether it had one. Audited.
    pub async fn claim_unassign(
        &self,
        claim_id: &str,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.unassign(Assignment::ClaimToAdjuster, claim_id, who, now_ms)
            .await
    }

    async fn assign(
        &self,
        assignment: Assignment,
        assignee: &str,
        key: &str,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let object = assignment.object(key);
        let action = assignment.action(true);
        let mut tx = self.begin_write().await?;
        // The assignee's row lock orders this against a concurrent revocation of its role.
        lock_account(&mut tx, assignee).await?;
        let grants = grants_in(&mut tx, assignee).await?;
        let customer = match assignment {
            Assignment::CustomerToAgent => Some(lock_account(&mut tx, key).await?),
            Assignment::ClaimToAdjuster => None,
        };
        let mut details = vec![("assignee", AuditValue::Text(format!("account:{assignee}")))];
        let refusal =
            if !grants.roles().contains(&assignment.role()) || !grants.conflicts().is_empty() {
                Some(assignment.not_assignable())
            } else if customer.is_some_and(|c| c.population != Population::Customer || c.closed) {
                Some((
                    "not-a-customer",
                    StoreError::Refused("only open customer accounts are assigned to agents"),
                ))
            } else {
                None
            };
        if let Some((reason, error)) = refusal {
            details.push(("reason", AuditValue::Word(reason)));
            let event = role_event(who, action, &object, Outcome::Denied, &details);
            return Err(refused(tx, &event, now_ms, error).await);
        }
        let previous: Option<String> = sqlx::query(assignment.previous())
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?
            .map(|row| row.try_get(0))
            .transpose()?;
        sqlx::query(assignment.upsert())
            .bind(key)
            .bind(assignee)
            .bind(who.actor)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        if let Some(previous) = previous {
            details.push(("previous", AuditValue::Text(format!("account:{previous}"))));
        }
        let event = role_event(who, action, &object, Outcome::Success, &details);
        append(&mut tx, &event, now_ms).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn unassign(
        &self,
        assignment: Assignment,
        key: &str,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query(assignment.delete())
            .bind(key)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Ok(false);
        }
        let object = assignment.object(key);
        let event = role_event(
            who,
            assignment.action(false),
            &object,
            Outcome::Success,
            &[],
        );
        append(&mut tx, &event, now_ms).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Data scope check (clause 5.6.1-d): may `account_id` use `permission` on `target`? The
    /// permission must be held (by an active account whose roles do not conflict), it must act
    /// on the target's kind of subject, and the target must be in one of its scopes: the
    /// account's own data, a customer assigned to it (or a claim of one), a claim assigned to
    /// it, or anything (scope "all"; a customer target must then be a customer account).
    pub async fn may_access(
        &self,
        account_id: &str,
        permission: Permission,
        target: &Target<'_>,
    ) -> Result<bool, StoreError> {
        let mut connection = self.pool.acquire().await?;
        let grants = grants_in(&mut connection, account_id).await?;
        for scope in grants.scopes_for(permission) {
            let reached = match (permission.subject(), *target) {
                (Subject::System, Target::System) => true,
                (Subject::CustomerData, Target::Customer(customer)) => {
                    customer_in_scope(&mut connection, account_id, scope, customer).await?
                }
                (Subject::Claim, Target::Claim { claim_id, claimant }) => {
                    claim_in_scope(&mut connection, account_id, scope, claim_id, claimant).await?
                }
                _ => false,
            };
            if reached {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Decides how `viewer` is shown `field` of `customer` when it asks for the full value
    /// (clauses 5.2.2.2-c2 and 5.6.4.2), and audits the request: [`FieldView::Full`] only if
    /// the viewer is the customer, or holds `customer.read-full` with the customer in its
    /// scope, and re-authenticated within the last five minutes. Payment-sensitive fields are
    /// never shown.
    pub async fn full_display(
        &self,
        viewer: &str,
        customer: &str,
        field: FieldKind,
        reauthenticated_at_ms: Option<i64>,
        request_id: &str,
        now_ms: i64,
    ) -> Result<FieldView, StoreError> {
        let own = viewer == customer;
        let target = Target::Customer(customer);
        let (read, full) = if own {
            (Permission::ProfileReadOwn, Permission::ProfileReadOwn)
        } else {
            (Permission::CustomerRead, Permission::CustomerReadFull)
        };
        let fresh = reauthentication_is_fresh(reauthenticated_at_ms, now_ms);
        let grants = self.grants(viewer).await?;
        let mut view = FieldView::Hidden;
        if self.may_access(viewer, read, &target).await? {
            view = grants.field_view(field, own, fresh);
            if view == FieldView::Full && !self.may_access(viewer, full, &target).await? {
                view = FieldView::Masked;
            }
        }
        let reason = match view {
            FieldView::Full => None,
            FieldView::Masked if !fresh => Some("reauthentication-not-fresh"),
            _ => Some("not-permitted"),
        };
        let mut details = vec![
            ("field", AuditValue::Word(field.name())),
            ("shown", AuditValue::Word(view.name())),
        ];
        let outcome = match reason {
            Some(reason) => {
                details.push(("reason", AuditValue::Word(reason)));
                Outcome::Denied
            }
            None => Outcome::Success,
        };
        let actor = format!("account:{viewer}");
        let object = format!("account:{customer}");
        self.audit(
            &AuditEvent {
                actor: &actor,
                action: "customer.full-display",
                object: &object,
                outcome,
                request_id,
                details: &details,
            },
            now_ms,
        )
        .await?;
        Ok(view)
    }

    /// Files an action for approval: the maker must hold the kind's initiate permission.
    /// Returns the approval id. Audited (also when refused).
    pub async fn approval_request(
        &self,
        maker: &str,
        kind: ApprovalKind,
        object: &str,
        payload_digest: &PayloadDigest,
        request_id: &str,
        now_ms: i64,
    ) -> Result<String, StoreError> {
        let well_formed = (1..=APPROVAL_OBJECT_CHARS_MAX).contains(&object.chars().count())
            && !object.chars().any(char::is_control);
        if !well_formed {
            return Err(StoreError::Refused(
                "an approval's object is 1 to 128 characters without control characters",
            ));
        }
        let id = uuid::Uuid::now_v7().to_string();
        let actor = format!("account:{maker}");
        let audit_object = format!("approval:{id}");
        let mut tx = self.begin_write().await?;
        let grants = grants_in(&mut tx, maker).await?;
        let mut details = vec![
            ("kind", AuditValue::Word(kind.name())),
            ("object", AuditValue::Text(object.to_string())),
            (
                "payload_digest",
                AuditValue::Fingerprint(payload_digest.as_str().to_string()),
            ),
        ];
        let event = |outcome, details| AuditEvent {
            actor: &actor,
            action: "approval.request",
            object: &audit_object,
            outcome,
            request_id,
            details,
        };
        if !grants.allows(kind.initiate()) {
            let (reason, error) = separation_refusal(SeparationError::MakerNotPermitted);
            details.push(("reason", AuditValue::Word(reason)));
            return Err(refused(tx, &event(Outcome::Denied, &details), now_ms, error).await);
        }
        sqlx::query(
            "INSERT INTO approvals (id, kind, object, payload_digest, maker_account_id, requested_at_ms, state)
             VALUES ($1, $2, $3, $4, $5, $6, 'pending')",
        )
        .bind(&id)
        .bind(kind.name())
        .bind(object)
        .bind(payload_digest.as_str())
        .bind(maker)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        append(&mut tx, &event(Outcome::Success, &details), now_ms).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Decides a pending approval. Refused and audited: a checker that is the maker and an
    /// approval already decided are [`StoreError::Conflict`]; a checker without the kind's
    /// approve permission (or frozen, or with conflicting roles) is [`StoreError::Refused`].
    pub async fn approval_decide(
        &self,
        approval_id: &str,
        checker: &str,
        approve: bool,
        request_id: &str,
        now_ms: i64,
    ) -> Result<ApprovalState, StoreError> {
        let mut tx = self.begin_write().await?;
        let approval = approval_in(&mut tx, approval_id)
            .await?
            .ok_or(StoreError::NotFound("approval"))?;
        let grants = grants_in(&mut tx, checker).await?;
        let state = if approve {
            ApprovalState::Approved
        } else {
            ApprovalState::Rejected
        };
        let actor = format!("account:{checker}");
        let object = format!("approval:{approval_id}");
        let action = format!("approval.{}", if approve { "approve" } else { "reject" });
        let mut details = vec![
            ("kind", AuditValue::Word(approval.kind.name())),
            (
                "maker",
                AuditValue::Text(format!("account:{}", approval.maker)),
            ),
        ];
        let already_decided = || {
            let message = "this approval was already decided";
            ("already-decided", StoreError::Conflict(message))
        };
        let refusal = if approval.state != ApprovalState::Pending {
            Some(already_decided())
        } else if let Err(error) =
            check_maker_checker(&approval.maker, checker, &grants, approval.kind.approve())
        {
            Some(separation_refusal(error))
        } else {
            // Conditional on the state, so of two checkers deciding at once only one succeeds.
            let updated = sqlx::query(
                "UPDATE approvals SET state = $2, checker_account_id = $3, decided_at_ms = $4
                 WHERE id = $1 AND state = 'pending'",
            )
            .bind(approval_id)
            .bind(state.name())
            .bind(checker)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            (updated == 0).then(already_decided)
        };
        let event = |outcome, details| AuditEvent {
            actor: &actor,
            action: &action,
            object: &object,
            outcome,
            request_id,
            details,
        };
        if let Some((reason, error)) = refusal {
            details.push(("reason", AuditValue::Word(reason)));
            return Err(refused(tx, &event(Outcome::Denied, &details), now_ms, error).await);
        }
        append(&mut tx, &event(Outcome::Success, &details), now_ms).await?;
        tx.commit().await?;
        Ok(state)
    }

    /// An approval, for the fund flow to check its state and payload digest before it acts.
    pub async fn approval(&self, approval_id: &str) -> Result<Approval, StoreError> {
        let mut connection = self.pool.acquire().await?;
        approval_in(&mut connection, approval_id)
            .await?
            .ok_or(StoreError::NotFound("approval"))
    }

    /// The id of the staff account with this login name, if there is one.
    pub async fn staff_account_id(
        &self,
        keyring: &Keyring,
        name: &LoginName,
    ) -> Result<Option<String>, StoreError> {
        // The same blind index as `accounts`, under every key version still searchable.
        for index in keyring.blind_indexes_for_lookup("login-name", &name.index_form()) {
            let row = sqlx::query(
                "SELECT id FROM accounts WHERE login_name_index = $1 AND population = 'staff'",
            )
            .bind(&index)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = row {
                return Ok(Some(row.try_get(0)?));
            }
        }
        Ok(None)
    }

    /// The permission review report (clauses 5.3.2.2 and 5.6.1-d): every staff account, and
    /// every other account holding a staff role, with its roles, effective permissions, data
    /// scopes, assignments, status, last sign-in, days since, dormant flag (never signed in,
    /// or not for [`DORMANT_DAYS`] days), separation-of-duty conflicts, roles that do not fit
    /// its population, and whether it still has an initial password. Accounts with conflicts
    /// come first, then dormant ones, each group by login name.
    pub async fn permission_review(&self, now_ms: i64) -> Result<Vec<ReviewRow>, StoreError> {
        let accounts = sqlx::query(
            "SELECT a.id, a.login_name_display, a.status, a.must_change_password, a.created_at_ms,
                    a.last_login_at_ms, a.population
             FROM accounts a
             WHERE a.population = 'staff' OR EXISTS (
                SELECT 1 FROM account_roles r WHERE r.account_id = a.id AND r.role <> 'customer')
             ORDER BY a.login_name_display, a.id LIMIT $1",
        )
        .bind(REVIEW_ACCOUNTS_MAX)
        .fetch_all(&self.pool)
        .await?;
        let mut connection = self.pool.acquire().await?;
        let mut rows = Vec::with_capacity(accounts.len());
        for account in &accounts {
            let account_id: String = account.try_get(0)?;
            let roles = roles_of(&mut connection, &account_id).await?;
            let (assigned_customers, assigned_claims) =
                assignment_counts(&mut connection, &account_id).await?;
            let status: String = account.try_get(2)?;
            let must_change: i64 = account.try_get(3)?;
            let created_at_ms: i64 = account.try_get(4)?;
            let last_sign_in_ms: Option<i64> = account.try_get(5)?;
            let population: String = account.try_get(6)?;
            let population = Population::parse(&population)
                .ok_or(StoreError::Malformed("account population"))?;
            let grants = Grants::new(roles.iter().copied());
            let days_since_sign_in =
                (now_ms - last_sign_in_ms.unwrap_or(created_at_ms)).div_euclid(DAY_MS);
            let mut data_scopes: Vec<DataScope> = roles.iter().map(|r| r.data_scope()).collect();
            data_scopes.sort();
            data_scopes.dedup();
            rows.push(ReviewRow {
                login_name: account.try_get(1)?,
                permissions: if status == "active" {
                    grants.permissions()
                } else {
                    vec![]
                },
                conflicts: conflicting_roles(grants.roles()),
                wrong_population: grants
                    .roles()
                    .iter()
                    .copied()
                    .filter(|role| role.population() != population)
                    .collect(),
                roles: grants.roles().to_vec(),
                data_scopes,
                assigned_customers,
                assigned_claims,
                status,
                created_at_ms,
                last_sign_in_ms,
                days_since_sign_in,
                dormant: last_sign_in_ms.is_none() || days_since_sign_in >= DORMANT_DAYS,
                initial_password: must_change == 1,
                account_id,
            });
        }
        rows.sort_by(|a, b| {
            (!a.has_conflicts(), !a.dormant, &a.login_name).cmp(&(
                !b.has_conflicts(),
                !b.dormant,
                &b.login_name,
            ))
        });
        Ok(rows)
    }
}

fn role_event<'a>(
    who: Actor<'a>,
    action: &'a str,
    object: &'a str,
    outcome: Outcome,
    details: &'a [(&'static str, AuditValue)],
) -> AuditEvent<'a> {
    AuditEvent {
        actor: who.actor,
        action,
        object,
        outcome,
        request_id: who.request_id,
        details,
    }
}

async fn customer_in_scope(
    connection: &mut AnyConnection,
    account_id: &str,
    scope: DataScope,
    customer: &str,
) -> Result<bool, StoreError> {
    Ok(match scope {
        DataScope::Own => customer == account_id,
        DataScope::AssignedCustomers => agent_serves(connection, account_id, customer).await?,
        DataScope::AssignedClaims => false,
        DataScope::All => account_facts(connection, customer)
            .await?
            .is_some_and(|facts| facts.population == Population::Customer),
    })
}

async fn claim_in_scope(
    connection: &mut AnyConnection,
    account_id: &str,
    scope: DataScope,
    claim_id: &str,
    claimant: &str,
) -> Result<bool, StoreError> {
    Ok(match scope {
        DataScope::Own => claimant == account_id,
        DataScope::AssignedCustomers => agent_serves(connection, account_id, claimant).await?,
        DataScope::AssignedClaims => sqlx::query(
            "SELECT 1 FROM claim_assignments WHERE claim_id = $1 AND adjuster_account_id = $2",
        )
        .bind(claim_id)
        .bind(account_id)
        .fetch_optional(connection)
        .await?
        .is_some(),
        DataScope::All => true,
    })
}

async fn agent_serves(
    connection: &mut AnyConnection,
    agent: &str,
    customer: &str,
) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "SELECT 1 FROM agent_customers WHERE customer_account_id = $1 AND agent_account_id = $2",
    )
    .bind(customer)
    .bind(agent)
    .fetch_optional(connection)
    .await?
    .is_some())
}

async fn assignment_counts(
    connection: &mut AnyConnection,
    account_id: &str,
) -> Result<(i64, i64), StoreError> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM agent_customers WHERE agent_account_id = $1),
                (SELECT COUNT(*) FROM claim_assignments WHERE adjuster_account_id = $1)",
    )
    .bind(account_id)
    .fetch_one(connection)
    .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

async fn approval_in(
    connection: &mut AnyConnection,
    approval_id: &str,
) -> Result<Option<Approval>, StoreError> {
    let row = sqlx::query(
        "SELECT id, kind, object, payload_digest, maker_account_id, requested_at_ms, state,
                checker_account_id, decided_at_ms
         FROM approvals WHERE id = $1",
    )
    .bind(approval_id)
    .fetch_optional(connection)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let kind: String = row.try_get(1)?;
    let digest: String = row.try_get(3)?;
    let state: String = row.try_get(6)?;
    Ok(Some(Approval {
        id: row.try_get(0)?,
        kind: ApprovalKind::parse(&kind).ok_or(StoreError::Malformed("approval kind"))?,
        object: row.try_get(2)?,
        payload_digest: PayloadDigest::parse(&digest)
            .map_err(|_| StoreError::Malformed("approval digest"))?,
        maker: row.try_get(4)?,
        requested_at_ms: row.try_get(5)?,
        state: ApprovalState::parse(&state).ok_or(StoreError::Malformed("approval state"))?,
        checker: row.try_get(7)?,
        decided_at_ms: row.try_get(8)?,
    }))
}
