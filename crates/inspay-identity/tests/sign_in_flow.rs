//! The sign-in state machine, exhaustively.

use inspay_identity::sign_in_flow::{FLOW_TTL_S_DEFAULT, Factor, Flow, FlowError, Stage, Step};

const T0: i64 = 1_800_000_000;

/// Sign-in needs two independent factors, the first not an SMS code; password plus gesture
/// (two things known) or the same factor twice does not count.
/// req: 5.2.1.2
#[test]
fn two_independent_factors_complete_a_sign_in() {
    let mut completions = vec![];
    for first in Factor::ALL {
        for second in Factor::ALL {
            let (flow, _) = Flow::start(T0).step(Step::Verified(first), FLOW_TTL_S_DEFAULT, T0 + 1);
            let (_, outcome) = flow.step(Step::Verified(second), FLOW_TTL_S_DEFAULT, T0 + 2);
            if let Ok(Stage::Complete { .. }) = outcome {
                completions.push((first, second));
            }
        }
    }
    assert!(completions.contains(&(Factor::Password, Factor::SmsCode)));
    assert!(completions.contains(&(Factor::Gesture, Factor::DeviceKey)));
    assert!(completions.contains(&(Factor::Certificate, Factor::Password)));
    for (first, second) in &completions {
        assert_ne!(first, second);
        assert_ne!(*first, Factor::SmsCode, "a code alone identifies no one");
        assert!(!matches!(
            (first, second),
            (Factor::Password, Factor::Gesture) | (Factor::Gesture, Factor::Password)
        ));
    }
    assert_eq!(
        completions.len(),
        4 * 4 - 2,
        "every other ordered pair completes"
    );
}

/// No step can be skipped, repeated or taken out of order; a failure or an expired flow ends
/// it, and an ended or completed flow accepts nothing more.
/// req: 5.3.1.2
#[test]
fn steps_cannot_be_skipped_repeated_or_reordered() {
    let ttl = FLOW_TTL_S_DEFAULT;
    // A second-factor-only start (skipping the first step) is refused.
    let (flow, outcome) = Flow::start(T0).step(Step::Verified(Factor::SmsCode), ttl, T0 + 1);
    assert_eq!(
        (flow.stage, outcome),
        (Stage::Ended, Err(FlowError::FactorNotAllowed))
    );
    // Repeating the first factor is refused.
    let (flow, _) = Flow::start(T0).step(Step::Verified(Factor::Password), ttl, T0 + 1);
    let (ended, outcome) = flow.step(Step::Verified(Factor::Password), ttl, T0 + 2);
    assert_eq!(
        (ended.stage, outcome),
        (Stage::Ended, Err(FlowError::FactorNotAllowed))
    );
    // Anything after completion is out of order.
    let (done, _) = flow.step(Step::Verified(Factor::SmsCode), ttl, T0 + 2);
    assert!(matches!(done.stage, Stage::Complete { .. }));
    let (after, outcome) = done.step(Step::Verified(Factor::DeviceKey), ttl, T0 + 3);
    assert_eq!(
        (after.stage, outcome),
        (Stage::Ended, Err(FlowError::OutOfOrder))
    );
    // A failed step ends the flow; the ended flow refuses even a right factor.
    let (failed, outcome) = flow.step(Step::Failed(Factor::SmsCode), ttl, T0 + 2);
    assert_eq!(
        (failed.stage, outcome),
        (Stage::Ended, Err(FlowError::Failed))
    );
    let (still, outcome) = failed.step(Step::Verified(Factor::SmsCode), ttl, T0 + 3);
    assert_eq!(
        (still.stage, outcome),
        (Stage::Ended, Err(FlowError::OutOfOrder))
    );
    // Too slow.
    let (late, outcome) = flow.step(Step::Verified(Factor::SmsCode), ttl, T0 + ttl);
    assert_eq!(
        (late.stage, outcome),
        (Stage::Ended, Err(FlowError::Expired))
    );
    for factor in Factor::ALL {
        assert_eq!(Factor::parse(factor.name()), Some(factor));
    }
}
