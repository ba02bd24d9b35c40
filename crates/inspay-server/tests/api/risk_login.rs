//! Sign-in risk (issue 6 item 2) against the running server on both databases: a new device
//! or region asks one more factor and a known one does not, impossible travel is caught with a
//! region file, a long-unused account asks more, many names or failures from one address are
//! refused before the password is checked, pack rules on `login.*` facts join the decision,
//! and the history keeps no login name, phone number, password or full address.

use crate::helpers::{TestApp, logs, problem, spawn_apps_with};
use crate::people::*;
use inspay_server::Settings;
use inspay_store::risk::{RiskDecisionFilter, RiskDecisionRow, SignInOutcome};
use serde_json::{Value, json};

const MINUTE: i64 = 60_000;
const DAY: i64 = 86_400_000;
/// Beijing and Shanghai, about 1,070 km apart, and a network the file does not place.
const BEIJING: &str = "203.0.113.5";
const SHANGHAI: &str = "198.51.100.9";
const DEVICE_A: &str = "0193a3c4-9c32-7e44-8f5a-6b7c8d9eaf0a";
const DEVICE_B: &str = "0193a3c4-9c32-7e44-8f5a-6b7c8d9eaf0b";
/// A well-formed ID number that is not the test customers' own.
const OTHER_ID_NUMBER: &str = "110105194912310038";
/// The region file the tests ship.
const REGIONS: &str = "cidr,name,latitude,longitude
# test networks (documentation ranges)
203.0.113.0/24,Beijing,39.9042,116.4074
198.51.100.0/24,Shanghai,31.2304,121.4737
";

/// Where a request comes from: the address a trusted proxy forwards for, and the device id.
#[derive(Clone, Copy)]
struct Origin {
    ip: &'static str,
    device: Option<&'static str>,
}

const A_IN_BEIJING: Origin = Origin {
    ip: BEIJING,
    device: Some(DEVICE_A),
};

/// Servers with the loopback proxy trusted (so `X-Forwarded-For` names the client), the
/// shipped region file, and `tune` applied; the directory holding the file lives as long as
/// the caller keeps it.
async fn spawn(tune: impl Fn(&mut Settings)) -> (Vec<TestApp>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("regions.csv");
    std::fs::write(&file, REGIONS).expect("region file");
    let apps = spawn_apps_with(|settings| {
        settings.protection.trusted_proxies = vec!["127.0.0.0/8".into()];
        settings.risk.login.regions_file = Some(file.clone());
        tune(settings);
    })
    .await;
    (apps, dir)
}

async fn send(app: &TestApp, path: &str, from: Origin, body: Value) -> (u16, Value) {
    let response = app
        .client
        .post(app.url(path))
        .header("x-forwarded-for", from.ip)
        .json(&body)
        .send()
        .await
        .expect("request");
    answer(response).await
}

/// The first step, always with a CAPTCHA (ignored when none is needed).
async fn first(app: &TestApp, mobile: &str, password: &str, from: Origin) -> (u16, Value) {
    let mut body = json!({
        "login_name": mobile,
        "password": password,
        "captcha": captcha(app).await,
    });
    if let Some(device) = from.device {
        body["device_id"] = json!(device);
    }
    send(app, "/v1/sign-in", from, body).await
}

/// The SMS code step of a flow: sends the code and answers it.
async fn sms(app: &TestApp, mobile: &str, flow_id: &str, from: Origin) -> (u16, Value) {
    after_send_interval(app);
    let path = format!("/v1/sign-in/{flow_id}/sms");
    let (status, body) = send(app, &path, from, json!({ "captcha": captcha(app).await })).await;
    assert_eq!(status, 202, "{}: send code: {body}", app.label);
    let (code, _) = last_sms(app, mobile);
    let path = format!("/v1/sign-in/{flow_id}/sms-code");
    send(app, &path, from, json!({ "code": code })).await
}

