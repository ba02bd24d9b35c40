//! Identity rules for inspay, pure and without I/O (section 5.2 of the requirement catalogue):
//! slow salted hashes of the secrets people choose ([`secret_hash`]), the password and
//! transaction-password policies ([`password_policy`]), gesture patterns ([`gesture`]), SMS
//! one-time codes ([`otp`]) and the lockout rule ([`lockout`]). The store and the server build
//! the flows on these.

pub mod authorization;
pub mod captcha;
pub mod consent;
pub mod gesture;
pub mod lockout;
pub mod login_name;
pub mod otp;
pub mod password_policy;
pub mod secret_hash;
pub mod session;
pub mod sign_in_flow;
