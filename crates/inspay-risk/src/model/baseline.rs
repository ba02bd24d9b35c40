//! Baselines learned from history: per customer, per product, global, and per device.
//!
//! Training is the same fold as incremental updating ([`Baselines::train`] calls
//! [`Baselines::update`] for each observation), so a baseline trained on a history and one
//! trained on a prefix then updated with the rest are identical, field for field. What is
//! approximate is what the bounded summaries forget, by design, to keep memory and stored
//! rows small:
//!
//! - a customer's amount median and MAD are over the most recent [`PREMIUM_RESERVOIR`]
//!   premiums and [`CLAIM_RESERVOIR`] claims of each product, not the whole history (habits
//!   drift; a tariff change is forgotten after that many payments), for the
//!   [`PRODUCT_SLOTS`] products they used most recently;
//! - a customer keeps the [`DEVICE_SLOTS`] most recently used devices; a device evicted then
//!   used again counts as introduced again;
//! - a device keeps at most [`DEVICE_ACCOUNT_SLOTS`] accounts, preferring those that use it
//!   most, so its count of other accounts saturates there;
//! - product and global amount quantiles come from histograms of `ln(amount)` in bins 5 %
//!   wide, exact up to the bin;
//! - operations are expected in time order; a late one (older than the customer's last)
//!   updates everything but the inter-arrival statistics.
//!
//! Counts, hour histograms, device counts and gap counts are exact.

use super::observation::{AmountFamily, Observation, OperationKind};
use super::stats::{HourHistogram, LogHistogram, RecentValues, log_amount};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How many premiums a customer's baseline keeps per product (the most recent ones).
pub const PREMIUM_RESERVOIR: usize = 32;

/// How many claim payouts a customer's baseline keeps per product (the most recent ones).
pub const CLAIM_RESERVOIR: usize = 12;

/// For how many products a customer's baseline keeps amounts (the most recently used ones).
pub const PRODUCT_SLOTS: usize = 4;

/// How many distinct devices a customer's baseline keeps (the most recently used ones).
pub const DEVICE_SLOTS: usize = 16;

/// How many operation instants a customer's baseline keeps, to count bursts.
pub const RECENT_INSTANTS: usize = 8;

/// How many inter-arrival gaps a customer's baseline keeps for its median gap.
pub const GAP_RESERVOIR: usize = 16;

/// Two operations closer than this are "in a burst": the window of the velocity score.
pub const BURST_WINDOW_MS: i64 = 15 * 60 * 1000;

/// How many accounts a device remembers; when full, the account with the fewest operations
/// on it (the oldest of those) makes room, so an agent's regular customers stay remembered
/// while one-off users come and go.
pub const DEVICE_ACCOUNT_SLOTS: usize = 16;

/// One device a customer used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceSeen {
    /// The device fingerprint id.
    pub id: String,
    /// How many of the customer's operations came from it.
    pub count: u32,
    /// When it was last used, unix ms.
    pub last_seen_ms: i64,
}

/// A customer's recent amounts on one product: a customer's policies have different
/// premiums, so amounts are compared within a product.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProductAmounts {
    /// The product code.
    pub product: String,
    /// When the customer last operated on the product, unix ms.
    pub last_seen_ms: i64,
    /// The most recent premium amounts, fen.
    pub premiums_fen: RecentValues<PREMIUM_RESERVOIR>,
    /// The most recent claim payout amounts, fen.
    pub claims_fen: RecentValues<CLAIM_RESERVOIR>,
}

impl ProductAmounts {
    /// The kept amounts (fen) of a family: premiums, or claim payouts.
    pub fn amounts(&self, family: AmountFamily) -> &[i64] {
        match family {
            AmountFamily::Premium => self.premiums_fen.values(),
            AmountFamily::Claim => self.claims_fen.values(),
        }
    }
}

/// What the model knows of one customer's habits (clause 5.3.3.2: the per-customer baseline).
///
/// Bounded whatever the history's length: about 1 KiB of JSON for a typical customer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CustomerBaseline {
    /// How many operations were learned.
    pub count: u32,
    /// The first operation's instant, unix ms.
    pub first_seen_ms: i64,
    /// The latest operation's instant, unix ms.
    pub last_seen_ms: i64,
    /// Recent amounts per product, for the most recently used products.
    pub products: Vec<ProductAmounts>,
    /// Operations per hour of the day (China time).
    pub hours: HourHistogram,
    /// The most recently used devices, with their counts.
    pub devices: Vec<DeviceSeen>,
    /// How many operations carried a device id.
    pub device_operations: u32,
    /// How many times an operation came from a device not in [`Self::devices`] (the number
    /// of distinct devices, unless one was evicted and came back).
    pub devices_introduced: u32,
    /// The most recent operation instants, unix ms.
    pub recent_ms: RecentValues<RECENT_INSTANTS>,
    /// The most recent gaps between consecutive operations, seconds.
    pub gaps_s: RecentValues<GAP_RESERVOIR>,
    /// How many gaps were measured (operations after the first, in time order).
    pub gaps: u32,
    /// How many of those gaps were shorter than [`BURST_WINDOW_MS`].
    pub short_gaps: u32,
}

