//! Claims and payouts on every configured database: a claim is paid out once, within its
//! policy's cover even when adjusters decide concurrently; maker-checker holds for large
//! claims; a refused payout rolls back and can be sent again; claim rows are tamper-evident.

use crate::support::claims::*;
use crate::support::funds::*;
use crate::support::{TestStore, stores};
use inspay_core::funds::{ChannelOutcome, ClaimError, ClaimStatus, Decision, OrderStatus};
use inspay_core::ledger::AccountKind;
use inspay_core::sensitive::CardNumber;
use inspay_store::StoreError;
use inspay_store::funds::{ClaimStep, FundsError, NewClaim, NewPayoutAccount, SecondVerdict};
use time::macros::date;

async fn settle_payout(test: &TestStore, f: &Fixture, step: &ClaimStep, outcome: ChannelOutcome) {
    let payout = step.payout.as_ref().expect("a payout started");
    let (_, changed) = test
        .store
        .payout_settle(&f.keyring, &payout.id, &answer(outcome), "r", NOW_MS)
        .await
        .expect("settle payout");
    assert!(changed);
}

/// A large claim needs a second approver who is not the adjuster; once approved it is posted
/// and paid out exactly once, and a duplicate or contradicting channel answer changes nothing.
/// req: 5.3.1.3, 5.3.2.2, 5.6.2-d2
#[tokio::test]
async fn a_large_claim_is_approved_twice_and_paid_once() {
    for test in stores().await {
        let store = &test.store;
        let (f, policy, account, _) = active_policy(&test).await;
        let claim = try_file(&test, &f, &policy, &account, 3_000_000, "k-1")
            .await
            .expect("file");
        assert_eq!(claim.status, ClaimStatus::Filed);
        let step = decide_as(
            &test,
            &f,
            &claim.id,
            "adjuster",
            Decision::Approve(fen(2_500_000)),
        )
        .await
        .expect("decide");
        assert_eq!(step.claim.status, ClaimStatus::AwaitingSecondApproval);
        assert!(
            step.payout.is_none(),
            "{}: no payout before the second approval",
            test.label
        );
        assert_eq!(balance(store, AccountKind::ClaimsExpense, None).await, 0);
        let same = store
            .claim_second_approval(
                &f.keyring,
                SecondVerdict {
                    claim_id: &claim.id,
                    approver: "adjuster",
                    confirm: true,
                    signature: signed("staff-key:s1"),
                },
                "r",
                NOW_MS,
            )
            .await;
        assert!(
            matches!(same, Err(FundsError::Claim(ClaimError::SameApprover))),
            "{}: {same:?}",
            test.label
        );
        let step = store
            .claim_second_approval(
                &f.keyring,
                SecondVerdict {
                    claim_id: &claim.id,
                    approver: "finance",
                    confirm: true,
                    signature: signed("staff-key:s2"),
                },
                "r",
                NOW_MS,
            )
            .await
            .expect("second approval");
        assert_eq!(step.claim.status, ClaimStatus::PayoutPending);
        assert_eq!(
            step.payout.as_ref().map(|p| p.amount.fen()),
            Some(2_500_000)
        );
        assert_eq!(
            balance(store, AccountKind::OutboundInFlight, None).await,
            2_500_000
        );
        settle_payout(&test, &f, &step, ChannelOutcome::Succeeded).await;
        let payout = step.payout.as_ref().expect("payout");
        let (_, changed) = store
            .payout_settle(
                &f.keyring,
                &payout.id,
                &answer(ChannelOutcome::Succeeded),
                "r",
                NOW_MS,
            )
            .await
            .expect("duplicate");
        assert!(!changed, "{}: a duplicate answer posts nothing", test.label);
        let contradiction = store
            .payout_settle(
                &f.keyring,
                &payout.id,
                &answer(ChannelOutcome::Failed),
                "r",
                NOW_MS,
            )
            .await;
        assert!(matches!(contradiction, Err(FundsError::Contradiction(_))));
        let claim = store
            .claim(&f.keyring, &claim.id, Some(&f.customer))
            .await
            .expect("claim");
        assert_eq!(claim.status, ClaimStatus::Paid);
        assert!(claim.approval.is_some() && claim.decision.is_some());
        assert_eq!(
            balance(store, AccountKind::ClaimsExpense, None).await,
            2_500_000
        );
        assert_eq!(
            balance(store, AccountKind::ClaimsPayable, Some(&f.customer)).await,
            0
        );
        assert_eq!(balance(store, AccountKind::OutboundInFlight, None).await, 0);
        let again = store
            .claim_payout_restart(&f.keyring, &claim.id, &f.customer, &account, "r", NOW_MS)
            .await;
        assert!(matches!(
            again,
            Err(FundsError::Claim(ClaimError::IllegalStep(
                ClaimStatus::Paid
            )))
        ));
        assert_sound(store, &f.keyring, test.label).await;
    }
}

