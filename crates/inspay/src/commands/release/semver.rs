//! The part of Cargo's SemVer the RustSec advisory database uses: versions with pre-release
//! tags, and requirements such as `>= 1.38.2, < 1.39.0`, `^0.2`, `~1.4`, `= 2.0.1`, `*`.
//! (The `semver` crate is not in Cargo.lock; this is small enough to keep here and test.)

use std::cmp::Ordering;

/// A version `MAJOR.MINOR.PATCH[-PRE][+BUILD]`; build metadata is ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Vec<Identifier>,
}

/// One dot-separated pre-release identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Identifier {
    Numeric(u64),
    Text(String),
}

impl Ord for Identifier {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Identifier::Numeric(a), Identifier::Numeric(b)) => a.cmp(b),
            (Identifier::Numeric(_), Identifier::Text(_)) => Ordering::Less,
            (Identifier::Text(_), Identifier::Numeric(_)) => Ordering::Greater,
            (Identifier::Text(a), Identifier::Text(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Identifier {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                // A pre-release comes before its release.
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn number(text: &str) -> Result<u64, String> {
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("{text:?} is not a number"));
    }
    text.parse().map_err(|_| format!("{text:?} is too large"))
}

fn pre_release(text: &str) -> Result<Vec<Identifier>, String> {
    text.split('.')
        .map(|part| {
            if part.is_empty() {
                Err("empty pre-release identifier".to_string())
            } else if part.chars().all(|c| c.is_ascii_digit()) {
                number(part).map(Identifier::Numeric)
            } else {
                Ok(Identifier::Text(part.to_string()))
            }
        })
        .collect()
}

impl Version {
    /// Parses a full version.
    pub fn parse(text: &str) -> Result<Version, String> {
        let partial = Partial::parse(text)?;
        match (partial.minor, partial.patch) {
            (Some(minor), Some(patch)) => Ok(Version {
                major: partial.major,
                minor,
                patch,
                pre: partial.pre,
            }),
            _ => Err(format!(
                "{text:?} is not a full version (MAJOR.MINOR.PATCH)"
            )),
        }
    }

    fn new(major: u64, minor: u64, patch: u64) -> Version {
        Version {
            major,
            minor,
            patch,
            pre: Vec::new(),
        }
    }
}

/// A version in a requirement, where minor and patch may be left out.
struct Partial {
    major: u64,
    minor: Option<u64>,
    patch: Option<u64>,
    pre: Vec<Identifier>,
}

impl Partial {
    fn parse(text: &str) -> Result<Partial, String> {
        let text = text.trim();
        let text = text.split_once('+').map_or(text, |(version, _)| version);
        let (core, pre) = match text.split_once('-') {
            Some((core, pre)) => (core, pre_release(pre)?),
            None => (text, Vec::new()),
        };
        let mut parts = core.split('.');
        let major = number(parts.next().unwrap_or_default())?;
        let minor = parts.next().map(number).transpose()?;
        let patch = parts.next().map(number).transpose()?;
        if parts.next().is_some() {
            return Err(format!("{text:?} has more than three numbers"));
        }
        Ok(Partial {
            major,
            minor,
            patch,
            pre,
        })
    }

    fn floor(&self) -> Version {
        Version {
            major: self.major,
            minor: self.minor.unwrap_or(0),
            patch: self.patch.unwrap_or(0),
            pre: self.pre.clone(),
        }
    }

    /// The first version above every version this partial stands for (`1.2` → `1.3.0`).
    fn ceiling(&self) -> Version {
        match (self.minor, self.patch) {
            (None, _) => Version::new(self.major + 1, 0, 0),
            (Some(minor), None) => Version::new(self.major, minor + 1, 0),
            (Some(minor), Some(patch)) => Version::new(self.major, minor, patch + 1),
        }
    }
}

/// A requirement: every comparator must hold.
#[derive(Debug, Clone)]
pub struct Requirement {
    /// `[low, high)` bounds; `None` is unbounded.
    ranges: Vec<(Option<Version>, Option<Version>)>,
}

impl Requirement {
    /// Parses `>= 1.2.3, < 2`, `^0.4`, `~1.2`, `=1.0.0`, `1.2` (caret) or `*`.
    pub fn parse(text: &str) -> Result<Requirement, String> {
        let mut ranges = Vec::new();
        for comparator in text.split(',') {
            let comparator = comparator.trim();
            if comparator == "*" {
                continue;
            }
            ranges.push(comparator_range(comparator)?);
        }
        Ok(Requirement { ranges })
    }

    /// Whether `version` meets every comparator.
    pub fn matches(&self, version: &Version) -> bool {
        self.ranges.iter().all(|(low, high)| {
            low.as_ref().is_none_or(|low| version >= low)
                && high.as_ref().is_none_or(|high| version < high)
        })
    }
}

fn comparator_range(comparator: &str) -> Result<(Option<Version>, Option<Version>), String> {
    let operators = [">=", "<=", ">", "<", "=", "^", "~"];
    let (operator, rest) = operators
        .iter()
        .find_map(|operator| {
            comparator
                .strip_prefix(operator)
                .map(|rest| (*operator, rest))
        })
        .unwrap_or(("^", comparator));
    let partial = Partial::parse(rest)?;
    Ok(match operator {
        ">=" => (Some(partial.floor()), None),
        ">" => (Some(partial.ceiling()), None),
        "<" => (None, Some(partial.floor())),
        "<=" => (None, Some(partial.ceiling())),
        "=" => (Some(partial.floor()), Some(partial.ceiling())),
        "~" => {
            let high = match partial.minor {
                None => Version::new(partial.major + 1, 0, 0),
                Some(minor) => Version::new(partial.major, minor + 1, 0),
            };
            (Some(partial.floor()), Some(high))
        }
        _ => {
            let high = match (partial.major, partial.minor, partial.patch) {
                (0, None, _) => Version::new(1, 0, 0),
                (0, Some(0), None) => Version::new(0, 1, 0),
                (0, Some(0), Some(patch)) => Version::new(0, 0, patch + 1),
                (0, Some(minor), _) => Version::new(0, minor + 1, 0),
                (major, _, _) => Version::new(major + 1, 0, 0),
            };
            (Some(partial.floor()), Some(high))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holds(requirement: &str, version: &str) -> bool {
        Requirement::parse(requirement)
            .expect("requirement")
            .matches(&Version::parse(version).expect("version"))
    }

    /// The requirement forms of the advisory database mean what Cargo means by them.
    /// req: 5.4.1.2
    #[test]
    fn requirements_match_like_cargo() {
        assert!(holds(">= 1.38.2, < 1.39.0", "1.38.2"));
        assert!(!holds(">= 1.38.2, < 1.39.0", "1.39.0"));
        assert!(!holds(">= 1.38.2, < 1.39.0", "1.38.1"));
        assert!(holds(">= 1.44.2", "1.48.0"));
        assert!(holds("< 0.2.5", "0.2.4"));
        assert!(!holds("< 0.2.5", "0.2.5"));
        assert!(holds("^0.2.3", "0.2.9"));
        assert!(!holds("^0.2.3", "0.3.0"));
        assert!(holds("^1.2", "1.9.0"));
        assert!(!holds("^1.2", "2.0.0"));
        assert!(!holds("^0.0.3", "0.0.4"));
        assert!(holds("~1.2", "1.2.7"));
        assert!(!holds("~1.2", "1.3.0"));
        assert!(holds("=1.2.3", "1.2.3"));
        assert!(!holds("=1.2.3", "1.2.4"));
        assert!(holds("> 1.2", "1.3.0"));
        assert!(!holds("> 1.2", "1.2.9"));
        assert!(holds("<= 1.2", "1.2.9"));
        assert!(holds("*", "7.0.0"));
        assert!(holds("0.9", "0.9.4"));
        assert!(!holds(">= 1.0.0", "1.0.0-alpha.1"));
        assert!(holds(">= 1.0.0-alpha.2", "1.0.0-alpha.10"));
        assert!(Requirement::parse(">= x").is_err());
        assert!(Version::parse("1.2").is_err());
    }
}
