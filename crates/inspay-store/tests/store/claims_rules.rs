//! The claim rules around the claim itself, on every configured database: a policy is not
//! cancelled while one of its claims is open and refunds nothing once one was paid; payout
//! accounts are deduplicated, limited, and not removable while a claim or payout needs them;
//! a second approver may reject a large claim; the schema itself refuses what maker-checker
//! and paying once forbid; the daily reconciliation is recorded once per day.

use crate::support::claims::*;
use crate::support::funds::*;
use crate::support::{TestStore, stores};
use inspay_core::funds::{ChannelOutcome, ClaimError, ClaimStatus, Decision};
use inspay_core::ids::{ClaimId, PolicyId};
use inspay_core::ledger::AccountKind;
use inspay_core::money::Money;
use inspay_core::policy::{PaidPeriod, PolicyStatus, cancellation_refund};
use inspay_core::reconcile::MovementKind;
use inspay_core::sensitive::CardNumber;
use inspay_store::funds::{
    Cancellation, ClaimStep, FundsError, PayoutAccount, ReconciliationRun, Refund,
};
use inspay_store::{Store, StoreError};
use time::macros::date;

/// The fixture's cover.
const COVER_FEN: i64 = 50_000_000;
/// The fixture's single premium, for one year of cover.
const PREMIUM_FEN: i64 = 36_500;

/// Bank card numbers (valid check digits) besides the fixture's first one.
const CARDS: [&str; 5] = [
    "6217001234567890114",
    "6217001234567890122",
    "6217001234567890130",
    "6217001234567890148",
    "6217001234567890197",
];

/// Files a signed claim on `policy` (incident 10 January 2027), to be paid to `account`.
async fn file(
    test: &TestStore,
    f: &Fixture,
    policy: &PolicyId,
    account: &str,
    claimed: i64,
    key: &str,
) -> ClaimId {
    let filed = try_file(test, f, policy, account, claimed, key).await;
    filed.expect("file").id
}

/// The adjuster's decision on a claim.
async fn decide(
    test: &TestStore,
    f: &Fixture,
    claim: &ClaimId,
    decision: Decision,
) -> Result<ClaimStep, FundsError> {
    decide_as(test, f, claim, "adjuster", decision).await
}

async fn settle_payout(test: &TestStore, f: &Fixture, step: &ClaimStep, outcome: ChannelOutcome) {
    let payout = step.payout.as_ref().expect("a payout started");
    test.store
        .payout_settle(&f.keyring, &payout.id, &answer(outcome), "r", NOW_MS)
        .await
        .expect("settle payout");
}

/// The holder cancels the policy effective 1 July 2027.
async fn cancel(
    test: &TestStore,
    f: &Fixture,
    policy: &PolicyId,
) -> Result<Vec<Refund>, FundsError> {
    test.store
        .policy_cancel(
            &f.keyring,
            Cancellation {
                policy_id: policy,
                holder: Some(&f.customer),
                cancelled_on: date!(2027 - 07 - 01),
                actor: "account:test",
            },
            "r",
            NOW_MS,
        )
        .await
}

/// Asserts a result matches a pattern, naming the database and the result otherwise.
macro_rules! assert_matches {
    ($label:expr, $result:expr, $pattern:pat $(if $guard:expr)?) => {{
        let result = $result;
        assert!(matches!(result, $pattern $(if $guard)?), "{}: {result:?}", $label);
    }};
}

async fn remove(test: &TestStore, f: &Fixture, id: &str) -> Result<bool, FundsError> {
    (test.store)
        .payout_account_remove(&f.keyring, &f.customer, id, "r", NOW_MS)
        .await
}

async fn restart(
    test: &TestStore,
    f: &Fixture,
    claim: &ClaimId,
    account: &str,
) -> Result<ClaimStep, FundsError> {
    (test.store)
        .claim_payout_restart(&f.keyring, claim, &f.customer, account, "r", NOW_MS)
        .await
}

