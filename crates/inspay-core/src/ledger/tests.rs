use super::*;
use std::collections::BTreeMap;

fn fen(value: i64) -> Amount {
    Amount::from_fen(value).expect("positive")
}

/// A ledger held in memory the way the store holds it: entry totals and a kept balance per
/// account, changed only through [`AccountRef::apply`].
#[derive(Default)]
struct MemoryLedger {
    accounts: BTreeMap<String, AccountTotals>,
}

impl MemoryLedger {
    fn post(&mut self, transfer: &Transfer) -> Result<(), LedgerError> {
        let mut next = self.accounts.clone();
        for posting in transfer.postings() {
            let code = posting.account.code();
            let row = next.entry(code.clone()).or_insert(AccountTotals {
                code,
                debits_fen: 0,
                credits_fen: 0,
                balance_fen: 0,
            });
            let delta = posting.account.delta_fen(posting.side, posting.amount);
            row.balance_fen = posting.account.apply(row.balance_fen, delta)?;
            match posting.side {
                Side::Debit => row.debits_fen += posting.amount.fen(),
                Side::Credit => row.credits_fen += posting.amount.fen(),
            }
        }
        self.accounts = next;
        Ok(())
    }

    fn balance(&self, code: &str) -> i64 {
        self.accounts.get(code).map_or(0, |row| row.balance_fen)
    }

    fn totals(&self) -> Vec<AccountTotals> {
        self.accounts.values().cloned().collect()
    }
}

/// A transfer cannot be built unbalanced or with fewer than two postings.
/// req: 5.3.1.3
#[test]
fn transfers_must_balance() {
    let clearing = AccountRef::insurer(AccountKind::ChannelClearing).expect("account");
    let income = AccountRef::insurer(AccountKind::PremiumIncome).expect("account");
    let unbalanced = Transfer::new(
        LedgerEvent::PremiumReceived,
        vec![
            debit(clearing.clone(), fen(100)),
            credit(income.clone(), fen(99)),
        ],
    );
    assert_eq!(
        unbalanced,
        Err(LedgerError::Unbalanced {
            debits_fen: 100,
            credits_fen: 99
        })
    );
    assert_eq!(
        Transfer::new(LedgerEvent::PremiumReceived, vec![debit(clearing, fen(1))]),
        Err(LedgerError::PostingCount)
    );
    for transfer in [
        Transfer::premium_received("c1", fen(12_000)),
        Transfer::overpayment_received("c1", fen(5)),
        Transfer::claim_approved("c1", fen(7)),
        Transfer::premium_refund_approved("c1", fen(7)),
        Transfer::overpayment_refund_approved("c1", fen(7)),
        Transfer::outbound_settled(fen(7)),
    ] {
        let transfer = transfer.expect("balanced");
        assert_eq!(
            side_total(transfer.postings(), Side::Debit),
            side_total(transfer.postings(), Side::Credit)
        );
    }
}

/// Account codes round-trip, and a per-customer kind needs a customer (and the reverse).
#[test]
fn account_codes_round_trip() {
    let payable = AccountRef::customer(AccountKind::ClaimsPayable, "c-1").expect("account");
    assert_eq!(payable.code(), "claims_payable:c-1");
    assert_eq!(AccountRef::parse("claims_payable:c-1"), Ok(payable));
    assert_eq!(
        AccountRef::parse("claims_payable"),
        Err(LedgerError::UnknownAccount)
    );
    assert_eq!(
        AccountRef::parse("premium_income:c-1"),
        Err(LedgerError::UnknownAccount)
    );
    assert_eq!(AccountRef::parse("cash"), Err(LedgerError::UnknownAccount));
    assert_eq!(
        AccountRef::customer(AccountKind::CustomerFunds, "a:b"),
        Err(LedgerError::UnknownAccount)
    );
    assert!(
        Transfer::outbound_started(
            &AccountRef::insurer(AccountKind::PremiumIncome).expect("account"),
            fen(1)
        )
        .is_err(),
        "only payables are paid out"
    );
}

