//! The risk officer's view of the rule packs (clause 6.3.7): every stored version of every
//! signed CEL rule pack, which one is active, and whether this node actually runs it (a pack
//! whose signer was revoked, or whose stored bytes no longer verify, is active in the database
//! but not in force), as `inspay risk pack list` shows them.
//!
//! Needs `risk.monitor` (the risk and security officers): it reads, and changes nothing;
//! installing and rolling back stay with the signed CLI workflow.

use crate::auth::{Need, RouteSpec};
use crate::error::ApiError;
use crate::routes::OperationClass;
use crate::state::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use inspay_identity::authorization::Permission;
use inspay_store::staff_console::CONSOLE_ROWS_MAX;
use schemars::{JsonSchema, SchemaGenerator};
use serde::Serialize;

/// Route declarations.
pub const SPECS: &[RouteSpec] = &[RouteSpec {
    method: "GET",
    path: "/v1/risk/packs",
    class: OperationClass::InformationQuery,
    need: Need::Full,
    permission: Some(Permission::RiskMonitor),
    summary: "Every stored rule-pack version, newest installed first: signer, state (in force, active but not running, or inactive), rule count, digest and dates.",
    body: None,
    response: Some(SchemaGenerator::subschema_for::<Packs>),
    success: &[200],
}];

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/risk/packs", get(packs))
}

/// One stored pack version.
#[derive(Serialize, JsonSchema)]
struct PackView {
    /// The pack's id, from its manifest.
    name: String,
    version: i64,
    /// `in-force` (active and running on this node), `active-not-running` (active, but this
    /// node refused it: its signer is revoked or it no longer verifies) or `inactive` (an
    /// earlier or rolled-back version, kept for roll-back).
    state: &'static str,
    /// The registered signer's name.
    signer: String,
    /// SM3 fingerprint of the signing key, hex.
    key_fingerprint: String,
    rules: i64,
    /// SM3 of the signed manifest, hex.
    digest: String,
    installed_by: String,
    installed_at_ms: i64,
    /// When it was last made active, if ever.
    activated_at_ms: Option<i64>,
}

/// The rule packs.
#[derive(Serialize, JsonSchema)]
struct Packs {
    /// The shared pack generation this node's packs were loaded at.
    generation: i64,
    /// Packs in force on this node.
    in_force: usize,
    packs: Vec<PackView>,
}

async fn packs(State(state): State<AppState>) -> Result<Json<Packs>, ApiError> {
    let running = state.risk().packs();
    let mut rows = state.store.risk_packs(None).await?;
    rows.sort_by(|a, b| {
        (b.installed_at_ms, &b.pack_id, b.version).cmp(&(a.installed_at_ms, &a.pack_id, a.version))
    });
    rows.truncate(usize::try_from(CONSOLE_ROWS_MAX).unwrap_or(usize::MAX));
    let packs = rows
        .into_iter()
        .map(|row| {
            let in_force = row.active
                && running.packs.iter().any(|pack| {
                    pack.manifest().id == row.pack_id
                        && i64::from(pack.manifest().version) == row.version
                });
            PackView {
                state: match (row.active, in_force) {
                    (true, true) => "in-force",
                    (true, false) => "active-not-running",
                    (false, _) => "inactive",
                },
                name: row.pack_id,
                version: row.version,
                signer: row.signer,
                key_fingerprint: row.key_fingerprint,
                rules: row.rules,
                digest: row.digest,
                installed_by: row.installed_by,
                installed_at_ms: row.installed_at_ms,
                activated_at_ms: row.activated_at_ms,
            }
        })
        .collect();
    Ok(Json(Packs {
        generation: running.generation,
        in_force: running.packs.len(),
        packs,
    }))
}
