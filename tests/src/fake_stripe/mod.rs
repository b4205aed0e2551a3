//! A fake Stripe on 127.0.0.1 speaking Stripe's wire format, for the Stripe provider's
//! end-to-end tests:
//!
//! - `POST /v1/checkout/sessions`, `GET /v1/checkout/sessions[/{id}]`,
//!   `POST /v1/payment_intents`, `GET /v1/payment_intents/{id}`, `POST /v1/refunds`,
//!   `POST /v1/customers`, `GET /v1/customers/{id}`; and (see [`part_two`]) manual capture,
//!   cancel, saved PaymentMethods, off-session charges, pending refunds, `GET /v1/refunds`;
//! - a `customer` on a session or intent must name a customer that exists (not deleted),
//!   else 400 `resource_missing`; Checkout refuses `customer` together with `customer_email`;
//! - form-encoded bodies (and GET queries) parsed the way Stripe parses them, bracketed keys
//!   into nested objects and arrays; unknown parameters, duplicates and malformed integers
//!   refused with Stripe's messages;
//! - `Authorization: Bearer sk_…` required; Stripe's error bodies
//!   (`{"error": {"type", "code", "message", "param"}}`) and statuses;
//! - idempotency like Stripe's: a POST with an `Idempotency-Key` already used with the same
//!   parameters replays the first answer (`Idempotent-Replayed: true`); with other parameters
//!   it is refused with 400 `idempotency_error`;
//! - Stripe's amount rules: integers ≥ 1, lower-case currencies, three-decimal currencies in
//!   steps of 10, ISK in steps of 100;
//! - webhook events and their `Stripe-Signature`, computed here with its own HMAC.
//!
//! The payer's side (paying on Checkout, a card declined in Stripe.js, a refund made in the
//! Dashboard) is driven by the test through methods. Every request is recorded.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Extension, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

pub use crate::fake_gateway::Recorded;
use crate::fake_gateway::{endpoint_flag, FakeServer, RequestLog};

mod part_two;

impl Recorded {
    /// The parameters as Stripe reads them: the query of a GET, the form body of anything
    /// else (Stripe reads nothing else from a body); Null when they could not be parsed.
    pub fn stripe_params(&self) -> Value {
        self.parsed_stripe_params().unwrap_or(Value::Null)
    }

    fn parsed_stripe_params(&self) -> Result<Value, String> {
        let source = if self.method == "GET" {
            self.query.as_deref().unwrap_or("")
        } else if self.content_type().is_some_and(|t| t.starts_with("application/x-www-form-urlencoded")) {
            self.body.as_str()
        } else {
            ""
        };
        parse_params(source)
    }
}

/// What the next matching request gets instead of the normal answer.
#[derive(Debug, Clone)]
pub enum Script {
    /// Refused with a Stripe error body before anything happens.
    Refuse { status: u16, kind: &'static str, code: &'static str, message: String },
    /// `500 api_error` with `Stripe-Should-Retry: true`, before anything happens.
    RetryableFailure,
    /// The request is carried out (and its idempotent result kept), but the answer is lost
    /// on the way: a proxy answers 502 with an HTML page.
    LoseAnswer,
    /// No answer, ever.
    Hang,
}

struct Stored {
    endpoint: String,
    params: Value,
    status: StatusCode,
    body: Value,
}

#[derive(Default)]
struct Ledger {
    next_id: u64,
    sessions: BTreeMap<String, Value>,
    intents: BTreeMap<String, Value>,
    /// Customers by id; a deleted one stays as Stripe's `{id, object, deleted: true}`.
    customers: BTreeMap<String, Value>,
    /// The charge of each PaymentIntent that succeeded, by PaymentIntent id.
    charges: BTreeMap<String, Value>,
    refunds: Vec<Value>,
    /// What a Checkout Session's `payment_intent_data` asks of the intent it will make.
    session_intent_data: BTreeMap<String, Value>,
    /// Saved PaymentMethods by id.
    payment_methods: BTreeMap<String, Value>,
    /// New refunds stay `pending` until the test settles them.
    refunds_pending: bool,
    /// PaymentMethods whose off-session charges the bank declines.
    declining_methods: Vec<String>,
    idempotent: HashMap<String, Stored>,
    scripts: VecDeque<(Method, String, Script)>,
    outage: Option<(u16, String)>,
}

impl Ledger {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{:016}Qx", self.next_id)
    }
}

#[derive(Clone)]
pub struct FakeStripe {
    pub url: String,
    /// Every request, as it arrived.
    pub requests: RequestLog,
    secret_key: String,
    webhook_secret: String,
    ledger: Arc<Mutex<Ledger>>,
}

type Answer = (StatusCode, Value);

pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn stripe_error(status: StatusCode, kind: &str, code: Option<&str>, message: &str, param: Option<&str>) -> Answer {
    let mut error = json!({ "type": kind, "message": message });
    if let Some(code) = code {
        error["code"] = code.into();
    }
    if let Some(param) = param {
        error["param"] = param.into();
    }
    (status, json!({ "error": error }))
}

fn invalid(message: &str, param: Option<&str>) -> Answer {
    stripe_error(StatusCode::BAD_REQUEST, "invalid_request_error", None, message, param)
}

fn missing(param: &str) -> Answer {
    stripe_error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        Some("parameter_missing"),
        &format!("Missing required param: {param}."),
        Some(param),
    )
}

/// Stripe's masking of a key in its messages: prefix, asterisks, last four.
fn masked(key: &str) -> String {
    let prefix_end = key.match_indices('_').nth(1).map_or(0, |(i, _)| i + 1);
    let tail = &key[key.len().saturating_sub(4)..];
    format!("{}{}{tail}", &key[..prefix_end], "*".repeat(key.len().saturating_sub(prefix_end + 4)))
}

impl FakeStripe {
    pub async fn start(secret_key: &str, webhook_secret: &str) -> Self {
        let server = FakeServer::bind().await;
        let fake = Self {
            url: server.url.clone(),
            requests: server.requests.clone(),
            secret_key: secret_key.into(),
            webhook_secret: webhook_secret.into(),
            ledger: Arc::default(),
        };
        server.serve(Router::new().fallback(handle).with_state(fake.clone()));
        fake
    }

    /// The `--endpoint` flag pointing the Stripe module here.
    pub fn endpoint_flag(&self) -> String {
        endpoint_flag("payment_stripe", &self.url)
    }

    /// The next request with this method whose path starts with `path` gets `script`.
    pub fn script(&self, method: Method, path: &str, script: Script) {
        self.ledger.lock().unwrap().scripts.push_back((method, path.to_string(), script));
    }

    /// Every request answers `status` with a Stripe error body until cleared.
    pub fn set_outage(&self, outage: Option<(u16, &str)>) {
        self.ledger.lock().unwrap().outage = outage.map(|(status, message)| (status, message.to_string()));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.all()
    }

    /// The requests with this method and exact path.
    pub fn requests_to(&self, method: &str, path: &str) -> Vec<Recorded> {
        self.requests.to(method, path)
    }

    pub fn session(&self, id: &str) -> Value {
        self.ledger.lock().unwrap().sessions[id].clone()
    }

    pub fn session_count(&self) -> usize {
        self.ledger.lock().unwrap().sessions.len()
    }

    pub fn intent(&self, id: &str) -> Value {
        self.ledger.lock().unwrap().intents[id].clone()
    }

    pub fn intent_count(&self) -> usize {
        self.ledger.lock().unwrap().intents.len()
    }

    /// The charge of a PaymentIntent that succeeded.
    pub fn charge(&self, payment_intent: &str) -> Value {
        self.ledger.lock().unwrap().charges[payment_intent].clone()
    }

    pub fn refunds(&self) -> Vec<Value> {
        self.ledger.lock().unwrap().refunds.clone()
    }

    pub fn customer(&self, id: &str) -> Value {
        self.ledger.lock().unwrap().customers[id].clone()
    }

    /// Every customer ever created, deleted ones included.
    pub fn customers(&self) -> Vec<Value> {
        self.ledger.lock().unwrap().customers.values().cloned().collect()
    }

    pub fn customer_count(&self) -> usize {
        self.ledger.lock().unwrap().customers.len()
    }

    /// The merchant deletes a customer in the Stripe Dashboard.
    pub fn delete_customer(&self, id: &str) {
        let mut ledger = self.ledger.lock().unwrap();
        assert!(ledger.customers.contains_key(id), "no customer {id}");
        ledger.customers.insert(id.to_string(), json!({ "id": id, "object": "customer", "deleted": true }));
    }

    /// The payer pays on Checkout with a card: the session completes as paid, its
    /// PaymentIntent succeeds. Returns the PaymentIntent id.
    pub fn pay_checkout(&self, session_id: &str) -> String {
        let mut ledger = self.ledger.lock().unwrap();
        let payment_intent = checkout_payment_intent(&mut ledger, session_id, "succeeded");
        let session = ledger.sessions.get_mut(session_id).unwrap();
        session["status"] = "complete".into();
        session["payment_status"] = "paid".into();
        payment_intent
    }

    /// The payer completes Checkout with a delayed payment method (a bank debit): the
    /// session is complete but unpaid until the payment settles.
    pub fn complete_checkout_unpaid(&self, session_id: &str) -> String {
        let mut ledger = self.ledger.lock().unwrap();
        let payment_intent = checkout_payment_intent(&mut ledger, session_id, "processing");
        let session = ledger.sessions.get_mut(session_id).unwrap();
        session["status"] = "complete".into();
        session["payment_status"] = "unpaid".into();
        payment_intent
    }