async fn identity(app: &TestApp, flow_id: &str, id_number: &str, from: Origin) -> (u16, Value) {
    let path = format!("/v1/sign-in/{flow_id}/identity");
    send(app, &path, from, json!({ "id_number": id_number })).await
}

/// Signs in by password and SMS code (and the ID number when asked); returns what the first
/// step answered and the session.
async fn sign_in_from(app: &TestApp, mobile: &str, from: Origin) -> (Value, Value) {
    let (status, started) = first(app, mobile, PASSWORD, from).await;
    assert_eq!(status, 200, "{}: first step: {started}", app.label);
    let flow_id = started["flow_id"].as_str().expect("flow").to_owned();
    let (status, mut session) = sms(app, mobile, &flow_id, from).await;
    if status == 202 {
        assert_eq!(session["next"], json!(["id-number"]), "{}", app.label);
        let (status, body) = identity(app, &flow_id, ID_NUMBER, from).await;
        assert_eq!(status, 200, "{}: identity: {body}", app.label);
        session = body;
    } else {
        assert_eq!(status, 200, "{}: code step: {session}", app.label);
    }
    assert!(session["session_token"].is_string(), "{}", app.label);
    (started, session)
}

async fn decisions(app: &TestApp, account: Option<&str>) -> Vec<RiskDecisionRow> {
    app.state
        .store
        .risk_decisions(
            &app.state.keyring(),
            RiskDecisionFilter {
                account_id: account,
                verdict: None,
                alerts_only: false,
                since_ms: 0,
                limit: 100,
            },
        )
        .await
        .expect("decisions")
        .into_iter()
        .filter(|row| row.operation == "sign-in")
        .collect()
}

async fn events(app: &TestApp, kind: &str) -> Vec<inspay_store::security_events::SecurityEvent> {
    app.state
        .store
        .security_events_list(0, 1_000)
        .await
        .expect("events")
        .into_iter()
        .filter(|event| event.kind == kind)
        .collect()
}

/// The first step's answer names what is needed and nothing else: no rule, score or reason.
fn assert_vague(app: &TestApp, started: &Value) {
    let mut keys: Vec<&str> = started
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["expires_in_s", "flow_id", "next", "step_up"],
        "{}",
        app.label
    );
    let text = started.to_string();
    for word in ["login.", "rule", "device ", "region", "travel", "score"] {
        assert!(!text.contains(word), "{}: {text}", app.label);
    }
}

