//! The fake Stripe's manual capture, cancel, saved PaymentMethods, off-session charges and
//! pending refunds, as Stripe documents them:
//!
//! - `capture_method=manual` (on an intent, or Checkout's `payment_intent_data`): paying
//!   leaves the intent `requires_capture` with `amount_capturable`; `POST
//!   /v1/payment_intents/{id}/capture` (`amount_to_capture` ≤ the amount, the rest released)
//!   makes it `succeeded`; `POST …/cancel` makes a `requires_capture` (or unpaid) intent
//!   `canceled`; anything else is 400 `payment_intent_unexpected_state`;
//! - `setup_future_usage=off_session` with a `customer`: the card paid with is saved as a
//!   PaymentMethod attached to the customer (`GET /v1/payment_methods/{id}`, `POST
//!   …/detach`); an intent created with `payment_method`, `off_session=true` and
//!   `confirm=true` is charged at once, or declined 402 `card_declined` with the intent in
//!   `last_payment_error`;
//! - refunds can be left `pending` (counted in the charge's `amount_refunded`, as Stripe does)
//!   and settled later to `succeeded` or `failed` (`failure_reason`, the amount given back);
//!   `GET /v1/refunds?payment_intent=` lists them.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::{integer, invalid, stripe_error, succeed_intent_with, unknown_param, Answer, FakeStripe, Ledger};

fn no_such(kind: &str, id: &str) -> Answer {
    stripe_error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        Some("resource_missing"),
        &format!("No such {kind}: '{id}'"),
        Some("id"),
    )
}

fn unexpected_state(intent: &Value, action: &str) -> Answer {
    stripe_error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        Some("payment_intent_unexpected_state"),
        &format!(
            "This PaymentIntent could not be {action} because it has a status of {}.",
            intent["status"].as_str().unwrap_or("unknown")
        ),
        None,
    )
}

/// Copies a Checkout Session's `payment_intent_data` into the intent it made.
pub(super) fn apply_intent_data(ledger: &mut Ledger, session_id: &str, intent_id: &str) {
    let Some(data) = ledger.session_intent_data.get(session_id).cloned() else { return };
    let intent = ledger.intents.get_mut(intent_id).unwrap();
    if let Some(metadata) = data.get("metadata") {
        intent["metadata"] = metadata.clone();
    }
    for field in ["capture_method", "setup_future_usage"] {
        if let Some(value) = data.get(field) {
            intent[field] = value.clone();
        }
    }
}

/// The payer's card is authorized; the money waits for a capture.
pub(super) fn authorize(ledger: &mut Ledger, intent_id: &str) {
    let intent = ledger.intents.get_mut(intent_id).unwrap();
    intent["status"] = "requires_capture".into();
    intent["amount_capturable"] = intent["amount"].clone();
}

/// Attaches the card an intent paid with to its customer, when the intent was asked to save it.
pub(super) fn save_method(ledger: &mut Ledger, intent_id: &str) {
    let intent = &ledger.intents[intent_id];
    if intent["setup_future_usage"].as_str() != Some("off_session") || !intent["payment_method"].is_null() {
        return;
    }
    let customer = intent["customer"].clone();
    let id = ledger.id("pm_");
    ledger.payment_methods.insert(
        id.clone(),
        json!({
            "id": id, "object": "payment_method", "type": "card", "customer": customer, "livemode": false,
            "card": { "brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030, "country": "US" },
        }),
    );
    ledger.intents.get_mut(intent_id).unwrap()["payment_method"] = id.into();
}

pub(super) fn capture(ledger: &mut Ledger, id: &str, params: &Value) -> Answer {
    if let Some(unknown) = unknown_param(params, &["amount_to_capture", "expand.N"]) {
        return unknown;
    }
    let Some(intent) = ledger.intents.get(id) else { return no_such("payment_intent", id) };
    if intent["status"] != "requires_capture" {
        return unexpected_state(intent, "captured");
    }
    let capturable = intent["amount_capturable"].as_i64().unwrap_or(0);
    let amount = match integer(params, "amount_to_capture", "amount_to_capture") {
        Ok(amount) => amount.unwrap_or(capturable),
        Err(refused) => return refused,
    };
    if amount < 1 || amount > capturable {
        return invalid(
            &format!("The amount_to_capture ({amount}) must be at most the amount_capturable ({capturable})."),
            Some("amount_to_capture"),
        );
    }
    succeed_intent_with(ledger, id, amount);
    (StatusCode::OK, ledger.intents[id].clone())
}

pub(super) fn cancel(ledger: &mut Ledger, id: &str, params: &Value) -> Answer {
    if let Some(unknown) = unknown_param(params, &["cancellation_reason", "expand.N"]) {
        return unknown;
    }
    let Some(intent) = ledger.intents.get_mut(id) else { return no_such("payment_intent", id) };
    match intent["status"].as_str() {
        Some("requires_capture" | "requires_payment_method" | "requires_confirmation" | "requires_action") => {
            intent["status"] = "canceled".into();
            intent["amount_capturable"] = 0.into();
            intent["cancellation_reason"] = params.get("cancellation_reason").cloned().unwrap_or(Value::Null);
            (StatusCode::OK, intent.clone())
        }
        _ => unexpected_state(intent, "canceled"),
    }
}

pub(super) fn detach(ledger: &mut Ledger, id: &str, params: &Value) -> Answer {
    if let Some(unknown) = unknown_param(params, &["expand.N"]) {
        return unknown;
    }
    let Some(method) = ledger.payment_methods.get_mut(id) else { return no_such("payment_method", id) };
    if method["customer"].is_null() {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("payment_method_unexpected_state"),
            "The payment method you provided is not attached to a customer so detachment is impossible.",
            None,
        );
    }
    method["customer"] = Value::Null;
    (StatusCode::OK, method.clone())
}