    /// The delayed payment of a completed Checkout Session settles or fails.
    pub fn settle_checkout(&self, session_id: &str, succeeded: bool) {
        let mut ledger = self.ledger.lock().unwrap();
        let payment_intent = ledger.sessions[session_id]["payment_intent"].as_str().unwrap().to_string();
        if succeeded {
            ledger.sessions.get_mut(session_id).unwrap()["payment_status"] = "paid".into();
            succeed_intent(&mut ledger, &payment_intent);
        } else {
            decline_intent(&mut ledger, &payment_intent, "The bank account could not be debited.");
        }
    }

    pub fn expire_checkout(&self, session_id: &str) {
        self.ledger.lock().unwrap().sessions.get_mut(session_id).unwrap()["status"] = "expired".into();
    }

    /// Stripe.js confirms the PaymentIntent and the card is charged.
    pub fn succeed_intent(&self, payment_intent: &str) {
        succeed_intent(&mut self.ledger.lock().unwrap(), payment_intent);
    }

    /// Stripe.js confirms the PaymentIntent and the card is declined.
    pub fn decline_intent(&self, payment_intent: &str, message: &str) {
        decline_intent(&mut self.ledger.lock().unwrap(), payment_intent, message);
    }

    pub fn set_intent_status(&self, payment_intent: &str, status: &str) {
        self.ledger.lock().unwrap().intents.get_mut(payment_intent).unwrap()["status"] = status.into();
    }

    /// The merchant refunds in the Stripe Dashboard; returns the charge as it is now.
    pub fn refund_in_dashboard(&self, payment_intent: &str, amount: i64) -> Value {
        let mut ledger = self.ledger.lock().unwrap();
        let charge = ledger.charges.get_mut(payment_intent).unwrap();
        let refunded = charge["amount_refunded"].as_i64().unwrap() + amount;
        assert!(refunded <= charge["amount"].as_i64().unwrap());
        charge["amount_refunded"] = refunded.into();
        charge["refunded"] = (refunded == charge["amount"].as_i64().unwrap()).into();
        charge.clone()
    }

    /// A webhook event body as Stripe sends it.
    pub fn event(&self, kind: &str, object: Value) -> String {
        let id = self.ledger.lock().unwrap().id("evt_");
        json!({
            "id": id, "object": "event", "api_version": "2024-06-20", "created": unix_now(),
            "livemode": false, "pending_webhooks": 1, "request": { "id": null, "idempotency_key": null },
            "type": kind, "data": { "object": object },
        })
        .to_string()
    }

    /// `Stripe-Signature` for `body` sent at `timestamp`, signed with the endpoint's secret.
    pub fn signature_header(&self, body: &str, timestamp: u64) -> String {
        format!("t={timestamp},v1={}", sign(&self.webhook_secret, timestamp, body))
    }
}

/// Stripe's v1 scheme: hex HMAC-SHA256 of `"{t}.{body}"` keyed with the signing secret.
pub fn sign(secret: &str, timestamp: u64, body: &str) -> String {
    crate::hmac_sha256_hex(secret, format!("{timestamp}.{body}").as_bytes())
}

/// Creates the PaymentIntent of a Checkout Session, as Stripe does when the payer confirms.
fn checkout_payment_intent(ledger: &mut Ledger, session_id: &str, status: &str) -> String {
    let session = ledger.sessions[session_id].clone();
    let id = ledger.id("pi_");
    let secret = ledger.id("_secret_");
    ledger.intents.insert(
        id.clone(),
        json!({
            "id": id, "object": "payment_intent", "amount": session["amount_total"], "amount_received": 0,
            "currency": session["currency"], "client_secret": format!("{id}{secret}"), "status": "processing",
            "customer": session["customer"],
            // Checkout does not copy the session's metadata to its PaymentIntent, only
            // `payment_intent_data`'s.
            "metadata": {}, "last_payment_error": null, "latest_charge": null, "livemode": false,
            "capture_method": "automatic", "setup_future_usage": null, "payment_method": null,
        }),
    );
    part_two::apply_intent_data(ledger, session_id, &id);
    ledger.sessions.get_mut(session_id).unwrap()["payment_intent"] = id.clone().into();
    match status {
        "succeeded" => succeed_intent(ledger, &id),
        "requires_capture" => part_two::authorize(ledger, &id),
        _ => {}
    }
    id
}

fn succeed_intent(ledger: &mut Ledger, payment_intent: &str) {
    let amount = ledger.intents[payment_intent]["amount"].as_i64().unwrap();
    succeed_intent_with(ledger, payment_intent, amount);
}

