//! The staff console's sections beyond the claims desk: finance, risk, security and
//! administration, each shown only to the roles whose permissions open its API.

use crate::state::AppState;
use crate::web::visit::Visit;
use axum::Router;

/// The console sections the permissions open: (path, label).
pub fn links(visit: &Visit, permissions: &[String]) -> Vec<(String, &'static str)> {
    let _ = (visit, permissions);
    Vec::new()
}

/// The console section pages.
pub fn router() -> Router<AppState> {
    Router::new()
}
