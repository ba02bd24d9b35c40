//! Smoke tests of the browser harness itself: the pinned development CA loads the test
//! server's pages on desktop and phone, any other server's certificate is refused, the browser
//! leaves no process behind, and the raw fetch sees what the server sent.

use crate::browser::{
    Browser, Device, Lang, PHONE_HEIGHT_PX, PHONE_PIXEL_RATIO, PHONE_WIDTH_PX, PageError,
    processes_in_group,
};
use crate::helpers::{TestApp, spawn_with, test_settings};
use std::time::{Duration, Instant};

/// A test server on SQLite: the harness tests need no second database.
async fn sqlite_app() -> TestApp {
    let dir = tempfile::tempdir().expect("dir");
    let settings = test_settings(dir.path(), "");
    spawn_with("sqlite", settings, dir).await
}

/// Waits until process group `group` is empty (killed processes can take a moment to be
/// reaped), failing with what is left.
async fn assert_group_ends(group: u32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = processes_in_group(group);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "processes of browser group {group} left behind: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The command lines of the processes in `group`.
fn command_lines(group: u32) -> Vec<String> {
    let output = std::process::Command::new("ps")
        .args(["-eo", "pgid=,args="])
        .output()
        .expect("ps runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let (pgid, args) = line.trim_start().split_once(' ')?;
            (pgid.parse::<u32>().ok()? == group).then(|| args.to_string())
        })
        .collect()
}

