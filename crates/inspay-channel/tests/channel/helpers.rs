//! Spawns the real simulator on 127.0.0.1:0 and builds orders and raw requests against it.

use inspay_channel::simulator::LedgerEntry;
use inspay_channel::{
    CardDetails, CardToken, Clock, HttpChannel, OrderId, PayOrder, PaySource, PayoutOrder,
    RefundOrder, Simulator, SimulatorConfig, SimulatorHandle, signing,
};
use inspay_core::sensitive::{CardExpiry, CardNumber, Cvv, LegalName};
use inspay_crypto::sm2::Sm2PrivateKey;
use std::sync::Once;
use std::time::Duration;

pub const MERCHANT: &str = "m-test";
/// A card that pays.
pub const CARD_OK: &str = "6222021234567890128";
/// Ends in 0002: declined.
pub const CARD_DECLINED: &str = "6222021234567070002";
/// Ends in 0051: insufficient funds.
pub const CARD_NO_FUNDS: &str = "6222021234567070051";
/// An account that receives payouts.
pub const ACCOUNT_OK: &str = "6217001234567890122";
/// Ends in 0002: payouts fail.
pub const ACCOUNT_INVALID: &str = "6217001234000060002";
/// Long enough for any answer that is not held back on purpose.
pub const TIMEOUT_LONG: Duration = Duration::from_secs(5);
/// Short client timeout for fault tests.
pub const TIMEOUT_SHORT: Duration = Duration::from_millis(300);

/// A running simulator and what a test needs to talk to it.
pub struct TestBank {
    pub sim: SimulatorHandle,
    pub channel: HttpChannel,
    merchant_key: [u8; 32],
    http: reqwest::Client,
}

/// reqwest is built without a default TLS provider; the tests' own clients use ring.
fn install_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A simulator with default settings and a client with a long timeout.
pub async fn spawn_bank() -> TestBank {
    spawn_bank_with(|_| {}).await
}

/// A simulator whose configuration `configure` adjusts.
pub async fn spawn_bank_with(configure: impl FnOnce(&mut SimulatorConfig)) -> TestBank {
    install_provider();
    let merchant_key = Sm2PrivateKey::generate().expect("merchant key");
    let mut config = SimulatorConfig::new(MERCHANT, merchant_key.public_key().clone());
    config.hold = Duration::from_secs(10);
    configure(&mut config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listener");
    let sim = Simulator::spawn(config, listener).await.expect("simulator");
    let key_bytes = *merchant_key.to_bytes();
    let channel = HttpChannel::new(
        &sim.base_url(),
        merchant_key,
        sim.public_key().clone(),
        MERCHANT,
        TIMEOUT_LONG,
    )
    .expect("channel");
    TestBank {
        sim,
        channel,
        merchant_key: key_bytes,
        http: reqwest::Client::new(),
    }
}

impl TestBank {
    /// Our merchant key, again.
    pub fn merchant_key(&self) -> Sm2PrivateKey {
        Sm2PrivateKey::from_bytes(&self.merchant_key).expect("merchant key")
    }

    /// Another client of the same simulator, with its own timeout.
    pub fn channel_with_timeout(&self, timeout: Duration) -> HttpChannel {
        HttpChannel::new(
            &self.sim.base_url(),
            self.merchant_key(),
            self.sim.public_key().clone(),
            MERCHANT,
            timeout,
        )
        .expect("channel")
    }

    /// Sets a fault through the HTTP control plane.
    pub async fn set_fault(&self, plan: serde_json::Value) {
        let answer = self
            .http
            .post(format!("{}/control/faults", self.sim.base_url()))
            .body(plan.to_string())
            .send()
            .await
            .expect("control plane");
        assert_eq!(answer.status().as_u16(), 204, "fault plan {plan} refused");
    }

    /// The simulator's ledger through the HTTP control plane.
    pub async fn ledger(&self) -> Vec<LedgerEntry> {
        let answer = self
            .http
            .get(format!("{}/control/ledger", self.sim.base_url()))
            .send()
            .await
            .expect("control plane");
        let body = answer.bytes().await.expect("ledger body");
        serde_json::from_slice(&body).expect("ledger JSON")
    }

    /// The ledger entries of one order.
    pub async fn movements_of(&self, order_id: &str) -> Vec<LedgerEntry> {
        let ledger = self.ledger().await;
        ledger
            .into_iter()
            .filter(|entry| entry.order_id == order_id)
            .collect()
    }

    /// Sends a request signed with `key` at `timestamp_s` with `nonce`, bypassing the client.
    pub async fn raw(&self, signed: RawRequest<'_>) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let headers = signing::sign_request(
            signed.key,
            MERCHANT,
            signed.method.as_str(),
            signed.path,
            signed.timestamp_s,
            signed.nonce,
            signed.signed_body.unwrap_or(signed.body),
        )
        .expect("sign");
        let answer = self
            .http
            .request(
                signed.method,
                format!("{}{}", self.sim.base_url(), signed.path),
            )
            .headers(headers)
            .body(signed.body.to_vec())
            .send()
            .await
            .expect("raw request");
        let status = answer.status().as_u16();
        let headers = answer.headers().clone();
        let body = answer.bytes().await.expect("raw body").to_vec();
        (status, headers, body)
    }
}

