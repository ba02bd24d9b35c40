//! Products, policies, premium payments, refunds and the ledger, on every configured
//! database: each fund operation commits with its balanced ledger transfer, and the fund rules
//! hold under concurrency.

use crate::support::funds::*;
use crate::support::{create_account, stores};
use inspay_core::funds::{ChannelOutcome, OrderStatus, RefundError};
use inspay_core::ledger::{AccountKind, AccountRef};
use inspay_core::money::Amount;
use inspay_core::policy::{PaymentFrequency, PolicyStatus};
use inspay_identity::login_name::LoginName;
use inspay_store::StoreError;
use inspay_store::funds::{
    Cancellation, FundsError, InstalmentStatus, NewRefund, OutboxKind, RefundReason,
};
use time::macros::date;

/// A policy becomes active only when its first premium is paid; the payment posts a balanced
/// transfer in the same transaction; one premium cannot be paid twice; a duplicate channel
/// answer posts nothing; a failed payment can be tried again.
/// req: 5.3.1.3, 4-b
#[tokio::test]
async fn paying_the_first_premium_activates_the_policy() {
    for test in stores().await {
        let store = &test.store;
        let f = fixture(&test, PaymentFrequency::Yearly, 24).await;
        let (policy, schedule) = store
            .policy_apply(
                &f.keyring,
                &f.customer,
                &f.product.id,
                date!(2027 - 01 - 01),
                "req-apply",
                NOW_MS,
            )
            .await
            .expect("apply");
        assert_eq!(policy.status, PolicyStatus::Applied);
        assert_eq!(schedule.len(), 2);
        assert_eq!(schedule[1].due_on, date!(2028 - 01 - 01));
        // A renewal cannot be paid before the policy is active.
        assert!(matches!(
            begin(store, &f, &policy.id, 2).await,
            Err(FundsError::Policy(_))
        ));
        let declined = begin(store, &f, &policy.id, 1).await.expect("begin");
        assert!(matches!(
            begin(store, &f, &policy.id, 1).await,
            Err(FundsError::PaymentInProgress)
        ));
        let settled = store
            .payment_settle(
                &f.keyring,
                &declined.id,
                &answer(ChannelOutcome::Failed),
                None,
                "r",
                NOW_MS,
            )
            .await
            .expect("settle");
        assert_eq!(settled.payment.status, OrderStatus::Failed);
        assert_eq!(settled.policy_status, PolicyStatus::Applied);
        let payment = begin(store, &f, &policy.id, 1).await.expect("try again");
        let settled = store
            .payment_settle(
                &f.keyring,
                &payment.id,
                &answer(ChannelOutcome::Succeeded),
                Some("tok_abc"),
                "r",
                NOW_MS + 1,
            )
            .await
            .expect("settle");
        assert!(settled.changed && settled.applied);
        assert_eq!(settled.policy_status, PolicyStatus::Active);
        let again = store
            .payment_settle(
                &f.keyring,
                &payment.id,
                &answer(ChannelOutcome::Succeeded),
                None,
                "r",
                NOW_MS + 2,
            )
            .await
            .expect("duplicate answer");
        assert!(
            !again.changed,
            "{}: a duplicate answer posts nothing",
            test.label
        );
        assert!(matches!(
            store
                .payment_settle(
                    &f.keyring,
                    &payment.id,
                    &answer(ChannelOutcome::Failed),
                    None,
                    "r",
                    NOW_MS
                )
                .await,
            Err(FundsError::Contradiction(_))
        ));
        assert!(matches!(
            begin(store, &f, &policy.id, 1).await,
            Err(FundsError::InstalmentNotDue)
        ));
        assert_eq!(
            balance(store, AccountKind::PremiumIncome, None).await,
            36_500
        );
        assert_eq!(
            balance(store, AccountKind::ChannelClearing, None).await,
            36_500
        );
        assert_eq!(
            balance(store, AccountKind::CustomerFunds, Some(&f.customer)).await,
            0
        );
        let statement = store
            .ledger_statement(
                &AccountRef::customer(AccountKind::CustomerFunds, &f.customer).expect("a"),
                100,
            )
            .await
            .expect("statement");
        assert_eq!(statement.len(), 2, "in and applied");
        assert!(
            statement
                .iter()
                .all(|line| line.subject == format!("payment:{}", payment.id))
        );
        let instalments = store.instalments(&policy.id).await.expect("schedule");
        assert_eq!(instalments[0].status, InstalmentStatus::Paid);
        assert_eq!(instalments[1].status, InstalmentStatus::Due);
        assert_sound(store, &f.keyring, test.label).await;
    }
}

