//! The deviation score of a new operation against the baselines (clause 5.3.3.2: "when
//! behaviour deviates past a threshold a risk prompt is raised"), and the thresholds that turn
//! it into reasons and verdicts.

use super::baseline::{
    BURST_WINDOW_MS, Baselines, CustomerBaseline, ProductBaseline, account_fingerprint, log_seconds,
};
use super::observation::{AmountFamily, Observation};
use super::stats::{
    HourHistogram, LogHistogram, MIN_LOG_SPREAD, log_amount, summarise_log_amounts,
};
use crate::decision::{Reason, ReasonSource, StepUpFactor, Verdict};
use serde::{Deserialize, Serialize};

/// A customer needs this many kept amounts of a family (premiums, or claims) on a product
/// before their own amounts are the reference; until then the product's are ("amount against
/// product").
pub const MIN_HISTORY: usize = 5;

/// A product needs this many operations before its baseline is the fallback; until then the
/// global one is.
pub const MIN_PRODUCT_HISTORY: u64 = 50;

/// A product's amount family needs this many amounts before its histogram is used.
const MIN_PRODUCT_AMOUNTS: u64 = 20;

/// An hour is habitual for a customer when its Laplace-smoothed share of their operations
/// ([`HOUR_LAPLACE_ALPHA`]) is at least this: 3 %, so one stray operation in a long history
/// does not make its hour habitual, while in a short one it does.
pub const HABITUAL_HOUR_SHARE: f64 = 0.04;

/// The additive smoothing of hour shares: with fewer than about five operations every hour
/// reaches [`HABITUAL_HOUR_SHARE`], so nothing is unusual yet.
pub const HOUR_LAPLACE_ALPHA: f64 = 0.5;

/// Pseudo-operations of doubt in the hour score: a distance counts `n / (n + 5)` of itself
/// after `n` operations.
const HOUR_EVIDENCE: f64 = 5.0;

/// Weight of the population's short-gap rate in a customer's, in pseudo-gaps.
const VELOCITY_PRIOR_STRENGTH: f64 = 10.0;

/// Scale of each component in [`ModelScore::total`]: the value at which the component alone
/// counts as one unit of evidence.
pub mod scale {
    /// Robust z of the amount (customer or product).
    pub const AMOUNT: f64 = 6.0;
    /// Hours away from the habitual hours.
    pub const HOUR: f64 = 5.0;
    /// Nats of new-device surprise.
    pub const NEW_DEVICE: f64 = 4.0;
    /// Other accounts on a device new to the customer.
    pub const SHARED_DEVICE: f64 = 2.0;
    /// Velocity score (−log10 of the burst's probability).
    pub const VELOCITY: f64 = 6.0;
    /// No component adds more than this many units to the total, so one extreme component
    /// does not pass for several moderate ones.
    pub const CAP: f64 = 2.0;
}

/// The deviation of one operation from the baselines, per component. Every component is ≥ 0
/// and 0 means "as usual" (or "no information").
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ModelScore {
    /// Robust z-score of `ln(amount)` against the customer's own recent amounts of the same
    /// family (refunds and cancellations against premiums), one-sided: only amounts above
    /// the usual count. 0 while the customer has fewer than [`MIN_HISTORY`] amounts.
    pub amount_customer: f64,
    /// The same against the product's amounts, used only while the customer has fewer than
    /// [`MIN_HISTORY`] amounts of the family (otherwise 0: a customer whose premium is far
    /// above the product's median is not unusual for themselves).
    pub amount_product: f64,
    /// How unusual the hour is: the circular distance, in hours (0 to 12), from the
    /// operation's hour to the nearest of the customer's habitual hours (those with a
    /// Laplace-smoothed share of at least [`HABITUAL_HOUR_SHARE`]), times `n / (n + 5)` after
    /// `n` operations. Distance rather than probability, because people stray from their
    /// hours by a little far more often than by a lot: an evening payer paying at midnight
    /// is common, at six in the morning is not. With fewer than [`MIN_HISTORY`] operations
    /// the product's habitual hours are used instead.
    pub hour: f64,
    /// When the device is new to the customer: `ln((n + 2) / (d + 1))`, the surprise of a new
    /// device given `n` operations with a device and `d` devices introduced so far (a
    /// Good-Turing-like estimate of the chance the next operation brings a new device).
    pub new_device: f64,
    /// When the device is new to the customer: how many other accounts used it only
    /// fleetingly (see [`super::DeviceUse`]). A device touched once or twice by many
    /// customers is a takeover tool or a mule's phone; one they come back to (an agent's
    /// tablet) is not counted.
    pub shared_device: f64,
    /// Bursts: with the customer's operations of the last 15 minutes and this one, the sum
    /// over their consecutive gaps of `−log10(p × f)`: `p` is the customer's rate of gaps
    /// under 15 minutes before this burst, shrunk towards the population's rate, and `f` the
    /// share of the population's gaps under 15 minutes that are at most as short as this
    /// one (scripts are faster than people paying a second policy).
    pub velocity: f64,
    /// The components combined: the sum of each over its [`scale`], each term capped at
    /// [`scale::CAP`].
    pub total: f64,
    /// How many operations of the customer the baseline had learned.
    pub history: u32,
}

