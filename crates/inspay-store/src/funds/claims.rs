//! Claims (理赔, issue 5 item 3; clauses 5.3.1.3, 5.3.2.2, 5.6.2-d2): filed by the policyholder
//! with a signature over the claim, assessed by an adjuster who signs the decision, confirmed
//! above the large-payout threshold by a second approver who signs it too, and paid out to a
//! verified bank account.
//!
//! The policy's row is locked before the claim's in every step, so the claims of one policy
//! are assessed one at a time and the approved amounts can never add up to more than its
//! cover. The signatures are checked by the caller (it knows the keys); this module keeps each
//! with the public key that made it, under the row's record MAC, so they can be verified again
//! later from the stored claim alone. Final approval posts the claim to the ledger and starts
//! its payout in the same transaction.

use super::payout_accounts;

mod queries;

use super::payouts::{Payout, start_payout};
use super::policies::policy_for_update;
use super::{FundsError, check_mac, is_unique_violation, mac_text};
use crate::audit::{self, AuditEvent, AuditValue, Outcome};
use crate::{Store, StoreError};
use inspay_core::calendar::{date_text, parse_date};
use inspay_core::funds::{
    ClaimStatus, Decision, assess, remaining_cover, second_approval, second_rejection,
};
use inspay_core::ids::{ClaimId, PolicyId};
use inspay_core::money::{Amount, Money};
use inspay_core::policy::PolicyStatus;
use inspay_kms::Keyring;
pub(super) use queries::policy_claims_state;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::Date;

/// Longest claim description, characters.
pub const DESCRIPTION_CHARS_MAX: usize = 500;
/// Most claims one listing returns, newest first.
pub const CLAIMS_LISTED_MAX: i64 = 200;

/// A signature one party made, with the key that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartySignature {
    /// Which key: `device-key:<key id>`, `app:<app id>:<serial>` or `staff-key:<key id>`.
    pub signer: String,
    /// The public key, hex SEC1 (uncompressed).
    pub public_key: String,
    /// The SM2 signature, base64 DER.
    pub signature: String,
}

/// The adjuster's decision as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRecord {
    /// The adjuster.
    pub adjuster_account_id: String,
    /// Approved (with [`Claim::approved`]) or rejected.
    pub approve: bool,
    /// The adjuster's signature over the decision document.
    pub signature: PartySignature,
    /// When (unix ms).
    pub at_ms: i64,
}

/// The second approver's verdict as recorded: a confirmation, or a rejection when the claim
/// ended `rejected` after it (the claim's status, under its record MAC, says which).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRecord {
    /// The second approver (never the adjuster).
    pub approver_account_id: String,
    /// The approver's signature over the approval document.
    pub signature: PartySignature,
    /// When (unix ms).
    pub at_ms: i64,
}

/// A claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// Id.
    pub id: ClaimId,
    /// The policy claimed on.
    pub policy_id: PolicyId,
    /// The claimant (the policyholder).
    pub claimant_account_id: String,
    /// How much is claimed.
    pub claimed: Amount,
    /// The day of the incident.
    pub incident_on: Date,
    /// Hex SM3 of the description (the description itself is sealed).
    pub description_sm3: String,
    /// The verified bank account the claimant named for the payout.
    pub payout_account_id: String,
    /// The idempotency key of the filing request, named in the signed claim.
    pub idempotency_key: String,
    /// The claimant's signature over the claim document.
    pub claimant_signature: PartySignature,
    /// Where it stands.
    pub status: ClaimStatus,
    /// The approved amount, once approved.
    pub approved: Option<Amount>,
    /// The adjuster's decision.
    pub decision: Option<DecisionRecord>,
    /// The second approval, above the large-payout threshold.
    pub approval: Option<ApprovalRecord>,
    /// Filed (unix ms).
    pub created_at_ms: i64,
    /// Last changed (unix ms).
    pub updated_at_ms: i64,
}

