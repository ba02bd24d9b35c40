//! Roles, permissions, data scopes and separation of duties (clauses 5.3.2.1, 5.3.2.2, 5.6.1-d,
//! 5.6.4.2 and 5.2.2.2-c2), pure and without I/O. The store keeps who holds which role and
//! which customers and claims are assigned to whom; this module decides.
//!
//! # Permissions
//!
//! A [`Permission`] is one operation on one kind of subject: a customer's data (profile,
//! policies, statements, refunds: the target is the customer), a claim (the target is the claim
//! and its claimant), or the system itself (keys, users, the audit log, the ledger as a whole).
//! Names are stable and dotted, such as `payout.approve`; permissions ending in `-own` reach
//! only the holder's own data.
//!
//! # Roles and the role → permission matrix
//!
//! Each role holds only what its job needs, and its permissions reach only its data scope.
//! `R` marks a read-only permission, `W` one that changes something.
//!
//! | role | data scope | permissions |
//! |---|---|---|
//! | customer | own | `profile.read-own` R, `profile.update-own` W, `policy.read-own` R, `policy.pay-own` W, `statement.read-own` R, `payout-account.change-own` W, `claim.submit-own` W, `claim.read-own` R |
//! | agent | assigned customers | `customer.read` R, `customer.read-full` R, `policy.read` R, `policy.propose` W |
//! | claims adjuster | assigned claims | `claim.read` R, `claim.assess` W, `payout.initiate` W |
//! | finance officer | all | `customer.read` R, `policy.read` R, `claim.read` R, `payout.approve` W, `refund.initiate` W, `refund.approve` W, `reconciliation.run` W, `ledger.read` R |
//! | auditor | all | `customer.read` R, `policy.read` R, `claim.read` R, `ledger.read` R, `audit.read` R, `audit.verify` R, `permissions.review` R |
//! | security officer | all | `keys.manage` W, `risk.monitor` R, `incident.respond` W, `audit.read` R, `audit.verify` R, `permissions.review` R |
//! | risk officer | all | `risk.monitor` R, `risk.review` W |
//! | administrator | all (system only) | `users.manage` W, `roles.grant` W, `assignments.manage` W, `client-apps.manage` W |
//!
//! Consequences an auditor can check (each is a test in `tests/authorization.rs`): no role
//! holds every permission; customers hold only `-own` permissions; the auditor changes
//! nothing; the administrator manages users and roles but approves no money and cannot read
//! the audit log or any customer's data; the key custodian (security officer) approves
//! nothing; full display of a customer's fields (`customer.read-full`) belongs to the agent
//! who serves that customer only, and still needs a fresh re-authentication and is audited
//! (5.2.2.2-c2). Approving (`payout.approve`, `refund.approve`) is held only with scope "all",
//! and an approval is always decided by another account than the one that asked for it
//! ([`check_maker_checker`]).
//!
//! # Separation of duties
//!
//! Some roles may not be held by one account together ([`conflict_reason`] names each rule
//! and why). An account whose roles conflict anyway (granted outside inspay, or before a rule
//! was tightened) is allowed nothing until the permission review resolves it: [`Grants`]
//! fails closed.

use inspay_core::sensitive::FieldKind;

/// How long a re-authentication counts as fresh for the full display of a masked field
/// (clause 5.2.2.2-c2).
pub const FULL_DISPLAY_REAUTH_S_MAX: i64 = 300;

/// What kind of thing a permission acts on, and so which target it can be checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A customer's data: profile, policies, statements, refunds. The target is the customer.
    CustomerData,
    /// A claim. The target is the claim and its claimant.
    Claim,
    /// The system as a whole: keys, users, roles, the audit log, the ledger.
    System,
}

/// Defines [`Permission`] with its name, subject and whether it only reads.
macro_rules! permissions {
    ($($(#[$meta:meta])* $variant:ident = $name:literal, $subject:ident, $access:ident;)+) => {
        /// One operation a role may be allowed (clause 5.3.2.1).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Permission {
            $($(#[$meta])* $variant,)+
        }

        impl Permission {
            /// Every permission, in a stable order.
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)+];

            /// The stable dotted name, such as `payout.approve`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Permission::$variant => $name,)+
                }
            }

            /// What the permission acts on.
            pub const fn subject(self) -> Subject {
                match self {
                    $(Permission::$variant => Subject::$subject,)+
                }
            }

            /// Whether the permission only reads (it changes nothing).
            pub const fn is_read_only(self) -> bool {
                match self {
                    $(Permission::$variant => access_is_read(Access::$access),)+
                }
            }
        }
    };
}

