//! Rule packs: installing one (verify the signature against the registered rule-signing keys,
//! load and check it, only then store it) and keeping each node's loaded set in step with the
//! database (clause 6.3.7).
//!
//! A node never runs a pack it has not verified itself: on every change of the shared pack
//! generation it reads the active packs and the active signers and verifies and loads each pack
//! again, so a pack whose signer was revoked, or whose stored bytes were changed behind the
//! server's back, stops running and raises a security event.

use inspay_crypto::sm2::Sm2PublicKey;
use inspay_kms::Keyring;
use inspay_risk::pack::{LoadedPack, PackError, SignedPack, TrustedSigner};
use inspay_store::keys::Actor;
use inspay_store::risk::{NewRiskPack, RiskPackError, RiskPackRow, RiskSigner};
use inspay_store::security_events::SecurityEvent;
use inspay_store::{Store, StoreError};
use std::sync::{Arc, RwLock};

/// The security event kind a refused pack raises.
pub const PACK_REFUSED: &str = "rule-pack-refused";

/// The packs in force on this node, as of one pack generation.
#[derive(Debug, Default)]
pub struct PackSet {
    /// The shared generation these packs were loaded at (-1 before the first load).
    pub generation: i64,
    /// The loaded packs, by pack id.
    pub packs: Vec<Arc<LoadedPack>>,
}

/// This node's risk engine: the pack set in force, replaced whole on reload.
#[derive(Debug)]
pub struct RiskEngine {
    current: RwLock<Arc<PackSet>>,
}

impl Default for RiskEngine {
    fn default() -> Self {
        Self {
            current: RwLock::new(Arc::new(PackSet {
                generation: -1,
                packs: Vec::new(),
            })),
        }
    }
}

impl RiskEngine {
    /// The packs in force (a snapshot).
    pub fn packs(&self) -> Arc<PackSet> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn replace(&self, set: PackSet) {
        let fresh = Arc::new(set);
        match self.current.write() {
            Ok(mut guard) => *guard = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
    }

    /// Reloads the packs if the shared generation moved since the last load. Returns the packs
    /// refused on the way (each already recorded as a security event).
    pub async fn reload_if_changed(
        &self,
        store: &Store,
        keyring: &Keyring,
        now_ms: i64,
    ) -> Result<Vec<(String, PackError)>, StoreError> {
        let generation = store.risk_pack_generation().await?;
        if generation == self.packs().generation {
            return Ok(Vec::new());
        }
        let signers = trusted_signers(&store.risk_signers(keyring).await?);
        let mut packs = Vec::new();
        let mut refused = Vec::new();
        for row in store.risk_packs_active().await? {
            match load(&row, &signers) {
                Ok(pack) => packs.push(Arc::new(pack)),
                Err(error) => {
                    let label = format!("{} v{}", row.pack_id, row.version);
                    tracing::error!(
                        target: "inspay::security_alert",
                        pack = %label,
                        code = error.code(),
                        "an active rule pack no longer verifies or loads; it is not in force: {error}"
                    );
                    record_refusal(store, &label, &error, now_ms).await;
                    refused.push((label, error));
                }
            }
        }
        tracing::info!(
            generation,
            packs = packs.len(),
            refused = refused.len(),
            "rule packs reloaded"
        );
        self.replace(PackSet { generation, packs });
        Ok(refused)
    }
}

/// The active signers whose public keys parse.
pub fn trusted_signers(rows: &[RiskSigner]) -> Vec<TrustedSigner> {
    rows.iter()
        .filter(|row| row.active)
        .filter_map(|row| match Sm2PublicKey::from_spki_pem(&row.public_key_pem) {
            Ok(key) => Some(TrustedSigner {
                name: row.name.clone(),
                key,
            }),
            Err(_) => {
                tracing::error!(signer = %row.name, "a registered rule-signing key does not parse; it verifies nothing");
                None
            }
        })
        .collect()
}

fn load(row: &RiskPackRow, signers: &[TrustedSigner]) -> Result<LoadedPack, PackError> {
    let signed = SignedPack {
        manifest: row.manifest.as_bytes().to_vec(),
        signature: row.signature.clone(),
    };
    let pack = LoadedPack::load(&signed.verify(signers)?)?;
    if pack.manifest().id != row.pack_id || i64::from(pack.manifest().version) != row.version {
        return Err(PackError::Manifest(format!(
            "stored as {} v{} but the signed manifest says {} v{}",
            row.pack_id,
            row.version,
            pack.manifest().id,
            pack.manifest().version
        )));
    }
    Ok(pack)
}

async fn record_refusal(store: &Store, label: &str, error: &PackError, now_ms: i64) {
    let event = SecurityEvent {
        id: uuid::Uuid::now_v7().to_string(),
        kind: PACK_REFUSED.to_owned(),
        app_id: None,
        account_id: None,
        client_ip: None,
        route: None,
        detail: format!("{} {label}", error.code()),
        alert: true,
        at_ms: now_ms,
    };
    if let Err(error) = store.security_event_record(&event).await {
        tracing::error!(error = %error, "security event not kept");
    }
}

/// Why an install failed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The pack was refused: unsigned, tampered, invalid or over-reaching. A security event
    /// was recorded.
    #[error("{} {}", .0.code(), .0)]
    Refused(PackError),
    /// The store refused it (an older version, a conflict).
    #[error(transparent)]
    Store(#[from] RiskPackError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] StoreError),
}

/// Installs a pack: verifies its signature against the active rule-signing keys, loads and
/// checks it, and only then stores it as the active version of its id. Every node loads it
/// within `risk.pack_reload_interval_ms`. A refused pack raises a security event with an alert.
pub async fn install(
    store: &Store,
    keyring: &Keyring,
    manifest: &[u8],
    signature: &str,
    who: Actor<'_>,
    now_ms: i64,
) -> Result<(RiskPackRow, LoadedPack), InstallError> {
    let signers = trusted_signers(&store.risk_signers(keyring).await?);
    let signed = SignedPack {
        manifest: manifest.to_vec(),
        signature: signature.to_owned(),
    };
    let checked = signed
        .verify(&signers)
        .and_then(|verified| LoadedPack::load(&verified));
    let pack = match checked {
        Ok(pack) => pack,
        Err(error) => {
            tracing::warn!(
                target: "inspay::security",
                code = error.code(),
                actor = who.actor,
                "rule pack refused: {error}"
            );
            record_refusal(store, "install", &error, now_ms).await;
            return Err(InstallError::Refused(error));
        }
    };
    let manifest_text = std::str::from_utf8(manifest)
        .map_err(|_| InstallError::Refused(PackError::Manifest("not UTF-8".to_owned())))?;
    let row = store
        .risk_pack_install(
            NewRiskPack {
                pack_id: &pack.manifest().id,
                version: i64::from(pack.manifest().version),
                manifest: manifest_text,
                signature,
                digest: pack.digest(),
                signer: pack.signer(),
                key_fingerprint: pack.key_fingerprint(),
                rules: i64::try_from(pack.rule_count()).unwrap_or(i64::MAX),
            },
            who,
            now_ms,
        )
        .await?;
    Ok((row, pack))
}
