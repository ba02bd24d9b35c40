//! The documents the parties to a claim sign (clause 5.6.2-d2): the claimant signs the claim,
//! the adjuster signs the decision, and above the large-payout threshold a second approver
//! signs a verdict on that decision (confirm, or reject the claim). Each is SM2 with SM3 and the default signer identifier over the
//! exact bytes built here, shared by the server and the SDK, and each names the one before it
//! by its SM3, so the three signatures form a chain that can be verified again years later
//! from the stored claim alone.
//!
//! ```text
//! inspay-claim:v1
//! policy:<policy id>
//! claimant:<account id>
//! claimed_fen:<integer>
//! incident_on:<YYYY-MM-DD>
//! description_sm3:<hex SM3 of the description's UTF-8 bytes>
//! payout_account:<payout account id>
//! idempotency_key:<the request's Idempotency-Key>
//! ```
//!
//! ```text
//! inspay-claim-decision:v1
//! claim:<claim id>
//! claim_sm3:<hex SM3 of the claim document>
//! decision:<approve|reject>
//! approved_fen:<integer; 0 when rejected>
//! adjuster:<account id>
//! ```
//!
//! ```text
//! inspay-claim-approval:v1
//! claim:<claim id>
//! decision_sm3:<hex SM3 of the decision document>
//! verdict:<confirm|reject>
//! approver:<account id>
//! ```
//!
//! Every line ends with `\n`, the last one too. No field may hold a line break (ids, dates and
//! keys are checked by the server before a document is built; the description enters only as
//! its digest), so no two different claims have the same document.

use inspay_crypto::sm3::sm3;

/// What the claimant signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimDocument<'a> {
    /// The policy claimed on.
    pub policy_id: &'a str,
    /// The claimant's account id.
    pub claimant: &'a str,
    /// The amount claimed, fen.
    pub claimed_fen: i64,
    /// The day of the incident, `YYYY-MM-DD`.
    pub incident_on: &'a str,
    /// The description, as sent.
    pub description: &'a str,
    /// The verified bank account the payout goes to.
    pub payout_account_id: &'a str,
    /// The request's idempotency key: one signature files one claim.
    pub idempotency_key: &'a str,
}

impl ClaimDocument<'_> {
    /// The bytes to sign.
    pub fn to_bytes(&self) -> Vec<u8> {
        claim_document(self, &description_digest(self.description))
    }
}

/// Hex SM3 of a description, as the claim document names it.
pub fn description_digest(description: &str) -> String {
    hex::encode(sm3(description.as_bytes()))
}

/// The claim document from a stored description digest (the description itself may be
/// sealed or erased).
pub fn claim_document(claim: &ClaimDocument<'_>, description_sm3: &str) -> Vec<u8> {
    format!(
        "inspay-claim:v1\npolicy:{}\nclaimant:{}\nclaimed_fen:{}\nincident_on:{}\n\
         description_sm3:{}\npayout_account:{}\nidempotency_key:{}\n",
        claim.policy_id,
        claim.claimant,
        claim.claimed_fen,
        claim.incident_on,
        description_sm3,
        claim.payout_account_id,
        claim.idempotency_key
    )
    .into_bytes()
}

/// The adjuster's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimVerdict {
    /// Pay this many fen.
    Approve(i64),
    /// Pay nothing.
    Reject,
}

impl ClaimVerdict {
    /// `approve` or `reject`.
    pub fn name(self) -> &'static str {
        match self {
            ClaimVerdict::Approve(_) => "approve",
            ClaimVerdict::Reject => "reject",
        }
    }

    /// The approved amount, 0 when rejected.
    pub fn approved_fen(self) -> i64 {
        match self {
            ClaimVerdict::Approve(fen) => fen,
            ClaimVerdict::Reject => 0,
        }
    }
}

/// What the adjuster signs: the decision on one claim document.
pub fn decision_document(
    claim_id: &str,
    claim_document: &[u8],
    verdict: ClaimVerdict,
    adjuster: &str,
) -> Vec<u8> {
    decision_document_from_digest(
        claim_id,
        &hex::encode(sm3(claim_document)),
        verdict,
        adjuster,
    )
}

/// The decision document from the claim document's SM3 (lower-case hex), as the staff API
/// shows it: a client that never holds the claim document builds the same bytes.
pub fn decision_document_from_digest(
    claim_id: &str,
    claim_sm3_hex: &str,
    verdict: ClaimVerdict,
    adjuster: &str,
) -> Vec<u8> {
    format!(
        "inspay-claim-decision:v1\nclaim:{claim_id}\nclaim_sm3:{claim_sm3_hex}\ndecision:{}\n\
         approved_fen:{}\nadjuster:{adjuster}\n",
        verdict.name(),
        verdict.approved_fen()
    )
    .into_bytes()
}

/// What the second approver signs: their verdict on the adjuster's decision document
/// (`confirm` pays it, `reject` rejects the claim).
pub fn approval_document(
    claim_id: &str,
    decision_document: &[u8],
    confirm: bool,
    approver: &str,
) -> Vec<u8> {
    format!(
        "inspay-claim-approval:v1\nclaim:{claim_id}\ndecision_sm3:{}\nverdict:{}\napprover:{approver}\n",
        hex::encode(sm3(decision_document)),
        if confirm { "confirm" } else { "reject" }
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim() -> ClaimDocument<'static> {
        ClaimDocument {
            policy_id: "p1",
            claimant: "a1",
            claimed_fen: 12_345,
            incident_on: "2026-11-20",
            description: "hospital stay",
            payout_account_id: "b1",
            idempotency_key: "k1",
        }
    }

    /// req: 5.6.2-d2
    #[test]
    fn documents_name_every_field_and_chain_by_digest() {
        let text = String::from_utf8(claim().to_bytes()).expect("UTF-8");
        assert!(text.starts_with("inspay-claim:v1\npolicy:p1\nclaimant:a1\nclaimed_fen:12345\n"));
        assert!(text.contains(&format!(
            "description_sm3:{}\n",
            description_digest("hospital stay")
        )));
        assert!(text.ends_with("payout_account:b1\nidempotency_key:k1\n"));
        let decision = decision_document("c1", text.as_bytes(), ClaimVerdict::Approve(100), "s1");
        let decision_text = String::from_utf8(decision.clone()).expect("UTF-8");
        assert!(decision_text.contains("decision:approve\napproved_fen:100\nadjuster:s1\n"));
        let other = ClaimDocument {
            claimed_fen: 12_346,
            ..claim()
        };
        assert_ne!(
            decision,
            decision_document("c1", &other.to_bytes(), ClaimVerdict::Approve(100), "s1"),
            "a decision names the exact claim it decides"
        );
        let approval = approval_document("c1", &decision, true, "s2");
        assert!(
            String::from_utf8(approval.clone())
                .expect("UTF-8")
                .ends_with("verdict:confirm\napprover:s2\n")
        );
        assert_ne!(approval, approval_document("c1", &decision, false, "s2"));
        assert_eq!(ClaimVerdict::Reject.approved_fen(), 0);
    }
}
