//! `inspay bench api`: signed requests through the SDK over TLS on loopback against a real
//! server in this process, beside the bound SM2 alone would set on this machine, measured in
//! the same run.
//!
//! Two scenarios, each for `--seconds` with `--concurrency` requests in flight:
//! - **signed read**: `GET /v1/privacy-notice`;
//! - **signed fund request**: `POST /v1/validate` with an `Idempotency-Key` (a new one each
//!   time), so it carries every step of the protocol a fund-transaction request does:
//!   signature check, nonce insert in the shared database, rate counters, idempotency claim and
//!   answer, evidence row under a record MAC, signed answer. (The payments API of issue 5 adds
//!   its own business work on top.)
//!
//! The bound: each request costs two SM2 signatures (client request, server answer) and two
//! verifications; with `sign` and `verify` seconds measured single-threaded here, the machine
//! could serve at most `cores / (2 sign + 2 verify)` requests a second if that were all.
//!
//! A shared virtual machine's speed moves by a third from one minute to the next, so the bound
//! is measured **between slices** of each scenario: the scenario runs in slices of
//! [`SLICE_S`] seconds, SM2 is timed before the first slice and after every slice, each slice's
//! rate is set against the bound measured on either side of it, and the share of the bound is
//! the median over the slices. A slice's rate, latencies and CPU are taken over its steady
//! window, from [`FILL`] into the slice to its end: the load tasks start together, so nothing
//! is answered for about one latency, and the requests still in flight at the end drain with
//! the cores going idle; neither happens to a server under steady load. The share over whole
//! slices, fill and drain included, is printed beside it.

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use inspay_crypto::sm2::Sm2PrivateKey;
use inspay_protocol::canonical::CanonicalRequest;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `inspay bench api` options.
#[derive(Debug, clap::Args)]
pub struct ApiArgs {
    /// Seconds per scenario.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Requests in flight at once (the group commit of nonces, claims and evidence takes
    /// whatever is waiting, so more in flight means fewer commits per request).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Database for the benchmark server (default: SQLite in a temporary directory), e.g.
    /// postgres://postgres@127.0.0.1/bench (the database must exist and be empty).
    #[arg(long)]
    pub database_url: Option<String>,
    /// Exit with an error if signed fund requests reach less than 50 % of the bound.
    #[arg(long)]
    pub check: bool,
}

/// The target: signed fund requests reach this share of the SM2 bound.
const TARGET_SHARE: f64 = 0.5;

pub(super) struct Outcome {
    pub(super) name: &'static str,
    pub(super) requests: usize,
    pub(super) errors: usize,
    pub(super) elapsed: Duration,
    pub(super) latencies: Vec<Duration>,
    /// CPU seconds the process used during the scenario.
    pub(super) cpu_s: Option<f64>,
}

impl Outcome {
    pub(super) fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    pub(super) fn percentile_ms(&self, share: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let index = ((self.latencies.len() - 1) as f64 * share).round() as usize;
        self.latencies[index].as_secs_f64() * 1000.0
    }
}

/// Runs the benchmark.
pub fn run(args: &ApiArgs) -> Result<()> {
    if args.concurrency == 0 || args.seconds == 0 {
        bail!("--concurrency and --seconds must be at least 1");
    }
    crate::commands::runtime()?.block_on(measure(args))
}

/// Seconds per SM2 signature and per verification, single-threaded, over a canonical request
/// of the size the benchmark sends, one figure per round.
pub(super) fn sm2_costs() -> Result<(Vec<f64>, Vec<f64>)> {
    sm2_costs_rounds(SM2_ROUNDS)
}

/// [`sm2_costs`] over `rounds` rounds of 250 ms each of signing and verifying.
fn sm2_costs_rounds(rounds: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    let key = Sm2PrivateKey::generate()?;
    let canonical = CanonicalRequest::new(
        "POST",
        "/v1/validate",
        1_764_100_000,
        "k3J9x0Qm2b7T5nYwAbCdEfGh",
        br#"{"legal_name":"Wang Wei"}"#,
    )?
    .to_bytes();
    let signature = key.sign(&canonical)?;
    // Several short rounds, alternating sign and verify; the caller takes the median of these
    // and of a second set measured after the scenarios, so a round that lost time to a
    // neighbour on a shared machine, or ran in a lucky burst, does not move the bound.
    let time = |operation: &dyn Fn() -> Result<()>| -> Result<f64> {
        let mut rounds = 0u32;
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(250) {
            operation()?;
            rounds += 1;
        }
        Ok(started.elapsed().as_secs_f64() / f64::from(rounds))
    };
    let mut sign = vec![];
    let mut verify = vec![];
    for _ in 0..rounds {
        sign.push(time(&|| {
            key.sign(&canonical)?;
            Ok(())
        })?);
        verify.push(time(&|| {
            key.public_key().verify(&canonical, &signature)?;
            Ok(())
        })?);
    }
    Ok((sign, verify))
}

