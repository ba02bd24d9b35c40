//! Pays a premium against a local server: signs in a customer (password, CAPTCHA, SMS code),
//! applies for a policy on a product, confirms with a fresh SMS code (the first premium is an
//! enhanced-level operation) and pays by card. Every request is signed, the card fields travel
//! encrypted to the server, the payment carries an idempotency key, and every answer's
//! signature is checked before it is used.
//!
//! Against a development server (`inspay serve`, which starts the simulated bank):
//!
//! ```sh
//! inspay products add --code TERM-1Y --name "Term life 1y" --cover 500000.00 \
//!     --premium 365.00 --frequency yearly --term-months 12 --grace-days 30
//! INSPAY_URL=https://localhost:8443 \
//! INSPAY_APP_ID=portal-app INSPAY_APP_KEY_PEM=app-key.pem \
//! INSPAY_CA_PEM=data/dev-tls/ca.pem \
//! INSPAY_MOBILE=13812345678 INSPAY_PASSWORD='your password' \
//! INSPAY_PRODUCT=TERM-1Y INSPAY_SMS_OUTBOX=data/sms-outbox.jsonl \
//!   cargo run -p inspay-sdk --example pay_premium
//! ```
//!
//! The customer must be registered (integrator guide section 3). The example writes each
//! CAPTCHA to `captcha.png` and asks you to type it. It reads SMS codes from the development
//! outbox named by `INSPAY_SMS_OUTBOX` (a real deployment texts them: the example then asks
//! you to type them). The card defaults to the simulated bank's approving test card;
//! `INSPAY_CARD` picks another (`6222021234567070002` is declined).

mod flow;

use flow::{Card, Challenges};
use inspay_sdk::{Client, Sm2PrivateKey};
use std::io::{BufRead, Write};

fn env(name: &str) -> Result<String, Box<dyn std::error::Error>> {
    std::env::var(name).map_err(|_| format!("set {name} (see the example's documentation)").into())
}

/// A person at the terminal, helped by the development SMS outbox when there is one.
struct Terminal {
    mobile: String,
    outbox: Option<String>,
}

impl Terminal {
    fn ask(&self, question: &str) -> String {
        print!("{question}: ");
        let _ = std::io::stdout().flush();
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        line.trim().to_string()
    }

    /// The newest six-digit code texted to the customer, from the development outbox.
    fn code_from_outbox(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.outbox.as_deref()?).ok()?;
        let tail = &self.mobile[self.mobile.len().saturating_sub(8)..];
        text.lines().rev().find_map(|line| {
            let entry: serde_json::Value = serde_json::from_str(line).ok()?;
            if !entry["to"].as_str()?.ends_with(tail) {
                return None;
            }
            let message = entry["text"].as_str()?;
            let digits: Vec<char> = message.chars().collect();
            digits.windows(6).find_map(|window| {
                window
                    .iter()
                    .all(char::is_ascii_digit)
                    .then(|| window.iter().collect())
            })
        })
    }
}

impl Challenges for Terminal {
    fn captcha(&mut self, id: &str, png: &[u8]) -> (String, String) {
        let _ = std::fs::write("captcha.png", png);
        let answer = self.ask("Type the characters shown in captcha.png");
        (id.to_string(), answer)
    }

    fn sms_code(&mut self, purpose: &str) -> String {
        match self.code_from_outbox() {
            Some(code) => {
                println!("read the {purpose} code from the development SMS outbox");
                code
            }
            None => self.ask(&format!("Type the {purpose} code texted to the customer")),
        }
    }

    async fn wait(&mut self, seconds: u64) {
        println!("waiting {seconds} s");
        tokio::time::sleep(std::time::Duration::from_secs(seconds)).await;
    }
}

/// Today in China time, `YYYY-MM-DD`.
fn today() -> String {
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0);
    let days = i64::try_from((now_s + 8 * 3600) / 86_400).unwrap_or(0);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key_pem = zeroize::Zeroizing::new(std::fs::read_to_string(env("INSPAY_APP_KEY_PEM")?)?);
    let builder = Client::builder(env("INSPAY_URL")?)
        .app_id(env("INSPAY_APP_ID")?)
        .key(1, Sm2PrivateKey::from_pkcs8_pem(&key_pem)?)
        .trust_ca_pem(&std::fs::read_to_string(env("INSPAY_CA_PEM")?)?)?;
    // Trust on first use, for a local server; pin the operator's keys in production.
    let server_keys = builder.fetch_server_keys().await?;
    let client = builder.server_keys(&server_keys).build()?;
    let mobile = env("INSPAY_MOBILE")?;
    let password = zeroize::Zeroizing::new(env("INSPAY_PASSWORD")?);
    let card = Card {
        number: std::env::var("INSPAY_CARD").unwrap_or_else(|_| "6222021234567890128".into()),
        expiry: "12/30".into(),
        cvv: "123".into(),
    };
    let mut terminal = Terminal {
        mobile: mobile.clone(),
        outbox: std::env::var("INSPAY_SMS_OUTBOX").ok(),
    };
    let policy = flow::pay_first_premium(
        &client,
        &mobile,
        &password,
        &env("INSPAY_PRODUCT")?,
        &today(),
        &card,
        &mut terminal,
    )
    .await?;
    println!(
        "policy {} is {}; premium 1: {}",
        policy["id"], policy["status"], policy["premiums"][0]["status"]
    );
    Ok(())
}