/// Cancelling refunds the unearned premium by the documented rule, voids unpaid premiums,
/// and a refused refund is reversed entirely; money that arrives for a cancelled policy is
/// refunded as an overpayment.
/// req: 5.3.1.3, 5.3.4
#[tokio::test]
async fn cancellation_refunds_the_unearned_premium_and_failures_roll_back() {
    for test in stores().await {
        let store = &test.store;
        let f = fixture(&test, PaymentFrequency::Yearly, 24).await;
        let policy = apply_on(store, &f, date!(2027 - 01 - 01)).await;
        let payment = begin(store, &f, &policy.id, 1).await.expect("begin");
        settle(store, &f, &payment.id, ChannelOutcome::Succeeded).await;
        // 1 July 2027: 184 of 365 days unearned.
        let refunds = store
            .policy_cancel(
                &f.keyring,
                Cancellation {
                    policy_id: &policy.id,
                    holder: Some(&f.customer),
                    cancelled_on: date!(2027 - 07 - 01),
                    actor: "account:test",
                },
                "r",
                NOW_MS,
            )
            .await
            .expect("cancel");
        assert_eq!(refunds.len(), 1);
        assert_eq!(refunds[0].amount.fen(), 18_400);
        assert_eq!(refunds[0].reason, RefundReason::Cancellation);
        let policy = store
            .policy(&f.keyring, &policy.id, None)
            .await
            .expect("policy");
        assert_eq!(policy.status, PolicyStatus::Cancelled);
        let instalments = store.instalments(&policy.id).await.expect("schedule");
        assert_eq!(instalments[1].status, InstalmentStatus::Void);
        assert_eq!(
            balance(store, AccountKind::OutboundInFlight, None).await,
            18_400
        );
        assert_eq!(
            balance(store, AccountKind::PremiumIncome, None).await,
            36_500 - 18_400
        );
        // The channel refuses the refund: it is reversed entirely.
        let (refund, changed) = store
            .refund_settle(
                &f.keyring,
                &refunds[0].id,
                &answer(ChannelOutcome::Failed),
                "r",
                NOW_MS,
            )
            .await
            .expect("settle refund");
        assert!(changed);
        assert_eq!(refund.status, OrderStatus::Failed);
        assert_eq!(balance(store, AccountKind::OutboundInFlight, None).await, 0);
        assert_eq!(
            balance(store, AccountKind::PremiumIncome, None).await,
            36_500
        );
        assert_eq!(
            balance(store, AccountKind::RefundsPayable, Some(&f.customer)).await,
            0
        );
        // Staff refund it again; this time it goes through.
        let refund = store
            .refund_request(
                &f.keyring,
                NewRefund {
                    payment_id: &payment.id,
                    amount: fen(18_400),
                    reason: RefundReason::Cancellation,
                    requested_by: "account:staff",
                },
                "r",
                NOW_MS,
            )
            .await
            .expect("refund");
        store
            .refund_settle(
                &f.keyring,
                &refund.id,
                &answer(ChannelOutcome::Succeeded),
                "r",
                NOW_MS,
            )
            .await
            .expect("settle refund");
        assert_eq!(
            balance(store, AccountKind::ChannelClearing, None).await,
            36_500 - 18_400
        );
        assert_sound(store, &f.keyring, test.label).await;
        // The outbox holds a finished row for each refund.
        let claimed = store
            .outbox_claim(NOW_MS + 60_000, 30_000, 10)
            .await
            .expect("claim");
        assert!(
            claimed
                .iter()
                .all(|item| item.kind != OutboxKind::SendRefund),
            "{}: settled refunds are not driven again: {claimed:?}",
            test.label
        );
    }
}