#[derive(Clone, Copy)]
enum Access {
    Read,
    Write,
}

const fn access_is_read(access: Access) -> bool {
    matches!(access, Access::Read)
}

permissions! {
    /// Read one's own profile (masked fields; full display after re-authentication).
    ProfileReadOwn = "profile.read-own", CustomerData, Read;
    /// Update one's own profile.
    ProfileUpdateOwn = "profile.update-own", CustomerData, Write;
    /// Read one's own policies.
    PolicyReadOwn = "policy.read-own", CustomerData, Read;
    /// Pay a premium on one's own policy.
    PolicyPayOwn = "policy.pay-own", CustomerData, Write;
    /// Apply for a policy for oneself (投保).
    PolicyApplyOwn = "policy.apply-own", CustomerData, Write;
    /// Cancel one's own policy (退保), with the refund the rules give.
    PolicyCancelOwn = "policy.cancel-own", CustomerData, Write;
    /// Read one's own statements and account entries (clause 4-b).
    StatementReadOwn = "statement.read-own", CustomerData, Read;
    /// Change one's own payout bank account.
    PayoutAccountChangeOwn = "payout-account.change-own", CustomerData, Write;
    /// Submit a claim on one's own policy.
    ClaimSubmitOwn = "claim.submit-own", CustomerData, Write;
    /// Read one's own claims.
    ClaimReadOwn = "claim.read-own", Claim, Read;
    /// Read a customer's profile, sensitive fields masked.
    CustomerRead = "customer.read", CustomerData, Read;
    /// Display a customer's sensitive fields in full (after a fresh re-authentication; audited).
    CustomerReadFull = "customer.read-full", CustomerData, Read;
    /// Read a customer's policies.
    PolicyRead = "policy.read", CustomerData, Read;
    /// Prepare a policy proposal for a customer to accept and pay.
    PolicyPropose = "policy.propose", CustomerData, Write;
    /// Read a claim.
    ClaimRead = "claim.read", Claim, Read;
    /// Assess a claim and set the amount to pay.
    ClaimAssess = "claim.assess", Claim, Write;
    /// Start the payout of an assessed claim (the maker).
    PayoutInitiate = "payout.initiate", Claim, Write;
    /// Approve or reject a payout another account started (the checker).
    PayoutApprove = "payout.approve", Claim, Write;
    /// Start a premium refund (the maker).
    RefundInitiate = "refund.initiate", CustomerData, Write;
    /// Approve or reject a refund another account started (the checker).
    RefundApprove = "refund.approve", CustomerData, Write;
    /// Run the reconciliation with payment channels.
    ReconciliationRun = "reconciliation.run", System, Write;
    /// Read the ledger as a whole.
    LedgerRead = "ledger.read", System, Read;
    /// Read the audit log's entries.
    AuditRead = "audit.read", System, Read;
    /// Verify the audit chain and its signed checkpoints.
    AuditVerify = "audit.verify", System, Read;
    /// Manage data keys: rotate, suspend, destroy (the key custodian).
    KeysManage = "keys.manage", System, Write;
    /// Watch risk alerts and security events.
    RiskMonitor = "risk.monitor", System, Read;
    /// Release or reject operations the risk engine held for review (clause 5.3.3.1).
    RiskReview = "risk.review", System, Write;
    /// Contain an incident: freeze an account, revoke a client, pause a channel (clause 6.4.3).
    IncidentRespond = "incident.respond", System, Write;
    /// Create, freeze and close staff accounts.
    UsersManage = "users.manage", System, Write;
    /// Grant and revoke roles.
    RolesGrant = "roles.grant", System, Write;
    /// Assign customers to agents and claims to adjusters.
    AssignmentsManage = "assignments.manage", System, Write;
    /// Register and revoke client applications (clause 5.4.2.1).
    ClientAppsManage = "client-apps.manage", System, Write;
    /// Read the permission review report.
    PermissionReview = "permissions.review", System, Read;
}

impl Permission {
    /// The permission with this name.
    pub fn parse(name: &str) -> Option<Permission> {
        Permission::ALL
            .iter()
            .copied()
            .find(|permission| permission.name() == name)
    }

    /// Whether this permission reaches only the holder's own data.
    pub fn is_own(self) -> bool {
        self.name().ends_with("-own")
    }

