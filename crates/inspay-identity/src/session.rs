//! Sessions (clauses 5.3.3.3, 5.6.5-c and 5.2.1.2): bearer tokens of 256 random bits, stored
//! only as their SM3 digest; an idle limit, an absolute limit, a multi-login policy, and the
//! background limit after which a client must authenticate again.

use core::fmt;
use inspay_crypto::sm3::sm3;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Random bytes in a session token (the catalogue asks for at least 128 bits).
pub const TOKEN_BYTES: usize = 32;

/// What to do when an account signs in while it already has a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MultiLogin {
    /// Keep the older sessions and tell the person about the new sign-in.
    Notify,
    /// End the older sessions.
    SignOutOlder,
}

/// Session limits. Defaults follow the catalogue; only stricter values are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused this long ends (catalogue: 15 minutes).
    pub idle_s: i64,
    /// A session ends this long after sign-in whatever its use (catalogue: 8 hours).
    pub absolute_s: i64,
    /// A client back from the background after this long must authenticate again
    /// (catalogue: 300 s, clause 5.2.1.2).
    pub background_s: i64,
    /// The multi-login policy (clause 5.3.3.3-b).
    pub multi_login: MultiLogin,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            idle_s: 15 * 60,
            absolute_s: 8 * 3600,
            background_s: 300,
            multi_login: MultiLogin::Notify,
        }
    }
}

/// A session setting looser than the catalogue allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("session setting {setting} = {value} s is outside 60..={ceiling} s (clause {clause})")]
pub struct SessionPolicyError {
    /// The setting.
    pub setting: &'static str,
    /// Its value.
    pub value: i64,
    /// The loosest allowed.
    pub ceiling: i64,
    /// The clause.
    pub clause: &'static str,
}

impl SessionPolicy {
    /// Refuses limits looser than the catalogue's defaults, or shorter than a minute.
    pub fn validate(&self) -> Result<(), SessionPolicyError> {
        let defaults = SessionPolicy::default();
        for (setting, value, ceiling, clause) in [
            ("idle_s", self.idle_s, defaults.idle_s, "5.3.3.3-a"),
            (
                "absolute_s",
                self.absolute_s,
                defaults.absolute_s,
                "5.3.3.3-a",
            ),
            (
                "background_s",
                self.background_s,
                defaults.background_s,
                "5.2.1.2",
            ),
        ] {
            if !(60..=ceiling).contains(&value) {
                return Err(SessionPolicyError {
                    setting,
                    value,
                    ceiling,
                    clause,
                });
            }
        }
        Ok(())
    }

    /// Whether a session created at `created_s` and last used at `last_seen_s` is still
    /// alive at `now_s`.
    pub fn is_alive(&self, created_s: i64, last_seen_s: i64, now_s: i64) -> bool {
        now_s - last_seen_s < self.idle_s && now_s - created_s < self.absolute_s
    }
}

/// A session token as handed to the client. `Debug` is redacted; zeroised on drop. The server
/// keeps only [`SessionToken::digest`].
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct SessionToken(String);

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken([REDACTED])")
    }
}

/// A presented token that cannot be one of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed session token")]
pub struct TokenFormatError;

impl SessionToken {
    /// A fresh token: 256 bits from the OS CSPRNG, base64url.
    pub fn generate() -> Result<SessionToken, inspay_crypto::CryptoError> {
        use base64::Engine;
        let mut bytes = inspay_crypto::random::bytes::<TOKEN_BYTES>()?;
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        bytes.zeroize();
        Ok(SessionToken(token))
    }

    /// Parses a presented token (43 base64url characters).
    pub fn parse(raw: &str) -> Result<SessionToken, TokenFormatError> {
        let ok = raw.len() == 43
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(SessionToken(raw.to_string()))
        } else {
            Err(TokenFormatError)
        }
    }

    /// The token text, for the response that hands it to the client only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the server stores and looks up: `sm3:<hex>` of the token.
    pub fn digest(&self) -> String {
        format!("sm3:{}", hex::encode(sm3(self.0.as_bytes())))
    }
}
