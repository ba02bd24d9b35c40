//! The browser harness: Debian's Chromium, headless, driven through Debian's chromedriver by
//! thirtyfour, against a test server ([`crate::helpers::TestApp`]) over real TLS.
//!
//! - Every [`Browser`] has its own chromedriver, started with `--port=0` (chromedriver binds a
//!   free port itself and prints it, so no other process can take the port between a probe and
//!   the bind) in a process group of its own. Starting one takes about 20 ms beside about
//!   500 ms for the browser session, so sharing one per test binary would save nothing worth
//!   the coupling between tests.
//! - The group is led by a small `sh` that holds a pipe from the test process: when the
//!   [`Browser`] is dropped, or the test process dies in any way (a panic, Ctrl-C, a kill), the
//!   pipe closes and the `sh` ends the whole group, Chromium included. Chromium's temporary
//!   profile directories go to a temporary directory of ours, removed after the group ends.
//! - Sessions always end: [`Browser::quit`] at the end of a test quits the session, then ends
//!   the group; a [`Browser`] dropped without it (a test that panicked) ends the group at once,
//!   Chromium included (see [`Browser`] for why it does not quit the session first).
//! - The browser trusts only the test server's development CA, pinned by
//!   `--ignore-certificate-errors-spki-list` (base64 of the SHA-256 of the CA's
//!   SubjectPublicKeyInfo, as the flag defines it). Never `--ignore-certificate-errors`, never
//!   `acceptInsecureCerts`. A page of any other server shows Chromium's certificate
//!   interstitial, which [`Browser::goto`] turns into [`PageError::CertificateRefused`].
//! - Without Chromium or chromedriver, a test prints a `SKIP` line and returns, except under
//!   CI (`CI` set), where it fails: CI must install them (`.ci/run` does).
//!
//! Helpers that fail panic with the selector and the page's URL, never with typed text.

#![allow(dead_code)]

use crate::helpers::TestApp;
use base64::Engine;
use rustls::pki_types::CertificateDer;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use thirtyfour::prelude::*;
use thirtyfour::{ChromiumLikeCapabilities, Cookie, DesiredCapabilities};

/// chromedriver used when `INSPAY_CHROMEDRIVER` is not set (Debian's `chromium-driver`).
pub const CHROMEDRIVER_DEFAULT: &str = "/usr/bin/chromedriver";
/// Chromium binaries tried in order when `INSPAY_CHROMIUM` is not set: Debian's real binary,
/// then its wrapper script (which reads `/etc/chromium.d`).
pub const CHROMIUM_DEFAULTS: [&str; 2] = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"];

/// How long chromedriver may take to say which port it listens on.
const CHROMEDRIVER_START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the group may take to end after the pipe closes, before it is killed outright.
const CHROMEDRIVER_STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on one WebDriver command (thirtyfour's default is 120 s).
const WEBDRIVER_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on one page load.
const PAGE_LOAD_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on one script run by [`Browser::script`].
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`Browser::wait_for`] (and every helper that finds an element) waits for it.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often [`Browser::wait_for`] looks again.
const WAIT_INTERVAL: Duration = Duration::from_millis(100);

/// Desktop window size in CSS pixels.
pub const DESKTOP_WIDTH_PX: u32 = 1280;
/// Desktop window height in CSS pixels.
pub const DESKTOP_HEIGHT_PX: u32 = 900;
/// Phone viewport width in CSS pixels (an iPhone 12 to 15 class phone).
pub const PHONE_WIDTH_PX: u32 = 390;
/// Phone viewport height in CSS pixels.
pub const PHONE_HEIGHT_PX: u32 = 844;
/// Phone device pixels per CSS pixel: a phone screenshot is 780 x 1688.
pub const PHONE_PIXEL_RATIO: u32 = 2;

/// The group leader: starts chromedriver (`$0`) in the background, then waits for its standard
/// input to close. The test process holds the other end, so the pipe closes when the
/// [`Browser`] is dropped and also when the test process dies. Then it asks the whole group
/// (chromedriver and the Chromium processes it started) to stop, waits up to 5 s, removes the
/// temporary directory (`$1`: the test process may be gone and never remove it), and kills
/// what is left, itself last. `TERM` is ignored by the shell only after chromedriver has
/// started, so chromedriver keeps the default handling.
const GROUP_LEADER_SCRIPT: &str = r#"
"$0" --port=0 </dev/null &
driver=$!
trap '' TERM
read -r _ignored || :
kill -TERM 0 2>/dev/null
waited=0
while kill -0 "$driver" 2>/dev/null && [ "$waited" -lt 50 ]; do
    sleep 0.1
    waited=$((waited + 1))
