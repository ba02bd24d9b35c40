//! A synthetic history of fund operations with planted anomalies, to train and measure the
//! behaviour model ([`crate::model`]). Deterministic for a seed; nothing real in it (accounts,
//! products and devices are made-up ids).
//!
//! Each customer has habits: one or two products, a premium level around the product's
//! premium (log-normal), a spread (many pay a fixed tariff, others vary), a preferred hour
//! window, one to three devices, and a frequency. Benign life is noisy on purpose, so the
//! model is measured on a task that is not trivial:
//!
//! - amounts: a tariff change for a quarter of the customers (×0.4 to ×2.5, lasting), arrears
//!   paid at once (two or three premiums in one, 0.5 % of premiums), claims far above
//!   premiums, partial refunds and cancellations;
//! - hours: 1.2 % of operations 3 to 6 hours off the customer's window, 0.2 % at any hour;
//! - devices: a phone change for about a third of the customers per year, 0.3 % of
//!   operations from a one-off device (a relative's phone, a browser), devices shared within
//!   households (two accounts), and agents' devices shared by about fifteen customers each;
//! - bursts: 1.5 % of operations followed by another within 1 to 20 minutes (a second
//!   policy), a few by a third.
//!
//! Anomalies are planted only on customers with at least [`MIN_HISTORY_TO_PLANT`] operations,
//! each kind on about the same number of operations:
//!
//! - [`Anomaly::AmountSpike`]: the amount times 4 to 40 (log-uniform), on whatever kind the
//!   operation is (a claim spike hides among claims' wide spread: that is honest);
//! - [`Anomaly::UnusualHour`]: at least 7 hours (and 3 standard deviations) away from the
//!   customer's usual hour;
//! - [`Anomaly::NewDevice`]: from an attacker's device; attackers reuse a small pool of
//!   devices across victims (about a dozen victims per device), as fraud rings do;
//! - [`Anomaly::Burst`]: 2 to 7 operations 20 s to 3 min apart right after an ordinary
//!   one, from the customer's own device (a hijacked session or a script). The ordinary
//!   operation that starts the burst is not labelled: nothing distinguishes it when it
//!   happens, and a live engine cannot know what follows;
//! - [`Anomaly::CombinedTakeover`]: an attacker's device, an unusual hour and the amount
//!   times 2 to 6 together.

use crate::model::{Observation, OperationKind};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A customer needs this many operations before an anomaly is planted on them.
pub const MIN_HISTORY_TO_PLANT: u32 = 10;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
const CHINA_OFFSET_MS: i64 = 8 * HOUR_MS;

/// What was planted on an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Anomaly {
    /// An amount many times the customer's usual.
    AmountSpike,
    /// An hour far from the customer's habits.
    UnusualHour,
    /// A device the customer never used, from an attacker's pool.
    NewDevice,
    /// Several operations within minutes.
    Burst,
    /// An attacker's device, an unusual hour and a high amount together.
    CombinedTakeover,
}

impl Anomaly {
    /// Every anomaly, in a fixed order.
    pub const ALL: [Self; 5] = [
        Self::AmountSpike,
        Self::UnusualHour,
        Self::NewDevice,
        Self::Burst,
        Self::CombinedTakeover,
    ];

    /// The anomaly's stable name.
    pub fn name(self) -> &'static str {
        match self {
            Self::AmountSpike => "amount-spike",
            Self::UnusualHour => "unusual-hour",
            Self::NewDevice => "new-device",
            Self::Burst => "burst",
            Self::CombinedTakeover => "combined-takeover",
        }
    }
}