/// Ten adjusters approving ten claims on one policy at once never approve more than its
/// cover: the policy's row is locked while the other approvals are added up.
/// req: 5.3.1.3
#[tokio::test]
async fn concurrent_approvals_never_exceed_the_cover() {
    for test in stores().await {
        let (f, policy, account, _) = active_policy(&test).await;
        let test = std::sync::Arc::new(test);
        let f = std::sync::Arc::new(f);
        let mut claims = Vec::new();
        for n in 0..10 {
            let claim = try_file(&test, &f, &policy, &account, 10_000_000, &format!("k-{n}"))
                .await
                .expect("file");
            claims.push(claim.id);
        }
        let mut tasks = Vec::new();
        for id in claims {
            let (test, f) = (std::sync::Arc::clone(&test), std::sync::Arc::clone(&f));
            tasks.push(tokio::spawn(async move {
                // Below the large threshold? No: 10,000,000 > LARGE_FEN, so each waits for a
                // second approver, and its approval already holds cover.
                decide_as(
                    &test,
                    &f,
                    &id,
                    "adjuster",
                    Decision::Approve(fen(10_000_000)),
                )
                .await
            }));
        }
        let (mut held, mut refused) = (0, 0);
        for task in tasks {
            match task.await.expect("task") {
                Ok(step) => {
                    assert_eq!(step.claim.status, ClaimStatus::AwaitingSecondApproval);
                    held += 1;
                }
                Err(FundsError::Claim(ClaimError::AboveCover { .. })) => refused += 1,
                Err(other) => panic!("{}: {other}", test.label),
            }
        }
        assert_eq!(
            (held, refused),
            (5, 5),
            "{}: cover 50,000,000 / 10,000,000",
            test.label
        );
        assert_sound(&test.store, &f.keyring, test.label).await;
    }
}

/// A payout the bank refuses goes back to claims payable and the claim to approved; sent
/// again to another verified account it is paid once; the total paid is the approved amount.
/// req: 5.3.4, 5.3.1.3
#[tokio::test]
async fn a_refused_payout_rolls_back_and_is_sent_again() {
    for test in stores().await {
        let store = &test.store;
        let (f, policy, account, _) = active_policy(&test).await;
        let claim = try_file(&test, &f, &policy, &account, 500_000, "k-1")
            .await
            .expect("file");
        let step = decide_as(
            &test,
            &f,
            &claim.id,
            "adjuster",
            Decision::Approve(fen(400_000)),
        )
        .await
        .expect("decide");
        assert_eq!(
            step.claim.status,
            ClaimStatus::PayoutPending,
            "{}: small claims need one approval",
            test.label
        );
        settle_payout(&test, &f, &step, ChannelOutcome::Failed).await;
        let claim = store
            .claim(&f.keyring, &claim.id, None)
            .await
            .expect("claim");
        assert_eq!(claim.status, ClaimStatus::Approved);
        assert_eq!(
            balance(store, AccountKind::ClaimsPayable, Some(&f.customer)).await,
            400_000
        );
        assert_eq!(balance(store, AccountKind::OutboundInFlight, None).await, 0);
        let other = CardNumber::parse("6217001234567890122").expect("card");
        let second = store
            .payout_account_add(
                &f.keyring,
                NewPayoutAccount {
                    account_id: &f.customer,
                    number: &other,
                    verification_ref: "check-2",
                    evidence: None,
                    debit_token: None,
                },
                "r",
                NOW_MS,
            )
            .await
            .expect("second account");
        let restarted = store
            .claim_payout_restart(&f.keyring, &claim.id, &f.customer, &second.id, "r", NOW_MS)
            .await
            .expect("restart");
        let twice = store
            .claim_payout_restart(&f.keyring, &claim.id, &f.customer, &second.id, "r", NOW_MS)
            .await;
        assert!(matches!(
            twice,
            Err(FundsError::Claim(ClaimError::IllegalStep(
                ClaimStatus::PayoutPending
            )))
        ));
        settle_payout(&test, &f, &restarted, ChannelOutcome::Succeeded).await;
        let payouts = store
            .payouts_of_claim(&f.keyring, &claim.id)
            .await
            .expect("payouts");
        let statuses: Vec<_> = payouts
            .iter()
            .map(|p| (p.status, p.payout_account_id.clone()))
            .collect();
        assert_eq!(
            statuses,
            vec![
                (OrderStatus::Failed, account.clone()),
                (OrderStatus::Succeeded, second.id.clone())
            ]
        );
        assert_eq!(
            balance(store, AccountKind::ClaimsExpense, None).await,
            400_000
        );
        assert_eq!(
            balance(store, AccountKind::ClaimsPayable, Some(&f.customer)).await,
            0
        );
        let (_, number) = store
            .payout_account_number(&f.keyring, &second.id, &f.customer)
            .await
            .expect("read")
            .expect("live");
        assert_eq!(number, other);
        assert!(
            store
                .payout_account_number(&f.keyring, &second.id, "someone-else")
                .await
                .expect("read")
                .is_none(),
            "{}: another customer's account is not found",
            test.label
        );
        assert_sound(store, &f.keyring, test.label).await;
    }
}

