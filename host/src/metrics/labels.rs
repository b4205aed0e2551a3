//! The label sets of the host's metrics. Every value is bounded: module identifiers and
//! versions are those installed, exports, outcomes, states and reasons are fixed words, and an
//! outbound host is the allowlist entry that admitted the request (never the name a provider
//! made up under a wildcard). No label ever holds a company, an integration or a reference.

use prometheus_client::encoding::EncodeLabelSet;

/// One provider export call.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub module: String,
    pub version: String,
    /// The export's WIT name: `create-session`, `parse-webhook`, …
    pub export: &'static str,
    /// `ok`, the provider's own error kind (`declined`, `gateway-error`, …), or how the call
    /// failed (`trap`, `timeout`, `out_of_memory`, `over_ceiling`, …).
    pub outcome: &'static str,
}

/// One provider export, for its latency.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ExportLabels {
    pub module: String,
    pub version: String,
    pub export: &'static str,
}

/// A call refused a sandbox slot.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalLabels {
    pub module: String,
    /// `module_share`, `company_share` or `overload`.
    pub reason: &'static str,
}

/// One outbound request that was sent (or failed on the way).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutboundLabels {
    pub module: String,
    /// The allowlist entry (`api.stripe.com`, `*.paypal.com`, `api.x.com:8443`) or the
    /// operator's endpoint override origin that admitted the request.
    pub host: String,
    /// `2xx` … `5xx`, or `timeout`, `failed`, `too_large` when no status was read.
    pub status_class: &'static str,
}

/// The latency of outbound requests to one host.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutboundHostLabels {
    pub module: String,
    pub host: String,
}

/// An outbound request refused before it was sent.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DenialLabels {
    pub module: String,
    /// `not_allowed`, `non_public_address`, `invalid_request`, `unknown_credential` or
    /// `budget_exhausted`.
    pub reason: &'static str,
}

/// One delivery to a public webhook URL.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookLabels {
    /// `payment` or `messaging`.
    pub category: &'static str,
    pub module: String,
    /// `accepted`, `unmatched` (verified, applied to nothing), `rejected` (bad signature),
    /// `failed` (the provider or the host failed).
    pub outcome: &'static str,
}

/// A backbone.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CategoryLabels {
    /// `payment` or `messaging`.
    pub category: &'static str,
}

/// A transaction's state change.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransitionLabels {
    pub module: String,
    pub from: &'static str,
    pub to: &'static str,
}

/// Per module.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModuleLabels {
    pub module: String,
}

/// A refund's outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefundLabels {
    pub module: String,
    /// `succeeded`, `refused` (the gateway said no), `not_sent` (it never reached the
    /// gateway; released), `in_doubt` (no usable answer; reconciled later). Each attempt counts,
    /// reconciliation's too.
    pub outcome: &'static str,
}

/// A message reaching a state.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MessageLabels {
    pub module: String,
    pub state: &'static str,
}

/// One event delivery attempt.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    /// `delivered`, `failed` (the endpoint did not take it; retried) or `gave_up` (marked
    /// failed after the last retry).
    pub outcome: &'static str,
}

/// A database pool.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabels {
    /// `reader` or `writer`.
    pub pool: &'static str,
}

/// A live module version.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModuleInfoLabels {
    pub module: String,
    pub version: String,
    /// `payment` or `messaging`.
    pub world: &'static str,
    pub contract: String,
}

/// A module install attempt.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InstallLabels {
    /// `api` (an admin upload) or `folder` (the modules folder).
    pub source: &'static str,
    /// `installed` or `refused`.
    pub outcome: &'static str,
}

/// A compile cache lookup.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    /// `hit` or `miss`.
    pub result: &'static str,
}