/// A payment that succeeds after its policy was cancelled is not applied: the money is held
/// for the customer and refunded as an overpayment.
/// req: 5.3.1.3, 5.3.4
#[tokio::test]
async fn money_for_nothing_due_is_refunded() {
    for test in stores().await {
        let store = &test.store;
        let f = fixture(&test, PaymentFrequency::Monthly, 12).await;
        let policy = apply_on(store, &f, date!(2027 - 01 - 01)).await;
        let first = begin(store, &f, &policy.id, 1).await.expect("begin");
        settle(store, &f, &first.id, ChannelOutcome::Succeeded).await;
        let second = begin(store, &f, &policy.id, 2).await.expect("begin");
        assert!(matches!(
            store
                .policy_cancel(
                    &f.keyring,
                    Cancellation {
                        policy_id: &policy.id,
                        holder: None,
                        cancelled_on: date!(2027 - 01 - 15),
                        actor: "account:s",
                    },
                    "r",
                    NOW_MS
                )
                .await,
            Err(FundsError::PaymentInProgress)
        ));
        // Force the race: the premium is voided while the payment is out (a lapse job, say).
        sqlx::query("UPDATE premium_instalments SET status = 'void' WHERE id = $1")
            .bind(second.instalment_id.as_str())
            .execute(store.pool())
            .await
            .expect("void");
        let settled = store
            .payment_settle(
                &f.keyring,
                &second.id,
                &answer(ChannelOutcome::Succeeded),
                None,
                "r",
                NOW_MS,
            )
            .await
            .expect("settle");
        assert!(settled.changed && !settled.applied);
        let refunds = store
            .refunds_of_payment(&f.keyring, &second.id)
            .await
            .expect("refunds");
        assert_eq!(refunds.len(), 1);
        assert_eq!(refunds[0].reason, RefundReason::Overpayment);
        assert_eq!(refunds[0].amount, second.amount);
        assert_eq!(
            balance(store, AccountKind::OutboundInFlight, None).await,
            36_500
        );
        assert_eq!(
            balance(store, AccountKind::PremiumIncome, None).await,
            36_500
        );
        assert_sound(store, &f.keyring, test.label).await;
    }
}

/// 100 concurrent refunds of 1.50 against one 365.00 payment: exactly the refundable amount
/// goes through, never more, and the ledger stays balanced.
/// req: 5.3.1.3
#[tokio::test]
async fn concurrent_refunds_never_exceed_the_payment() {
    for test in stores().await {
        let store = &test.store;
        let f = fixture(&test, PaymentFrequency::Single, 12).await;
        let policy = apply_on(store, &f, date!(2027 - 01 - 01)).await;
        let payment = begin(store, &f, &policy.id, 1).await.expect("begin");
        settle(store, &f, &payment.id, ChannelOutcome::Succeeded).await;
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let store = store.clone();
            let keyring = std::sync::Arc::clone(&f.keyring);
            let payment_id = payment.id.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .refund_request(
                        &keyring,
                        NewRefund {
                            payment_id: &payment_id,
                            amount: Amount::from_fen(150).expect("amount"),
                            reason: RefundReason::Goodwill,
                            requested_by: "account:staff",
                        },
                        "r",
                        NOW_MS,
                    )
                    .await
            }));
        }
        let (mut accepted, mut refused) = (0, 0);
        for task in tasks {
            match task.await.expect("task") {
                Ok(_) => accepted += 1,
                Err(FundsError::Refund(RefundError::ExceedsRefundable { .. })) => refused += 1,
                Err(FundsError::Store(StoreError::Database(error))) => {
                    panic!("{}: database error under contention: {error}", test.label)
                }
                Err(other) => panic!("{}: {other}", test.label),
            }
        }
        assert_eq!(
            (accepted, refused),
            (100, 0),
            "{}: 150 × 100 fits in 36,500",
            test.label
        );
        // Now past the payment: 100 more, of which exactly 143 fen... of 21,500 left, 143 fit.
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let store = store.clone();
            let keyring = std::sync::Arc::clone(&f.keyring);
            let payment_id = payment.id.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .refund_request(
                        &keyring,
                        NewRefund {
                            payment_id: &payment_id,
                            amount: Amount::from_fen(250).expect("amount"),
                            reason: RefundReason::Goodwill,
                            requested_by: "account:staff",
                        },
                        "r",
                        NOW_MS,
                    )
                    .await
            }));
        }
        let mut accepted = 0;
        for task in tasks {
            if task.await.expect("task").is_ok() {
                accepted += 1;
            }
        }
        assert_eq!(accepted, 86, "{}: 21,500 left / 250 = 86", test.label);
        let total: i64 = store
            .refunds_of_payment(&f.keyring, &payment.id)
            .await
            .expect("refunds")
            .iter()
            .map(|refund| refund.amount.fen())
            .sum();
        assert_eq!(total, 15_000 + 21_500);
        assert_eq!(balance(store, AccountKind::PremiumIncome, None).await, 0);
        assert_sound(store, &f.keyring, test.label).await;
    }
}

