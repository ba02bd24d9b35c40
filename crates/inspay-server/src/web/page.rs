//! What every page handler uses: the frame of the page, rendering with the page headers,
//! redirects, the checks on a posted form, the one-time sealing key and nonce, the CAPTCHA,
//! and the error page.

use crate::protocol::BrowserPage;
use crate::state::AppState;
use crate::web::api::{Answer, Call, WebApi, WebFault};
use crate::web::assets::PAGE_CSP;
use crate::web::i18n::{Lang, Texts, error_text};
use crate::web::visit::{self, Visit};
use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// The part of the page around the content: texts, language, navigation, the sign-out form.
pub struct Chrome {
    /// Texts of the page language.
    pub t: &'static Texts,
    /// The page language.
    pub lang: Lang,
    /// The `<title>`.
    pub title: &'static str,
    /// Which navigation entry is current (`home`, `claims`, `account`, `help`, `staff`).
    pub current: &'static str,
    /// The synchroniser token for the sign-out form, when signed in.
    pub sign_out_csrf: Option<String>,
    /// The same page in the other language.
    pub other_lang_path: String,
}

impl Chrome {
    /// The frame for `visit`, signed in when the visitor has a session cookie.
    pub fn new(
        state: &AppState,
        visit: &Visit,
        title: &'static str,
        current: &'static str,
    ) -> Chrome {
        let sign_out_csrf = visit
            .session
            .as_deref()
            .and_then(|token| visit::csrf_token(state, token));
        Chrome {
            t: visit.t(),
            lang: visit.lang,
            title,
            current,
            sign_out_csrf,
            other_lang_path: visit.other_lang_path(),
        }
    }

    /// A path under the page language.
    pub fn path(&self, path: &str) -> String {
        format!("/web/{}{path}", self.lang.code())
    }

    /// Whether the page is in Chinese.
    pub fn is_zh(&self) -> bool {
        self.lang == Lang::Zh
    }

    /// `aria-current="page"` for the current navigation entry.
    pub fn current_attr(&self, entry: &str) -> &'static str {
        if self.current == entry {
            "page"
        } else {
            "false"
        }
    }
}

/// A message shown at the top of a page.
pub struct Note {
    /// `ok`, `warn` or `bad`.
    pub tone: &'static str,
    /// The text.
    pub text: String,
    /// The reference to quote, for errors.
    pub reference: Option<String>,
}

impl Note {
    /// A good outcome.
    pub fn ok(text: &str) -> Option<Note> {
        Some(Note {
            tone: "ok",
            text: text.to_string(),
            reference: None,
        })
    }

    /// A refusal from the API, explained in the page language.
    pub fn from_answer(lang: Lang, answer: &Answer) -> Option<Note> {
        let code = answer.code().unwrap_or("");
        let text = error_text(lang, code).unwrap_or(lang.texts().error_generic);
        Some(Note {
            tone: if code == "INSPAY-RISK-002" {
                "warn"
            } else {
                "bad"
            },
            text: text.to_string(),
            reference: answer.reference().map(str::to_string),
        })
    }

    /// A plain warning.
    pub fn warn(text: &str) -> Option<Note> {
        Some(Note {
            tone: "warn",
            text: text.to_string(),
            reference: None,
        })
    }

    /// A plain error.
    pub fn bad(text: &str) -> Option<Note> {
        Some(Note {
            tone: "bad",
            text: text.to_string(),
            reference: None,
        })
    }
}

/// The error page.
#[derive(Template)]
#[template(path = "web/message.html")]
pub struct MessagePage {
    /// The frame.
    pub c: Chrome,
    /// The heading.
    pub heading: &'static str,
    /// What happened.
    pub note: Option<Note>,
}

/// Renders a page with the page headers.
pub fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(body) => html(status, body),
        Err(error) => {
            tracing::error!(error = %error, "a page did not render");
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!doctype html><title>inspay</title><p>Internal error.</p>".to_string(),
            )
        }
    }
}

/// An HTML answer: the page CSP, `no-store` (the edge adds the rest), no response signature.
pub fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.extensions_mut().insert(BrowserPage);
    response
}

/// A 303 to `location` (after a posted form: Back does not post it again).
pub fn redirect(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.extensions_mut().insert(BrowserPage);
    response
}

