//! The staff console's `/v1` routes on both databases: each staff role sees its own desk
//! (keys, applications, audit verification and security events for the security officer;
//! payouts, refunds and reconciliation for the finance officer; staff, roles and the
//! permission review for the administrator and auditor; rule packs for the risk officer), a
//! customer and staff without the permission are refused, bad list parameters are a stable
//! 4xx, and nothing sensitive (key material, full account or card numbers) is ever answered.

use crate::helpers::{TestApp, spawn_apps};
use crate::people::{PASSWORD, answer, customer, fresh_mobile, sign_in};
use crate::signing::{Signer, TEST_APP_ID, nonce};
use base64::Engine;
use inspay_crypto::sm2::Sm2PrivateKey;
use inspay_identity::authorization::Role;
use inspay_identity::login_name::LoginName;
use inspay_identity::secret_hash::{ITERATIONS_MIN, SecretHash, SecretKind};
use inspay_store::accounts::{NewAccount, Population};
use inspay_store::keys::Actor;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU32, Ordering};

mod finance;

const OFFICER: Actor<'static> = Actor {
    actor: "operator:security-officer",
    request_id: "test",
};

static NEXT: AtomicU32 = AtomicU32::new(0);
/// A signed request with a session; write methods get a fresh idempotency key.
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let write = method != Method::GET;
    let mut request = app.client.request(method, app.url(path)).bearer_auth(token);
    if write {
        request = request.header("idempotency-key", format!("idem-{}", nonce()));
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    answer(request.send().await.expect("request")).await
}

async fn get(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    call(app, Method::GET, path, token, None).await
}

#[track_caller]
fn ok(app: &TestApp, answer: (u16, Value)) -> Value {
    assert_eq!(answer.0, 200, "{}: {}", app.label, answer.1);
    answer.1
}

#[track_caller]
fn refused(app: &TestApp, answer: &(u16, Value), status: u16, code: &str) {
    let got = (answer.0, answer.1["code"].as_str());
    assert_eq!(got, (status, Some(code)), "{}: {}", app.label, answer.1);
}

/// Every path is refused to `token` as lacking the permission (403 `INSPAY-AUTH-005`).
async fn all_refused(app: &TestApp, token: &str, paths: &[&str]) {
    for path in paths {
        refused(app, &get(app, path, token).await, 403, "INSPAY-AUTH-005");
    }
}

/// A staff member signed in with password and registered SM2 key.
struct Staff {
    id: String,
    key_id: String,
    key: Sm2PrivateKey,
    token: String,
}

async fn staff(app: &TestApp, roles: &[Role]) -> Staff {
    let login = format!("console{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let hash = SecretHash::new(
        SecretKind::LoginPassword,
        PASSWORD.as_bytes(),
        ITERATIONS_MIN,
    )
    .expect("hash");
    let (keyring, now, store) = (app.state.keyring(), app.state.now_ms(), &app.state.store);
    let account = NewAccount {
        population: Population::Staff,
        login_name: &LoginName::staff(&login).expect("login"),
        person_id: None,
        password: &hash,
        must_change_password: false,
    };
    let id = store
        .account_create(&keyring, &account, OFFICER, now)
        .await
        .expect("staff");
    for role in roles {
        store
            .role_grant(&id, *role, OFFICER, now)
            .await
            .expect("role");
    }
    let key = Sm2PrivateKey::generate().expect("key");
    let key_id = store
        .staff_public_key_register(&id, key.public_key(), "token", OFFICER, now)
        .await
        .expect("staff key");
    let token = staff_sign_in(app, &login, &key_id, &key).await;
    Staff {
        id,
        key_id,
        key,
        token,
    }
}

fn sign(key: &Sm2PrivateKey, document: &[u8]) -> String {
    let der = key.sign(document).expect("sign").to_der();
    base64::engine::general_purpose::STANDARD.encode(der)
}