done
case "$1" in
    /*/inspay-browser-*) rm -rf -- "$1" ;;
esac
kill -KILL 0
"#;

/// The line chromedriver prints once it listens (its real port follows).
const STARTED_MARKER: &str = "started successfully on port ";

/// Language of the browser: its `Accept-Language`, `navigator.language`, and the path segment
/// of the web client (`/web/zh/...`, `/web/en/...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// Simplified Chinese (zh-CN).
    Zh,
    /// English (en-US).
    En,
}

impl Lang {
    /// The path segment of the web client: `zh` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The browser locale: `zh-CN` or `en-US`.
    pub fn locale(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en-US",
        }
    }

    /// The `intl.accept_languages` preference. In headless Chromium `--lang` alone does not
    /// change `Accept-Language` or `navigator.language` (seen on Chromium 156); this does.
    pub fn accept_languages(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN,zh",
            Lang::En => "en-US,en",
        }
    }
}

/// The kind of screen the session emulates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    /// A desktop window of [`DESKTOP_WIDTH_PX`] x [`DESKTOP_HEIGHT_PX`].
    Desktop,
    /// Chrome's mobile emulation: [`PHONE_WIDTH_PX`] x [`PHONE_HEIGHT_PX`] at
    /// [`PHONE_PIXEL_RATIO`], touch, mobile viewport.
    Phone,
}

impl Device {
    /// `desktop` or `phone`, for screenshot names.
    pub fn name(self) -> &'static str {
        match self {
            Device::Desktop => "desktop",
            Device::Phone => "phone",
        }
    }
}

/// What [`Browser::goto`] loaded.
#[derive(Debug, Clone)]
pub struct Page {
    /// The document's URL after redirects.
    pub url: String,
    /// The document's title.
    pub title: String,
    /// The DOM serialised now (not the HTTP response: see [`Browser::fetch_raw`]).
    pub source: String,
}

/// Why a page did not load.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// Chromium refused the server's certificate and showed its interstitial.
    #[error("Chromium refused the certificate of {url} (interstitial titled {title:?})")]
    CertificateRefused {
        /// The URL asked for.
        url: String,
        /// The interstitial's title ("Privacy error").
        title: String,
    },
    /// Chromium showed another of its error pages (connection refused, name not resolved...).
    #[error("Chromium showed an error page for {url} ({reason})")]
    BrowserErrorPage {
        /// The URL asked for.
        url: String,
        /// The network error chromedriver reported (`net::ERR_CONNECTION_REFUSED`...) or the
        /// error page's `body` class (`neterror`...).
        reason: String,
    },
    /// The WebDriver command failed.
    #[error("WebDriver: {0}")]
    WebDriver(#[from] WebDriverError),
}

/// An HTTP answer fetched outside the browser, with the browser's cookies.
#[derive(Debug, Clone)]
pub struct RawPage {
    /// The status code.
    pub status: u16,
    /// The `Content-Type` header, empty if absent.
    pub content_type: String,
    /// All response headers (name, value), names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body as text (lossy UTF-8).
    pub body: String,
}

impl RawPage {
    /// The first value of header `name` (lower case), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Paths of the browser binaries, found once per test binary.
#[derive(Debug, Clone)]
pub struct Tools {
    /// chromedriver.
    pub chromedriver: PathBuf,
    /// The Chromium binary chromedriver starts.
    pub chromium: PathBuf,
    /// Chromium's version, e.g. `156.0.8078.108`.
    pub version: String,
}

/// Whether CI runs us (`CI` set to anything but empty, `0` or `false`).
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !matches!(value.as_str(), "" | "0" | "false"))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// The `major.minor.build.patch` version a binary prints for `--version`.
fn version_of(binary: &Path) -> Result<String, String> {
    let output = Command::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("{} --version: {error}", binary.display()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace()
        .find(|word| {
            word.split('.').count() == 4 && word.split('.').all(|part| part.parse::<u32>().is_ok())
        })
        .map(str::to_string)
        .ok_or_else(|| {
            format!(
                "{} --version printed no version: {}",
                binary.display(),
                text.trim()
            )
        })
}

fn major(version: &str) -> &str {
    version.split('.').next().unwrap_or_default()
}

fn find_tools() -> Result<Tools, String> {
    let chromedriver = std::env::var_os("INSPAY_CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(CHROMEDRIVER_DEFAULT));
    if !is_executable(&chromedriver) {
        return Err(format!(
            "no chromedriver at {} (apt-get install chromium-driver, or set INSPAY_CHROMEDRIVER)",
            chromedriver.display()
        ));
    }
    let driver_version = version_of(&chromedriver)?;
    let candidates: Vec<PathBuf> = match std::env::var_os("INSPAY_CHROMIUM") {
        Some(path) => vec![PathBuf::from(path)],
        None => CHROMIUM_DEFAULTS.iter().map(PathBuf::from).collect(),
    };
    let mut tried = vec![];
    for chromium in candidates {
        if !is_executable(&chromium) {
            tried.push(format!("{}: missing", chromium.display()));
            continue;
        }
        match version_of(&chromium) {
            Ok(version) if major(&version) == major(&driver_version) => {
                return Ok(Tools {
                    chromedriver,
                    chromium,
                    version,
                });
            }
            Ok(version) => tried.push(format!(
                "{}: version {version}, chromedriver is {driver_version}",
                chromium.display()
            )),
            Err(error) => tried.push(error),
        }
    }
    Err(format!(
        "no Chromium that works with chromedriver {driver_version} ({}); apt-get install \
         chromium, or set INSPAY_CHROMIUM",
        tried.join("; ")
    ))
}

/// The browser binaries, or `None` after printing a `SKIP` line when they are missing. Under
/// CI a missing browser fails the test instead: CI must install it.
pub fn tools() -> Option<&'static Tools> {
    static TOOLS: OnceLock<Result<Tools, String>> = OnceLock::new();
    match TOOLS.get_or_init(find_tools) {
        Ok(tools) => Some(tools),
        Err(why) if in_ci() => panic!(
            "browser tests need Chromium and chromedriver under CI: {why}. \
             .ci/run installs chromium chromium-driver fonts-wqy-zenhei"
        ),
        Err(why) => {
            let test = std::thread::current()
                .name()
                .unwrap_or("browser test")
                .to_string();
            // Straight to the process's stderr: libtest would hide an `eprintln!` of a test
            // that passes.
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "SKIP {test}: {why}");
            None
        }
    }
}

/// Whether the browser tests can run here; prints the `SKIP` line (or fails under CI) like
/// [`tools`]. For a test that wants to know before it spawns servers.
pub fn available() -> bool {
    tools().is_some()
}

/// The value of `--ignore-certificate-errors-spki-list` for these certificates: for each, the
/// base64 of the SHA-256 of its SubjectPublicKeyInfo DER, comma-separated.
///
/// SHA-256 is used here only because Chromium's flag is defined with it; the digest comes from
/// rustls' *ring* provider (the hash of its TLS 1.3 SHA-256 suite), already a dependency.
pub fn spki_pins(certificates: &[CertificateDer<'static>]) -> String {
    use x509_cert::der::{Decode, Encode};
    certificates
        .iter()
        .map(|certificate| {
            let parsed = x509_cert::Certificate::from_der(certificate.as_ref())
                .expect("the development CA parses");
            let spki = parsed
                .tbs_certificate()
                .subject_public_key_info()
                .to_der()
                .expect("SPKI encodes");
            base64::engine::general_purpose::STANDARD.encode(sha256(&spki))
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// SHA-256, for [`spki_pins`] only (Chromium's flag is defined with it): the hash of rustls'
/// *ring* TLS 1.3 SHA-256 suite, so no hash crate is added.
fn sha256(bytes: &[u8]) -> Vec<u8> {
    let suite = rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256
        .tls13()
        .expect("a TLS 1.3 suite");
    let hash = suite.common.hash_provider;
    assert_eq!(
        hash.algorithm(),
        rustls::crypto::hash::HashAlgorithm::SHA256,
        "the suite's hash is SHA-256"
    );
    hash.hash(bytes).as_ref().to_vec()
}

/// One chromedriver in its own process group, ended with the group on drop.
struct Chromedriver {
    leader: Child,
    /// The pipe the group leader waits on; dropping it ends the group.
    lifeline: Option<ChildStdin>,
    port: u16,
    /// `TMPDIR` of chromedriver and Chromium, and the log; removed after the group ended.
    dir: tempfile::TempDir,
}

impl Chromedriver {
    async fn start(tools: &Tools) -> Result<Chromedriver, String> {
        let dir = tempfile::Builder::new()
            .prefix("inspay-browser-")
            .tempdir()
            .map_err(|error| format!("temporary directory: {error}"))?;
        let log_path = dir.path().join("chromedriver.log");
        let log = std::fs::File::create(&log_path).map_err(|error| format!("log: {error}"))?;
        let log_err = log.try_clone().map_err(|error| format!("log: {error}"))?;
        let mut leader = Command::new("/bin/sh")
            .arg("-c")
            .arg(GROUP_LEADER_SCRIPT)
            .arg(&tools.chromedriver)
            .arg(dir.path())
            .env("TMPDIR", dir.path())
            .stdin(Stdio::piped())
            .stdout(log)
            .stderr(log_err)
            .process_group(0)
            .spawn()
            .map_err(|error| format!("starting {}: {error}", tools.chromedriver.display()))?;
        let lifeline = leader.stdin.take();
        let mut driver = Chromedriver {
            leader,
            lifeline,
            port: 0,
            dir,
        };
        let deadline = Instant::now() + CHROMEDRIVER_START_TIMEOUT;
        loop {
            let text = driver.log();
            if let Some(port) = started_port(&text) {
                driver.port = port;
                return Ok(driver);
            }
            let exited = matches!(driver.leader.try_wait(), Ok(Some(_)));
            if exited || text.contains("Exiting") || Instant::now() > deadline {
                return Err(format!("chromedriver did not start: {}", text.trim()));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The log so far (chromedriver's and Chromium's output), at most the last 4 KiB.
    fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(self.dir.path().join("chromedriver.log")) {
            let _ = file.read_to_string(&mut text);
        }
        let start = text.len().saturating_sub(4096);
        let start = (start..=text.len())
            .find(|at| text.is_char_boundary(*at))
            .unwrap_or(text.len());
        text[start..].to_string()
    }

    fn process_group(&self) -> u32 {
        self.leader.id()
    }
}

/// The port in chromedriver's "started successfully on port N." line.
fn started_port(log: &str) -> Option<u16> {
    let at = log.find(STARTED_MARKER)? + STARTED_MARKER.len();
    let digits: String = log[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|port| *port != 0)
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // End of input: the group leader stops the whole group.
        drop(self.lifeline.take());
        let deadline = Instant::now() + CHROMEDRIVER_STOP_TIMEOUT;
        loop {
            match self.leader.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                _ => break,
            }
        }
        // The leader did not finish in time: kill the group by its id.
        let group = format!("-{}", self.process_group());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.leader.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(driver) = self.driver.take() {
            // Not quit: no synchronous quit (see [`Browser`]); the group's end stops Chromium.
            let _ = driver.leak();
        }
    }
}

/// A headless Chromium session against one test server.
///
/// [`Browser::quit`] ends the session, then chromedriver's process group. Dropped without it
/// (a test that panicked), the group is ended at once (`TERM`, then `KILL`), Chromium with it:
/// quitting the session synchronously there, as thirtyfour's own `Drop` would, blocks the
/// thread, and under `#[tokio::test]` the test server runs on that same thread, so Chromium
/// waiting for the server would stall the quit for the whole request timeout (seen: 60 s).
pub struct Browser {
    /// `None` once quit.
    driver: Option<WebDriver>,
    chromedriver: Chromedriver,
    base_url: String,
    ca: Vec<CertificateDer<'static>>,
    device: Device,
    lang: Lang,
}

impl Browser {
    /// A desktop session trusting `app`'s development CA, or `None` (after a `SKIP` line)
    /// where Chromium is missing outside CI.
    pub async fn desktop(app: &TestApp, lang: Lang) -> Option<Browser> {
        Browser::open(app, Device::Desktop, lang).await
    }

    /// A phone session (mobile emulation) trusting `app`'s development CA, or `None` (after a
    /// `SKIP` line) where Chromium is missing outside CI.
    pub async fn phone(app: &TestApp, lang: Lang) -> Option<Browser> {
        Browser::open(app, Device::Phone, lang).await
    }

    /// A session of `device` and `lang` trusting `app`'s development CA (and nothing else).
    pub async fn open(app: &TestApp, device: Device, lang: Lang) -> Option<Browser> {
        let tools = tools()?;
        // With `--port=0` chromedriver picks a free port for IPv6 and then binds the same
        // number on IPv4, which another process may hold ("IPv4 port not available"): seen
        // once in a parallel run. A fresh start picks another port.
        let mut started = Chromedriver::start(tools).await;
        for _ in 0..2 {
            if started.is_ok() {
                break;
            }
            started = Chromedriver::start(tools).await;
        }
        let chromedriver = started.unwrap_or_else(|error| panic!("{error}"));
        let caps = capabilities(tools, device, lang, &spki_pins(&app.ca));
        let url = format!("http://127.0.0.1:{}", chromedriver.port);
        let driver = match WebDriver::builder(url, caps)
            .request_timeout(WEBDRIVER_REQUEST_TIMEOUT)
            .await
        {
            Ok(driver) => driver,
            Err(error) => panic!(
                "Chromium session did not start: {error}\n{}",
                chromedriver.log()
            ),
        };
        let timeouts =
            TimeoutConfiguration::new(Some(SCRIPT_TIMEOUT), Some(PAGE_LOAD_TIMEOUT), None);
        if let Err(error) = driver.update_timeouts(timeouts).await {
            let _ = driver.quit().await;
            panic!("setting timeouts: {error}");
        }
        Some(Browser {
            driver: Some(driver),
            chromedriver,
            base_url: app.url(""),
            ca: app.ca.clone(),
            device,
            lang,
        })
    }

    /// Quits the session, then ends its chromedriver's group. A `Browser` dropped without it
    /// only ends the group (see [`Browser`]): call this at the end of every test.
    pub async fn quit(mut self) {
        if let Some(driver) = self.driver.take()
            && let Err(error) = driver.quit().await
        {
            eprintln!("quitting the browser session: {error}");
        }
        // Dropping `self` ends chromedriver's group.
    }

    /// The thirtyfour session, for what the helpers do not cover.
    pub fn driver(&self) -> &WebDriver {
        self.driver
            .as_ref()
            .expect("the session is open until quit")
    }

    /// The emulated device.
    pub fn device(&self) -> Device {
        self.device
    }

    /// The browser language.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The id of the process group of chromedriver and its Chromium.
    pub fn process_group(&self) -> u32 {
        self.chromedriver.process_group()
    }

    /// The temporary directory of chromedriver and Chromium (their `TMPDIR`), removed when
    /// the browser ends.
    pub fn temp_dir(&self) -> PathBuf {
        self.chromedriver.dir.path().to_path_buf()
    }

    /// The test server's URL of `path` (`https://localhost:<port><path>`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// `/web/<lang>/<page>` in this browser's language, e.g. `web_path("sign-in")`.
    pub fn web_path(&self, page: &str) -> String {
        format!("/web/{}/{page}", self.lang.code())
    }

    /// Loads `path` of the test server and checks that Chromium shows it: a certificate
    /// interstitial or a browser error page is an error.
    pub async fn goto(&self, path: &str) -> Result<Page, PageError> {
        self.goto_url(&self.url(path)).await
    }

    /// Loads an absolute URL, with the same checks as [`Browser::goto`].
    pub async fn goto_url(&self, url: &str) -> Result<Page, PageError> {
        if let Err(error) = self.driver().goto(url).await {
            // Some network errors fail the navigation command itself instead of showing an
            // error page; chromedriver names them `net::ERR_...`.
            let text = error.to_string();
            if let Some(at) = text.find("net::ERR_") {
                let reason = text[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':'))
                    .collect();
                return Err(PageError::BrowserErrorPage {
                    url: url.to_string(),
                    reason,
                });
            }
            return Err(error.into());
        }
        self.page(url).await
    }

    /// The page now shown, checked like [`Browser::goto`] (after a click that navigates,
    /// [`Browser::back`] or a form submission).
    pub async fn current_page(&self) -> Result<Page, PageError> {
        let url = self.driver().current_url().await?.to_string();
        self.page(&url).await
    }

    async fn page(&self, asked: &str) -> Result<Page, PageError> {
        // Chromium's own error pages (the certificate interstitial included) are documents at
        // chrome-error://chromewebdata/ whatever URL was asked for; the interstitial's body
        // has class "ssl", network errors "neterror". The title is localised, so not used.
        let probe = self
            .driver()
            .execute(
                "return [location.href, document.title, \
                 document.body ? document.body.className : ''];",
                Vec::new(),
            )
            .await?;
        let [url, title, class]: [String; 3] = probe.convert()?;
        if url.starts_with("chrome-error:") {
            return Err(if class.split_whitespace().any(|name| name == "ssl") {
                PageError::CertificateRefused {
                    url: asked.to_string(),
                    title,
                }
            } else {
                PageError::BrowserErrorPage {
                    url: asked.to_string(),
                    reason: class,
                }
            });
        }
        let source = self.driver().source().await?;
        Ok(Page { url, title, source })
    }

    /// The element matching `css`, waiting up to [`WAIT_TIMEOUT`] for it to appear.
    pub async fn wait_for(&self, css: &str) -> WebElement {
        let deadline = Instant::now() + WAIT_TIMEOUT;
        loop {
            match self.driver().find(By::Css(css)).await {
                Ok(element) => return element,
                Err(error) if Instant::now() >= deadline => {
                    let url = self.current_url_text().await;
                    panic!(
                        "no element {css:?} on {url} after {}s: {error}",
                        WAIT_TIMEOUT.as_secs()
                    )
                }
                Err(_) => tokio::time::sleep(WAIT_INTERVAL).await,
            }
        }
    }

    /// Whether an element matches `css` now (no waiting).
    pub async fn exists(&self, css: &str) -> bool {
        self.driver()
            .find_all(By::Css(css))
            .await
            .is_ok_and(|found| !found.is_empty())
    }

    /// Clears the input matching `css` and types `text` into it. A failure names the selector,
    /// never the text (it may be a password or a card number).
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.wait_for(css).await;
        if let Err(error) = element.clear().await {
            panic!("clearing {css:?}: {error}");
        }
        if let Err(error) = element.send_keys(text).await {
            panic!("typing into {css:?} failed: {}", error_kind(&error));
        }
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        let element = self.wait_for(css).await;
        if let Err(error) = element.click().await {
            panic!("clicking {css:?}: {error}");
        }
    }

    /// The rendered text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        let element = self.wait_for(css).await;
        element
            .text()
            .await
            .unwrap_or_else(|error| panic!("text of {css:?}: {error}"))
    }

    /// The `value` property of the element matching `css` (what an input holds now, which
    /// the DOM source does not show), empty if it has none.
    pub async fn prop_value(&self, css: &str) -> String {
        let element = self.wait_for(css).await;
        element
            .prop("value")
            .await
            .unwrap_or_else(|error| panic!("value of {css:?}: {error}"))
            .unwrap_or_default()
    }

    /// The DOM serialised now. Typed input values are not in it (see [`Browser::prop_value`]);
    /// for what the server sent, see [`Browser::fetch_raw`].
    pub async fn source(&self) -> String {
        self.driver()
            .source()
            .await
            .unwrap_or_else(|error| panic!("page source: {error}"))
    }

    /// The document's title.
    pub async fn title(&self) -> String {
        self.driver()
            .title()
            .await
            .unwrap_or_else(|error| panic!("title: {error}"))
    }

    /// The document's URL now.
    pub async fn current_url(&self) -> String {
        self.driver()
            .current_url()
            .await
            .unwrap_or_else(|error| panic!("current URL: {error}"))
            .to_string()
    }

    async fn current_url_text(&self) -> String {
        match self.driver().current_url().await {
            Ok(url) => url.to_string(),
            Err(_) => "(unknown page)".to_string(),
        }
    }

    /// The browser's Back button; the page it lands on is checked like [`Browser::goto`].
    pub async fn back(&self) -> Page {
        if let Err(error) = self.driver().back().await {
            panic!("back: {error}");
        }
        self.current_page()
            .await
            .unwrap_or_else(|error| panic!("after back: {error}"))
    }

    /// The cookies of the current page, HttpOnly ones included.
    pub async fn cookies(&self) -> Vec<Cookie> {
        self.driver()
            .get_all_cookies()
            .await
            .unwrap_or_else(|error| panic!("cookies: {error}"))
    }

    /// Runs `script` in the page (`return ...;` gives its value).
    pub async fn script(&self, script: &str) -> serde_json::Value {
        self.driver()
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|error| panic!("script: {error}"))
            .json()
            .clone()
    }

    /// Fetches `path` of the test server outside the browser, trusting only the test server's
    /// CA, with the browser's cookies and language: the HTTP response body as the server sent
    /// it, for checks the DOM cannot make (no full card, ID or mobile number in the HTML).
    pub async fn fetch_raw(&self, path: &str) -> RawPage {
        let cookies = cookie_header(&self.cookies().await);
        let client = crate::helpers::client(&self.ca, None);
        let mut request = client
            .get(self.url(path))
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .header("accept-language", self.lang.accept_languages())
            .header("sec-fetch-site", "same-origin")
            .header("sec-fetch-mode", "navigate")
            .header("sec-fetch-dest", "document");
        if !cookies.is_empty() {
            request = request.header("cookie", cookies);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|error| panic!("fetching {path}: {error}"));
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let content_type = headers
            .iter()
            .find(|(name, _)| name == "content-type")
            .map(|(_, value)| value.clone())
            .unwrap_or_default();
        let body = response
            .bytes()
            .await
            .unwrap_or_else(|error| panic!("body of {path}: {error}"));
        RawPage {
            status,
            content_type,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// Saves a PNG of the viewport to `<target>/web-screenshots/<name>.png` and, with
    /// `INSPAY_UPDATE_SCREENSHOTS=1`, to `docs/images/web/<name>.png` for the user guide.
    /// Prints and returns the first path. `name`: lower-case letters, digits and `-`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        self.save_screenshot(name, true).await
    }

    /// Like [`Browser::screenshot`], but never into the docs: for a picture a test checks or
    /// keeps for debugging, not one for the user guide.
    pub async fn snapshot(&self, name: &str) -> PathBuf {
        self.save_screenshot(name, false).await
    }

    async fn save_screenshot(&self, name: &str, for_docs: bool) -> PathBuf {
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "screenshot name {name:?}: use lower-case letters, digits and '-'"
        );
        if self.lang == Lang::Zh {
            warn_without_cjk_font();
        }
        let png = self
            .driver()
            .screenshot_as_png()
            .await
            .unwrap_or_else(|error| panic!("screenshot {name}: {error}"));
        let path = screenshot_dir().join(format!("{name}.png"));
        write_file(&path, &png);
        eprintln!("screenshot: {}", path.display());
        if for_docs && std::env::var("INSPAY_UPDATE_SCREENSHOTS").is_ok_and(|value| value == "1") {
            let docs = workspace_root()
                .join("docs/images/web")
                .join(format!("{name}.png"));
            write_file(&docs, &png);
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "screenshot: {}", docs.display());
        }
        path
    }
}

/// The capabilities of a session: Debian's Chromium, headless, as root (no sandbox), the
/// language, the device, and only the pinned CA trusted.
fn capabilities(
    tools: &Tools,
    device: Device,
    lang: Lang,
    pins: &str,
) -> thirtyfour::ChromeCapabilities {
    let mut caps = DesiredCapabilities::chrome();
    let binary = tools.chromium.to_str().expect("UTF-8 path of Chromium");
    caps.set_binary(binary).expect("binary");
    let mut args = vec![
        "--headless=new".to_string(),
        // Chromium refuses to run as root (as in CI) with its sandbox.
        "--no-sandbox".to_string(),
        "--disable-dev-shm-usage".to_string(),
        format!("--lang={}", lang.locale()),
        format!("--ignore-certificate-errors-spki-list={pins}"),
        "--no-first-run".to_string(),
        "--no-default-browser-check".to_string(),
        "--disable-background-networking".to_string(),
        "--disable-component-update".to_string(),
    ];
    if device == Device::Desktop {
        args.push(format!(
            "--window-size={DESKTOP_WIDTH_PX},{DESKTOP_HEIGHT_PX}"
        ));
    }
    for arg in &args {
        caps.add_arg(arg).expect("arg");
    }
    caps.add_experimental_option(
        "prefs",
        serde_json::json!({ "intl.accept_languages": lang.accept_languages() }),
    )
    .expect("prefs");
    if device == Device::Phone {
        // `--window-size` cannot go below Chrome's minimum window width (500 px); mobile
        // emulation gives the real phone viewport.
        caps.add_experimental_option(
            "mobileEmulation",
            serde_json::json!({
                "deviceMetrics": {
                    "width": PHONE_WIDTH_PX,
                    "height": PHONE_HEIGHT_PX,
                    "pixelRatio": PHONE_PIXEL_RATIO,
                    "mobile": true,
                    "touch": true,
                }
            }),
        )
        .expect("mobile emulation");
    }
    caps
}

/// The `Cookie` header a browser would send for these cookies.
pub fn cookie_header(cookies: &[Cookie]) -> String {
    cookies
        .iter()
        .map(|cookie| format!("{}={}", cookie.name, cookie.value))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Panics if `text` holds `secret`, naming `what` but never printing the secret: for checks
/// that a page masks a card, ID or mobile number.
pub fn assert_hides(text: &str, what: &str, secret: &str) {
    assert!(!secret.is_empty(), "assert_hides({what}): empty secret");
    assert!(!text.contains(secret), "the page holds the full {what}");
}

/// The kind of a WebDriver error (its variant's name) without its message, which may echo
/// typed text.
fn error_kind(error: &WebDriverError) -> String {
    let debug = format!("{:?}", error.as_inner());
    debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::canonicalize(&root).unwrap_or(root)
}

/// `$CARGO_TARGET_DIR/web-screenshots`, else `<workspace>/target/web-screenshots`.
pub fn screenshot_dir() -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    };
    target.join("web-screenshots")
}

fn write_file(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .unwrap_or_else(|error| panic!("creating {}: {error}", parent.display()));
    }
    std::fs::write(path, bytes)
        .unwrap_or_else(|error| panic!("writing {}: {error}", path.display()));
}

/// Chinese pages render as boxes without a CJK font (Debian: fonts-wqy-zenhei). Refuses to
/// write such screenshots into the docs; otherwise warns once.
fn warn_without_cjk_font() {
    static CHECKED: OnceLock<bool> = OnceLock::new();
    let has_font = *CHECKED.get_or_init(|| {
        Command::new("fc-list")
            .args([":lang=zh", "family"])
            .output()
            .is_ok_and(|output| !output.stdout.is_empty())
    });
    if has_font {
        return;
    }
    assert!(
        std::env::var("INSPAY_UPDATE_SCREENSHOTS").map_or(true, |value| value != "1"),
        "no CJK font (apt-get install fonts-wqy-zenhei): Chinese screenshots would show boxes"
    );
    static WARNED: OnceLock<()> = OnceLock::new();
    WARNED.get_or_init(|| {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "warning: no CJK font (apt-get install fonts-wqy-zenhei): Chinese text shows as boxes"
        );
    });
}

/// Width and height of a PNG, from its IHDR chunk.
pub fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(
        png.len() > 24 && png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "not a PNG"
    );
    let word = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
    (word(16), word(20))
}

/// The live processes (pid, command) in process group `group`. Zombies are left out: they
/// have ended and hold nothing but their process-table entry until their parent (init, for
/// Chromium's processes once chromedriver is gone) reaps them.
pub fn processes_in_group(group: u32) -> Vec<(u32, String)> {
    let output = Command::new("ps")
        .args(["-eo", "pid=,pgid=,stat=,comm="])
        .output()
        .expect("ps runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let pid = words.next()?.parse::<u32>().ok()?;
            let pgid = words.next()?.parse::<u32>().ok()?;
            let zombie = words.next()?.starts_with('Z');
            let command = words.collect::<Vec<_>>().join(" ");
            (pgid == group && !zombie).then_some((pid, command))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The port parser reads chromedriver's start line and refuses port 0.
    #[test]
    fn reads_the_port_chromedriver_printed() {
        let log = "Starting ChromeDriver 156.0.8078.108 (x) on port 0\n\
                   Only local connections are allowed.\n\
                   ChromeDriver was started successfully on port 35723.\n";
        assert_eq!(started_port(log), Some(35723));
        assert_eq!(started_port("Starting ChromeDriver on port 0\n"), None);
        assert_eq!(
            started_port("ChromeDriver was started successfully on port 0."),
            None
        );
    }

    /// The pin's hash is SHA-256 (FIPS 180-4 example "abc").
    #[test]
    fn pin_hash_is_sha256() {
        assert_eq!(
            hex::encode(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    /// The cookie header joins name=value pairs as a browser does.
    #[test]
    fn cookie_header_joins_pairs() {
        let cookies = vec![Cookie::new("a", "1"), Cookie::new("__Host-b", "x y")];
        assert_eq!(cookie_header(&cookies), "a=1; __Host-b=x y");
        assert_eq!(cookie_header(&[]), "");
    }
}