/// A claim to file. The caller has verified `signature` over the claim document built from
/// these fields.
#[derive(Debug, Clone)]
pub struct NewClaim<'a> {
    /// The policy.
    pub policy_id: &'a PolicyId,
    /// The claimant; must be the policyholder.
    pub claimant: &'a str,
    /// How much.
    pub claimed: Amount,
    /// When it happened; inside the policy's cover and not in the future.
    pub incident_on: Date,
    /// What happened (at most [`DESCRIPTION_CHARS_MAX`] characters).
    pub description: &'a str,
    /// A live payout account of the claimant.
    pub payout_account_id: &'a str,
    /// The filing request's idempotency key.
    pub idempotency_key: &'a str,
    /// The claimant's signature.
    pub signature: PartySignature,
    /// Today (for the incident date check).
    pub today: Date,
}

/// An adjuster's signed decision.
#[derive(Debug, Clone)]
pub struct NewDecision<'a> {
    /// The claim.
    pub claim_id: &'a ClaimId,
    /// The adjuster.
    pub adjuster: &'a str,
    /// Approve an amount, or reject.
    pub decision: Decision,
    /// The adjuster's signature over the decision document.
    pub signature: PartySignature,
    /// Above this the claim waits for a second approver.
    pub large_threshold: Money,
}

/// A second approver's signed verdict on a large claim.
#[derive(Debug, Clone)]
pub struct SecondVerdict<'a> {
    /// The claim.
    pub claim_id: &'a ClaimId,
    /// The second approver.
    pub approver: &'a str,
    /// Confirm the adjuster's approval (`true`) or reject the claim.
    pub confirm: bool,
    /// The approver's signature over the approval document.
    pub signature: PartySignature,
}

/// What a decision or approval did.
#[derive(Debug, Clone)]
pub struct ClaimStep {
    /// The claim afterwards.
    pub claim: Claim,
    /// The payout it started, when the claim became approved.
    pub payout: Option<Payout>,
}

pub(super) const CLAIM_COLUMNS: &str = "id, policy_id, claimant_account_id, claimed_fen, \
     incident_on, description_sm3, payout_account_id, idempotency_key, claimant_signer, \
     claimant_public_key, claimant_signature, status, approved_fen, adjuster_account_id, \
     decision, decision_key_id, decision_public_key, decision_signature, decided_at_ms, \
     approver_account_id, approval_key_id, approval_public_key, approval_signature, \
     approved_at_ms, created_at_ms, updated_at_ms, record_mac";

fn mac_parts(claim: &Claim) -> Vec<Vec<u8>> {
    let mut parts = vec![
        "inspay/claim/v1".to_string(),
        claim.id.to_string(),
        claim.policy_id.to_string(),
        claim.claimant_account_id.clone(),
        claim.claimed.fen().to_string(),
        date_text(claim.incident_on),
        claim.description_sm3.clone(),
        claim.payout_account_id.clone(),
        claim.idempotency_key.clone(),
        claim.claimant_signature.signer.clone(),
        claim.claimant_signature.public_key.clone(),
        claim.claimant_signature.signature.clone(),
        claim.status.as_str().to_string(),
        claim.approved.map_or(0, Amount::fen).to_string(),
        claim.created_at_ms.to_string(),
        claim.updated_at_ms.to_string(),
    ];
    match &claim.decision {
        Some(decision) => parts.extend([
            decision.adjuster_account_id.clone(),
            if decision.approve {
                "approve"
            } else {
                "reject"
            }
            .to_string(),
            decision.signature.signer.clone(),
            decision.signature.public_key.clone(),
            decision.signature.signature.clone(),
            decision.at_ms.to_string(),
        ]),
        None => parts.push("no-decision".to_string()),
    }
    match &claim.approval {
        Some(approval) => parts.extend([
            approval.approver_account_id.clone(),
            approval.signature.signer.clone(),
            approval.signature.public_key.clone(),
            approval.signature.signature.clone(),
            approval.at_ms.to_string(),
        ]),
        None => parts.push("no-approval".to_string()),
    }
    parts.into_iter().map(String::into_bytes).collect()
}

