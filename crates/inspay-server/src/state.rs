//! What every handler can reach.

use crate::config::Settings;
use inspay_kms::{Keyring, MasterKey};
use inspay_store::Store;
use std::sync::{Arc, RwLock};

/// Shared application state. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Store,
    /// Settings in force.
    pub settings: Arc<Settings>,
    /// The master key, held for key maintenance jobs only.
    pub master: Arc<MasterKey>,
    keyring: Arc<RwLock<Arc<Keyring>>>,
}

impl AppState {
    /// Builds the state.
    pub fn new(
        store: Store,
        settings: Arc<Settings>,
        master: Arc<MasterKey>,
        keyring: Keyring,
    ) -> Self {
        Self {
            store,
            settings,
            master,
            keyring: Arc::new(RwLock::new(Arc::new(keyring))),
        }
    }

    /// The keyring in force (a snapshot; reloads replace it whole).
    pub fn keyring(&self) -> Arc<Keyring> {
        match self.keyring.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
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