async fn staff_sign_in(app: &TestApp, login: &str, key_id: &str, key: &Sm2PrivateKey) -> String {
    let post = |path: String, body: Value| async move {
        answer(crate::people::post(app, &path, None, None, body).await).await
    };
    let body = json!({ "login_name": login, "staff": true, "password": PASSWORD });
    let flow = ok(app, post("/v1/sign-in".into(), body).await);
    let flow = flow["flow_id"].as_str().expect("flow").to_string();
    let path = format!("/v1/sign-in/{flow}/key-challenge");
    let challenge = ok(app, post(path, json!({ "key_id": key_id })).await);
    let message = base64::engine::general_purpose::STANDARD
        .decode(challenge["message_base64"].as_str().expect("message"))
        .expect("b64");
    let body = json!({
        "challenge_id": challenge["challenge_id"],
        "signature_base64": sign(key, &message),
    });
    let session = ok(app, post(format!("/v1/sign-in/{flow}/key"), body).await);
    session["session_token"]
        .as_str()
        .expect("token")
        .to_string()
}

/// A signed-in customer.
async fn signed_in_customer(app: &TestApp) -> (String, String, String) {
    let mobile = fresh_mobile();
    let id = customer(app, &mobile, false).await;
    let token = sign_in(app, &mobile, PASSWORD).await;
    (id, mobile, token)
}

/// Tampers with a row behind the server's back (a test of what the server notices).
async fn tamper(app: &TestApp, statements: &[&str]) {
    for statement in statements {
        let statement = sqlx::AssertSqlSafe(statement.to_string());
        sqlx::query(statement)
            .execute(app.state.store.pool())
            .await
            .expect("tamper");
    }
}