/// A component's two thresholds: from `prompt` the model raises a risk prompt, from `strong`
/// it asks for a review.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    /// From this score the model gives [`Thresholds::prompt_verdict`].
    pub prompt: f64,
    /// From this score the model gives [`Thresholds::strong_verdict`].
    pub strong: f64,
}

impl Band {
    /// A band.
    pub const fn new(prompt: f64, strong: f64) -> Self {
        Self { prompt, strong }
    }
}

/// Where each component's deviation becomes a prompt or a strong deviation, and what each
/// gives. Serde, with defaults for every missing field.
///
/// The defaults were chosen on generated histories (`tests/model.rs`), as the point where
/// precision and recall are both above 0.8 with benign noise in place: a robust z of 6.5 on
/// the customer's own amounts (×3.7 for a fixed payer) and 5 on the product's; 5 hours
/// from the habitual hours; a new-device surprise of 5 nats (only very loyal customers
/// reach it alone); two other accounts touching the device fleetingly; a velocity of 6; a
/// combined total of 2. Prompts step up with an SMS code, strong deviations go to review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// The verdict of a prompt (default: step-up with an SMS code).
    pub prompt_verdict: Verdict,
    /// The verdict of a strong deviation (default: review).
    pub strong_verdict: Verdict,
    /// For [`ModelScore::amount_customer`].
    pub amount_customer: Band,
    /// For [`ModelScore::amount_product`].
    pub amount_product: Band,
    /// For [`ModelScore::hour`].
    pub hour: Band,
    /// For [`ModelScore::new_device`].
    pub new_device: Band,
    /// For [`ModelScore::shared_device`].
    pub shared_device: Band,
    /// For [`ModelScore::velocity`].
    pub velocity: Band,
    /// For [`ModelScore::total`].
    pub total: Band,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            prompt_verdict: Verdict::StepUp(StepUpFactor::SmsCode),
            strong_verdict: Verdict::Review,
            amount_customer: Band::new(6.5, 12.0),
            amount_product: Band::new(5.0, 8.0),
            hour: Band::new(5.0, 10.0),
            new_device: Band::new(5.0, 7.0),
            shared_device: Band::new(2.0, 4.0),
            velocity: Band::new(6.0, 10.0),
            total: Band::new(2.0, 3.0),
        }
    }
}

/// Why a set of thresholds is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThresholdsError {
    /// A band's bound is not a finite number ≥ 0, or its prompt is above its strong bound.
    #[error("the band of {component} needs 0 <= prompt <= strong, both finite")]
    BadBand {
        /// The component's name.
        component: &'static str,
    },
}