/// The intent succeeds having captured `captured` (less than its amount after a partial
/// capture); a method it was asked to save is attached to its customer.
fn succeed_intent_with(ledger: &mut Ledger, payment_intent: &str, captured: i64) {
    part_two::save_method(ledger, payment_intent);
    let charge_id = ledger.id("ch_");
    let intent = ledger.intents.get_mut(payment_intent).unwrap();
    intent["status"] = "succeeded".into();
    intent["amount_received"] = captured.into();
    intent["amount_capturable"] = 0.into();
    intent["latest_charge"] = charge_id.clone().into();
    intent["last_payment_error"] = Value::Null;
    let charge = json!({
        "id": charge_id, "object": "charge", "amount": intent["amount"], "amount_captured": captured,
        "amount_refunded": 0, "captured": true, "currency": intent["currency"], "paid": true,
        "payment_intent": payment_intent, "refunded": false, "status": "succeeded", "metadata": {},
    });
    ledger.charges.insert(payment_intent.to_string(), charge);
}

fn decline_intent(ledger: &mut Ledger, payment_intent: &str, message: &str) {
    let intent = ledger.intents.get_mut(payment_intent).unwrap();
    intent["status"] = "requires_payment_method".into();
    intent["last_payment_error"] = json!({ "type": "card_error", "code": "card_declined", "message": message });
}

async fn handle(State(fake): State<FakeStripe>, method: Method, Extension(recorded): Extension<Recorded>) -> Response {
    let params = recorded.parsed_stripe_params();
    let script = {
        let mut ledger = fake.ledger.lock().unwrap();
        let position =
            ledger.scripts.iter().position(|(m, path, _)| *m == method && recorded.path.starts_with(path.as_str()));
        position.and_then(|i| ledger.scripts.remove(i)).map(|(_, _, script)| script)
    };
    match script {
        Some(Script::Hang) => std::future::pending().await,
        Some(Script::Refuse { status, kind, code, message }) => {
            let (status, body) = stripe_error(StatusCode::from_u16(status).unwrap(), kind, Some(code), &message, None);
            (status, Json(body)).into_response()
        }
        Some(Script::RetryableFailure) => {
            let (status, body) =
                stripe_error(StatusCode::INTERNAL_SERVER_ERROR, "api_error", None, "An unknown error occurred", None);
            (status, [("stripe-should-retry", "true")], Json(body)).into_response()
        }
        Some(Script::LoseAnswer) => {
            let _ = fake.answer(&method, &recorded, params);
            (
                StatusCode::BAD_GATEWAY,
                [("content-type", "text/html")],
                "<html><body><h1>502 Bad Gateway</h1></body></html>",
            )
                .into_response()
        }
        None => {
            let (status, body, replayed) = fake.answer(&method, &recorded, params);
            let request_id = fake.ledger.lock().unwrap().id("req_");
            let mut response = (status, [("request-id", request_id)], Json(body)).into_response();
            if replayed {
                response.headers_mut().insert("idempotent-replayed", "true".parse().unwrap());
            }
            response
        }
    }
}

impl FakeStripe {
    /// Stripe's answer: outage, authentication, parameters, idempotency, then the endpoint.
    fn answer(&self, method: &Method, request: &Recorded, params: Result<Value, String>) -> (StatusCode, Value, bool) {
        let mut ledger = self.ledger.lock().unwrap();
        if let Some((status, message)) = &ledger.outage {
            let status = StatusCode::from_u16(*status).unwrap();
            let kind = if status.is_server_error() { "api_error" } else { "invalid_request_error" };
            let (status, body) = stripe_error(status, kind, None, message, None);
            return (status, body, false);
        }
        let unauthorized = |message: String| {
            let (status, body) = stripe_error(StatusCode::UNAUTHORIZED, "invalid_request_error", None, &message, None);
            (status, body, false)
        };
        match request.authorization().and_then(|v| v.strip_prefix("Bearer ")) {
            None => {
                return unauthorized(
                    "You did not provide an API key. You need to provide your API key in the Authorization header, \
                     using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
                        .into(),
                )
            }
            Some(key) if key != self.secret_key => {
                return unauthorized(format!("Invalid API Key provided: {}", masked(key)))
            }
            Some(_) => {}
        }
        let params = match params {
            Ok(params) => params,
            Err(message) => {
                let (status, body) = invalid(&message, None);
                return (status, body, false);
            }
        };
        let endpoint = format!("{method} {}", request.path);
        let key = request.idempotency_key().map(str::to_string).filter(|_| *method == Method::POST);
        if let Some(key) = &key {
            if let Some(stored) = ledger.idempotent.get(key) {
                if stored.endpoint == endpoint && stored.params == params {
                    return (stored.status, stored.body.clone(), true);
                }
                let (status, body) = stripe_error(
                    StatusCode::BAD_REQUEST,
                    "idempotency_error",
                    None,
                    &format!(
                        "Keys for idempotent requests can only be used with the same parameters they were first used \
                         with. Try using a key other than '{key}' if you meant to execute a different request."
                    ),
                    None,
                );
                return (status, body, false);
            }
        }
        let (status, body) = route(&mut ledger, method, &request.path, &params);
        // Stripe keeps the result of a request that ran (not of one refused up front).
        if let Some(key) = key {
            if status.is_success() {
                ledger.idempotent.insert(key, Stored { endpoint, params, status, body: body.clone() });
            }
        }
        (status, body, false)
    }
}

