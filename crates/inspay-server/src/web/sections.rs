//! The staff console's sections as data: for each, the permission that opens it, the API list
//! it shows and its columns, with headings in both languages.

/// How a column's value is shown.
#[derive(Clone, Copy)]
pub enum Kind {
    /// Plain text.
    Text,
    /// Fen, shown as yuan.
    Money,
    /// Unix milliseconds, shown in China time.
    Time,
    /// Yes or no.
    Flag,
    /// A state word, coloured by its meaning.
    Status,
    /// A list of words.
    List,
}

/// One column: its heading in both languages and the field it shows.
pub struct Col {
    /// Heading in Chinese.
    pub zh: &'static str,
    /// Heading in English.
    pub en: &'static str,
    /// The field of each list item.
    pub key: &'static str,
    /// How it is shown.
    pub kind: Kind,
}

const fn col(zh: &'static str, en: &'static str, key: &'static str, kind: Kind) -> Col {
    Col { zh, en, key, kind }
}

/// One section: a permission that opens it, its API list and the columns shown.
pub struct Section {
    /// The page's path segment.
    pub slug: &'static str,
    /// Title in Chinese.
    pub zh: &'static str,
    /// Title in English.
    pub en: &'static str,
    /// The permission that lists it in the console.
    pub permission: &'static str,
    /// The API list it shows.
    pub api: &'static str,
    /// The field of the answer holding the list.
    pub list: &'static str,
    /// The columns.
    pub columns: &'static [Col],
}

