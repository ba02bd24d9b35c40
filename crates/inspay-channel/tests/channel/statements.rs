//! Daily statements, in the simulator's shape and in WeChat Pay's trade-bill shape.

use crate::helpers::*;
use inspay_channel::statement::STATEMENT_HEADER;
use inspay_channel::wechat::SUMMARY_HEADER;
use inspay_channel::{
    BusinessDate, OrderKind, PaymentChannel, parse_wechat_bill, render_wechat_bill,
};
use std::sync::atomic::Ordering;

/// 2025-03-01 10:00:00 in Beijing.
const MARCH_1_10H_MS: i64 = 1_740_794_400_000;
/// 2025-03-01 23:59:00 in Beijing.
const MARCH_1_23H59_MS: i64 = 1_740_844_740_000;

fn date(text: &str) -> BusinessDate {
    BusinessDate::parse(text).expect("date")
}

/// A day with a payment, a partial refund, a payout, a declined card and a payment a minute
/// before midnight, then a payment just after midnight.
async fn two_days() -> TestBank {
    let (clock, now) = manual_clock(MARCH_1_10H_MS);
    let bank = spawn_bank_with(|config| config.clock = clock).await;
    let channel = &bank.channel;
    channel
        .pay(pay_card("P-A", 10_000, CARD_OK))
        .await
        .expect("pay");
    channel
        .refund(refund("R-A", "P-A", 2_500))
        .await
        .expect("refund");
    channel
        .payout(payout("C-B", 30_000, ACCOUNT_OK))
        .await
        .expect("payout");
    channel
        .pay(pay_card("P-C", 900, CARD_DECLINED))
        .await
        .expect("declined");
    now.store(MARCH_1_23H59_MS, Ordering::SeqCst);
    channel
        .pay(pay_card("P-late", 100, CARD_OK))
        .await
        .expect("pay");
    now.store(MARCH_1_23H59_MS + 120_000, Ordering::SeqCst);
    channel
        .pay(pay_card("P-D", 700, CARD_OK))
        .await
        .expect("pay");
    bank
}

/// The statement of a day lists exactly that day's succeeded orders, by Beijing time, with
/// the references the answers gave; the CSV matches the documented header.
/// req: 4-b
#[tokio::test]
async fn the_statement_lists_exactly_the_days_succeeded_orders() {
    let bank = two_days().await;
    let first = bank
        .channel
        .statement(&date("2025-03-01"))
        .await
        .expect("statement");
    let lines: Vec<(&str, OrderKind, i64)> = first
        .lines
        .iter()
        .map(|line| (line.order_id.as_str(), line.kind, line.amount_fen))
        .collect();
    assert_eq!(
        lines,
        [
            ("P-A", OrderKind::Pay, 10_000),
            ("R-A", OrderKind::Refund, 2_500),
            ("C-B", OrderKind::Payout, 30_000),
            ("P-late", OrderKind::Pay, 100),
        ]
    );
    assert_eq!(first.lines[0].settled_at, "2025-03-01T10:00:00+08:00");
    assert_eq!(first.lines[3].settled_at, "2025-03-01T23:59:00+08:00");
    for line in &first.lines {
        let answer = bank.channel.query(&line.order_id).await.expect("query");
        assert_eq!(
            answer.channel_ref.as_deref(),
            Some(line.channel_ref.as_str())
        );
        assert_eq!(answer.settled_on.as_deref(), Some("2025-03-01"));
    }
    let csv = first.to_csv();
    assert_eq!(csv.lines().next(), Some(STATEMENT_HEADER));
    assert_eq!(csv, bank.sim.statement(&date("2025-03-01")).to_csv());

    let second = bank
        .channel
        .statement(&date("2025-03-02"))
        .await
        .expect("statement");
    let ids: Vec<&str> = second
        .lines
        .iter()
        .map(|line| line.order_id.as_str())
        .collect();
    assert_eq!(ids, ["P-D"]);
    let empty = bank
        .channel
        .statement(&date("2025-02-28"))
        .await
        .expect("statement");
    assert!(empty.lines.is_empty());
    bank.sim.shutdown().await.expect("shutdown");
}

/// The WeChat-shaped bill of a day has every field backtick-prefixed, amounts in yuan, the
/// summary WeChat puts last, and parses back to fen that match the statement's pay and
/// refund lines; rendering the parsed rows gives the same bill.
/// req: 4-b
#[tokio::test]
async fn the_wechat_bill_parses_back_and_round_trips() {
    let bank = two_days().await;
    let day = date("2025-03-01");
    let bill = bank.sim.wechat_bill(&day);
    let rows = parse_wechat_bill(&bill).expect("bill parses");
    let got: Vec<(&str, bool, i64)> = rows
        .iter()
        .map(|row| (row.merchant_order_id(), row.is_refund(), row.amount_fen()))
        .collect();
    let statement = bank.sim.statement(&day);
    let expected: Vec<(&str, bool, i64)> = statement
        .lines
        .iter()
        .filter(|line| line.kind != OrderKind::Payout)
        .map(|line| {
            (
                line.order_id.as_str(),
                line.kind == OrderKind::Refund,
                line.amount_fen,
            )
        })
        .collect();
    assert_eq!(got, expected);
    assert_eq!(rows[0].trade_time, "2025-03-01 10:00:00");
    assert_eq!(rows[1].out_trade_no, "P-A");
    assert_eq!(rows[1].transaction_id, rows[0].transaction_id);
    assert_eq!(rows[1].fee_fen, -15);
    assert_eq!(render_wechat_bill(&rows), bill);

    let lines: Vec<&str> = bill.lines().collect();
    assert!(lines[1].starts_with("`2025-03-01 10:00:00,`wx_simulated_app,`m-test,`,"));
    assert!(lines[1].contains(",`100.00,"));
    assert_eq!(lines[lines.len() - 2], SUMMARY_HEADER);
    assert_eq!(
        lines[lines.len() - 1],
        "`3,`101.00,`25.00,`0.00,`0.46,`101.00,`25.00"
    );
    bank.sim.shutdown().await.expect("shutdown");
}
