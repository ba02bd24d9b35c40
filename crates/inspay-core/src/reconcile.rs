//! Reconciliation (clause 4-b, issue 5 item 8): what the channel says moved on a day, against
//! what inspay recorded as settled that day, order by order.

use std::collections::BTreeMap;

/// What kind of movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MovementKind {
    /// A premium collected.
    Pay,
    /// A refund sent.
    Refund,
    /// A claim payout sent.
    Payout,
}

impl MovementKind {
    /// The name statements use.
    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Pay => "pay",
            MovementKind::Refund => "refund",
            MovementKind::Payout => "payout",
        }
    }
}

/// One movement of money, by the order id both sides share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    /// The order id (our payment, refund or payout id).
    pub order_id: String,
    /// Which way.
    pub kind: MovementKind,
    /// How much, fen.
    pub amount_fen: i64,
}

/// The result, every list in order-id order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciliation {
    /// On both sides, same kind and amount.
    pub matched: Vec<Movement>,
    /// Recorded by inspay, absent from the channel's statement.
    pub missing_at_channel: Vec<Movement>,
    /// On the channel's statement, not recorded by inspay as settled that day.
    pub missing_in_inspay: Vec<Movement>,
    /// On both sides with a different amount or kind: (ours, theirs).
    pub mismatched: Vec<(Movement, Movement)>,
    /// Order ids listed more than once on one side.
    pub duplicated: Vec<String>,
}

impl Reconciliation {
    /// Whether both sides agree entirely.
    pub fn is_clean(&self) -> bool {
        self.missing_at_channel.is_empty()
            && self.missing_in_inspay.is_empty()
            && self.mismatched.is_empty()
            && self.duplicated.is_empty()
    }
}

/// Matches `ours` against `theirs` by order id.
pub fn reconcile(ours: &[Movement], theirs: &[Movement]) -> Reconciliation {
    let mut result = Reconciliation::default();
    let index = |side: &[Movement], duplicated: &mut Vec<String>| {
        let mut map: BTreeMap<String, Movement> = BTreeMap::new();
        for movement in side {
            if map
                .insert(movement.order_id.clone(), movement.clone())
                .is_some()
            {
                duplicated.push(movement.order_id.clone());
            }
        }
        map
    };
    let ours = index(ours, &mut result.duplicated);
    let mut theirs = index(theirs, &mut result.duplicated);
    for (order_id, mine) in ours {
        match theirs.remove(&order_id) {
            Some(other) if other.kind == mine.kind && other.amount_fen == mine.amount_fen => {
                result.matched.push(mine)
            }
            Some(other) => result.mismatched.push((mine, other)),
            None => result.missing_at_channel.push(mine),
        }
    }
    result.missing_in_inspay = theirs.into_values().collect();
    result.duplicated.sort();
    result.duplicated.dedup();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn movement(order_id: &str, kind: MovementKind, amount_fen: i64) -> Movement {
        Movement {
            order_id: order_id.into(),
            kind,
            amount_fen,
        }
    }

    /// Every disagreement is found and named: missing on either side, a different amount or
    /// kind, an order listed twice; agreement is clean.
    /// req: 4-b
    #[test]
    fn every_disagreement_is_found() {
        use MovementKind::{Pay, Refund};
        let ours = [
            movement("a", Pay, 100),
            movement("b", Pay, 200),
            movement("c", Refund, 50),
            movement("d", Pay, 70),
        ];
        let theirs = [
            movement("a", Pay, 100),
            movement("b", Pay, 201),
            movement("c", Pay, 50),
            movement("e", Pay, 10),
            movement("e", Pay, 10),
        ];
        let found = reconcile(&ours, &theirs);
        assert_eq!(found.matched, vec![movement("a", Pay, 100)]);
        assert_eq!(found.missing_at_channel, vec![movement("d", Pay, 70)]);
        assert_eq!(found.missing_in_inspay, vec![movement("e", Pay, 10)]);
        assert_eq!(found.mismatched.len(), 2);
        assert_eq!(found.duplicated, vec!["e".to_string()]);
        assert!(!found.is_clean());
        assert!(reconcile(&ours, &ours).is_clean());
        assert!(reconcile(&[], &[]).is_clean());
    }
}