async fn policy_status(test: &TestStore, f: &Fixture, policy: &PolicyId) -> PolicyStatus {
    let policy = test.store.policy(&f.keyring, policy, None).await;
    policy.expect("policy").status
}

async fn claim_status(test: &TestStore, f: &Fixture, claim: &ClaimId) -> ClaimStatus {
    test.store
        .claim(&f.keyring, claim, None)
        .await
        .expect("claim")
        .status
}

/// A count from raw SQL with text parameters.
async fn count(store: &Store, sql: &'static str, binds: &[&str]) -> i64 {
    use sqlx::Row;
    let mut query = sqlx::query(sql);
    for bind in binds {
        query = query.bind(*bind);
    }
    query
        .fetch_one(store.pool())
        .await
        .expect("count")
        .try_get(0)
        .expect("count")
}

async fn refunds_of(test: &TestStore, f: &Fixture) -> i64 {
    let sql = "SELECT COUNT(*) FROM refunds WHERE account_id = $1";
    count(&test.store, sql, &[&f.customer]).await
}

/// Asserts a cancellation is refused for an open claim and changed nothing.
async fn refused_while_open(test: &TestStore, f: &Fixture, policy: &PolicyId, stage: &str) {
    let label = format!("{} ({stage})", test.label);
    let refused = cancel(test, f, policy).await;
    assert_matches!(label, refused, Err(FundsError::ClaimOpen));
    let status = policy_status(test, f, policy).await;
    assert_eq!(status, PolicyStatus::Active, "{label}");
    assert_eq!(refunds_of(test, f).await, 0, "{label}: no refund rows");
}

/// A policy with a claim filed, awaiting its second approval, paying out, or approved again
/// after the bank refused the payout cannot be cancelled, and nothing changes; once the claim
/// is paid the cancellation goes through and refunds nothing (the cover was used).
/// req: 5.3.1.3
#[tokio::test]
async fn cancellation_waits_for_open_claims_and_refunds_nothing_after_a_payout() {
    for test in stores().await {
        let store = &test.store;
        let (f, policy, account, _) = active_policy(&test).await;
        let claim = file(&test, &f, &policy, &account, 3_000_000, "k-1").await;
        refused_while_open(&test, &f, &policy, "filed").await;
        let step = decide(&test, &f, &claim, Decision::Approve(fen(2_500_000))).await;
        let step = step.expect("decide");
        assert_eq!(step.claim.status, ClaimStatus::AwaitingSecondApproval);
        refused_while_open(&test, &f, &policy, "awaiting second approval").await;
        let step = second(&test, &f, &claim, "finance", true).await;
        let step = step.expect("second approval");
        assert_eq!(step.claim.status, ClaimStatus::PayoutPending);
        refused_while_open(&test, &f, &policy, "payout pending").await;
        settle_payout(&test, &f, &step, ChannelOutcome::Failed).await;
        assert_eq!(claim_status(&test, &f, &claim).await, ClaimStatus::Approved);
        refused_while_open(&test, &f, &policy, "approved, payout refused").await;
        let restarted = restart(&test, &f, &claim, &account).await.expect("restart");
        settle_payout(&test, &f, &restarted, ChannelOutcome::Succeeded).await;
        assert_eq!(claim_status(&test, &f, &claim).await, ClaimStatus::Paid);

        let refunds = cancel(&test, &f, &policy)
            .await
            .expect("cancel after payout");
        assert!(refunds.is_empty(), "{}: {refunds:?}", test.label);
        let status = policy_status(&test, &f, &policy).await;
        assert_eq!(status, PolicyStatus::Cancelled, "{}", test.label);
        assert_eq!(refunds_of(&test, &f).await, 0, "{}", test.label);
        let payable = balance(store, AccountKind::RefundsPayable, Some(&f.customer)).await;
        assert_eq!(payable, 0, "{}", test.label);
        let period = PaidPeriod {
            period_start: date!(2027 - 01 - 01),
            period_end: date!(2028 - 01 - 01),
            amount: Money::from_fen(PREMIUM_FEN).expect("money"),
        };
        let due = cancellation_refund(&[period], date!(2027 - 07 - 01), true);
        assert_eq!(due, Money::ZERO, "the cover was used");
        assert_sound(store, &f.keyring, test.label).await;
    }
}

