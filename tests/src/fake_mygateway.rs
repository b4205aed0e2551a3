//! A fake MyGateway on 127.0.0.1 speaking API.md §4: `POST /v1/sessions`,
//! `GET /v1/sessions/{id}`, `POST /v1/refunds`, all requiring `Authorization: Bearer <secret
//! key>`, errors as `{"error": {"message"}}`. Records every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::hold::Hold;

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
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
    refunds: Vec<(String, i64)>,
    requests: Vec<Recorded>,
    /// When set, every API call answers this status and error message.
    outage: Option<(u16, String)>,
}

#[derive(Clone)]
pub struct FakeMyGateway {
    pub url: String,
    /// Holds `POST /v1/sessions` (after recording it) while the test says so.
    pub sessions_hold: Hold,
    secret_key: String,
    ledger: Arc<Mutex<Ledger>>,
}

type Answer = (StatusCode, Json<Value>);

fn error(status: StatusCode, message: &str) -> Answer {
    (status, Json(json!({ "error": { "message": message } })))
}

impl FakeMyGateway {
    pub async fn start(secret_key: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let fake = Self { url, sessions_hold: Hold::default(), secret_key: secret_key.into(), ledger: Arc::default() };
        let app = Router::new()
            .route("/v1/sessions", post(create_session))
            .route("/v1/sessions/{id}", get(session_status))
            .route("/v1/refunds", post(create_refund))
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        fake
    }

    /// The `--endpoint` flag pointing the MyGateway module here.
    pub fn endpoint_flag(&self) -> String {
        format!("payment_mygateway.api={}", self.url)
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

    pub fn refunds(&self) -> Vec<(String, i64)> {
        self.ledger.lock().unwrap().refunds.clone()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.ledger.lock().unwrap().requests.clone()
    }

    pub fn set_outage(&self, outage: Option<(u16, &str)>) {
        self.ledger.lock().unwrap().outage = outage.map(|(status, message)| (status, message.to_string()));
    }

    /// Records the request and checks the bearer key; Some(answer) when it must be refused.
    fn admit(&self, method: &str, path: &str, headers: &HeaderMap, body: &Value) -> Option<Answer> {
        let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
        let mut ledger = self.ledger.lock().unwrap();
        ledger.requests.push(Recorded {
            method: method.into(),
            path: path.into(),
            authorization: authorization.clone(),
            body: body.clone(),
        });
        if let Some((status, message)) = &ledger.outage {
            return Some(error(StatusCode::from_u16(*status).unwrap(), message));
        }
        if authorization.as_deref() != Some(&format!("Bearer {}", self.secret_key)) {
            return Some(error(StatusCode::UNAUTHORIZED, "Invalid API key provided."));
        }
        None
    }
}

async fn create_session(State(fake): State<FakeMyGateway>, headers: HeaderMap, body: Json<Value>) -> Answer {
    if let Some(refused) = fake.admit("POST", "/v1/sessions", &headers, &body) {
        return refused;
    }
    fake.sessions_hold.pass().await;
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
    let mut ledger = fake.ledger.lock().unwrap();
    let id = format!("sess_{}", ledger.sessions.len() + 1);
    ledger
        .sessions
        .insert(id.clone(), Session { amount, currency, reference, success_url, cancel_url, status: "open".into() });
    (StatusCode::OK, Json(json!({ "id": id, "checkout_url": format!("https://checkout.mygateway.com/session/{id}") })))
}

async fn session_status(State(fake): State<FakeMyGateway>, Path(id): Path<String>, headers: HeaderMap) -> Answer {
    if let Some(refused) = fake.admit("GET", &format!("/v1/sessions/{id}"), &headers, &Value::Null) {
        return refused;
    }
    match fake.ledger.lock().unwrap().sessions.get(&id) {
        Some(session) => (StatusCode::OK, Json(json!({ "id": id, "status": session.status }))),
        None => error(StatusCode::NOT_FOUND, "No such session."),
    }
}

async fn create_refund(State(fake): State<FakeMyGateway>, headers: HeaderMap, body: Json<Value>) -> Answer {
    if let Some(refused) = fake.admit("POST", "/v1/refunds", &headers, &body) {
        return refused;
    }
    let (Some(payment_id), Some(amount)) =
        (body.get("payment_id").and_then(Value::as_str), body.get("amount").and_then(Value::as_i64))
    else {
        return error(StatusCode::BAD_REQUEST, "payment_id and amount are required.");
    };
    let mut ledger = fake.ledger.lock().unwrap();
    let Some(session) = ledger.sessions.get(payment_id).cloned() else {
        return error(StatusCode::NOT_FOUND, "No such payment.");
    };
    if session.status != "completed" {
        return error(StatusCode::BAD_REQUEST, "Only completed payments can be refunded.");
    }
    let refunded: i64 = ledger.refunds.iter().filter(|(id, _)| id == payment_id).map(|(_, amount)| amount).sum();
    if amount <= 0 || refunded + amount > session.amount {
        return error(StatusCode::BAD_REQUEST, "Refund amount exceeds the remaining payment amount.");
    }
    ledger.refunds.push((payment_id.to_string(), amount));
    (StatusCode::OK, Json(json!({ "id": format!("re_{}", ledger.refunds.len()) })))
}