/// Filing refuses what a claim may not be: an inactive or foreign policy, an incident outside
/// the cover, an amount above it, a payout account that is not the claimant's, and a second
/// claim under one idempotency key; an approval above the amount claimed is refused.
/// req: 5.3.1.3
#[tokio::test]
async fn filing_and_deciding_refuse_what_the_rules_forbid() {
    for test in stores().await {
        let store = &test.store;
        let (f, policy, account, _) = active_policy(&test).await;
        let mut new = NewClaim {
            policy_id: &policy,
            claimant: &f.customer,
            claimed: fen(1_000),
            incident_on: date!(2026 - 12 - 31),
            description: "x",
            payout_account_id: &account,
            idempotency_key: "k-1",
            signature: signed("device-key:k1"),
            today: date!(2027 - 01 - 15),
        };
        let refused = store.claim_file(&f.keyring, new.clone(), "r", NOW_MS).await;
        assert!(
            matches!(refused, Err(FundsError::ClaimRefused(_))),
            "before cover: {refused:?}"
        );
        new.incident_on = date!(2027 - 01 - 20);
        let refused = store.claim_file(&f.keyring, new.clone(), "r", NOW_MS).await;
        assert!(
            matches!(refused, Err(FundsError::ClaimRefused(_))),
            "in the future: {refused:?}"
        );
        new.incident_on = date!(2027 - 01 - 10);
        new.claimed = fen(50_000_001);
        let refused = store.claim_file(&f.keyring, new.clone(), "r", NOW_MS).await;
        assert!(
            matches!(refused, Err(FundsError::ClaimRefused(_))),
            "above cover: {refused:?}"
        );
        new.claimed = fen(1_000);
        new.claimant = "someone-else";
        let refused = store.claim_file(&f.keyring, new.clone(), "r", NOW_MS).await;
        assert!(
            matches!(refused, Err(FundsError::NotFound("policy"))),
            "foreign: {refused:?}"
        );
        new.claimant = &f.customer;
        new.payout_account_id = "01900000-0000-7000-8000-000000000000";
        let refused = store.claim_file(&f.keyring, new.clone(), "r", NOW_MS).await;
        assert!(
            matches!(refused, Err(FundsError::NotFound("payout account"))),
            "{refused:?}"
        );
        new.payout_account_id = &account;
        let claim = store
            .claim_file(&f.keyring, new.clone(), "r", NOW_MS)
            .await
            .expect("file");
        let refused = store.claim_file(&f.keyring, new.clone(), "r", NOW_MS).await;
        assert!(
            matches!(refused, Err(FundsError::ClaimRefused(_))),
            "same key: {refused:?}"
        );
        let above = decide_as(
            &test,
            &f,
            &claim.id,
            "adjuster",
            Decision::Approve(fen(1_001)),
        )
        .await;
        assert!(
            matches!(above, Err(FundsError::Claim(ClaimError::AboveClaimed))),
            "{above:?}"
        );
        let rejected = decide_as(&test, &f, &claim.id, "adjuster", Decision::Reject)
            .await
            .expect("reject");
        assert_eq!(rejected.claim.status, ClaimStatus::Rejected);
        let again = decide_as(&test, &f, &claim.id, "adjuster", Decision::Reject).await;
        assert!(matches!(
            again,
            Err(FundsError::Claim(ClaimError::IllegalStep(
                ClaimStatus::Rejected
            )))
        ));
        assert_sound(store, &f.keyring, test.label).await;
    }
}

/// A claim whose approved amount or signature is changed in the database outside inspay is
/// caught by its record MAC when it is next read.
/// req: 5.6.1-b
#[tokio::test]
async fn claims_changed_outside_inspay_are_caught() {
    for test in stores().await {
        let store = &test.store;
        let (f, policy, account, _) = active_policy(&test).await;
        let claim = try_file(&test, &f, &policy, &account, 500_000, "k-1")
            .await
            .expect("file");
        decide_as(
            &test,
            &f,
            &claim.id,
            "adjuster",
            Decision::Approve(fen(100_000)),
        )
        .await
        .expect("decide");
        sqlx::query("UPDATE claims SET approved_fen = 400000 WHERE id = $1")
            .bind(claim.id.as_str())
            .execute(store.pool())
            .await
            .expect("tamper");
        let read = store.claim(&f.keyring, &claim.id, None).await;
        assert!(
            matches!(read, Err(FundsError::Store(StoreError::Integrity(_)))),
            "{}: {read:?}",
            test.label
        );
    }
}