    /// Whether this permission is the checker's side of a maker-checker pair.
    pub fn is_approval(self) -> bool {
        ApprovalKind::ALL.iter().any(|kind| kind.approve() == self)
    }
}

/// Which population an account belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Population {
    /// Policyholders and claimants.
    Customer,
    /// Insurer staff.
    Staff,
}

impl Population {
    /// The stable name (as stored on accounts).
    pub const fn name(self) -> &'static str {
        match self {
            Population::Customer => "customer",
            Population::Staff => "staff",
        }
    }

    /// The population with this name.
    pub fn parse(name: &str) -> Option<Population> {
        [Population::Customer, Population::Staff]
            .into_iter()
            .find(|population| population.name() == name)
    }
}

/// Which data a role's permissions reach (clause 5.6.1-d).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DataScope {
    /// Only the holder's own data.
    Own,
    /// The customers assigned to the holder (an agent's own customers).
    AssignedCustomers,
    /// The claims assigned to the holder (an adjuster's claims).
    AssignedClaims,
    /// Everything of the permission's subject.
    All,
}

impl DataScope {
    /// The stable name.
    pub const fn name(self) -> &'static str {
        match self {
            DataScope::Own => "own",
            DataScope::AssignedCustomers => "assigned-customers",
            DataScope::AssignedClaims => "assigned-claims",
            DataScope::All => "all",
        }
    }

    /// How far the scope reaches, for picking the widest of several.
    const fn breadth(self) -> u8 {
        match self {
            DataScope::Own => 1,
            DataScope::AssignedCustomers | DataScope::AssignedClaims => 2,
            DataScope::All => 3,
        }
    }
}

/// A role: a named set of permissions with one data scope (clause 5.3.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// A policyholder or claimant.
    Customer,
    /// Sells policies and serves their own customers.
    Agent,
    /// Assesses the claims assigned to them and starts their payouts.
    ClaimsAdjuster,
    /// Approves payouts and refunds, runs reconciliation.
    FinanceOfficer,
    /// Reads and verifies; changes nothing.
    Auditor,
    /// Key custodian; watches risk and responds to incidents.
    SecurityOfficer,
    /// Watches risk alerts and decides the operations the risk engine held for review.
    RiskOfficer,
    /// Manages staff accounts, roles, assignments and client applications.
    Administrator,
}

use Permission as P;

const CUSTOMER: &[Permission] = &[
    P::ProfileReadOwn,
    P::ProfileUpdateOwn,
    P::PolicyReadOwn,
    P::PolicyPayOwn,
    P::PolicyApplyOwn,
    P::PolicyCancelOwn,
    P::StatementReadOwn,
    P::PayoutAccountChangeOwn,
    P::ClaimSubmitOwn,
    P::ClaimReadOwn,
];
const AGENT: &[Permission] = &[
    P::CustomerRead,
    P::CustomerReadFull,
    P::PolicyRead,
    P::PolicyPropose,
];
const CLAIMS_ADJUSTER: &[Permission] = &[P::ClaimRead, P::ClaimAssess, P::PayoutInitiate];
const FINANCE_OFFICER: &[Permission] = &[
    P::CustomerRead,
    P::PolicyRead,
    P::ClaimRead,
    P::PayoutApprove,
    P::RefundInitiate,
    P::RefundApprove,
    P::ReconciliationRun,
    P::LedgerRead,
];
const AUDITOR: &[Permission] = &[
    P::CustomerRead,
    P::PolicyRead,
    P::ClaimRead,
    P::LedgerRead,
    P::AuditRead,
    P::AuditVerify,
    P::PermissionReview,
];
const SECURITY_OFFICER: &[Permission] = &[
    P::KeysManage,
    P::RiskMonitor,
    P::IncidentRespond,
    P::AuditRead,
    P::AuditVerify,
    P::PermissionReview,
];
const RISK_OFFICER: &[Permission] = &[P::RiskMonitor, P::RiskReview];
const ADMINISTRATOR: &[Permission] = &[
    P::UsersManage,
    P::RolesGrant,
    P::AssignmentsManage,
    P::ClientAppsManage,
];