fn text(row: &AnyRow, index: usize) -> Result<String, StoreError> {
    Ok(row.try_get(index)?)
}

fn optional(row: &AnyRow, index: usize) -> Result<Option<String>, StoreError> {
    Ok(row.try_get(index)?)
}

pub(super) fn claim_from_row(keyring: &Keyring, row: &AnyRow) -> Result<Claim, StoreError> {
    let malformed = || StoreError::Malformed("claim");
    let status = text(row, 11)?;
    let approved: Option<i64> = row.try_get(12)?;
    let decision = match (optional(row, 13)?, optional(row, 14)?) {
        (Some(adjuster), Some(verdict)) => Some(DecisionRecord {
            adjuster_account_id: adjuster,
            approve: verdict == "approve",
            signature: PartySignature {
                signer: format!("staff-key:{}", optional(row, 15)?.unwrap_or_default()),
                public_key: optional(row, 16)?.unwrap_or_default(),
                signature: optional(row, 17)?.unwrap_or_default(),
            },
            at_ms: row.try_get::<Option<i64>, _>(18)?.unwrap_or(0),
        }),
        _ => None,
    };
    let approval = match optional(row, 19)? {
        Some(approver) => Some(ApprovalRecord {
            approver_account_id: approver,
            signature: PartySignature {
                signer: format!("staff-key:{}", optional(row, 20)?.unwrap_or_default()),
                public_key: optional(row, 21)?.unwrap_or_default(),
                signature: optional(row, 22)?.unwrap_or_default(),
            },
            at_ms: row.try_get::<Option<i64>, _>(23)?.unwrap_or(0),
        }),
        None => None,
    };
    let claim = Claim {
        id: ClaimId::parse(&text(row, 0)?).map_err(|_| malformed())?,
        policy_id: PolicyId::parse(&text(row, 1)?).map_err(|_| malformed())?,
        claimant_account_id: text(row, 2)?,
        claimed: Amount::from_fen(row.try_get(3)?).map_err(|_| malformed())?,
        incident_on: parse_date(&text(row, 4)?).ok_or_else(malformed)?,
        description_sm3: text(row, 5)?,
        payout_account_id: text(row, 6)?,
        idempotency_key: text(row, 7)?,
        claimant_signature: PartySignature {
            signer: text(row, 8)?,
            public_key: text(row, 9)?,
            signature: text(row, 10)?,
        },
        status: ClaimStatus::parse(&status).ok_or_else(malformed)?,
        approved: approved
            .map(Amount::from_fen)
            .transpose()
            .map_err(|_| malformed())?,
        decision,
        approval,
        created_at_ms: row.try_get(24)?,
        updated_at_ms: row.try_get(25)?,
    };
    check_mac(keyring, &mac_parts(&claim), &text(row, 26)?, "a claim")?;
    Ok(claim)
}

/// Decisions and approvals are signed with a staff member's registered key.
fn staff_signed(signature: &PartySignature) -> Result<(), FundsError> {
    match key_id(signature) {
        Some(id) if !id.is_empty() => Ok(()),
        _ => Err(FundsError::ClaimRefused(
            "a decision is signed with the staff member's registered key",
        )),
    }
}

fn key_id(signature: &PartySignature) -> Option<String> {
    signature
        .signer
        .strip_prefix("staff-key:")
        .map(str::to_string)
}