fn route(ledger: &mut Ledger, method: &Method, path: &str, params: &Value) -> Answer {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["v1", "checkout", "sessions"]) => create_session(ledger, params),
        ("GET", ["v1", "checkout", "sessions"]) => list_sessions(ledger, params),
        ("GET", ["v1", "checkout", "sessions", id]) => retrieve(&ledger.sessions, "checkout.session", id, params),
        ("POST", ["v1", "payment_intents"]) => create_intent(ledger, params),
        ("GET", ["v1", "payment_intents", id]) => retrieve(&ledger.intents, "payment_intent", id, params),
        ("POST", ["v1", "payment_intents", id, "capture"]) => part_two::capture(ledger, id, params),
        ("POST", ["v1", "payment_intents", id, "cancel"]) => part_two::cancel(ledger, id, params),
        ("GET", ["v1", "payment_methods", id]) => retrieve(&ledger.payment_methods, "payment_method", id, params),
        ("POST", ["v1", "payment_methods", id, "detach"]) => part_two::detach(ledger, id, params),
        ("GET", ["v1", "refunds"]) => part_two::list_refunds(ledger, params),
        ("POST", ["v1", "refunds"]) => create_refund(ledger, params),
        ("POST", ["v1", "customers"]) => create_customer(ledger, params),
        ("GET", ["v1", "customers", id]) => retrieve(&ledger.customers, "customer", id, params),
        _ => stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            None,
            &format!("Unrecognized request URL ({method}: {path})."),
            None,
        ),
    }
}

fn retrieve(objects: &BTreeMap<String, Value>, kind: &str, id: &str, params: &Value) -> Answer {
    if let Some(unknown) = unknown_param(params, &["expand.N"]) {
        return unknown;
    }
    match objects.get(id) {
        Some(object) => (StatusCode::OK, object.clone()),
        None => stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("resource_missing"),
            &format!("No such {kind}: '{id}'"),
            Some("id"),
        ),
    }
}

fn list_sessions(ledger: &Ledger, params: &Value) -> Answer {
    if let Some(unknown) = unknown_param(params, &["payment_intent", "limit", "expand.N"]) {
        return unknown;
    }
    let data: Vec<Value> = ledger
        .sessions
        .values()
        .filter(|s| params.get("payment_intent").is_none_or(|pi| s["payment_intent"] == *pi))
        .cloned()
        .collect();
    (StatusCode::OK, json!({ "object": "list", "data": data, "has_more": false, "url": "/v1/checkout/sessions" }))
}