/// The median of some timings.
pub(super) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// A load task's result: the latencies of the requests that succeeded, and how many failed.
pub(super) type TaskResult = (Vec<Duration>, usize);

/// Waits for the load tasks of one scenario and sums them up: every latency, sorted, the
/// errors, the wall time since `started` and the CPU the process used since `cpu_before`.
pub(super) async fn collect(
    name: &'static str,
    tasks: Vec<tokio::task::JoinHandle<TaskResult>>,
    started: Instant,
    cpu_before: Option<f64>,
) -> Result<Outcome> {
    let (mut latencies, errors) = gather(tasks).await?;
    let elapsed = started.elapsed();
    let cpu_s = cpu_before
        .zip(process_cpu_s())
        .map(|(before, after)| after - before);
    latencies.sort();
    Ok(Outcome {
        name,
        requests: latencies.len(),
        errors,
        elapsed,
        latencies,
        cpu_s,
    })
}

/// Waits for load tasks that each report what they measured of the requests that succeeded and
/// how many failed; returns all of it and the failures summed.
async fn gather<T>(
    tasks: Vec<tokio::task::JoinHandle<(Vec<T>, usize)>>,
) -> Result<(Vec<T>, usize)> {
    let mut items = vec![];
    let mut errors = 0;
    for task in tasks {
        let (mut own, failed) = task.await.context("a load task stopped")?;
        items.append(&mut own);
        errors += failed;
    }
    Ok((items, errors))
}

/// Rounds of the SM2 measurement, before and again after the scenarios.
const SM2_ROUNDS: usize = 4;

/// CPU seconds this process has used (user and system), from `/proc/self/stat`; `None` where
/// that file is not there.
pub(super) fn process_cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / CLOCK_TICKS_PER_S)
}

/// `USER_HZ` on Linux.
const CLOCK_TICKS_PER_S: f64 = 100.0;

