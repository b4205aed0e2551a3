//! The host refuses what a module's capabilities leave out (API.md §2), 422 `unsupported`,
//! before anything is stored or any gateway is called.

use serde::Deserialize;

use crate::domain::capabilities::Extent;
use crate::domain::manifest::Manifest;
use crate::domain::money::{format_minor, Currency};

use super::ServiceError;

/// How a payment is captured (initiate's `capture`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaptureMode {
    /// Captured as soon as the payer pays (the default).
    Automatic,
    /// Authorized only; captured later by `…/capture`.
    Manual,
}

fn unsupported(message: String) -> ServiceError {
    ServiceError::invalid("unsupported", message)
}

/// An initiate of `amount_minor` in `currency`, captured as `capture`, saving the payment
/// method when `save`.
pub fn check_initiate(
    manifest: &Manifest,
    currency: Currency,
    amount_minor: i64,
    capture: Option<CaptureMode>,
    save: bool,
) -> Result<(), ServiceError> {
    let capabilities = manifest.capabilities();
    if let Err(refusal) = capabilities.accepts(currency, Some(amount_minor), None) {
        return Err(unsupported(format!("{} cannot take this payment: {refusal}.", manifest.name)));
    }
    if capture == Some(CaptureMode::Manual) && capabilities.manual_capture == Extent::None {
        return Err(unsupported(format!(
            "{} does not capture payments later; leave out `capture` or send \"automatic\".",
            manifest.name
        )));
    }
    if save && !capabilities.tokenization {
        return Err(unsupported(format!("{} does not save payment methods.", manifest.name)));
    }
    Ok(())
}

/// A refund of `amount` when `refunded` of the payment is already refunded and `left` is
/// left.
pub fn check_refund(
    manifest: &Manifest,
    currency: Currency,
    amount: i64,
    refunded: i64,
    left: i64,
) -> Result<(), ServiceError> {
    match manifest.capabilities().refunds {
        Extent::None => Err(unsupported(format!("{} does not refund payments.", manifest.name))),
        Extent::Full if refunded > 0 || amount != left => Err(unsupported(format!(
            "{} refunds only a whole payment at once: leave out `amount`, or send {} {}.",
            manifest.name,
            format_minor(left, currency),
            currency.code()
        ))),
        Extent::Full | Extent::Partial => Ok(()),
    }
}