/// A rejected claim does not hold up a cancellation, and the unearned premium is refunded.
/// req: 5.3.1.3
#[tokio::test]
async fn a_rejected_claim_does_not_block_cancellation() {
    for test in stores().await {
        let store = &test.store;
        let (f, policy, account, payment) = active_policy(&test).await;
        let claim = file(&test, &f, &policy, &account, 500_000, "k-1").await;
        let rejected = decide(&test, &f, &claim, Decision::Reject).await;
        assert_eq!(
            rejected.expect("reject").claim.status,
            ClaimStatus::Rejected
        );
        let refunds = cancel(&test, &f, &policy).await.expect("cancel");
        // 1 July 2027: 184 of the 365 days paid for are unearned.
        let amounts: Vec<_> = refunds
            .iter()
            .map(|r| (r.payment_id.clone(), r.amount.fen()))
            .collect();
        assert_eq!(amounts, vec![(payment, 18_400)], "{}", test.label);
        let status = policy_status(&test, &f, &policy).await;
        assert_eq!(status, PolicyStatus::Cancelled, "{}", test.label);
        let in_flight = balance(store, AccountKind::OutboundInFlight, None).await;
        assert_eq!(in_flight, 18_400, "{}", test.label);
        assert_sound(store, &f.keyring, test.label).await;
    }
}

/// Payout accounts: one number once, at most five live, not removable while a waiting claim
/// names one or a payout to it is under way; a removed account is gone from listings and
/// reads, cannot be removed twice nor paid again.
/// req: 5.6.1-b, 5.3.1.3
#[tokio::test]
async fn payout_accounts_are_kept_while_claims_need_them() {
    for test in stores().await {
        let (store, label) = (&test.store, test.label);
        let (f, policy, first, _) = active_policy(&test).await;
        let same = add_account(&test, &f, &card(FIRST_CARD)).await;
        let same = same.expect("same number");
        assert_eq!(same.id, first, "{label}: the same number is the same row");
        let mut ids = vec![first.clone()];
        for number in &CARDS[..4] {
            ids.push(add_account(&test, &f, &card(number)).await.expect("add").id);
        }
        let listed = store.payout_accounts(&f.keyring, &f.customer).await;
        let listed: Vec<_> = listed.expect("list").into_iter().map(|a| a.id).collect();
        assert_eq!(listed, ids, "{label}");
        let sixth = add_account(&test, &f, &card(CARDS[4])).await;
        assert_matches!(label, sixth, Err(FundsError::Limit(_)));

        // A filed claim names the first account; rejected, it no longer holds it.
        let claim = file(&test, &f, &policy, &first, 500_000, "k-1").await;
        let refused = remove(&test, &f, &first).await;
        assert_matches!(label, refused, Err(FundsError::ClaimRefused(_)));
        decide(&test, &f, &claim, Decision::Reject)
            .await
            .expect("reject");
        assert_matches!(label, remove(&test, &f, &first).await, Ok(true));
        assert_matches!(label, remove(&test, &f, &first).await, Ok(false));
        let listed = store.payout_accounts(&f.keyring, &f.customer).await;
        let listed: Vec<_> = listed.expect("list").into_iter().map(|a| a.id).collect();
        assert_eq!(
            listed,
            ids[1..],
            "{label}: the removed account is not listed"
        );
        let read = number_of(&test, &f, &first).await;
        assert_matches!(label, read, Ok(None));

        // A payout to the second account is under way; refused by the bank, it is not.
        let claim = file(&test, &f, &policy, &ids[1], 500_000, "k-2").await;
        let step = decide(&test, &f, &claim, Decision::Approve(fen(400_000))).await;
        let step = step.expect("approve");
        assert_eq!(step.claim.status, ClaimStatus::PayoutPending, "{label}");
        let refused = remove(&test, &f, &ids[1]).await;
        assert_matches!(label, refused, Err(FundsError::ClaimRefused(_)));
        settle_payout(&test, &f, &step, ChannelOutcome::Failed).await;
        assert_matches!(label, remove(&test, &f, &ids[1]).await, Ok(true));
        let again = restart(&test, &f, &claim, &ids[1]).await;
        assert_matches!(label, again, Err(FundsError::NotFound("payout account")));
        let restarted = restart(&test, &f, &claim, &ids[2]).await.expect("restart");
        let paid_to = restarted.payout.map(|p| p.payout_account_id);
        assert_eq!(paid_to.as_ref(), Some(&ids[2]), "{label}");
        assert_sound(store, &f.keyring, label).await;
    }
}

