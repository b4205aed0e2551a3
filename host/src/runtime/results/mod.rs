//! What a provider's exports return, lifted within ceilings. Each export is called with
//! result types whose strings and lists carry their ceiling (`bounded::Text`,
//! `bounded::Items`): wasmtime checks the length the guest declares before it copies
//! anything, so an answer over a ceiling costs the host nothing and fails the call with an
//! [`OverCeiling`](super::ceilings::OverCeiling) naming the value. What fits is then moved
//! into the host's own types (`crate::domain::provider`).

pub(crate) mod bounded;
pub(crate) mod messaging;
pub(crate) mod payment;
pub(crate) mod payment_v1_1;

use wasmtime::component::{ComponentType, Lift};

use self::bounded::{ceilings, Text};
use super::bindings::v1::types;
use super::ceilings::MESSAGE;
use crate::domain::provider::{ProviderError, Verification};

ceilings! {
    ErrorMessage = "provider-error.message", MESSAGE;
    RejectionReason = "verification.rejected", MESSAGE;
}

/// `provider-error`, bounded.
#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct RawProviderError {
    kind: types::ErrorKind,
    message: Text<ErrorMessage>,
    retryable: bool,
}

/// `verification`, bounded.
#[derive(ComponentType, Lift)]
#[component(variant)]
pub(crate) enum RawVerification {
    #[component(name = "accepted")]
    Accepted,
    #[component(name = "rejected")]
    Rejected(Text<RejectionReason>),
}

/// An export's `result<T, provider-error>`, bounded.
pub(crate) type RawResult<T> = Result<T, RawProviderError>;

/// Turns a bounded `result<R, provider-error>` into the host's types.
pub(crate) fn result<R, T>(raw: RawResult<R>, ok: impl FnOnce(R) -> T) -> Result<T, ProviderError> {
    raw.map(ok).map_err(|error| ProviderError {
        kind: error.kind.into(),
        message: error.message.text,
        retryable: error.retryable,
    })
}

pub(crate) fn unit((): ()) {}

pub(crate) fn verification(raw: RawVerification) -> Verification {
    match raw {
        RawVerification::Accepted => Verification::Accepted,
        RawVerification::Rejected(reason) => Verification::Rejected(reason.text),
    }
}
