//! A fake PayPal on 127.0.0.1 speaking PayPal's REST wire format:
//!
//! - `POST /v1/oauth2/token`: HTTP Basic client id + secret, form body
//!   `grant_type=client_credentials`; issues bearer tokens that expire on the fake's own clock
//!   ([`FakePayPal::advance_clock`]). OAuth errors are `{"error", "error_description"}`.
//! - Orders v2: `POST /v2/checkout/orders`, `GET /v2/checkout/orders/{id}`,
//!   `POST /v2/checkout/orders/{id}/capture` (intent CAPTURE) and `…/authorize` (intent
//!   AUTHORIZE); Payments v2: `POST /v2/payments/captures/{id}/refund`,
//!   `POST /v2/payments/authorizations/{id}/capture` and `…/void` (see [`authorizations`]);
//!   Vault v3: a payer's account saved on success and orders paid with its token,
//!   `DELETE /v3/vault/payment-tokens/{id}` (see [`vault`]). Amounts are decimal strings checked against
//!   PayPal's precision per currency; errors are `{"name", "message", "debug_id", "details":
//!   [{"issue", "description"}]}`. A repeated `PayPal-Request-Id` gets the first answer again
//!   and acts only once.
//! - `GET /v1/notifications/webhooks`: the app's webhooks (none), for a credential check.
//! - `POST /v1/notifications/verify-webhook-signature`: SUCCESS only for a transmission this
//!   fake signed itself ([`FakePayPal::sign`]) with exactly the same headers, webhook id and
//!   event.
//!
//! The payer's side (approving on PayPal's site) is [`FakePayPal::approve`]. Every request is
//! recorded (token requests counted); faults can be injected per route, among them an error
//! answer that echoes the `Authorization` header it got ([`Fault::EchoAuthorization`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

pub use crate::fake_gateway::Recorded;
use crate::fake_gateway::{endpoint_flag, FakeServer, RequestLog};

mod authorizations;
mod vault;
pub use authorizations::Authorization;

/// The certificate URL PayPal puts in its webhooks (the fake never serves it).
pub const CERT_URL: &str = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77";
pub const AUTH_ALGO: &str = "SHA256withRSA";
/// The fake's own signing key: nobody else can produce a transmission it accepts.
const SIGNING_KEY: &[u8] = b"fake-paypal-private-signing-key";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    Token,
    CreateOrder,
    GetOrder,
    Capture,
    Refund,
    Verify,
    ListWebhooks,
    Authorize,
    CaptureAuthorization,
    VoidAuthorization,
    DeleteToken,
}

/// A fault injected on a route.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer this status and body instead of acting.
    Answer(u16, Value),
    /// Act, then answer 500 as if the answer was lost on the way.
    LoseAnswer,
    /// Accept the request and never answer.
    Hang,
    /// Answer this status with a PayPal error whose words, and an `x-echo-authorization`
    /// header, repeat the `Authorization` header the request carried.
    EchoAuthorization(u16),
}

