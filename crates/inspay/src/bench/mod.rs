//! `inspay bench`: benchmarks measured beside a reference run on the same machine in the same
//! run (clause 6.4.2).

mod api;
#[cfg(feature = "tlcp")]
mod channel;
mod crypto;
mod password;
mod payments;
mod risk;
mod risk_gate;
mod server;
mod sign_in;

/// What to benchmark.
#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// SM3, SM4-GCM and SM2 throughput beside `openssl speed` on this machine.
    ///
    /// Measures, single-threaded: SM3 and SM4-GCM on 8 KiB blocks (MB/s), SM2 signatures
    /// and verifications per second (20-byte message, default user ID, Z computed for every
    /// operation as `openssl speed` does). Then runs `openssl speed` for SM3, SM4-CTR
    /// (OpenSSL 3.0 has no SM4-GCM), SM2 and ECDSA P-256, and prints ours against OpenSSL's
    /// with the ratio each must reach. Build with `--release`.
    #[command(after_help = "Examples:
  cargo run --release -p inspay -- bench crypto
  inspay bench crypto --seconds 1
  inspay bench crypto --no-openssl
  inspay bench crypto --check      # exit with an error if a target is missed")]
    Crypto(CryptoArgs),
    /// Cost and throughput of one password verification (PBKDF2-HMAC-SM3 at the configured
    /// cost) beside `openssl kdf` computing the same PBKDF2 in the same run.
    #[command(after_help = "Examples:
  cargo run --release -p inspay -- bench password
  inspay bench password --iterations 300000 --rounds 20")]
    Password(password::PasswordArgs),
    /// Whether sign-in timing tells an unknown account from a known one with a wrong
    /// password (clause 5.2.3.3): medians through the whole server stack, interleaved.
    #[command(after_help = "Examples:
  cargo run --release -p inspay -- bench sign-in
  inspay bench sign-in --rounds 100 --check   # exit with an error at a 5 % difference or more")]
    SignIn(sign_in::SignInArgs),
    /// Signed requests through the SDK over TLS on loopback against a server in this process:
    /// requests/s and p50/p99 latency of a signed read and a signed fund request, beside the
    /// bound SM2 signing and verification alone would set on this machine (target: fund
    /// requests at 50 % of it or more).
    #[command(after_help = "Examples:
  cargo run --release -p inspay -- bench api
  inspay bench api --seconds 20 --concurrency 32
  inspay bench api --database-url postgres://postgres@127.0.0.1/bench --check")]
    Api(api::ApiArgs),
    /// Premium payments end to end (signed requests over TLS, the server, the simulated bank,
    /// the ledger): payments/s and p50/p99 beside the bound signatures alone would set; then 100
    /// concurrent requests with one idempotency key and 100 concurrent refunds of one payment.
    #[command(after_help = "Examples:
  cargo run --release -p inspay -- bench payments
  inspay bench payments --seconds 20 --concurrency 128
  inspay bench payments --database-url postgres://postgres@127.0.0.1/bench")]
    Payments(payments::PaymentsArgs),
    /// The risk engine: a signed pack of 200 rules evaluated over varied operations (p50/p99
    /// beside one SM2 verification in the same run), and the behaviour model trained on a
    /// generated history of 1,000,000 operations with planted anomalies (training time,
    /// precision and recall).
    #[command(after_help = "Examples:
  cargo run --release -p inspay -- bench risk
  inspay bench risk --rules 500 --evaluations 50000
  inspay bench risk --observations 200000 --check")]
    Risk(risk::RiskArgs),
    /// The TLCP listener beside the HTTPS (rustls) listener of the same server: new
    /// connections/s (handshake and one request) over rustls TLS 1.3, TLCP ECC_SM4_GCM_SM3 and
    /// TLS 1.3 TLS_SM4_GCM_SM3, and signed fund requests/s through the SDK over HTTPS and over
    /// TLCP; medians of interleaved rounds with ratios to HTTPS, drawn as bars.
    #[cfg(feature = "tlcp")]
    #[command(after_help = "Examples:
  cargo run --release -p inspay -- bench channel
  inspay bench channel --rounds 5 --seconds 4 --concurrency 32")]
    Channel(channel::ChannelArgs),
}

pub use crypto::CryptoArgs;

/// Runs a benchmark.
pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Crypto(args) => crypto::crypto(&args),
        BenchCommand::Password(args) => password::run(&args),
        BenchCommand::SignIn(args) => sign_in::run(&args),
        BenchCommand::Api(args) => api::run(&args),
        BenchCommand::Payments(args) => payments::run(&args),
        BenchCommand::Risk(args) => risk::run(&args),
        #[cfg(feature = "tlcp")]
        BenchCommand::Channel(args) => channel::run(&args),
    }
}