/// req: 5.3.3.1
/// req: 5.2.3.3
/// An account's first sign-in has nothing to deviate from; a device it signed in from before
/// asks nothing more; a new device (or no device id from an account that always named one)
/// asks one more factor, named but not explained: after the SMS code, the ID number from
/// registration. A wrong ID number ends the flow; once a sign-in from the new device
/// completes, the device is known. Every decision is recorded with its rule for staff.
#[tokio::test]
async fn a_new_device_needs_one_more_factor_and_a_known_one_does_not() {
    let (apps, _dir) = spawn(|_| {}).await;
    for app in apps {
        let label = app.label;
        let mobile = fresh_mobile();
        let account = customer(&app, &mobile, false).await;
        let (started, _) = sign_in_from(&app, &mobile, A_IN_BEIJING).await;
        assert!(started.get("step_up").is_none(), "{label}: first sign-in");
        let (started, _) = sign_in_from(&app, &mobile, A_IN_BEIJING).await;
        assert!(started.get("step_up").is_none(), "{label}: known device");
        assert_eq!(started["next"], json!(["sms-code", "device-key"]));

        let b_in_beijing = Origin {
            device: Some(DEVICE_B),
            ..A_IN_BEIJING
        };
        let (status, started) = first(&app, &mobile, PASSWORD, b_in_beijing).await;
        assert_eq!(status, 200, "{label}: {started}");
        assert_eq!(started["step_up"], "id-number", "{label}");
        assert_vague(&app, &started);
        let flow_id = started["flow_id"].as_str().expect("flow");
        let (status, extra) = sms(&app, &mobile, flow_id, b_in_beijing).await;
        assert_eq!(status, 202, "{label}: {extra}");
        assert_eq!(extra["next"], json!(["id-number"]));
        assert!(
            extra.get("session_token").is_none(),
            "{label}: no session yet"
        );
        let (status, wrong) = identity(&app, flow_id, OTHER_ID_NUMBER, b_in_beijing).await;
        assert_eq!(status, 401, "{label}: {wrong}");
        assert_eq!(wrong["code"], "INSPAY-AUTH-001");
        let (status, _) = identity(&app, flow_id, ID_NUMBER, b_in_beijing).await;
        assert_eq!(status, 409, "{label}: a wrong ID number ended the flow");

        let (started, session) = sign_in_from(&app, &mobile, b_in_beijing).await;
        assert_eq!(started["step_up"], "id-number", "{label}: still new");
        assert_eq!(session["level"], "two-factor", "{label}");
        let (started, _) = sign_in_from(&app, &mobile, b_in_beijing).await;
        assert!(started.get("step_up").is_none(), "{label}: now known");

        let browser = Origin {
            device: None,
            ..A_IN_BEIJING
        };
        let (status, started) = first(&app, &mobile, PASSWORD, browser).await;
        assert_eq!(status, 200, "{label}");
        assert_eq!(
            started["step_up"], "id-number",
            "{label}: an unnamed device"
        );

        let recorded = decisions(&app, Some(&account)).await;
        assert_eq!(
            recorded.len(),
            6,
            "{label}: one decision per right password"
        );
        let stepped: Vec<&RiskDecisionRow> = recorded
            .iter()
            .filter(|row| row.reasons_json.contains("login.new-device"))
            .collect();
        assert_eq!(stepped.len(), 3, "{label}");
        assert!(
            stepped
                .iter()
                .all(|row| row.verdict == "step-up:sms-code" && !row.alert),
            "{label}"
        );
        assert!(
            recorded
                .iter()
                .all(|row| row.reference.is_some() && row.verdict != "deny"),
            "{label}: each names its attempt"
        );
        app.stop().await;
    }
}

/// req: 5.3.3.1
/// With the operator's region file, a sign-in 1,070 km from the previous one ten minutes
/// later is impossible travel: review, which at sign-in is one more factor and an alert. Three
/// hours later the same trip is possible, and the region is known by then.
#[tokio::test]
async fn a_new_region_and_impossible_travel_are_caught() {
    let (apps, _dir) = spawn(|_| {}).await;
    for app in apps {
        let label = app.label;
        let mobile = fresh_mobile();
        let account = customer(&app, &mobile, false).await;
        sign_in_from(&app, &mobile, A_IN_BEIJING).await;
        app.state.advance_clock(10 * MINUTE);
        let a_in_shanghai = Origin {
            ip: SHANGHAI,
            ..A_IN_BEIJING
        };
        let (started, _) = sign_in_from(&app, &mobile, a_in_shanghai).await;
        assert_eq!(started["step_up"], "id-number", "{label}");
        let latest = decisions(&app, Some(&account)).await;
        let travel = &latest[0];
        assert_eq!(travel.verdict, "review", "{label}");
        assert!(travel.alert, "{label}: review alerts");
        for rule in ["login.impossible-travel", "login.new-region"] {
            assert!(travel.reasons_json.contains(rule), "{label}: {rule}");
        }
        assert!(!travel.reasons_json.contains("login.new-device"), "{label}");

        app.state.advance_clock(3 * 60 * MINUTE);
        let (started, _) = sign_in_from(&app, &mobile, A_IN_BEIJING).await;
        assert!(
            started.get("step_up").is_none(),
            "{label}: 1,070 km in 3 hours from a known region: {started}"
        );
        let latest = decisions(&app, Some(&account)).await;
        assert_eq!(latest[0].verdict, "allow", "{label}");
        app.stop().await;
    }
}

