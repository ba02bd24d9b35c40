//! One browser request as the pages see it: its language, its cookies, where it came from, and
//! the checks on a form it posts (clause 5.4.3.6).
//!
//! Cookies, all `__Host-` (so Secure, `Path=/`, no `Domain`), HttpOnly and `SameSite=Strict`:
//! - `__Host-inspay_session`: the API session token itself. It is 256 random bits and the
//!   server keeps only its SM3 digest, so the cookie needs no signing or encryption. No
//!   `Max-Age`: it ends with the browser; the session's idle and absolute limits apply on the
//!   server.
//! - `__Host-inspay_pre`: a random value that binds the forms shown before sign-in (sign-in,
//!   registration) to this browser, against login CSRF.
//! - `__Host-inspay_device`: a random id of this browser, sent to the sign-in risk rules as
//!   the device id (the server keeps only its HMAC).
//!
//! A posted form passes when the browser says it came from this origin (`Sec-Fetch-Site:
//! same-origin`, or, from a browser that does not send it, an `Origin` equal to this host) and
//! it carries the synchroniser token of its cookie: the record-MAC key's HMAC-SM3 of the
//! cookie's value, compared in constant time.

use crate::defence::ClientAddr;
use crate::edge::RequestId;
use crate::state::AppState;
use crate::web::i18n::{Lang, Texts};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use inspay_crypto::Algorithm;
use inspay_kms::sealed::Sealed;
use zeroize::Zeroizing;

/// The session cookie.
pub const SESSION_COOKIE: &str = "__Host-inspay_session";
/// The cookie that binds pre-sign-in forms.
pub const PRE_COOKIE: &str = "__Host-inspay_pre";
/// The browser's device id.
pub const DEVICE_COOKIE: &str = "__Host-inspay_device";
/// A step-up proof, `<operation>.<token>`, kept until the operation it was made for is sent.
pub const STEP_UP_COOKIE: &str = "__Host-inspay_stepup";
/// How long the device id lives, seconds (a year).
const DEVICE_COOKIE_MAX_AGE_S: u32 = 365 * 24 * 3600;

/// A browser request, for page handlers.
pub struct Visit {
    /// The page language.
    pub lang: Lang,
    /// The request id (the API calls the page makes carry it too).
    pub request_id: String,
    /// The client address the edge worked out.
    pub client: Option<ClientAddr>,
    /// The session token from the cookie, if any.
    pub session: Option<Zeroizing<String>>,
    /// The path asked for (never the query).
    pub path: String,
    /// Whether the request is a GET (a page that can be asked for again).
    pub is_get: bool,
    /// The pre-sign-in binding from the cookie, if any.
    pub pre: Option<String>,
    /// The device id from the cookie, if any.
    pub device: Option<String>,
    /// The id of the key a staff member signed in with, if any.
    pub staff_key: Option<String>,
    /// The step-up proof from the cookie, if any: (operation, token).
    pub step_up: Option<(String, Zeroizing<String>)>,
    headers: HeaderMap,
}

impl Visit {
    /// The step-up proof kept for `operation`, if any.
    pub fn step_up_for(&self, operation: &str) -> Option<&str> {
        self.step_up
            .as_ref()
            .filter(|(kept, _)| kept == operation)
            .map(|(_, token)| token.as_str())
    }