/// Adds a `Set-Cookie`.
pub fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The error page for a fault between the pages and the API (the cause goes to the log).
pub fn fault(state: &AppState, visit: &Visit, fault: WebFault) -> Response {
    tracing::error!(cause = %fault.0, "web page failed");
    let t = visit.t();
    render(
        StatusCode::INTERNAL_SERVER_ERROR,
        &MessagePage {
            c: Chrome::new(state, visit, t.error_title, ""),
            heading: t.error_title,
            note: Some(Note {
                tone: "bad",
                text: t.error_generic.to_string(),
                reference: Some(visit.request_id.clone()),
            }),
        },
    )
}

/// The error page for a refusal the page cannot handle better.
pub fn refused(state: &AppState, visit: &Visit, answer: &Answer) -> Response {
    let t = visit.t();
    let status = if answer.status.is_client_error() {
        answer.status
    } else {
        StatusCode::BAD_GATEWAY
    };
    render(
        status,
        &MessagePage {
            c: Chrome::new(state, visit, t.error_title, ""),
            heading: t.error_title,
            note: Note::from_answer(visit.lang, answer),
        },
    )
}

/// The answer to a form that fails the origin or token check, or does not parse: 403 or
/// 400 with the expired-form message (the visitor starts the form again).
pub fn form_refused(state: &AppState, visit: &Visit, status: StatusCode) -> Response {
    let t = visit.t();
    render(
        status,
        &MessagePage {
            c: Chrome::new(state, visit, t.error_title, ""),
            heading: t.error_title,
            note: Note::bad(t.error_expired_form),
        },
    )
}

/// What a form is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// A form shown before sign-in: the pre-sign-in cookie.
    PreSession,
    /// A form of a signed-in page: the session cookie.
    Session,
}

/// The synchroniser token for a form of this kind, if the visitor has the cookie.
pub fn csrf_for(state: &AppState, visit: &Visit, binding: Binding) -> String {
    let value = match binding {
        Binding::PreSession => visit.pre.as_deref(),
        Binding::Session => visit.session.as_deref().map(String::as_str),
    };
    value
        .and_then(|value| visit::csrf_token(state, value))
        .unwrap_or_default()
}

/// Checks a posted form: parsed, from this origin, with the right token.
pub fn check_form<T: HasCsrf>(
    state: &AppState,
    visit: &Visit,
    binding: Binding,
    form: Result<axum::Form<T>, FormRejection>,
) -> Result<T, Box<Response>> {
    if !visit.same_origin() {
        return Err(Box::new(form_refused(state, visit, StatusCode::FORBIDDEN)));
    }
    let Ok(axum::Form(form)) = form else {
        return Err(Box::new(form_refused(
            state,
            visit,
            StatusCode::BAD_REQUEST,
        )));
    };
    let bound = match binding {
        Binding::PreSession => visit.pre.as_deref(),
        Binding::Session => visit.session.as_deref().map(String::as_str),
    };
    match bound {
        Some(value) if visit::csrf_valid(state, value, form.csrf()) => Ok(form),
        _ => Err(Box::new(form_refused(state, visit, StatusCode::FORBIDDEN))),
    }
}

/// A form with a synchroniser token.
pub trait HasCsrf {
    /// The token posted.
    fn csrf(&self) -> &str;
}

/// The key and one-time nonce a form seals its sensitive fields with.
pub struct Sealing {
    /// The nonce (one request, five minutes).
    pub nonce: String,
    /// The field-transport key's serial.
    pub serial: u32,
    /// The key, SEC1 uncompressed, hex (`04` || x || y).
    pub key_hex: String,
}

#[derive(Deserialize)]
struct IssuedNonce {
    nonce: String,
    key: IssuedKey,
}

#[derive(Deserialize)]
struct IssuedKey {
    serial: u32,
    public_key_pem: String,
}

/// A fresh nonce and the key, from the API as the web client.
pub async fn sealing(api: &WebApi, state: &AppState, visit: &Visit) -> Result<Sealing, WebFault> {
    let answer = api
        .call(
            state,
            visit,
            Call::post_empty(crate::routes::field_nonce::PATH),
        )
        .await?;
    if !answer.ok() {
        return Err(WebFault(format!(
            "no field nonce: {} {}",
            answer.status,
            answer.code().unwrap_or("")
        )));
    }
    let issued: IssuedNonce = answer.parse()?;
    let key = inspay_crypto::sm2::Sm2PublicKey::from_spki_pem(&issued.key.public_key_pem)
        .map_err(|error| WebFault(format!("the field-transport key does not parse: {error}")))?;
    Ok(Sealing {
        nonce: issued.nonce,
        serial: issued.key.serial,
        key_hex: hex::encode(key.to_sec1()),
    })
}