/// One generated operation and what, if anything, was planted on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Labelled {
    /// The operation.
    pub observation: Observation,
    /// The planted anomaly; `None` for benign operations.
    pub planted: Option<Anomaly>,
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeneratorConfig {
    /// The seed: the same seed and config give the same history.
    pub seed: u64,
    /// How many customers.
    pub customers: u32,
    /// How many operations in all (the iterator ends there).
    pub observations: u64,
    /// How many products.
    pub products: u16,
    /// The share of operations planted with an anomaly (about; default 0.5 %).
    pub anomaly_share: f64,
    /// When the history starts, unix ms.
    pub start_ms: i64,
    /// About how many days the history spans.
    pub days: u32,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        Self {
            seed: 2025,
            customers: 20_000,
            observations: 1_000_000,
            products: 12,
            anomaly_share: 0.005,
            // 2025-01-01T00:00:00+08:00
            start_ms: 1_735_660_800_000,
            days: 365,
        }
    }
}

/// A small seeded pseudo-random generator: xoshiro256** seeded through SplitMix64. Not for
/// anything secret; only to make synthetic histories reproducible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng {
    state: [u64; 4],
}

impl Rng {
    /// A generator for `seed`.
    pub fn seeded(seed: u64) -> Self {
        let mut splitmix = seed;
        let mut next = || {
            splitmix = splitmix.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut mixed = splitmix;
            mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            mixed ^ (mixed >> 31)
        };
        Self {
            state: [next(), next(), next(), next()],
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.state[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let shifted = self.state[1] << 17;
        self.state[2] ^= self.state[0];
        self.state[3] ^= self.state[1];
        self.state[1] ^= self.state[2];
        self.state[0] ^= self.state[3];
        self.state[2] ^= shifted;
        self.state[3] = self.state[3].rotate_left(45);
        result
    }

    /// A uniform float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1_u64 << 53) as f64)
    }

    /// A uniform integer in `0..bound` (0 when `bound` is 0), by multiply-shift.
    pub fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A uniform float in `[low, high)`.
    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// A float whose log is uniform between `ln(low)` and `ln(high)` (both > 0).
    pub fn log_uniform(&mut self, low: f64, high: f64) -> f64 {
        self.uniform(low.ln(), high.ln()).exp()
    }

    /// A standard normal float (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let radius_uniform = 1.0 - self.unit(); // in (0, 1], so the log is finite
        let angle = std::f64::consts::TAU * self.unit();
        (-2.0 * radius_uniform.ln()).sqrt() * angle.cos()
    }

    /// An exponential float with the given mean.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }
}

/// One made-up product.
#[derive(Debug, Clone)]
struct Product {
    code: String,
    premium_fen: f64,
    claim_fen: f64,
}

/// One made-up customer and their habits.
#[derive(Debug, Clone)]
struct Customer {
    account: String,
    products: Vec<usize>,
    /// Multiplies the product's premium and claim (richer or poorer cover).
    level: f64,
    /// Log-normal spread of their premiums; 0 for a fixed tariff.
    sigma: f64,
    hour_centre: f64,
    hour_spread: f64,
    /// Habitual devices and their cumulative weights.
    devices: Vec<String>,
    cumulative_weights: Vec<f64>,
    rate_per_day: f64,
    /// Operations emitted or scheduled so far (not counting the pending regular one).
    history: u32,
    tariff_change: Option<(i64, f64)>,
    phone_change_ms: Option<i64>,
}

/// What a pending event is.
#[derive(Debug, Clone)]
enum Plan {
    /// A habitual operation, possibly planted.
    Regular(Option<Anomaly>),
    /// An operation following another (a second policy, or a burst's next step).
    Follow(FollowUp),
}

/// An operation following another, and how many more follow it (itself included).
#[derive(Debug, Clone)]
struct FollowUp {
    kind: OperationKind,
    product: usize,
    device: Option<String>,
    planted: Option<Anomaly>,
    remaining: u32,
}

#[derive(Debug, Clone)]
struct Pending {
    at_ms: i64,
    sequence: u64,
    customer: usize,
    plan: Plan,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Pending {}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pending {
    /// Reversed, so the max-heap pops the earliest event (ties in scheduling order).
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at_ms, other.sequence).cmp(&(self.at_ms, self.sequence))
    }
}