impl Role {
    /// Every role.
    pub const ALL: &'static [Role] = &[
        Role::Customer,
        Role::Agent,
        Role::ClaimsAdjuster,
        Role::FinanceOfficer,
        Role::Auditor,
        Role::SecurityOfficer,
        Role::RiskOfficer,
        Role::Administrator,
    ];

    /// The stable name, such as `claims-adjuster`.
    pub const fn name(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Agent => "agent",
            Role::ClaimsAdjuster => "claims-adjuster",
            Role::FinanceOfficer => "finance-officer",
            Role::Auditor => "auditor",
            Role::SecurityOfficer => "security-officer",
            Role::RiskOfficer => "risk-officer",
            Role::Administrator => "administrator",
        }
    }

    /// The role with this name.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.iter().copied().find(|role| role.name() == name)
    }

    /// The permissions the role holds (the matrix in the module documentation).
    pub const fn permissions(self) -> &'static [Permission] {
        match self {
            Role::Customer => CUSTOMER,
            Role::Agent => AGENT,
            Role::ClaimsAdjuster => CLAIMS_ADJUSTER,
            Role::FinanceOfficer => FINANCE_OFFICER,
            Role::Auditor => AUDITOR,
            Role::SecurityOfficer => SECURITY_OFFICER,
            Role::RiskOfficer => RISK_OFFICER,
            Role::Administrator => ADMINISTRATOR,
        }
    }

    /// Which accounts may hold the role: the customer role only customer accounts, every
    /// other role only staff accounts.
    pub const fn population(self) -> Population {
        match self {
            Role::Customer => Population::Customer,
            _ => Population::Staff,
        }
    }

    /// The data the role's permissions reach. Permissions on the system itself are not
    /// limited by a scope.
    pub const fn data_scope(self) -> DataScope {
        match self {
            Role::Customer => DataScope::Own,
            Role::Agent => DataScope::AssignedCustomers,
            Role::ClaimsAdjuster => DataScope::AssignedClaims,
            Role::FinanceOfficer
            | Role::Auditor
            | Role::SecurityOfficer
            | Role::RiskOfficer
            | Role::Administrator => DataScope::All,
        }
    }

    /// Whether the role holds `permission`.
    pub fn holds(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }
}

/// Why two roles may not be held by one account, or `None` if they may (clause 5.3.2.2).
///
/// The rules:
/// 1. Customer and staff roles are never held together: a person who is also a customer has
///    a separate customer account.
/// 2. The auditor is independent: no other staff role.
/// 3. The administrator, who decides who may do what, holds no business or security role,
///    so nobody can grant themselves (or a second account of theirs) the power to act.
/// 4. The key custodian (security officer) is not an approver, and does not start fund
///    operations whose records its keys protect: not with finance officer or claims adjuster.
/// 5. The chain of a claim's money is split: who assesses a claim (claims adjuster) does not
///    approve payouts (finance officer); who sells to a customer (agent) neither assesses
///    their claims nor moves their money.
pub fn conflict_reason(first: Role, second: Role) -> Option<&'static str> {
    use Role::*;
    if first == second {
        return None;
    }
    let (a, b) = if first < second {
        (first, second)
    } else {
        (second, first)
    };
    Some(match (a, b) {
        (Customer, _) => {
            "separation of duties: customer and staff roles are never held by one account (5.3.2.2)"
        }
        (_, Auditor) | (Auditor, _) => {
            "separation of duties: the auditor is independent and holds no other staff role (5.3.2.2)"
        }
        (_, Administrator) => {
            "separation of duties: the administrator, who grants roles, holds no business or security role (5.3.2.2)"
        }
        (FinanceOfficer, SecurityOfficer) => {
            "separation of duties: a key custodian (security officer) is not an approver (5.3.2.2)"
        }
        (ClaimsAdjuster, SecurityOfficer) => {
            "separation of duties: a key custodian (security officer) does not start fund operations (5.3.2.2)"
        }
        (ClaimsAdjuster, FinanceOfficer) => {
            "separation of duties: who assesses claims does not approve payouts (5.3.2.2)"
        }
        (Agent, ClaimsAdjuster) => {
            "separation of duties: who sells to customers does not assess their claims (5.3.2.2)"
        }
        (Agent, FinanceOfficer) => {
            "separation of duties: who sells to customers does not move their money (5.3.2.2)"
        }
        (Agent | ClaimsAdjuster | FinanceOfficer, RiskOfficer) => {
            "separation of duties: who reviews held operations does not sell, assess or approve them (5.3.2.2, 5.3.3.1)"
        }
        _ => return None,
    })
}

