//! The behaviour model learned from history (clause 5.3.3.2): "a model built from historical
//! transaction data sets per-customer and global baselines; when behaviour deviates past a
//! threshold a risk prompt is raised".
//!
//! - [`observation`]: one historical fund operation ([`Observation`]);
//! - [`stats`]: robust statistics (median, MAD, robust z, quantiles) on `ln(amount)`;
//! - [`baseline`]: per-customer, per-product, global and per-device baselines
//!   ([`Baselines`]), trained in one pass and updated incrementally;
//! - [`score`]: the deviation of a new operation per component ([`ModelScore`]) and the
//!   [`Thresholds`] that turn it into reasons and verdicts;
//! - [`evaluate()`]: precision and recall on a labelled history ([`crate::generate`]).
//!
//! Components of the score: the amount against the customer's own recent amounts on the
//! product; the amount against the product's, for a customer with fewer than
//! [`MIN_HISTORY`] amounts there (the fallback for a thin history); the distance of the hour
//! from the customer's habitual hours (the product's while the customer has fewer than
//! [`MIN_HISTORY`] operations); a device new to the customer; a device new to the customer
//! that other accounts touched fleetingly; and bursts. Each is compared with its band in
//! [`Thresholds`]; the combined total catches several moderate deviations together.
//!
//! Nothing here reads a clock: every instant comes with the observation.

pub mod baseline;
pub mod evaluate;
pub mod observation;
pub mod score;
pub mod stats;

pub use baseline::{
    Baselines, CustomerBaseline, DeviceAccount, DeviceUse, GlobalBaseline, ProductAmounts,
    ProductBaseline, account_fingerprint,
};
pub use evaluate::{Detection, Evaluation, evaluate, evaluate_live};
pub use observation::{AmountFamily, Observation, OperationKind, china_hour};
pub use score::{Band, MIN_HISTORY, ModelScore, Thresholds, ThresholdsError};