/// req: 5.3.3.3-c
/// An account unused for 90 days asks one more factor on return; one unused for 180 days
/// gets the dormant session, whose identity check is that factor, so it is not asked twice.
#[tokio::test]
async fn a_long_unused_account_needs_more_on_return() {
    let (apps, _dir) = spawn(|_| {}).await;
    for app in apps {
        let label = app.label;
        let mobile = fresh_mobile();
        let account = customer(&app, &mobile, false).await;
        sign_in_from(&app, &mobile, A_IN_BEIJING).await;
        app.state.advance_clock(100 * DAY);
        let (started, session) = sign_in_from(&app, &mobile, A_IN_BEIJING).await;
        assert_eq!(started["step_up"], "id-number", "{label}");
        assert_eq!(session["level"], "two-factor", "{label}");
        let latest = decisions(&app, Some(&account)).await;
        assert!(
            latest[0].reasons_json.contains("login.long-unused"),
            "{label}"
        );

        app.state.advance_clock(181 * DAY);
        let (status, started) = first(&app, &mobile, PASSWORD, A_IN_BEIJING).await;
        assert_eq!(status, 200, "{label}");
        assert_eq!(started["step_up"], "id-number", "{label}");
        let flow_id = started["flow_id"].as_str().expect("flow");
        let (status, session) = sms(&app, &mobile, flow_id, A_IN_BEIJING).await;
        assert_eq!(status, 200, "{label}: {session}");
        assert_eq!(session["level"], "dormant", "{label}");
        app.stop().await;
    }
}

/// req: 5.4.3.2
/// req: 5.2.3.3
/// Past the number of login names one address may try in an hour, every sign-in from it is
/// refused with the vague `INSPAY-RISK-001` before the password is checked: the same answer
/// for a right password, a wrong one and a name without an account, no count toward the
/// victim's lockout, a `credential-stuffing` security event and a recorded deny. Another
/// address is not affected.
#[tokio::test]
async fn many_accounts_from_one_address_are_refused_before_the_password() {
    let (apps, _dir) = spawn(|settings| settings.risk.login.ip_accounts_1h_max = 3).await;
    for app in apps {
        let label = app.label;
        let mobiles: Vec<String> = (0..4).map(|_| fresh_mobile()).collect();
        let mut accounts = vec![];
        for mobile in &mobiles {
            accounts.push(customer(&app, mobile, false).await);
        }
        let farm = Origin {
            ip: "192.0.2.44",
            device: None,
        };
        for mobile in &mobiles[..3] {
            let (status, body) = first(&app, mobile, PASSWORD, farm).await;
            assert_eq!(status, 200, "{label}: {body}");
        }
        let right = first(&app, &mobiles[3], PASSWORD, farm).await;
        let wrong = first(&app, &mobiles[3], "Wrong!Password9x", farm).await;
        let unknown = first(&app, &fresh_mobile(), PASSWORD, farm).await;
        for (status, body) in [&right, &wrong, &unknown] {
            assert_eq!(*status, 403, "{label}: {body}");
            assert_eq!(body["code"], "INSPAY-RISK-001", "{label}");
            assert_eq!(body["title"], right.1["title"], "{label}");
            let text = body.to_string();
            for word in ["login.", "address", "many", "rule"] {
                assert!(!text.contains(word), "{label}: {text}");
            }
        }
        let failures = app
            .state
            .store
            .account_failures(&accounts[3])
            .await
            .expect("failures");
        assert_eq!(
            failures.consecutive, 0,
            "{label}: the secret was never checked"
        );
        let seen = events(&app, "credential-stuffing").await;
        assert!(!seen.is_empty(), "{label}");
        assert_eq!(seen[0].client_ip.as_deref(), Some("192.0.2.44"));
        let denied = decisions(&app, Some(&accounts[3])).await;
        assert_eq!(denied.len(), 2, "{label}: the right and the wrong password");
        assert!(
            denied.iter().all(|row| row.verdict == "deny"
                && row.alert
                && row.reasons_json.contains("login.many-accounts")),
            "{label}"
        );
        let (status, body) = first(&app, &mobiles[3], PASSWORD, A_IN_BEIJING).await;
        assert_eq!(status, 200, "{label}: another address: {body}");
        app.stop().await;
    }
}