fn create_session(ledger: &mut Ledger, params: &Value) -> Answer {
    let allowed = [
        "mode",
        "success_url",
        "cancel_url",
        "client_reference_id",
        "customer",
        "customer_email",
        "metadata.*",
        "payment_intent_data.metadata.*",
        "payment_intent_data.capture_method",
        "payment_intent_data.setup_future_usage",
        "line_items.N.quantity",
        "line_items.N.price_data.currency",
        "line_items.N.price_data.unit_amount",
        "line_items.N.price_data.product_data.name",
        "line_items.N.price_data.product_data.description",
        "expand.N",
    ];
    if let Some(unknown) = unknown_param(params, &allowed) {
        return unknown;
    }
    if params.get("customer").is_some() && params.get("customer_email").is_some() {
        return invalid("You may only specify one of these parameters: customer, customer_email.", None);
    }
    if let Err(refused) = check_customer(ledger, params) {
        return refused;
    }
    match params.get("mode").and_then(Value::as_str) {
        None => return missing("mode"),
        Some("payment") => {}
        Some(other) => return invalid(&format!("Invalid mode: {other}"), Some("mode")),
    }
    let Some(success_url) = params.get("success_url").and_then(Value::as_str) else {
        return missing("success_url");
    };
    for field in ["success_url", "cancel_url"] {
        if let Some(url) = params.get(field).and_then(Value::as_str) {
            if !url.starts_with("https://") && !url.starts_with("http://") {
                return invalid("Not a valid URL", Some(field));
            }
        }
    }
    let Some(items) = params.get("line_items").and_then(Value::as_array).filter(|i| !i.is_empty()) else {
        return missing("line_items");
    };
    let mut total = 0i64;
    let mut currency = None;
    for (n, item) in items.iter().enumerate() {
        let param = |name: &str| format!("line_items[{n}][{name}]");
        let Some(price) = item.get("price_data") else {
            return invalid(&format!("You must specify either `price` or `price_data` in line_items[{n}]."), None);
        };
        let Some(item_currency) = price.get("currency").and_then(Value::as_str) else {
            return missing(&param("price_data][currency"));
        };
        if let Err(refused) = check_currency(item_currency) {
            return refused;
        }
        let unit_amount = match integer(price, "unit_amount", &param("price_data][unit_amount")) {
            Ok(Some(amount)) => amount,
            Ok(None) => return missing(&param("price_data][unit_amount")),
            Err(refused) => return refused,
        };
        if price.pointer("/product_data/name").and_then(Value::as_str).is_none_or(str::is_empty) {
            return missing(&param("price_data][product_data][name"));
        }
        let quantity = match integer(item, "quantity", &param("quantity")) {
            Ok(Some(quantity)) if quantity >= 1 => quantity,
            Ok(_) => return missing(&param("quantity")),
            Err(refused) => return refused,
        };
        if currency.is_some_and(|c| c != item_currency) {
            return invalid("All line items must have the same currency.", None);
        }
        currency = Some(item_currency);
        total += unit_amount * quantity;
    }
    let currency = currency.unwrap();
    if let Err(refused) = check_amount(total, currency, "line_items[0][price_data][unit_amount]") {
        return refused;
    }
    let id = ledger.id("cs_test_");
    let session = json!({
        "id": id, "object": "checkout.session", "amount_subtotal": total, "amount_total": total,
        "cancel_url": params.get("cancel_url"), "client_reference_id": params.get("client_reference_id"),
        "customer": params.get("customer"), "customer_email": params.get("customer_email"),
        "currency": currency, "livemode": false, "metadata": params.get("metadata").cloned().unwrap_or(json!({})),
        "mode": "payment", "payment_intent": null, "payment_status": "unpaid", "status": "open",
        "success_url": success_url, "url": format!("https://checkout.stripe.com/c/pay/{id}"),
        "created": unix_now(),
    });
    if let Some(intent_data) = params.get("payment_intent_data") {
        ledger.session_intent_data.insert(id.clone(), intent_data.clone());
    }
    ledger.sessions.insert(id, session.clone());
    (StatusCode::OK, session)
}

fn create_intent(ledger: &mut Ledger, params: &Value) -> Answer {
    let allowed = [
        "amount",
        "currency",
        "customer",
        "metadata.*",
        "description",
        "receipt_email",
        "capture_method",
        "setup_future_usage",
        "payment_method",
        "off_session",
        "confirm",
        "automatic_payment_methods.enabled",
        "payment_method_types.N",
        "expand.N",
    ];
    if let Some(unknown) = unknown_param(params, &allowed) {
        return unknown;
    }
    let amount = match integer(params, "amount", "amount") {
        Ok(Some(amount)) => amount,
        Ok(None) => return missing("amount"),
        Err(refused) => return refused,
    };
    let Some(currency) = params.get("currency").and_then(Value::as_str) else {
        return missing("currency");
    };
    if let Err(refused) = check_currency(currency).and_then(|()| check_amount(amount, currency, "amount")) {
        return refused;
    }
    if let Err(refused) = check_customer(ledger, params) {
        return refused;
    }
    let id = ledger.id("pi_");
    let secret = ledger.id("_secret_");
    let intent = json!({
        "id": id, "object": "payment_intent", "amount": amount, "amount_received": 0, "currency": currency,
        "client_secret": format!("{id}{secret}"), "status": "requires_payment_method",
        "customer": params.get("customer"),
        "metadata": params.get("metadata").cloned().unwrap_or(json!({})), "last_payment_error": null,
        "latest_charge": null, "livemode": false, "created": unix_now(),
        "capture_method": params.get("capture_method").cloned().unwrap_or(json!("automatic")),
        "setup_future_usage": params.get("setup_future_usage"), "payment_method": params.get("payment_method"),
    });
    ledger.intents.insert(id.clone(), intent.clone());
    if params.get("confirm").and_then(Value::as_str) == Some("true") {
        return part_two::confirm_off_session(ledger, &id, params);
    }
    (StatusCode::OK, intent)
}

