//! The customer's journey in a real browser, on both databases: registration with the
//! privacy notice, sign-in with two factors, paying the first premium with a step-up, binding
//! a payout account (another step-up) and filing a claim; then the lockout after three wrong
//! passwords and Back showing no password. Along the way, no page's HTML holds a full card,
//! ID or mobile number, and screenshots of the main pages are saved for the user guide.

use crate::browser::{Browser, Lang, assert_hides};
use crate::helpers::{TestApp, spawn_apps, spawn_apps_with};
use crate::people::{self, ID_NUMBER, NAME, PASSWORD, fresh_mobile};
use inspay_core::calendar::{date_at_ms, date_text};
use inspay_core::money::Amount;
use inspay_core::policy::{PaymentFrequency, ProductTerms};
use inspay_crypto::sm2::Sm2PrivateKey;
use inspay_identity::authorization::Role;
use inspay_identity::login_name::LoginName;
use inspay_identity::secret_hash::{ITERATIONS_MIN, SecretHash, SecretKind};
use inspay_store::accounts::{NewAccount, Population};
use inspay_store::funds::NewProduct;
use inspay_store::keys::Actor;
use serde_json::{Value, json};

const OFFICER: Actor<'static> = Actor {
    actor: "operator:security-officer",
    request_id: "test",
};

/// A staff account with one role and a registered SM2 key, whose private half is written to
/// a PKCS#8 PEM file (the software token the browser reads).
struct Staff {
    id: String,
    login: String,
    key_id: String,
    key_file: std::path::PathBuf,
}

async fn staff(app: &TestApp, login: &str, role: Role) -> Staff {
    let hash = SecretHash::new(
        SecretKind::LoginPassword,
        PASSWORD.as_bytes(),
        ITERATIONS_MIN,
    )
    .expect("hash");
    let (keyring, now) = (app.state.keyring(), app.state.now_ms());
    let store = &app.state.store;
    let account = NewAccount {
        population: Population::Staff,
        login_name: &LoginName::staff(login).expect("login"),
        person_id: None,
        password: &hash,
        must_change_password: false,
    };
    let id = store
        .account_create(&keyring, &account, OFFICER, now)
        .await
        .expect("staff");
    store
        .role_grant(&id, role, OFFICER, now)
        .await
        .expect("role");
    let key = Sm2PrivateKey::generate().expect("key");
    let key_id = store
        .staff_public_key_register(&id, key.public_key(), "soft token", OFFICER, now)
        .await
        .expect("staff key");
    let key_file = app.dir.path().join(format!("{login}.pem"));
    std::fs::write(&key_file, key.to_pkcs8_pem().expect("pem").as_bytes()).expect("key file");
    Staff {
        id,
        login: login.to_string(),
        key_id,
        key_file,
    }
}

/// Signs a staff member in: login, password and key id, then the challenge signed in the page
/// with the key file.
async fn staff_sign_in(app: &TestApp, member: &Staff) -> Browser {
    let browser = Browser::desktop(app, Lang::Zh).await.expect("browser");
    browser
        .goto(&browser.web_path("staff/sign-in"))
        .await
        .expect("staff sign-in page");
    browser.fill("#staff-login", &member.login).await;
    browser.fill("#password", PASSWORD).await;
    browser.fill("#key-id", &member.key_id).await;
    browser.click("#staff-sign-in-submit").await;
    browser.wait_for("#sign-form").await;
    choose_key_file(&browser, member).await;
    browser.click("#sign-submit").await;
    browser.wait_for("#console-links").await;
    browser
}

async fn choose_key_file(browser: &Browser, member: &Staff) {
    let input = browser.wait_for("#key-file").await;
    input
        .send_keys(member.key_file.to_string_lossy().as_ref())
        .await
        .expect("choose the key file");
}

/// A Luhn-valid card the simulated bank accepts (also a bank account it verifies).
const CARD: &str = "6222021234567890128";