/// req: 5.4.3.2
/// A burst of failed sign-ins from one address (credential stuffing) refuses the next
/// sign-in from it, whatever the name; 15 minutes after the last refusal it passes again.
#[tokio::test]
async fn a_failure_burst_from_one_address_is_refused_for_a_while() {
    let (apps, _dir) = spawn(|settings| settings.risk.login.ip_failures_15m_max = 4).await;
    for app in apps {
        let label = app.label;
        let mobile = fresh_mobile();
        customer(&app, &mobile, false).await;
        let bot = Origin {
            ip: "192.0.2.77",
            device: None,
        };
        for _ in 0..4 {
            let (status, _) = first(&app, &fresh_mobile(), "Guess!Word123", bot).await;
            assert_eq!(status, 401, "{label}");
        }
        let (status, body) = first(&app, &mobile, PASSWORD, bot).await;
        assert_eq!(status, 403, "{label}: {body}");
        let denied = decisions(&app, None).await;
        assert!(
            denied[0].reasons_json.contains("login.credential-stuffing"),
            "{label}"
        );
        app.state.advance_clock(16 * MINUTE);
        let (status, body) = first(&app, &mobile, PASSWORD, bot).await;
        assert_eq!(status, 200, "{label}: {body}");
        app.stop().await;
    }
}

/// req: 6.3.7
/// req: 5.2.3.3
/// A signed pack's rules on `login.*` facts join the sign-in decision: one asks the device key
/// of a new device (the SMS code is then refused), one denies a sign-in right after a failure.
/// A deny after a right password is answered exactly like a wrong password, with the same
/// CAPTCHA afterwards, so it confirms nothing; staff see the pack's reason and a security
/// event.
#[tokio::test]
async fn pack_rules_on_login_facts_join_the_decision() {
    let (apps, _dir) = spawn(|_| {}).await;
    for app in apps {
        let label = app.label;
        let mobile = fresh_mobile();
        let account = customer(&app, &mobile, false).await;
        sign_in_from(&app, &mobile, A_IN_BEIJING).await;
        install_login_pack(&app).await;

        let b_in_beijing = Origin {
            device: Some(DEVICE_B),
            ..A_IN_BEIJING
        };
        let (status, started) = first(&app, &mobile, PASSWORD, b_in_beijing).await;
        assert_eq!(status, 200, "{label}: {started}");
        assert_eq!(started["step_up"], "device-key", "{label}");
        assert_eq!(started["next"], json!(["device-key"]), "{label}");
        let flow_id = started["flow_id"].as_str().expect("flow");
        let path = format!("/v1/sign-in/{flow_id}/sms");
        let (status, body) = send(
            &app,
            &path,
            b_in_beijing,
            json!({ "captcha": captcha(&app).await }),
        )
        .await;
        assert_eq!(status, 422, "{label}: {body}");
        let latest = decisions(&app, Some(&account)).await;
        assert_eq!(latest[0].verdict, "step-up:device-key", "{label}");
        assert!(
            latest[0].reasons_json.contains("\"pack\":\"login-watch\""),
            "{label}: {}",
            latest[0].reasons_json
        );

        let wrong = problem_of(first(&app, &mobile, "Wrong!Password9x", A_IN_BEIJING).await);
        let denied = problem_of(first(&app, &mobile, PASSWORD, A_IN_BEIJING).await);
        for key in ["status", "code", "title"] {
            assert_eq!(denied[key], wrong[key], "{label}: {key}");
        }
        let latest = decisions(&app, Some(&account)).await;
        assert_eq!(latest[0].verdict, "deny", "{label}");
        assert!(
            latest[0].reasons_json.contains("after-a-failure"),
            "{label}"
        );
        let response = password_step(&app, &mobile, PASSWORD, None).await;
        assert_eq!(
            problem(response).await["code"],
            "INSPAY-AUTH-007",
            "{label}: a CAPTCHA next, as after a wrong password"
        );
        let seen = events(&app, "sign-in-denied").await;
        assert_eq!(seen.len(), 1, "{label}");
        assert_eq!(seen[0].account_id.as_deref(), Some(account.as_str()));
        app.stop().await;
    }
}

