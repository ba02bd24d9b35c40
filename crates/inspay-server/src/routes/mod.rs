//! Routes, one module per resource, each owning its router. Each route declares its
//! operation class (clause 4-a) next to it.

pub mod health;
pub mod validate;

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