/// A removal racing a filing that names the account: either the removal is refused or the
/// filing is, so a claim never names a removed account. PostgreSQL only (SQLite runs one
/// write at a time). The filing is held after its checks by a raw transaction holding the
/// same idempotency key, while the account is removed.
/// req: 5.3.1.3
#[tokio::test]
async fn a_filing_racing_a_removal_never_names_a_removed_account() {
    use std::sync::Arc;
    use std::time::Duration;
    for test in stores().await {
        if test.label != "postgres" {
            continue;
        }
        let (f, policy, account, _) = active_policy(&test).await;
        // The holder's row names another policy and account, so it locks neither of ours.
        let other_policy = apply_on(&test.store, &f, date!(2027 - 01 - 01)).await.id;
        let other = add_account(&test, &f, &card(CARDS[0]))
            .await
            .expect("add")
            .id;
        let earlier = file(&test, &f, &policy, &other, 1_000, "k-0").await;
        let mut holder = test.store.pool().begin().await.expect("begin");
        sqlx::query(
            "INSERT INTO claims (id, policy_id, claimant_account_id, claimed_fen, incident_on,
                 description_sealed, description_sm3, payout_account_id, idempotency_key,
                 claimant_signer, claimant_public_key, claimant_signature, status,
                 created_at_ms, updated_at_ms, record_mac)
             SELECT $2, $3, claimant_account_id, claimed_fen, incident_on,
                 description_sealed, description_sm3, payout_account_id, 'k-1', claimant_signer,
                 claimant_public_key, claimant_signature, status, created_at_ms, updated_at_ms,
                 record_mac
             FROM claims WHERE id = $1",
        )
        .bind(earlier.as_str())
        .bind(ClaimId::generate().as_str())
        .bind(other_policy.as_str())
        .execute(&mut *holder)
        .await
        .expect("hold the key");
        let (test, f) = (Arc::new(test), Arc::new(f));
        let filing = {
            let (test, f, policy, account) =
                (test.clone(), f.clone(), policy.clone(), account.clone());
            tokio::spawn(async move { try_file(&test, &f, &policy, &account, 2_000, "k-1").await })
        };
        // The filing has passed its checks and waits on the key the holder holds; the removal
        // then either completes or waits for the filing (as it would if the filing locked the
        // account) before the holder lets the filing go on.
        let waiting = "SELECT COUNT(*) FROM pg_stat_activity
             WHERE wait_event_type = 'Lock' AND datname = current_database()";
        let mut polls = 0..1_000;
        while count(&test.store, waiting, &[]).await < 1 {
            assert!(
                polls.next().is_some(),
                "the filing never waited on the held key"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let removal = {
            let (test, f, account) = (test.clone(), f.clone(), account.clone());
            tokio::spawn(async move { remove(&test, &f, &account).await })
        };
        while !removal.is_finished() && count(&test.store, waiting, &[]).await < 2 {
            assert!(
                polls.next().is_some(),
                "the removal neither ended nor waited"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        holder.rollback().await.expect("rollback");
        let removed = removal.await.expect("task");
        let filed = filing.await.expect("task");
        let approval = match &filed {
            Ok(claim) => Some(decide(&test, &f, &claim.id, Decision::Approve(fen(2_000))).await),
            Err(_) => None,
        };
        assert!(
            !(matches!(removed, Ok(true)) && filed.is_ok()),
            "{}: removed {removed:?}, filed {:?}, then approval {:?}",
            test.label,
            filed.map(|claim| claim.status),
            approval.map(|step| step.map(|step| step.claim.status)),
        );
    }
}

/// Changes a row behind inspay's back, as someone with access to the database could.
async fn tamper(store: &Store, sql: &'static str, id: &str) {
    let changed = sqlx::query(sql).bind(id).execute(store.pool()).await;
    assert_eq!(changed.expect("tamper").rows_affected(), 1);
}

/// A payout account with its number, for the channel.
async fn number_of(
    test: &TestStore,
    f: &Fixture,
    id: &str,
) -> Result<Option<(PayoutAccount, CardNumber)>, StoreError> {
    (test.store)
        .payout_account_number(&f.keyring, id, &f.customer)
        .await
}

/// A payout account row changed in the database (a removed account brought back, or its
/// masked number) fails its record MAC when next read.
/// req: 5.6.1-b
#[tokio::test]
async fn payout_accounts_changed_outside_inspay_are_caught() {
    for test in stores().await {
        let (store, label) = (&test.store, test.label);
        let (f, _, first, _) = active_policy(&test).await;
        let other = add_account(&test, &f, &card(CARDS[0])).await;
        let other = other.expect("add").id;
        assert_matches!(label, remove(&test, &f, &other).await, Ok(true));
        tamper(
            store,
            "UPDATE payout_accounts SET revoked_at_ms = NULL WHERE id = $1",
            &other,
        )
        .await;
        let read = number_of(&test, &f, &other).await;
        assert_matches!(label, read, Err(StoreError::Integrity(_)));
        let listed = store.payout_accounts(&f.keyring, &f.customer).await;
        assert_matches!(label, listed, Err(StoreError::Integrity(_)));

        let masked = "UPDATE payout_accounts SET account_masked = '999999******0000' WHERE id = $1";
        tamper(store, masked, &first).await;
        let read = number_of(&test, &f, &first).await;
        assert_matches!(label, read, Err(StoreError::Integrity(_)));
    }
}

async fn transfers(store: &Store) -> i64 {
    count(store, "SELECT COUNT(*) FROM ledger_transfers", &[]).await
}

/// The second approver may reject a large claim: it ends rejected, nothing is posted, and its
/// cover is released; the adjuster cannot reject their own assessment as the second approver.
/// req: 5.3.2.2
#[tokio::test]
async fn a_second_approver_rejects_a_large_claim_and_its_cover_is_released() {
    for test in stores().await {
        let (store, label) = (&test.store, test.label);
        let (f, policy, account, _) = active_policy(&test).await;
        let large = file(&test, &f, &policy, &account, 30_000_000, "k-1").await;
        let step = decide(&test, &f, &large, Decision::Approve(fen(30_000_000))).await;
        assert_eq!(
            step.expect("assess").claim.status,
            ClaimStatus::AwaitingSecondApproval
        );
        let whole = file(&test, &f, &policy, &account, COVER_FEN, "k-2").await;
        let above = decide(&test, &f, &whole, Decision::Approve(fen(COVER_FEN))).await;
        assert_matches!(
            label,
            above,
            Err(FundsError::Claim(ClaimError::AboveCover { .. }))
        );
        let posted = transfers(store).await;

        let own = second(&test, &f, &large, "adjuster", false).await;
        assert_matches!(label, own, Err(FundsError::Claim(ClaimError::SameApprover)));
        let status = claim_status(&test, &f, &large).await;
        assert_eq!(status, ClaimStatus::AwaitingSecondApproval, "{label}");

        let step = second(&test, &f, &large, "finance", false)
            .await
            .expect("reject");
        assert_eq!(step.claim.status, ClaimStatus::Rejected, "{label}");
        assert!(step.payout.is_none(), "{label}");
        let stored = store.claim(&f.keyring, &large, None).await.expect("claim");
        assert_eq!(stored.status, ClaimStatus::Rejected, "{label}");
        let approver = stored.approval.map(|a| a.approver_account_id);
        assert_eq!(approver.as_deref(), Some("finance"), "{label}");
        assert_eq!(
            transfers(store).await,
            posted,
            "{label}: a rejection posts nothing"
        );
        let sql = "SELECT COUNT(*) FROM payouts WHERE claim_id = $1";
        assert_eq!(count(store, sql, &[large.as_str()]).await, 0, "{label}");
        for kind in [AccountKind::ClaimsExpense, AccountKind::OutboundInFlight] {
            assert_eq!(balance(store, kind, None).await, 0, "{label}: {kind:?}");
        }
        let payable = balance(store, AccountKind::ClaimsPayable, Some(&f.customer)).await;
        assert_eq!(payable, 0, "{label}");
        let again = second(&test, &f, &large, "finance", true).await;
        let rejected = ClaimStatus::Rejected;
        assert_matches!(label, again, Err(FundsError::Claim(ClaimError::IllegalStep(s))) if s == rejected);

        // The whole cover is free again.
        let step = decide(&test, &f, &whole, Decision::Approve(fen(COVER_FEN))).await;
        assert_eq!(
            step.expect("assess").claim.status,
            ClaimStatus::AwaitingSecondApproval
        );
        let step = second(&test, &f, &whole, "finance", true)
            .await
            .expect("confirm");
        assert_eq!(
            step.payout.map(|p| p.amount.fen()),
            Some(COVER_FEN),
            "{label}"
        );
        let expense = balance(store, AccountKind::ClaimsExpense, None).await;
        assert_eq!(expense, COVER_FEN, "{label}");
        assert_sound(store, &f.keyring, label).await;
    }
}

/// Whether raw SQL failed with the database error `check` recognises.
fn refused_by<T>(
    result: Result<T, sqlx::Error>,
    check: fn(&dyn sqlx::error::DatabaseError) -> bool,
) -> bool {
    matches!(result, Err(sqlx::Error::Database(error)) if check(error.as_ref()))
}

/// The schema refuses a second approver equal to the adjuster, and a second live payout of
/// one claim, even from SQL that bypasses every check in inspay.
/// req: 5.3.1.3, 5.3.2.2
#[tokio::test]
async fn the_database_refuses_self_approval_and_a_second_live_payout() {
    for test in stores().await {
        let (store, label) = (&test.store, test.label);
        let (f, policy, account, _) = active_policy(&test).await;
        let large = file(&test, &f, &policy, &account, 3_000_000, "k-1").await;
        let step = decide(&test, &f, &large, Decision::Approve(fen(2_000_000))).await;
        step.expect("assess");
        let own = sqlx::query(
            "UPDATE claims SET approver_account_id = adjuster_account_id WHERE id = $1",
        )
        .bind(large.as_str())
        .execute(store.pool())
        .await;
        assert!(
            refused_by(own, |e| e.is_check_violation()),
            "{label}: updated"
        );
        let other = sqlx::query("UPDATE claims SET approver_account_id = 'finance' WHERE id = $1")
            .bind(large.as_str())
            .execute(store.pool())
            .await;
        assert!(other.is_ok(), "{label}: another approver passes: {other:?}");

        let small = file(&test, &f, &policy, &account, 500_000, "k-2").await;
        let step = decide(&test, &f, &small, Decision::Approve(fen(400_000))).await;
        let step = step.expect("approve");
        let duplicate = |status: &'static str| {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO payouts (id, claim_id, account_id, payout_account_id, amount_fen,
                     status, created_at_ms, record_mac)
                 SELECT $2, claim_id, account_id, payout_account_id, amount_fen, '{status}',
                     created_at_ms, record_mac
                 FROM payouts WHERE claim_id = $1 ORDER BY created_at_ms, id LIMIT 1"
            )))
            .bind(small.as_str())
            .bind(uuid::Uuid::now_v7().to_string())
            .execute(store.pool())
        };
        for status in ["pending", "succeeded"] {
            let inserted = duplicate(status).await;
            let refused = refused_by(inserted, |e| e.is_unique_violation());
            assert!(refused, "{label}: a second {status} payout");
        }
        // A refused payout and its restart: the refused one cannot be turned live again.
        settle_payout(&test, &f, &step, ChannelOutcome::Failed).await;
        restart(&test, &f, &small, &account).await.expect("restart");
        let revived = sqlx::query(
            "UPDATE payouts SET status = 'succeeded' WHERE claim_id = $1 AND status = 'failed'",
        )
        .bind(small.as_str())
        .execute(store.pool())
        .await;
        assert!(
            refused_by(revived, |e| e.is_unique_violation()),
            "{label}: revived"
        );
        let failed = duplicate("failed").await;
        assert!(
            failed.is_ok(),
            "{label}: failed payouts may repeat: {failed:?}"
        );
    }
}

