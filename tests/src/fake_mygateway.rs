//! A fake MyGateway on 127.0.0.1 speaking API.md §4: `POST /v1/sessions`,
//! `GET /v1/sessions/{id}`, `POST /v1/refunds`, `GET /v1/refunds?payment_id=`, all requiring
//! `Authorization: Bearer <secret key>`, errors as `{"error": {"message"}}`. Both POSTs take an
//! `Idempotency-Key`: a repeated key is answered with the first answer and creates nothing
//! twice (MyGateway keeps keys 24 h, longer than any test). Records every request. A test can
//! hold the next refund of a payment, before or after MyGateway makes it, to lose its answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

pub use crate::fake_gateway::Recorded;
use crate::fake_gateway::{endpoint_flag, FakeServer, RequestLog};
use crate::hold::Hold;

/// A refund MyGateway made.
#[derive(Debug, Clone)]
pub struct Refund {
    pub id: String,
    pub payment_id: String,
    pub amount: i64,
}

/// Where a held refund request waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldAt {
    /// Before MyGateway reads it: the refund is never made, its key never kept.
    BeforeRecording,
    /// After MyGateway made the refund and kept its answer, before the answer leaves.
    AfterRecording,
}

/// A refund request being held; see [`FakeMyGateway::hold_next_refund`].
pub struct HeldRefund {
    at: HoldAt,
    arrived: tokio::sync::Notify,
    released: tokio::sync::Notify,
}

impl HeldRefund {
    /// Waits until the held request has reached MyGateway.
    pub async fn arrived(&self) {
        self.arrived.notified().await
    }

    /// Lets the held request go on (a request held before recording is then answered 503,
    /// still not made).
    pub fn release(&self) {
        self.released.notify_one()
    }
}

#[derive(Debug, Clone)]
pub struct Session {
    pub amount: i64,
    pub currency: String,
    pub reference: String,
    pub success_url: String,
    pub cancel_url: String,
    pub status: String,
}

#[derive(Default)]
struct Ledger {
    sessions: HashMap<String, Session>,
    refunds: Vec<Refund>,
    /// (path, Idempotency-Key) → the first answer.
    replays: HashMap<(String, String), Answer>,
    /// Payment id → the hold of its next refund request.
    holds: HashMap<String, Arc<HeldRefund>>,
    /// When set, every API call answers this status and error message.
    outage: Option<(u16, String)>,
    /// The next this many API calls answer this status and error message.
    failing: Option<(usize, u16, String)>,
}

#[derive(Clone)]
pub struct FakeMyGateway {
    pub url: String,
    /// Every request, as it arrived.
    pub requests: RequestLog,
    /// Holds `POST /v1/sessions` (after recording it) while the test says so.
    pub sessions_hold: Hold,
    /// Holds `GET /v1/sessions/{id}` (a sync's question) while the test says so.
    pub status_hold: Hold,
    secret_key: String,
    ledger: Arc<Mutex<Ledger>>,
}

type Answer = (StatusCode, Json<Value>);

fn error(status: StatusCode, message: &str) -> Answer {
    (status, Json(json!({ "error": { "message": message } })))
}

impl FakeMyGateway {
    pub async fn start(secret_key: &str) -> Self {
        let server = FakeServer::bind().await;
        let fake = Self {
            url: server.url.clone(),
            requests: server.requests.clone(),
            sessions_hold: Hold::default(),
            status_hold: Hold::default(),
            secret_key: secret_key.into(),
            ledger: Arc::default(),
        };
        server.serve(
            Router::new()
                .route("/v1/sessions", post(create_session))
                .route("/v1/sessions/{id}", get(session_status))
                .route("/v1/refunds", post(create_refund).get(list_refunds))
                .with_state(fake.clone()),
        );
        fake
    }

    /// The `--endpoint` flag pointing the MyGateway module here.
    pub fn endpoint_flag(&self) -> String {
        endpoint_flag("payment_mygateway", &self.url)
    }