/// Bounded balances cannot go below zero: a payout cannot start before its claim is approved,
/// and a refund cannot take back more premium than was received.
/// req: 5.3.1.3
#[test]
fn bounded_balances_stay_at_or_above_zero() {
    let mut ledger = MemoryLedger::default();
    let payable = AccountRef::customer(AccountKind::ClaimsPayable, "c1").expect("account");
    let payout = Transfer::outbound_started(&payable, fen(100)).expect("balanced");
    assert!(matches!(
        ledger.post(&payout),
        Err(LedgerError::BelowBound { .. })
    ));
    assert!(
        ledger.accounts.is_empty(),
        "a refused transfer changes nothing"
    );
    let refund = Transfer::premium_refund_approved("c1", fen(1)).expect("balanced");
    assert!(ledger.post(&refund).is_err());
    ledger
        .post(&Transfer::premium_received("c1", fen(500)).expect("balanced"))
        .expect("post");
    ledger
        .post(&Transfer::premium_refund_approved("c1", fen(500)).expect("balanced"))
        .expect("post");
    assert!(ledger.post(&refund).is_err());
    assert_eq!(ledger.balance("premium_income"), 0);
    assert_eq!(ledger.balance("refunds_payable:c1"), 500);
    assert_eq!(ledger.balance("channel_clearing"), 500);
}

/// A long random run of business events keeps the ledger balanced, every kept balance equal to
/// its entries and every bound respected; a tampered balance or entry total is then found.
/// req: 5.3.1.3
#[test]
fn random_event_runs_keep_the_ledger_sound() {
    let mut ledger = MemoryLedger::default();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |bound: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % bound
    };
    let (mut posted, mut refused) = (0, 0);
    for _ in 0..5_000 {
        let customer = format!("c{}", next(5));
        let amount = fen(i64::try_from(next(20_000)).expect("small") + 1);
        let payable = AccountRef::customer(AccountKind::ClaimsPayable, &customer).expect("a");
        let refunds = AccountRef::customer(AccountKind::RefundsPayable, &customer).expect("a");
        let transfer = match next(9) {
            0 | 1 => Transfer::premium_received(&customer, amount),
            2 => Transfer::overpayment_received(&customer, amount),
            3 => Transfer::claim_approved(&customer, amount),
            4 => Transfer::premium_refund_approved(&customer, amount),
            5 => Transfer::overpayment_refund_approved(&customer, amount),
            6 => Transfer::outbound_started(if next(2) == 0 { &payable } else { &refunds }, amount),
            7 => Transfer::outbound_settled(amount),
            _ => Transfer::outbound_voided(if next(2) == 0 { &payable } else { &refunds }, amount),
        }
        .expect("recipes balance");
        match ledger.post(&transfer) {
            Ok(()) => posted += 1,
            Err(LedgerError::BelowBound { .. }) => refused += 1,
            Err(other) => panic!("unexpected refusal: {other}"),
        }
        assert_eq!(check_ledger(&ledger.totals()), Vec::new());
    }
    assert!(
        posted > 1_000 && refused > 100,
        "{posted} posted, {refused} refused"
    );

    let mut tampered = ledger.totals();
    tampered[0].balance_fen += 1;
    assert!(matches!(
        check_ledger(&tampered)[..],
        [Discrepancy::BalanceMismatch { .. }]
    ));
    let mut tampered = ledger.totals();
    tampered[0].debits_fen += 1;
    let found = check_ledger(&tampered);
    assert!(found.contains(&Discrepancy::Unbalanced {
        debits_fen: ledger.totals().iter().map(|a| a.debits_fen).sum::<i64>() + 1,
        credits_fen: ledger.totals().iter().map(|a| a.credits_fen).sum::<i64>(),
    }));
    let negative = AccountTotals {
        code: "claims_payable:c9".into(),
        debits_fen: 5,
        credits_fen: 0,
        balance_fen: -5,
    };
    assert_eq!(
        check_ledger(&[negative]),
        vec![
            Discrepancy::Unbalanced {
                debits_fen: 5,
                credits_fen: 0
            },
            Discrepancy::BelowBound {
                code: "claims_payable:c9".into()
            }
        ]
    );
}
