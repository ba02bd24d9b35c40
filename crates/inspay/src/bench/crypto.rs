//! `inspay bench crypto`: inspay's SM3, SM4-GCM and SM2 beside `openssl speed`, measured in
//! the same run on the same machine, with the targets of docs/performance.md.

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use inspay_crypto::sm2::{DEFAULT_ID, Sm2PrivateKey, Sm2Verifier};
use inspay_crypto::sm3::sm3;
use inspay_crypto::sm4::Sm4Key;
use std::hint::black_box;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Block size for the hash and cipher throughput figures (and `openssl speed -bytes`).
const BLOCK: usize = 8192;
/// Message length for signatures: `openssl speed sm2` signs 20 bytes.
const MESSAGE_LEN: usize = 20;
/// Width of the longest bar in the chart.
const BAR_WIDTH: usize = 40;

/// Options of `inspay bench crypto`.
#[derive(Debug, clap::Args)]
pub struct CryptoArgs {
    /// Seconds per measurement, ours and `openssl speed -seconds`.
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(u64).range(1..=60))]
    pub seconds: u64,
    /// The OpenSSL command line tool to measure the reference with.
    #[arg(long, value_name = "PATH", default_value = "openssl")]
    pub openssl: String,
    /// Measure inspay only: no `openssl speed`, no ratios.
    #[arg(long, conflicts_with = "check")]
    pub no_openssl: bool,
    /// Exit with an error when a target ratio is missed.
    #[arg(long)]
    pub check: bool,
}

/// Figures measured for inspay.
struct Ours {
    sm3_mb_s: f64,
    sm4_gcm_mb_s: f64,
    sm2_sign_s: f64,
    sm2_verify_s: f64,
    sm2_verify_reference_s: f64,
}

/// Figures parsed from `openssl speed`.
struct Reference {
    version: String,
    sm3_mb_s: f64,
    sm4_ctr_mb_s: f64,
    sm2_sign_s: f64,
    sm2_verify_s: f64,
    p256_sign_s: f64,
    p256_verify_s: f64,
}

pub fn crypto(args: &CryptoArgs) -> Result<()> {
    let seconds = args.seconds;
    let openssl_version = if args.no_openssl {
        None
    } else {
        Some(openssl_version(&args.openssl)?)
    };

    print_header(openssl_version.as_deref());

    // Progress in milliseconds of measuring: five of ours, then openssl's sm3, sm4-ctr, and
    // sm2 and ecdsap256 (which each time sign and verify separately).
    let ours_ms = 5 * seconds * 1000;
    let openssl_ms = if args.no_openssl {
        0
    } else {
        6 * seconds * 1000
    };
    let progress = ProgressBar::new(ours_ms + openssl_ms);
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] [{bar:40}] {percent:>3}% {wide_msg}",
        )
        .context("progress bar template")?
        .progress_chars("=> "),
    );
    progress.enable_steady_tick(Duration::from_millis(100));

    let ours = measure_ours(seconds, &progress)?;
    let reference = match openssl_version {
        Some(version) => Some(measure_openssl(&args.openssl, version, seconds, &progress)?),
        None => None,
    };
    progress.finish_and_clear();

    let missed = report(&ours, reference.as_ref());
    if args.check && !missed.is_empty() {
        bail!("targets missed: {}", missed.join(", "));
    }
    Ok(())
}

fn print_header(openssl: Option<&str>) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!("inspay bench crypto");
    println!("  machine : {cpu}, {cores} logical CPUs (measured on one thread)");
    println!(
        "  method  : {}",
        if thread_cpu_time().is_some() {
            "operations per CPU-second of the measuring thread, as `openssl speed` divides by \
             its user CPU time"
        } else {
            "operations per wall-clock second (thread CPU time unavailable here)"
        }
    );
    println!(
        "  build   : inspay {} ({} profile)",
        env!("CARGO_PKG_VERSION"),
        if cfg!(debug_assertions) {
            "debug: figures are meaningless, build with --release"
        } else {
            "release"
        }
    );
    match openssl {
        Some(version) => println!("  openssl : {version}"),
        None => println!("  openssl : not run (--no-openssl)"),
    }
    println!();
}

/// CPU time used so far by the calling thread (Linux `/proc/thread-self/schedstat`, first
/// field, in nanoseconds); `None` where that file does not exist.
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// The least share of a CPU our measuring thread got, over all measurements.
static LEAST_CPU_SHARE: std::sync::Mutex<Option<f64>> = std::sync::Mutex::new(None);