/// Relative weights of the planted kinds per planting; a burst plants several operations,
/// so it is chosen less often and each kind labels about as many operations.
/// Labelled operations of a burst (after the ordinary one that starts it).
const BURST_MIN: u32 = 2;
const BURST_MAX: u32 = 7;

fn planting_weights() -> [(Anomaly, f64); 5] {
    let mean_burst = f64::from(BURST_MIN + BURST_MAX) / 2.0;
    [
        (Anomaly::AmountSpike, 1.0),
        (Anomaly::UnusualHour, 1.0),
        (Anomaly::NewDevice, 1.0),
        (Anomaly::Burst, 1.0 / mean_burst),
        (Anomaly::CombinedTakeover, 1.0),
    ]
}

/// The generated history: an iterator of [`Labelled`] operations in time order.
#[derive(Debug, Clone)]
pub struct History {
    rng: Rng,
    config: GeneratorConfig,
    products: Vec<Product>,
    customers: Vec<Customer>,
    attacker_devices: Vec<String>,
    queue: BinaryHeap<Pending>,
    sequence: u64,
    emitted: u64,
    next_device: u64,
    first_midnight_ms: i64,
    end_ms: i64,
    plant_probability: f64,
}

/// The history described by `config`.
pub fn history(config: &GeneratorConfig) -> History {
    History::new(config)
}

impl History {
    /// The history described by `config`.
    pub fn new(config: &GeneratorConfig) -> Self {
        let mut rng = Rng::seeded(config.seed);
        let first_midnight_ms =
            (config.start_ms + CHINA_OFFSET_MS).div_euclid(DAY_MS) * DAY_MS - CHINA_OFFSET_MS;
        let end_ms = config.start_ms + i64::from(config.days.max(1)) * DAY_MS;
        let products = (0..config.products.max(1))
            .map(|index| {
                let premium_fen = rng.log_uniform(5_000.0, 500_000.0);
                Product {
                    code: format!("P{:02}", index + 1),
                    premium_fen,
                    claim_fen: premium_fen * rng.uniform(1.5, 3.5).exp(),
                }
            })
            .collect::<Vec<_>>();
        let mut history = Self {
            rng,
            config: config.clone(),
            products,
            customers: Vec::new(),
            attacker_devices: Vec::new(),
            queue: BinaryHeap::new(),
            sequence: 0,
            emitted: 0,
            next_device: 0,
            first_midnight_ms,
            end_ms,
            plant_probability: 0.0,
        };
        history.make_customers();
        history.plan_anomalies();
        for customer in 0..history.customers.len() {
            let joins_late = history.rng.chance(0.2);
            let first_day = if joins_late {
                history.rng.uniform(0.0, f64::from(config.days.max(1)))
            } else {
                history
                    .rng
                    .uniform(0.0, 1.0 / history.customers[customer].rate_per_day)
            };
            history.schedule_regular(customer, first_day.floor() as i64);
        }
        history
    }

    /// A fresh device id, looking random and never reused.
    fn fresh_device(&mut self) -> String {
        self.next_device += 1;
        let mut mixer = Rng::seeded(self.config.seed ^ self.next_device.rotate_left(32));
        format!("D{:016x}", mixer.next_u64())
    }

