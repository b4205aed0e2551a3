//! The fake PayPal's intent AUTHORIZE, as PayPal documents it: an approved order of intent
//! AUTHORIZE is authorized by `POST /v2/checkout/orders/{id}/authorize` (the order COMPLETED,
//! its `purchase_units[0].payments.authorizations[0]` CREATED; an order not approved is 422
//! `ORDER_NOT_APPROVED`, one authorized before `ORDER_ALREADY_AUTHORIZED`); its authorization
//! is captured by `POST /v2/payments/authorizations/{id}/capture` (an `amount` at most the
//! authorized one, `final_capture`; the authorization CAPTURED, or PARTIALLY_CAPTURED when
//! not final; a second capture of a final one is 422 `AUTHORIZATION_ALREADY_CAPTURED`) or voided
//! by `…/void` (204; VOIDED; a captured one is 422 `CANNOT_BE_VOIDED`, a voided one
//! `AUTHORIZATION_ALREADY_VOIDED`). `PayPal-Request-Id` replays the first answer.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Value};

use super::{format_units, invalid, is_json, not_found, parse_amount, unprocessable, unsupported_media};
use super::{Capture, FakePayPal, Ledger, Order, Route};

#[derive(Debug, Clone)]
pub struct Authorization {
    pub id: String,
    /// CREATED, CAPTURED, PARTIALLY_CAPTURED, VOIDED.
    pub status: String,
}

impl Ledger {
    pub(super) fn authorization_json(&self, order: &Order, authorization: &Authorization, url: &str) -> Value {
        json!({
            "id": authorization.id,
            "status": authorization.status,
            "amount": { "currency_code": order.currency, "value": order.value },
            "custom_id": order.custom_id,
            "invoice_id": order.invoice_id,
            "seller_protection": { "status": "ELIGIBLE" },
            "expiration_time": "2025-07-14T10:00:00Z",
            "supplementary_data": { "related_ids": { "order_id": order.id } },
            "links": [
                { "href": format!("{url}/v2/payments/authorizations/{}", authorization.id), "rel": "self", "method": "GET" },
                { "href": format!("{url}/v2/payments/authorizations/{}/capture", authorization.id), "rel": "capture", "method": "POST" },
                { "href": format!("{url}/v2/payments/authorizations/{}/void", authorization.id), "rel": "void", "method": "POST" },
            ],
        })
    }

    fn order_of_authorization(&self, id: &str) -> Option<Order> {
        self.orders.iter().find(|o| o.authorization.as_ref().is_some_and(|a| a.id == id)).cloned()
    }
}

impl FakePayPal {
    /// The order's authorization (the resource of `PAYMENT.AUTHORIZATION.*` events).
    pub fn authorization_resource(&self, order_id: &str) -> Value {
        let ledger = self.ledger();
        let order = ledger.order(order_id).expect("known order");
        ledger.authorization_json(order, order.authorization.as_ref().expect("authorized"), &self.url)
    }
}

pub(super) async fn authorize_order(
    State(fake): State<FakePayPal>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let url = fake.url.clone();
    fake.serve(Route::Authorize, &headers, |ledger| {
        if let Err(refusal) = ledger.bearer(&headers, false) {
            return refusal;
        }
        if !is_json(&headers) {
            return unsupported_media();
        }
        ledger.idempotent(Route::Authorize, &id, &headers, |ledger| authorize(ledger, &id, &url))
    })
    .await
}

fn authorize(ledger: &mut Ledger, id: &str, url: &str) -> (u16, Value) {
    let Some(order) = ledger.order(id).cloned() else { return not_found() };
    if order.intent != "AUTHORIZE" {
        return unprocessable(
            "ACTION_DOES_NOT_MATCH_INTENT",
            "Order was created with an intent to 'CAPTURE'. Please use v2/checkout/orders/order_id/capture to complete the transaction or alternately create an order with an intent of 'AUTHORIZE'.",
        );
    }
    if order.authorization.is_some() {
        return unprocessable(
            "ORDER_ALREADY_AUTHORIZED",
            "Order already authorized. If 'intent=AUTHORIZE' only one authorization per order is allowed.",
        );
    }
    if order.status != "APPROVED" {
        return unprocessable("ORDER_NOT_APPROVED", "Payer has not yet approved the Order for payment.");
    }
    let authorization_id = ledger.next_id("0AU");
    let order = ledger.order_mut(id).unwrap();
    order.status = "COMPLETED".into();
    order.authorization = Some(Authorization { id: authorization_id, status: "CREATED".into() });
    let order = ledger.order(id).unwrap();
    (201, ledger.order_json(order, url))
}