fn create_refund(ledger: &mut Ledger, params: &Value) -> Answer {
    if let Some(unknown) =
        unknown_param(params, &["payment_intent", "charge", "amount", "reason", "metadata.*", "expand.N"])
    {
        return unknown;
    }
    let Some(payment_intent) = params.get("payment_intent").and_then(Value::as_str) else {
        return invalid(
            "One of the following params should be provided for this request: payment_intent or charge.",
            None,
        );
    };
    let Some(intent) = ledger.intents.get(payment_intent) else {
        return stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("resource_missing"),
            &format!("No such payment_intent: '{payment_intent}'"),
            Some("payment_intent"),
        );
    };
    if intent["status"] != "succeeded" {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("charge_not_refundable"),
            &format!("This PaymentIntent ({payment_intent}) does not have a successful charge to refund."),
            Some("payment_intent"),
        );
    }
    let charge = ledger.charges[payment_intent].clone();
    let currency = charge["currency"].as_str().unwrap().to_string();
    let remaining = charge["amount_captured"].as_i64().unwrap() - charge["amount_refunded"].as_i64().unwrap();
    let amount = match integer(params, "amount", "amount") {
        Ok(amount) => amount.unwrap_or(remaining),
        Err(refused) => return refused,
    };
    if remaining == 0 {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("charge_already_refunded"),
            &format!("Charge {} has already been refunded.", charge["id"].as_str().unwrap()),
            None,
        );
    }
    if amount > remaining {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("amount_too_large"),
            &format!("Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})"),
            Some("amount"),
        );
    }
    if let Err(refused) = check_amount(amount, &currency, "amount") {
        return refused;
    }
    let id = ledger.id("re_");
    let status = if ledger.refunds_pending { "pending" } else { "succeeded" };
    let refund = json!({
        "id": id, "object": "refund", "amount": amount, "charge": charge["id"], "currency": currency,
        "payment_intent": payment_intent, "status": status, "failure_reason": null,
        "metadata": params.get("metadata").cloned().unwrap_or(json!({})), "created": unix_now(),
    });
    let charge = ledger.charges.get_mut(payment_intent).unwrap();
    let refunded = charge["amount_refunded"].as_i64().unwrap() + amount;
    charge["amount_refunded"] = refunded.into();
    charge["refunded"] = (refunded == charge["amount_captured"].as_i64().unwrap()).into();
    ledger.refunds.push(refund.clone());
    (StatusCode::OK, refund)
}

fn create_customer(ledger: &mut Ledger, params: &Value) -> Answer {
    let allowed = ["name", "email", "phone", "description", "metadata.*", "expand.N"];
    if let Some(unknown) = unknown_param(params, &allowed) {
        return unknown;
    }
    if let Some(email) = params.get("email").and_then(Value::as_str) {
        let valid = email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.contains('@') && !email.contains(char::is_whitespace)
        });
        if !valid {
            return stripe_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                Some("email_invalid"),
                &format!("Invalid email address: {email}"),
                Some("email"),
            );
        }
    }
    let id = ledger.id("cus_");
    let customer = json!({
        "id": id, "object": "customer", "address": null, "balance": 0, "created": unix_now(), "currency": null,
        "default_source": null, "delinquent": false, "description": params.get("description"),
        "email": params.get("email"), "livemode": false,
        "metadata": params.get("metadata").cloned().unwrap_or(json!({})), "name": params.get("name"),
        "phone": params.get("phone"), "preferred_locales": [], "shipping": null, "tax_exempt": "none",
        "test_clock": null,
    });
    ledger.customers.insert(id, customer.clone());
    (StatusCode::OK, customer)
}

/// A `customer` parameter must name a customer that exists and is not deleted.
fn check_customer(ledger: &Ledger, params: &Value) -> Result<(), Answer> {
    let Some(customer) = params.get("customer") else {
        return Ok(());
    };
    let id = customer.as_str().unwrap_or_default();
    match ledger.customers.get(id) {
        Some(found) if found.get("deleted").is_none() => Ok(()),
        _ => Err(stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("resource_missing"),
            &format!("No such customer: '{id}'"),
            Some("customer"),
        )),
    }
}

fn check_currency(currency: &str) -> Result<(), Answer> {
    if currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_lowercase()) {
        Ok(())
    } else {
        Err(invalid(
            &format!("Invalid currency: {currency}. Stripe currently supports these currencies: usd, eur, jpy, …"),
            Some("currency"),
        ))
    }
}

/// Stripe's rules for an amount in its units.
fn check_amount(amount: i64, currency: &str, param: &str) -> Result<(), Answer> {
    if amount < 1 {
        return Err(invalid("This value must be greater than or equal to 1.", Some(param)));
    }
    if ["bhd", "jod", "kwd", "omr", "tnd"].contains(&currency) && amount % 10 != 0 {
        return Err(stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("invalid_amount"),
            &format!(
                "Invalid amount. Amounts in {} must end in 0 (round to the nearest ten).",
                currency.to_uppercase()
            ),
            Some(param),
        ));
    }
    if currency == "isk" && amount % 100 != 0 {
        return Err(stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("invalid_charge_amount_no_decimal_compatible"),
            "Invalid amount. Currency ISK has become effectively zero-decimal and charged amounts must be evenly \
             divisible by 100.",
            Some(param),
        ));
    }
    Ok(())
}