/// Replaces the page's CAPTCHA with one whose answer the test knows, issued the way the
/// server issues them, and types the answer: the test reads the image as a person would.
async fn solve_captcha(app: &TestApp, browser: &Browser) {
    let known = people::captcha(app).await;
    let id = known["id"].as_str().expect("captcha id");
    browser
        .script(&format!(
            "document.querySelector('input[name=captcha_id]').value = {};",
            json!(id)
        ))
        .await;
    browser.fill("#captcha_answer", "ACDEF").await;
}

/// The SMS send interval is a minute: move the server's clock past it before each send.
fn next_minute(app: &TestApp) {
    app.state.advance_clock(61_000);
}

/// The step-up page: the CAPTCHA, the code sent to `mobile`, the code entered.
async fn step_up_by_sms(app: &TestApp, browser: &Browser, mobile: &str) {
    solve_captcha(app, browser).await;
    next_minute(app);
    let sent = people::sms_count(app, mobile);
    browser.click("#step-up-send").await;
    browser.wait_for("#step-up-verify-form").await;
    let (code, _) = people::next_sms(app, mobile, sent).await;
    browser.fill("#code", &code).await;
    browser.click("#step-up-verify").await;
}

/// The sign-in's second page: the CAPTCHA, then the code sent to `mobile` (returned once the
/// code page shows).
async fn send_sign_in_code(app: &TestApp, browser: &Browser, mobile: &str) -> String {
    solve_captcha(app, browser).await;
    next_minute(app);
    let sent = people::sms_count(app, mobile);
    browser.click("#send-code").await;
    browser.wait_for("#code-form").await;
    people::next_sms(app, mobile, sent).await.0
}

async fn product(app: &TestApp) -> String {
    let terms = ProductTerms::new(
        Amount::from_fen(50_000_000).expect("cover"),
        Amount::from_fen(36_000).expect("premium"),
        PaymentFrequency::Monthly,
        12,
        30,
    )
    .expect("terms");
    app.state
        .store
        .product_create(
            &app.state.keyring(),
            &NewProduct {
                code: "WEB-HEALTH".into(),
                name: "Web health cover".into(),
                terms,
            },
            "operator:test",
            "test",
            app.state.now_ms(),
        )
        .await
        .expect("product")
        .id
        .to_string()
}

/// The session token the browser holds in its HttpOnly cookie (WebDriver can read it; page
/// scripts cannot).
async fn session_token(browser: &Browser) -> String {
    let cookies = browser.cookies().await;
    let session = cookies
        .iter()
        .find(|cookie| cookie.name == "__Host-inspay_session")
        .expect("a session cookie");
    assert_eq!(session.http_only, Some(true));
    assert_eq!(session.secure, Some(true));
    session.value.clone()
}

/// Every page's HTML, as the server sent it and as the browser holds it, shows no full
/// mobile, ID or card number (clause 5.6.4.2).
async fn check_hidden(browser: &Browser, path: &str, mobile: &str) {
    let raw = browser.fetch_raw(path).await;
    let dom = browser.source().await;
    for (text, origin) in [(&raw.body, "response"), (&dom, "DOM")] {
        assert_hides(text, &format!("mobile number ({origin} of {path})"), mobile);
        assert_hides(text, &format!("ID number ({origin} of {path})"), ID_NUMBER);
        assert_hides(text, &format!("card number ({origin} of {path})"), CARD);
    }
}