/// Ledger rows cannot be changed or deleted, and a transfer changed by someone who first
/// removes that protection is caught by its record MAC.
/// req: 5.6.1-b, 5.3.1.3
#[tokio::test]
async fn ledger_entries_are_immutable_and_tamper_evident() {
    for test in stores().await {
        let store = &test.store;
        let f = fixture(&test, PaymentFrequency::Single, 12).await;
        let policy = apply_on(store, &f, date!(2027 - 01 - 01)).await;
        let payment = begin(store, &f, &policy.id, 1).await.expect("begin");
        settle(store, &f, &payment.id, ChannelOutcome::Succeeded).await;
        for statement in [
            "UPDATE ledger_entries SET amount_fen = amount_fen + 1",
            "DELETE FROM ledger_entries",
            "UPDATE ledger_transfers SET subject = 'payment:other'",
            "DELETE FROM ledger_transfers",
        ] {
            assert!(
                sqlx::query(statement).execute(store.pool()).await.is_err(),
                "{}: {statement} must be refused",
                test.label
            );
        }
        // Remove the protection, as an intruder with database rights could, and change a row.
        let drop = match store.backend() {
            inspay_store::Backend::Sqlite => "DROP TRIGGER ledger_entries_no_update",
            inspay_store::Backend::Postgres => {
                "DROP TRIGGER ledger_entries_no_change ON ledger_entries"
            }
        };
        sqlx::query(drop)
            .execute(store.pool())
            .await
            .expect("drop trigger");
        sqlx::query(
            "UPDATE ledger_entries SET amount_fen = amount_fen + 100 WHERE account_code = 'premium_income'",
        )
        .execute(store.pool())
        .await
        .expect("tamper");
        let report = store.ledger_check(&f.keyring).await.expect("check");
        assert_eq!(report.tampered_transfers.len(), 1, "{}", test.label);
        assert!(
            !report.discrepancies.is_empty(),
            "{}: the sums no longer match",
            test.label
        );
        // The payment row's MAC catches a changed amount too.
        sqlx::query("UPDATE payments SET amount_fen = 1")
            .execute(store.pool())
            .await
            .expect("tamper");
        assert!(matches!(
            store.payment(&f.keyring, &payment.id, None).await,
            Err(FundsError::Store(StoreError::Integrity(_)))
        ));
    }
}