/// Every pair of roles in `roles` that one account may not hold together, each pair once,
/// in the order of [`Role::ALL`].
pub fn conflicting_roles(roles: &[Role]) -> Vec<(Role, Role)> {
    let mut distinct: Vec<Role> = roles.to_vec();
    distinct.sort();
    distinct.dedup();
    let mut out = vec![];
    for (index, first) in distinct.iter().enumerate() {
        for second in &distinct[index + 1..] {
            if conflict_reason(*first, *second).is_some() {
                out.push((*first, *second));
            }
        }
    }
    out
}

/// How much of a customer's sensitive field a viewer is shown (clause 5.6.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldView {
    /// Not shown at all (not even masked).
    Hidden,
    /// Shown masked (clause 5.6.4.1).
    Masked,
    /// Shown in full: only after a fresh re-authentication, and every such display is audited
    /// (clause 5.2.2.2-c2).
    Full,
}

impl FieldView {
    /// The stable name.
    pub const fn name(self) -> &'static str {
        match self {
            FieldView::Hidden => "hidden",
            FieldView::Masked => "masked",
            FieldView::Full => "full",
        }
    }
}

/// Whether a field may ever be displayed in full: card number, legal name, mobile and ID
/// number may (clause 5.2.2.2-c2); card PIN, transaction password, CVV and expiry never
/// (clause 5.2.2.2-b).
pub const fn may_display_in_full(field: FieldKind) -> bool {
    matches!(
        field,
        FieldKind::CardNumber
            | FieldKind::LegalName
            | FieldKind::MobileNumber
            | FieldKind::IdNumber
    )
}

/// Whether a re-authentication at `reauthenticated_at_ms` is fresh enough at `now_ms` for a
/// full display.
pub fn reauthentication_is_fresh(reauthenticated_at_ms: Option<i64>, now_ms: i64) -> bool {
    reauthenticated_at_ms
        .is_some_and(|at_ms| at_ms <= now_ms && now_ms - at_ms <= FULL_DISPLAY_REAUTH_S_MAX * 1000)
}

/// The roles one account holds, and what they allow it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    roles: Vec<Role>,
}

impl Grants {
    /// Grants of these roles (order and repeats do not matter).
    pub fn new(roles: impl IntoIterator<Item = Role>) -> Grants {
        let mut roles: Vec<Role> = roles.into_iter().collect();
        roles.sort();
        roles.dedup();
        Grants { roles }
    }

    /// No roles: nothing is allowed.
    pub fn none() -> Grants {
        Grants::default()
    }

    /// The roles, in the order of [`Role::ALL`].
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// The role pairs that conflict; if there is any, nothing is allowed.
    pub fn conflicts(&self) -> Vec<(Role, Role)> {
        conflicting_roles(&self.roles)
    }

    /// The roles that hold `permission`, unless the roles conflict (then none: fail closed).
    fn holders(&self, permission: Permission) -> impl Iterator<Item = Role> + '_ {
        let usable = self.conflicts().is_empty();
        self.roles
            .iter()
            .copied()
            .filter(move |role| usable && role.holds(permission))
    }

    /// Whether the account may use `permission` at all (its data scope is checked separately).
    pub fn allows(&self, permission: Permission) -> bool {
        self.holders(permission).next().is_some()
    }

    /// Every data scope in which the account holds `permission`.
    pub fn scopes_for(&self, permission: Permission) -> Vec<DataScope> {
        let mut scopes: Vec<DataScope> = self
            .holders(permission)
            .map(|role| {
                if permission.subject() == Subject::System {
                    DataScope::All
                } else {
                    role.data_scope()
                }
            })
            .collect();
        scopes.sort();
        scopes.dedup();
        scopes
    }

    /// The widest scope in which the account holds `permission`, or `None` if it does not.
    /// Permissions on the system are not limited by a scope and report [`DataScope::All`].
    pub fn scope_for(&self, permission: Permission) -> Option<DataScope> {
        self.scopes_for(permission)
            .into_iter()
            .max_by_key(|scope| scope.breadth())
    }

    /// Every permission the account may use, in the order of [`Permission::ALL`].
    pub fn permissions(&self) -> Vec<Permission> {
        Permission::ALL
            .iter()
            .copied()
            .filter(|permission| self.allows(*permission))
            .collect()
    }

    /// How a customer's sensitive `field` is shown to this account, once its data scope has
    /// allowed the read (clauses 5.6.4.2 and 5.2.2.2-c2). `own` says the customer is the
    /// viewer; `fresh_reauthentication` that the viewer re-authenticated within
    /// [`FULL_DISPLAY_REAUTH_S_MAX`] seconds. Payment-sensitive fields are never shown.
    pub fn field_view(
        &self,
        field: FieldKind,
        own: bool,
        fresh_reauthentication: bool,
    ) -> FieldView {
        let (read, full) = if own {
            (P::ProfileReadOwn, P::ProfileReadOwn)
        } else {
            (P::CustomerRead, P::CustomerReadFull)
        };
        if !may_display_in_full(field) || !self.allows(read) {
            FieldView::Hidden
        } else if fresh_reauthentication && self.allows(full) {
            FieldView::Full
        } else {
            FieldView::Masked
        }
    }
}