impl Thresholds {
    fn bands(&self) -> [(&'static str, &Band); 7] {
        [
            ("amount_customer", &self.amount_customer),
            ("amount_product", &self.amount_product),
            ("hour", &self.hour),
            ("new_device", &self.new_device),
            ("shared_device", &self.shared_device),
            ("velocity", &self.velocity),
            ("total", &self.total),
        ]
    }

    /// Checks every band: finite, non-negative, prompt ≤ strong.
    pub fn validate(&self) -> Result<(), ThresholdsError> {
        for (component, band) in self.bands() {
            let sound = band.prompt.is_finite()
                && band.strong.is_finite()
                && band.prompt >= 0.0
                && band.prompt <= band.strong;
            if !sound {
                return Err(ThresholdsError::BadBand { component });
            }
        }
        Ok(())
    }

    fn verdict_of(&self, value: f64, band: &Band) -> Option<Verdict> {
        if value >= band.strong {
            Some(self.strong_verdict)
        } else if value >= band.prompt {
            Some(self.prompt_verdict)
        } else {
            None
        }
    }
}

impl ModelScore {
    /// The components with their rule ids and fixed notes, in a fixed order.
    fn components(&self) -> [(&'static str, f64, &'static str); 7] {
        [
            (
                "model.amount-deviation",
                self.amount_customer,
                "amount far above the customer's own recent amounts",
            ),
            (
                "model.amount-vs-product",
                self.amount_product,
                "amount far above the product's usual amounts; the customer has little history",
            ),
            (
                "model.unusual-hour",
                self.hour,
                "operation at an hour the customer rarely uses",
            ),
            (
                "model.new-device",
                self.new_device,
                "device not seen before on a customer with a stable set of devices",
            ),
            (
                "model.shared-device",
                self.shared_device,
                "device new to the customer and already used by other customers",
            ),
            (
                "model.velocity",
                self.velocity,
                "several operations in a short window, unusual for the customer",
            ),
            (
                "model.combined",
                self.total,
                "several deviations from the customer's habits together",
            ),
        ]
    }

    /// A reason for each component at or over its prompt threshold, with the verdict of its
    /// band; empty when the operation is as usual.
    pub fn reasons(&self, thresholds: &Thresholds) -> Vec<Reason> {
        let bands = thresholds.bands();
        self.components()
            .into_iter()
            .zip(bands)
            .filter_map(|((rule, value, note), (_, band))| {
                thresholds.verdict_of(value, band).map(|verdict| Reason {
                    rule: rule.to_owned(),
                    source: ReasonSource::Model,
                    verdict,
                    score: Some(value),
                    note: note.to_owned(),
                })
            })
            .collect()
    }

    /// Whether any component reaches its prompt threshold (without building reasons).
    pub fn is_prompt(&self, thresholds: &Thresholds) -> bool {
        self.components()
            .into_iter()
            .zip(thresholds.bands())
            .any(|((_, value, _), (_, band))| value >= band.prompt)
    }

    /// The strictest verdict of the reasons; allow when none.
    pub fn verdict(&self, thresholds: &Thresholds) -> Verdict {
        self.reasons(thresholds)
            .iter()
            .fold(Verdict::Allow, |verdict, reason| {
                verdict.strictest(reason.verdict)
            })
    }
}

/// The circular distance in hours from `hour` to the nearest habitual hour of `hours`; 0
/// when every hour or none is habitual (no history).
fn distance_to_habit(hours: &HourHistogram, hour: u8) -> f64 {
    let shares = hours.laplace_probabilities(HOUR_LAPLACE_ALPHA);
    shares
        .iter()
        .zip(0_u8..)
        .filter(|&(&share, _)| share >= HABITUAL_HOUR_SHARE)
        .map(|(_, habitual)| {
            let apart = hour.abs_diff(habitual) % 24;
            f64::from(apart.min(24 - apart))
        })
        .reduce(f64::min)
        .unwrap_or(0.0)
}

impl Baselines {
    /// The product's baseline once it has enough history, the global one before.
    fn population(&self, product: &str) -> &ProductBaseline {
        match self.product(product) {
            Some(baseline) if baseline.count >= MIN_PRODUCT_HISTORY => baseline,
            _ => &self.global().operations,
        }
    }

    /// The amounts of a family to fall back on: the product's, or the global ones while the
    /// product has few of that family.
    fn population_amounts(&self, product: &str, family: AmountFamily) -> &LogHistogram {
        match self.product(product) {
            Some(baseline) if baseline.amounts(family).total() >= MIN_PRODUCT_AMOUNTS => {
                baseline.amounts(family)
            }
            _ => self.global().operations.amounts(family),
        }
    }