/// Runs `op` repeatedly for `seconds` of wall time and returns operations per second of the
/// thread's CPU time, the divisor `openssl speed` uses by default (its user CPU time), so that
/// other load on the machine slows both sides alike. Falls back to wall time where the
/// thread's CPU time cannot be read. `done_ms` is where this measurement starts on the
/// progress bar.
fn rate<F: FnMut()>(
    progress: &ProgressBar,
    label: &str,
    seconds: u64,
    done_ms: u64,
    mut op: F,
) -> f64 {
    progress.set_message(format!("inspay: {label}"));
    // Warm up: lazily built tables, caches, CPU frequency.
    let warm_until = Instant::now() + Duration::from_millis(200);
    while Instant::now() < warm_until {
        op();
    }
    let budget = Duration::from_secs(seconds);
    let cpu_start = thread_cpu_time();
    let start = Instant::now();
    let mut count: u64 = 0;
    let mut batch: u64 = 1;
    loop {
        for _ in 0..batch {
            op();
        }
        count += batch;
        let elapsed = start.elapsed();
        progress.set_position(done_ms + elapsed.as_millis().min(budget.as_millis()) as u64);
        if elapsed >= budget {
            let cpu = match (cpu_start, thread_cpu_time()) {
                (Some(before), Some(after)) if after > before => after - before,
                _ => elapsed,
            };
            let share = cpu.as_secs_f64() / elapsed.as_secs_f64();
            if let Ok(mut least) = LEAST_CPU_SHARE.lock() {
                *least = Some(least.map_or(share, |least| least.min(share)));
            }
            return count as f64 / cpu.as_secs_f64();
        }
        // Check the clock about every 10 ms.
        let per_op = elapsed.as_secs_f64() / count as f64;
        batch = ((0.01 / per_op.max(1e-9)) as u64).clamp(1, 1 << 20);
    }
}

fn measure_ours(seconds: u64, progress: &ProgressBar) -> Result<Ours> {
    let step = seconds * 1000;
    let block = vec![0x5au8; BLOCK];
    let mb = |ops: f64| ops * BLOCK as f64 / 1e6;

    let sm3_mb_s = mb(rate(progress, "SM3, 8 KiB blocks", seconds, 0, || {
        black_box(sm3(black_box(&block)));
    }));

    let key = Sm4Key::generate()?;
    let mut failed = false;
    let sm4_gcm_mb_s = mb(rate(
        progress,
        "SM4-GCM seal, 8 KiB blocks",
        seconds,
        step,
        || {
            failed |= black_box(key.seal(b"", black_box(&block))).is_err();
        },
    ));
    if failed {
        bail!("SM4-GCM seal failed during the benchmark");
    }

    let signer = Sm2PrivateKey::generate()?;
    let public = signer.public_key().clone();
    let message = [0x42u8; MESSAGE_LEN];
    let sm2_sign_s = rate(progress, "SM2 sign", seconds, 2 * step, || {
        failed |= black_box(signer.sign_with_id(DEFAULT_ID, black_box(&message))).is_err();
    });
    if failed {
        bail!("SM2 signing failed during the benchmark");
    }

    let signature = signer.sign(&message)?;
    let verify = |verifier: Sm2Verifier| {
        public
            .message_digest_with_id(DEFAULT_ID, black_box(&message))
            .and_then(|e| public.verify_digest_using(verifier, &e, black_box(&signature)))
            .is_ok()
    };
    let sm2_verify_s = rate(progress, "SM2 verify", seconds, 3 * step, || {
        failed |= !verify(Sm2Verifier::Fast);
    });
    let sm2_verify_reference_s = rate(
        progress,
        "SM2 verify, reference verifier",
        seconds,
        4 * step,
        || {
            failed |= !verify(Sm2Verifier::Reference);
        },
    );
    if failed {
        bail!("SM2 verification failed during the benchmark");
    }

    Ok(Ours {
        sm3_mb_s,
        sm4_gcm_mb_s,
        sm2_sign_s,
        sm2_verify_s,
        sm2_verify_reference_s,
    })
}