/// An integer parameter as Stripe reads it (a string of digits).
fn integer(object: &Value, field: &str, param: &str) -> Result<Option<i64>, Answer> {
    match object.get(field) {
        None => Ok(None),
        Some(Value::String(text)) => {
            text.parse::<i64>().map(Some).map_err(|_| invalid(&format!("Invalid integer: {text}"), Some(param)))
        }
        Some(_) => Err(invalid(&format!("Invalid integer: {param}"), Some(param))),
    }
}

/// Parses form parameters into nested objects and arrays, as Stripe does with bracketed
/// keys: `a[b][0][c]=x` is `{"a": {"b": [{"c": "x"}]}}`.
pub fn parse_params(source: &str) -> Result<Value, String> {
    let mut root = Value::Object(Map::new());
    for (key, value) in url::form_urlencoded::parse(source.as_bytes()) {
        let segments = split_key(&key)?;
        insert(&mut root, &segments, value.into_owned(), &key)?;
    }
    Ok(arrayify(root))
}

fn split_key(key: &str) -> Result<Vec<String>, String> {
    let invalid = || format!("Invalid parameter name: {key}");
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if head.is_empty() {
        return Err(invalid());
    }
    let mut segments = vec![head.to_string()];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[').ok_or_else(invalid)?;
        let close = inner.find(']').ok_or_else(invalid)?;
        segments.push(inner[..close].to_string());
        rest = &inner[close + 1..];
    }
    Ok(segments)
}

fn insert(node: &mut Value, segments: &[String], value: String, key: &str) -> Result<(), String> {
    let map =
        node.as_object_mut().ok_or_else(|| format!("Invalid parameter: {key} conflicts with another parameter"))?;
    let (first, rest) = segments.split_first().expect("at least one segment");
    // `x[]=a&x[]=b` appends.
    let first = if first.is_empty() { map.len().to_string() } else { first.clone() };
    if rest.is_empty() {
        if map.contains_key(&first) {
            return Err(format!("Received duplicate parameter: {key}"));
        }
        map.insert(first, Value::String(value));
        return Ok(());
    }
    let child = map.entry(first).or_insert_with(|| Value::Object(Map::new()));
    insert(child, rest, value, key)
}

/// Objects whose keys are exactly 0..n become arrays.
fn arrayify(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let is_array = !map.is_empty() && (0..map.len()).all(|i| map.contains_key(&i.to_string()));
            if is_array {
                let mut map = map;
                Value::Array((0..map.len()).map(|i| arrayify(map.remove(&i.to_string()).unwrap())).collect())
            } else {
                Value::Object(map.into_iter().map(|(k, v)| (k, arrayify(v))).collect())
            }
        }
        other => other,
    }
}

/// Stripe refuses parameters it does not know. `allowed` are dotted paths where `N` stands
/// for an array index and `*` for any metadata key.
fn unknown_param(params: &Value, allowed: &[&str]) -> Option<Answer> {
    fn walk(value: &Value, path: &mut Vec<String>, leaves: &mut Vec<Vec<String>>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    path.push(key.clone());
                    walk(child, path, leaves);
                    path.pop();
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    path.push(i.to_string());
                    walk(child, path, leaves);
                    path.pop();
                }
            }
            _ => leaves.push(path.clone()),
        }
    }
    let mut leaves = Vec::new();
    walk(params, &mut Vec::new(), &mut leaves);
    let matches = |leaf: &[String], pattern: &str| {
        let parts: Vec<&str> = pattern.split('.').collect();
        parts.len() == leaf.len()
            && parts.iter().zip(leaf).all(|(part, segment)| match *part {
                "N" => !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()),
                "*" => true,
                literal => literal == segment,
            })
    };
    leaves.into_iter().find(|leaf| !allowed.iter().any(|pattern| matches(leaf, pattern))).map(|leaf| {
        let name = leaf.iter().skip(1).fold(leaf[0].clone(), |name, segment| format!("{name}[{segment}]"));
        invalid(&format!("Received unknown parameter: {name}"), Some(&name))
    })
}

/// Replays aside, the fake keeps one record per key: what a test can ask about a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUse {
    pub key: String,
    pub path: String,
    pub body: String,
}

impl FakeStripe {
    /// Every POST's idempotency key, path and body, in order.
    pub fn key_uses(&self) -> Vec<KeyUse> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST")
            .map(|r| KeyUse { key: r.idempotency_key().unwrap_or_default().to_string(), path: r.path, body: r.body })
            .collect()
    }

    /// The answer of a request sent straight to the fake (for checks of the fake itself).
    pub async fn post_direct(&self, path: &str, key: &str, form: &str) -> (StatusCode, Value, bool) {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.secret_key)
            .header("idempotency-key", key)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let replayed = response.headers().contains_key("idempotent-replayed");
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body, replayed)
    }
}