    fn make_customers(&mut self) {
        let count = self.config.customers.max(1) as usize;
        let days = f64::from(self.config.days.max(1));
        let activities: Vec<f64> = (0..count)
            .map(|_| (0.8 * self.rng.normal()).exp())
            .collect();
        let mean_activity = activities.iter().sum::<f64>() / count as f64;
        // Most operations are habitual ones, the rest follow them (pairs, bursts); a fifth of
        // the customers join during the span, so customers are active 90 % of it on average.
        let per_customer_day = self.config.observations as f64 * 0.98 / (count as f64 * days * 0.9);
        for (index, activity) in activities.into_iter().enumerate() {
            let product_count = self.products.len() as u64;
            let mut products = vec![self.rng.below(product_count) as usize];
            if self.rng.chance(0.3) {
                products.push(self.rng.below(product_count) as usize);
            }
            let sigma = if self.rng.chance(0.35) {
                0.0
            } else {
                self.rng.uniform(0.02, 0.3)
            };
            let (centre, spread) = match self.rng.below(100) {
                0..=34 => (9.5, 1.0),
                35..=64 => (20.5, 1.0),
                65..=84 => (13.0, 1.5),
                85..=94 => (23.0, 1.0),
                _ => (6.5, 0.7),
            };
            let hour_centre = (centre + spread * self.rng.normal()).rem_euclid(24.0);
            let hour_spread = self.rng.uniform(0.7, 2.5);
            let own_devices = 1 + self.rng.below(3) as usize;
            let devices: Vec<String> = (0..own_devices).map(|_| self.fresh_device()).collect();
            let weights = [1.0, 0.3, 0.1];
            let cumulative_weights = cumulative(&weights[..own_devices]);
            let tariff_change = self.rng.chance(0.25).then(|| {
                let at = self.config.start_ms + (self.rng.unit() * days * DAY_MS as f64) as i64;
                (at, self.rng.uniform(-0.9, 0.9).exp())
            });
            let phone_change_ms = self
                .rng
                .chance((0.35 * days / 365.0).min(0.9))
                .then(|| self.config.start_ms + (self.rng.unit() * days * DAY_MS as f64) as i64);
            self.customers.push(Customer {
                account: format!("C{index:06}"),
                products,
                level: (0.5 * self.rng.normal()).exp(),
                sigma,
                hour_centre,
                hour_spread,
                devices,
                cumulative_weights,
                rate_per_day: (per_customer_day * activity / mean_activity).clamp(0.002, 1.0),
                history: 0,
                tariff_change,
                phone_change_ms,
            });
        }
        // Households: a relative's device now and then.
        for index in 0..count {
            if count > 1 && self.rng.chance(0.06) {
                let relative = self.rng.below(count as u64) as usize;
                if relative != index {
                    let device = self.customers[relative].devices[0].clone();
                    add_device(&mut self.customers[index], device, 0.15);
                }
            }
        }
        // Agents: an insurance agent's tablet pays for about fifteen customers each.
        let served = (0..count)
            .filter(|_| self.rng.chance(0.02))
            .collect::<Vec<_>>();
        let agents = (served.len() / 15).max(1);
        let agent_devices: Vec<String> = (0..agents).map(|_| self.fresh_device()).collect();
        for index in served {
            let agent = self.rng.below(agents as u64) as usize;
            add_device(
                &mut self.customers[index],
                agent_devices[agent].clone(),
                0.5,
            );
        }
    }

    /// Sizes the attackers' device pool and the planting probability.
    fn plan_anomalies(&mut self) {
        let weights = planting_weights();
        let total_weight: f64 = weights.iter().map(|(_, weight)| weight).sum();
        // A burst labels its mean length of operations, any other planting one.
        let mean_burst = f64::from(BURST_MIN + BURST_MAX) / 2.0;
        let labelled_operations: f64 = weights
            .iter()
            .map(|&(anomaly, weight)| match anomaly {
                Anomaly::Burst => weight * mean_burst,
                _ => weight,
            })
            .sum();
        let labelled_per_planting = labelled_operations / total_weight;
        let target_labelled = self.config.observations as f64 * self.config.anomaly_share;
        let plantings = target_labelled / labelled_per_planting;
        let eligible = (self.config.observations as f64 * 0.98
            - f64::from(self.config.customers) * f64::from(MIN_HISTORY_TO_PLANT))
        .max(self.config.observations as f64 * 0.1)
        .max(1.0);
        self.plant_probability = (plantings / eligible).clamp(0.0, 1.0);
        let device_plantings = plantings * 2.0 / total_weight;
        let pool = ((device_plantings / 12.0).round() as usize).max(3);
        self.attacker_devices = (0..pool).map(|_| self.fresh_device()).collect();
    }