/// The security officer lists every key version with its lifecycle and never its material,
/// sees a rotation at once, lists security events newest first with a typed kind filter and a
/// bounded limit, and verifies the audit chain (against pinned keys too), which reports the
/// first broken position once an entry is changed; the auditor verifies but sees neither keys
/// nor events; a customer and a risk officer get no key inventory; bad parameters and query
/// strings are stable 4xx.
/// req: 5.5.2.1, 6.4.1, 5.4.3.2, 5.4.4.2, 5.3.1.2, 5.3.2.1
#[tokio::test]
async fn the_security_officer_sees_keys_events_and_the_audit_chain() {
    for app in spawn_apps().await {
        let officer = staff(&app, &[Role::SecurityOfficer]).await;
        let auditor = staff(&app, &[Role::Auditor]).await;
        let risk = staff(&app, &[Role::RiskOfficer]).await;
        let (_, _, customer) = signed_in_customer(&app).await;

        let keys = ok(&app, get(&app, "/v1/admin/keys", &officer.token).await);
        let list = keys["keys"].as_array().expect("keys");
        assert!(
            list.iter()
                .any(|key| key["purpose"] == "audit-signing" && key["state"] == "active")
        );
        assert!(
            list.iter()
                .all(|key| key["age_days"] == 0 && key["rotation_due"] == false)
        );
        let text = keys.to_string();
        for secret in ["wrapped", "kek.", "PRIVATE", "BEGIN", "material"] {
            assert!(
                !text.contains(secret),
                "{}: no key material: {secret}",
                app.label
            );
        }
        let master = &app.state.master;
        let policy = inspay_store::keys::RotationPolicy::default();
        let purpose = inspay_kms::KeyPurpose::FieldEncryption;
        let now = app.state.now_ms();
        app.state
            .store
            .key_rotate(master, purpose, &policy, OFFICER, now)
            .await
            .expect("rotate");
        let keys = ok(&app, get(&app, "/v1/admin/keys", &officer.token).await);
        let states: Vec<(u64, &str)> = keys["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .filter(|key| key["purpose"] == "field-encryption")
            .map(|key| {
                (
                    key["version"].as_u64().expect("v"),
                    key["state"].as_str().expect("s"),
                )
            })
            .collect();
        assert_eq!(
            states,
            [(1, "decrypt-only"), (2, "active")],
            "{}",
            app.label
        );

        // A request signed with a key that is not the application's: a security event.
        let signer = app.client.signer.as_deref().expect("signer");
        let impostor = Signer {
            app_id: signer.app_id.clone(),
            serial: 1,
            key: Sm2PrivateKey::generate().expect("key"),
            state: app.state.clone(),
        };
        let forged = app
            .client
            .unsigned()
            .get(app.url("/v1/captcha"))
            .header("authorization", impostor.header("GET", "/v1/captcha", b""));
        assert_eq!(forged.send().await.expect("sent").status(), 401);
        let events = ok(
            &app,
            get(&app, "/v1/admin/security-events", &officer.token).await,
        );
        assert_eq!(
            (events["kind"].as_str(), events["limit"].as_i64()),
            (Some("all"), Some(100))
        );
        let seen = &events["events"][0];
        assert_eq!(seen["kind"], "signature-invalid", "{}: {events}", app.label);
        assert_eq!(
            (seen["route"].as_str(), seen["app_id"].as_str()),
            (Some("/v1/captcha"), Some(TEST_APP_ID))
        );
        assert_eq!(seen["client_ip"], "127.0.0.1");
        let path = "/v1/admin/security-events/signature-invalid/1";
        let one = ok(&app, get(&app, path, &risk.token).await);
        assert_eq!(
            one["events"].as_array().map(Vec::len),
            Some(1),
            "{}",
            app.label
        );
        let path = "/v1/admin/security-events/nonce-replayed/500";
        let none = ok(&app, get(&app, path, &officer.token).await);
        assert_eq!(none["events"], json!([]), "{}", app.label);
        for bad in [
            "bogus/5",
            "all/0",
            "all/501",
            "all/abc",
            "Signature-Invalid/5",
            "all/-1",
        ] {
            let path = format!("/v1/admin/security-events/{bad}");
            refused(
                &app,
                &get(&app, &path, &officer.token).await,
                422,
                "INSPAY-REQ-003",
            );
        }
        let queried = get(&app, "/v1/admin/security-events?limit=5", &officer.token).await;
        refused(&app, &queried, 400, "INSPAY-REQ-001");

        let verify = |token: String, body: Value| {
            let app = &app;
            async move {
                call(
                    app,
                    Method::POST,
                    "/v1/admin/audit/verify",
                    &token,
                    Some(body),
                )
                .await
            }
        };
        app.state
            .store
            .audit_checkpoint(&app.state.keyring(), app.state.now_ms())
            .await
            .expect("checkpoint");
        let report = ok(&app, verify(officer.token.clone(), json!({})).await);
        assert_eq!(
            (report["ok"].as_bool(), report["first_broken_seq"].as_i64()),
            (Some(true), None),
            "{report}"
        );
        assert!(report["entries_checked"].as_i64() > Some(10));
        assert!(report["checkpoints_checked"].as_i64() >= Some(1));
        let exported: String = app
            .state
            .store
            .key_list_public()
            .await
            .expect("keys")
            .iter()
            .filter(|key| key.purpose == inspay_kms::KeyPurpose::AuditSigning)
            .filter_map(|key| {
                Some(format!(
                    "# {} ({})\n{}",
                    key.object(),
                    key.state,
                    key.public_key_pem.as_ref()?
                ))
            })
            .collect();
        let pinned = ok(
            &app,
            verify(
                auditor.token.clone(),
                json!({ "public_keys_pem": exported }),
            )
            .await,
        );
        assert_eq!(
            (pinned["ok"].as_bool(), pinned["pinned"].as_bool()),
            (Some(true), Some(true))
        );
        let stranger = Sm2PrivateKey::generate()
            .expect("key")
            .public_key()
            .to_spki_pem();
        let stranger = format!("# key:audit-signing:v1 (active)\n{stranger}");
        let forged = ok(
            &app,
            verify(
                officer.token.clone(),
                json!({ "public_keys_pem": stranger }),
            )
            .await,
        );
        assert_eq!(
            forged["ok"], false,
            "{}: a checkpoint signed by another key",
            app.label
        );
        let garbage = verify(
            officer.token.clone(),
            json!({ "public_keys_pem": "not a key" }),
        )
        .await;
        refused(&app, &garbage, 422, "INSPAY-REQ-003");
        let drop = if app.label == "sqlite" {
            "DROP TRIGGER audit_log_no_update"
        } else {
            "DROP TRIGGER audit_log_no_change ON audit_log"
        };
        tamper(
            &app,
            &[
                drop,
                "UPDATE audit_log SET actor = 'operator:mallory' WHERE seq = 3",
            ],
        )
        .await;
        let broken = ok(&app, verify(officer.token.clone(), json!({})).await);
        assert_eq!(
            (broken["ok"].as_bool(), broken["first_broken_seq"].as_i64()),
            (Some(false), Some(3)),
            "{broken}"
        );
        let audited = app
            .state
            .store
            .audit_entries(0, 100_000)
            .await
            .expect("entries");
        let runs = audited
            .iter()
            .filter(|entry| entry.action == "audit.verify")
            .count();
        assert_eq!(runs, 4, "{}: every run is audited", app.label);

        all_refused(
            &app,
            &auditor.token,
            &[
                "/v1/admin/keys",
                "/v1/admin/security-events",
                "/v1/admin/apps",
            ],
        )
        .await;
        all_refused(&app, &risk.token, &["/v1/admin/keys"]).await;
        all_refused(
            &app,
            &customer,
            &["/v1/admin/keys", "/v1/admin/security-events"],
        )
        .await;
        let denied = verify(customer.clone(), json!({})).await;
        refused(&app, &denied, 403, "INSPAY-AUTH-005");
        app.stop().await;
    }
}

/// The administrator lists the client applications and the staff (newest first, filtered by
/// status, bounded), grants and revokes roles through the API under exactly the CLI's rules
/// (a conflicting pair, one's own account and a customer account refused; every change
/// audited with the administrator as actor); the auditor reads the permission review, which
/// lists a conflicting account first; the administrator does not (no `permissions.review`),
/// and a customer and a finance officer reach none of it.
/// req: 5.3.2.1, 5.3.2.2, 5.6.1-d, 5.4.2.1, 5.3.1.2
#[tokio::test]
async fn the_administrator_manages_roles_under_the_same_rules() {
    for app in spawn_apps().await {
        let admin = staff(&app, &[Role::Administrator]).await;
        let auditor = staff(&app, &[Role::Auditor]).await;
        let agent = staff(&app, &[Role::Agent]).await;
        let finance = staff(&app, &[Role::FinanceOfficer]).await;
        let (customer_id, _, customer) = signed_in_customer(&app).await;

        let apps = ok(&app, get(&app, "/v1/admin/apps", &admin.token).await);
        let ours = apps["apps"]
            .as_array()
            .expect("apps")
            .iter()
            .find(|one| one["id"] == TEST_APP_ID)
            .cloned()
            .expect("the test app");
        assert_eq!(
            (ours["class"].as_str(), ours["status"].as_str()),
            (Some("fund-transaction"), Some("active"))
        );
        assert_eq!(ours["keys"][0]["serial"], 1);
        assert_eq!(ours["keys"][0]["state"], "live");
        assert!(
            ours["keys"][0]["fingerprint"]
                .as_str()
                .is_some_and(|f| f.starts_with("sm3:"))
        );

        let listed = ok(&app, get(&app, "/v1/admin/staff", &admin.token).await);
        let accounts = listed["accounts"].as_array().expect("accounts");
        let ids: Vec<&str> = accounts
            .iter()
            .filter_map(|a| a["account_id"].as_str())
            .collect();
        assert_eq!(
            ids,
            [finance.id.as_str(), &agent.id, &auditor.id, &admin.id],
            "{}: newest first",
            app.label
        );
        assert_eq!(accounts[1]["roles"], json!(["agent"]));
        assert_eq!(accounts[1]["status"], "active");
        assert_eq!(accounts[1]["dormant"], false);
        let newest = ok(
            &app,
            get(&app, "/v1/admin/staff/active/1", &admin.token).await,
        );
        assert_eq!(newest["accounts"].as_array().map(Vec::len), Some(1));
        let frozen = ok(
            &app,
            get(&app, "/v1/admin/staff/frozen/500", &admin.token).await,
        );
        assert_eq!(frozen["accounts"], json!([]));
        for bad in ["bogus/5", "all/0", "all/1000", "active/x"] {
            let path = format!("/v1/admin/staff/{bad}");
            refused(
                &app,
                &get(&app, &path, &admin.token).await,
                422,
                "INSPAY-REQ-003",
            );
        }

        let grant = |id: &str, role: &str| {
            let (app, token, path) = (
                &app,
                admin.token.clone(),
                format!("/v1/admin/staff-roles/{id}"),
            );
            let body = json!({ "role": role });
            async move { call(app, Method::POST, &path, &token, Some(body)).await }
        };
        let conflict = grant(&agent.id, "finance-officer").await;
        refused(&app, &conflict, 409, "INSPAY-REQ-009");
        assert!(
            conflict.1["detail"]
                .as_str()
                .is_some_and(|d| d.contains("separation of duties"))
        );
        refused(
            &app,
            &grant(&admin.id, "agent").await,
            409,
            "INSPAY-REQ-009",
        );
        refused(
            &app,
            &grant(&customer_id, "agent").await,
            404,
            "INSPAY-REQ-006",
        );
        refused(
            &app,
            &grant("not-an-id", "agent").await,
            404,
            "INSPAY-REQ-006",
        );
        refused(
            &app,
            &grant(&agent.id, "emperor").await,
            422,
            "INSPAY-REQ-003",
        );
        let granted = ok(&app, grant(&agent.id, "security-officer").await);
        assert_eq!(
            granted["roles"],
            json!(["agent", "security-officer"]),
            "{}",
            app.label
        );
        let path = format!("/v1/admin/staff-roles/{}/security-officer", agent.id);
        let revoked = ok(
            &app,
            call(&app, Method::DELETE, &path, &admin.token, None).await,
        );
        assert_eq!(revoked["roles"], json!(["agent"]));
        refused(
            &app,
            &call(&app, Method::DELETE, &path, &admin.token, None).await,
            404,
            "INSPAY-REQ-006",
        );
        let entries = app
            .state
            .store
            .audit_entries(0, 100_000)
            .await
            .expect("audit");
        let actor = format!("account:{}", admin.id);
        let by_admin: Vec<(&str, &str)> = entries
            .iter()
            .filter(|entry| entry.actor == actor && entry.action.starts_with("role."))
            .map(|entry| (entry.action.as_str(), entry.outcome.as_str()))
            .collect();
        assert_eq!(
            by_admin,
            [
                ("role.grant", "denied"),
                ("role.grant", "denied"),
                ("role.grant", "success"),
                ("role.revoke", "success")
            ],
            "{}",
            app.label
        );

        // A conflicting pair granted outside inspay: the review lists it first.
        let insert = format!(
            "INSERT INTO account_roles (account_id, role, granted_by, granted_at_ms) VALUES ('{}', 'claims-adjuster', 'operator:outside', 0)",
            finance.id
        );
        tamper(&app, &[&insert]).await;
        let review = ok(
            &app,
            get(&app, "/v1/admin/permission-review", &auditor.token).await,
        );
        assert_eq!(
            review["summary"]["with_conflicts"], 1,
            "{}: {review}",
            app.label
        );
        assert_eq!(review["accounts"][0]["account_id"], finance.id.as_str());
        assert_eq!(
            review["accounts"][0]["permissions"],
            json!([]),
            "conflicting roles hold nothing"
        );
        assert!(
            review["accounts"][0]["conflicts"][0]["reason"]
                .as_str()
                .is_some_and(|r| r.contains("5.3.2.2"))
        );
        assert!(review["summary"]["accounts"].as_u64() >= Some(4));

        all_refused(
            &app,
            &admin.token,
            &["/v1/admin/permission-review", "/v1/admin/keys"],
        )
        .await;
        all_refused(&app, &finance.token, &["/v1/admin/staff", "/v1/admin/apps"]).await;
        all_refused(
            &app,
            &customer,
            &[
                "/v1/admin/staff",
                "/v1/admin/apps",
                "/v1/admin/permission-review",
            ],
        )
        .await;
        let path = format!("/v1/admin/staff-roles/{}", agent.id);
        let body = Some(json!({ "role": "auditor" }));
        refused(
            &app,
            &call(&app, Method::POST, &path, &auditor.token, body).await,
            403,
            "INSPAY-AUTH-005",
        );
        app.stop().await;
    }
}