fn openssl_version(openssl: &str) -> Result<String> {
    let output = Command::new(openssl)
        .arg("version")
        .output()
        .with_context(|| {
            format!(
                "could not run `{openssl} version`: install OpenSSL 3 (Debian: apt-get install \
                 openssl), name it with --openssl PATH, or measure inspay alone with --no-openssl"
            )
        })?;
    if !output.status.success() {
        bail!("`{openssl} version` failed with {}", output.status);
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Runs `openssl speed` with `args`, moving the progress bar over `expected_ms` from `done_ms`.
fn openssl_speed(
    openssl: &str,
    args: &[&str],
    progress: &ProgressBar,
    done_ms: u64,
    expected_ms: u64,
) -> Result<String> {
    progress.set_message(format!("{openssl} speed {}", args.join(" ")));
    let mut child = Command::new(openssl)
        .arg("speed")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start `{openssl} speed`"))?;
    let start = Instant::now();
    while child.try_wait()?.is_none() {
        let elapsed = start.elapsed().as_millis() as u64;
        progress.set_position(done_ms + elapsed.min(expected_ms));
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output()?;
    progress.set_position(done_ms + expected_ms);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!(
            "`{openssl} speed {}` failed with {}: {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(stdout)
}

fn measure_openssl(
    openssl: &str,
    version: String,
    seconds: u64,
    progress: &ProgressBar,
) -> Result<Reference> {
    let step = seconds * 1000;
    let base = 5 * step;
    let secs = seconds.to_string();
    let bytes = BLOCK.to_string();

    let out = openssl_speed(
        openssl,
        &["-seconds", &secs, "-bytes", &bytes, "-evp", "sm3"],
        progress,
        base,
        step,
    )?;
    let sm3_mb_s = parse_throughput(&out, "sm3").context("parsing `openssl speed -evp sm3`")?;

    let out = openssl_speed(
        openssl,
        &["-seconds", &secs, "-bytes", &bytes, "-evp", "sm4-ctr"],
        progress,
        base + step,
        step,
    )?;
    let sm4_ctr_mb_s =
        parse_throughput(&out, "sm4-ctr").context("parsing `openssl speed -evp sm4-ctr`")?;

    let out = openssl_speed(
        openssl,
        &["-seconds", &secs, "sm2"],
        progress,
        base + 2 * step,
        2 * step,
    )?;
    let (sm2_sign_s, sm2_verify_s) =
        parse_sign_verify(&out, "SM2").context("parsing `openssl speed sm2`")?;

    let out = openssl_speed(
        openssl,
        &["-seconds", &secs, "ecdsap256"],
        progress,
        base + 4 * step,
        2 * step,
    )?;
    let (p256_sign_s, p256_verify_s) =
        parse_sign_verify(&out, "nistp256").context("parsing `openssl speed ecdsap256`")?;

    Ok(Reference {
        version,
        sm3_mb_s,
        sm4_ctr_mb_s,
        sm2_sign_s,
        sm2_verify_s,
        p256_sign_s,
        p256_verify_s,
    })
}

/// Parses an `openssl speed -evp` result line such as `sm3   369005.49k` (thousands of bytes
/// per second; the last column is the largest block size asked for) into MB/s.
fn parse_throughput(output: &str, algorithm: &str) -> Result<f64> {
    let line = output
        .lines()
        .find(|line| {
            line.split_whitespace()
                .next()
                .is_some_and(|first| first.eq_ignore_ascii_case(algorithm))
        })
        .with_context(|| format!("no `{algorithm}` line in:\n{output}"))?;
    let last = line.split_whitespace().last().unwrap_or_default();
    let kilobytes: f64 = last
        .trim_end_matches('k')
        .parse()
        .with_context(|| format!("not a figure: {last:?} in {line:?}"))?;
    Ok(kilobytes / 1000.0)
}

/// Parses an `openssl speed` signature line such as
/// ` 256 bits SM2 (CurveSM2)   0.0003s   0.0002s   3982.1   4115.2` into (sign/s, verify/s).
fn parse_sign_verify(output: &str, marker: &str) -> Result<(f64, f64)> {
    let line = output
        .lines()
        .rfind(|line| line.contains(marker) && line.contains("bits"))
        .with_context(|| format!("no `{marker}` result line in:\n{output}"))?;
    let numbers: Vec<f64> = line
        .split_whitespace()
        .rev()
        .take(2)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .with_context(|| format!("no sign/s and verify/s figures in {line:?}"))?;
    match numbers.as_slice() {
        [verify, sign] => Ok((*sign, *verify)),
        _ => bail!("no sign/s and verify/s figures in {line:?}"),
    }
}

/// One row of the comparison: ours against OpenSSL's, with the ratio we must reach.
struct Row {
    name: &'static str,
    unit: &'static str,
    ours: f64,
    reference_name: &'static str,
    reference: Option<f64>,
    target: Option<f64>,
}

impl Row {
    fn ratio(&self) -> Option<f64> {
        self.reference
            .filter(|reference| *reference > 0.0)
            .map(|reference| self.ours / reference)
    }

    fn met(&self) -> Option<bool> {
        Some(self.ratio()? >= self.target?)
    }
}

/// Prints the table, the chart and the summary; returns the names of missed targets.
fn report(ours: &Ours, reference: Option<&Reference>) -> Vec<String> {
    let r = |pick: fn(&Reference) -> f64| reference.map(pick);
    let rows = [
        Row {
            name: "SM3, 8 KiB",
            unit: "MB/s",
            ours: ours.sm3_mb_s,
            reference_name: "SM3",
            reference: r(|x| x.sm3_mb_s),
            target: Some(1.0),
        },
        Row {
            name: "SM4-GCM, 8 KiB",
            unit: "MB/s",
            ours: ours.sm4_gcm_mb_s,
            reference_name: "SM4-CTR",
            reference: r(|x| x.sm4_ctr_mb_s),
            target: Some(0.8),
        },
        Row {
            name: "SM2 sign",
            unit: "op/s",
            ours: ours.sm2_sign_s,
            reference_name: "SM2 sign",
            reference: r(|x| x.sm2_sign_s),
            target: Some(4.0),
        },
        Row {
            name: "SM2 verify",
            unit: "op/s",
            ours: ours.sm2_verify_s,
            reference_name: "SM2 verify",
            reference: r(|x| x.sm2_verify_s),
            target: Some(2.0),
        },
    ];
    let context = [
        Row {
            name: "SM2 verify (reference)",
            unit: "op/s",
            ours: ours.sm2_verify_reference_s,
            reference_name: "SM2 verify",
            reference: r(|x| x.sm2_verify_s),
            target: None,
        },
        Row {
            name: "SM2 sign",
            unit: "op/s",
            ours: ours.sm2_sign_s,
            reference_name: "P-256 sign",
            reference: r(|x| x.p256_sign_s),
            target: None,
        },
        Row {
            name: "SM2 verify",
            unit: "op/s",
            ours: ours.sm2_verify_s,
            reference_name: "P-256 verify",
            reference: r(|x| x.p256_verify_s),
            target: None,
        },
    ];

    println!(
        "{:<24} {:>12}   {:<13} {:>12}   {:>6}   {:>6}   met",
        "inspay", "", "OpenSSL", "", "ratio", "target"
    );
    println!("{}", "-".repeat(92));
    let print_row = |row: &Row| {
        let reference = row.reference.map_or("-".to_string(), |value| {
            format!("{} {}", thousands(value), row.unit)
        });
        let ratio = row
            .ratio()
            .map_or("-".to_string(), |ratio| format!("{ratio:.2}x"));
        let target = row
            .target
            .map_or(String::new(), |target| format!(">= {target}x"));
        let met = match row.met() {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "",
        };
        println!(
            "{:<24} {:>12}   {:<13} {:>12}   {:>6}   {:>6}   {}",
            row.name,
            format!("{} {}", thousands(row.ours), row.unit),
            if row.reference.is_some() {
                row.reference_name
            } else {
                ""
            },
            reference,
            ratio,
            target,
            met
        );
    };
    rows.iter().for_each(print_row);
    println!("context, no target:");
    // Without OpenSSL the P-256 rows would only repeat ours.
    context
        .iter()
        .take(if reference.is_some() {
            context.len()
        } else {
            1
        })
        .for_each(print_row);
    if let Some(reference) = reference {
        println!(
            "\nOpenSSL: {}. SM4-CTR stands in for SM4-GCM, which OpenSSL 3.0 lacks.",
            reference.version
        );
    }

    // Bar chart, one group per unit of comparison, bars scaled to the group's largest.
    println!();
    let mut groups: Vec<(&str, Vec<(String, f64)>)> = vec![
        ("SM3 (MB/s)", vec![("inspay SM3".into(), ours.sm3_mb_s)]),
        (
            "SM4 (MB/s)",
            vec![("inspay SM4-GCM".into(), ours.sm4_gcm_mb_s)],
        ),
        ("sign (op/s)", vec![("inspay SM2".into(), ours.sm2_sign_s)]),
        (
            "verify (op/s)",
            vec![
                ("inspay SM2".into(), ours.sm2_verify_s),
                ("inspay SM2 reference".into(), ours.sm2_verify_reference_s),
            ],
        ),
    ];
    if let Some(reference) = reference {
        groups[0].1.push(("OpenSSL SM3".into(), reference.sm3_mb_s));
        groups[1]
            .1
            .push(("OpenSSL SM4-CTR".into(), reference.sm4_ctr_mb_s));
        groups[2]
            .1
            .push(("OpenSSL SM2".into(), reference.sm2_sign_s));
        groups[2]
            .1
            .push(("OpenSSL P-256".into(), reference.p256_sign_s));
        groups[3]
            .1
            .push(("OpenSSL SM2".into(), reference.sm2_verify_s));
        groups[3]
            .1
            .push(("OpenSSL P-256".into(), reference.p256_verify_s));
    }
    for (title, bars) in &groups {
        println!("{title}");
        let max = bars.iter().map(|(_, value)| *value).fold(0.0, f64::max);
        for (label, value) in bars {
            let width = if max > 0.0 {
                ((value / max) * BAR_WIDTH as f64).round() as usize
            } else {
                0
            };
            println!(
                "  {label:<22} {:<bar$} {}",
                "#".repeat(width.max(1)),
                thousands(*value),
                bar = BAR_WIDTH
            );
        }
    }

    // Summary.
    println!();
    let judged: Vec<&Row> = rows.iter().filter(|row| row.met().is_some()).collect();
    let missed: Vec<String> = judged
        .iter()
        .filter(|row| row.met() == Some(false))
        .map(|row| {
            format!(
                "{} at {:.2}x (target {}x)",
                row.name,
                row.ratio().unwrap_or_default(),
                row.target.unwrap_or_default()
            )
        })
        .collect();
    if let Ok(Some(share)) = LEAST_CPU_SHARE.lock().map(|least| *least)
        && share < 0.9
    {
        println!(
            "Note: the machine was busy; the measuring thread got as little as {:.0}% of a \
             CPU. Rates are per CPU-second so they stay comparable, but expect noise.",
            share * 100.0
        );
    }
    if judged.is_empty() {
        println!("Summary: OpenSSL not measured; no targets judged.");
    } else if missed.is_empty() {
        println!(
            "Summary: all {} targets met. SM2 sign {:.1}x and verify {:.1}x OpenSSL's SM2.",
            judged.len(),
            rows[2].ratio().unwrap_or_default(),
            rows[3].ratio().unwrap_or_default()
        );
    } else {
        println!(
            "Summary: {} of {} targets met; missed: {}.",
            judged.len() - missed.len(),
            judged.len(),
            missed.join("; ")
        );
    }
    missed
}

/// `12345.6` as `12,346`; values below 100 keep one decimal.
fn thousands(value: f64) -> String {
    if value < 100.0 {
        return format!("{value:.1}");
    }
    let digits = format!("{:.0}", value);
    let mut out = String::new();
    for (index, c) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `openssl speed` outputs of OpenSSL 3.0 parse into the figures they show.
    /// req: 5.5.1.1
    #[test]
    fn parses_openssl_speed_output() {
        let evp = "The 'numbers' are in 1000s of bytes per second processed.\n\
                   type           8192 bytes\n\
                   sm3             369005.49k\n";
        assert!((parse_throughput(evp, "sm3").expect("sm3") - 369.00549).abs() < 1e-9);
        let ctr = "type           8192 bytes\nSM4-CTR         116475.35k\n";
        assert!((parse_throughput(ctr, "sm4-ctr").expect("ctr") - 116.47535).abs() < 1e-9);
        let sm2 = "                              sign    verify    sign/s verify/s\n \
                   256 bits SM2 (CurveSM2)   0.0003s   0.0002s   3982.1   4115.2\n";
        assert_eq!(
            parse_sign_verify(sm2, "SM2").expect("sm2"),
            (3982.1, 4115.2)
        );
        let p256 = " 256 bits ecdsa (nistp256)   0.0000s   0.0001s  52070.1  16802.9\n";
        assert_eq!(
            parse_sign_verify(p256, "nistp256").expect("p256"),
            (52070.1, 16802.9)
        );
        assert!(parse_throughput("nothing here", "sm3").is_err());
    }

    /// Large figures print with thousands separators, small ones with a decimal.
    /// req: 5.5.1.1
    #[test]
    fn formats_thousands() {
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.6), "1,000");
        assert_eq!(thousands(12.34), "12.3");
    }
}
