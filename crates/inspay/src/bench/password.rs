//! `inspay bench password`: what one password verification costs (clause 5.2.2.1-a asks for a
//! slow hash; clause 6.4.2 for measured performance), beside OpenSSL computing the same
//! PBKDF2-HMAC-SM3 in the same run.

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use inspay_identity::secret_hash::{ITERATIONS_DEFAULT, ITERATIONS_MIN, SecretHash, SecretKind};
use std::process::Command;
use std::time::{Duration, Instant};

/// Options of `inspay bench password`.
#[derive(Debug, clap::Args)]
pub struct PasswordArgs {
    /// PBKDF2 iterations to measure (the stored cost).
    #[arg(long, default_value_t = ITERATIONS_DEFAULT)]
    pub iterations: u32,
    /// Verifications to time, on each side.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub rounds: u32,
    /// The OpenSSL command line tool for the reference.
    #[arg(long, default_value = "openssl")]
    pub openssl: String,
}

/// Runs the benchmark and prints the figures.
pub fn run(args: &PasswordArgs) -> Result<()> {
    if args.iterations < ITERATIONS_MIN {
        bail!("--iterations must be at least {ITERATIONS_MIN}, the smallest cost inspay accepts");
    }
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let bar = ProgressBar::new(u64::from(args.rounds) * 2 + 2).with_style(
        ProgressStyle::with_template("{msg:24} {bar:40} {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("inspay, one core");
    let hash = SecretHash::new(
        SecretKind::LoginPassword,
        b"Tea-Kettle-Orbit-42",
        args.iterations,
    )?;
    let mut ours = vec![];
    for _ in 0..args.rounds {
        let started = Instant::now();
        let ok = hash.verify(b"Tea-Kettle-Orbit-42");
        ours.push(started.elapsed());
        anyhow::ensure!(ok, "the benchmark password did not verify");
        bar.inc(1);
    }
    bar.set_message(format!("inspay, {cores} cores"));
    let parallel_s = all_cores(&hash, cores)?;
    bar.inc(2);
    bar.set_message("openssl kdf");
    let mut theirs = vec![];
    for _ in 0..args.rounds {
        theirs.push(openssl_pbkdf2(&args.openssl, args.iterations)?);
        bar.inc(1);
    }
    bar.finish_and_clear();

    let our_ms = median_ms(&mut ours);
    let their_ms = median_ms(&mut theirs);
    println!(
        "inspay bench password: PBKDF2-HMAC-SM3, {} iterations, 32-byte output",
        args.iterations
    );
    println!(
        "  one verification, median of {}: {:>8.1} ms  ({:.1} per second on one core)",
        args.rounds,
        our_ms,
        1000.0 / our_ms
    );
    println!(
        "  all {cores} cores together:        {:>8.1} verifications per second",
        parallel_s
    );
    println!(
        "  openssl kdf, same PBKDF2:        {:>8.1} ms  (includes starting the process, ~2 ms)",
        their_ms
    );
    println!(
        "  ratio (OpenSSL time / ours):     {:>8.2}x",
        their_ms / our_ms
    );
    println!();
    let widest = our_ms.max(their_ms);
    for (name, value) in [("inspay", our_ms), ("openssl kdf", their_ms)] {
        let width = ((value / widest) * 40.0).round() as usize;
        println!("  {name:<12} {} {value:.1} ms", "#".repeat(width.max(1)));
    }
    println!();
    println!(
        "Summary: every guess at a stolen hash takes {} HMAC-SM3 iterations (about {:.0} ms of one of these cores); \
         a login node verifies about {:.0} passwords per second with every core busy.",
        args.iterations, our_ms, parallel_s
    );
    Ok(())
}

/// Verifications per second with one thread per core, over about a second.
fn all_cores(hash: &SecretHash, cores: usize) -> Result<f64> {
    let started = Instant::now();
    let per_thread = 4u32;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..cores)
            .map(|_| scope.spawn(|| (0..per_thread).all(|_| hash.verify(b"Tea-Kettle-Orbit-42"))))
            .collect();
        handles
            .into_iter()
            .all(|handle| handle.join().unwrap_or(false))
    })
    .then_some(())
    .context("a verification failed")?;
    let total = f64::from(per_thread) * cores as f64;
    Ok(total / started.elapsed().as_secs_f64())
}

fn openssl_pbkdf2(openssl: &str, iterations: u32) -> Result<Duration> {
    let started = Instant::now();
    let output = Command::new(openssl)
        .args([
            "kdf",
            "-keylen",
            "32",
            "-kdfopt",
            "digest:SM3",
            "-kdfopt",
            "pass:Tea-Kettle-Orbit-42",
            "-kdfopt",
            "hexsalt:6c6f67696e2d70617373776f7264005a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a",
            "-kdfopt",
            &format!("iter:{iterations}"),
            "PBKDF2",
        ])
        .output()
        .with_context(|| {
            format!("cannot run `{openssl} kdf`; install OpenSSL 3 or pass --openssl PATH")
        })?;
    if !output.status.success() {
        bail!("`{openssl} kdf` failed: is it OpenSSL 3 with SM3?");
    }
    Ok(started.elapsed())
}

fn median_ms(samples: &mut [Duration]) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1000.0
}