fn run(day: &str, source: &'static str, run_by: &str) -> ReconciliationRun {
    ReconciliationRun {
        day: day.into(),
        source,
        matched: 3,
        missing_at_channel: 0,
        missing_in_inspay: 0,
        mismatched: 0,
        duplicated: 0,
        run_by: run_by.into(),
        run_at_ms: NOW_MS,
    }
}

/// The daily job's run of a day is recorded once, whichever node gets there first; operator
/// runs of that day are all recorded; only the job's run counts as reconciled from the
/// channel. Succeeded payouts are settled movements of kind payout; a refused one is not.
/// req: 4-b
#[tokio::test]
async fn daily_reconciliation_is_recorded_once_and_payouts_are_movements() {
    for test in stores().await {
        let (store, label) = (&test.store, test.label);
        let day = "2027-01-15";
        let record = |run: ReconciliationRun| async move {
            store.reconciliation_record(&run).await.expect("record")
        };
        let from_channel = |day: &'static str| async move {
            store.reconciled_from_channel(day).await.expect("read")
        };
        assert!(!from_channel(day).await, "{label}");
        assert!(
            record(run(day, "channel", "operator:alice")).await,
            "{label}"
        );
        assert!(
            !from_channel(day).await,
            "{label}: an operator's run is not the job's"
        );
        assert!(record(run(day, "channel", "system")).await, "{label}");
        assert!(from_channel(day).await, "{label}");
        assert!(
            !record(run(day, "channel", "system")).await,
            "{label}: recorded once"
        );
        assert!(
            record(run(day, "channel", "operator:alice")).await,
            "{label}"
        );
        assert!(record(run(day, "file", "operator:bob")).await, "{label}");
        let sql = "SELECT COUNT(*) FROM reconciliations WHERE day = $1";
        assert_eq!(
            count(store, sql, &[day]).await,
            4,
            "{label}: 1 daily, 3 operator runs"
        );
        assert!(
            record(run("2027-01-16", "channel", "system")).await,
            "{label}"
        );

        let (f, policy, account, payment) = active_policy(&test).await;
        let claim = file(&test, &f, &policy, &account, 500_000, "k-1").await;
        let step = decide(&test, &f, &claim, Decision::Approve(fen(400_000))).await;
        settle_payout(&test, &f, &step.expect("approve"), ChannelOutcome::Failed).await;
        let restarted = restart(&test, &f, &claim, &account).await.expect("restart");
        settle_payout(&test, &f, &restarted, ChannelOutcome::Succeeded).await;
        let paid = restarted.payout.expect("payout").id;
        let movements = store.settled_movements(NOW_MS, NOW_MS + 1).await;
        let mut seen: Vec<_> = (movements.expect("movements").into_iter())
            .map(|m| (m.kind, m.order_id, m.amount_fen))
            .collect();
        seen.sort();
        let expected = vec![
            (MovementKind::Pay, payment.to_string(), PREMIUM_FEN),
            (MovementKind::Payout, paid.to_string(), 400_000),
        ];
        assert_eq!(seen, expected, "{label}");
    }
}
