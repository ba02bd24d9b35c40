//! `[risk]` settings.

use serde::{Deserialize, Serialize};

/// `[risk]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskSettings {
    /// How often each node checks whether the rule packs in force changed, ms. A pack
    /// installed, rolled back or withdrawn on any node (or with `inspay risk pack`) is in force
    /// everywhere within this. Default 1,000.
    pub pack_reload_interval_ms: u64,
}

impl Default for RiskSettings {
    fn default() -> Self {
        Self {
            pack_reload_interval_ms: 1_000,
        }
    }
}

impl RiskSettings {
    /// The first setting that cannot work, with why.
    pub fn refusal(&self) -> Option<(&'static str, String)> {
        if !(100..=60_000).contains(&self.pack_reload_interval_ms) {
            return Some((
                "risk.pack_reload_interval_ms",
                "must be 100 to 60,000: packs must come into force within a minute".to_owned(),
            ));
        }
        None
    }
}