/// A renewal unpaid past its grace period lapses the policy and voids what it no longer owes;
/// a policy whose term has ended expires; a policy with a payment still pending waits.
/// req: 5.3.1.3
#[tokio::test]
async fn policies_lapse_after_grace_and_expire_after_their_term() {
    for test in stores().await {
        let store = &test.store;
        let f = fixture(&test, PaymentFrequency::Monthly, 12).await;
        let monthly = apply_on(store, &f, date!(2027 - 01 - 01)).await;
        let first = begin(store, &f, &monthly.id, 1).await.expect("begin");
        settle(store, &f, &first.id, ChannelOutcome::Succeeded).await;
        // The second premium is due 1 February; grace runs 30 days, to 3 March.
        let aged = store
            .policies_age(&f.keyring, date!(2027 - 03 - 03), NOW_MS)
            .await
            .expect("age");
        assert_eq!((aged.lapsed, aged.expired), (0, 0), "{}", test.label);
        // A payment in flight on the last day of grace holds the policy.
        let second = begin(store, &f, &monthly.id, 2).await.expect("begin");
        let aged = store
            .policies_age(&f.keyring, date!(2027 - 03 - 04), NOW_MS)
            .await
            .expect("age");
        assert_eq!(
            aged.lapsed, 0,
            "{}: the pending payment decides first",
            test.label
        );
        settle(store, &f, &second.id, ChannelOutcome::Failed).await;
        let aged = store
            .policies_age(&f.keyring, date!(2027 - 03 - 04), NOW_MS)
            .await
            .expect("age");
        assert_eq!(aged.lapsed, 1, "{}", test.label);
        let policy = store
            .policy(&f.keyring, &monthly.id, None)
            .await
            .expect("policy");
        assert_eq!(policy.status, PolicyStatus::Lapsed);
        let schedule = store.instalments(&monthly.id).await.expect("schedule");
        assert!(
            schedule[1..]
                .iter()
                .all(|i| i.status == InstalmentStatus::Void)
        );
        assert!(matches!(
            begin(store, &f, &monthly.id, 3).await,
            Err(FundsError::InstalmentNotDue)
        ));
        // Running again changes nothing.
        let aged = store
            .policies_age(&f.keyring, date!(2027 - 03 - 05), NOW_MS)
            .await
            .expect("age");
        assert_eq!((aged.lapsed, aged.expired), (0, 0));
        assert_sound(store, &f.keyring, test.label).await;
    }
}

/// A fully paid policy expires on the day after its last day of cover.
/// req: 5.3.1.3
#[tokio::test]
async fn paid_policies_expire_at_the_end_of_their_term() {
    for test in stores().await {
        let store = &test.store;
        let f = fixture(&test, PaymentFrequency::Single, 12).await;
        let policy = apply_on(store, &f, date!(2027 - 01 - 01)).await;
        let payment = begin(store, &f, &policy.id, 1).await.expect("begin");
        settle(store, &f, &payment.id, ChannelOutcome::Succeeded).await;
        let aged = store
            .policies_age(&f.keyring, date!(2027 - 12 - 31), NOW_MS)
            .await
            .expect("age");
        assert_eq!(
            aged.expired, 0,
            "{}: 31 December is still covered",
            test.label
        );
        let aged = store
            .policies_age(&f.keyring, date!(2028 - 01 - 01), NOW_MS)
            .await
            .expect("age");
        assert_eq!((aged.lapsed, aged.expired), (0, 1), "{}", test.label);
        let policy = store
            .policy(&f.keyring, &policy.id, None)
            .await
            .expect("policy");
        assert_eq!(policy.status, PolicyStatus::Expired);
    }
}

/// A row the worker gave up on is listed as dead and put back by an operator (audited); only
/// dead rows can be put back.
/// req: 5.3.4
#[tokio::test]
async fn dead_outbox_rows_are_listed_and_put_back() {
    for test in stores().await {
        let store = &test.store;
        let f = fixture(&test, PaymentFrequency::Single, 12).await;
        let policy = apply_on(store, &f, date!(2027 - 01 - 01)).await;
        let payment = begin(store, &f, &policy.id, 1).await.expect("begin");
        let ready = store.outbox_rows("ready", 10).await.expect("rows");
        assert_eq!(ready.len(), 1, "{}", test.label);
        assert_eq!(ready[0].kind, OutboxKind::ResolvePayment);
        assert_eq!(ready[0].subject_id, payment.id.as_str());
        store
            .outbox_dead(&ready[0].id, "the channel could not be asked", NOW_MS)
            .await
            .expect("dead");
        let dead = store.outbox_rows("dead", 10).await.expect("rows");
        assert_eq!(dead.len(), 1);
        assert_eq!(
            dead[0].last_error.as_deref(),
            Some("the channel could not be asked")
        );
        let who = inspay_store::keys::Actor {
            actor: "operator:test",
            request_id: "r",
        };
        assert!(
            store
                .outbox_redrive(&dead[0].id, who, NOW_MS)
                .await
                .expect("redrive")
        );
        assert!(
            !store
                .outbox_redrive(&dead[0].id, who, NOW_MS)
                .await
                .expect("again")
        );
        assert!(
            store
                .outbox_rows("dead", 10)
                .await
                .expect("rows")
                .is_empty()
        );
        let claimed = store.outbox_claim(NOW_MS, 30_000, 10).await.expect("claim");
        assert_eq!(claimed.len(), 1, "{}: due again at once", test.label);
    }
}