    pub fn set_status(&self, session_id: &str, status: &str) {
        self.ledger.lock().unwrap().sessions.get_mut(session_id).expect("known session").status = status.into();
    }

    pub fn session(&self, id: &str) -> Session {
        self.ledger.lock().unwrap().sessions[id].clone()
    }

    pub fn session_count(&self) -> usize {
        self.ledger.lock().unwrap().sessions.len()
    }

    /// The refunds made, as (payment id, amount).
    pub fn refunds(&self) -> Vec<(String, i64)> {
        self.ledger.lock().unwrap().refunds.iter().map(|r| (r.payment_id.clone(), r.amount)).collect()
    }

    /// The refunds made for one payment.
    pub fn refunds_of(&self, payment_id: &str) -> Vec<Refund> {
        self.ledger.lock().unwrap().refunds.iter().filter(|r| r.payment_id == payment_id).cloned().collect()
    }

    /// Holds the next refund request for `payment_id` at `at` until released.
    pub fn hold_next_refund(&self, payment_id: &str, at: HoldAt) -> Arc<HeldRefund> {
        let hold = Arc::new(HeldRefund { at, arrived: Default::default(), released: Default::default() });
        self.ledger.lock().unwrap().holds.insert(payment_id.to_string(), hold.clone());
        hold
    }

    /// The requests to `method path`, in order.
    pub fn requests_to(&self, method: &str, path: &str) -> Vec<Recorded> {
        self.requests.to(method, path)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.all()
    }

    pub fn set_outage(&self, outage: Option<(u16, &str)>) {
        self.ledger.lock().unwrap().outage = outage.map(|(status, message)| (status, message.to_string()));
    }

    /// The next `count` API calls answer `status` with `message`; then MyGateway is back.
    pub fn fail_next(&self, count: usize, status: u16, message: &str) {
        self.ledger.lock().unwrap().failing = Some((count, status, message.to_string()));
    }

    /// Checks the bearer key; Some(answer) when the request must be refused.
    fn admit(&self, headers: &HeaderMap) -> Option<Answer> {
        let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
        let mut ledger = self.ledger.lock().unwrap();
        if let Some((status, message)) = &ledger.outage {
            return Some(error(StatusCode::from_u16(*status).unwrap(), message));
        }
        if let Some((left, status, message)) = ledger.failing.take() {
            if left > 0 {
                let answer = error(StatusCode::from_u16(status).unwrap(), &message);
                ledger.failing = Some((left - 1, status, message));
                return Some(answer);
            }
        }
        if authorization.as_deref() != Some(&format!("Bearer {}", self.secret_key)) {
            return Some(error(StatusCode::UNAUTHORIZED, "Invalid API key provided."));
        }
        None
    }
}

fn idempotency_key(headers: &HeaderMap) -> Option<String> {
    headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string)
}

impl FakeMyGateway {
    /// The first answer to `key` on `path`, or `act`'s (kept for the next request with the key).
    fn once(&self, path: &str, key: Option<String>, act: impl FnOnce(&mut Ledger) -> Answer) -> Answer {
        let mut ledger = self.ledger.lock().unwrap();
        let Some(key) = key else { return act(&mut ledger) };
        let slot = (path.to_string(), key);
        if let Some((status, Json(body))) = ledger.replays.get(&slot) {
            return (*status, Json(body.clone()));
        }
        let (status, Json(body)) = act(&mut ledger);
        ledger.replays.insert(slot, (status, Json(body.clone())));
        (status, Json(body))
    }
}

async fn create_session(State(fake): State<FakeMyGateway>, headers: HeaderMap, body: Json<Value>) -> Answer {
    if let Some(refused) = fake.admit(&headers) {
        return refused;
    }
    fake.sessions_hold.pass().await;
    fake.once("/v1/sessions", idempotency_key(&headers), |ledger| new_session(ledger, &body))
}