impl Recorded {
    /// The PayPal route the request went to; None for a path PayPal does not serve here.
    pub fn paypal_route(&self) -> Option<Route> {
        let segments: Vec<&str> = self.path.trim_start_matches('/').split('/').collect();
        match (self.method.as_str(), segments.as_slice()) {
            ("POST", ["v1", "oauth2", "token"]) => Some(Route::Token),
            ("POST", ["v2", "checkout", "orders"]) => Some(Route::CreateOrder),
            ("GET", ["v2", "checkout", "orders", _]) => Some(Route::GetOrder),
            ("POST", ["v2", "checkout", "orders", _, "capture"]) => Some(Route::Capture),
            ("POST", ["v2", "payments", "captures", _, "refund"]) => Some(Route::Refund),
            ("POST", ["v2", "checkout", "orders", _, "authorize"]) => Some(Route::Authorize),
            ("POST", ["v2", "payments", "authorizations", _, "capture"]) => Some(Route::CaptureAuthorization),
            ("POST", ["v2", "payments", "authorizations", _, "void"]) => Some(Route::VoidAuthorization),
            ("DELETE", ["v3", "vault", "payment-tokens", _]) => Some(Route::DeleteToken),
            ("POST", ["v1", "notifications", "verify-webhook-signature"]) => Some(Route::Verify),
            ("GET", ["v1", "notifications", "webhooks"]) => Some(Route::ListWebhooks),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Refund {
    pub id: String,
    /// In PayPal's precision for the currency (cents for USD, yen for JPY).
    pub units: i64,
    pub status: String,
}

#[derive(Debug, Clone)]
pub struct Capture {
    pub id: String,
    pub status: String,
    /// What was captured, in PayPal's precision (less than the order's after a partial
    /// capture of an authorization).
    pub units: i64,
    pub reason: Option<String>,
    pub refunds: Vec<Refund>,
}

#[derive(Debug, Clone)]
pub struct Order {
    pub id: String,
    pub intent: String,
    pub status: String,
    pub currency: String,
    /// The amount exactly as the create request sent it.
    pub value: String,
    pub units: i64,
    pub custom_id: Option<String>,
    pub invoice_id: Option<String>,
    pub return_url: Option<String>,
    pub cancel_url: Option<String>,
    pub with_payment_source: bool,
    pub capture: Option<Capture>,
    /// The authorization of an order of intent AUTHORIZE, once authorized.
    pub authorization: Option<Authorization>,
    /// `payment_source.paypal.attributes.vault.store_in_vault: ON_SUCCESS`: the payer's
    /// account is vaulted when the order completes.
    pub store_in_vault: bool,
    /// The vault token this order created (or was paid with).
    pub vault_id: Option<String>,
    /// How the next capture ends: COMPLETED, PENDING, DECLINED, or a 422 issue such as
    /// INSTRUMENT_DECLINED.
    pub capture_outcome: String,
}

struct Transmission {
    signature: String,
    time: String,
    cert_url: String,
    auth_algo: String,
    webhook_id: String,
    event: Value,
}

struct Ledger {
    client_id: String,
    client_secret: String,
    /// The fake's clock, unix seconds.
    now: u64,
    token_lifetime: u64,
    /// token → expiry on the fake's clock.
    tokens: HashMap<String, u64>,
    issued_tokens: Vec<String>,
    orders: Vec<Order>,
    /// (route, object id, PayPal-Request-Id) → the first answer.
    replays: HashMap<(Route, String, String), (u16, Value)>,
    refund_outcome: String,
    faults: Vec<(Route, Fault, usize)>,
    transmissions: HashMap<String, Transmission>,
    counter: u64,
    /// Vaulted payment tokens: id → still usable (not deleted).
    vault_tokens: HashMap<String, bool>,
    /// Tokens whose charges the payer's funding source declines.
    declining_tokens: Vec<String>,
}

#[derive(Clone)]
pub struct FakePayPal {
    pub url: String,
    /// Every request, as it arrived.
    pub requests: RequestLog,
    ledger: Arc<Mutex<Ledger>>,
}

/// PayPal's decimals for a currency it accepts; None for the others.
pub fn paypal_decimals(currency: &str) -> Option<u32> {
    match currency {
        "HUF" | "JPY" | "TWD" => Some(0),
        "AUD" | "BRL" | "CAD" | "CHF" | "CNY" | "CZK" | "DKK" | "EUR" | "GBP" | "HKD" | "ILS" | "MXN" | "MYR"
        | "NOK" | "NZD" | "PHP" | "PLN" | "SEK" | "SGD" | "THB" | "USD" => Some(2),
        _ => None,
    }
}

fn format_units(units: i64, currency: &str) -> String {
    match paypal_decimals(currency).unwrap_or(2) {
        0 => units.to_string(),
        d => {
            let scale = 10i64.pow(d);
            format!("{}.{:0width$}", units / scale, units % scale, width = d as usize)
        }
    }
}

/// A PayPal REST error body.
pub fn paypal_error(name: &str, message: &str, issue: &str, description: &str) -> Value {
    json!({
        "name": name,
        "message": message,
        "debug_id": "f2a6c5e4b1d07",
        "details": [{ "issue": issue, "description": description }],
        "links": [{
            "href": format!("https://developer.paypal.com/docs/api/orders/v2/#error-{issue}"),
            "rel": "information_link",
            "method": "GET",
        }],
    })
}

fn unprocessable(issue: &str, description: &str) -> (u16, Value) {
    (
        422,
        paypal_error(
            "UNPROCESSABLE_ENTITY",
            "The requested action could not be performed, semantically incorrect, or failed business validation.",
            issue,
            description,
        ),
    )
}

fn invalid(issue: &str, description: &str) -> (u16, Value) {
    (
        400,
        paypal_error(
            "INVALID_REQUEST",
            "Request is not well-formed, syntactically incorrect, or violates schema.",
            issue,
            description,
        ),
    )
}

fn not_found() -> (u16, Value) {
    (
        404,
        paypal_error(
            "RESOURCE_NOT_FOUND",
            "The specified resource does not exist.",
            "INVALID_RESOURCE_ID",
            "Specified resource ID does not exist. Please check the resource ID and try again.",
        ),
    )
}

fn reply((status, body): (u16, Value)) -> Response {
    (StatusCode::from_u16(status).unwrap(), Json(body)).into_response()
}

/// Parses a PayPal amount `value` in `currency`'s precision into units, or PayPal's refusal.
fn parse_amount(amount: &Value, currency_expected: Option<&str>) -> Result<(String, String, i64), (u16, Value)> {
    let (Some(currency), Some(value)) = (amount.get("currency_code").and_then(Value::as_str), amount.get("value"))
    else {
        return Err(invalid("MISSING_REQUIRED_PARAMETER", "A required field / parameter is missing."));
    };
    let Some(value) = value.as_str() else {
        return Err(invalid(
            "INVALID_PARAMETER_SYNTAX",
            "The value of a field does not conform to the expected format.",
        ));
    };
    if let Some(expected) = currency_expected {
        if expected != currency {
            return Err(unprocessable(
                "REFUND_CAPTURE_CURRENCY_MISMATCH",
                "Refund must be in the same currency as the capture.",
            ));
        }
    }
    let Some(decimals) = paypal_decimals(currency) else {
        return Err(unprocessable(
            "CURRENCY_NOT_SUPPORTED",
            "Currency code is not currently supported. Please refer https://developer.paypal.com/docs/api/reference/currency-codes/ for list of supported currency codes.",
        ));
    };
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let digits = |s: &str| !s.is_empty() && s.len() <= 15 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (value.contains('.') && !digits(fraction)) {
        return Err(invalid(
            "INVALID_PARAMETER_SYNTAX",
            "The value of a field does not conform to the expected format.",
        ));
    }
    if decimals == 0 && value.contains('.') {
        return Err(unprocessable("DECIMALS_NOT_SUPPORTED", "Currency code does not support decimals."));
    }
    if fraction.len() > decimals as usize {
        return Err(unprocessable(
            "DECIMAL_PRECISION",
            "If the currency supports decimals, only two decimal place precision is supported.",
        ));
    }
    let units = whole.parse::<i64>().unwrap() * 10i64.pow(decimals)
        + if fraction.is_empty() {
            0
        } else {
            fraction.parse::<i64>().unwrap() * 10i64.pow(decimals - fraction.len() as u32)
        };
    if units <= 0 {
        return Err(unprocessable("CANNOT_BE_ZERO_OR_NEGATIVE", "Must be greater than zero."));
    }
    Ok((currency.to_string(), value.to_string(), units))
}

impl FakePayPal {
    pub async fn start(client_id: &str, client_secret: &str) -> Self {
        let server = FakeServer::bind().await;
        let fake = Self {
            url: server.url.clone(),
            requests: server.requests.clone(),
            ledger: Arc::new(Mutex::new(Ledger {
                client_id: client_id.into(),
                client_secret: client_secret.into(),
                now: 1_750_000_000,
                token_lifetime: 32_400,
                tokens: HashMap::new(),
                issued_tokens: Vec::new(),
                orders: Vec::new(),
                replays: HashMap::new(),
                refund_outcome: "COMPLETED".into(),
                faults: Vec::new(),
                transmissions: HashMap::new(),
                counter: 0,
                vault_tokens: HashMap::new(),
                declining_tokens: Vec::new(),
            })),
        };
        server.serve(
            Router::new()
                .route("/v1/oauth2/token", post(token))
                .route("/v2/checkout/orders", post(create_order))
                .route("/v2/checkout/orders/{id}", get(get_order))
                .route("/v2/checkout/orders/{id}/capture", post(capture_order))
                .route("/v2/payments/captures/{id}/refund", post(refund_capture))
                .route("/v2/checkout/orders/{id}/authorize", post(authorizations::authorize_order))
                .route("/v2/payments/authorizations/{id}/capture", post(authorizations::capture_authorization))
                .route("/v2/payments/authorizations/{id}/void", post(authorizations::void_authorization))
                .route("/v3/vault/payment-tokens/{id}", axum::routing::delete(vault::delete_token))
                .route("/v1/notifications/verify-webhook-signature", post(verify_signature))
                .route("/v1/notifications/webhooks", get(list_webhooks))
                .with_state(fake.clone()),
        );
        fake
    }

    /// The `--endpoint` flag pointing the PayPal module here.
    pub fn endpoint_flag(&self) -> String {
        endpoint_flag("payment_paypal", &self.url)
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap()
    }

    // ----- test controls -----

    /// Moves the fake's clock: tokens issued before expire on PayPal's side.
    pub fn advance_clock(&self, seconds: u64) {
        self.ledger().now += seconds;
    }

    /// The `expires_in` of tokens issued from now on.
    pub fn set_token_lifetime(&self, seconds: u64) {
        self.ledger().token_lifetime = seconds;
    }

    /// Injects `fault` into the next `times` requests to `route`.
    pub fn fault(&self, route: Route, fault: Fault, times: usize) {
        self.ledger().faults.push((route, fault, times));
    }

    pub fn clear_faults(&self) {
        self.ledger().faults.clear();
    }

    /// The payer approves the order on PayPal's site.
    pub fn approve(&self, order_id: &str) {
        let mut ledger = self.ledger();
        let order = ledger.order_mut(order_id).expect("known order");
        assert!(matches!(order.status.as_str(), "CREATED" | "PAYER_ACTION_REQUIRED"), "{}", order.status);
        order.status = "APPROVED".into();
    }

    pub fn set_capture_outcome(&self, order_id: &str, outcome: &str) {
        self.ledger().order_mut(order_id).expect("known order").capture_outcome = outcome.into();
    }

    /// PayPal changes a capture's status (a pending capture completes, …).
    pub fn set_capture_status(&self, order_id: &str, status: &str) {
        let mut ledger = self.ledger();
        let capture = ledger.order_mut(order_id).and_then(|o| o.capture.as_mut()).expect("captured order");
        capture.status = status.into();
        capture.reason = None;
    }

    /// The order is captured by someone else (another app, PayPal's dashboard).
    pub fn capture_out_of_band(&self, order_id: &str) {
        let mut ledger = self.ledger();
        let id = ledger.next_id("CAP");
        let order = ledger.order_mut(order_id).expect("known order");
        order.status = "COMPLETED".into();
        let units = order.units;
        order.capture = Some(Capture { id, status: "COMPLETED".into(), units, reason: None, refunds: Vec::new() });
    }

    /// An order some other shop on the same PayPal app created, already approved.
    pub fn foreign_approved_order(&self, value: &str) -> String {
        let mut ledger = self.ledger();
        let id = ledger.next_id("9F");
        ledger.orders.push(Order {
            id: id.clone(),
            intent: "CAPTURE".into(),
            status: "APPROVED".into(),
            currency: "USD".into(),
            value: value.into(),
            units: 0,
            custom_id: Some("shop-order-77".into()),
            invoice_id: Some("shop-invoice-77".into()),
            return_url: None,
            cancel_url: None,
            with_payment_source: false,
            capture: None,
            authorization: None,
            store_in_vault: false,
            vault_id: None,
            capture_outcome: "COMPLETED".into(),
        });
        id
    }

    /// The merchant refunds `units` (PayPal's precision) in PayPal's dashboard.
    pub fn refund_in_dashboard(&self, order_id: &str, units: i64) {
        let mut ledger = self.ledger();
        let id = ledger.next_id("1R");
        let order = ledger.order_mut(order_id).expect("known order");
        let total = order.units;
        let capture = order.capture.as_mut().expect("captured order");
        capture.refunds.push(Refund { id, units, status: "COMPLETED".into() });
        let refunded: i64 = capture.refunds.iter().map(|r| r.units).sum();
        assert!(refunded <= total, "more refunded than captured");
        capture.status = if refunded == total { "REFUNDED".into() } else { "PARTIALLY_REFUNDED".into() };
    }

    pub fn set_refund_outcome(&self, status: &str) {
        self.ledger().refund_outcome = status.into();
    }

    /// The order's latest refund, PENDING, ends COMPLETED or FAILED (as PayPal settles an
    /// eCheck-funded refund later).
    pub fn settle_latest_refund(&self, order_id: &str, status: &str) {
        let mut ledger = self.ledger();
        let capture = ledger.order_mut(order_id).and_then(|o| o.capture.as_mut()).expect("captured");
        let refund = capture.refunds.last_mut().expect("refunded");
        assert_eq!(refund.status, "PENDING", "only a pending refund settles");
        refund.status = status.into();
        let refunded: i64 = capture.refunds.iter().filter(|r| r.status == "COMPLETED").map(|r| r.units).sum();
        if refunded > 0 {
            capture.status = if refunded == capture.units { "REFUNDED".into() } else { "PARTIALLY_REFUNDED".into() };
        }
    }

    // ----- what happened -----

    pub fn token_requests(&self) -> usize {
        self.requests_to(Route::Token).len()
    }

    pub fn issued_tokens(&self) -> Vec<String> {
        self.ledger().issued_tokens.clone()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.all()
    }

    pub fn requests_to(&self, route: Route) -> Vec<Recorded> {
        self.requests().into_iter().filter(|r| r.paypal_route() == Some(route)).collect()
    }

    pub fn orders(&self) -> Vec<Order> {
        self.ledger().orders.clone()
    }

    pub fn order(&self, id: &str) -> Order {
        self.ledger().order_mut(id).expect("known order").clone()
    }

    // ----- webhooks -----

    /// A webhook event envelope as PayPal delivers it.
    pub fn event(&self, event_type: &str, resource_type: &str, resource: Value) -> Value {
        let id = self.ledger().next_id("WH-");
        json!({
            "id": id,
            "event_version": "1.0",
            "create_time": "2025-06-15T10:00:00.000Z",
            "resource_type": resource_type,
            "resource_version": "2.0",
            "event_type": event_type,
            "summary": format!("{event_type} event"),
            "resource": resource,
            "links": [
                { "href": format!("https://api.sandbox.paypal.com/v1/notifications/webhooks-events/{id}"), "rel": "self", "method": "GET" },
                { "href": format!("https://api.sandbox.paypal.com/v1/notifications/webhooks-events/{id}/resend"), "rel": "resend", "method": "POST" },
            ],
        })
    }

    /// The order as PayPal shows it (the resource of `CHECKOUT.ORDER.*` events).
    pub fn order_resource(&self, order_id: &str) -> Value {
        let ledger = self.ledger();
        ledger.order_json(ledger.order(order_id).expect("known order"), &self.url)
    }

    /// The order's capture (the resource of `PAYMENT.CAPTURE.*` events).
    pub fn capture_resource(&self, order_id: &str) -> Value {
        let ledger = self.ledger();
        let order = ledger.order(order_id).expect("known order");
        ledger.capture_json(order, order.capture.as_ref().expect("captured"), &self.url)
    }

    /// The capture's latest refund (the resource of `PAYMENT.CAPTURE.REFUNDED`).
    pub fn refund_resource(&self, order_id: &str) -> Value {
        let ledger = self.ledger();
        let order = ledger.order(order_id).expect("known order");
        let capture = order.capture.as_ref().expect("captured");
        ledger.refund_json(order, capture, capture.refunds.last().expect("refunded"), &self.url)
    }

    /// The resource of `CHECKOUT.PAYMENT-APPROVAL.REVERSED`.
    pub fn approval_reversed_resource(&self, order_id: &str) -> Value {
        let order = self.order(order_id);
        json!({
            "order_id": order.id,
            "purchase_units": [{ "reference_id": "default", "custom_id": order.custom_id, "invoice_id": order.invoice_id }],
            "payer": { "payer_id": "QYR5Z8XDVJNXQ", "email_address": "buyer@example.com" },
        })
    }

    /// Signs a transmission of `event` for the webhook `webhook_id`, as PayPal does when it
    /// delivers: the `PAYPAL-*` headers to send along with the event's JSON text.
    pub fn sign(&self, event: &Value, webhook_id: &str) -> Vec<(&'static str, String)> {
        let mut ledger = self.ledger();
        let transmission_id = format!("b2384410-f8d2-11ec-8a6e-{:012}", ledger.next_number());
        let time = "2025-06-15T10:00:01Z".to_string();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SIGNING_KEY).unwrap();
        mac.update(format!("{transmission_id}|{time}|{webhook_id}|{event}").as_bytes());
        let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        ledger.transmissions.insert(
            transmission_id.clone(),
            Transmission {
                signature: signature.clone(),
                time: time.clone(),
                cert_url: CERT_URL.into(),
                auth_algo: AUTH_ALGO.into(),
                webhook_id: webhook_id.into(),
                event: event.clone(),
            },
        );
        vec![
            ("PAYPAL-AUTH-ALGO", AUTH_ALGO.into()),
            ("PAYPAL-CERT-URL", CERT_URL.into()),
            ("PAYPAL-TRANSMISSION-ID", transmission_id),
            ("PAYPAL-TRANSMISSION-SIG", signature),
            ("PAYPAL-TRANSMISSION-TIME", time),
        ]
    }

    // ----- request handling -----

    /// Takes the fault injected for `route`, if any.
    fn take_fault(&self, route: Route) -> Option<Fault> {
        let mut ledger = self.ledger();
        let index = ledger.faults.iter().position(|(r, _, left)| *r == route && *left > 0)?;
        let (_, fault, left) = &mut ledger.faults[index];
        *left -= 1;
        let fault = fault.clone();
        ledger.faults.retain(|(_, _, left)| *left > 0);
        Some(fault)
    }

    /// Runs `act` unless a fault says otherwise.
    async fn serve(
        &self,
        route: Route,
        headers: &HeaderMap,
        act: impl FnOnce(&mut Ledger) -> (u16, Value),
    ) -> Response {
        let fault = self.take_fault(route);
        match fault {
            Some(Fault::Hang) => std::future::pending::<Response>().await,
            Some(Fault::Answer(status, body)) => reply((status, body)),
            Some(Fault::EchoAuthorization(status)) => {
                let authorization = header(headers, "authorization").unwrap_or("").to_string();
                let words = format!("The request carried Authorization: {authorization}");
                let body = paypal_error("INVALID_REQUEST", &words, "ECHOED", &words);
                let mut answer = reply((status, body));
                answer.headers_mut().insert("x-echo-authorization", authorization.parse().unwrap());
                answer
            }
            lose => {
                let answer = act(&mut self.ledger());
                if matches!(lose, Some(Fault::LoseAnswer)) {
                    reply((
                        500,
                        json!({ "name": "INTERNAL_SERVER_ERROR", "message": "An internal server error occurred.", "debug_id": "90957fca61718" }),
                    ))
                } else {
                    reply(answer)
                }
            }
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn is_json(headers: &HeaderMap) -> bool {
    header(headers, "content-type").is_some_and(|v| v.starts_with("application/json"))
}

fn unsupported_media() -> (u16, Value) {
    (
        415,
        paypal_error(
            "UNSUPPORTED_MEDIA_TYPE",
            "The server does not support the request payload's media type.",
            "UNSUPPORTED_MEDIA_TYPE",
            "Content-Type must be application/json.",
        ),
    )
}

impl Ledger {
    fn next_number(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn next_id(&mut self, prefix: &str) -> String {
        let n = self.next_number();
        format!("{prefix}{n:0width$}", width = 17 - prefix.len().min(15))
    }

    fn order(&self, id: &str) -> Option<&Order> {
        self.orders.iter().find(|o| o.id == id)
    }

    fn order_mut(&mut self, id: &str) -> Option<&mut Order> {
        self.orders.iter_mut().find(|o| o.id == id)
    }

    /// Checks `Authorization: Bearer` against the live tokens. `v1`: OAuth-style errors.
    fn bearer(&self, headers: &HeaderMap, v1: bool) -> Result<(), (u16, Value)> {
        let token = header(headers, "authorization").and_then(|v| v.strip_prefix("Bearer "));
        match token.and_then(|t| self.tokens.get(t)) {
            Some(expires) if *expires > self.now => Ok(()),
            _ if v1 => Err((
                401,
                json!({ "error": "invalid_token", "error_description": "Token signature verification failed" }),
            )),
            _ => Err((
                401,
                json!({
                    "name": "AUTHENTICATION_FAILURE",
                    "message": "Authentication failed due to invalid authentication credentials or a missing Authorization header.",
                    "links": [{ "href": "https://developer.paypal.com/docs/api/overview/#error", "rel": "information_link" }],
                }),
            )),
        }
    }

    /// The first answer to this `PayPal-Request-Id`, or `act`'s (kept for next time).
    fn idempotent(
        &mut self,
        route: Route,
        object: &str,
        headers: &HeaderMap,
        act: impl FnOnce(&mut Self) -> (u16, Value),
    ) -> (u16, Value) {
        let Some(request_id) = header(headers, "paypal-request-id").map(str::to_string) else {
            return act(self);
        };
        let key = (route, object.to_string(), request_id);
        if let Some(answer) = self.replays.get(&key) {
            return answer.clone();
        }
        let answer = act(self);
        if answer.0 < 500 {
            self.replays.insert(key, answer.clone());
        }
        answer
    }

    fn order_json(&self, order: &Order, url: &str) -> Value {
        let approval_rel = if order.with_payment_source { "payer-action" } else { "approve" };
        let mut links =
            vec![json!({ "href": format!("{url}/v2/checkout/orders/{}", order.id), "rel": "self", "method": "GET" })];
        if matches!(order.status.as_str(), "CREATED" | "PAYER_ACTION_REQUIRED") {
            links.push(json!({
                "href": format!("https://www.sandbox.paypal.com/checkoutnow?token={}", order.id),
                "rel": approval_rel,
                "method": "GET",
            }));
        }
        if order.status == "APPROVED" {
            links.push(json!({ "href": format!("{url}/v2/checkout/orders/{}/capture", order.id), "rel": "capture", "method": "POST" }));
        }
        let mut unit = json!({
            "reference_id": "default",
            "amount": { "currency_code": order.currency, "value": order.value },
            "payee": { "email_address": "merchant@example.com", "merchant_id": "C7CYMKZDG8D6E" },
        });
        if let Some(id) = &order.custom_id {
            unit["custom_id"] = json!(id);
        }
        if let Some(id) = &order.invoice_id {
            unit["invoice_id"] = json!(id);
        }
        if let Some(capture) = &order.capture {
            unit["payments"] = json!({
                "captures": [self.capture_json(order, capture, url)],
                "refunds": capture.refunds.iter().map(|r| self.refund_json(order, capture, r, url)).collect::<Vec<_>>(),
            });
        }
        if let Some(authorization) = &order.authorization {
            if unit.get("payments").is_none() {
                unit["payments"] = json!({});
            }
            unit["payments"]["authorizations"] = json!([self.authorization_json(order, authorization, url)]);
        }
        let mut body = json!({
            "id": order.id,
            "intent": order.intent,
            "status": order.status,
            "purchase_units": [unit],
            "create_time": "2025-06-15T09:59:00Z",
            "links": links,
        });
        if order.with_payment_source {
            body["payment_source"] = json!({ "paypal": {} });
        }
        if let Some(vault_id) = &order.vault_id {
            body["payment_source"] = json!({ "paypal": {
                "email_address": "buyer@example.com", "account_id": "QYR5Z8XDVJNXQ",
                "attributes": { "vault": { "id": vault_id, "status": "VAULTED", "customer": { "id": "CUST-QYR5Z8" } } },
            } });
        }
        if order.status != "CREATED" && order.status != "PAYER_ACTION_REQUIRED" {
            body["payer"] = json!({ "payer_id": "QYR5Z8XDVJNXQ", "email_address": "buyer@example.com" });
        }
        body
    }

    fn capture_json(&self, order: &Order, capture: &Capture, url: &str) -> Value {
        let mut body = json!({
            "id": capture.id,
            "status": capture.status,
            "amount": { "currency_code": order.currency, "value": format_units(capture.units, &order.currency) },
            "final_capture": true,
            "seller_protection": { "status": "ELIGIBLE", "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"] },
            "supplementary_data": { "related_ids": { "order_id": order.id } },
            "create_time": "2025-06-15T10:00:00Z",
            "update_time": "2025-06-15T10:00:00Z",
            "links": [
                { "href": format!("{url}/v2/payments/captures/{}", capture.id), "rel": "self", "method": "GET" },
                { "href": format!("{url}/v2/payments/captures/{}/refund", capture.id), "rel": "refund", "method": "POST" },
                { "href": format!("{url}/v2/checkout/orders/{}", order.id), "rel": "up", "method": "GET" },
            ],
        });
        if let Some(id) = &order.custom_id {
            body["custom_id"] = json!(id);
        }
        if let Some(id) = &order.invoice_id {
            body["invoice_id"] = json!(id);
        }
        if let Some(reason) = &capture.reason {
            body["status_details"] = json!({ "reason": reason });
        }
        body
    }

    fn refund_json(&self, order: &Order, capture: &Capture, refund: &Refund, url: &str) -> Value {
        let total: i64 = capture
            .refunds
            .iter()
            .take_while(|r| r.id != refund.id)
            .chain(std::iter::once(refund))
            .filter(|r| r.status == "COMPLETED")
            .map(|r| r.units)
            .sum();
        let money =
            |units: i64| json!({ "currency_code": order.currency, "value": format_units(units, &order.currency) });
        json!({
            "id": refund.id,
            "status": refund.status,
            "amount": money(refund.units),
            "custom_id": order.custom_id,
            "invoice_id": order.invoice_id,
            "seller_payable_breakdown": {
                "gross_amount": money(refund.units),
                "net_amount": money(refund.units),
                "total_refunded_amount": money(total),
            },
            "create_time": "2025-06-15T11:00:00Z",
            "update_time": "2025-06-15T11:00:00Z",
            "links": [
                { "href": format!("{url}/v2/payments/refunds/{}", refund.id), "rel": "self", "method": "GET" },
                { "href": format!("{url}/v2/payments/captures/{}", capture.id), "rel": "up", "method": "GET" },
            ],
        })
    }
}

async fn token(State(fake): State<FakePayPal>, headers: HeaderMap, body: Bytes) -> Response {
    fake.serve(Route::Token, &headers, |ledger| {
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", ledger.client_id, ledger.client_secret))
        );
        if header(&headers, "authorization") != Some(expected.as_str()) {
            return (
                401,
                json!({ "error": "invalid_client", "error_description": "Client Authentication failed" }),
            );
        }
        if !header(&headers, "content-type").is_some_and(|v| v.starts_with("application/x-www-form-urlencoded")) {
            return (
                415,
                json!({ "error": "invalid_request", "error_description": "Content-Type must be application/x-www-form-urlencoded" }),
            );
        }
        let grant = url::form_urlencoded::parse(&body)
            .find(|(name, _)| name == "grant_type")
            .map(|(_, value)| value.into_owned());
        match grant.as_deref() {
            Some("client_credentials") => {}
            None => {
                return (
                    400,
                    json!({ "error": "unsupported_grant_type", "error_description": "Grant Type is NULL" }),
                )
            }
            Some(_) => {
                return (
                    400,
                    json!({ "error": "unsupported_grant_type", "error_description": "Grant type is not supported" }),
                )
            }
        }
        let token = format!("A21AA{:024}", ledger.next_number());
        let lifetime = ledger.token_lifetime;
        ledger.tokens.insert(token.clone(), ledger.now + lifetime);
        ledger.issued_tokens.push(token.clone());
        (
            200,
            json!({
                "scope": "https://uri.paypal.com/services/payments/payment https://uri.paypal.com/services/payments/refund",
                "access_token": token,
                "token_type": "Bearer",
                "app_id": "APP-80W284485P519543T",
                "expires_in": lifetime,
                "nonce": "2025-06-15T10:00:00Z1a2b3c",
            }),
        )
    })
    .await
}

async fn create_order(State(fake): State<FakePayPal>, headers: HeaderMap, body: Bytes) -> Response {
    let url = fake.url.clone();
    fake.serve(Route::CreateOrder, &headers, |ledger| {
        if let Err(refusal) = ledger.bearer(&headers, false) {
            return refusal;
        }
        if !is_json(&headers) {
            return unsupported_media();
        }
        ledger.idempotent(Route::CreateOrder, "", &headers, |ledger| {
            new_order(ledger, &body, &url).unwrap_or_else(|refusal| refusal)
        })
    })
    .await
}

fn new_order(ledger: &mut Ledger, body: &Bytes, url: &str) -> Result<(u16, Value), (u16, Value)> {
    let request: Value = serde_json::from_slice(body)
        .map_err(|_| invalid("MALFORMED_REQUEST_JSON", "The request JSON is not well formed."))?;
    let intent = request.get("intent").and_then(Value::as_str).unwrap_or("");
    if intent != "CAPTURE" && intent != "AUTHORIZE" {
        return Err(invalid("INVALID_PARAMETER_VALUE", "The value of a field is invalid."));
    }
    let units = request
        .get("purchase_units")
        .and_then(Value::as_array)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| invalid("MISSING_REQUIRED_PARAMETER", "A required field / parameter is missing."))?;
    if units.len() > 1 {
        return Err(invalid("INVALID_ARRAY_MAX_ITEMS", "The number of items in an array parameter is too large."));
    }
    let unit = &units[0];
    let (currency, value, amount_units) = parse_amount(unit.get("amount").unwrap_or(&Value::Null), None)?;
    let text = |name: &str| -> Result<Option<String>, (u16, Value)> {
        match unit.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if !s.is_empty() && s.len() <= 127 => Ok(Some(s.clone())),
            Some(_) => Err(invalid("INVALID_STRING_LENGTH", "The value of a field is either too short or too long.")),
        }
    };
    let (custom_id, invoice_id) = (text("custom_id")?, text("invoice_id")?);
    let context = request.pointer("/payment_source/paypal/experience_context");
    let url_field = |name: &str| -> Result<Option<String>, (u16, Value)> {
        match context.and_then(|c| c.get(name)) {
            None => Ok(None),
            Some(Value::String(s)) if url::Url::parse(s).is_ok() => Ok(Some(s.clone())),
            Some(_) => Err(invalid(
                "INVALID_PARAMETER_SYNTAX",
                "The value of a field does not conform to the expected format.",
            )),
        }
    };
    let (return_url, cancel_url) = (url_field("return_url")?, url_field("cancel_url")?);
    let with_payment_source = request.pointer("/payment_source/paypal").is_some();
    let id = ledger.next_id("5O");
    let order = Order {
        id,
        intent: intent.into(),
        status: if with_payment_source { "PAYER_ACTION_REQUIRED".into() } else { "CREATED".into() },
        currency,
        value,
        units: amount_units,
        custom_id,
        invoice_id,
        return_url,
        cancel_url,
        with_payment_source,
        capture: None,
        authorization: None,
        store_in_vault: vault::store_in_vault(&request),
        vault_id: None,
        capture_outcome: "COMPLETED".into(),
    };
    let order = vault::pay_with_token(ledger, &request, order)?;
    let answer = ledger.order_json(&order, url);
    ledger.orders.push(order);
    Ok((201, answer))
}

async fn get_order(State(fake): State<FakePayPal>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let url = fake.url.clone();
    fake.serve(Route::GetOrder, &headers, |ledger| {
        if let Err(refusal) = ledger.bearer(&headers, false) {
            return refusal;
        }
        match ledger.order(&id) {
            Some(order) => (200, ledger.order_json(order, &url)),
            None => not_found(),
        }
    })
    .await
}

async fn capture_order(State(fake): State<FakePayPal>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let url = fake.url.clone();
    fake.serve(Route::Capture, &headers, |ledger| {
        if let Err(refusal) = ledger.bearer(&headers, false) {
            return refusal;
        }
        if !is_json(&headers) {
            return unsupported_media();
        }
        ledger.idempotent(Route::Capture, &id, &headers, |ledger| capture(ledger, &id, &url))
    })
    .await
}

fn capture(ledger: &mut Ledger, id: &str, url: &str) -> (u16, Value) {
    let Some(order) = ledger.order(id).cloned() else {
        return not_found();
    };
    if order.intent != "CAPTURE" {
        return unprocessable(
            "ACTION_DOES_NOT_MATCH_INTENT",
            "Order was created with an intent to 'AUTHORIZE'. Please use v2/checkout/orders/order_id/authorize to complete the transaction or alternately create an order with an intent of 'CAPTURE'.",
        );
    }
    match order.status.as_str() {
        "APPROVED" => {}
        "COMPLETED" => {
            return unprocessable(
                "ORDER_ALREADY_CAPTURED",
                "Order already captured.If 'intent=CAPTURE' only one capture per order is allowed.",
            )
        }
        _ => {
            return unprocessable(
                "ORDER_NOT_APPROVED",
                "Payer has not yet approved the Order for payment. Please redirect the payer to the 'rel':'approve' url returned as part of the HATEOAS links within the Create Order call or provide a valid payment_source in the request.",
            )
        }
    }
    let duplicate_invoice = order.invoice_id.is_some()
        && ledger.orders.iter().any(|o| o.id != order.id && o.capture.is_some() && o.invoice_id == order.invoice_id);
    if duplicate_invoice {
        return unprocessable(
            "DUPLICATE_INVOICE_ID",
            "Duplicate Invoice ID detected. To avoid a potential duplicate transaction your account setting requires that Invoice Id be unique for each transaction.",
        );
    }
    let (status, reason) = match order.capture_outcome.as_str() {
        "COMPLETED" => ("COMPLETED", None),
        "PENDING" => ("PENDING", Some("PENDING_REVIEW".to_string())),
        "DECLINED" => ("DECLINED", None),
        issue => {
            return unprocessable(
                issue,
                "The instrument presented was either declined by the processor or bank, or it can't be used for this payment.",
            )
        }
    };
    let capture_id = ledger.next_id("3C");
    let order = ledger.order_mut(id).unwrap();
    order.status = "COMPLETED".into();
    let units = order.units;
    order.capture = Some(Capture { id: capture_id, status: status.into(), units, reason, refunds: Vec::new() });
    if status == "COMPLETED" {
        vault::vault_on_success(ledger, id);
    }
    let order = ledger.order(id).unwrap();
    (201, ledger.order_json(order, url))
}

async fn refund_capture(
    State(fake): State<FakePayPal>,
    Path(capture_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let url = fake.url.clone();
    fake.serve(Route::Refund, &headers, |ledger| {
        if let Err(refusal) = ledger.bearer(&headers, false) {
            return refusal;
        }
        if !body.is_empty() && !is_json(&headers) {
            return unsupported_media();
        }
        ledger.idempotent(Route::Refund, &capture_id, &headers, |ledger| {
            refund(ledger, &capture_id, &body, &url).unwrap_or_else(|refusal| refusal)
        })
    })
    .await
}

fn refund(ledger: &mut Ledger, capture_id: &str, body: &Bytes, url: &str) -> Result<(u16, Value), (u16, Value)> {
    let Some(order) = ledger.orders.iter().find(|o| o.capture.as_ref().is_some_and(|c| c.id == capture_id)).cloned()
    else {
        return Err(not_found());
    };
    let capture = order.capture.clone().unwrap();
    let request: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(body)
            .map_err(|_| invalid("MALFORMED_REQUEST_JSON", "The request JSON is not well formed."))?
    };
    match capture.status.as_str() {
        "COMPLETED" | "PARTIALLY_REFUNDED" => {}
        "REFUNDED" => {
            return Err(unprocessable(
                "CAPTURE_FULLY_REFUNDED",
                "The capture has already been fully refunded",
            ))
        }
        _ => {
            return Err(unprocessable(
                "REFUND_NOT_ALLOWED",
                "Full refund refused - partial refund has already been done on this payment. You cannot refund more than the original payment amount.",
            ))
        }
    }
    let refunded: i64 = capture.refunds.iter().filter(|r| r.status == "COMPLETED").map(|r| r.units).sum();
    let left = capture.units - refunded;
    let units = match request.get("amount") {
        None => left,
        Some(amount) => parse_amount(amount, Some(&order.currency))?.2,
    };
    if units > left {
        return Err(unprocessable(
            "REFUND_AMOUNT_EXCEEDED",
            "The refund amount must be less than or equal to the capture amount that has not yet been refunded.",
        ));
    }
    let id = ledger.next_id("1R");
    let status = ledger.refund_outcome.clone();
    let order_id = order.id.clone();
    let stored = ledger.order_mut(&order_id).unwrap().capture.as_mut().unwrap();
    stored.refunds.push(Refund { id: id.clone(), units, status: status.clone() });
    if status == "COMPLETED" {
        stored.status = if refunded + units == stored.units { "REFUNDED".into() } else { "PARTIALLY_REFUNDED".into() };
    }
    let order = ledger.order(&order_id).unwrap();
    let capture = order.capture.as_ref().unwrap();
    Ok((201, ledger.refund_json(order, capture, capture.refunds.last().unwrap(), url)))
}

async fn list_webhooks(State(fake): State<FakePayPal>, headers: HeaderMap) -> Response {
    fake.serve(Route::ListWebhooks, &headers, |ledger| {
        if let Err(refusal) = ledger.bearer(&headers, false) {
            return refusal;
        }
        (200, json!({ "webhooks": [] }))
    })
    .await
}

async fn verify_signature(State(fake): State<FakePayPal>, headers: HeaderMap, body: Bytes) -> Response {
    fake.serve(Route::Verify, &headers, |ledger| {
        if let Err(refusal) = ledger.bearer(&headers, true) {
            return refusal;
        }
        if !is_json(&headers) {
            return unsupported_media();
        }
        let validation = |field: &str, issue: &str| {
            (
                400,
                json!({
                    "name": "VALIDATION_ERROR",
                    "message": "Invalid request - see details",
                    "debug_id": "3a7f2c61d9e44",
                    "details": [{ "field": field, "location": "body", "issue": issue }],
                }),
            )
        };
        let Ok(request) = serde_json::from_slice::<Value>(&body) else {
            return validation("body", "MALFORMED_REQUEST_JSON");
        };
        let mut fields = HashMap::new();
        for field in ["auth_algo", "cert_url", "transmission_id", "transmission_sig", "transmission_time", "webhook_id"]
        {
            match request.get(field).and_then(Value::as_str) {
                Some(value) if !value.is_empty() => {
                    fields.insert(field, value.to_string());
                }
                _ => return validation(field, "may not be null"),
            }
        }
        let Some(event) = request.get("webhook_event").filter(|e| e.is_object()) else {
            return validation("webhook_event", "must be a JSON object");
        };
        let verified = ledger.transmissions.get(&fields["transmission_id"]).is_some_and(|t| {
            t.signature == fields["transmission_sig"]
                && t.time == fields["transmission_time"]
                && t.cert_url == fields["cert_url"]
                && t.auth_algo == fields["auth_algo"]
                && t.webhook_id == fields["webhook_id"]
                && &t.event == event
        });
        let status = if verified { "SUCCESS" } else { "FAILURE" };
        (200, json!({ "verification_status": status }))
    })
    .await
}
