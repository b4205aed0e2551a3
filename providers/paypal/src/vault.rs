//! Saved payment methods (contract 1.1) as PayPal's Vault v3 with Orders v2: an order created
//! with `attributes.vault.store_in_vault: ON_SUCCESS` (`usage_type: MERCHANT`) vaults the
//! payer's account when it completes, and the order shows the vault token, reported as the
//! saved method (the token is what the host keeps). A merchant-initiated charge is an order
//! paid with `payment_source.paypal.vault_id`, which PayPal completes at once, under our
//! reference as `PayPal-Request-Id`; deleting is `DELETE /v3/vault/payment-tokens/{id}`.

use crate::api::{decode, Api};
use crate::exports::integrations::provider::payment::PaymentUpdate;
use crate::integrations::provider::http::Method;
use crate::integrations::provider::mapper;
use crate::integrations::provider::types::{ErrorKind, ProviderError, Transaction, TransactionState};
use crate::{amount_error, error, json_body, money, updates, wire, ORDER_MODEL};

/// A vault token as PayPal writes them: letters and digits.
fn checked(token: &str) -> Result<&str, ProviderError> {
    if token.is_empty() || token.len() > 64 || !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(error(ErrorKind::InvalidRequest, "The saved payment method is not a PayPal vault token."));
    }
    Ok(token)
}

pub fn charge(transaction: &Transaction, token: &str) -> Result<PaymentUpdate, ProviderError> {
    let token = checked(token)?;
    let amount = &transaction.amount;
    let value = money::to_paypal(amount.amount_minor, &amount.currency).map_err(amount_error)?;
    let reference = transaction.reference.as_str();
    let order = wire::CreateOrder {
        intent: "CAPTURE",
        purchase_units: [wire::NewPurchaseUnit {
            custom_id: reference,
            invoice_id: reference,
            amount: wire::Amount { currency_code: &amount.currency, value },
        }],
        payment_source: wire::PaymentSource { paypal: wire::PayPalSource::Vaulted { vault_id: token } },
    };
    let api = Api::open()?;
    let response = api.send(Method::Post, "/v2/checkout/orders", Some(json_body(&order)?), Some(reference))?;
    let order: wire::Order = decode(&response)?;
    mapper::put(ORDER_MODEL, reference, &order.id);
    let mut update = updates::order_update(&order);
    // Paying with a saved method saves nothing new.
    update.saved_payment_method = None;
    if update.state == Some(TransactionState::Pending) && order.status != "COMPLETED" {
        return Err(error(ErrorKind::Declined, &format!("PayPal did not complete the order ({}).", order.status)));
    }
    Ok(update)
}

pub fn delete(token: &str) -> Result<(), ProviderError> {
    let token = checked(token)?;
    let api = Api::open()?;
    let response = api.send(Method::Delete, &format!("/v3/vault/payment-tokens/{token}"), None, None)?;
    match response.status {
        200..=299 | 404 => Ok(()),
        status => Err(crate::api::status_error(status, &response.body)),
    }
}
