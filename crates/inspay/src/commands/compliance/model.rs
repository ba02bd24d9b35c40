//! What a compliance report is made of: one row per check, each naming the catalogue clause
//! it bears on, its status and the evidence read from the installation.

use core::fmt;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// The installation meets what the check looks at.
    Pass,
    /// The installation breaks the clause: the report's exit status is non-zero.
    Fail,
    /// Not a breach yet, but an operator should act (a rotation due soon, a development
    /// setting, an alert to look at).
    NeedsAttention,
    /// The clause is about the code, the process or the documents, not about what one
    /// installation's configuration and database can show.
    NotCheckedHere,
}

impl Status {
    /// Every status, in the order the summaries list them.
    pub const ALL: [Status; 4] = [
        Status::Pass,
        Status::Fail,
        Status::NeedsAttention,
        Status::NotCheckedHere,
    ];

    /// The stable name printed in every format.
    pub const fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::NeedsAttention => "needs-attention",
            Status::NotCheckedHere => "not-checked-here",
        }
    }

    /// The worse of two statuses (fail over needs-attention over pass).
    pub fn worst(self, other: Status) -> Status {
        let rank = |status: Status| match status {
            Status::NotCheckedHere => 0,
            Status::Pass => 1,
            Status::NeedsAttention => 2,
            Status::Fail => 3,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The catalogue ID, exactly as in `docs/compliance.md` (`5.5.2.1`, `5.6.2-a1`).
    pub clause: String,
    /// What was checked.
    pub title: String,
    /// The outcome.
    pub status: Status,
    /// Values read, counts and dates; for `not-checked-here`, the reason.
    pub evidence: Vec<String>,
}

impl Finding {
    /// A row with its evidence.
    pub fn new(clause: &str, title: &str, status: Status, evidence: Vec<String>) -> Finding {
        Finding {
            clause: clause.to_string(),
            title: title.to_string(),
            status,
            evidence,
        }
    }
}

/// The whole report as rendered.
#[derive(Debug, Clone)]
pub struct Report {
    /// When it was made (unix ms).
    pub generated_at_ms: i64,
    /// `development` or `production`.
    pub profile: String,
    /// The configuration file, if one was given.
    pub config_file: Option<String>,
    /// The database, without credentials.
    pub database: String,
    /// Rows in catalogue order.
    pub findings: Vec<Finding>,
}

impl Report {
    /// How many rows have each status, in [`Status::ALL`] order.
    pub fn counts(&self) -> [(Status, usize); 4] {
        Status::ALL.map(|status| {
            (
                status,
                self.findings
                    .iter()
                    .filter(|finding| finding.status == status)
                    .count(),
            )
        })
    }

    /// How many rows failed.
    pub fn failures(&self) -> usize {
        self.findings
            .iter()
            .filter(|finding| finding.status == Status::Fail)
            .count()
    }
}

/// Days in whole units (rounded towards minus infinity) between two unix-ms instants.
pub fn days_between(from_ms: i64, to_ms: i64) -> i64 {
    (to_ms - from_ms).div_euclid(86_400_000)
}

/// A database URL without its user name and password, so the report can be shared.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://[credentials hidden]@{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_hidden_from_database_urls() {
        assert_eq!(
            redact_url("postgres://user:secret@db.internal:5432/inspay"),
            "postgres://[credentials hidden]@db.internal:5432/inspay"
        );
        assert_eq!(
            redact_url("sqlite://data/inspay.db?mode=rwc"),
            "sqlite://data/inspay.db?mode=rwc"
        );
        assert_eq!(redact_url("not a url"), "not a url");
    }

    #[test]
    fn the_worst_status_wins() {
        assert_eq!(
            Status::Pass.worst(Status::NeedsAttention),
            Status::NeedsAttention
        );
        assert_eq!(Status::Fail.worst(Status::NeedsAttention), Status::Fail);
        assert_eq!(Status::NotCheckedHere.worst(Status::Pass), Status::Pass);
    }
}