/// Writes every changeable column of a claim with a fresh record MAC.
pub(super) async fn write_claim(
    connection: &mut AnyConnection,
    keyring: &Keyring,
    claim: &Claim,
) -> Result<(), StoreError> {
    let mac = mac_text(keyring, &mac_parts(claim))?;
    let decision = claim.decision.as_ref();
    let approval = claim.approval.as_ref();
    sqlx::query(
        "UPDATE claims SET status = $2, approved_fen = $3, adjuster_account_id = $4,
             decision = $5, decision_key_id = $6, decision_public_key = $7,
             decision_signature = $8, decided_at_ms = $9, approver_account_id = $10,
             approval_key_id = $11, approval_public_key = $12, approval_signature = $13,
             approved_at_ms = $14, updated_at_ms = $15, record_mac = $16
         WHERE id = $1",
    )
    .bind(claim.id.as_str())
    .bind(claim.status.as_str())
    .bind(claim.approved.map(Amount::fen))
    .bind(decision.map(|d| d.adjuster_account_id.clone()))
    .bind(decision.map(|d| if d.approve { "approve" } else { "reject" }))
    .bind(decision.and_then(|d| key_id(&d.signature)))
    .bind(decision.map(|d| d.signature.public_key.clone()))
    .bind(decision.map(|d| d.signature.signature.clone()))
    .bind(decision.map(|d| d.at_ms))
    .bind(approval.map(|a| a.approver_account_id.clone()))
    .bind(approval.and_then(|a| key_id(&a.signature)))
    .bind(approval.map(|a| a.signature.public_key.clone()))
    .bind(approval.map(|a| a.signature.signature.clone()))
    .bind(approval.map(|a| a.at_ms))
    .bind(claim.updated_at_ms)
    .bind(&mac)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Reads a claim inside a transaction, locking its row on PostgreSQL.
pub(super) async fn claim_for_update(
    connection: &mut AnyConnection,
    backend: crate::Backend,
    keyring: &Keyring,
    claim_id: &ClaimId,
) -> Result<Claim, FundsError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {CLAIM_COLUMNS} FROM claims WHERE id = $1{}",
        backend.for_update()
    )))
    .bind(claim_id.as_str())
    .fetch_optional(&mut *connection)
    .await
    .map_err(StoreError::from)?
    .ok_or(FundsError::NotFound("claim"))?;
    Ok(claim_from_row(keyring, &row)?)
}

/// Locks the payout account a payout is about to go to; one removed meanwhile is "not found"
/// (the claimant sends the payout to another account).
async fn live_account(
    connection: &mut AnyConnection,
    backend: crate::Backend,
    payout_account_id: &str,
    claimant: &str,
) -> Result<(), FundsError> {
    if payout_accounts::lock_live(connection, backend, payout_account_id, claimant).await? {
        Ok(())
    } else {
        Err(FundsError::NotFound("payout account"))
    }
}

/// The policy of a claim, read before anything is locked (the policy is locked first).
async fn policy_of(
    connection: &mut AnyConnection,
    claim_id: &ClaimId,
) -> Result<PolicyId, FundsError> {
    let policy: String = sqlx::query("SELECT policy_id FROM claims WHERE id = $1")
        .bind(claim_id.as_str())
        .fetch_optional(&mut *connection)
        .await
        .map_err(StoreError::from)?
        .ok_or(FundsError::NotFound("claim"))?
        .try_get(0)
        .map_err(StoreError::from)?;
    Ok(PolicyId::parse(&policy).map_err(|_| StoreError::Malformed("claim policy id"))?)
}

/// The approved amounts of a policy's other claims that still hold cover.
async fn held_cover(
    connection: &mut AnyConnection,
    policy_id: &PolicyId,
    except: &ClaimId,
) -> Result<Vec<Money>, StoreError> {
    let rows = sqlx::query(
        "SELECT approved_fen FROM claims WHERE policy_id = $1 AND id <> $2
         AND approved_fen IS NOT NULL
         AND status IN ('awaiting_second_approval', 'approved', 'payout_pending', 'paid')",
    )
    .bind(policy_id.as_str())
    .bind(except.as_str())
    .fetch_all(&mut *connection)
    .await?;
    rows.iter()
        .map(|row| {
            Money::from_fen(row.try_get(0)?).map_err(|_| StoreError::Malformed("approved amount"))
        })
        .collect()
}

