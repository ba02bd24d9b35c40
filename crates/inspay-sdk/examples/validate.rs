//! Validates a mobile number with a signed request whose `mobile` field travels encrypted,
//! and prints the server's verified answer.
//!
//! ```sh
//! INSPAY_URL=https://localhost:8443 \
//! INSPAY_APP_ID=portal-app \
//! INSPAY_APP_KEY_PEM=app-key.pem \
//! INSPAY_CA_PEM=data/dev-tls/ca.pem \
//!   cargo run -p inspay-sdk --example validate
//! ```
//!
//! `INSPAY_APP_KEY_PEM` is the path of the application's SM2 private key (PKCS#8 PEM) whose
//! public key the operator registered as serial 1 (`inspay apps register`);
//! `INSPAY_CA_PEM` the CA that issued the server's TLS certificate. The server's keys are
//! fetched on first use and their fingerprints printed: in production, compare them with the
//! operator's and pin them instead (`ClientBuilder::server_key_pem`).

use inspay_sdk::{Client, Sm2PrivateKey};
use serde_json::{Value, json};

fn env(name: &str) -> Result<String, Box<dyn std::error::Error>> {
    std::env::var(name).map_err(|_| format!("set {name} (see the example's documentation)").into())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = env("INSPAY_URL")?;
    let app_id = env("INSPAY_APP_ID")?;
    let key_pem = zeroize::Zeroizing::new(std::fs::read_to_string(env("INSPAY_APP_KEY_PEM")?)?);
    let ca_pem = std::fs::read_to_string(env("INSPAY_CA_PEM")?)?;

    let key = Sm2PrivateKey::from_pkcs8_pem(&key_pem)?;
    let builder = Client::builder(url)
        .app_id(app_id)
        .key(1, key)
        .trust_ca_pem(&ca_pem)?;

    let server_keys = builder.fetch_server_keys().await?;
    println!("server response-signing keys (trust on first use; pin them in production):");
    for key in &server_keys.keys {
        let active = if server_keys.active_serial == Some(key.serial) {
            " (signs now)"
        } else {
            ""
        };
        println!(
            "  serial {} {} {}{active}",
            key.serial, key.state, key.fingerprint
        );
    }
    let client = builder.server_keys(&server_keys).build()?;

    let response = client
        .post("/v1/validate")
        .json(&json!({"mobile": "13812345678"}))?
        .send()
        .await?;
    let answer: Value = response.json()?;
    println!("verified answer: {answer}");
    let evidence = response.evidence();
    println!(
        "signed by server key serial {} at {} (keep this evidence: signature {})",
        evidence.serial, evidence.timestamp_s, evidence.signature_base64
    );
    Ok(())
}
