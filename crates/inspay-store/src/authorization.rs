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
//!
//! [`Store::may_access`]: crate::Store::may_access
//! [`Grants`]: inspay_identity::authorization::Grants

mod access;
mod account_facts;
mod approvals;
mod assignments;
mod audit_events;
mod full_display;
mod grants;
mod review;

pub use access::Target;
pub use approvals::{APPROVAL_OBJECT_CHARS_MAX, Approval, ApprovalState};
pub use assignments::CLAIM_ID_CHARS_MAX;
pub use review::{DORMANT_DAYS, REVIEW_ACCOUNTS_MAX, ReviewRow};