/// JSON routes of the test server load in a desktop and a phone session that trust only its
/// development CA (by SPKI pin, no blanket certificate bypass): the page is the server's, the
/// language is the one asked for, the phone screenshot has the emulated phone's pixels, and
/// quitting leaves no chromedriver or Chromium process.
#[tokio::test]
async fn pinned_ca_loads_json_routes_on_desktop_and_phone() {
    if !crate::browser::available() {
        return;
    }
    let app = sqlite_app().await;
    for (device, lang) in [(Device::Desktop, Lang::En), (Device::Phone, Lang::Zh)] {
        let browser = Browser::open(&app, device, lang)
            .await
            .expect("browser available");
        let group = browser.process_group();

        let page = browser.goto("/health/live").await.expect("health loads");
        assert_eq!(page.url, app.url("/health/live"));
        assert!(
            page.source.contains(r#"{"status":"live"}"#),
            "{}",
            page.source
        );
        assert!(browser.text("body").await.contains(r#""status":"live""#));

        let page = browser
            .goto("/v1/openapi.json")
            .await
            .expect("OpenAPI document loads");
        assert!(page.source.contains(r#""openapi":"3.1.0""#));

        // The language reaches the page and the server.
        let language = browser.script("return navigator.language;").await;
        assert_eq!(language, lang.locale(), "{device:?}");

        // Only the pin: no blanket bypass on Chromium's command line or in the session.
        let commands = command_lines(group);
        let pin = format!(
            "--ignore-certificate-errors-spki-list={}",
            crate::browser::spki_pins(&app.ca)
        );
        assert!(
            commands.iter().any(|command| command.contains(&pin)),
            "a Chromium process carries the pin: {commands:?}"
        );
        assert!(
            commands.iter().all(|command| {
                !command
                    .split_whitespace()
                    .any(|arg| arg == "--ignore-certificate-errors")
            }),
            "{commands:?}"
        );
        let session = browser.driver().capabilities();
        assert_eq!(
            session.get("acceptInsecureCerts"),
            Some(&serde_json::json!(false))
        );

        browser.goto("/health/live").await.expect("health loads");
        let path = browser
            .snapshot(&format!("smoke-health-{}", device.name()))
            .await;
        let (width, height) =
            crate::browser::png_size(&std::fs::read(&path).expect("screenshot saved"));
        match device {
            Device::Phone => assert_eq!(
                (width, height),
                (
                    PHONE_WIDTH_PX * PHONE_PIXEL_RATIO,
                    PHONE_HEIGHT_PX * PHONE_PIXEL_RATIO
                )
            ),
            Device::Desktop => assert_eq!(width, crate::browser::DESKTOP_WIDTH_PX),
        }

        let temp = browser.temp_dir();
        browser.quit().await;
        assert_group_ends(group).await;
        assert!(!temp.exists(), "Chromium's temporary files are removed");
    }
    app.stop().await;
}

/// A browser that pins one test server's development CA refuses another test server (its own,
/// different development CA): `goto` reports Chromium's certificate interstitial, and a closed
/// port is reported as an error page; the pinned server still loads in the same session.
#[tokio::test]
async fn another_servers_certificate_is_refused() {
    if !crate::browser::available() {
        return;
    }
    let pinned = sqlite_app().await;
    let other = sqlite_app().await;
    assert_ne!(pinned.ca, other.ca, "each test server has its own CA");
    let browser = Browser::desktop(&pinned, Lang::En)
        .await
        .expect("browser available");

    match browser.goto_url(&other.url("/health/live")).await {
        Err(PageError::CertificateRefused { url, title }) => {
            assert_eq!(url, other.url("/health/live"));
            assert!(!title.is_empty());
        }
        Err(error) => panic!("expected the certificate interstitial, got {error}"),
        Ok(page) => panic!("a server with another CA was trusted: {}", page.url),
    }

    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    match browser
        .goto_url(&format!("https://localhost:{closed}/"))
        .await
    {
        Err(PageError::BrowserErrorPage { reason, .. }) => {
            assert!(
                reason.contains("ERR_CONNECTION_REFUSED") || reason.contains("neterror"),
                "{reason}"
            );
        }
        other => panic!("expected a network error page, got {other:?}"),
    }

    browser
        .goto("/health/live")
        .await
        .expect("the pinned server loads");
    browser.quit().await;
    pinned.stop().await;
    other.stop().await;
}

/// A test that panics with a browser open leaves no chromedriver or Chromium process and no
/// temporary profile behind: the session quits and the process group ends while the panic
/// unwinds.
#[tokio::test]
async fn a_panicking_test_leaves_no_browser_behind() {
    if !crate::browser::available() {
        return;
    }
    let app = sqlite_app().await;
    let (sender, receiver) = std::sync::mpsc::channel();
    let app = std::sync::Arc::new(app);
    let task_app = app.clone();
    let task = tokio::spawn(async move {
        let browser = Browser::phone(&task_app, Lang::En)
            .await
            .expect("browser available");
        browser.goto("/health/live").await.expect("loads");
        sender
            .send((browser.process_group(), browser.temp_dir()))
            .expect("send");
        panic!("deliberate panic with a browser open (harness cleanup test)");
    });
    let outcome = task.await;
    assert!(
        outcome.as_ref().is_err_and(|error| error.is_panic()),
        "the task panicked"
    );
    let (group, temp) = receiver.recv().expect("the browser had started");
    assert_group_ends(group).await;
    assert!(!temp.exists(), "Chromium's temporary files are removed");
    if let Ok(app) = std::sync::Arc::try_unwrap(app) {
        app.stop().await;
    }
}

/// The raw fetch gets the server's own response body and headers, over TLS trusting the test
/// server's CA, with the browser's cookies.
#[tokio::test]
async fn raw_fetch_gets_the_server_response() {
    if !crate::browser::available() {
        return;
    }
    let app = sqlite_app().await;
    let browser = Browser::desktop(&app, Lang::Zh)
        .await
        .expect("browser available");
    browser.goto("/health/live").await.expect("loads");
    let raw = browser.fetch_raw("/health/live").await;
    assert_eq!(raw.status, 200);
    assert!(raw.content_type.starts_with("application/json"));
    assert_eq!(raw.body, r#"{"status":"live"}"#);
    assert!(raw.header("strict-transport-security").is_some());
    browser.quit().await;
    app.stop().await;
}

/// The web client's sign-in page, where the server has it: it loads in both languages on
/// desktop and phone, as HTML in the asked language, with a form, and the raw fetch carries
/// the browser's cookies; snapshots go to the target directory only. A server without the web
/// client yet skips this check.
#[tokio::test]
async fn web_sign_in_page_loads_where_present() {
    if !crate::browser::available() {
        return;
    }
    let app = sqlite_app().await;
    for (device, lang) in [
        (Device::Desktop, Lang::Zh),
        (Device::Desktop, Lang::En),
        (Device::Phone, Lang::Zh),
    ] {
        let browser = Browser::open(&app, device, lang)
            .await
            .expect("browser available");
        let path = browser.web_path("sign-in");
        let raw = browser.fetch_raw(&path).await;
        if raw.status == 404 {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIP web_sign_in_page_loads_where_present: no {path} on this server yet"
            );
            browser.quit().await;
            break;
        }
        assert_eq!(raw.status, 200, "{path}");
        assert!(raw.content_type.starts_with("text/html"), "{path}");
        let page = browser.goto(&path).await.expect("sign-in page loads");
        assert!(!page.title.is_empty(), "{path} has a title");
        let html_lang = browser
            .script("return document.documentElement.lang;")
            .await;
        assert!(
            html_lang
                .as_str()
                .is_some_and(|value| value.starts_with(lang.code())),
            "{path}: <html lang> is {html_lang}"
        );
        assert!(browser.exists("form").await, "{path} has a form");
        assert_raw_fetch_sends_cookies(&app, &browser, &path).await;
        browser
            .snapshot(&format!("smoke-sign-in-{}-{}", lang.code(), device.name()))
            .await;
        browser.quit().await;
    }
    app.stop().await;
}

/// Where the page binds its form to an HttpOnly cookie (a synchroniser token in
/// `input[name=csrf]` derived from the cookie), the raw fetch sees the same token as the
/// browser, and a fetch without the cookies does not: so the raw fetch sends the browser's
/// HttpOnly cookies. A page without both is not checked.
async fn assert_raw_fetch_sends_cookies(app: &TestApp, browser: &Browser, path: &str) {
    let cookies = browser.cookies().await;
    let http_only = cookies.iter().any(|cookie| cookie.http_only == Some(true));
    if !http_only || !browser.exists(r#"input[name="csrf"]"#).await {
        eprintln!("note: {path} has no HttpOnly cookie and csrf input; raw cookies not checked");
        return;
    }
    let in_browser = browser.prop_value(r#"input[name="csrf"]"#).await;
    assert!(!in_browser.is_empty());
    let raw = browser.fetch_raw(path).await;
    assert_eq!(raw.status, 200, "{path}");
    assert_eq!(
        input_value(&raw.body, "csrf").as_deref(),
        Some(in_browser.as_str()),
        "{path}: the raw fetch carries the browser's cookies"
    );
    let without = crate::helpers::client(&app.ca, None)
        .get(app.url(path))
        .send()
        .await
        .expect("fetch without cookies");
    let body = without.text().await.expect("body");
    assert_ne!(
        input_value(&body, "csrf").as_deref(),
        Some(in_browser.as_str()),
        "{path}: without the cookies the token differs"
    );
}

/// The `value` of the first `<input>` named `name` in `html`, if any.
fn input_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!(r#"name="{name}""#))?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    if !tag.starts_with("<input") {
        return None;
    }
    let value_at = tag.find(r#"value=""#)? + r#"value=""#.len();
    let value_end = value_at + tag[value_at..].find('"')?;
    Some(tag[value_at..value_end].to_string())
}

/// The pin is what `openssl` computes for Chromium's flag (SPKI DER, SHA-256, base64), so the
/// harness pins the key it means to.
#[test]
fn spki_pin_matches_openssl() {
    use std::process::{Command, Stdio};
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let der = certified.cert.der().clone();
    let dir = tempfile::tempdir().expect("dir");
    let cert_path = dir.path().join("ca.der");
    std::fs::write(&cert_path, der.as_ref()).expect("write");
    let script = "openssl x509 -inform der -in \"$1\" -pubkey -noout \
                  | openssl pkey -pubin -outform der \
                  | openssl dgst -sha256 -binary | openssl base64 -A";
    let output = Command::new("sh")
        .args(["-c", script, "sh"])
        .arg(&cert_path)
        .stderr(Stdio::inherit())
        .output()
        .expect("openssl is installed (.ci/run installs it)");
    assert!(output.status.success());
    let expected = String::from_utf8(output.stdout).expect("base64");
    assert_eq!(crate::browser::spki_pins(&[der]), expected.trim());
}
