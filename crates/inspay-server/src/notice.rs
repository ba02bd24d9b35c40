//! The privacy notice people see before inspay collects anything (clauses 6.1.3 to 6.1.5).
//!
//! The notice is versioned; its text is published to the store at start-up (kept by SM3
//! digest, so a changed text under an old version is refused), and every consent names the
//! version it answers. Purposes the service needs are marked required; the others are
//! optional and can be refused without losing the service.

use inspay_identity::consent::{Notice, NoticePurpose};
use inspay_store::{Store, StoreError};
use serde::Serialize;

/// Version of the built-in notice.
pub const VERSION: &str = "2026-11";

/// One purpose as the person reads it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PurposeText {
    /// Stable id.
    pub id: &'static str,
    /// Needed to provide the service.
    pub required: bool,
    /// What is collected and why, in Chinese.
    pub description_zh: &'static str,
    /// The same in English.
    pub description_en: &'static str,
}

/// The purposes of the built-in notice. Required purposes are only those the service cannot
/// be given without (clause 6.1.3).
pub const PURPOSES: &[PurposeText] = &[
    PurposeText {
        id: "account-and-policy-service",
        required: true,
        description_zh: "姓名、手机号、身份证号：开立账户、核验身份、办理投保、续保和理赔。",
        description_en: "Legal name, mobile number and ID number: to open your account, verify your identity, and handle policies, renewals and claims.",
    },
    PurposeText {
        id: "payment-processing",
        required: true,
        description_zh: "支付与收款信息：收取保费、支付理赔款和退款，并按规定留存交易记录。",
        description_en: "Payment details: to collect premiums, pay claims and refunds, and keep the transaction records the law requires.",
    },
    PurposeText {
        id: "security-and-risk-control",
        required: true,
        description_zh: "登录与设备信息：防范盗用、欺诈和洗钱风险。",
        description_en: "Sign-in and device information: to prevent account takeover, fraud and money laundering.",
    },
    PurposeText {
        id: "marketing-sms",
        required: false,
        description_zh: "手机号：向您发送产品和优惠信息。可拒绝，不影响使用。",
        description_en: "Mobile number: to send you product and offer messages. You may refuse; the service is the same.",
    },
    PurposeText {
        id: "service-analytics",
        required: false,
        description_zh: "去标识化的使用统计：改进服务。可拒绝，不影响使用。",
        description_en: "De-identified usage statistics: to improve the service. You may refuse; the service is the same.",
    },
];

/// The full text of the notice, as published and digested.
pub fn text() -> String {
    let mut text = format!(
        "inspay 个人信息保护声明 / Privacy notice, version {VERSION}\n\n\
         我们只收集提供服务所必需的个人金融信息，并在收集前征得您的明确同意。\n\
         We collect only the personal financial information the service needs, and only after you agree.\n\n"
    );
    for purpose in PURPOSES {
        text.push_str(&format!(
            "[{}] {}\n{}\n{}\n\n",
            purpose.id,
            if purpose.required {
                "必需 / required"
            } else {
                "可选 / optional"
            },
            purpose.description_zh,
            purpose.description_en
        ));
    }
    text.push_str(
        "您可以随时撤回可选用途的同意；注销账户后，保存期满时您的个人信息将被删除。\n\
         You can withdraw an optional consent at any time; after you close your account, your personal data is erased when the retention period ends.\n",
    );
    text
}

/// The notice as the consent rules see it.
pub fn notice() -> Notice {
    Notice {
        version: VERSION.to_string(),
        purposes: PURPOSES
            .iter()
            .map(|purpose| NoticePurpose {
                id: purpose.id.to_string(),
                required: purpose.required,
            })
            .collect(),
    }
}

/// Publishes the notice (idempotent for the same text).
pub async fn publish(store: &Store, now_ms: i64) -> Result<(), StoreError> {
    store.notice_publish(VERSION, &text(), now_ms).await
}
