//! Measuring the model on a labelled history, as a live engine would run it: train on the
//! first part of the history, then score each later operation before learning it.

use super::baseline::Baselines;
use super::observation::Observation;
use super::score::Thresholds;
use crate::generate::{Anomaly, Labelled};
use serde::Serialize;
use std::collections::BTreeMap;

/// How many operations of one planted kind were flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Detection {
    /// Operations planted with this anomaly.
    pub planted: u64,
    /// Of those, how many the model flagged.
    pub detected: u64,
}

impl Detection {
    /// `detected / planted`; 1 when nothing was planted.
    pub fn recall(&self) -> f64 {
        ratio(self.detected, self.planted)
    }
}

/// The confusion counts of an evaluation, overall and per planted anomaly. An operation is
/// flagged when any component reaches its prompt threshold ([`super::ModelScore::is_prompt`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Evaluation {
    /// Planted and flagged.
    pub true_positives: u64,
    /// Benign but flagged.
    pub false_positives: u64,
    /// Planted but not flagged.
    pub false_negatives: u64,
    /// Benign and not flagged.
    pub true_negatives: u64,
    /// Recall per planted anomaly.
    pub per_anomaly: BTreeMap<Anomaly, Detection>,
    /// For the false positives: how often each rule fired (one operation may count for
    /// several rules), to see which component raises false alarms.
    pub false_positives_by_rule: BTreeMap<String, u64>,
}

fn ratio(numerator: u64, denominator: u64) -> f64 {
    if denominator == 0 {
        1.0
    } else {
        numerator as f64 / denominator as f64
    }
}

impl Evaluation {
    /// Of the flagged operations, the share that were planted; 1 when nothing was flagged.
    pub fn precision(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_positives,
        )
    }

    /// Of the planted operations, the share that were flagged; 1 when nothing was planted.
    pub fn recall(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_negatives,
        )
    }

    /// The recall for one anomaly; 1 when none was planted.
    pub fn recall_of(&self, anomaly: Anomaly) -> f64 {
        self.per_anomaly
            .get(&anomaly)
            .map_or(1.0, Detection::recall)
    }

    /// How many operations were scored.
    pub fn scored(&self) -> u64 {
        self.true_positives + self.false_positives + self.false_negatives + self.true_negatives
    }
}

/// Trains on `train` (in time order, anomalies included: the model just sees the history),
/// then runs [`evaluate_live`] on `test`.
pub fn evaluate(
    train: impl IntoIterator<Item = Observation>,
    test: impl IntoIterator<Item = Labelled>,
    thresholds: &Thresholds,
) -> Evaluation {
    let mut baselines = Baselines::train(train);
    evaluate_live(&mut baselines, test, thresholds)
}

/// Scores each operation of `test` against `baselines` before learning it, as a live engine
/// would, and compares the flags with the planted labels. Leaves `baselines` updated with the
/// whole test history.
pub fn evaluate_live(
    baselines: &mut Baselines,
    test: impl IntoIterator<Item = Labelled>,
    thresholds: &Thresholds,
) -> Evaluation {
    let mut evaluation = Evaluation::default();
    for labelled in test {
        let score = baselines.score(&labelled.observation);
        let flagged = score.is_prompt(thresholds);
        match (labelled.planted, flagged) {
            (Some(_), true) => evaluation.true_positives += 1,
            (Some(_), false) => evaluation.false_negatives += 1,
            (None, true) => {
                evaluation.false_positives += 1;
                for reason in score.reasons(thresholds) {
                    *evaluation
                        .false_positives_by_rule
                        .entry(reason.rule)
                        .or_default() += 1;
                }
            }
            (None, false) => evaluation.true_negatives += 1,
        }
        if let Some(anomaly) = labelled.planted {
            let detection = evaluation.per_anomaly.entry(anomaly).or_default();
            detection.planted += 1;
            detection.detected += u64::from(flagged);
        }
        baselines.update(&labelled.observation);
    }
    evaluation
}
