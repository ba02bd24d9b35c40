//! The online help (clause 6.2.3): one page per language, written for customers, linked from
//! every page's header.

use crate::state::AppState;
use crate::web::page::{Chrome, render};
use crate::web::visit::Visit;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

/// The help page.
pub fn router() -> Router<AppState> {
    Router::new().route("/web/{lang}/help", get(help))
}

#[derive(Template)]
#[template(path = "web/help_zh.html")]
struct HelpZh {
    c: Chrome,
}

#[derive(Template)]
#[template(path = "web/help_en.html")]
struct HelpEn {
    c: Chrome,
}

async fn help(State(state): State<AppState>, visit: Visit) -> Response {
    let c = Chrome::new(&state, &visit, visit.t().help_title, "help");
    match visit.lang {
        crate::web::i18n::Lang::Zh => render(StatusCode::OK, &HelpZh { c }),
        crate::web::i18n::Lang::En => render(StatusCode::OK, &HelpEn { c }),
    }
}