/// Every section.
pub const SECTIONS: &[Section] = &[
    Section {
        slug: "payouts",
        zh: "赔款支付",
        en: "Payouts",
        permission: "ledger.read",
        api: "/v1/finance/payouts",
        list: "payouts",
        columns: &[
            col("理赔", "Claim", "claim_id", Kind::Text),
            col("收款账户", "Account", "account_masked", Kind::Text),
            col("金额", "Amount", "amount_fen", Kind::Money),
            col("状态", "Status", "status", Kind::Status),
            col("创建", "Created", "created_at_ms", Kind::Time),
            col("结算", "Settled", "settled_at_ms", Kind::Time),
        ],
    },
    Section {
        slug: "refunds",
        zh: "保费退款",
        en: "Refunds",
        permission: "ledger.read",
        api: "/v1/finance/refunds",
        list: "refunds",
        columns: &[
            col("缴费", "Payment", "payment_id", Kind::Text),
            col("原因", "Reason", "reason", Kind::Text),
            col("银行卡", "Card", "card_masked", Kind::Text),
            col("金额", "Amount", "amount_fen", Kind::Money),
            col("状态", "Status", "status", Kind::Status),
            col("创建", "Created", "created_at_ms", Kind::Time),
        ],
    },
    Section {
        slug: "reconciliation",
        zh: "对账报告",
        en: "Reconciliation",
        permission: "ledger.read",
        api: "/v1/finance/reconciliation",
        list: "runs",
        columns: &[
            col("日期", "Day", "day", Kind::Text),
            col("来源", "Source", "source", Kind::Text),
            col("已匹配", "Matched", "matched", Kind::Text),
            col(
                "渠道缺失",
                "Missing at channel",
                "missing_at_channel",
                Kind::Text,
            ),
            col(
                "我方缺失",
                "Missing at inspay",
                "missing_in_inspay",
                Kind::Text,
            ),
            col("金额不符", "Amount differs", "mismatched", Kind::Text),
            col("重复", "Duplicated", "duplicated", Kind::Text),
            col("一致", "Clean", "clean", Kind::Flag),
            col("执行时间", "Run at", "run_at_ms", Kind::Time),
        ],
    },
    Section {
        slug: "alerts",
        zh: "风险告警",
        en: "Risk alerts",
        permission: "risk.monitor",
        api: "/v1/risk/alerts",
        list: "alerts",
        columns: &[
            col("时间", "At", "at_ms", Kind::Time),
            col("操作", "Operation", "operation", Kind::Text),
            col("结论", "Verdict", "verdict", Kind::Status),
            col("账户", "Account", "account_id", Kind::Text),
        ],
    },
    Section {
        slug: "holds",
        zh: "待复核操作",
        en: "Review queue",
        permission: "risk.review",
        api: "/v1/risk/holds/held",
        list: "holds",
        columns: &[
            col("编号", "Hold", "id", Kind::Text),
            col("操作", "Operation", "operation", Kind::Text),
            col("账户", "Account", "account_id", Kind::Text),
            col("发起人", "Asked by", "requested_by", Kind::Text),
            col("时间", "At", "created_at_ms", Kind::Time),
        ],
    },
    Section {
        slug: "packs",
        zh: "规则包",
        en: "Rule packs",
        permission: "risk.monitor",
        api: "/v1/risk/packs",
        list: "packs",
        columns: &[
            col("名称", "Name", "name", Kind::Text),
            col("版本", "Version", "version", Kind::Text),
            col("状态", "State", "state", Kind::Status),
            col("规则数", "Rules", "rules", Kind::Text),
            col("签名人", "Signer", "signer", Kind::Text),
            col("安装时间", "Installed", "installed_at_ms", Kind::Time),
        ],
    },
    Section {
        slug: "keys",
        zh: "密钥状态",
        en: "Keys",
        permission: "keys.manage",
        api: "/v1/admin/keys",
        list: "keys",
        columns: &[
            col("用途", "Purpose", "purpose", Kind::Text),
            col("版本", "Version", "version", Kind::Text),
            col("状态", "State", "state", Kind::Status),
            col("算法", "Algorithm", "algorithm", Kind::Text),
            col("天数", "Age (days)", "age_days", Kind::Text),
            col("应轮换", "Rotation due", "rotation_due", Kind::Flag),
        ],
    },
    Section {
        slug: "apps",
        zh: "客户端应用",
        en: "Client applications",
        permission: "client-apps.manage",
        api: "/v1/admin/apps",
        list: "apps",
        columns: &[
            col("标识", "Id", "id", Kind::Text),
            col("名称", "Name", "name", Kind::Text),
            col("类别", "Class", "class", Kind::Text),
            col("状态", "Status", "status", Kind::Status),
            col("双向 TLS", "Mutual TLS", "mtls", Kind::Flag),
            col("SDK", "SDK", "last_sdk", Kind::Text),
            col("最近访问", "Last seen", "last_seen_at_ms", Kind::Time),
        ],
    },
    Section {
        slug: "events",
        zh: "安全事件",
        en: "Security events",
        permission: "risk.monitor",
        api: "/v1/admin/security-events",
        list: "events",
        columns: &[
            col("时间", "At", "at_ms", Kind::Time),
            col("类型", "Kind", "kind", Kind::Text),
            col("来源地址", "Address", "client_ip", Kind::Text),
            col("应用", "App", "app_id", Kind::Text),
            col("路由", "Route", "route", Kind::Text),
            col("告警", "Alert", "alert", Kind::Flag),
        ],
    },
    Section {
        slug: "staff",
        zh: "员工与角色",
        en: "Staff and roles",
        permission: "users.manage",
        api: "/v1/admin/staff",
        list: "accounts",
        columns: &[
            col("登录名", "Login", "login_name", Kind::Text),
            col("状态", "Status", "status", Kind::Status),
            col("角色", "Roles", "roles", Kind::List),
            col(
                "初始密码",
                "Initial password",
                "initial_password",
                Kind::Flag,
            ),
            col("长期未用", "Dormant", "dormant", Kind::Flag),
            col("最近登录", "Last sign-in", "last_sign_in_ms", Kind::Time),
        ],
    },
    Section {
        slug: "permission-review",
        zh: "权限复核",
        en: "Permission review",
        permission: "permissions.review",
        api: "/v1/admin/permission-review",
        list: "accounts",
        columns: &[
            col("登录名", "Login", "login_name", Kind::Text),
            col("角色", "Roles", "roles", Kind::List),
            col("权限", "Permissions", "permissions", Kind::List),
            col("长期未用", "Dormant", "dormant", Kind::Flag),
            col(
                "初始密码",
                "Initial password",
                "initial_password",
                Kind::Flag,
            ),
        ],
    },
];