/// The sealing key and nonce of a sign-in form, and a CAPTCHA when the form needs one.
pub async fn sealing_with_captcha(
    api: &WebApi,
    state: &AppState,
    visit: &Visit,
    with_captcha: bool,
) -> Result<(Sealing, Option<Captcha>), WebFault> {
    let s = sealing(api, state, visit).await?;
    let captcha = if with_captcha {
        Some(captcha(api, state, visit).await?)
    } else {
        None
    };
    Ok((s, captcha))
}

/// A CAPTCHA to show.
pub struct Captcha {
    /// Its id, posted back with the answer.
    pub id: String,
    /// The image as a `data:` URL.
    pub image: String,
}

#[derive(Deserialize)]
struct IssuedCaptcha {
    id: String,
    image_png_base64: String,
}

/// A fresh CAPTCHA from the API.
pub async fn captcha(api: &WebApi, state: &AppState, visit: &Visit) -> Result<Captcha, WebFault> {
    let answer = api.call(state, visit, Call::get("/v1/captcha")).await?;
    if !answer.ok() {
        return Err(WebFault(format!("no CAPTCHA: {}", answer.status)));
    }
    let issued: IssuedCaptcha = answer.parse()?;
    Ok(Captcha {
        id: issued.id,
        image: format!("data:image/png;base64,{}", issued.image_png_base64),
    })
}

/// The CAPTCHA reply of a form, as the API wants it, if one was posted.
pub fn captcha_reply(id: &str, answer: &str) -> serde_json::Value {
    if id.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::json!({ "id": id, "answer": answer.trim() })
    }
}

/// The page for a path with a malformed or unknown id.
pub fn not_found(state: &AppState, visit: &Visit) -> Response {
    let t = visit.t();
    render(
        StatusCode::NOT_FOUND,
        &MessagePage {
            c: Chrome::new(state, visit, t.error_title, ""),
            heading: t.error_title,
            note: Note::bad(t.error_not_found),
        },
    )
}

/// Whether `path` is a page of this site to come back to after a step (never another site).
pub fn local_page(path: &str) -> bool {
    Lang::from_path(path).is_some()
        && path.len() <= 256
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_'))
}

/// A posted form read by name (forms whose fields vary, such as the notice's purposes).
#[derive(Deserialize)]
#[serde(transparent)]
pub struct Posted(Vec<(String, String)>);

impl Posted {
    /// The value of the field `name`, empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.as_str())
    }
}

impl HasCsrf for Posted {
    fn csrf(&self) -> &str {
        self.get("csrf")
    }
}

/// Sends a signed-in page's call and reads its answer as `T`; the session's end, a refused
/// permission and any other refusal become the page to show instead.
pub async fn read<T: DeserializeOwned>(
    api: &WebApi,
    state: &AppState,
    visit: &Visit,
    call: Call,
) -> Result<T, Box<Response>> {
    let answer = api
        .call(state, visit, call.session_of(visit))
        .await
        .map_err(|fault_| Box::new(fault(state, visit, fault_)))?;
    if let Some(response) = crate::web::home::session_gone(visit, &answer) {
        return Err(Box::new(response));
    }
    if answer.code() == Some("INSPAY-AUTH-005") {
        return Err(Box::new(no_permission(state, visit)));
    }
    if !answer.ok() {
        return Err(Box::new(refused(state, visit, &answer)));
    }
    answer
        .parse()
        .map_err(|fault_| Box::new(fault(state, visit, fault_)))
}

/// The page for a page the person's roles do not open.
pub fn no_permission(state: &AppState, visit: &Visit) -> Response {
    let t = visit.t();
    render(
        StatusCode::FORBIDDEN,
        &MessagePage {
            c: Chrome::new(state, visit, t.error_title, "staff"),
            heading: t.error_title,
            note: Note::bad(t.no_permission_page),
        },
    )
}

/// The answer that starts a browser session: the session cookie, the pre-sign-in cookie
/// dropped (it was seen with the password form), and a redirect to `location`.
pub fn session_started(location: &str, token: &str) -> Response {
    let response = with_cookie(
        redirect(location),
        crate::web::visit::set_cookie(crate::web::visit::SESSION_COOKIE, token),
    );
    with_cookie(
        response,
        Some(crate::web::visit::clear_cookie(
            crate::web::visit::PRE_COOKIE,
        )),
    )
}
