//! SMS one-time codes (clause 5.2.1.1-d2): six digits drawn uniformly from the OS CSPRNG, and
//! message texts that state what the code is for.
//!
//! Expiry (300 s), single use, binding to purpose and session, the try limit and send rate
//! limits are enforced where codes are stored; this module makes and reads codes.

use core::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Digits in a code.
pub const CODE_DIGITS: usize = 6;
/// Default validity.
pub const CODE_TTL_S_DEFAULT: u32 = 300;
/// Default verification tries per code.
pub const TRIES_MAX_DEFAULT: u32 = 5;

/// What a code is for; it is named in the message text and bound to the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OtpPurpose {
    /// Signing in.
    Login,
    /// Resetting a forgotten password.
    PasswordReset,
    /// Confirming an operation that needs a second factor (payment, payout account change).
    StepUp,
    /// Changing the bound mobile number.
    ChangeMobile,
    /// Registering an account.
    Registration,
}

impl OtpPurpose {
    /// Stable name.
    pub const fn name(self) -> &'static str {
        match self {
            OtpPurpose::Login => "login",
            OtpPurpose::PasswordReset => "password-reset",
            OtpPurpose::StepUp => "step-up",
            OtpPurpose::ChangeMobile => "change-mobile",
            OtpPurpose::Registration => "registration",
        }
    }

    /// The purpose as the customer reads it in the message.
    pub const fn label_zh(self) -> &'static str {
        match self {
            OtpPurpose::Login => "登录",
            OtpPurpose::PasswordReset => "重置密码",
            OtpPurpose::StepUp => "确认本次交易或账户变更",
            OtpPurpose::ChangeMobile => "更换绑定手机号",
            OtpPurpose::Registration => "注册账户",
        }
    }
}

/// Why a typed code is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a verification code is {CODE_DIGITS} digits")]
pub struct CodeFormatError;

/// A one-time code. `Debug` is redacted; zeroised on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct OneTimeCode(String);

impl fmt::Debug for OneTimeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneTimeCode([REDACTED])")
    }
}

impl OneTimeCode {
    /// A fresh code, uniform over 000000 to 999999 (rejection sampling, no modulo bias).
    pub fn generate() -> Result<OneTimeCode, inspay_crypto::CryptoError> {
        const RANGE: u32 = 1_000_000;
        // The largest multiple of RANGE that fits in a u32; values at or above it are redrawn.
        const LIMIT: u32 = u32::MAX - (u32::MAX % RANGE);
        loop {
            let value = u32::from_be_bytes(inspay_crypto::random::bytes::<4>()?);
            if value < LIMIT {
                return Ok(OneTimeCode(format!("{:06}", value % RANGE)));
            }
        }
    }

    /// Parses a code as typed (surrounding spaces ignored).
    pub fn parse(raw: &str) -> Result<OneTimeCode, CodeFormatError> {
        let value = raw.trim();
        if value.len() == CODE_DIGITS && value.bytes().all(|b| b.is_ascii_digit()) {
            Ok(OneTimeCode(value.to_string()))
        } else {
            Err(CodeFormatError)
        }
    }

    /// The digits, for hashing and for the SMS text only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The SMS text: names the purpose and the validity, and warns not to share the code.
    pub fn message(&self, purpose: OtpPurpose, ttl_s: u32) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(format!(
            "【inspay】验证码{}，用于{}，{}分钟内有效。请勿告诉他人，工作人员不会向您索取验证码。",
            self.0,
            purpose.label_zh(),
            ttl_s.div_ceil(60)
        ))
    }
}
