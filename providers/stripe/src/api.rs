//! Calling Stripe: form-encoded requests under `Authorization: Bearer <secret key>` (injected
//! by the host), pinned to one API version, an `Idempotency-Key` on every POST, one retry with
//! the same key when the request never reached Stripe or Stripe says `Stripe-Should-Retry`,
//! and Stripe's error bodies turned into provider errors carrying Stripe's own message.

use crate::form::Form;
use crate::integrations::provider::endpoints;
use crate::integrations::provider::http::{self, Header, HeaderValue, Method, Request, Response};
use crate::integrations::provider::types::{ErrorKind, ProviderError};
use crate::{customers, error, wire, API_VERSION, SECRET_KEY};

/// `/v1/{collection}/{id}`, refusing ids that are not Stripe ids (nothing may steer the path).
pub(crate) fn object_path(collection: &str, id: &str) -> Result<String, ProviderError> {
    if !wire::is_id(id) {
        return Err(error(ErrorKind::InvalidRequest, "The stored Stripe reference is not a Stripe id."));
    }
    Ok(format!("/v1/{collection}/{id}"))
}

/// Creates a Checkout Session or PaymentIntent (`form` given the customer to name) under
/// the idempotency key `reference`. With an ERP contact, the contact's customer is found or
/// created first and named; if Stripe no longer knows a mapped customer, it is replaced once
/// and the create is sent again under a key naming the new customer.
pub(crate) fn create_for_contact<T: serde::de::DeserializeOwned>(
    path: &str,
    form: impl Fn(Option<&str>) -> Form,
    reference: &str,
    contact: Option<&customers::ErpContact>,
) -> Result<T, ProviderError> {
    let Some(contact) = contact else {
        return call_api(Method::Post, path, Some(form(None)), Some(reference));
    };
    let customer = customers::customer_for(contact)?;
    let response = send_api(Method::Post, path, Some(form(Some(&customer))), Some(reference))?;
    if !customers::is_missing_customer(response.status, &response.body) {
        return decode(response);
    }
    let customer = customers::replace(contact, &customer)?;
    call_api(Method::Post, path, Some(form(Some(&customer))), Some(&format!("{reference}-{customer}")))
}

/// Calls Stripe and decodes a 2xx answer; anything else becomes a provider error carrying
/// Stripe's own message.
pub(crate) fn call_api<T: serde::de::DeserializeOwned>(
    method: Method,
    path: &str,
    form: Option<Form>,
    idempotency_key: Option<&str>,
) -> Result<T, ProviderError> {
    decode(send_api(method, path, form, idempotency_key)?)
}

/// Stripe's answer, whatever its status; only a request that got no answer is an error. A
/// POST carries `idempotency_key`. A request that never reached Stripe, or that Stripe marks
/// `Stripe-Should-Retry: true`, is sent once more with the same key (and so cannot act
/// twice).
pub(crate) fn send_api(
    method: Method,
    path: &str,
    form: Option<Form>,
    idempotency_key: Option<&str>,
) -> Result<Response, ProviderError> {
    let base = endpoints::base_url("api")
        .ok_or_else(|| error(ErrorKind::Internal, "The manifest names no `api` endpoint."))?;
    let mut headers = vec![
        Header { name: "authorization".into(), value: HeaderValue::Bearer(SECRET_KEY.into()) },
        Header { name: "stripe-version".into(), value: HeaderValue::Text(API_VERSION.into()) },
    ];
    if let Some(key) = idempotency_key {
        headers.push(Header { name: "idempotency-key".into(), value: HeaderValue::Text(key.into()) });
    }
    let body = form.map(|form| {
        headers.push(Header {
            name: "content-type".into(),
            value: HeaderValue::Text("application/x-www-form-urlencoded".into()),
        });
        form.encode().into_bytes()
    });
    let request = Request { method, url: format!("{base}{path}"), headers, body };
    let mut response = http::send(&request);
    let retry = match &response {
        Err(http::HttpError::ConnectionFailed(_)) => true,
        Ok(answer) => should_retry(answer),
        Err(_) => false,
    };
    if retry {
        response = http::send(&request);
    }
    response.map_err(transport_error)
}

/// A 2xx answer's object, or the provider error for any other answer.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(response: Response) -> Result<T, ProviderError> {
    if !(200..300).contains(&response.status) {
        return Err(status_error(response.status, &response.body));
    }
    serde_json::from_slice(&response.body).map_err(|e| ProviderError {
        kind: ErrorKind::GatewayError,
        message: format!("Stripe answered with an unexpected body: {e}"),
        retryable: false,
    })
}

pub(crate) fn should_retry(response: &Response) -> bool {
    response.headers.iter().any(|(name, value)| name == "stripe-should-retry" && value.trim() == "true")
}

pub(crate) fn status_error(status: u16, body: &[u8]) -> ProviderError {
    let stripe = wire::StripeError::parse(body);
    let card_error = stripe.as_ref().and_then(|e| e.kind.as_deref()) == Some("card_error");
    let (kind, retryable, fallback) = match status {
        401 | 403 => (ErrorKind::InvalidCredentials, false, "Stripe refused the API key."),
        402 => (ErrorKind::Declined, false, "Stripe declined the request."),
        404 => (ErrorKind::NotFound, false, "Stripe does not know this object."),
        409 => (ErrorKind::InvalidRequest, true, "Stripe is still processing the same request; try again shortly."),
        429 => (ErrorKind::GatewayUnavailable, true, "Stripe is rate-limiting requests; try again shortly."),
        400..=499 if card_error => (ErrorKind::Declined, false, "Stripe declined the payment method."),
        400..=499 => (ErrorKind::InvalidRequest, false, "Stripe refused the request."),
        500..=599 => (ErrorKind::GatewayUnavailable, true, "Stripe is unavailable; try again later."),
        _ => (ErrorKind::GatewayError, false, "Stripe answered unexpectedly."),
    };
    let message = match stripe.as_ref().and_then(|e| e.message.as_deref()) {
        Some(text) if !text.trim().is_empty() => format!("Stripe: {}", wire::redact_secrets(text.trim())),
        _ => match stripe.and_then(|e| e.code) {
            Some(code) => format!("{fallback} ({code}, HTTP {status})"),
            None => format!("{fallback} (HTTP {status})"),
        },
    };
    ProviderError { kind, message, retryable }
}

pub(crate) fn transport_error(e: http::HttpError) -> ProviderError {
    use http::HttpError::*;
    match e {
        Timeout => ProviderError {
            kind: ErrorKind::GatewayUnavailable,
            message: "Stripe did not answer in time.".into(),
            retryable: true,
        },
        ConnectionFailed(why) => ProviderError {
            kind: ErrorKind::GatewayUnavailable,
            message: format!("Cannot reach Stripe: {why}"),
            retryable: true,
        },
        ResponseTooLarge => error(ErrorKind::GatewayError, "Stripe's answer was larger than the host allows."),
        UnknownCredential(why) => {
            error(ErrorKind::InvalidCredentials, &format!("A Stripe credential is missing: {why}"))
        }
        other => error(ErrorKind::Internal, &format!("The host refused the request to Stripe: {other:?}")),
    }
}
