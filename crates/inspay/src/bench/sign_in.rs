//! `inspay bench sign-in`: does the answer's timing tell whether an account exists
//! (clause 5.2.3.3)? Times `POST /v1/sign-in` through the whole server stack (edge layers,
//! route declarations, store, hashing at the configured cost) for a name no account has and
//! for a real account with a wrong password, interleaved so drift hits both alike, and
//! compares the medians. The requirement is a difference under 5 %.
//!
//! Requests go to the router in-process, so the figures hold the server's own work and not
//! network noise (an attacker's network adds the same noise to both). Every unknown name is
//! new and every round has its own real account, so neither path meets a CAPTCHA or the lock.

use anyhow::{Context, Result, bail};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use indicatif::{ProgressBar, ProgressStyle};
use inspay_identity::login_name::LoginName;
use inspay_identity::secret_hash::{SecretHash, SecretKind};
use inspay_server::{Application, Settings};
use inspay_store::accounts::{NewAccount, Population};
use inspay_store::keys::Actor;
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// Options of `inspay bench sign-in`.
#[derive(Debug, clap::Args)]
pub struct SignInArgs {
    /// Timed attempts of each kind.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u32).range(5..=2000))]
    pub rounds: u32,
    /// Exit with an error if the medians differ by 5 % or more.
    #[arg(long)]
    pub check: bool,
}

const PASSWORD: &str = "Harbor!Lamp7Violet";
const WRONG: &str = "Wrong!Password9x";

/// Runs the benchmark.
pub fn run(args: &SignInArgs) -> Result<()> {
    crate::commands::runtime()?.block_on(measure(args))
}

async fn attempt(
    router: &axum::Router,
    login_name: &str,
    password: &str,
) -> Result<(StatusCode, Duration)> {
    let body = serde_json::json!({ "login_name": login_name, "password": password }).to_string();
    let request = Request::post("/v1/sign-in")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .context("request")?;
    let started = Instant::now();
    let response = router.clone().oneshot(request).await?;
    let status = response.status();
    let _ = axum::body::to_bytes(response.into_body(), 64 * 1024).await;
    Ok((status, started.elapsed()))
}