impl CustomerBaseline {
    /// Learns one operation of this customer.
    pub fn update(&mut self, observation: &Observation) {
        let at_ms = observation.at_ms;
        if self.count == 0 {
            self.first_seen_ms = at_ms;
            self.last_seen_ms = at_ms;
        } else if at_ms >= self.last_seen_ms {
            let gap_ms = at_ms - self.last_seen_ms;
            self.gaps_s.push(gap_ms / 1000);
            self.gaps = self.gaps.saturating_add(1);
            if gap_ms < BURST_WINDOW_MS {
                self.short_gaps = self.short_gaps.saturating_add(1);
            }
            self.last_seen_ms = at_ms;
        } else {
            // A late arrival: its gap to its neighbours is unknown here.
            self.first_seen_ms = self.first_seen_ms.min(at_ms);
        }
        self.count = self.count.saturating_add(1);
        self.learn_amount(observation);
        self.hours.add(observation.hour);
        self.recent_ms.push(at_ms);
        if let Some(device) = &observation.device {
            self.learn_device(device, at_ms);
        }
    }

    fn learn_amount(&mut self, observation: &Observation) {
        let slot = match self
            .products
            .iter()
            .position(|slot| slot.product == observation.product)
        {
            Some(index) => index,
            None => {
                if self.products.len() >= PRODUCT_SLOTS {
                    // Forget the product used least recently (the first one on a tie).
                    let oldest = self
                        .products
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, slot)| slot.last_seen_ms)
                        .map(|(index, _)| index);
                    if let Some(index) = oldest {
                        self.products.swap_remove(index);
                    }
                }
                self.products.push(ProductAmounts {
                    product: observation.product.clone(),
                    last_seen_ms: observation.at_ms,
                    ..ProductAmounts::default()
                });
                self.products.len() - 1
            }
        };
        let Some(amounts) = self.products.get_mut(slot) else {
            return;
        };
        amounts.last_seen_ms = amounts.last_seen_ms.max(observation.at_ms);
        match observation.kind {
            OperationKind::PremiumPayment => amounts.premiums_fen.push(observation.amount_fen),
            OperationKind::ClaimPayout => amounts.claims_fen.push(observation.amount_fen),
            OperationKind::Refund | OperationKind::Cancellation => {}
        }
    }

    fn learn_device(&mut self, device: &str, at_ms: i64) {
        self.device_operations = self.device_operations.saturating_add(1);
        if let Some(seen) = self.devices.iter_mut().find(|seen| seen.id == device) {
            seen.count = seen.count.saturating_add(1);
            seen.last_seen_ms = seen.last_seen_ms.max(at_ms);
            return;
        }
        self.devices_introduced = self.devices_introduced.saturating_add(1);
        if self.devices.len() >= DEVICE_SLOTS {
            // Evict the least recently used device (the first one on a tie).
            let oldest = self
                .devices
                .iter()
                .enumerate()
                .min_by_key(|(_, seen)| seen.last_seen_ms)
                .map(|(index, _)| index);
            if let Some(index) = oldest {
                self.devices.swap_remove(index);
            }
        }
        self.devices.push(DeviceSeen {
            id: device.to_owned(),
            count: 1,
            last_seen_ms: at_ms,
        });
    }

    /// The kept amounts (fen) of a family on a product: premiums, or claim payouts; empty
    /// when the product is not among the kept ones.
    pub fn amounts(&self, product: &str, family: AmountFamily) -> &[i64] {
        self.products
            .iter()
            .find(|slot| slot.product == product)
            .map_or(&[][..], |slot| slot.amounts(family))
    }

    /// Whether the customer used this device recently enough to be remembered.
    pub fn knows_device(&self, device: &str) -> bool {
        self.devices.iter().any(|seen| seen.id == device)
    }

    /// How many of the kept operation instants fall in `(at_ms - window_ms, at_ms]`.
    pub fn operations_within(&self, at_ms: i64, window_ms: i64) -> usize {
        self.recent_ms
            .values()
            .iter()
            .filter(|&&instant| instant <= at_ms && at_ms - instant < window_ms)
            .count()
    }

    /// The kept operation instants in `(at_ms - window_ms, at_ms]`, oldest first, and how
    /// many there are (the rest of the array is zero).
    pub fn instants_within(&self, at_ms: i64, window_ms: i64) -> ([i64; RECENT_INSTANTS], usize) {
        let mut instants = [0_i64; RECENT_INSTANTS];
        let mut count = 0;
        for &instant in self.recent_ms.values() {
            if instant <= at_ms && at_ms - instant < window_ms && count < RECENT_INSTANTS {
                instants[count] = instant;
                count += 1;
            }
        }
        instants[..count].sort_unstable();
        (instants, count)
    }

    /// The median of the kept gaps between operations, in milliseconds; `None` before the
    /// second operation.
    pub fn median_gap_ms(&self) -> Option<i64> {
        let gaps: Vec<f64> = self.gaps_s.values().iter().map(|&gap| gap as f64).collect();
        super::stats::median(&gaps).map(|gap_s| (gap_s * 1000.0) as i64)
    }
}