    /// The velocity component (see [`ModelScore::velocity`]).
    fn velocity(&self, baseline: &CustomerBaseline, at_ms: i64) -> f64 {
        let (instants, in_window) = baseline.instants_within(at_ms, BURST_WINDOW_MS);
        if in_window == 0 {
            return 0.0;
        }
        // Judge the burst against the history before it: the gaps inside the window are the
        // burst's own, not the customer's habit.
        let inside = u32::try_from(in_window - 1).unwrap_or(u32::MAX);
        let short = f64::from(baseline.short_gaps.saturating_sub(inside));
        let gaps = f64::from(baseline.gaps.saturating_sub(inside));
        let global = self.global();
        let population_rate = (global.short_gaps as f64 + 1.0) / (global.gaps as f64 + 2.0);
        let short_rate =
            (short + VELOCITY_PRIOR_STRENGTH * population_rate) / (gaps + VELOCITY_PRIOR_STRENGTH);
        let fast_gaps = &global.short_gap_seconds;
        let known_fast = fast_gaps.total() as f64;
        let mut surprise = 0.0;
        let mut previous = instants[0];
        for &next in instants[1..in_window].iter().chain([at_ms].iter()) {
            // Of the short gaps seen in the population, the share at most this short
            // (smoothed by one, so an empty population changes nothing).
            let as_fast =
                (fast_gaps.count_below(log_seconds(next - previous)) + 1.0) / (known_fast + 1.0);
            surprise -= (short_rate * as_fast.min(1.0)).log10();
            previous = next;
        }
        surprise.max(0.0)
    }

    /// How far `observation` deviates from the baselines, before learning it.
    pub fn score(&self, observation: &Observation) -> ModelScore {
        let customer = self.customer(&observation.account);
        let family = observation.kind.amount_family();
        let log_value = log_amount(observation.amount_fen);
        let own_amounts = customer.map_or(&[][..], |baseline| {
            baseline.amounts(&observation.product, family)
        });

        let mut score = ModelScore {
            history: customer.map_or(0, |baseline| baseline.count),
            ..ModelScore::default()
        };
        if own_amounts.len() >= MIN_HISTORY {
            score.amount_customer = summarise_log_amounts(own_amounts)
                .map_or(0.0, |summary| summary.z(log_value, MIN_LOG_SPREAD).max(0.0));
        } else {
            score.amount_product = self
                .population_amounts(&observation.product, family)
                .summary()
                .map_or(0.0, |summary| summary.z(log_value, MIN_LOG_SPREAD).max(0.0));
        }

        let hour = observation.hour % 24;
        score.hour = match customer {
            Some(baseline) if baseline.hours.total() >= MIN_HISTORY as u64 => {
                let seen = baseline.hours.total() as f64;
                distance_to_habit(&baseline.hours, hour) * seen / (seen + HOUR_EVIDENCE)
            }
            _ => distance_to_habit(&self.population(&observation.product).hours, hour),
        };

        if let Some(device) = &observation.device {
            let known = customer.is_some_and(|baseline| baseline.knows_device(device));
            if !known {
                if let Some(baseline) = customer.filter(|baseline| baseline.device_operations > 0) {
                    score.new_device = ((f64::from(baseline.device_operations) + 2.0)
                        / (f64::from(baseline.devices_introduced) + 1.0))
                        .ln()
                        .max(0.0);
                }
                let account = account_fingerprint(&observation.account);
                score.shared_device = self
                    .device(device)
                    .map_or(0.0, |usage| usage.fleeting_other_accounts(account) as f64);
            }
        }

        if let Some(baseline) = customer {
            score.velocity = self.velocity(baseline, observation.at_ms);
        }

        score.total = [
            score.amount_customer / scale::AMOUNT,
            score.amount_product / scale::AMOUNT,
            score.hour / scale::HOUR,
            score.new_device / scale::NEW_DEVICE,
            score.shared_device / scale::SHARED_DEVICE,
            score.velocity / scale::VELOCITY,
        ]
        .iter()
        .map(|units| units.min(scale::CAP))
        .sum();
        score
    }
}