async fn measure(args: &SignInArgs) -> Result<()> {
    let dir = tempfile_dir()?;
    let mut settings = Settings {
        data_dir: dir.clone(),
        ..Settings::default()
    };
    settings.listen.address = "127.0.0.1:0".parse().context("address")?;
    settings.log.filter = "error".into();
    // Unsigned requests, in-process: this measures what an attacker could time (the password
    // work and the account look-up); the signature check costs the same for both kinds of
    // attempt and is measured by `inspay bench api`.
    settings.protocol.signatures = inspay_server::protocol::SignatureMode::Optional;
    let iterations = settings.identity.password_iterations;
    let app = Application::build(settings)
        .await
        .context("cannot start a benchmark server")?;
    let state = app.state().clone();
    let router = inspay_server::startup::router(state.clone());
    let keyring = state.keyring();
    let who = Actor {
        actor: "operator:bench",
        request_id: "bench",
    };
    // One account per round, so every timed attempt meets a fresh failure count and no
    // CAPTCHA (a right first factor no longer clears the count, so one account cannot be
    // reused). They share one hash at the configured cost: only its cost matters here.
    let hash = SecretHash::new(SecretKind::LoginPassword, PASSWORD.as_bytes(), iterations)?;
    let known = |n: u32| format!("1391234{:04}", n % 10_000);
    let create = ProgressBar::new(u64::from(args.rounds) + 2).with_style(
        ProgressStyle::with_template("{msg:20} {bar:40} {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    create.set_message("creating accounts");
    for n in 0..args.rounds + 2 {
        state
            .store
            .account_create(
                &keyring,
                &NewAccount {
                    population: Population::Customer,
                    login_name: &LoginName::customer(&known(n)).context("login name")?,
                    person_id: None,
                    password: &hash,
                    must_change_password: false,
                },
                who,
                state.now_ms(),
            )
            .await?;
        create.inc(1);
    }
    create.finish_and_clear();

    let bar = ProgressBar::new(u64::from(args.rounds) + 2).with_style(
        ProgressStyle::with_template("{msg:20} {bar:40} {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("warming up");
    for n in 0..2u32 {
        attempt(&router, &format!("1391235{n:04}"), WRONG).await?;
        attempt(&router, &known(args.rounds + n), WRONG).await?;
        bar.inc(1);
    }
    bar.set_message("timing");
    let (mut unknown, mut known_times) = (vec![], vec![]);
    for n in 0..args.rounds {
        // Alternate which goes first, so drift and caching hit both alike.
        let stranger = format!("1391236{:04}", n % 10_000);
        let account = known(n);
        let order = [(true, stranger.as_str()), (false, account.as_str())];
        let order = if n % 2 == 0 {
            order
        } else {
            [order[1], order[0]]
        };
        for (is_unknown, name) in order {
            let (status, elapsed) = attempt(&router, name, WRONG).await?;
            if status != StatusCode::UNAUTHORIZED {
                bail!("a wrong sign-in was answered {status}, not 401");
            }
            if is_unknown {
                unknown.push(elapsed);
            } else {
                known_times.push(elapsed);
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    drop(app);
    let _ = std::fs::remove_dir_all(&dir);

    let unknown_median = median(&mut unknown);
    let known_median = median(&mut known_times);
    let difference = (known_median.as_secs_f64() - unknown_median.as_secs_f64()).abs()
        / unknown_median.as_secs_f64().max(f64::EPSILON);
    println!(
        "Sign-in timing, {} rounds each, PBKDF2-HMAC-SM3 at {iterations} iterations",
        args.rounds
    );
    println!();
    println!(
        "{:<34} {:>10} {:>10} {:>10}",
        "attempt", "median", "p10", "p90"
    );
    for (label, samples, median) in [
        ("unknown account", &unknown, unknown_median),
        ("known account, wrong password", &known_times, known_median),
    ] {
        println!(
            "{label:<34} {:>8.1}ms {:>8.1}ms {:>8.1}ms",
            ms(median),
            ms(percentile(samples, 10)),
            ms(percentile(samples, 90))
        );
    }
    println!();
    chart("unknown account", &unknown, &known_times);
    chart("known, wrong password", &known_times, &unknown);
    println!();
    let verdict = if difference < 0.05 { "met" } else { "NOT met" };
    println!(
        "difference of medians: {:.2} % (target < 5 %): {verdict}",
        difference * 100.0
    );
    if args.check && difference >= 0.05 {
        bail!(
            "the timing difference is {:.2} %, at or above 5 %",
            difference * 100.0
        );
    }
    Ok(())
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "inspay-bench-sign-in-{}-{}",
        std::process::id(),
        inspay_store::now_ms()
    ));
    std::fs::create_dir_all(&dir).context("cannot create a temporary directory")?;
    Ok(dir)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() - 1) * p / 100]
}

/// A one-line histogram of `samples` on a scale shared with `other`.
fn chart(label: &str, samples: &[Duration], other: &[Duration]) {
    const BUCKETS: usize = 40;
    let low = samples
        .iter()
        .chain(other)
        .min()
        .copied()
        .unwrap_or_default();
    let high = samples
        .iter()
        .chain(other)
        .max()
        .copied()
        .unwrap_or_default();
    let span = (high.as_secs_f64() - low.as_secs_f64()).max(1e-9);
    let mut counts = [0usize; BUCKETS];
    for sample in samples {
        let position = ((sample.as_secs_f64() - low.as_secs_f64()) / span * (BUCKETS - 1) as f64)
            .round() as usize;
        counts[position.min(BUCKETS - 1)] += 1;
    }
    let peak = counts.iter().copied().max().unwrap_or(1).max(1);
    let bars: String = counts
        .iter()
        .map(|count| [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'][count * 8 / peak])
        .collect();
    println!("{label:<22} {:>6.1}ms |{bars}| {:.1}ms", ms(low), ms(high));
}