/// Register, sign in with two factors, pay the first premium with a step-up, bind a payout
/// account and file a claim, all in Chromium; the adjuster then signs the decision and a
/// second officer the approval in the staff console, each with their key file, the payout
/// completes and the customer sees it. The sensitive fields leave the page encrypted, the
/// session cookie is HttpOnly, Secure and SameSite=Strict, and no page holds a full number.
/// req: 6.1.2, 6.1.4, 5.2.2.1-c, 5.2.2.1-d, 5.2.2.2-a, 5.2.2.2-c2, 5.6.4.2, 5.4.3.6, 5.1-b, 5.2.1.2, 5.3.2.2, 5.6.2-d2
#[tokio::test]
async fn a_customer_registers_signs_in_pays_and_files_a_claim_in_the_browser() {
    if !crate::browser::available() {
        return;
    }
    // Claims above 1,000 yuan need a second approver here.
    for app in spawn_apps_with(|settings| settings.payments.large_claim_fen = 100_000).await {
        let product_id = product(&app).await;
        let mobile = fresh_mobile();
        let browser = Browser::desktop(&app, Lang::Zh).await.expect("browser");

        // Registration: the notice, nothing ticked in advance, the mobile sealed.
        browser
            .goto(&browser.web_path("register"))
            .await
            .expect("register page");
        let ticked = browser
            .script("return document.querySelectorAll('input[type=checkbox]:checked').length;")
            .await;
        assert_eq!(ticked, json!(0), "{}: nothing is pre-ticked", app.label);
        browser.screenshot("register-zh").await;
        browser.click("#agree-required").await;
        browser.fill("#mobile", &mobile).await;
        solve_captcha(&app, &browser).await;
        browser.click("#register-code").await;
        browser.wait_for("#details-form").await;
        let (code, _) = people::last_sms(&app, &mobile);
        browser.fill("#mobile", &mobile).await;
        browser.fill("#code", &code).await;
        browser.fill("#legal-name", NAME).await;
        browser.fill("#id-number", ID_NUMBER).await;
        browser.fill("#password", PASSWORD).await;
        browser.screenshot("register-details-zh").await;
        browser.click("#register-submit").await;
        browser.wait_for("#customer-name").await;
        let token = session_token(&browser).await;

        // A policy applied for through the API with the browser's session (the portal shows
        // and pays policies; applying is the agent's or the app's job).
        let today = date_text(date_at_ms(app.state.now_ms()));
        let (status, applied) = people::answer(
            people::post(
                &app,
                "/v1/policies",
                Some(&token),
                None,
                json!({ "product_id": product_id, "start_on": today }),
            )
            .await,
        )
        .await;
        assert_eq!(status, 201, "{}: {applied}", app.label);

        // Sign out, then in again with the password and a text-message code.
        browser.click("#sign-out").await;
        browser.wait_for("#sign-in-form").await;
        browser.screenshot("sign-in-zh").await;
        browser.fill("#mobile", &mobile).await;
        browser.fill("#password", PASSWORD).await;
        browser.click("#sign-in-submit").await;
        browser.wait_for("#sms-form").await;
        let code = send_sign_in_code(&app, &browser, &mobile).await;
        assert!(browser.text("#sent-to").await.contains('*'), "masked");
        browser.screenshot("sign-in-code-zh").await;
        browser.fill("#code", &code).await;
        browser.click("#verify-code").await;
        browser.wait_for(".pay-link").await;
        browser.screenshot("policies-zh").await;
        check_hidden(&browser, &browser.web_path(""), &mobile).await;

        // The first premium needs a step-up.
        browser.click(".pay-link").await;
        browser.wait_for("#pay-form").await;
        browser.fill("#card-number", CARD).await;
        browser.fill("#expiry", "12/30").await;
        browser.fill("#cvv", "123").await;
        browser.screenshot("pay-zh").await;
        browser.click("#pay-submit").await;
        browser.wait_for("#step-up-send-form").await;
        browser.screenshot("step-up-zh").await;
        step_up_by_sms(&app, &browser, &mobile).await;
        browser.wait_for("#pay-form").await;
        // Back on the form, which forgot the card: type it again and pay.
        assert_eq!(browser.prop_value("#card-number").await, "");
        browser.fill("#card-number", CARD).await;
        browser.fill("#expiry", "12/30").await;
        browser.fill("#cvv", "123").await;
        browser.click("#pay-submit").await;
        browser.wait_for(".notice.ok").await;
        let paid = browser.source().await;
        assert!(
            paid.contains("已缴"),
            "{}: premium 1 shows as paid",
            app.label
        );
        browser.screenshot("paid-zh").await;
        check_hidden(&browser, &browser.web_path(""), &mobile).await;

        // A payout account (a step-up of its own), then the claim.
        browser
            .goto(&browser.web_path("claims"))
            .await
            .expect("claims page");
        browser.click("#add-payout-account").await;
        browser.fill("#account-number", CARD).await;
        browser.click("#payout-account-submit").await;
        browser.wait_for("#step-up-send-form").await;
        step_up_by_sms(&app, &browser, &mobile).await;
        browser.wait_for("#payout-account-form").await;
        browser.fill("#account-number", CARD).await;
        browser.click("#payout-account-submit").await;
        browser.wait_for("#payout-accounts").await;
        browser.click("#file-claim").await;
        browser.wait_for("#claim-form").await;
        browser.fill("#claimed", "1200.50").await;
        let today = date_text(date_at_ms(app.state.now_ms()));
        browser
            .script(&format!(
                "document.getElementById('incident-on').value = {};",
                json!(today)
            ))
            .await;
        browser
            .fill("#description", "急诊就医，发票号 A-1024")
            .await;
        browser.screenshot("claim-new-zh").await;
        browser.click("#claim-submit").await;
        browser.wait_for(".claim-status").await;
        assert_eq!(browser.text(".claim-status").await, "已受理");
        browser.screenshot("claims-zh").await;
        check_hidden(&browser, &browser.web_path("claims"), &mobile).await;

        // The claim was signed by the web client's key, over the document the API rebuilds.
        let token = session_token(&browser).await;
        let (status, claims) =
            people::answer(people::get(&app, "/v1/me/claims", &token).await).await;
        assert_eq!(status, 200, "{claims}");
        let signer = claims["claims"][0]["claimant_signer"]
            .as_str()
            .unwrap_or("");
        assert!(
            signer.starts_with("app:inspay-web:"),
            "{}: {signer}",
            app.label
        );
        assert_eq!(claims["claims"][0]["claimed_fen"], json!(120_050));

        // The account page masks, and shows in full only after a step-up.
        browser
            .goto(&browser.web_path("account"))
            .await
            .expect("account page");
        assert!(browser.text("#id-number").await.contains('*'));
        check_hidden(&browser, &browser.web_path("account"), &mobile).await;
        browser.screenshot("account-zh").await;

        // Full display needs a step-up, and shows the number once.
        browser.click("#show-full").await;
        browser.wait_for("#step-up-send-form").await;
        step_up_by_sms(&app, &browser, &mobile).await;
        browser.wait_for("#show-full").await;
        browser.click("#show-full").await;
        browser
            .wait_for("body:not(:has(#show-full)) #id-number")
            .await;
        assert_eq!(browser.text("#id-number").await, ID_NUMBER, "{}", app.label);
        browser
            .goto(&browser.web_path("account"))
            .await
            .expect("account page");
        assert!(
            browser.text("#id-number").await.contains('*'),
            "masked again"
        );

        // The transaction password, set with its own step-up, sealed in the page.
        browser.click("#change-transaction-password").await;
        browser.fill("#new-tp", "582913").await;
        browser.click("#transaction-password-submit").await;
        browser.wait_for("#step-up-send-form").await;
        step_up_by_sms(&app, &browser, &mobile).await;
        browser.wait_for("#transaction-password-form").await;
        browser.fill("#new-tp", "582913").await;
        browser.click("#transaction-password-submit").await;
        browser.wait_for("#consents-form").await;
        assert!(browser.exists(".notice.ok").await, "{}", app.label);

        // The adjuster assesses and signs in the console; another officer approves.
        let claim_id = claims["claims"][0]["id"]
            .as_str()
            .expect("claim id")
            .to_string();
        let adjuster = staff(
            &app,
            &format!("adjuster.{}", app.label),
            Role::ClaimsAdjuster,
        )
        .await;
        let approver = staff(
            &app,
            &format!("finance.{}", app.label),
            Role::FinanceOfficer,
        )
        .await;
        app.state
            .store
            .claim_assign(&adjuster.id, &claim_id, OFFICER, app.state.now_ms())
            .await
            .expect("assign the claim");
        let desk = staff_sign_in(&app, &adjuster).await;
        desk.screenshot("staff-console-zh").await;
        desk.goto(&desk.web_path("staff/claims/filed"))
            .await
            .expect("queue");
        desk.screenshot("staff-queue-zh").await;
        desk.click(".open-claim").await;
        desk.wait_for("#decision-form").await;
        assert!(desk.text("#description").await.contains("A-1024"));
        desk.screenshot("staff-claim-zh").await;
        desk.fill("#approved", "1200").await;
        desk.click("#decision-prepare").await;
        desk.wait_for("#sign-form").await;
        let shown = desk.text("#document-text").await;
        assert!(shown.contains("approved_fen:120000"), "{shown}");
        assert!(
            shown.contains(&format!("adjuster:{}", adjuster.id)),
            "{shown}"
        );
        desk.screenshot("staff-sign-decision-zh").await;
        choose_key_file(&desk, &adjuster).await;
        desk.click("#sign-submit").await;
        desk.wait_for("#claim-status").await;
        assert_eq!(desk.text("#claim-status").await, "待复核", "{}", app.label);
        desk.quit().await;

        let second = staff_sign_in(&app, &approver).await;
        second
            .goto(&second.web_path("staff/claims/awaiting-second-approval"))
            .await
            .expect("queue");
        second.click(".open-claim").await;
        second.wait_for("#approval-form").await;
        second.click("#approval-prepare").await;
        second.wait_for("#sign-form").await;
        choose_key_file(&second, &approver).await;
        second.click("#sign-submit").await;
        second.wait_for("#claim-status").await;
        let status = second.text("#claim-status").await;
        assert!(
            status == "赔款支付中" || status == "已赔付",
            "{}: {status}",
            app.label
        );

        // The payout completes (the simulated bank) and the customer sees it.
        let mut seen = String::new();
        for _ in 0..50 {
            browser
                .goto(&browser.web_path("claims"))
                .await
                .expect("claims page");
            seen = browser.text(".claim-status").await;
            if seen == "已赔付" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        assert_eq!(
            seen, "已赔付",
            "{}: the customer sees the claim paid",
            app.label
        );
        assert!(browser.exists(".payout-status").await);
        browser.screenshot("claims-paid-zh").await;

        // The finance officer reconciles the day: the premium and the payout match the bank's
        // statement, and the chart shows the day.
        second
            .goto(&second.web_path("staff/reconciliation"))
            .await
            .expect("reconciliation page");
        second.click("#reconcile-run").await;
        second.wait_for("#note").await;
        let report = second.text("#note").await;
        assert!(second.exists(".notice.ok").await, "{}: {report}", app.label);
        assert!(second.exists("#reconciliation-chart rect").await);
        second.screenshot("staff-reconciliation-zh").await;
        second.quit().await;

        browser.quit().await;
        app.stop().await;
    }
}

/// Three wrong passwords lock the account, and the answer never says so: the right password
/// then gets the same vague message as a wrong one. A CAPTCHA appears after the first failure.
/// req: 5.2.3.1, 5.2.3.3, 5.2.1.1-e, 5.2.2.2-c1
#[tokio::test]
async fn three_wrong_passwords_lock_the_account_with_the_same_vague_message() {
    if !crate::browser::available() {
        return;
    }
    for app in spawn_apps().await {
        let mobile = fresh_mobile();
        people::customer(&app, &mobile, false).await;
        let browser = Browser::desktop(&app, Lang::En).await.expect("browser");
        browser
            .goto(&browser.web_path("sign-in"))
            .await
            .expect("sign-in page");
        let mut messages = vec![];
        for attempt in 0..4 {
            browser.fill("#mobile", &mobile).await;
            let password = if attempt < 3 {
                "Wrong!Password9x"
            } else {
                PASSWORD
            };
            browser.fill("#password", password).await;
            if attempt > 0 {
                assert!(
                    browser.exists("#captcha-image").await,
                    "CAPTCHA after a failure"
                );
                solve_captcha(&app, &browser).await;
            }
            // Mark this page, so the wait below sees the answer, not this page's old message.
            browser
                .script("document.body.setAttribute('data-answered', 'no');")
                .await;
            browser.click("#sign-in-submit").await;
            browser.wait_for("body:not([data-answered]) #note").await;
            messages.push(browser.text("#note p").await);
        }
        assert!(messages[0].contains("Sign-in failed"), "{}", messages[0]);
        assert!(
            messages.iter().all(|message| message == &messages[0]),
            "{}: one message for wrong and locked: {messages:?}",
            app.label
        );
        browser.screenshot("sign-in-refused-en").await;
        // The account is locked: the store says so, the page did not.
        let value: Value = json!(messages);
        assert!(!value.to_string().to_lowercase().contains("lock"));
        browser.quit().await;
        app.stop().await;
    }
}

/// Typing the password and leaving the page, then pressing Back, shows empty fields (the
/// back/forward cache keeps pages even with `no-store`; the page script resets them); after
/// signing in, Back shows no password either. The password input is masked, has autocomplete
/// off and no name (only its encrypted envelope is ever posted).
/// req: 5.6.5-b, 5.4.3.6, 5.2.2.2-a
#[tokio::test]
async fn back_never_shows_a_password_again() {
    if !crate::browser::available() {
        return;
    }
    for app in spawn_apps().await {
        let mobile = fresh_mobile();
        people::customer(&app, &mobile, false).await;
        let browser = Browser::phone(&app, Lang::Zh).await.expect("browser");
        browser
            .goto(&browser.web_path("sign-in"))
            .await
            .expect("sign-in page");
        browser.screenshot("sign-in-zh-phone").await;
        // Secrets are masked while typed and never offered for autofill.
        let attributes = browser
            .script(
                "var p = document.getElementById('password'); return [p.type, p.autocomplete, p.name];",
            )
            .await;
        assert_eq!(attributes, json!(["password", "off", ""]), "{}", app.label);
        browser.fill("#mobile", &mobile).await;
        browser.fill("#password", PASSWORD).await;
        browser.click("#register-link").await;
        browser.wait_for("#register-form").await;
        browser.back().await;
        browser.wait_for("#sign-in-form").await;
        assert_eq!(browser.prop_value("#password").await, "", "{}", app.label);
        assert_eq!(browser.prop_value("#mobile").await, "");

        // Sign in, then go back through the history: no page shows a password.
        browser.fill("#mobile", &mobile).await;
        browser.fill("#password", PASSWORD).await;
        browser.click("#sign-in-submit").await;
        browser.wait_for("#sms-form").await;
        let code = send_sign_in_code(&app, &browser, &mobile).await;
        browser.fill("#code", &code).await;
        browser.click("#verify-code").await;
        browser.wait_for("#customer-name").await;
        for _ in 0..3 {
            let _ = browser.driver().back().await;
            let values = browser
                .script(
                    "return Array.from(document.querySelectorAll('input[type=password]')).map(function (i) { return i.value; });",
                )
                .await;
            let values = values.as_array().cloned().unwrap_or_default();
            assert!(
                values.iter().all(|value| value.as_str() == Some("")),
                "{}: a password field kept its value after Back",
                app.label
            );
        }
        browser.quit().await;
        app.stop().await;
    }
}

/// Each role's console lists only its sections, and a page of another role's section is the
/// no-permission page (the API refuses the call): the finance officer sees payouts and the
/// reconciliation chart, the security officer the keys (the web client's own key among them)
/// and can verify the audit chain, the risk officer alerts, the review queue, rule packs and
/// security events, the administrator staff and their roles (a conflicting role is refused).
/// req: 5.3.2.1, 5.3.2.2, 6.4.1, 6.1.2, 5.3.1.2
#[tokio::test]
async fn each_role_sees_only_its_console_pages() {
    if !crate::browser::available() {
        return;
    }
    for app in spawn_apps().await {
        let finance = staff(&app, &format!("fin.{}", app.label), Role::FinanceOfficer).await;
        let security = staff(&app, &format!("sec.{}", app.label), Role::SecurityOfficer).await;
        let admin = staff(&app, &format!("adm.{}", app.label), Role::Administrator).await;
        let risk = staff(&app, &format!("risk.{}", app.label), Role::RiskOfficer).await;

        let desk = staff_sign_in(&app, &finance).await;
        let links = desk.text("#console-links").await;
        assert!(
            links.contains("赔款支付") && links.contains("对账报告"),
            "{links}"
        );
        assert!(
            !links.contains("密钥状态") && !links.contains("员工与角色"),
            "{links}"
        );
        desk.goto(&desk.web_path("staff/reconciliation"))
            .await
            .expect("reconciliation");
        assert!(
            desk.exists("#reconcile-form").await,
            "a finance officer may run it"
        );
        desk.goto(&desk.web_path("staff/keys"))
            .await
            .expect("keys page");
        assert!(desk.text("#note").await.contains("无权"), "{}", app.label);
        desk.quit().await;

        let desk = staff_sign_in(&app, &security).await;
        desk.goto(&desk.web_path("staff/keys"))
            .await
            .expect("keys page");
        let table = desk.text("#console-table").await;
        assert!(table.contains("web-signing"), "{}: {table}", app.label);
        desk.screenshot("staff-keys-zh").await;
        desk.goto(&desk.web_path("staff/audit"))
            .await
            .expect("audit page");
        desk.click("#audit-verify").await;
        for _ in 0..50 {
            if desk.exists("#audit-result").await || desk.exists("#note").await {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        if !desk.exists("#audit-result").await {
            let note = desk.text("#note").await;
            panic!("{}: no verification result: {note}", app.label);
        }
        assert!(
            desk.exists(".notice.ok").await,
            "{}: the chain verifies",
            app.label
        );
        desk.goto(&desk.web_path("staff/payouts"))
            .await
            .expect("payouts page");
        assert!(desk.text("#note").await.contains("无权"));
        desk.quit().await;

        let desk = staff_sign_in(&app, &risk).await;
        let links = desk.text("#console-links").await;
        assert!(
            links.contains("风险告警") && links.contains("待复核操作"),
            "{links}"
        );
        assert!(!links.contains("赔款支付"), "{links}");
        for page in ["staff/alerts", "staff/holds", "staff/packs", "staff/events"] {
            desk.goto(&desk.web_path(page)).await.expect("risk page");
            assert!(!desk.exists(".notice.bad").await, "{}: {page}", app.label);
        }
        desk.goto(&desk.web_path("staff/holds"))
            .await
            .expect("review queue");
        desk.screenshot("staff-review-queue-zh").await;
        desk.quit().await;

        let desk = staff_sign_in(&app, &admin).await;
        desk.goto(&desk.web_path("staff/staff"))
            .await
            .expect("staff page");
        let table = desk.text("#console-table").await;
        assert!(table.contains(&security.login), "{}: {table}", app.label);
        desk.screenshot("staff-accounts-zh").await;
        // Roles: a compatible one is granted; a conflicting one (finance with security) is
        // refused with its reason, and nothing changes.
        desk.goto(&desk.web_path(&format!("staff/roles/{}", security.id)))
            .await
            .expect("roles page");
        desk.script("document.getElementById('grant-role').value = 'risk-officer';")
            .await;
        desk.click("#grant-submit").await;
        desk.wait_for(".notice.ok").await;
        assert!(desk.text("#held-roles").await.contains("risk-officer"));
        desk.script("document.getElementById('grant-role').value = 'finance-officer';")
            .await;
        desk.click("#grant-submit").await;
        desk.wait_for(".notice.bad").await;
        assert!(!desk.text("#held-roles").await.contains("finance-officer"));
        desk.quit().await;
        app.stop().await;
    }
}

/// The sign-in works from the keyboard alone: Tab first reaches the skip link, Tab moves from
/// the mobile number to the password, and Enter sends the form.
/// req: 6.1.2
#[tokio::test]
async fn the_sign_in_form_works_from_the_keyboard() {
    if !crate::browser::available() {
        return;
    }
    for app in spawn_apps().await {
        let mobile = fresh_mobile();
        people::customer(&app, &mobile, false).await;
        let browser = Browser::desktop(&app, Lang::En).await.expect("browser");
        browser
            .goto(&browser.web_path("sign-in"))
            .await
            .expect("sign-in page");
        let driver = browser.driver();
        let body = driver
            .find(thirtyfour::By::Tag("body"))
            .await
            .expect("body");
        body.send_keys(thirtyfour::Key::Tab).await.expect("tab");
        let first = driver.active_element().await.expect("focus");
        assert_eq!(
            first.class_name().await.expect("class").as_deref(),
            Some("skip")
        );
        browser
            .script("document.getElementById('mobile').focus();")
            .await;
        let field = driver.active_element().await.expect("focus");
        field.send_keys(mobile.as_str()).await.expect("type");
        field.send_keys(thirtyfour::Key::Tab).await.expect("tab");
        let field = driver.active_element().await.expect("focus");
        assert_eq!(field.id().await.expect("id").as_deref(), Some("password"));
        field.send_keys(PASSWORD).await.expect("type");
        field
            .send_keys(thirtyfour::Key::Enter)
            .await
            .expect("enter");
        browser.wait_for("#sms-form").await;
        browser.quit().await;
        app.stop().await;
    }
}

/// The account page lists the customer's live sessions, the current one marked, and ends
/// another one: the other browser is signed out at its next page.
/// req: 5.6.5-c
#[tokio::test]
async fn a_customer_sees_and_ends_another_session() {
    if !crate::browser::available() {
        return;
    }
    for app in spawn_apps().await {
        let mobile = fresh_mobile();
        people::customer(&app, &mobile, false).await;
        let mut browsers = vec![];
        for _ in 0..2 {
            let browser = Browser::desktop(&app, Lang::Zh).await.expect("browser");
            browser
                .goto(&browser.web_path("sign-in"))
                .await
                .expect("sign-in page");
            browser.fill("#mobile", &mobile).await;
            browser.fill("#password", PASSWORD).await;
            browser.click("#sign-in-submit").await;
            browser.wait_for("#sms-form").await;
            let code = send_sign_in_code(&app, &browser, &mobile).await;
            browser.fill("#code", &code).await;
            browser.click("#verify-code").await;
            // A second, new device for the account: the risk rules may ask for the ID number.
            browser.wait_for("#customer-name, #identity-form").await;
            if browser.exists("#identity-form").await {
                browser.fill("#id-number", ID_NUMBER).await;
                browser.click("#verify-identity").await;
                browser.wait_for("#customer-name").await;
            }
            browsers.push(browser);
        }
        let (first, second) = (&browsers[0], &browsers[1]);
        first
            .goto(&first.web_path("account"))
            .await
            .expect("account page");
        let rows = first
            .script("return document.querySelectorAll('#sessions tbody tr').length;")
            .await;
        assert_eq!(rows, json!(2), "{}", app.label);
        first.click(".end-session").await;
        first.wait_for(".notice.ok").await;
        let rows = first
            .script("return document.querySelectorAll('#sessions tbody tr').length;")
            .await;
        assert_eq!(rows, json!(1));
        second
            .goto(&second.web_path("account"))
            .await
            .expect("page");
        second.wait_for("#sign-in-form").await;
        for browser in browsers {
            browser.quit().await;
        }
        app.stop().await;
    }
}