    /// The texts of the page language.
    pub fn t(&self) -> &'static Texts {
        self.lang.texts()
    }

    /// A path under this language: `path("/sign-in")` is `/web/zh/sign-in`.
    pub fn path(&self, path: &str) -> String {
        format!("/web/{}{path}", self.lang.code())
    }

    /// This page in the other language (the start page for a posted form's answer).
    pub fn other_lang_path(&self) -> String {
        let other = self.lang.other().code();
        if !self.is_get {
            return format!("/web/{other}/");
        }
        match self
            .path
            .strip_prefix("/web/")
            .and_then(|rest| rest.split_once('/'))
        {
            Some((_, rest)) => format!("/web/{other}/{rest}"),
            None => format!("/web/{other}/"),
        }
    }

    /// Whether a posted form came from a page of this origin (Fetch Metadata, else `Origin`).
    pub fn same_origin(&self) -> bool {
        match self.headers.get("sec-fetch-site") {
            Some(site) => site.as_bytes() == b"same-origin",
            None => {
                let origin = self
                    .headers
                    .get(header::ORIGIN)
                    .and_then(|v| v.to_str().ok());
                let host = self.headers.get(header::HOST).and_then(|v| v.to_str().ok());
                match (origin, host) {
                    (Some(origin), Some(host)) => {
                        origin.strip_prefix("https://").is_some_and(|o| o == host)
                    }
                    _ => false,
                }
            }
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Visit {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let lang = Lang::from_path(parts.uri.path()).unwrap_or(Lang::Zh);
        let request_id = parts
            .extensions
            .get::<RequestId>()
            .map(|id| id.0.clone())
            .unwrap_or_default();
        let client = parts.extensions.get::<ClientAddr>().cloned();
        let mut visit = Visit {
            lang,
            request_id,
            client,
            path: parts.uri.path().to_string(),
            is_get: parts.method == axum::http::Method::GET,
            session: None,
            pre: None,
            device: None,
            staff_key: None,
            step_up: None,
            headers: HeaderMap::new(),
        };
        for value in parts.headers.get_all(header::COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            for pair in text.split(';') {
                let Some((name, value)) = pair.trim().split_once('=') else {
                    continue;
                };
                if !token_shaped(value) {
                    continue;
                }
                match name {
                    SESSION_COOKIE => visit.session = Some(Zeroizing::new(value.to_string())),
                    PRE_COOKIE => visit.pre = Some(value.to_string()),
                    DEVICE_COOKIE => visit.device = Some(value.to_string()),
                    crate::web::staff::STAFF_KEY_COOKIE => {
                        visit.staff_key = Some(value.to_string());
                    }
                    STEP_UP_COOKIE => {
                        visit.step_up = value.split_once('.').map(|(operation, token)| {
                            (operation.to_string(), Zeroizing::new(token.to_string()))
                        });
                    }
                    _ => {}
                }
            }
        }
        for name in [
            header::HOST,
            header::ORIGIN,
            header::HeaderName::from_static("sec-fetch-site"),
        ] {
            if let Some(value) = parts.headers.get(&name) {
                visit.headers.insert(name, value.clone());
            }
        }
        Ok(visit)
    }
}

/// Cookie values we set are base64url or session tokens: letters, digits, `-`, `_`, `.`.
fn token_shaped(value: &str) -> bool {
    (16..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Gives a visitor without the pre-sign-in cookie a fresh value (so the form about to be shown
/// can be bound to it) and returns the `Set-Cookie` to send with the page.
pub fn ensure_pre(visit: &mut Visit) -> Option<HeaderValue> {
    if visit.pre.is_some() {
        return None;
    }
    let value = random_value().ok()?;
    let cookie = set_cookie(PRE_COOKIE, &value);
    visit.pre = Some(value);
    cookie
}

/// A fresh random value for a cookie: 32 bytes, base64url.
pub fn random_value() -> Result<String, inspay_crypto::CryptoError> {
    Ok(URL_SAFE_NO_PAD.encode(inspay_crypto::random::bytes::<32>()?))
}

/// The `Set-Cookie` value for a cookie of the browser session.
pub fn set_cookie(name: &str, value: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Secure; HttpOnly; SameSite=Strict"
    ))
    .ok()
}

/// The `Set-Cookie` value for a step-up proof, living as long as the proof.
pub fn set_step_up_cookie(operation: &str, token: &str, max_age_s: i64) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{STEP_UP_COOKIE}={operation}.{token}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={max_age_s}"
    ))
    .ok()
}

/// The `Set-Cookie` value for the long-lived device id.
pub fn set_device_cookie(value: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{DEVICE_COOKIE}={value}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={DEVICE_COOKIE_MAX_AGE_S}"
    ))
    .ok()
}

/// The `Set-Cookie` value that removes a cookie.
pub fn clear_cookie(name: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

const CSRF_CONTEXT: &[u8] = b"inspay-web-csrf";

/// The synchroniser token of a form bound to `binding` (a session token or a pre-sign-in
/// value): `<key version>.<base64url(HMAC-SM3)>`.
pub fn csrf_token(state: &AppState, binding: &str) -> Option<String> {
    let mac = state
        .keyring()
        .record_mac(&[CSRF_CONTEXT, binding.as_bytes()])
        .ok()?;
    Some(format!(
        "{}.{}",
        mac.key_version,
        URL_SAFE_NO_PAD.encode(&mac.bytes)
    ))
}

/// Whether `presented` is the synchroniser token for `binding` (any live record-MAC key
/// version, so a rotation does not break open forms).
pub fn csrf_valid(state: &AppState, binding: &str, presented: &str) -> bool {
    let Some((version, mac)) = presented.split_once('.') else {
        return false;
    };
    let (Ok(key_version), Ok(bytes)) = (version.parse::<u32>(), URL_SAFE_NO_PAD.decode(mac)) else {
        return false;
    };
    let sealed = Sealed {
        algorithm: Algorithm::HmacSm3,
        key_version,
        bytes,
    };
    state
        .keyring()
        .verify_record_mac(&[CSRF_CONTEXT, binding.as_bytes()], &sealed)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_values_are_token_shaped() {
        assert!(token_shaped("abcdefghijklmnop_-.123"));
        assert!(!token_shaped("short"));
        assert!(!token_shaped("abcdefghijklmnop q"));
        assert!(!token_shaped("abcdefghijklmnop\"q"));
    }

    #[test]
    fn set_cookie_has_every_protection() {
        let value = set_cookie(SESSION_COOKIE, "abcdefghijklmnopqrstuvwxyz").expect("header");
        let text = value.to_str().expect("text");
        for part in ["__Host-", "Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
            assert!(text.contains(part), "{text} lacks {part}");
        }
        assert!(!text.contains("Domain"));
    }
}