/// Why a maker-checker decision is refused (clause 5.3.2.2). Messages name the rule only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SeparationError {
    /// The checker is the maker.
    #[error(
        "separation of duties: an action is approved by another account than the one that asked for it"
    )]
    CheckerIsMaker,
    /// The checker does not hold the approve permission.
    #[error("the checker does not hold the permission to approve this action")]
    CheckerNotPermitted,
    /// The maker does not hold the permission to start the action.
    #[error("the maker does not hold the permission to start this action")]
    MakerNotPermitted,
    /// The permission named as the approval is not one.
    #[error("the permission named is not an approval permission")]
    NotAnApproval,
}

/// Maker-checker: refuses when the checker is the maker, or the checker lacks the approve
/// permission (or the roles it holds conflict, see [`Grants`]).
pub fn check_maker_checker(
    maker_account: &str,
    checker_account: &str,
    checker: &Grants,
    approve: Permission,
) -> Result<(), SeparationError> {
    if !approve.is_approval() {
        return Err(SeparationError::NotAnApproval);
    }
    if maker_account == checker_account {
        return Err(SeparationError::CheckerIsMaker);
    }
    if !checker.allows(approve) {
        return Err(SeparationError::CheckerNotPermitted);
    }
    Ok(())
}

/// An action that needs a second person's approval. Which payouts need one (those above the
/// large-claim threshold of clause 5.1-b) is the fund flow's rule; this names the pair of
/// permissions for each kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApprovalKind {
    /// A claim payout.
    Payout,
    /// A premium refund.
    Refund,
}

impl ApprovalKind {
    /// Every kind.
    pub const ALL: &'static [ApprovalKind] = &[ApprovalKind::Payout, ApprovalKind::Refund];

    /// The stable name.
    pub const fn name(self) -> &'static str {
        match self {
            ApprovalKind::Payout => "payout",
            ApprovalKind::Refund => "refund",
        }
    }

    /// The kind with this name.
    pub fn parse(name: &str) -> Option<ApprovalKind> {
        ApprovalKind::ALL
            .iter()
            .copied()
            .find(|kind| kind.name() == name)
    }

    /// What the maker must hold.
    pub const fn initiate(self) -> Permission {
        match self {
            ApprovalKind::Payout => P::PayoutInitiate,
            ApprovalKind::Refund => P::RefundInitiate,
        }
    }

    /// What the checker must hold.
    pub const fn approve(self) -> Permission {
        match self {
            ApprovalKind::Payout => P::PayoutApprove,
            ApprovalKind::Refund => P::RefundApprove,
        }
    }
}

/// The SM3 digest of the payload an approval covers, as `sm3:<64 hex digits>`: the checker
/// approves exactly this payload, and the fund flow checks the digest again before it acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadDigest(String);

/// A text that is not `sm3:` followed by 64 lower-case hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a payload digest is 'sm3:' followed by 64 lower-case hex digits")]
pub struct PayloadDigestError;

impl PayloadDigest {
    /// The digest of `payload` (its canonical bytes).
    pub fn of(payload: &[u8]) -> PayloadDigest {
        PayloadDigest(format!(
            "sm3:{}",
            hex::encode(inspay_crypto::sm3::sm3(payload))
        ))
    }

    /// A digest from its text form.
    pub fn parse(text: &str) -> Result<PayloadDigest, PayloadDigestError> {
        let hex_part = text.strip_prefix("sm3:").ok_or(PayloadDigestError)?;
        let well_formed = hex_part.len() == 64
            && hex_part
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if well_formed {
            Ok(PayloadDigest(text.to_string()))
        } else {
            Err(PayloadDigestError)
        }
    }

    /// The text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