fn problem_of((status, body): (u16, Value)) -> Value {
    assert_eq!(status, 401, "{body}");
    body
}

async fn install_login_pack(app: &TestApp) {
    let manifest = r#"[pack]
id = "login-watch"
version = 1
inputs = ["login.new_device", "login.failures_15m", "account.population"]

[[rule]]
id = "new-device-needs-its-key"
operations = ["sign-in"]
when = "login.new_device"
verdict = "step-up:device-key"
note = "a new device must use the enrolled device key"

[[rule]]
id = "after-a-failure"
operations = ["sign-in"]
when = "account.population == 'customer' && login.failures_15m >= 1"
verdict = "deny"
note = "a right password right after a wrong one"
"#;
    crate::helpers::install_signed_pack(app, manifest).await;
}

/// req: 5.6.1-a5
/// The sign-in history holds references only: no login name, mobile number, password,
/// device id or full address in any row, and none of them in the logs; the network region is
/// the /16 prefix. Old rows are purged in bounded batches.
#[tokio::test]
async fn the_history_keeps_no_login_name_phone_password_or_address() {
    let (apps, _dir) = spawn(|_| {}).await;
    for app in apps {
        let label = app.label;
        let mobile = fresh_mobile();
        let account = customer(&app, &mobile, false).await;
        sign_in_from(&app, &mobile, A_IN_BEIJING).await;
        let (status, _) = first(&app, &mobile, "Wrong!Password9x", A_IN_BEIJING).await;
        assert_eq!(status, 401, "{label}");
        let stranger = fresh_mobile();
        let (status, _) = first(&app, &stranger, "Wrong!Password9x", A_IN_BEIJING).await;
        assert_eq!(status, 401, "{label}");

        let rows = app
            .state
            .store
            .risk_sign_ins(None, 100)
            .await
            .expect("history");
        assert_eq!(rows.len(), 3, "{label}");
        let completed = rows
            .iter()
            .find(|row| row.outcome == SignInOutcome::Completed)
            .expect("the completed sign-in");
        assert_eq!(completed.account_id.as_deref(), Some(account.as_str()));
        assert_eq!(completed.network, "203.0.0.0/16");
        assert!(
            completed.position_e4.is_some(),
            "{label}: placed by the file"
        );
        let failed: Vec<_> = rows
            .iter()
            .filter(|row| row.outcome == SignInOutcome::Failed)
            .collect();
        assert_eq!(failed.len(), 2, "{label}");
        assert!(failed.iter().all(|row| row.account_id.is_none()));
        assert_ne!(failed[0].name_ref, failed[1].name_ref, "{label}");
        for row in &rows {
            let text = format!("{row:?}");
            for secret in [
                &mobile[mobile.len() - 8..],
                &stranger[stranger.len() - 8..],
                PASSWORD,
                "Wrong!Password9x",
                DEVICE_A,
                BEIJING,
            ] {
                assert!(!text.contains(secret), "{label}: {text}");
            }
            assert!(row.name_ref.starts_with("hmac-sm3:"), "{label}");
            assert!(row.ip_ref.starts_with("hmac-sm3:"), "{label}");
        }
        let logged = logs();
        for secret in [mobile.as_str(), stranger.as_str(), PASSWORD, DEVICE_A] {
            assert!(!logged.contains(secret), "{label}: a log line holds it");
        }

        let purged = app
            .state
            .store
            .risk_sign_ins_purge(app.state.now_ms() + 1, 2)
            .await
            .expect("purge");
        assert_eq!(purged, 2, "{label}: bounded");
        let purged = app
            .state
            .store
            .risk_sign_ins_purge(app.state.now_ms() + 1, 2)
            .await
            .expect("purge");
        assert_eq!(purged, 1, "{label}");
        app.stop().await;
    }
}
