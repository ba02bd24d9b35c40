//! Routes, one module per resource, each owning its router and declaring, for every route,
//! its operation class (clause 4-a) and the authentication it needs ([`crate::auth`]).

pub mod captcha;
pub mod claim_review;
pub mod claims;
pub mod console_params;
pub mod containment;
pub mod customers;
pub mod field_nonce;
pub mod finance_console;
pub mod health;
pub mod me;
pub mod mobile;
pub mod my_sessions;
pub mod openapi;
pub mod people_console;
pub mod policies;
pub mod protocol_keys;
pub mod registration;
pub mod risk_console;
pub mod risk_review;
pub mod security_console;
pub mod session;
pub mod sign_in;
pub mod statements;
pub mod step_up;
pub mod support;
pub mod validate;

use crate::auth::RouteSpec;

/// The operation classes of clause 4-a. Fund-transaction operations get every control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OperationClass {
    /// 资讯查询类: information query.
    InformationQuery,
    /// 信息采集类: information collection.
    InformationCollection,
    /// 资金交易类: fund transaction.
    FundTransaction,
}

/// Every route's declaration, by module.
pub const SPECS: &[&[RouteSpec]] = &[
    health::SPECS,
    protocol_keys::SPECS,
    openapi::SPECS,
    field_nonce::SPECS,
    validate::SPECS,
    captcha::SPECS,
    sign_in::SPECS,
    session::SPECS,
    step_up::SPECS,
    registration::SPECS,
    me::SPECS,
    mobile::SPECS,
    my_sessions::SPECS,
    customers::SPECS,
    policies::SPECS,
    statements::SPECS,
    claims::SPECS,
    claim_review::SPECS,
    risk_review::SPECS,
    security_console::SPECS,
    containment::SPECS,
    finance_console::SPECS,
    people_console::SPECS,
    risk_console::SPECS,
];