fn description_aad(claim_id: &str) -> String {
    format!("claims|description_sealed|{claim_id}")
}

impl Store {
    /// Files a claim: the policy must be the claimant's and active, the incident inside its
    /// cover and not in the future, the amount at most the cover, and the payout account a
    /// live verified one of the claimant's. One idempotency key files one claim (it is named
    /// in the signed document, so a captured signature cannot file a second). Audited.
    pub async fn claim_file(
        &self,
        keyring: &Keyring,
        new: NewClaim<'_>,
        request_id: &str,
        at_ms: i64,
    ) -> Result<Claim, FundsError> {
        if new.description.chars().count() > DESCRIPTION_CHARS_MAX {
            return Err(FundsError::ClaimRefused("the description is too long"));
        }
        let mut tx = self.begin_write().await?;
        let policy = policy_for_update(&mut tx, self.backend, keyring, new.policy_id).await?;
        if policy.holder_account_id != new.claimant {
            return Err(FundsError::NotFound("policy"));
        }
        if policy.status != PolicyStatus::Active {
            return Err(FundsError::ClaimRefused(
                "only an active policy takes claims",
            ));
        }
        if new.incident_on < policy.start_on
            || new.incident_on >= policy.end_on
            || new.incident_on > new.today
        {
            return Err(FundsError::ClaimRefused(
                "the incident date is outside the policy's cover or in the future",
            ));
        }
        if new.claimed > policy.terms.cover() {
            return Err(FundsError::ClaimRefused(
                "the amount claimed is above the policy's cover",
            ));
        }
        // Locked, so a removal of the account waits for this claim and then sees it.
        live_account(&mut tx, self.backend, new.payout_account_id, new.claimant).await?;
        let claim = Claim {
            id: ClaimId::generate(),
            policy_id: policy.id.clone(),
            claimant_account_id: new.claimant.to_string(),
            claimed: new.claimed,
            incident_on: new.incident_on,
            description_sm3: hex::encode(inspay_crypto::sm3::sm3(new.description.as_bytes())),
            payout_account_id: new.payout_account_id.to_string(),
            idempotency_key: new.idempotency_key.to_string(),
            claimant_signature: new.signature,
            status: ClaimStatus::Filed,
            approved: None,
            decision: None,
            approval: None,
            created_at_ms: at_ms,
            updated_at_ms: at_ms,
        };
        let sealed = keyring
            .seal_field(
                description_aad(claim.id.as_str()).as_bytes(),
                new.description.as_bytes(),
            )
            .map_err(StoreError::from)?
            .to_text();
        let mac = mac_text(keyring, &mac_parts(&claim))?;
        let inserted = sqlx::query(
            "INSERT INTO claims (id, policy_id, claimant_account_id, claimed_fen, incident_on,
                 description_sealed, description_sm3, payout_account_id, idempotency_key,
                 claimant_signer, claimant_public_key, claimant_signature, status,
                 created_at_ms, updated_at_ms, record_mac)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15)",
        )
        .bind(claim.id.as_str())
        .bind(claim.policy_id.as_str())
        .bind(&claim.claimant_account_id)
        .bind(claim.claimed.fen())
        .bind(date_text(claim.incident_on))
        .bind(&sealed)
        .bind(&claim.description_sm3)
        .bind(&claim.payout_account_id)
        .bind(&claim.idempotency_key)
        .bind(&claim.claimant_signature.signer)
        .bind(&claim.claimant_signature.public_key)
        .bind(&claim.claimant_signature.signature)
        .bind(claim.status.as_str())
        .bind(at_ms)
        .bind(&mac)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(error) if is_unique_violation(&error) => {
                return Err(FundsError::ClaimRefused(
                    "this idempotency key already filed a claim",
                ));
            }
            other => other.map_err(StoreError::from)?,
        };
        audit_claim(
            &mut tx,
            &claim,
            &format!("account:{}", claim.claimant_account_id),
            "claim.file",
            request_id,
            at_ms,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(claim)
    }

    /// Records an adjuster's signed decision. An approval is at most the amount claimed and
    /// the policy's remaining cover (the other claims' approvals are added up while the
    /// policy's row is locked). Above `large_threshold` the claim waits for a second approver;
    /// otherwise it is approved, posted to the ledger and its payout started, all in this
    /// transaction. Audited.
    pub async fn claim_decide(
        &self,
        keyring: &Keyring,
        new: NewDecision<'_>,
        request_id: &str,
        at_ms: i64,
    ) -> Result<ClaimStep, FundsError> {
        staff_signed(&new.signature)?;
        let mut tx = self.begin_write().await?;
        let policy_id = policy_of(&mut tx, new.claim_id).await?;
        let policy = policy_for_update(&mut tx, self.backend, keyring, &policy_id).await?;
        let mut claim = claim_for_update(&mut tx, self.backend, keyring, new.claim_id).await?;
        let held = held_cover(&mut tx, &policy_id, &claim.id).await?;
        let remaining = remaining_cover(policy.terms.cover(), &held);
        let next = assess(
            claim.status,
            claim.claimed,
            remaining,
            new.decision,
            new.large_threshold,
        )?;
        claim.status = next;
        claim.approved = match new.decision {
            Decision::Approve(amount) => Some(amount),
            Decision::Reject => None,
        };
        claim.decision = Some(DecisionRecord {
            adjuster_account_id: new.adjuster.to_string(),
            approve: matches!(new.decision, Decision::Approve(_)),
            signature: new.signature,
            at_ms,
        });
        claim.updated_at_ms = at_ms;
        let payout = if next == ClaimStatus::Approved {
            let account = claim.payout_account_id.clone();
            live_account(&mut tx, self.backend, &account, &claim.claimant_account_id).await?;
            Some(
                start_payout(
                    &mut tx, keyring, &mut claim, true, &account, request_id, at_ms,
                )
                .await?,
            )
        } else {
            write_claim(&mut tx, keyring, &claim).await?;
            None
        };
        let action = match next {
            ClaimStatus::Rejected => "claim.reject",
            ClaimStatus::AwaitingSecondApproval => "claim.assess",
            _ => "claim.approve",
        };
        audit_claim(
            &mut tx,
            &claim,
            &format!("account:{}", new.adjuster),
            action,
            request_id,
            at_ms,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(ClaimStep { claim, payout })
    }

    /// Records the second approver's verdict on a large claim (maker-checker, clause 5.3.2.2):
    /// refused from the adjuster; `confirm` approves, posts and starts the payout, in one
    /// transaction; otherwise the claim is rejected and stops holding cover. Audited.
    pub async fn claim_second_approval(
        &self,
        keyring: &Keyring,
        verdict: SecondVerdict<'_>,
        request_id: &str,
        at_ms: i64,
    ) -> Result<ClaimStep, FundsError> {
        let SecondVerdict {
            claim_id,
            approver,
            confirm,
            signature,
        } = verdict;
        staff_signed(&signature)?;
        let mut tx = self.begin_write().await?;
        let policy_id = policy_of(&mut tx, claim_id).await?;
        policy_for_update(&mut tx, self.backend, keyring, &policy_id).await?;
        let mut claim = claim_for_update(&mut tx, self.backend, keyring, claim_id).await?;
        let adjuster = claim
            .decision
            .as_ref()
            .map(|decision| decision.adjuster_account_id.clone())
            .unwrap_or_default();
        claim.status = if confirm {
            second_approval(claim.status, &adjuster, approver)?
        } else {
            second_rejection(claim.status, &adjuster, approver)?
        };
        claim.approval = Some(ApprovalRecord {
            approver_account_id: approver.to_string(),
            signature,
            at_ms,
        });
        claim.updated_at_ms = at_ms;
        let payout = if confirm {
            let account = claim.payout_account_id.clone();
            live_account(&mut tx, self.backend, &account, &claim.claimant_account_id).await?;
            Some(
                start_payout(
                    &mut tx, keyring, &mut claim, true, &account, request_id, at_ms,
                )
                .await?,
            )
        } else {
            write_claim(&mut tx, keyring, &claim).await?;
            None
        };
        let action = if confirm {
            "claim.second-approval"
        } else {
            "claim.second-rejection"
        };
        audit_claim(
            &mut tx,
            &claim,
            &format!("account:{approver}"),
            action,
            request_id,
            at_ms,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(ClaimStep { claim, payout })
    }

    /// Sends an approved claim's payout again after the channel refused it, to a live
    /// verified payout account of the claimant (possibly a new one; the claim keeps the account
    /// its signed document named, the payout records where it went). Audited.
    pub async fn claim_payout_restart(
        &self,
        keyring: &Keyring,
        claim_id: &ClaimId,
        claimant: &str,
        payout_account_id: &str,
        request_id: &str,
        at_ms: i64,
    ) -> Result<ClaimStep, FundsError> {
        let mut tx = self.begin_write().await?;
        let policy_id = policy_of(&mut tx, claim_id).await?;
        policy_for_update(&mut tx, self.backend, keyring, &policy_id).await?;
        let mut claim = claim_for_update(&mut tx, self.backend, keyring, claim_id).await?;
        if claim.claimant_account_id != claimant {
            return Err(FundsError::NotFound("claim"));
        }
        live_account(&mut tx, self.backend, payout_account_id, claimant).await?;
        claim.updated_at_ms = at_ms;
        let payout = start_payout(
            &mut tx,
            keyring,
            &mut claim,
            false,
            payout_account_id,
            request_id,
            at_ms,
        )
        .await?;
        audit_claim(
            &mut tx,
            &claim,
            &format!("account:{claimant}"),
            "claim.payout-restart",
            request_id,
            at_ms,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(ClaimStep {
            claim,
            payout: Some(payout),
        })
    }
}

pub(super) async fn audit_claim(
    connection: &mut AnyConnection,
    claim: &Claim,
    actor: &str,
    action: &str,
    request_id: &str,
    at_ms: i64,
) -> Result<(), StoreError> {
    let object = format!("claim:{}", claim.id);
    let mut details = vec![
        (
            "policy",
            AuditValue::Id(format!("policy:{}", claim.policy_id)),
        ),
        ("claimed_fen", AuditValue::Number(claim.claimed.fen())),
        ("status", AuditValue::Word(claim.status.as_str())),
    ];
    if let Some(amount) = claim.approved {
        details.push(("approved_fen", AuditValue::Number(amount.fen())));
    }
    audit::append(
        connection,
        &AuditEvent {
            actor,
            action,
            object: &object,
            outcome: Outcome::Success,
            request_id,
            details: &details,
        },
        at_ms,
    )
    .await?;
    Ok(())
}

impl Store {
    /// The scheduled integrity check of `claims` (clause 5.6.1-b): every row's record MAC
    /// is recomputed, a page at a time. Returns the ids of the rows that fail: changed outside
    /// inspay, no longer parseable, or under a MAC key that can no longer verify.
    pub async fn claims_verify(&self, keyring: &Keyring) -> Result<Vec<String>, StoreError> {
        crate::record_check::failing_rows(
            &self.pool,
            &format!("SELECT {CLAIM_COLUMNS} FROM claims"),
            "id",
            |row| claim_from_row(keyring, row).map(|_| ()),
        )
        .await
    }
}
