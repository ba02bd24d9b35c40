//! The server certificate the listeners would present (5.6.2-a3, 5.6.2-a1, 5.5.1.2): present,
//! not a development certificate in production, algorithms allowed, days to expiry.
//!
//! The files are read, never generated: a development installation that has not served yet
//! has no certificate, and the report says so instead of making one.

use super::model::{Finding, Status, days_between};
use inspay_server::{Profile, Settings};
use std::path::Path;
use x509_cert::der::Decode;

/// Days before expiry from which a certificate needs attention.
pub const EXPIRY_ATTENTION_DAYS: i64 = 30;

/// What could be read from the leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Leaf {
    subject: String,
    not_after_ms: i64,
    development: bool,
}

/// The certificate rows for the settings, at `now_ms`.
pub fn check(settings: &Settings, now_ms: i64) -> Vec<Finding> {
    let production = settings.profile == Profile::Production;
    let (path, configured) = match &settings.tls.certificate_file {
        Some(path) => (path.clone(), true),
        None => (settings.data_dir.join("dev-tls").join("server.pem"), false),
    };
    if !path.exists() {
        let status = if production {
            Status::Fail
        } else {
            Status::NeedsAttention
        };
        let reason = if configured {
            format!("tls.certificate_file {} does not exist", path.display())
        } else {
            format!(
                "no certificate configured; the development certificate ({}) is generated at the first `inspay serve`",
                path.display()
            )
        };
        return vec![Finding::new(
            "5.6.2-a3",
            "Server certificate present and not for development",
            status,
            vec![reason],
        )];
    }
    match read_leaf(&path) {
        Ok(leaf) => rows(&path, configured, production, &leaf, now_ms),
        Err(reason) => vec![Finding::new(
            "5.6.2-a3",
            "Server certificate present and not for development",
            Status::Fail,
            vec![format!("{}: {reason}", path.display())],
        )],
    }
}

fn rows(path: &Path, configured: bool, production: bool, leaf: &Leaf, now_ms: i64) -> Vec<Finding> {
    let source = if configured {
        "tls.certificate_file"
    } else {
        "generated development certificate"
    };
    let mut evidence = vec![
        format!("{source}: {}", path.display()),
        format!("subject: {}", leaf.subject),
    ];
    let status = match (leaf.development, production) {
        (true, true) => {
            evidence.push("a development certificate under the production profile".into());
            Status::Fail
        }
        (true, false) => {
            evidence.push("a development certificate: replace it before production".into());
            Status::NeedsAttention
        }
        (false, _) => Status::Pass,
    };
    let identity = Finding::new(
        "5.6.2-a3",
        "Server certificate present and not for development",
        status,
        evidence,
    );
    let days = days_between(now_ms, leaf.not_after_ms);
    let expiry_status = if days < 0 {
        Status::Fail
    } else if days < EXPIRY_ATTENTION_DAYS {
        Status::NeedsAttention
    } else {
        Status::Pass
    };
    let expiry = Finding::new(
        "5.6.2-a1",
        "Server certificate validity",
        expiry_status,
        vec![format!(
            "valid until {} UTC: {days} day(s) left (needs attention under {EXPIRY_ATTENTION_DAYS})",
            crate::commands::utc_date(leaf.not_after_ms)
        )],
    );
    let algorithms = match inspay_server::tls::read_certificates(path) {
        Ok(chain) => Finding::new(
            "5.5.1.2",
            "Certificate chain algorithms and key sizes",
            Status::Pass,
            vec![format!(
                "{} certificate(s) in the chain; none signed with a refused hash, no RSA key under 3072 bits",
                chain.len()
            )],
        ),
        Err(error) => Finding::new(
            "5.5.1.2",
            "Certificate chain algorithms and key sizes",
            Status::Fail,
            vec![error.to_string()],
        ),
    };
    vec![identity, expiry, algorithms]
}

/// The mutual-TLS listener (5.6.2-a3): configured with a client CA, or not configured.
pub fn mutual_tls(settings: &Settings) -> Finding {
    let listen = &settings.listen;
    match (listen.mtls_address, &listen.client_ca_file) {
        (None, _) => Finding::new(
            "5.6.2-a3",
            "Mutual-TLS listener",
            Status::Pass,
            vec![
                "listen.mtls_address not set: client applications are authenticated by their registered SM2 keys".into(),
            ],
        ),
        (Some(address), Some(ca)) => {
            let exists = ca.exists();
            Finding::new(
                "5.6.2-a3",
                "Mutual-TLS listener",
                if exists { Status::Pass } else { Status::Fail },
                vec![format!(
                    "listen.mtls_address = {address}; client CA {} {}",
                    ca.display(),
                    if exists { "present" } else { "missing" }
                )],
            )
        }
        (Some(address), None) => Finding::new(
            "5.6.2-a3",
            "Mutual-TLS listener",
            Status::Fail,
            vec![format!(
                "listen.mtls_address = {address} but listen.client_ca_file is not set"
            )],
        ),
    }
}

