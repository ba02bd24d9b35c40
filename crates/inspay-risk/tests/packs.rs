//! Rule packs end to end: signed, verified, loaded, evaluated; and refused when unsigned,
//! tampered, over-reaching or unbounded.

use inspay_crypto::sm2::Sm2PrivateKey;
use inspay_risk::decision::{ReasonSource, StepUpFactor, Verdict};
use inspay_risk::pack::{
    Fact, Facts, LoadedPack, OperationKind, PackError, SignedPack, TrustedSigner,
};

const PACK: &str = r#"
[pack]
id = "night-and-bursts"
version = 3
description = "Large premiums at night; bursts of payouts"
inputs = ["op.amount_fen", "op.hour", "txn.count_1h", "txn.sum_fen_24h"]
on_error = "review"

[[rule]]
id = "large-premium-at-night"
operations = ["premium-payment"]
when = "op.amount_fen >= 500000 && (op.hour < 6 || op.hour >= 23)"
verdict = "step-up:sms-code"
note = "a large premium paid at night"

[[rule]]
id = "payout-burst"
operations = ["claim-payout"]
when = "txn.count_1h >= 3"
verdict = "review"
note = "several payouts within an hour"

[[rule]]
id = "average-over-limit"
operations = ["claim-payout"]
when = "txn.count_1h > 0 && txn.sum_fen_24h / txn.count_1h > 10000000"
verdict = "deny"
note = "average payout over 100,000 yuan"
"#;

struct Officer {
    key: Sm2PrivateKey,
    trusted: TrustedSigner,
}

fn officer() -> Officer {
    let key = Sm2PrivateKey::generate().expect("a key");
    let trusted = TrustedSigner {
        name: "risk-officer-li".to_owned(),
        key: key.public_key().clone(),
    };
    Officer { key, trusted }
}

fn signed(officer: &Officer, manifest: &str) -> SignedPack {
    SignedPack {
        manifest: manifest.as_bytes().to_vec(),
        signature: SignedPack::sign(manifest.as_bytes(), "risk-officer-li", &officer.key)
            .expect("signs"),
    }
}

fn load(officer: &Officer, manifest: &str) -> Result<LoadedPack, PackError> {
    let verified = signed(officer, manifest).verify(std::slice::from_ref(&officer.trusted))?;
    LoadedPack::load(&verified)
}

fn facts(values: &[(&str, Fact)]) -> Facts {
    let mut facts = Facts::default();
    for (name, value) in values {
        facts.set(name, value.clone()).expect("a catalogue field");
    }
    facts
}

/// req: 6.3.7
/// A signed pack loads and its rules fire only for their operations, each reason naming the
/// pack, its version and the rule.
#[test]
fn a_signed_pack_loads_and_decides() {
    let officer = officer();
    let pack = load(&officer, PACK).expect("loads");
    assert_eq!(pack.rule_count(), 3);
    assert_eq!(pack.signer(), "risk-officer-li");
    assert_eq!(pack.digest().len(), 64);

    let night = facts(&[
        ("op.amount_fen", Fact::Int(600_000)),
        ("op.hour", Fact::Int(2)),
    ]);
    let outcome = pack.evaluate(OperationKind::PremiumPayment, &night);
    assert_eq!(outcome.reasons.len(), 1);
    let reason = &outcome.reasons[0];
    assert_eq!(reason.rule, "large-premium-at-night");
    assert_eq!(reason.verdict, Verdict::StepUp(StepUpFactor::SmsCode));
    assert_eq!(
        reason.source,
        ReasonSource::Pack {
            pack: "night-and-bursts".into(),
            version: 3
        }
    );
    // The same facts for another operation: the rule does not apply.
    assert!(
        pack.evaluate(OperationKind::Refund, &night)
            .reasons
            .is_empty()
    );
    // By day, nothing fires.
    let day = facts(&[
        ("op.amount_fen", Fact::Int(600_000)),
        ("op.hour", Fact::Int(14)),
    ]);
    assert!(
        pack.evaluate(OperationKind::PremiumPayment, &day)
            .reasons
            .is_empty()
    );

    let burst = facts(&[
        ("txn.count_1h", Fact::Int(3)),
        ("txn.sum_fen_24h", Fact::Int(90_000)),
    ]);
    let outcome = pack.evaluate(OperationKind::ClaimPayout, &burst);
    assert_eq!(outcome.reasons.len(), 1);
    assert_eq!(outcome.reasons[0].verdict, Verdict::Review);
    assert!(outcome.failures.is_empty());
}

