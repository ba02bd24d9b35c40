//! The calls that take a customer from sign-in to a paid first premium, written once and used
//! by the example (a person answers the challenges) and by its test (the test answers them).

use inspay_sdk::{Client, Error};
use serde_json::{Value, json};

/// What a person does during the flow: read a CAPTCHA, read a text message, wait.
pub trait Challenges {
    /// Solves the CAPTCHA `id` drawn in `png`; returns the id and the answer to send (a test may
    /// substitute a CAPTCHA whose answer it knows).
    fn captcha(&mut self, id: &str, png: &[u8]) -> (String, String);
    /// The six-digit code texted to the customer for `purpose` (`login`, `step-up`).
    fn sms_code(&mut self, purpose: &str) -> String;
    /// Waits `seconds` (texts to one number are at least 60 s apart).
    fn wait(&mut self, seconds: u64) -> impl std::future::Future<Output = ()>;
}

/// A card as the customer types it; the SDK encrypts all three fields.
pub struct Card {
    /// Card number.
    pub number: String,
    /// `MM/YY`.
    pub expiry: String,
    /// CVV.
    pub cvv: String,
}

async fn captcha(client: &Client, challenges: &mut impl Challenges) -> Result<Value, Error> {
    let drawn: Value = client.get("/v1/captcha").send().await?.json()?;
    let id = drawn["id"].as_str().unwrap_or_default();
    let png = base64_decode(drawn["image_png_base64"].as_str().unwrap_or_default());
    let (id, answer) = challenges.captcha(id, &png);
    Ok(json!({ "id": id, "answer": answer }))
}

/// Sends a request that makes the server text a code; when the number had a text less than a
/// minute ago, waits and asks again (with a new CAPTCHA).
async fn send_code(
    client: &Client,
    path: &str,
    session: Option<&str>,
    mut body: Value,
    challenges: &mut impl Challenges,
) -> Result<(), Error> {
    for attempt in 0..2 {
        body["captcha"] = captcha(client, challenges).await?;
        let mut request = client.post(path).json(&body)?;
        if let Some(session) = session {
            request = request.session(session);
        }
        match request.send().await {
            Ok(_) => return Ok(()),
            Err(Error::Api { code, .. }) if code == "INSPAY-AUTH-008" && attempt == 0 => {
                challenges.wait(61).await;
            }
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Signs in with password and SMS code; returns the session token.
pub async fn sign_in(
    client: &Client,
    mobile: &str,
    password: &str,
    challenges: &mut impl Challenges,
) -> Result<String, Error> {
    let flow: Value = client
        .post("/v1/sign-in")
        .json(&json!({ "login_name": mobile, "password": password }))?
        .send()
        .await?
        .json()?;
    let flow_id = flow["flow_id"].as_str().unwrap_or_default().to_string();
    send_code(
        client,
        &format!("/v1/sign-in/{flow_id}/sms"),
        None,
        json!({}),
        challenges,
    )
    .await?;
    let code = challenges.sms_code("login");
    let session: Value = client
        .post(format!("/v1/sign-in/{flow_id}/sms-code"))
        .json(&json!({ "code": code }))?
        .send()
        .await?
        .json()?;
    Ok(session["session_token"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// A single-use step-up proof for `operation`, by SMS code.
pub async fn step_up(
    client: &Client,
    session: &str,
    operation: &str,
    challenges: &mut impl Challenges,
) -> Result<String, Error> {
    let body = json!({ "operation": operation, "method": "sms-code" });
    send_code(client, "/v1/step-up", Some(session), body, challenges).await?;
    let code = challenges.sms_code("step-up");
    let proof: Value = client
        .post("/v1/step-up/verify")
        .session(session)
        .json(&json!({ "operation": operation, "code": code }))?
        .send()
        .await?
        .json()?;
    Ok(proof["step_up_token"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// Signs in, applies for a policy on the product with `product_code` starting today, and pays
/// its first premium by card. Returns the policy as the server shows it afterwards.
pub async fn pay_first_premium(
    client: &Client,
    mobile: &str,
    password: &str,
    product_code: &str,
    start_on: &str,
    card: &Card,
    challenges: &mut impl Challenges,
) -> Result<Value, Box<dyn std::error::Error>> {
    let session = sign_in(client, mobile, password, challenges).await?;
    let products: Value = client.get("/v1/products").send().await?.json()?;
    let product = products["products"]
        .as_array()
        .and_then(|list| list.iter().find(|product| product["code"] == product_code))
        .ok_or_else(|| format!("no product {product_code} on sale"))?;
    let policy: Value = client
        .post("/v1/policies")
        .session(&session)
        .json(&json!({ "product_id": product["id"], "start_on": start_on }))?
        .send()
        .await?
        .json()?;
    let policy_id = policy["id"].as_str().unwrap_or_default().to_string();
    // The first premium of a policy is an enhanced-level operation: a fresh second factor.
    let proof = step_up(client, &session, "premium-payment", challenges).await?;
    let payment = client
        .post(format!("/v1/policies/{policy_id}/premiums/1/pay"))
        .session(&session)
        .step_up(&proof)
        // One key for this payment: a retry after a lost answer can never pay twice.
        .idempotent()
        .json(&json!({ "card_number": card.number, "expiry": card.expiry, "cvv": card.cvv }))?
        .send()
        .await?;
    let paid: Value = payment.json()?;
    if paid["status"] == "pending" {
        // The bank's answer is being confirmed; the server settles it within a minute.
        for _ in 0..30 {
            challenges.wait(2).await;
            let now: Value = client
                .get(format!("/v1/policies/{policy_id}"))
                .session(&session)
                .send()
                .await?
                .json()?;
            if now["status"] != "applied" {
                return Ok(now);
            }
        }
    }
    Ok(client
        .get(format!("/v1/policies/{policy_id}"))
        .session(&session)
        .send()
        .await?
        .json()?)
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap_or_default()
}