/// An application whose first premium stays unpaid past the grace period after its start is
/// withdrawn; one still within grace, or with a payment in flight, is not.
/// req: 5.3.1.3
#[tokio::test]
async fn unpaid_applications_are_withdrawn_after_grace() {
    for test in stores().await {
        let store = &test.store;
        let f = fixture(&test, PaymentFrequency::Yearly, 24).await;
        let unpaid = apply_on(store, &f, date!(2027 - 01 - 01)).await;
        let paying = apply_on(store, &f, date!(2027 - 01 - 01)).await;
        let _pending = begin(store, &f, &paying.id, 1).await.expect("begin");
        let aged = store
            .policies_age(&f.keyring, date!(2027 - 01 - 31), NOW_MS)
            .await
            .expect("age");
        assert_eq!(
            aged.withdrawn, 0,
            "{}: grace runs to 31 January",
            test.label
        );
        let aged = store
            .policies_age(&f.keyring, date!(2027 - 02 - 01), NOW_MS)
            .await
            .expect("age");
        assert_eq!(
            aged.withdrawn, 1,
            "{}: the pending payment holds the other",
            test.label
        );
        let withdrawn = store
            .policy(&f.keyring, &unpaid.id, None)
            .await
            .expect("policy");
        assert_eq!(withdrawn.status, PolicyStatus::Cancelled);
        let schedule = store.instalments(&unpaid.id).await.expect("schedule");
        assert!(schedule.iter().all(|i| i.status == InstalmentStatus::Void));
        let held = store
            .policy(&f.keyring, &paying.id, None)
            .await
            .expect("policy");
        assert_eq!(held.status, PolicyStatus::Applied);
    }
}

/// A saved card's token is bound to its account: a row moved to another account outside
/// inspay cannot be opened there, and is reported as an integrity failure.
/// req: 5.6.1-b
#[tokio::test]
async fn saved_cards_cannot_be_moved_to_another_account() {
    for test in stores().await {
        let store = &test.store;
        let f = fixture(&test, PaymentFrequency::Single, 12).await;
        let policy = apply_on(store, &f, date!(2027 - 01 - 01)).await;
        let payment = begin(store, &f, &policy.id, 1).await.expect("begin");
        store
            .payment_settle(
                &f.keyring,
                &payment.id,
                &answer(ChannelOutcome::Succeeded),
                Some("tok_0123456789abcdef"),
                "r",
                NOW_MS,
            )
            .await
            .expect("settle");
        let methods = store.payment_methods(&f.customer).await.expect("methods");
        assert_eq!(methods.len(), 1, "{}", test.label);
        let method_id = &methods[0].0;
        let (masked, token) = store
            .payment_method(&f.keyring, &f.customer, method_id)
            .await
            .expect("open")
            .expect("the card");
        assert_eq!(
            (masked.as_str(), token.as_str()),
            (MASKED, "tok_0123456789abcdef")
        );
        let name = LoginName::customer("13800138001").expect("mobile");
        let other = create_account(store, &f.keyring, &name, "pw", false, NOW_MS).await;
        sqlx::query("UPDATE payment_methods SET account_id = $1 WHERE id = $2")
            .bind(&other)
            .bind(method_id)
            .execute(store.pool())
            .await
            .expect("move the row");
        assert!(matches!(
            store.payment_method(&f.keyring, &other, method_id).await,
            Err(StoreError::Integrity(_))
        ));
        assert!(
            store
                .payment_method(&f.keyring, &f.customer, method_id)
                .await
                .expect("query")
                .is_none()
        );
    }
}