/// A hand-made signed request.
pub struct RawRequest<'a> {
    pub key: &'a Sm2PrivateKey,
    pub method: reqwest::Method,
    pub path: &'a str,
    pub timestamp_s: i64,
    pub nonce: &'a str,
    pub body: &'a [u8],
    /// Sign this body instead of the one sent.
    pub signed_body: Option<&'a [u8]>,
}

/// The refusal code in a raw answer's JSON body.
pub fn refusal_code(body: &[u8]) -> String {
    let value: serde_json::Value = serde_json::from_slice(body).expect("refusal JSON");
    value["code"].as_str().expect("code").to_string()
}

pub fn id(text: &str) -> OrderId {
    OrderId::parse(text).expect("order id")
}

pub fn card(number: &str) -> CardDetails {
    CardDetails {
        number: CardNumber::parse(number).expect("card number"),
        expiry: CardExpiry::parse("07/31").expect("expiry"),
        cvv: Some(Cvv::parse("938").expect("cvv")),
    }
}

pub fn pay_card(order_id: &str, amount_fen: i64, number: &str) -> PayOrder {
    PayOrder::new(id(order_id), amount_fen, PaySource::Card(card(number))).expect("pay order")
}

pub fn pay_token(order_id: &str, amount_fen: i64, token: &str) -> PayOrder {
    let token = CardToken::parse(token).expect("token");
    PayOrder::new(id(order_id), amount_fen, PaySource::Token(token)).expect("pay order")
}

pub fn payout(order_id: &str, amount_fen: i64, account: &str) -> PayoutOrder {
    PayoutOrder::new(
        id(order_id),
        amount_fen,
        CardNumber::parse(account).expect("account"),
        LegalName::parse("张三丰").expect("name"),
    )
    .expect("payout order")
}

pub fn refund(order_id: &str, pay_order_id: &str, amount_fen: i64) -> RefundOrder {
    RefundOrder::new(id(order_id), id(pay_order_id), amount_fen).expect("refund order")
}

/// A business clock a test moves by hand.
pub fn manual_clock(start_ms: i64) -> (Clock, std::sync::Arc<std::sync::atomic::AtomicI64>) {
    let now = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(start_ms));
    let reader = std::sync::Arc::clone(&now);
    let clock = Clock::from_fn(move || reader.load(std::sync::atomic::Ordering::SeqCst));
    (clock, now)
}

/// Queries an order until the channel knows it (a request that timed out on our side may
/// still be on its way to the channel's books), at most 50 times.
pub async fn query_until_known(
    channel: &HttpChannel,
    order_id: &str,
) -> inspay_channel::ChannelAnswer {
    use inspay_channel::{OrderStatus, PaymentChannel};
    for _ in 0..50 {
        let answer = channel.query(&id(order_id)).await.expect("query");
        if answer.status != OrderStatus::NotFound {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the channel never recorded {order_id}");
}
