//! Shared fixtures of the claim tests: an active policy with a verified payout account, and
//! short ways to file, decide and give the second verdict on a claim. Signatures are
//! placeholders: the store keeps them; the server verifies them (its own tests).

use super::TestStore;
use super::funds::{Fixture, NOW_MS, apply_on, begin, fen, fixture, settle};
use inspay_core::funds::{ChannelOutcome, Decision};
use inspay_core::ids::{ClaimId, PaymentId, PolicyId};
use inspay_core::money::Money;
use inspay_core::policy::PaymentFrequency;
use inspay_core::sensitive::CardNumber;
use inspay_store::funds::{
    Claim, ClaimStep, FundsError, NewClaim, NewDecision, NewPayoutAccount, PartySignature,
    PayoutAccount, SecondVerdict,
};
use time::macros::date;

/// Approvals above this wait for a second approver.
pub const LARGE_FEN: i64 = 1_000_000;
/// The bank account of the fixture's first payout account.
pub const FIRST_CARD: &str = "6222021234567890128";

/// A placeholder signature by `signer`.
pub fn signed(signer: &str) -> PartySignature {
    PartySignature {
        signer: signer.into(),
        public_key: "04ab".into(),
        signature: "MEUC".into(),
    }
}

/// A card or bank account number.
pub fn card(number: &str) -> CardNumber {
    CardNumber::parse(number).expect("card")
}

/// Adds a verified payout account of the fixture's customer.
pub async fn add_account(
    test: &TestStore,
    f: &Fixture,
    number: &CardNumber,
) -> Result<PayoutAccount, FundsError> {
    test.store
        .payout_account_add(
            &f.keyring,
            NewPayoutAccount {
                account_id: &f.customer,
                number,
                verification_ref: "check-1",
                evidence: None,
                debit_token: None,
            },
            "r",
            NOW_MS,
        )
        .await
}

/// An active policy (its single premium paid, starting 1 January 2027) and a verified payout
/// account of its holder; with the premium's payment.
pub async fn active_policy(test: &TestStore) -> (Fixture, PolicyId, String, PaymentId) {
    let store = &test.store;
    let f = fixture(test, PaymentFrequency::Single, 12).await;
    let policy = apply_on(store, &f, date!(2027 - 01 - 01)).await;
    let payment = begin(store, &f, &policy.id, 1).await.expect("begin");
    settle(store, &f, &payment.id, ChannelOutcome::Succeeded).await;
    let account = add_account(test, &f, &card(FIRST_CARD))
        .await
        .expect("payout account");
    (f, policy.id, account.id, payment.id)
}

/// Files a claim on `policy` (incident 10 January 2027) to be paid to `account`, or says why
/// not.
pub async fn try_file(
    test: &TestStore,
    f: &Fixture,
    policy: &PolicyId,
    account: &str,
    claimed: i64,
    key: &str,
) -> Result<Claim, FundsError> {
    test.store
        .claim_file(
            &f.keyring,
            NewClaim {
                policy_id: policy,
                claimant: &f.customer,
                claimed: fen(claimed),
                incident_on: date!(2027 - 01 - 10),
                description: "hospital stay",
                payout_account_id: account,
                idempotency_key: key,
                signature: signed("device-key:k1"),
                today: date!(2027 - 01 - 15),
            },
            "r",
            NOW_MS,
        )
        .await
}

/// `adjuster`'s decision on a claim, with the large-claim threshold [`LARGE_FEN`].
pub async fn decide_as(
    test: &TestStore,
    f: &Fixture,
    claim: &ClaimId,
    adjuster: &str,
    decision: Decision,
) -> Result<ClaimStep, FundsError> {
    test.store
        .claim_decide(
            &f.keyring,
            NewDecision {
                claim_id: claim,
                adjuster,
                decision,
                signature: signed("staff-key:s1"),
                large_threshold: Money::from_fen(LARGE_FEN).expect("money"),
            },
            "r",
            NOW_MS,
        )
        .await
}

/// A second approver's verdict on a claim.
pub async fn second(
    test: &TestStore,
    f: &Fixture,
    claim: &ClaimId,
    approver: &str,
    confirm: bool,
) -> Result<ClaimStep, FundsError> {
    test.store
        .claim_second_approval(
            &f.keyring,
            SecondVerdict {
                claim_id: claim,
                approver,
                confirm,
                signature: signed("staff-key:s2"),
            },
            "r",
            NOW_MS,
        )
        .await
}