/// What the model knows of one product's operations, across customers: the fallback for
/// customers with little history.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProductBaseline {
    /// How many operations were learned.
    pub count: u64,
    /// `ln(premium in fen)`, binned.
    pub premiums: LogHistogram,
    /// `ln(claim payout in fen)`, binned.
    pub claims: LogHistogram,
    /// Operations per hour of the day (China time).
    pub hours: HourHistogram,
}

impl ProductBaseline {
    /// Learns one operation on this product.
    pub fn update(&mut self, observation: &Observation) {
        self.count += 1;
        match observation.kind {
            OperationKind::PremiumPayment => {
                self.premiums.add(log_amount(observation.amount_fen));
            }
            OperationKind::ClaimPayout => self.claims.add(log_amount(observation.amount_fen)),
            OperationKind::Refund | OperationKind::Cancellation => {}
        }
        self.hours.add(observation.hour);
    }

    /// The amount histogram of a family.
    pub fn amounts(&self, family: AmountFamily) -> &LogHistogram {
        match family {
            AmountFamily::Premium => &self.premiums,
            AmountFamily::Claim => &self.claims,
        }
    }
}

/// What the model knows of all operations: the fallback for products with little history,
/// and the population rates the per-customer estimates shrink towards.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GlobalBaseline {
    /// All operations, as if of one product.
    pub operations: ProductBaseline,
    /// How many inter-arrival gaps were measured, over all customers.
    pub gaps: u64,
    /// How many of them were shorter than [`BURST_WINDOW_MS`].
    pub short_gaps: u64,
    /// `ln(seconds)` of those short gaps, binned: how fast bursts usually are.
    pub short_gap_seconds: LogHistogram,
}

/// An account that used a device, and how often.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeviceAccount {
    /// The account's fingerprint ([`account_fingerprint`]).
    pub account: u64,
    /// How many of the account's operations came from the device.
    pub operations: u32,
}

/// An account that used a device at most this many times used it only fleetingly.
pub const FLEETING_USES: u32 = 2;

/// Which accounts used one device, to spot a device that moves between customers.
///
/// A device many accounts come back to is a shared terminal (a household's tablet, an agent's
/// device); a device many accounts touch once or twice is a takeover tool or a mule's phone.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeviceUse {
    /// The accounts that used the device, the most recent last, at most
    /// [`DEVICE_ACCOUNT_SLOTS`] (see there which one makes room).
    pub accounts: Vec<DeviceAccount>,
    /// How many operations came from the device.
    pub operations: u64,
}

impl DeviceUse {
    /// Learns that `account` (a fingerprint) used the device.
    pub fn update(&mut self, account: u64) {
        self.operations += 1;
        let mut entry = DeviceAccount {
            account,
            operations: 0,
        };
        if let Some(index) = self
            .accounts
            .iter()
            .position(|known| known.account == account)
        {
            entry = self.accounts.remove(index);
        } else if self.accounts.len() >= DEVICE_ACCOUNT_SLOTS {
            let least_used = self
                .accounts
                .iter()
                .enumerate()
                .min_by_key(|(_, known)| known.operations)
                .map(|(index, _)| index);
            if let Some(index) = least_used {
                self.accounts.remove(index);
            }
        }
        entry.operations = entry.operations.saturating_add(1);
        self.accounts.push(entry);
    }

    /// How many remembered accounts other than `account` used the device, in all.
    pub fn other_accounts(&self, account: u64) -> usize {
        self.accounts
            .iter()
            .filter(|known| known.account != account)
            .count()
    }

    /// How many remembered accounts other than `account` used the device only fleetingly
    /// (at most [`FLEETING_USES`] operations).
    pub fn fleeting_other_accounts(&self, account: u64) -> usize {
        self.accounts
            .iter()
            .filter(|known| known.account != account && known.operations <= FLEETING_USES)
            .count()
    }
}

/// `ln(gap in seconds)`, a gap under a second counting as one second.
pub fn log_seconds(gap_ms: i64) -> f64 {
    ((gap_ms / 1000).max(1) as f64).ln()
}