    fn push(&mut self, at_ms: i64, customer: usize, plan: Plan) {
        self.sequence += 1;
        self.queue.push(Pending {
            at_ms,
            sequence: self.sequence,
            customer,
            plan,
        });
    }

    /// Schedules a customer's next habitual operation on `day` (days since the first
    /// midnight), deciding now whether it is planted (an unusual hour changes its instant).
    fn schedule_regular(&mut self, customer: usize, day: i64) {
        let eligible = self.customers[customer].history >= MIN_HISTORY_TO_PLANT;
        let planted = if eligible && self.rng.chance(self.plant_probability) {
            Some(self.pick_anomaly())
        } else {
            None
        };
        let habits = &self.customers[customer];
        let (centre, spread) = (habits.hour_centre, habits.hour_spread);
        let hour = match planted {
            Some(Anomaly::UnusualHour | Anomaly::CombinedTakeover) => {
                let distance = self
                    .rng
                    .uniform((3.0 * spread + 1.0).clamp(7.0, 12.0), 12.0);
                let sign = if self.rng.chance(0.5) { 1.0 } else { -1.0 };
                centre + sign * distance
            }
            _ => {
                let roll = self.rng.unit();
                if roll < 0.002 {
                    self.rng.uniform(0.0, 24.0)
                } else if roll < 0.014 {
                    let sign = if self.rng.chance(0.5) { 1.0 } else { -1.0 };
                    centre + sign * self.rng.uniform(3.0, 6.0)
                } else {
                    centre + spread * self.rng.normal()
                }
            }
        }
        .rem_euclid(24.0);
        let at_ms = self.first_midnight_ms + day * DAY_MS + (hour * HOUR_MS as f64) as i64;
        self.push(at_ms, customer, Plan::Regular(planted));
    }

    /// Days to a customer's next habitual operation: geometric on 1, 2, ... with mean
    /// `1 / rate` (at most one habitual operation a day).
    fn gap_days(&mut self, customer: usize) -> i64 {
        let rate = self.customers[customer].rate_per_day;
        if rate >= 1.0 {
            return 1;
        }
        let stay = (1.0 - self.rng.unit()).ln() / (1.0 - rate).ln();
        1 + stay.floor() as i64
    }

    fn pick_anomaly(&mut self) -> Anomaly {
        let weights = planting_weights();
        let total: f64 = weights.iter().map(|(_, weight)| weight).sum();
        let mut roll = self.rng.uniform(0.0, total);
        for (anomaly, weight) in weights {
            if roll < weight {
                return anomaly;
            }
            roll -= weight;
        }
        Anomaly::AmountSpike
    }

    fn habitual_device(&mut self, customer: usize, at_ms: i64) -> String {
        if let Some(change_ms) = self.customers[customer].phone_change_ms
            && at_ms >= change_ms
        {
            // The phone is replaced: the primary device changes for good.
            let replacement = self.fresh_device();
            let habits = &mut self.customers[customer];
            habits.devices[0] = replacement;
            habits.phone_change_ms = None;
        }
        if self.rng.chance(0.003) {
            return self.fresh_device();
        }
        let habits = &self.customers[customer];
        let total = habits.cumulative_weights.last().copied().unwrap_or(1.0);
        let roll = self.rng.uniform(0.0, total);
        let habits = &self.customers[customer];
        let index = habits
            .cumulative_weights
            .iter()
            .position(|&bound| roll < bound)
            .unwrap_or(0);
        habits.devices[index].clone()
    }

    /// The customer's usual premium for a product at an instant (before noise).
    fn usual_premium(&self, customer: usize, product: usize, at_ms: i64) -> f64 {
        let habits = &self.customers[customer];
        let tariff = match habits.tariff_change {
            Some((change_ms, factor)) if at_ms >= change_ms => factor,
            _ => 1.0,
        };
        self.products[product].premium_fen * habits.level * tariff
    }