async fn measure(args: &ApiArgs) -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let steps = 5;
    let bar = ProgressBar::new(steps).with_style(
        ProgressStyle::with_template("{msg:28} {bar:40} {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("starting the server");
    let server =
        super::server::BenchServer::start("api", args.database_url.as_deref(), |_| {}).await?;
    let client = server.client.clone();
    bar.inc(1);

    let duration = Duration::from_secs(args.seconds);
    bar.set_message("signed read");
    let read = interleaved("signed read", &client, args.concurrency, duration, false).await?;
    bar.inc(1);
    bar.set_message("signed fund request");
    let fund = interleaved(
        "signed fund request",
        &client,
        args.concurrency,
        duration,
        true,
    )
    .await?;
    bar.inc(2);
    let sign_s = median([read.sign_s.clone(), fund.sign_s.clone()].concat());
    let verify_s = median([read.verify_s.clone(), fund.verify_s.clone()].concat());
    let bound = cores as f64 / (2.0 * sign_s + 2.0 * verify_s);
    let (read_share, fund_share) = (read.share(cores), fund.share(cores));
    let whole_shares = (
        read.share_of(&read.whole_rates, cores),
        fund.share_of(&fund.whole_rates, cores),
    );
    let (read, fund) = (read.outcome, fund.outcome);
    bar.inc(1);
    bar.finish_and_clear();
    server.stop().await;

    println!(
        "inspay bench api: {} s per scenario, {} in flight, {} cores, database {}",
        args.seconds,
        args.concurrency,
        cores,
        if args.database_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    println!(
        "SM2 on this machine, one core (median between slices): sign {:.1} µs, verify {:.1} µs; bound = {cores} / (2 sign + 2 verify) = {bound:.0} requests/s",
        sign_s * 1e6,
        verify_s * 1e6
    );
    println!();
    println!(
        "{:<22} {:>10} {:>8} {:>10} {:>10} {:>9} {:>12} {:>9}",
        "scenario",
        "requests/s",
        "errors",
        "p50 ms",
        "p99 ms",
        "of bound",
        "CPU µs/req",
        "CPU busy"
    );
    let signatures_us = (2.0 * sign_s + 2.0 * verify_s) * 1e6;
    for (outcome, share) in [(&read, read_share), (&fund, fund_share)] {
        let (per_request, busy) = match outcome.cpu_s {
            Some(cpu_s) => (
                format!("{:.0}", cpu_s / outcome.requests.max(1) as f64 * 1e6),
                format!(
                    "{:.0}%",
                    cpu_s / (cores as f64 * outcome.elapsed.as_secs_f64()) * 100.0
                ),
            ),
            None => ("-".to_string(), "-".to_string()),
        };
        println!(
            "{:<22} {:>10.0} {:>8} {:>10.2} {:>10.2} {:>8.0}% {:>12} {:>9}",
            outcome.name,
            outcome.rate(),
            outcome.errors,
            outcome.percentile_ms(0.5),
            outcome.percentile_ms(0.99),
            share * 100.0,
            per_request,
            busy
        );
    }
    println!(
        "(of bound: the median over {SLICE_S} s slices of each slice's steady rate, from {} ms \
         into the slice to its end, against the bound timed beside it; CPU µs/req: this \
         process's CPU time in those windows, server and load generator together, per request; \
         the four signature operations alone take {signatures_us:.0} µs)",
        FILL.as_millis()
    );
    println!(
        "(over whole slices, each slice's fill and drain included: signed read {:.0}%, signed \
         fund request {:.0}% of the bound)",
        whole_shares.0 * 100.0,
        whole_shares.1 * 100.0
    );
    println!();
    let widest = bound.max(read.rate()).max(fund.rate());
    for (name, value) in [
        ("SM2 bound", bound),
        (read.name, read.rate()),
        (fund.name, fund.rate()),
    ] {
        let width = ((value / widest) * 50.0).round() as usize;
        println!("{name:<22} {} {value:.0}/s", "█".repeat(width.max(1)));
    }
    let share = fund_share;
    println!();
    println!(
        "signed fund requests: {:.0}% of the bound (target at least {:.0}%): {}",
        share * 100.0,
        TARGET_SHARE * 100.0,
        if share >= TARGET_SHARE {
            "met"
        } else {
            "NOT met"
        }
    );
    if read.errors + fund.errors > 0 {
        bail!(
            "{} requests failed; the figures above count only the successful ones",
            read.errors + fund.errors
        );
    }
    if args.check && share < TARGET_SHARE {
        bail!(
            "signed fund requests reached {:.0}% of the bound",
            share * 100.0
        );
    }
    Ok(())
}

/// Seconds per slice of a scenario (the bound is timed between slices).
const SLICE_S: u64 = 2;

/// A scenario run in slices with SM2 timed between them.
struct Sliced {
    /// All slices together.
    outcome: Outcome,
    /// Each slice's requests/s in its window (see [`FILL`]).
    rates: Vec<f64>,
    /// Each slice's requests/s over the whole slice, fill and drain included.
    whole_rates: Vec<f64>,
    /// Seconds per signature, timed before the first slice and after each.
    sign_s: Vec<f64>,
    /// Seconds per verification, likewise.
    verify_s: Vec<f64>,
}

impl Sliced {
    /// The median over the slices of each slice's rate against the bound timed on either
    /// side of it.
    fn share(&self, cores: usize) -> f64 {
        self.share_of(&self.rates, cores)
    }

    /// [`Sliced::share`] of the given per-slice rates.
    fn share_of(&self, rates: &[f64], cores: usize) -> f64 {
        let bound = |i: usize| cores as f64 / (2.0 * self.sign_s[i] + 2.0 * self.verify_s[i]);
        let shares = rates
            .iter()
            .enumerate()
            .map(|(i, rate)| rate / ((bound(i) + bound(i + 1)) / 2.0))
            .collect();
        median(shares)
    }
}

/// Runs a scenario for `duration` in slices of [`SLICE_S`] seconds, timing SM2 (one round of
/// signing and one of verifying, single-threaded, load stopped) before the first slice and
/// after each.
async fn interleaved(
    name: &'static str,
    client: &inspay_sdk::Client,
    concurrency: usize,
    duration: Duration,
    fund: bool,
) -> Result<Sliced> {
    let slices = (duration.as_secs() / SLICE_S).max(1);
    let slice = duration / u32::try_from(slices).unwrap_or(1);
    let timed = || async {
        tokio::task::spawn_blocking(|| sm2_costs_rounds(1))
            .await
            .context("the SM2 measurement stopped")?
    };
    let (mut sign_s, mut verify_s) = timed().await?;
    let mut parts = Vec::new();
    for index in 0..slices {
        parts.push(scenario(name, client, concurrency, slice, fund, index == 0).await?);
        let (sign, verify) = timed().await?;
        sign_s.extend(sign);
        verify_s.extend(verify);
    }
    let rates = parts.iter().map(|part| part.windowed.rate()).collect();
    let whole_rates = parts.iter().map(|part| part.whole.rate()).collect();
    let mut latencies: Vec<Duration> = parts
        .iter_mut()
        .flat_map(|part| std::mem::take(&mut part.windowed.latencies))
        .collect();
    latencies.sort();
    let outcome = Outcome {
        name,
        requests: parts.iter().map(|part| part.windowed.requests).sum(),
        errors: parts.iter().map(|part| part.windowed.errors).sum(),
        elapsed: parts.iter().map(|part| part.windowed.elapsed).sum(),
        latencies,
        cpu_s: parts.iter().map(|part| part.windowed.cpu_s).sum(),
    };
    Ok(Sliced {
        outcome,
        rates,
        whole_rates,
        sign_s,
        verify_s,
    })
}

async fn scenario(
    name: &'static str,
    client: &inspay_sdk::Client,
    concurrency: usize,
    duration: Duration,
    fund: bool,
    warm: bool,
) -> Result<Slice> {
    // A short warm-up: connections, caches, the SQLite page cache.
    let warm_until = Instant::now() + Duration::from_millis(if warm { 500 } else { 0 });
    while Instant::now() < warm_until {
        let _ = one(client, fund).await;
    }
    let started = Instant::now();
    let deadline = started + duration;
    let opens = started + FILL.min(duration / 4);
    // The process's CPU time read at the window's edges, by a task of its own; the instants
    // it read them at are the window's edges.
    let window = tokio::spawn(async move {
        tokio::time::sleep_until(opens.into()).await;
        let (opened, cpu_opened) = (Instant::now(), process_cpu_s());
        tokio::time::sleep_until(deadline.into()).await;
        let (closed, cpu_closed) = (Instant::now(), process_cpu_s());
        let cpu_s = cpu_opened
            .zip(cpu_closed)
            .map(|(opened, closed)| closed - opened);
        (opened, closed, cpu_s)
    });
    let cpu_before = process_cpu_s();
    let client = Arc::new(client.clone());
    let mut tasks = vec![];
    for _ in 0..concurrency {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut done: Vec<(Instant, Duration)> = vec![];
            let mut errors = 0usize;
            while Instant::now() < deadline {
                let sent = Instant::now();
                match one(&client, fund).await {
                    Ok(()) => {
                        let finished = Instant::now();
                        done.push((finished, finished - sent));
                    }
                    Err(_) => errors += 1,
                }
            }
            (done, errors)
        }));
    }
    let (done, errors) = gather(tasks).await?;
    let whole = Outcome {
        name,
        requests: done.len(),
        errors,
        elapsed: started.elapsed(),
        latencies: vec![],
        cpu_s: cpu_before
            .zip(process_cpu_s())
            .map(|(before, after)| after - before),
    };
    let (opened, closed, cpu_s) = window.await.context("the window's timer stopped")?;
    let mut latencies: Vec<Duration> = done
        .iter()
        .filter(|(finished, _)| (opened..=closed).contains(finished))
        .map(|(_, latency)| *latency)
        .collect();
    latencies.sort();
    let windowed = Outcome {
        name,
        requests: latencies.len(),
        errors,
        elapsed: closed - opened,
        latencies,
        cpu_s,
    };
    Ok(Slice { windowed, whole })
}

/// One slice of a scenario: its steady state, and the whole slice.
struct Slice {
    /// The requests answered between [`FILL`] into the slice and its end, over that time
    /// and the CPU used in it.
    windowed: Outcome,
    /// Every request, over the time from the first sent to the last answered, fill and
    /// drain included (no latencies kept).
    whole: Outcome,
}

/// How long into a slice its window opens (at most a quarter of the slice). Every load task
/// sends its first request at the same moment, so for about one latency nothing is answered
/// while the cores are already busy; at the end, the requests still in flight are waited for
/// (the bound is timed with the load stopped) but the cores idle as they drain, the last ones
/// waiting alone for a group commit. A server under steady load has neither; counting them
/// would charge the benchmark's slicing to the server.
const FILL: Duration = Duration::from_millis(250);

pub(super) async fn one(client: &inspay_sdk::Client, fund: bool) -> Result<()> {
    let response = if fund {
        client
            .post("/v1/validate")
            .json(&serde_json::json!({ "legal_name": "Wang Wei" }))?
            .idempotent()
            .send()
            .await?
    } else {
        client.get("/v1/privacy-notice").send().await?
    };
    if response.status() != 200 {
        bail!("answered {}", response.status());
    }
    Ok(())
}
