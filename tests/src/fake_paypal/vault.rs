//! The fake PayPal's vault, as PayPal documents saving a payer's account during a purchase
//! (Vault v3 with Orders v2): an order created with
//! `payment_source.paypal.attributes.vault.store_in_vault: ON_SUCCESS` (`usage_type: MERCHANT`)
//! vaults the payer's account when its capture completes, and the order then shows
//! `payment_source.paypal.attributes.vault {id, status: VAULTED, customer}`; an order created
//! with `payment_source.paypal.vault_id` is paid at once, no payer present (COMPLETED, captured),
//! or refused 422 (`INSTRUMENT_DECLINED`, or `PAYMENT_SOURCE_CANNOT_BE_USED` for a token that
//! is not, or no longer, in the vault); `DELETE /v3/vault/payment-tokens/{id}` answers 204, or
//! 404 `RESOURCE_NOT_FOUND`.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;

use super::{unprocessable, Capture, FakePayPal, Ledger, Order, Route};

pub(super) fn store_in_vault(request: &Value) -> bool {
    request.pointer("/payment_source/paypal/attributes/vault/store_in_vault").and_then(Value::as_str)
        == Some("ON_SUCCESS")
}

/// An order paid with a vault token: captured on creation, or refused.
pub(super) fn pay_with_token(ledger: &mut Ledger, request: &Value, mut order: Order) -> Result<Order, (u16, Value)> {
    let Some(token) = request.pointer("/payment_source/paypal/vault_id").and_then(Value::as_str) else {
        return Ok(order);
    };
    if ledger.vault_tokens.get(token) != Some(&true) {
        return Err(unprocessable(
            "PAYMENT_SOURCE_CANNOT_BE_USED",
            "The provided payment source cannot be used to pay for the order. Please try again with a different payment source.",
        ));
    }
    if ledger.declining_tokens.iter().any(|t| t == token) {
        return Err(unprocessable(
            "INSTRUMENT_DECLINED",
            "The instrument presented was either declined by the processor or bank, or it can't be used for this payment.",
        ));
    }
    order.status = "COMPLETED".into();
    order.with_payment_source = false;
    order.vault_id = Some(token.to_string());
    let capture_id = ledger.next_id("7VC");
    order.capture = Some(Capture {
        id: capture_id,
        status: "COMPLETED".into(),
        units: order.units,
        reason: None,
        refunds: Vec::new(),
    });
    Ok(order)
}

/// Vaults the payer's account of an order that asked, once its capture completed.
pub(super) fn vault_on_success(ledger: &mut Ledger, order_id: &str) {
    let asked = ledger.order(order_id).is_some_and(|o| o.store_in_vault && o.vault_id.is_none());
    if !asked {
        return;
    }
    let token = ledger.next_id("8KK");
    ledger.vault_tokens.insert(token.clone(), true);
    ledger.order_mut(order_id).unwrap().vault_id = Some(token);
}

pub(super) async fn delete_token(
    State(fake): State<FakePayPal>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    fake.serve(Route::DeleteToken, &headers, |ledger| {
        if let Err(refusal) = ledger.bearer(&headers, false) {
            return refusal;
        }
        match ledger.vault_tokens.get_mut(&id) {
            Some(active) if *active => {
                *active = false;
                (204, Value::Null)
            }
            _ => (404, super::not_found().1),
        }
    })
    .await
}

impl FakePayPal {
    /// Whether a vault token is still usable.
    pub fn token_active(&self, token: &str) -> bool {
        self.ledger().vault_tokens.get(token) == Some(&true)
    }

    /// Every charge of this vault token is declined.
    pub fn decline_token(&self, token: &str) {
        self.ledger().declining_tokens.push(token.to_string());
    }
}