    fn amount(&mut self, customer: usize, product: usize, kind: OperationKind, at_ms: i64) -> f64 {
        let usual = self.usual_premium(customer, product, at_ms);
        let sigma = self.customers[customer].sigma;
        match kind {
            OperationKind::PremiumPayment => {
                let periods = if self.rng.chance(0.005) {
                    2.0 + self.rng.below(2) as f64
                } else {
                    1.0
                };
                let noisy = usual * (sigma * self.rng.normal()).exp() * periods;
                if sigma == 0.0 {
                    // A fixed tariff is a round number of yuan.
                    (noisy / 100.0).round() * 100.0
                } else {
                    noisy
                }
            }
            OperationKind::ClaimPayout => {
                self.products[product].claim_fen
                    * self.customers[customer].level
                    * (0.7 * self.rng.normal()).exp()
            }
            OperationKind::Refund => usual * self.rng.uniform(0.1, 1.0),
            OperationKind::Cancellation => usual * self.rng.uniform(0.3, 1.0),
        }
    }

    fn kind(&mut self) -> OperationKind {
        match self.rng.below(100) {
            0..=85 => OperationKind::PremiumPayment,
            86..=92 => OperationKind::ClaimPayout,
            93..=96 => OperationKind::Refund,
            _ => OperationKind::Cancellation,
        }
    }

    fn attacker_device(&mut self) -> String {
        let index = self.rng.below(self.attacker_devices.len() as u64) as usize;
        self.attacker_devices[index].clone()
    }

    fn observation(
        &self,
        customer: usize,
        product: usize,
        kind: OperationKind,
        amount_fen: f64,
        at_ms: i64,
        device: Option<String>,
    ) -> Observation {
        Observation::new(
            self.customers[customer].account.clone(),
            self.products[product].code.clone(),
            kind,
            (amount_fen.round() as i64).max(100),
            at_ms,
            device,
        )
    }

    fn regular(&mut self, customer: usize, at_ms: i64, plan: Option<Anomaly>) -> Labelled {
        let mut planted = plan;
        let products = &self.customers[customer].products;
        let product = products[self.rng.below(products.len() as u64) as usize];
        let kind = self.kind();
        let mut amount = self.amount(customer, product, kind, at_ms);
        let mut device = self.habitual_device(customer, at_ms);
        match planted {
            Some(Anomaly::AmountSpike) => amount *= self.rng.log_uniform(4.0, 40.0),
            Some(Anomaly::NewDevice) => device = self.attacker_device(),
            Some(Anomaly::CombinedTakeover) => {
                device = self.attacker_device();
                amount *= self.rng.log_uniform(2.0, 6.0);
            }
            Some(Anomaly::Burst) => {
                let steps = BURST_MIN + self.rng.below(u64::from(BURST_MAX - BURST_MIN + 1)) as u32;
                planted = None;
                let next_ms = at_ms + (self.rng.uniform(20.0, 180.0) * 1000.0) as i64;
                self.push(
                    next_ms,
                    customer,
                    Plan::Follow(FollowUp {
                        kind,
                        product,
                        device: Some(device.clone()),
                        planted: Some(Anomaly::Burst),
                        remaining: steps,
                    }),
                );
            }
            Some(Anomaly::UnusualHour) | None => {}
        }
        if plan.is_none() && self.rng.chance(0.015) {
            let next_ms = at_ms + (self.rng.log_uniform(1.0, 20.0) * 60_000.0) as i64;
            let products = &self.customers[customer].products;
            let second = products[self.rng.below(products.len() as u64) as usize];
            let remaining = if self.rng.chance(0.07) { 2 } else { 1 };
            self.push(
                next_ms,
                customer,
                Plan::Follow(FollowUp {
                    kind: OperationKind::PremiumPayment,
                    product: second,
                    device: Some(device.clone()),
                    planted: None,
                    remaining,
                }),
            );
        }
        let gap_days = self.gap_days(customer);
        let today = (at_ms - self.first_midnight_ms).div_euclid(DAY_MS);
        self.schedule_regular(customer, today + gap_days);
        Labelled {
            observation: self.observation(customer, product, kind, amount, at_ms, Some(device)),
            planted,
        }
    }

