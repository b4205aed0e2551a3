//! How a provider call can fail without the provider saying so: it trapped, ran out of time
//! or memory, or the host had no room for it. Such a failure ends that call only.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The call ran past its deadline.
    Timeout,
    /// The guest tried to grow memory past its cap.
    OutOfMemory,
    /// The guest trapped (panic, unreachable, bad memory access) or a host function failed.
    Trap,
    /// The component could not be instantiated.
    Instantiation,
    /// Every sandbox slot is busy.
    Overloaded,
    /// The module holds its whole share of the sandbox slots.
    ModuleShare,
    /// The company holds its whole share of the sandbox slots.
    CompanyShare,
    /// The provider handed back (or passed the host) a value over its ceiling.
    OverCeiling,
    /// The provider handed back an answer the host cannot serve (e.g. a webhook answer of a
    /// content type the host does not serve on its public origin).
    UnusableAnswer,
}

impl FailureKind {
    /// The metric label of a call that failed this way.
    pub fn label(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::OutOfMemory => "out_of_memory",
            Self::Trap => "trap",
            Self::Instantiation => "instantiation",
            Self::Overloaded => "overload",
            Self::ModuleShare => "module_share",
            Self::CompanyShare => "company_share",
            Self::OverCeiling => "over_ceiling",
            Self::UnusableAnswer => "unusable_answer",
        }
    }

    /// True when the call never ran because the host had no room for it.
    pub fn is_refusal(self) -> bool {
        matches!(self, Self::Overloaded | Self::ModuleShare | Self::CompanyShare)
    }
}

/// A failed call, with the module and integration it served (for the log).
#[derive(Debug, Clone, thiserror::Error)]
#[error("provider {module} {version} failed ({kind}) serving integration {integration_id} of company {company_id}: {detail}")]
pub struct ProviderFailure {
    pub module: String,
    pub version: String,
    pub company_id: i64,
    pub integration_id: i64,
    pub kind: FailureKind,
    /// Internal detail, for the log only.
    pub detail: String,
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Timeout => "it ran past its time limit",
            Self::OutOfMemory => "it ran out of memory",
            Self::Trap => "it crashed",
            Self::Instantiation => "it could not be started",
            Self::Overloaded => "the host is at capacity",
            Self::ModuleShare => "the module is using its whole share of the host",
            Self::CompanyShare => "the company is using its whole share of the host",
            Self::OverCeiling => "it handed back more than the host accepts",
            Self::UnusableAnswer => "it handed back an answer the host cannot serve",
        })
    }
}