fn new_session(ledger: &mut Ledger, body: &Value) -> Answer {
    let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_string);
    let (Some(amount), Some(currency), Some(reference), Some(success_url), Some(cancel_url)) = (
        body.get("amount").and_then(Value::as_i64),
        text("currency"),
        text("reference"),
        text("success_url"),
        text("cancel_url"),
    ) else {
        return error(StatusCode::BAD_REQUEST, "amount, currency, reference, success_url and cancel_url are required.");
    };
    if amount <= 0 {
        return error(StatusCode::BAD_REQUEST, "amount must be a positive integer in minor units.");
    }
    let id = format!("sess_{}", ledger.sessions.len() + 1);
    ledger
        .sessions
        .insert(id.clone(), Session { amount, currency, reference, success_url, cancel_url, status: "open".into() });
    (StatusCode::OK, Json(json!({ "id": id, "checkout_url": format!("https://checkout.mygateway.com/session/{id}") })))
}

async fn session_status(State(fake): State<FakeMyGateway>, Path(id): Path<String>, headers: HeaderMap) -> Answer {
    if let Some(refused) = fake.admit(&headers) {
        return refused;
    }
    fake.status_hold.pass().await;
    match fake.ledger.lock().unwrap().sessions.get(&id) {
        Some(session) => (StatusCode::OK, Json(json!({ "id": id, "status": session.status }))),
        None => error(StatusCode::NOT_FOUND, "No such session."),
    }
}

async fn create_refund(State(fake): State<FakeMyGateway>, headers: HeaderMap, body: Json<Value>) -> Answer {
    if let Some(refused) = fake.admit(&headers) {
        return refused;
    }
    let payment_id = body.get("payment_id").and_then(Value::as_str).unwrap_or_default().to_string();
    let hold = fake.ledger.lock().unwrap().holds.remove(&payment_id);
    let make = || fake.once("/v1/refunds", idempotency_key(&headers), |ledger| new_refund(ledger, &body));
    match hold {
        None => make(),
        Some(hold) if hold.at == HoldAt::BeforeRecording => {
            hold.arrived.notify_one();
            hold.released.notified().await;
            error(StatusCode::SERVICE_UNAVAILABLE, "MyGateway could not process the request.")
        }
        Some(hold) => {
            let answer = make();
            hold.arrived.notify_one();
            hold.released.notified().await;
            answer
        }
    }
}

fn new_refund(ledger: &mut Ledger, body: &Value) -> Answer {
    let (Some(payment_id), Some(amount)) =
        (body.get("payment_id").and_then(Value::as_str), body.get("amount").and_then(Value::as_i64))
    else {
        return error(StatusCode::BAD_REQUEST, "payment_id and amount are required.");
    };
    let Some(session) = ledger.sessions.get(payment_id).cloned() else {
        return error(StatusCode::NOT_FOUND, "No such payment.");
    };
    if session.status != "completed" {
        return error(StatusCode::BAD_REQUEST, "Only completed payments can be refunded.");
    }
    let refunded: i64 = ledger.refunds.iter().filter(|r| r.payment_id == payment_id).map(|r| r.amount).sum();
    if amount <= 0 || refunded + amount > session.amount {
        return error(StatusCode::BAD_REQUEST, "Refund amount exceeds the remaining payment amount.");
    }
    let id = format!("re_{}", ledger.refunds.len() + 1);
    ledger.refunds.push(Refund { id: id.clone(), payment_id: payment_id.to_string(), amount });
    (StatusCode::OK, Json(json!({ "id": id })))
}

async fn list_refunds(
    State(fake): State<FakeMyGateway>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Answer {
    let payment_id = query.get("payment_id").cloned().unwrap_or_default();
    if let Some(refused) = fake.admit(&headers) {
        return refused;
    }
    if payment_id.is_empty() {
        return error(StatusCode::BAD_REQUEST, "payment_id is required.");
    }
    let data: Vec<Value> = fake
        .refunds_of(&payment_id)
        .iter()
        .map(|r| json!({ "id": r.id, "amount": r.amount, "status": "succeeded" }))
        .collect();
    (StatusCode::OK, Json(json!({ "data": data })))
}