/// req: 6.3.7
/// An unsigned pack, a pack changed after signing, and a pack signed by an unregistered key
/// are refused with their own codes.
#[test]
fn unsigned_and_tampered_packs_are_refused() {
    let officer = officer();
    let mut pack = signed(&officer, PACK);
    pack.signature.clear();
    let error = pack
        .verify(std::slice::from_ref(&officer.trusted))
        .expect_err("unsigned");
    assert_eq!(error.code(), "RISK-PACK-UNSIGNED");

    let mut pack = signed(&officer, PACK);
    // Loosen the night rule after signing: 500000 becomes 900000.
    let text = String::from_utf8(pack.manifest).expect("utf-8");
    pack.manifest = text.replacen("500000", "900000", 1).into_bytes();
    let error = pack
        .verify(std::slice::from_ref(&officer.trusted))
        .expect_err("tampered");
    assert_eq!(error.code(), "RISK-PACK-TAMPERED");

    let stranger = self::officer();
    let error = signed(&stranger, PACK)
        .verify(std::slice::from_ref(&officer.trusted))
        .expect_err("not registered");
    assert_eq!(error.code(), "RISK-PACK-UNSIGNED");
}

/// req: 6.3.7
/// A pack that declares a field the catalogue does not offer (personal data), or whose rule
/// reads a field it did not declare, is refused even though its signature is good.
#[test]
fn over_reaching_packs_are_refused() {
    let officer = officer();
    let declares_mobile = PACK.replace(
        r#"inputs = ["op.amount_fen","#,
        r#"inputs = ["account.mobile", "op.amount_fen","#,
    );
    let error = load(&officer, &declares_mobile).expect_err("refused");
    assert_eq!(error.code(), "RISK-PACK-OVERREACH");
    assert!(error.to_string().contains("account.mobile"));

    let reads_undeclared = PACK.replace("txn.count_1h >= 3", "account.idle_days > 100");
    let error = load(&officer, &reads_undeclared).expect_err("refused");
    assert_eq!(error.code(), "RISK-PACK-OVERREACH");
    assert!(error.to_string().contains("account.idle_days"));
}

/// req: 6.3.7
/// Rules that could loop, call something outside the allowed functions, or fail on neutral
/// facts are refused at load, not at the first payment.
#[test]
fn unbounded_or_broken_rules_are_refused_at_load() {
    let officer = officer();
    for (condition, why) in [
        ("[1, 2, 3].all(x, x < op.hour)", "comprehension"),
        ("matches(string(op.hour), '^2')", "function"),
        (
            "op.amount_fen / op.hour > 1",
            "division by zero on neutral facts",
        ),
        ("op.amount_fen + 1", "not a boolean"),
        ("op.amount_fen >", "syntax"),
    ] {
        let manifest = PACK.replace(
            "op.amount_fen >= 500000 && (op.hour < 6 || op.hour >= 23)",
            condition,
        );
        let error = load(&officer, &manifest).expect_err(why);
        assert_eq!(error.code(), "RISK-PACK-RULE", "{why}: {error}");
    }
    // The parser folds 2,000 negations without exhausting its stack (the result does not
    // matter here, only that loading returns); 3,000 are refused by size before parsing.
    let with = |condition: &str| {
        PACK.replace(
            "op.amount_fen >= 500000 && (op.hour < 6 || op.hour >= 23)",
            condition,
        )
    };
    let _ = load(&officer, &with(&format!("{}true", "!".repeat(2000))));
    let _ = load(&officer, &with(&format!("{}1 > 0", "-".repeat(2000))));
    let error = load(&officer, &with(&format!("{}true", "!".repeat(3000)))).expect_err("size");
    assert_eq!(error.code(), "RISK-PACK-RULE");
}

/// A rule that fails at run time (an overflow the dry run could not see) gives the pack's
/// `on_error` verdict and is reported, instead of being skipped silently.
#[test]
fn a_failing_rule_gives_the_on_error_verdict() {
    let officer = officer();
    let manifest = PACK.replace(
        "op.amount_fen >= 500000 && (op.hour < 6 || op.hour >= 23)",
        "op.amount_fen * 1000000000000 > 0",
    );
    let pack = load(&officer, &manifest).expect("loads: no overflow on neutral facts");
    let outcome = pack.evaluate(
        OperationKind::PremiumPayment,
        &facts(&[("op.amount_fen", Fact::Int(50_000_000))]),
    );
    assert_eq!(outcome.failures.len(), 1, "{outcome:?}");
    assert_eq!(outcome.reasons[0].verdict, Verdict::Review);
}

/// Packs are shared between request tasks.
#[test]
fn loaded_packs_are_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    shared::<LoadedPack>();
}

/// The risk officer's guide lists every field rules may read, with its type, so the guide
/// cannot drift from the catalogue.
#[test]
fn the_guide_lists_every_input() {
    let guide = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/risk-officer-guide.md"
    ))
    .expect("the guide");
    for input in inspay_risk::pack::INPUTS {
        let row = format!("| `{}` | {} |", input.name, input.kind);
        assert!(guide.contains(&row), "the guide lacks {row}");
    }
}
