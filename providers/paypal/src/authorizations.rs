//! Intent AUTHORIZE (contract 1.1's manual capture): the approved order is authorized, not
//! captured (`POST /v2/checkout/orders/{id}/authorize`, `PayPal-Request-Id`
//! `authorize-{order id}`); its authorization is then captured, whole or in part
//! (`POST /v2/payments/authorizations/{id}/capture`, `final_capture: true` so PayPal releases
//! the rest, under the host's capture id), or voided (`POST …/void`). The authorization id is
//! kept as provider data; the capture id replaces it once captured, for refunds.

use crate::api::{decode, Api};
use crate::exports::integrations::provider::payment::PaymentUpdate;
use crate::integrations::provider::http::Method;
use crate::integrations::provider::types::{ErrorKind, Money, ProviderError, Transaction, TransactionState};
use crate::{amount_error, error, json_body, money, order_of, updates, wire};

/// Authorizes an approved order of intent AUTHORIZE; an order authorized before is read back.
pub fn authorize(api: &Api, order_id: &str) -> Result<PaymentUpdate, ProviderError> {
    let path = format!("/v2/checkout/orders/{}/authorize", wire::path_segment(order_id));
    let request_id = format!("authorize-{}", wire::path_segment(order_id));
    let response = api.send(Method::Post, &path, Some(b"{}".to_vec()), Some(&request_id))?;
    match decode::<wire::Order>(&response) {
        Ok(order) => Ok(updates::order_update(&order)),
        Err(failure) if failure.issue.as_deref() == Some("ORDER_ALREADY_AUTHORIZED") => {
            Ok(updates::order_update(&api.order(order_id)?))
        }
        Err(failure) => Err(failure.error),
    }
}

/// The authorization of a transaction: kept, or read from its order.
fn authorization_of(api: &Api, transaction: &Transaction) -> Result<String, ProviderError> {
    if let Some(id) = updates::authorization_id_of(transaction.provider_data.as_deref()) {
        return Ok(id);
    }
    let order = api.order(&order_of(transaction)?)?;
    order
        .purchase_units
        .first()
        .and_then(|unit| unit.payments.authorizations.first())
        .map(|authorization| authorization.id.clone())
        .ok_or_else(|| error(ErrorKind::InvalidRequest, "This PayPal order has no authorization to capture or void."))
}

pub fn capture(transaction: &Transaction, amount: &Money, capture_id: &str) -> Result<PaymentUpdate, ProviderError> {
    let api = Api::open()?;
    let authorization = authorization_of(&api, transaction)?;
    let partial = amount.amount_minor < transaction.amount.amount_minor;
    let value = money::to_paypal(amount.amount_minor, &amount.currency).map_err(amount_error)?;
    let body = wire::CaptureAuthorization {
        amount: partial.then_some(wire::Amount { currency_code: &amount.currency, value }),
        final_capture: true,
    };
    let path = format!("/v2/payments/authorizations/{}/capture", wire::path_segment(&authorization));
    let response = api.send(Method::Post, &path, Some(json_body(&body)?), Some(capture_id))?;
    let capture: wire::Capture = decode(&response)?;
    let mut update = updates::capture_update(&capture, transaction.gateway_reference.clone(), None);
    update.reference = Some(transaction.reference.clone());
    if update.state == Some(TransactionState::Pending) {
        // PayPal holds the capture for review: it reports the outcome by webhook.
        update.state = None;
    }
    Ok(update)
}

pub fn void(transaction: &Transaction) -> Result<PaymentUpdate, ProviderError> {
    let api = Api::open()?;
    let authorization = authorization_of(&api, transaction)?;
    let path = format!("/v2/payments/authorizations/{}/void", wire::path_segment(&authorization));
    let request_id = format!("void-{}", wire::path_segment(&authorization));
    let response = api.send(Method::Post, &path, None, Some(&request_id))?;
    match response.status {
        // 204 No Content, or the voided authorization with `Prefer: return=representation`.
        200..=299 => {}
        _ => {
            let failure = crate::api::api_error(response.status, &response.body);
            if failure.issue.as_deref() != Some("AUTHORIZATION_ALREADY_VOIDED") {
                return Err(failure.error);
            }
        }
    }
    Ok(PaymentUpdate {
        reference: Some(transaction.reference.clone()),
        gateway_reference: transaction.gateway_reference.clone(),
        state: Some(TransactionState::Cancelled),
        gateway_status: Some("VOIDED".into()),
        error_message: None,
        refunded_minor: None,
        captured_minor: None,
        provider_data: None,
        refunds: Vec::new(),
        saved_payment_method: None,
    })
}
