//! The pages' static files, built into the binary (no CDN, no files to deploy beside it):
//! the vendored SM2 library, the page script, the style sheet and the icon.
//!
//! The SM2 library is sm-crypto-v2 1.15.1, its published `dist/index.umd.js` byte for byte
//! (MIT; bundles @noble/curves and @noble/ciphers). It draws randomness from
//! `crypto.getRandomValues` (not an RC4 generator, clause 5.5.1.2) and uses no `eval`, so it
//! runs under `script-src 'self'`. A test pins its SM3 digest; `docs/dependencies.md` says how
//! to fetch and check it again.

use crate::protocol::BrowserPage;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The vendored SM2 library.
pub const SM_CRYPTO: &[u8] = include_bytes!("../../web/vendor/sm-crypto-v2-1.15.1.umd.js");
/// Where the pages load it from (the version is in the name, so it may be cached for good).
pub const SM_CRYPTO_PATH: &str = "/static/vendor/sm-crypto-v2-1.15.1.umd.js";
/// The pages' own script: sealing of sensitive fields, form reset on leaving a page.
pub const APP_JS: &[u8] = include_bytes!("../../web/static/app.js");
/// The style sheet.
pub const APP_CSS: &[u8] = include_bytes!("../../web/static/app.css");
/// The icon.
pub const ICON_SVG: &[u8] = include_bytes!("../../web/static/icon.svg");

/// The Content-Security-Policy of every page: scripts, styles, images and form targets from
/// this origin only (CAPTCHA images are `data:` URLs), no inline script or style, no
/// framing, no plugins, and Trusted Types with no policy, so no script can write HTML.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'; object-src 'none'; require-trusted-types-for 'script'; \
     trusted-types 'none'";

/// The static routes.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(SM_CRYPTO_PATH, get(|| async { asset(SM_CRYPTO, JS, true) }))
        .route("/static/app.js", get(|| async { asset(APP_JS, JS, false) }))
        .route(
            "/static/app.css",
            get(|| async { asset(APP_CSS, CSS, false) }),
        )
        .route(
            "/static/icon.svg",
            get(|| async { asset(ICON_SVG, SVG, false) }),
        )
        // Browsers ask for it on their own; without it every first visit would be an
        // unknown-route security event.
        .route(
            "/favicon.ico",
            get(|| async { asset(ICON_SVG, SVG, false) }),
        )
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

fn asset(bytes: &'static [u8], content_type: &'static str, immutable: bool) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if immutable {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        }),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    response.extensions_mut().insert(BrowserPage);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vendored library is the pinned release, byte for byte (npm sha512
    /// `QN96kvbM6YMULb4WmYiyPBhEj6jhIQgvbMnJ2cU5ZumfptLkZwvaIpBacQGZXvPD6GKf27+eNDlXKR+er0VeBQ==`).
    /// req: 5.4.1.2
    #[test]
    fn vendored_sm2_library_is_the_pinned_release() {
        assert_eq!(SM_CRYPTO.len(), 103_338);
        assert_eq!(
            hex::encode(inspay_crypto::sm3::sm3(SM_CRYPTO)),
            "9e1bd0bff0df4e26e5b7d48e85dfdbceb16a70d7bb1ea5c9c759ab110c42cb35"
        );
    }

    /// The page script writes no HTML (Trusted Types would stop it) and evaluates no strings.
    /// req: 5.4.3.6
    #[test]
    fn page_script_writes_no_html() {
        let script = std::str::from_utf8(APP_JS).expect("utf-8");
        for banned in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
            "localStorage",
            "sessionStorage",
            "console.",
        ] {
            assert!(!script.contains(banned), "app.js uses {banned}");
        }
    }
}