/// A 64-bit FNV-1a fingerprint of an account id: a compact set key for [`DeviceUse`], not a
/// security boundary (a collision only merges two accounts in one device's count).
pub fn account_fingerprint(account: &str) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    account.bytes().fold(OFFSET_BASIS, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

/// Every baseline the model keeps (clause 5.3.3.2): per customer, per product, global, and
/// per device. Customers with fewer than [`super::MIN_HISTORY`] amounts of a family are
/// scored against their product's baseline for that family (or the global one while the
/// product is young).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Baselines {
    customers: HashMap<String, CustomerBaseline>,
    products: HashMap<String, ProductBaseline>,
    global: GlobalBaseline,
    devices: HashMap<String, DeviceUse>,
}

impl Baselines {
    /// Builds the baselines from a whole history, in time order (see the module docs for a
    /// late arrival). The same as updating empty baselines with each observation in turn.
    pub fn train(observations: impl IntoIterator<Item = Observation>) -> Self {
        let mut baselines = Self::default();
        for observation in observations {
            baselines.update(&observation);
        }
        baselines
    }

    /// Learns one more operation. Call it after [`Baselines::score`], as a live engine
    /// would: an operation is judged against the history before it.
    pub fn update(&mut self, observation: &Observation) {
        // Gap statistics are global too: read the customer's last instant before updating.
        if let Some(customer) = self.customers.get_mut(observation.account.as_str()) {
            if customer.count > 0 && observation.at_ms >= customer.last_seen_ms {
                self.global.gaps += 1;
                let gap_ms = observation.at_ms - customer.last_seen_ms;
                if gap_ms < BURST_WINDOW_MS {
                    self.global.short_gaps += 1;
                    self.global.short_gap_seconds.add(log_seconds(gap_ms));
                }
            }
            customer.update(observation);
        } else {
            // The account's id is copied once, when the customer is first seen.
            let mut customer = CustomerBaseline::default();
            customer.update(observation);
            self.customers.insert(observation.account.clone(), customer);
        }
        if let Some(product) = self.products.get_mut(observation.product.as_str()) {
            product.update(observation);
        } else {
            let mut product = ProductBaseline::default();
            product.update(observation);
            self.products.insert(observation.product.clone(), product);
        }
        self.global.operations.update(observation);
        if let Some(device) = &observation.device {
            let account = account_fingerprint(&observation.account);
            if let Some(known) = self.devices.get_mut(device.as_str()) {
                known.update(account);
            } else {
                let mut first_use = DeviceUse::default();
                first_use.update(account);
                self.devices.insert(device.clone(), first_use);
            }
        }
    }

    /// A customer's baseline.
    pub fn customer(&self, account: &str) -> Option<&CustomerBaseline> {
        self.customers.get(account)
    }

    /// Every customer's baseline, in no particular order (to store them as rows).
    pub fn customers(&self) -> impl Iterator<Item = (&str, &CustomerBaseline)> {
        self.customers
            .iter()
            .map(|(account, baseline)| (account.as_str(), baseline))
    }

    /// How many customers have a baseline.
    pub fn customer_count(&self) -> usize {
        self.customers.len()
    }

    /// Puts back a customer's baseline loaded from storage, replacing any.
    pub fn insert_customer(&mut self, account: impl Into<String>, baseline: CustomerBaseline) {
        self.customers.insert(account.into(), baseline);
    }

    /// A product's baseline.
    pub fn product(&self, product: &str) -> Option<&ProductBaseline> {
        self.products.get(product)
    }

    /// Every product's baseline, in no particular order.
    pub fn products(&self) -> impl Iterator<Item = (&str, &ProductBaseline)> {
        self.products
            .iter()
            .map(|(product, baseline)| (product.as_str(), baseline))
    }

    /// Puts back a product's baseline loaded from storage, replacing any.
    pub fn insert_product(&mut self, product: impl Into<String>, baseline: ProductBaseline) {
        self.products.insert(product.into(), baseline);
    }

    /// The global baseline.
    pub fn global(&self) -> &GlobalBaseline {
        &self.global
    }

    /// Replaces the global baseline (loaded from storage).
    pub fn set_global(&mut self, global: GlobalBaseline) {
        self.global = global;
    }

    /// Which accounts used a device.
    pub fn device(&self, device: &str) -> Option<&DeviceUse> {
        self.devices.get(device)
    }

    /// Every device's use, for storing.
    pub fn devices(&self) -> impl Iterator<Item = (&str, &DeviceUse)> {
        self.devices
            .iter()
            .map(|(device, device_use)| (device.as_str(), device_use))
    }

    /// Puts back a device's use loaded from storage, replacing any.
    pub fn insert_device(&mut self, device: impl Into<String>, device_use: DeviceUse) {
        self.devices.insert(device.into(), device_use);
    }
}