/// An intent created with `confirm=true`: an off-session charge of a saved method.
pub(super) fn confirm_off_session(ledger: &mut Ledger, id: &str, params: &Value) -> Answer {
    let method_id = params.get("payment_method").and_then(Value::as_str).unwrap_or_default().to_string();
    let attached = ledger
        .payment_methods
        .get(&method_id)
        .is_some_and(|m| !m["customer"].is_null() && m["customer"] == ledger.intents[id]["customer"]);
    if !attached {
        ledger.intents.remove(id);
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("resource_missing"),
            &format!("No such PaymentMethod: '{method_id}'; it is not attached to this customer."),
            Some("payment_method"),
        );
    }
    if ledger.declining_methods.contains(&method_id) {
        let intent = ledger.intents.get_mut(id).unwrap();
        intent["status"] = "requires_payment_method".into();
        intent["last_payment_error"] =
            json!({ "type": "card_error", "code": "card_declined", "message": "Your card was declined." });
        let (status, mut body) = stripe_error(
            StatusCode::PAYMENT_REQUIRED,
            "card_error",
            Some("card_declined"),
            "Your card was declined.",
            None,
        );
        body["error"]["payment_intent"] = intent.clone();
        return (status, body);
    }
    let amount = ledger.intents[id]["amount"].as_i64().unwrap();
    succeed_intent_with(ledger, id, amount);
    (StatusCode::OK, ledger.intents[id].clone())
}

pub(super) fn list_refunds(ledger: &Ledger, params: &Value) -> Answer {
    if let Some(unknown) = unknown_param(params, &["payment_intent", "limit", "expand.N"]) {
        return unknown;
    }
    let data: Vec<Value> = ledger
        .refunds
        .iter()
        .rev()
        .filter(|r| params.get("payment_intent").is_none_or(|pi| r["payment_intent"] == *pi))
        .cloned()
        .collect();
    (StatusCode::OK, json!({ "object": "list", "data": data, "has_more": false, "url": "/v1/refunds" }))
}

impl FakeStripe {
    /// The payer pays a manual-capture Checkout Session: the card is authorized, the session
    /// complete and unpaid. Returns the PaymentIntent id.
    pub fn authorize_checkout(&self, session_id: &str) -> String {
        let mut ledger = self.ledger.lock().unwrap();
        let payment_intent = super::checkout_payment_intent(&mut ledger, session_id, "requires_capture");
        let session = ledger.sessions.get_mut(session_id).unwrap();
        session["status"] = "complete".into();
        session["payment_status"] = "unpaid".into();
        payment_intent
    }

    /// Stripe.js confirms a manual-capture PaymentIntent: authorized.
    pub fn authorize_intent(&self, payment_intent: &str) {
        authorize(&mut self.ledger.lock().unwrap(), payment_intent);
    }

    /// New refunds stay `pending` (true) or succeed at once (false, the default).
    pub fn refunds_pending(&self, pending: bool) {
        self.ledger.lock().unwrap().refunds_pending = pending;
    }

    /// A pending refund completes, or fails (its amount given back to the charge). Returns
    /// the refund as it is now.
    pub fn settle_refund(&self, refund_id: &str, succeeded: bool) -> Value {
        let mut ledger = self.ledger.lock().unwrap();
        let position = ledger.refunds.iter().position(|r| r["id"] == refund_id).expect("no such refund");
        let refund = &mut ledger.refunds[position];
        assert_eq!(refund["status"], "pending", "only a pending refund settles");
        refund["status"] = if succeeded { "succeeded" } else { "failed" }.into();
        if !succeeded {
            refund["failure_reason"] = "expired_or_canceled_card".into();
        }
        let refund = refund.clone();
        if !succeeded {
            let payment_intent = refund["payment_intent"].as_str().unwrap().to_string();
            let charge = ledger.charges.get_mut(&payment_intent).unwrap();
            let refunded = charge["amount_refunded"].as_i64().unwrap() - refund["amount"].as_i64().unwrap();
            charge["amount_refunded"] = refunded.into();
            charge["refunded"] = false.into();
        }
        refund
    }

    pub fn payment_method(&self, id: &str) -> Value {
        self.ledger.lock().unwrap().payment_methods[id].clone()
    }

    /// The bank declines every off-session charge of this PaymentMethod.
    pub fn decline_off_session(&self, payment_method: &str) {
        self.ledger.lock().unwrap().declining_methods.push(payment_method.to_string());
    }
}
