//! What every handler can reach.

use crate::config::Settings;
use crate::sms::SmsGateway;
use inspay_identity::lockout::LockoutPolicy;
use inspay_identity::session::SessionPolicy;
use inspay_kms::{Keyring, MasterKey};
use inspay_store::Store;
use inspay_store::one_time_codes::OtpPolicy;
use std::sync::{Arc, RwLock};

/// Shared application state. Cheap to clone: one reference count, however many parts it
/// holds (axum clones the state for every extractor and middleware of every request, and a
/// struct of ten `Arc`s costs ten atomic increments and decrements each time).
#[derive(Clone)]
pub struct AppState(Arc<Parts>);

/// What the state holds; reached through [`AppState`] by `Deref`.
pub struct Parts {
    /// The store.
    pub store: Store,
    /// Settings in force.
    pub settings: Arc<Settings>,
    /// The master key, held for key maintenance jobs only.
    pub master: Arc<MasterKey>,
    /// Where text messages go.
    pub sms: Arc<dyn SmsGateway>,
    /// Offset added to the system clock: always zero in a running server; tests move it to
    /// cross time limits (idle sessions, send intervals, lock durations) without waiting.
    clock_offset_ms: std::sync::atomic::AtomicI64,
    keyring: Arc<RwLock<Arc<Keyring>>>,
    rate_book: crate::defence::RateBook,
    app_cache: crate::protocol::AppCache,
    writes: crate::batch::ProtocolWrites,
    channel: crate::payments::channel::ChannelSlot,
    risk: crate::risk::RiskEngine,
    monitor: crate::monitoring::Monitor,
}

impl std::ops::Deref for AppState {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}

impl AppState {
    /// Builds the state.
    pub fn new(
        store: Store,
        settings: Arc<Settings>,
        master: Arc<MasterKey>,
        keyring: Keyring,
        sms: Arc<dyn SmsGateway>,
    ) -> Self {
        let keyring = Arc::new(RwLock::new(Arc::new(keyring)));
        let current = keyring.clone();
        let writes = crate::batch::ProtocolWrites::new(
            &store,
            Arc::new(move || match current.read() {
                Ok(guard) => guard.clone(),
                Err(poisoned) => poisoned.into_inner().clone(),
            }),
        );
        Self(Arc::new(Parts {
            store,
            settings,
            master,
            sms,
            clock_offset_ms: std::sync::atomic::AtomicI64::default(),
            keyring,
            rate_book: crate::defence::RateBook::default(),
            app_cache: crate::protocol::AppCache::default(),
            writes,
            channel: crate::payments::channel::ChannelSlot::default(),
            risk: crate::risk::RiskEngine::default(),
            monitor: crate::monitoring::Monitor::default(),
        }))
    }

    /// The protocol's group-committed writes.
    pub fn writes(&self) -> &crate::batch::ProtocolWrites {
        &self.writes
    }

    /// The payment channel this node uses, if any.
    pub fn channel_slot(&self) -> &crate::payments::channel::ChannelSlot {
        &self.channel
    }

    /// This node's risk engine: the rule packs in force.
    pub fn risk(&self) -> &crate::risk::RiskEngine {
        &self.risk
    }

    /// This node's monitoring: the metrics registry and the host sampler (clause 5.4.4.1).
    pub fn monitor(&self) -> &crate::monitoring::Monitor {
        &self.monitor
    }

    /// This node's request counters.
    pub fn rate_book(&self) -> &crate::defence::RateBook {
        &self.rate_book
    }

    /// This node's short-lived cache of client applications and their keys.
    pub fn app_cache(&self) -> &crate::protocol::AppCache {
        &self.app_cache
    }

    /// The keyring in force (a snapshot; reloads replace it whole).
    pub fn keyring(&self) -> Arc<Keyring> {
        match self.keyring.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The time the rules use, in unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        inspay_store::now_ms()
            + self
                .clock_offset_ms
                .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Moves this server's clock forward (tests only: nothing in the server calls it).
    pub fn advance_clock(&self, ms: i64) {
        self.clock_offset_ms
            .fetch_add(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// The session policy in force (validated at start-up).
    pub fn session_policy(&self) -> SessionPolicy {
        self.settings.identity.session().unwrap_or_default()
    }

    /// The lockout policy in force.
    pub fn lockout(&self) -> LockoutPolicy {
        self.settings.identity.lockout()
    }

    /// The one-time code policy in force.
    pub fn otp(&self) -> OtpPolicy {
        self.settings.identity.otp()
    }

    /// Replaces the keyring after a reload.
    pub fn set_keyring(&self, keyring: Keyring) {
        let fresh = Arc::new(keyring);
        match self.keyring.write() {
            Ok(mut guard) => *guard = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
    }
}