/// The TLCP listener (5.5.1.5, issue 9): on or off, and its SM2 signing and encryption
/// certificates present, not for development in production, and not about to expire.
pub fn tlcp(settings: &Settings, now_ms: i64) -> Finding {
    const TITLE: &str = "National-algorithm channel (TLCP listener)";
    let tlcp = &settings.tlcp;
    let Some(address) = tlcp.address else {
        return Finding::new(
            "5.5.1.5",
            TITLE,
            Status::NeedsAttention,
            vec![
                "tlcp.address not set: clients reach inspay over TLS with international suites only; a GB/T 39786 level-3 assessment expects SM algorithms on the channel (operator guide, \"The TLCP listener\"), unless a TLCP gateway in front provides them".into(),
            ],
        );
    };
    let production = settings.profile == Profile::Production;
    let dev_dir = settings.data_dir.join("dev-tlcp");
    let files = match tlcp.files() {
        Some(files) => [
            ("signing", files.sign_certificate.to_path_buf()),
            ("encryption", files.enc_certificate.to_path_buf()),
        ],
        None => [
            ("signing", dev_dir.join("server-sign.pem")),
            ("encryption", dev_dir.join("server-enc.pem")),
        ],
    };
    let mut status = Status::Pass;
    let mut evidence = vec![format!(
        "tlcp.address = {address}; suites {}; TLS 1.3 TLS_SM4_GCM_SM3 {}; client certificates {}",
        tlcp.suite_names().join(", "),
        if tlcp.tls13_sm { "on" } else { "off" },
        if tlcp.require_client_certificate {
            "required"
        } else {
            "optional"
        }
    )];
    for (role, path) in files {
        if !path.exists() {
            status = status.worst(if production || tlcp.files().is_some() {
                Status::Fail
            } else {
                Status::NeedsAttention
            });
            evidence.push(format!(
                "{role} certificate {} missing{}",
                path.display(),
                if tlcp.files().is_none() {
                    " (generated at the first `inspay serve`)"
                } else {
                    ""
                }
            ));
            continue;
        }
        match read_leaf(&path) {
            Ok(leaf) => {
                let days = days_between(now_ms, leaf.not_after_ms);
                let mut notes = vec![];
                if leaf.development {
                    status = status.worst(if production {
                        Status::Fail
                    } else {
                        Status::NeedsAttention
                    });
                    notes.push("a development certificate");
                }
                if days < 0 {
                    status = status.worst(Status::Fail);
                    notes.push("expired");
                } else if days < EXPIRY_ATTENTION_DAYS {
                    status = status.worst(Status::NeedsAttention);
                    notes.push("expires soon");
                }
                evidence.push(format!(
                    "{role} certificate {}: {}; {days} day(s) left{}",
                    path.display(),
                    leaf.subject,
                    if notes.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", notes.join(", "))
                    }
                ));
            }
            Err(reason) => {
                status = status.worst(Status::Fail);
                evidence.push(format!("{role} certificate {}: {reason}", path.display()));
            }
        }
    }
    Finding::new("5.5.1.5", TITLE, status, evidence)
}

fn read_leaf(path: &Path) -> Result<Leaf, String> {
    let chain = inspay_server::tls::read_certificates(path).map_err(|error| error.to_string())?;
    let der = chain.first().ok_or("no certificate found")?;
    let parsed = x509_cert::Certificate::from_der(der.as_ref())
        .map_err(|_| "the certificate could not be parsed".to_string())?;
    let tbs = parsed.tbs_certificate();
    let subject = tbs.subject().to_string();
    let not_after = tbs.validity().not_after.to_unix_duration();
    Ok(Leaf {
        development: subject.contains(inspay_server::tls::DEVELOPMENT_MARKER),
        subject,
        not_after_ms: i64::try_from(not_after.as_millis()).unwrap_or(i64::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: i64 = 86_400_000;

    fn leaf(development: bool, days_left: i64) -> Leaf {
        Leaf {
            subject: "CN=pay.example".into(),
            not_after_ms: days_left * DAY_MS,
            development,
        }
    }

    #[test]
    fn expiry_and_development_marks_are_graded() {
        let path = Path::new("server.pem");
        let status = |rows: Vec<Finding>| rows.iter().map(|row| row.status).collect::<Vec<_>>();
        let ok = rows(path, true, true, &leaf(false, 90), 0);
        assert_eq!(status(ok)[..2], [Status::Pass, Status::Pass]);
        let soon = rows(path, true, true, &leaf(false, 29), 0);
        assert_eq!(status(soon)[1], Status::NeedsAttention);
        let expired = rows(path, true, true, &leaf(false, -1), 0);
        assert_eq!(status(expired)[1], Status::Fail);
        let development = rows(path, false, true, &leaf(true, 300), 0);
        assert_eq!(status(development)[0], Status::Fail);
        let development = rows(path, false, false, &leaf(true, 300), 0);
        assert_eq!(status(development)[0], Status::NeedsAttention);
    }
}