pub(super) async fn capture_authorization(
    State(fake): State<FakePayPal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let url = fake.url.clone();
    fake.serve(Route::CaptureAuthorization, &headers, |ledger| {
        if let Err(refusal) = ledger.bearer(&headers, false) {
            return refusal;
        }
        if !body.is_empty() && !is_json(&headers) {
            return unsupported_media();
        }
        ledger.idempotent(Route::CaptureAuthorization, &id, &headers, |ledger| {
            capture(ledger, &id, &body, &url).unwrap_or_else(|refusal| refusal)
        })
    })
    .await
}

fn capture(ledger: &mut Ledger, id: &str, body: &Bytes, url: &str) -> Result<(u16, Value), (u16, Value)> {
    let order = ledger.order_of_authorization(id).ok_or_else(not_found)?;
    let request: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(body)
            .map_err(|_| invalid("MALFORMED_REQUEST_JSON", "The request JSON is not well formed."))?
    };
    if let Some(unknown) = request.as_object().and_then(|o| {
        o.keys().find(|k| !["amount", "final_capture", "invoice_id", "note_to_payer"].contains(&k.as_str()))
    }) {
        return Err(invalid("INVALID_PARAMETER_SYNTAX", &format!("The field {unknown} is not allowed.")));
    }
    match order.authorization.as_ref().unwrap().status.as_str() {
        "CREATED" => {}
        "VOIDED" => {
            return Err(unprocessable(
                "AUTHORIZATION_VOIDED",
                "A voided authorization cannot be captured or reauthorized.",
            ))
        }
        _ => {
            return Err(unprocessable(
                "AUTHORIZATION_ALREADY_CAPTURED",
                "Authorization has been previously captured and hence cannot be voided or captured again.",
            ))
        }
    }
    let units = match request.get("amount") {
        None => order.units,
        Some(amount) => parse_amount(amount, Some(&order.currency))?.2,
    };
    if units > order.units || units < 1 {
        return Err(unprocessable("MAX_CAPTURE_AMOUNT_EXCEEDED", "Capture amount exceeds allowable limit."));
    }
    let final_capture = request.get("final_capture").and_then(Value::as_bool).unwrap_or(false);
    let capture_id = ledger.next_id("2CA");
    let order_id = order.id.clone();
    let stored = ledger.order_mut(&order_id).unwrap();
    stored.authorization.as_mut().unwrap().status =
        if final_capture || units == order.units { "CAPTURED" } else { "PARTIALLY_CAPTURED" }.into();
    stored.capture =
        Some(Capture { id: capture_id, status: "COMPLETED".into(), units, reason: None, refunds: Vec::new() });
    let order = ledger.order(&order_id).unwrap();
    let mut answer = ledger.capture_json(order, order.capture.as_ref().unwrap(), url);
    answer["amount"]["value"] = json!(format_units(units, &order.currency));
    answer["final_capture"] = json!(final_capture);
    Ok((201, answer))
}

pub(super) async fn void_authorization(
    State(fake): State<FakePayPal>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    fake.serve(Route::VoidAuthorization, &headers, |ledger| {
        if let Err(refusal) = ledger.bearer(&headers, false) {
            return refusal;
        }
        ledger.idempotent(Route::VoidAuthorization, &id, &headers, |ledger| {
            let Some(order) = ledger.order_of_authorization(&id) else { return not_found() };
            match order.authorization.as_ref().unwrap().status.as_str() {
                "CREATED" => {}
                "VOIDED" => {
                    return unprocessable("AUTHORIZATION_ALREADY_VOIDED", "Authorization has already been voided.")
                }
                _ => {
                    return unprocessable(
                        "CANNOT_BE_VOIDED",
                        "A reauthorization cannot be voided. Please void the original parent authorization.",
                    )
                }
            }
            let stored = ledger.order_mut(&order.id).unwrap();
            stored.authorization.as_mut().unwrap().status = "VOIDED".into();
            (204, Value::Null)
        })
    })
    .await
}
