//! The web client's two languages (clause 6.1.2): every text of every page in Chinese and
//! English, side by side, checked at compile time (a text missing in either language does not
//! build). The language is the first segment after `/web/` (`/web/zh/...`, `/web/en/...`), so
//! a page can be bookmarked, linked and tested in either.

/// A language of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// 简体中文.
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The language a path names (`/web/zh/...`), if any.
    pub fn from_path(path: &str) -> Option<Lang> {
        match path.strip_prefix("/web/")?.split('/').next()? {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The path segment.
    pub const fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The `lang` attribute of the page.
    pub const fn html(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The other language, for the switch in the header.
    pub const fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// The texts of this language.
    pub const fn texts(self) -> &'static Texts {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }

    /// An amount in fen as yuan with two decimals and the currency sign.
    pub fn money(self, fen: i64) -> String {
        let sign = if fen < 0 { "-" } else { "" };
        let fen = fen.unsigned_abs();
        format!("{sign}¥{}.{:02}", group(fen / 100), fen % 100)
    }
}

fn group(yuan: u64) -> String {
    let digits = yuan.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

macro_rules! texts {
    ($($key:ident: $zh:literal, $en:literal;)*) => {
        /// Every text of the pages, in one language.
        #[derive(Debug)]
        pub struct Texts {
            $(
                #[doc = $en]
                pub $key: &'static str,
            )*
        }

        /// 简体中文.
        pub const ZH: Texts = Texts { $($key: $zh,)* };
        /// English.
        pub const EN: Texts = Texts { $($key: $en,)* };
    };
}

texts! {
    // The frame of every page.
    brand: "安付保险支付", "inspay insurance payments";
    language_switch: "English", "中文";
    skip_to_content: "跳到正文", "Skip to content";
    nav_home: "我的保单", "My policies";
    nav_claims: "理赔", "Claims";
    nav_account: "账户与安全", "Account and security";
    nav_help: "帮助", "Help";
    nav_staff: "工作台", "Console";
    sign_out: "退出登录", "Sign out";
    footer_security: "敏感信息在您的浏览器中用国密 SM2 加密后才发送。请勿在公共设备上保存密码。", "Sensitive details are encrypted in your browser with SM2 before they are sent. Do not save passwords on shared devices.";
    js_required: "本页面需要启用 JavaScript 才能加密您输入的敏感信息。", "This page needs JavaScript to encrypt the sensitive details you enter.";
    required_mark: "必填", "required";
    submit: "提交", "Submit";
    continue_: "继续", "Continue";
    cancel: "取消", "Cancel";
    back_home: "返回首页", "Back to the start page";
    reference: "参考编号", "Reference";
    error_title: "操作未完成", "That did not work";
    error_generic: "系统暂时无法完成此操作，请稍后再试。如需帮助，请提供参考编号。", "We could not complete this right now. Try again later; if you contact us, quote the reference.";
    error_expired_form: "页面已过期，请重新填写。", "This page has expired. Please fill it in again.";
    error_not_found: "找不到该页面。", "There is no such page.";
    // Sign-in.
    sign_in_title: "登录", "Sign in";
    sign_in_lead: "使用手机号和登录密码登录，随后用短信验证码完成第二步验证。", "Sign in with your mobile number and password, then confirm with a code sent by text message.";
    mobile: "手机号", "Mobile number";
    mobile_hint: "11 位中国大陆手机号", "11-digit mainland China mobile number";
    password: "登录密码", "Password";
    captcha: "图形验证码", "Characters in the image";
    captcha_hint: "请输入图片中的字符（不区分大小写）", "Type the characters shown (not case-sensitive)";
    captcha_alt: "图形验证码图片", "CAPTCHA image";
    sign_in_button: "登录", "Sign in";
    sign_in_failed: "登录失败。请检查输入后重试，或重置密码。", "Sign-in failed. Check what you entered and try again, or reset your password.";
    no_account: "还没有账户？", "No account yet?";
    register_link: "注册", "Register";
    sms_title: "短信验证", "Text message code";
    sms_lead: "为确认是您本人，我们将向您登记的手机号发送 6 位验证码。", "To confirm it is you, we will send a 6-digit code to your registered mobile number.";
    send_code: "发送验证码", "Send the code";
    code_sent_to: "验证码已发送至", "Code sent to";
    code: "短信验证码", "Code from the text message";
    code_hint: "6 位数字，5 分钟内有效", "6 digits, valid for 5 minutes";
    verify_button: "验证", "Verify";
    identity_title: "补充验证", "One more check";
    identity_lead: "本次登录环境与以往不同。请输入注册时登记的身份证号码以确认是您本人。", "This sign-in looks different from your usual ones. Enter the ID number you registered with to confirm it is you.";
    id_number: "身份证号码", "ID number";
    flow_ended: "本次登录已结束，请重新开始。", "This sign-in has ended. Please start again.";
    // Registration.
    register_title: "注册账户", "Create an account";
    notice_title: "个人信息保护告知", "How we use your personal information";
    notice_lead: "请阅读以下告知。必要用途是提供服务所必需的；可选用途由您自行决定，默认不勾选，之后可随时撤回。", "Please read this notice. Required purposes are needed to provide the service; optional ones are your choice, left unticked, and can be withdrawn at any time.";
    purpose_required: "必要", "Required";
    purpose_optional: "可选", "Optional";
    agree_required: "我已阅读并同意上述必要用途", "I have read the notice and agree to the required purposes";
    register_step1_button: "同意并获取验证码", "Agree and get a code";
    register_details: "填写身份信息", "Your details";
    legal_name: "真实姓名", "Full legal name";
    confirm_mobile_hint: "请再次输入接收验证码的手机号", "Enter again the number the code was sent to";
    code_sent: "验证码已发送，请查收短信。", "A code is on its way by text message.";
    new_password_label: "设置登录密码", "Choose a password";
    password_rule: "8 至 64 位，包含大写字母、小写字母、数字、符号中的至少三类，且不能包含手机号、证件号等个人信息。", "8 to 64 characters from at least three of: upper case, lower case, digits, symbols; not containing your mobile number, ID number or other personal details.";
    register_button: "创建账户", "Create the account";
    registered: "账户已创建，您已登录。", "Your account is created and you are signed in.";
    consent_needed: "请同意必要用途后继续。", "Please agree to the required purposes to continue.";
    // Policies.
    home_title: "我的保单", "My policies";
    welcome: "您好，", "Hello,";
    no_policies: "您还没有保单。", "You have no policies yet.";
    policy: "保单", "Policy";
    status: "状态", "Status";
    cover: "保额", "Cover";
    premium: "保费", "Premium";
    period: "保障期间", "Period of cover";
    premiums_schedule: "缴费计划", "Premium schedule";
    number: "期次", "No.";
    due_on: "应缴日", "Due on";
    amount: "金额", "Amount";
    pay: "缴费", "Pay";
    payments: "缴费记录", "Payments";
    card: "银行卡", "Card";
    details: "详情", "Details";
    status_due: "待缴", "Due";
    status_paid: "已缴", "Paid";
    status_pending: "处理中", "Being confirmed";
    status_succeeded: "成功", "Succeeded";
    status_failed: "失败", "Failed";
    status_active: "有效", "In force";
    status_proposed: "待缴首期保费", "Awaiting first premium";
    status_lapsed: "失效", "Lapsed";
    status_cancelled: "已退保", "Cancelled";
    status_expired: "已满期", "Expired";
    status_other: "其他", "Other";
    // Paying a premium.
    pay_title: "缴纳保费", "Pay a premium";
    pay_lead: "卡号、有效期和安全码将在您的浏览器中加密后发送，我们不会保存安全码。", "The card number, expiry and security code are encrypted in your browser before they are sent; we never keep the security code.";
    saved_card: "使用已保存的银行卡", "Use a saved card";
    new_card: "使用新银行卡", "Use a new card";
    card_number: "银行卡号", "Card number";
    expiry: "有效期（MM/YY）", "Expiry (MM/YY)";
    cvv: "安全码", "Security code";
    pay_button: "确认缴费", "Pay now";
    paid: "缴费成功。", "Payment received.";
    pay_pending: "缴费正在与银行确认，结果将在保单页显示。", "The payment is being confirmed with the bank; the outcome will show on the policy.";
    pay_held: "该笔缴费正在审核中，尚未扣款。审核完成后请再次提交同一笔缴费。", "This payment is being reviewed and has not been taken. When the review is done, submit the same payment again.";
    step_up_title: "身份确认", "Confirm it is you";
    step_up_lead: "这项操作需要再次验证。我们将向您的手机发送验证码。", "This operation needs a fresh verification. We will send a code to your mobile.";
    step_up_done: "验证完成，请重新提交。", "Verified. Please submit again.";
    // Claims and payout accounts.
    claims_title: "理赔", "Claims";
    claims_lead: "提交理赔申请并跟踪处理进度。赔款将支付到您名下已验证的银行账户。", "File a claim and follow it. Payouts go to a verified bank account in your name.";
    no_claims: "您还没有理赔申请。", "You have no claims yet.";
    file_claim: "提交理赔申请", "File a claim";
    claim: "理赔", "Claim";
    claimed: "申请金额", "Amount claimed";
    approved_amount: "核定金额", "Amount approved";
    incident_on: "出险日期", "Date of the incident";
    description: "事故经过及材料说明", "What happened, and the documents you have";
    description_hint: "不超过 500 字，例如就诊医院、发票编号", "At most 500 characters, such as the hospital and invoice numbers";
    claim_amount_hint: "以元为单位，例如 1200.50", "In yuan, such as 1200.50";
    payout_account: "收款账户", "Payout account";
    payout_accounts: "收款银行账户", "Payout bank accounts";
    no_payout_accounts: "请先添加一个以您本人名义开立的银行账户，用于接收赔款。", "First add a bank account in your own name for payouts.";
    add_payout_account: "添加收款账户", "Add a payout account";
    account_number: "银行账号", "Account number";
    account_added: "收款账户已验证并添加。", "The payout account is verified and added.";
    claim_filed: "理赔申请已提交，我们会尽快处理。", "Your claim is filed. We will deal with it soon.";
    payouts: "赔款支付", "Payouts";
    claim_filed_status: "已受理", "Filed";
    claim_second_status: "待复核", "Awaiting second approval";
    claim_approved_status: "已核定", "Approved";
    claim_rejected_status: "未予赔付", "Not paid";
    claim_payout_pending_status: "赔款支付中", "Payout in progress";
    claim_paid_status: "已赔付", "Paid";
    claim_sign_note: "提交即表示您确认所填内容真实，申请将以本站的签名密钥签署并留存为证据。", "By filing you confirm what you entered is true; the claim is signed with this site's signing key and kept as evidence.";
    // Account and security.
    account_title: "账户与安全", "Account and security";
    profile: "个人信息", "Your details";
    show_full: "查看完整信息", "Show in full";
    full_shown: "完整信息仅本次显示，离开页面后不再保留。", "Shown in full this once; nothing is kept when you leave the page.";
    masked_note: "为保护您的隐私，信息已部分隐藏。", "Partly hidden to protect your privacy.";
    devices: "已登记的设备密钥", "Registered device keys";
    no_devices: "没有登记的设备密钥。", "No device keys registered.";
    remove: "移除", "Remove";
    device_removed: "设备密钥已移除。", "The device key is removed.";
    sessions: "登录会话", "Sessions";
    sessions_lead: "如果怀疑账户在其他设备上登录，可以立即退出所有会话（包括当前会话）。", "If you think the account is signed in somewhere else, sign out every session at once (this one too).";
    sign_out_all: "退出所有会话", "Sign out everywhere";
    this_session: "当前会话", "This session";
    started: "登录时间", "Started";
    last_used: "最近使用", "Last used";
    end_session: "结束", "End";
    session_ended: "该会话已结束。", "That session is ended.";
    change_password: "修改登录密码", "Change the password";
    current_password: "当前密码", "Current password";
    new_password: "新密码", "New password";
    password_changed: "密码已修改，请用新密码重新登录。", "The password is changed. Sign in again with the new one.";
    transaction_password: "交易密码", "Transaction password";
    transaction_password_lead: "6 位数字，用于确认支付类操作；不能过于简单，也不能与登录密码相同。首次设置时“当前交易密码”留空。", "6 digits, to confirm payments; not a trivial sequence and not your login password. Leave the current one empty when setting it for the first time.";
    current_transaction_password: "当前交易密码", "Current transaction password";
    new_transaction_password: "新交易密码", "New transaction password";
    transaction_password_saved: "交易密码已保存。", "The transaction password is saved.";
    consents_title: "个人信息授权", "Your consents";
    consents_lead: "可选用途可随时授权或撤回；必要用途只能通过注销账户停止。", "Optional purposes can be granted or withdrawn at any time; required ones stop only when the account is closed.";
    save: "保存", "Save";
    consents_saved: "授权设置已保存。", "Your choices are saved.";
    granted: "已授权", "Granted";
    // Staff console.
    staff_sign_in_title: "员工登录", "Staff sign-in";
    staff_sign_in_lead: "使用员工账号、密码和您的签名密钥文件登录。密钥只在本页面中用于签名，不会上传。", "Sign in with your staff login, password and signing key file. The key is used in this page to sign and is never uploaded.";
    staff_login: "员工账号", "Staff login";
    key_id: "密钥编号", "Key id";
    key_id_hint: "登记签名密钥时给出的编号", "The id given when your signing key was registered";
    key_file: "签名密钥文件（PKCS#8 PEM）", "Signing key file (PKCS#8 PEM)";
    sign_title: "签名确认", "Sign to confirm";
    sign_lead: "您将用自己的密钥对以下内容签名。请核对后再签名。", "You are about to sign the following with your own key. Check it before you sign.";
    sign_button: "签名并提交", "Sign and send";
    sign_error: "无法用所选文件签名：请选择未加密的 SM2 私钥文件（PKCS#8 PEM）。", "Could not sign with the chosen file: choose an unencrypted SM2 private key file (PKCS#8 PEM).";
    staff_link: "员工登录", "Staff sign-in";
    console_title: "工作台", "Console";
    console_lead: "您可以使用以下功能（由您的角色决定）。", "What your roles let you do.";
    roles: "角色", "Roles";
    queue_filed: "待审核理赔", "Claims to assess";
    queue_second: "待复核理赔", "Claims for second approval";
    no_claims_in_queue: "队列为空。", "The queue is empty.";
    open_claim: "打开", "Open";
    claimant_signature: "申请人签名", "Claimant's signature";
    signatures_valid: "全部签名验证通过", "Every signature verifies";
    signatures_invalid: "签名验证失败，请勿处理并上报", "A signature does not verify: do not act, report it";
    decide: "理赔决定", "Decision";
    approve: "同意赔付", "Approve";
    reject: "拒绝赔付", "Reject";
    approve_amount: "核定金额（元）", "Amount to pay (yuan)";
    second_approval: "复核", "Second approval";
    confirm_payout: "确认赔付", "Confirm the payout";
    decision_recorded: "决定已签名记录。", "The decision is signed and recorded.";
    approval_recorded: "复核已签名记录，赔款开始支付。", "The approval is signed and recorded; the payout has started.";
    held_for_review: "该操作已提交风控复核，复核通过后自动执行。", "This went to risk review; it runs once released.";
    no_permission_page: "您的角色无权使用此页面。", "Your roles do not open this page.";
    // Help.
    help_title: "帮助", "Help";
}

/// A short, safe explanation of an API error code in the page's language; `None` for codes
/// without one (the page then shows the generic text and the reference).
pub fn error_text(lang: Lang, code: &str) -> Option<&'static str> {
    let (zh, en) = match code {
        "INSPAY-AUTH-001" => (ZH.sign_in_failed, EN.sign_in_failed),
        "INSPAY-AUTH-002" => ("请先登录。", "Please sign in to continue."),
        "INSPAY-AUTH-003" => (
            "这项操作需要再次验证身份。",
            "This operation needs a fresh verification.",
        ),
        "INSPAY-AUTH-004" => ("请先修改初始密码。", "Change your initial password first."),
        "INSPAY-AUTH-005" => (
            "您没有执行此操作的权限。",
            "You do not have permission for this.",
        ),
        "INSPAY-AUTH-006" => ("请确认是您本人后继续。", "Confirm it is you to continue."),
        "INSPAY-AUTH-007" => (
            "请输入新的图形验证码。",
            "Enter the characters of the new image.",
        ),
        "INSPAY-AUTH-008" => (
            "操作过于频繁，请稍后再试。",
            "Too many attempts. Please wait and try again.",
        ),
        "INSPAY-AUTH-009" => (ZH.flow_ended, EN.flow_ended),
        "INSPAY-AUTH-010" => (
            "密码强度不足，请按规则重新设置。",
            "Choose a stronger password, following the rule shown.",
        ),
        "INSPAY-AUTH-011" => (ZH.consent_needed, EN.consent_needed),
        "INSPAY-AUTH-012" => (
            "验证未通过，请检查输入后重试。",
            "The check failed. Check what you entered and try again.",
        ),
        "INSPAY-AUTH-013" => (
            "此账户已被冻结，暂时无法缴费、领取赔款或变更账户。如需帮助，请联系客服。",
            "This account is frozen: no payment, payout or account change can be made for now. If you need help, contact customer service.",
        ),
        "INSPAY-SIG-013" | "INSPAY-SIG-015" => (ZH.error_expired_form, EN.error_expired_form),
        "INSPAY-REQ-003" => (
            "有一项内容格式不正确，请检查后重试。",
            "Something you entered is not in the right form. Check it and try again.",
        ),
        "INSPAY-REQ-009" => (
            "该号码已被使用或当前状态不允许此操作。",
            "This is already in use, or its state does not allow this.",
        ),
        "INSPAY-PAY-001" => (
            "保单当前状态不允许此操作。",
            "The policy's state does not allow this.",
        ),
        "INSPAY-PAY-002" => (
            "这期保费无需缴纳：已缴或不再应缴。",
            "This premium is not due: already paid or no longer owed.",
        ),
        "INSPAY-PAY-003" => (
            "这期保费有一笔缴费正在处理，请等待结果。",
            "A payment for this premium is in progress. Wait for its outcome.",
        ),
        "INSPAY-PAY-004" => (
            "银行拒绝了这笔缴费。请换一张卡或联系发卡行。",
            "The bank declined the payment. Use another card or contact your bank.",
        ),
        "INSPAY-PAY-005" => (
            "金额超过了此类缴费的限额。",
            "The amount exceeds a limit for this kind of payment.",
        ),
        "INSPAY-PAY-008" => (
            "当前时段不受理此类缴费，请稍后再试。",
            "Payments of this kind are not accepted now. Try again later.",
        ),
        "INSPAY-RISK-001" => (
            "此操作无法完成。如需帮助，请联系客服。",
            "This operation cannot be completed. If you need help, contact customer service.",
        ),
        "INSPAY-RISK-002" => (ZH.pay_held, EN.pay_held),
        "INSPAY-SYS-005" => (
            "短信暂时无法发送，请稍后再试。",
            "The text message could not be sent. Try again later.",
        ),
        "INSPAY-SYS-006" => (
            "支付服务暂时不可用，请稍后再试。",
            "Payments are unavailable for now. Try again later.",
        ),
        "INSPAY-SYS-007" => (
            "支付通道已暂停，请稍后再试。",
            "Payments are paused for now. Try again later.",
        ),
        _ => return None,
    };
    Some(match lang {
        Lang::Zh => zh,
        Lang::En => en,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_yuan_with_two_decimals_and_groups() {
        assert_eq!(Lang::Zh.money(0), "¥0.00");
        assert_eq!(Lang::Zh.money(5), "¥0.05");
        assert_eq!(Lang::En.money(123_456_789), "¥1,234,567.89");
        assert_eq!(Lang::En.money(-100_000), "-¥1,000.00");
    }

    #[test]
    fn the_language_comes_from_the_path() {
        assert_eq!(Lang::from_path("/web/zh/sign-in"), Some(Lang::Zh));
        assert_eq!(Lang::from_path("/web/en/"), Some(Lang::En));
        assert_eq!(Lang::from_path("/web/fr/"), None);
        assert_eq!(Lang::from_path("/v1/me"), None);
    }

    /// Every Chinese text differs from its English one (a copy left untranslated shows here),
    /// except the brand-neutral ones.
    #[test]
    fn both_languages_are_filled_in() {
        let zh = format!("{ZH:?}");
        let en = format!("{EN:?}");
        assert!(
            zh.chars()
                .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c))
                .count()
                > 500
        );
        assert!(
            !en.chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c) && !"中文".contains(c))
        );
    }
}
