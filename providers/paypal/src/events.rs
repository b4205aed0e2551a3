//! PayPal's webhooks: verified by PayPal itself (`POST /v1/notifications/verify-webhook-signature`)
//! with the `PAYPAL-*` headers and the configured webhook id (nothing a webhook names is ever
//! fetched), then read: captures, authorizations (intent AUTHORIZE), refunds, approved orders
//! (captured or authorized here) and reversed approvals.

use serde_json::value::RawValue;

use crate::api::{decode, status_error, Api};
use crate::exports::integrations::provider::payment::{ParsedWebhook, PaymentUpdate};
use crate::integrations::provider::credentials;
use crate::integrations::provider::http::Method;
use crate::integrations::provider::types::{ErrorKind, ProviderError, TransactionState, Verification, WebhookRequest};
use crate::{approved_order, error, header, json_body, updates, wire, WEBHOOK_ID};

/// The `PAYPAL-*` headers a webhook must carry, in the verify API's field order.
const TRANSMISSION_HEADERS: [&str; 5] = [
    "paypal-auth-algo",
    "paypal-cert-url",
    "paypal-transmission-id",
    "paypal-transmission-sig",
    "paypal-transmission-time",
];

pub fn verify(request: WebhookRequest) -> Result<Verification, ProviderError> {
    let mut values = Vec::with_capacity(TRANSMISSION_HEADERS.len());
    for name in TRANSMISSION_HEADERS {
        match header(&request, name) {
            Some(value) if !value.trim().is_empty() => values.push(value.trim()),
            _ => return Ok(Verification::Rejected(format!("missing {name} header"))),
        }
    }
    let webhook_id = match credentials::get(WEBHOOK_ID) {
        Ok(Some(id)) if !id.trim().is_empty() => id.trim().to_string(),
        _ => return Ok(Verification::Rejected("no PayPal webhook ID is configured".into())),
    };
    let event = match serde_json::from_slice::<&RawValue>(&request.body) {
        Ok(event) if event.get().starts_with('{') => event,
        _ => return Ok(Verification::Rejected("the body is not a JSON object".into())),
    };
    let body = wire::VerifySignature {
        auth_algo: values[0],
        cert_url: values[1],
        transmission_id: values[2],
        transmission_sig: values[3],
        transmission_time: values[4],
        webhook_id: &webhook_id,
        webhook_event: event,
    };
    let api = Api::open()?;
    let response =
        api.send(Method::Post, "/v1/notifications/verify-webhook-signature", Some(json_body(&body)?), None)?;
    match response.status {
        200..=299 => {
            let answer: wire::VerifyAnswer = decode(&response)?;
            if answer.verification_status == "SUCCESS" {
                Ok(Verification::Accepted)
            } else {
                Ok(Verification::Rejected(format!("PayPal's verification answered {}", answer.verification_status)))
            }
        }
        // PayPal refused to check this transmission (malformed fields, unknown webhook
        // id): it is not verified. Credentials, rate limits and outages stay errors, so
        // the host answers 5xx and PayPal delivers again later.
        400 | 404 | 422 => Ok(Verification::Rejected(format!(
            "PayPal refused to verify: {}",
            status_error(response.status, &response.body).message
        ))),
        status => Err(status_error(status, &response.body)),
    }
}

pub fn parse(request: WebhookRequest) -> Result<ParsedWebhook, ProviderError> {
    let event: wire::WebhookEvent = serde_json::from_slice(&request.body)
        .map_err(|e| error(ErrorKind::InvalidRequest, &format!("unreadable PayPal event: {e}")))?;
    let kind = event.event_type.clone();
    let unreadable =
        |e: serde_json::Error| error(ErrorKind::InvalidRequest, &format!("unreadable {kind} resource: {e}"));
    let updates = match kind.as_str() {
        "PAYMENT.CAPTURE.COMPLETED"
        | "PAYMENT.CAPTURE.PENDING"
        | "PAYMENT.CAPTURE.DECLINED"
        | "PAYMENT.CAPTURE.DENIED" => {
            let capture: wire::Capture = serde_json::from_value(event.resource).map_err(unreadable)?;
            let mut update = updates::capture_update(&capture, None, Some(kind.clone()));
            if kind == "PAYMENT.CAPTURE.DENIED" {
                update.state = Some(TransactionState::Failed);
                update.error_message = Some("PayPal denied the payment.".into());
            }
            vec![update]
        }
        "PAYMENT.AUTHORIZATION.CREATED" | "PAYMENT.AUTHORIZATION.VOIDED" => {
            let authorization: wire::Authorization = serde_json::from_value(event.resource).map_err(unreadable)?;
            vec![updates::authorization_update(&authorization, None, Some(kind.clone()))]
        }
        "PAYMENT.CAPTURE.REFUNDED" => {
            let refund: wire::Refund = serde_json::from_value(event.resource).map_err(unreadable)?;
            vec![updates::refund_update(&refund, &kind)]
        }
        "CHECKOUT.ORDER.APPROVED" => {
            let order: wire::Order = serde_json::from_value(event.resource).map_err(unreadable)?;
            approved_order(&order, &kind)?.into_iter().collect()
        }
        "CHECKOUT.PAYMENT-APPROVAL.REVERSED" => {
            let reversed: wire::ApprovalReversed = serde_json::from_value(event.resource).map_err(unreadable)?;
            let unit = reversed.purchase_units.first();
            vec![PaymentUpdate {
                reference: unit.and_then(|u| u.custom_id.clone().or_else(|| u.invoice_id.clone())),
                gateway_reference: reversed.order_id,
                state: Some(TransactionState::Cancelled),
                gateway_status: Some(kind.clone()),
                error_message: Some("PayPal reversed the payer's approval.".into()),
                refunded_minor: None,
                provider_data: None,
                captured_minor: None,
                refunds: Vec::new(),
                saved_payment_method: None,
            }]
        }
        // Other events change no state.
        _ => Vec::new(),
    };
    Ok(ParsedWebhook { event_type: kind, updates, response: None })
}
