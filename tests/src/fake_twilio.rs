//! A fake Twilio on 127.0.0.1 speaking its REST API: `GET /2010-04-01/Accounts/{sid}.json`
//! and `POST /2010-04-01/Accounts/{sid}/Messages.json` (form-encoded), HTTP basic auth of
//! the account SID and auth token, Twilio's JSON error bodies. Records every request and every
//! message it sent.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{json, Value};

use crate::fake_gateway::{endpoint_flag, FakeServer, RequestLog};

pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "7f3a9c0e5b1d4a2f8c6e0b3d9a7f1c5e";

#[derive(Debug, Clone)]
pub struct SentMessage {
    pub sid: String,
    pub params: Vec<(String, String)>,
}

impl SentMessage {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

#[derive(Default)]
struct Ledger {
    messages: Vec<SentMessage>,
    outage: Option<(u16, i64, String)>,
}

#[derive(Clone)]
pub struct FakeTwilio {
    pub url: String,
    pub requests: RequestLog,
    ledger: Arc<Mutex<Ledger>>,
}

type Answer = (StatusCode, Json<Value>);

fn twilio_error(status: u16, code: i64, message: &str) -> Answer {
    (
        StatusCode::from_u16(status).unwrap(),
        Json(
            json!({ "code": code, "message": message, "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status }),
        ),
    )
}

impl FakeTwilio {
    pub async fn start() -> Self {
        let server = FakeServer::bind().await;
        let fake = Self { url: server.url.clone(), requests: server.requests.clone(), ledger: Arc::default() };
        server.serve(
            Router::new()
                .route("/2010-04-01/Accounts/{account}", get(account))
                .route("/2010-04-01/Accounts/{account}/Messages.json", post(create_message))
                .with_state(fake.clone()),
        );
        fake
    }

    pub fn endpoint_flag(&self) -> String {
        endpoint_flag("sms_twilio", &self.url)
    }

    pub fn messages(&self) -> Vec<SentMessage> {
        self.ledger.lock().unwrap().messages.clone()
    }

    /// Every API call answers this error until cleared.
    pub fn set_outage(&self, outage: Option<(u16, i64, &str)>) {
        self.ledger.lock().unwrap().outage = outage.map(|(status, code, message)| (status, code, message.to_string()));
    }

    fn admit(&self, account: &str, headers: &HeaderMap) -> Option<Answer> {
        let ledger = self.ledger.lock().unwrap();
        if let Some((status, code, message)) = &ledger.outage {
            return Some(twilio_error(*status, *code, message));
        }
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"))
        );
        let given = headers.get("authorization").and_then(|v| v.to_str().ok());
        if given != Some(expected.as_str()) || account != ACCOUNT_SID {
            return Some(twilio_error(401, 20003, "Authenticate"));
        }
        None
    }
}

async fn account(State(fake): State<FakeTwilio>, Path(account): Path<String>, headers: HeaderMap) -> Answer {
    let Some(sid) = account.strip_suffix(".json") else {
        return twilio_error(404, 20404, "The requested resource was not found");
    };
    if let Some(refused) = fake.admit(sid, &headers) {
        return refused;
    }
    (StatusCode::OK, Json(json!({ "sid": sid, "friendly_name": "Test account", "status": "active" })))
}

async fn create_message(
    State(fake): State<FakeTwilio>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    if let Some(refused) = fake.admit(&account, &headers) {
        return refused;
    }
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/x-www-form-urlencoded") {
        return twilio_error(400, 20001, "Content-Type must be application/x-www-form-urlencoded");
    }
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let param = |name: &str| params.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    if param("To").is_none() {
        return twilio_error(400, 21604, "A 'To' phone number is required.");
    }
    if param("Body").is_none() {
        return twilio_error(400, 21602, "Message body is required.");
    }
    if param("From").is_none() && param("MessagingServiceSid").is_none() {
        return twilio_error(400, 21603, "A 'From' phone number is required.");
    }
    let mut ledger = fake.ledger.lock().unwrap();
    let sid = format!("SM{:032x}", ledger.messages.len() + 1);
    ledger.messages.push(SentMessage { sid: sid.clone(), params: params.clone() });
    (
        StatusCode::CREATED,
        Json(json!({
            "sid": sid, "account_sid": account, "status": "queued", "to": param("To"), "from": param("From"),
            "body": param("Body"), "messaging_service_sid": param("MessagingServiceSid"), "num_segments": "1",
        })),
    )
}