    fn follow(&mut self, customer: usize, at_ms: i64, follow_up: FollowUp) -> Labelled {
        let FollowUp {
            kind,
            product,
            device,
            planted,
            remaining,
        } = follow_up;
        let amount = self.amount(customer, product, kind, at_ms);
        if remaining > 1 {
            let gap_ms = if planted.is_some() {
                self.rng.uniform(20.0, 180.0) * 1000.0
            } else {
                self.rng.log_uniform(1.0, 20.0) * 60_000.0
            };
            self.push(
                at_ms + gap_ms as i64,
                customer,
                Plan::Follow(FollowUp {
                    kind,
                    product,
                    device: device.clone(),
                    planted,
                    remaining: remaining - 1,
                }),
            );
        }
        Labelled {
            observation: self.observation(customer, product, kind, amount, at_ms, device),
            planted,
        }
    }

    /// When the configured span ends (the history may run a little past it).
    pub fn end_ms(&self) -> i64 {
        self.end_ms
    }
}

fn cumulative(weights: &[f64]) -> Vec<f64> {
    weights
        .iter()
        .scan(0.0, |sum, weight| {
            *sum += weight;
            Some(*sum)
        })
        .collect()
}

fn add_device(customer: &mut Customer, device: String, weight: f64) {
    let total = customer.cumulative_weights.last().copied().unwrap_or(0.0);
    customer.devices.push(device);
    customer.cumulative_weights.push(total + weight);
}

impl Iterator for History {
    type Item = Labelled;

    fn next(&mut self) -> Option<Labelled> {
        if self.emitted >= self.config.observations {
            return None;
        }
        let pending = self.queue.pop()?;
        let Pending {
            at_ms,
            customer,
            plan,
            ..
        } = pending;
        let labelled = match plan {
            Plan::Regular(planted) => self.regular(customer, at_ms, planted),
            Plan::Follow(follow_up) => self.follow(customer, at_ms, follow_up),
        };
        let habits = &mut self.customers[customer];
        habits.history = habits.history.saturating_add(1);
        self.emitted += 1;
        Some(labelled)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = usize::try_from(self.config.observations - self.emitted).unwrap_or(usize::MAX);
        (0, Some(left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generator's numbers are uniform enough: the mean of `unit` is near one half and
    /// normals have mean 0 and variance 1.
    #[test]
    fn random_numbers_look_uniform_and_normal() {
        let mut rng = Rng::seeded(7);
        let units: Vec<f64> = (0..20_000).map(|_| rng.unit()).collect();
        let mean = units.iter().sum::<f64>() / units.len() as f64;
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
        let normals: Vec<f64> = (0..20_000).map(|_| rng.normal()).collect();
        let normal_mean = normals.iter().sum::<f64>() / normals.len() as f64;
        let variance = normals
            .iter()
            .map(|x| (x - normal_mean).powi(2))
            .sum::<f64>()
            / normals.len() as f64;
        assert!(normal_mean.abs() < 0.03, "{normal_mean}");
        assert!((variance - 1.0).abs() < 0.05, "{variance}");
        assert!(units.iter().all(|&u| (0.0..1.0).contains(&u)));
    }

    /// The history is in time order and has the configured length.
    #[test]
    fn the_history_is_in_time_order() {
        let config = GeneratorConfig {
            customers: 200,
            observations: 5_000,
            ..GeneratorConfig::default()
        };
        let operations: Vec<Labelled> = history(&config).collect();
        assert_eq!(operations.len(), 5_000);
        assert!(
            operations
                .windows(2)
                .all(|pair| pair[0].observation.at_ms <= pair[1].observation.at_ms)
        );
    }
}
