//! Identity settings (section 5.2 and clauses 5.3.3.3, 5.6.5-a4). Every default is the value
//! the requirement catalogue names; [`IdentitySettings::validate`] refuses any value looser
//! than the clause allows, naming the clause.

use crate::config::ConfigError;
use inspay_identity::lockout::LockoutPolicy;
use inspay_identity::secret_hash::{ITERATIONS_DEFAULT, ITERATIONS_MIN};
use inspay_identity::session::{MultiLogin, SessionPolicy};
use inspay_store::one_time_codes::OtpPolicy;
use serde::{Deserialize, Serialize};

/// Identity settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySettings {
    /// PBKDF2-HMAC-SM3 iterations for new secret hashes (clause 5.2.2.1-a).
    pub password_iterations: u32,
    /// Consecutive failures that lock an account (clause 5.2.3.1): at most 3.
    pub lockout_failures: u32,
    /// How long a lock lasts, in minutes (clause 5.2.3.1): at least 30.
    pub lockout_minutes: u32,
    /// Days without sign-in after which an extra factor is needed (clause 5.3.3.3-c): at
    /// most 180.
    pub dormant_days: u32,
    /// Idle session limit in seconds (clause 5.3.3.3-a): at most 900.
    pub session_idle_s: i64,
    /// Absolute session limit in seconds (clause 5.3.3.3-a): at most 28,800.
    pub session_absolute_s: i64,
    /// Gap after which a client must re-authenticate to resume (clause 5.2.1.2): at most 300.
    pub background_s: i64,
    /// "notify" or "sign-out-older" (clause 5.3.3.3-b).
    pub multi_login: String,
    /// Time to complete a sign-in's steps, in seconds (clause 5.3.1.2): at most 300.
    pub sign_in_flow_ttl_s: i64,
    /// One-time code validity in seconds (clause 5.2.1.1-d2): at most 300.
    pub otp_ttl_s: u32,
    /// Verification tries per one-time code (clause 5.2.1.1-d2): at most 5.
    pub otp_tries: u32,
    /// Least seconds between two SMS to one number (clause 5.2.1.1-d2): at least 60.
    pub sms_interval_s: u32,
    /// Most SMS to one number per day (clause 5.2.1.1-d2): at most 10.
    pub sms_per_day: u32,
    /// Validity of a step-up proof in seconds (clause 5.1-b: at the moment of the
    /// operation): at most 300.
    pub step_up_ttl_s: i64,
    /// Days a closed customer account's personal data is kept before it is erased
    /// (clause 5.6.5-a4). The default follows the five-year record-keeping duty for customer
    /// identification data; at most ten years.
    pub closure_retention_days: u32,
}

impl Default for IdentitySettings {
    fn default() -> Self {
        let session = SessionPolicy::default();
        let lockout = LockoutPolicy::default();
        let otp = OtpPolicy::default();
        IdentitySettings {
            password_iterations: ITERATIONS_DEFAULT,
            lockout_failures: lockout.failures_max,
            lockout_minutes: u32::try_from(lockout.lock_s / 60).unwrap_or(30),
            dormant_days: lockout.dormant_days,
            session_idle_s: session.idle_s,
            session_absolute_s: session.absolute_s,
            background_s: session.background_s,
            multi_login: "notify".into(),
            sign_in_flow_ttl_s: inspay_identity::sign_in_flow::FLOW_TTL_S_DEFAULT,
            otp_ttl_s: otp.ttl_s,
            otp_tries: otp.tries_max,
            sms_interval_s: otp.send_interval_s,
            sms_per_day: otp.sends_per_day_max,
            step_up_ttl_s: 120,
            closure_retention_days: 1_825,
        }
    }
}

fn refuse(setting: &str, reason: impl Into<String>, clause: &'static str) -> ConfigError {
    ConfigError {
        setting: format!("identity.{setting}"),
        reason: reason.into(),
        clause,
    }
}

impl IdentitySettings {
    /// Refuses values looser than the clauses allow.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.password_iterations < ITERATIONS_MIN {
            return Err(refuse(
                "password_iterations",
                format!("at least {ITERATIONS_MIN} (secrets are stored as slow hashes)"),
                "5.2.2.1-a",
            ));
        }
        self.lockout()
            .validate()
            .map_err(|error| refuse("lockout", error.to_string(), "5.2.3.1"))?;
        if self.lockout_minutes < 30 {
            return Err(refuse(
                "lockout_minutes",
                "a lock lasts at least 30 minutes",
                "5.2.3.1",
            ));
        }
        self.session()
            .map_err(|reason| refuse("multi_login", reason, "5.3.3.3-b"))?
            .validate()
            .map_err(|error| refuse(error.setting, error.to_string(), error.clause))?;
        if !(60..=inspay_identity::sign_in_flow::FLOW_TTL_S_DEFAULT)
            .contains(&self.sign_in_flow_ttl_s)
        {
            return Err(refuse("sign_in_flow_ttl_s", "must be 60..=300", "5.3.1.2"));
        }
        let defaults = OtpPolicy::default();
        if !(60..=defaults.ttl_s).contains(&self.otp_ttl_s) {
            return Err(refuse("otp_ttl_s", "must be 60..=300", "5.2.1.1-d2"));
        }
        if !(1..=defaults.tries_max).contains(&self.otp_tries) {
            return Err(refuse("otp_tries", "must be 1..=5", "5.2.1.1-d2"));
        }
        if self.sms_interval_s < defaults.send_interval_s {
            return Err(refuse("sms_interval_s", "at least 60", "5.2.1.1-d2"));
        }
        if !(1..=defaults.sends_per_day_max).contains(&self.sms_per_day) {
            return Err(refuse("sms_per_day", "must be 1..=10", "5.2.1.1-d2"));
        }
        if !(30..=300).contains(&self.step_up_ttl_s) {
            return Err(refuse("step_up_ttl_s", "must be 30..=300", "5.1-b"));
        }
        if !(1..=3_650).contains(&self.closure_retention_days) {
            return Err(refuse(
                "closure_retention_days",
                "must be 1..=3650: personal data of closed accounts must be erased in the end",
                "5.6.5-a4",
            ));
        }
        Ok(())
    }

    /// The lockout policy.
    pub fn lockout(&self) -> LockoutPolicy {
        LockoutPolicy {
            failures_max: self.lockout_failures,
            lock_s: i64::from(self.lockout_minutes) * 60,
            dormant_days: self.dormant_days,
        }
    }

    /// The session policy.
    pub fn session(&self) -> Result<SessionPolicy, String> {
        let multi_login = match self.multi_login.as_str() {
            "notify" => MultiLogin::Notify,
            "sign-out-older" => MultiLogin::SignOutOlder,
            other => {
                return Err(format!(
                    "'{other}' is unknown; use \"notify\" or \"sign-out-older\""
                ));
            }
        };
        Ok(SessionPolicy {
            idle_s: self.session_idle_s,
            absolute_s: self.session_absolute_s,
            background_s: self.background_s,
            multi_login,
        })
    }

    /// The one-time code policy.
    pub fn otp(&self) -> OtpPolicy {
        OtpPolicy {
            ttl_s: self.otp_ttl_s,
            tries_max: self.otp_tries,
            send_interval_s: self.sms_interval_s,
            sends_per_day_max: self.sms_per_day,
        }
    }
}
