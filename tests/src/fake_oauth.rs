//! A fake OAuth 2.0 API on 127.0.0.1 for the host's token broker:
//!
//! - `POST /oauth/token`: RFC 6749 §4.4 client credentials, the client authenticated with
//!   HTTP Basic, a form body with `grant_type=client_credentials` (and `scope`); answers
//!   `{"access_token", "token_type": "Bearer", "expires_in"}` with tokens named after
//!   [`TOKEN_PREFIX`], or RFC 6749 §5.2 errors (`invalid_client`, …). It answers after a short
//!   latency, so concurrent calls overlap while a token is on its way.
//! - `GET /echo`: with a live bearer token, answers 200 echoing the `Authorization` header it
//!   got, raw in the `x-echo-authorization` header and in the JSON body, and the token in
//!   base64 and percent-encoded in the body; otherwise 401 `invalid_token`.
//!
//! Tokens can be revoked ([`FakeOAuth::revoke_all`]); every request is recorded.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{json, Value};

use crate::fake_gateway::{endpoint_flag, FakeServer, Recorded, RequestLog};

/// Every token the fake issues starts with this.
pub const TOKEN_PREFIX: &str = "fake-oauth-access-token";
/// How long the token endpoint takes to answer.
const TOKEN_LATENCY: Duration = Duration::from_millis(300);

struct Ledger {
    client_id: String,
    client_secret: String,
    /// `expires_in` of the next tokens; None leaves it out.
    expires_in: Option<u64>,
    /// Answer the token endpoint with this status instead (an outage).
    token_outage: Option<u16>,
    live: HashSet<String>,
    issued: Vec<String>,
}

#[derive(Clone)]
pub struct FakeOAuth {
    pub url: String,
    /// Every request, as it arrived.
    pub requests: RequestLog,
    ledger: Arc<Mutex<Ledger>>,
}

impl FakeOAuth {
    pub async fn start(client_id: &str, client_secret: &str) -> Self {
        let server = FakeServer::bind().await;
        let fake = Self {
            url: server.url.clone(),
            requests: server.requests.clone(),
            ledger: Arc::new(Mutex::new(Ledger {
                client_id: client_id.into(),
                client_secret: client_secret.into(),
                expires_in: Some(3600),
                token_outage: None,
                live: HashSet::new(),
                issued: Vec::new(),
            })),
        };
        server
            .serve(Router::new().route("/oauth/token", post(token)).route("/echo", get(echo)).with_state(fake.clone()));
        fake
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap()
    }

    /// The `--endpoint` flag pointing `module`'s `api` endpoint here.
    pub fn endpoint_flag(&self, module: &str) -> String {
        endpoint_flag(module, &self.url)
    }

    /// `expires_in` of tokens issued from now on (None: not said).
    pub fn set_expires_in(&self, seconds: Option<u64>) {
        self.ledger().expires_in = seconds;
    }

    /// The token endpoint answers `status` (None: works again).
    pub fn set_token_outage(&self, status: Option<u16>) {
        self.ledger().token_outage = status;
    }

    /// Every token issued so far stops working (as if it expired early or was revoked).
    pub fn revoke_all(&self) {
        self.ledger().live.clear();
    }

    pub fn issued_tokens(&self) -> Vec<String> {
        self.ledger().issued.clone()
    }

    pub fn token_requests(&self) -> Vec<Recorded> {
        self.requests.to("POST", "/oauth/token")
    }

    /// The `Authorization` header of every `/echo` request, in order.
    pub fn echoed(&self) -> Vec<Option<String>> {
        self.requests.to("GET", "/echo").iter().map(|r| r.authorization().map(str::to_string)).collect()
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (status, Json(json!({ "error": error, "error_description": description }))).into_response()
}

async fn token(State(fake): State<FakeOAuth>, headers: HeaderMap, body: Bytes) -> Response {
    tokio::time::sleep(TOKEN_LATENCY).await;
    let mut ledger = fake.ledger();
    let authorization = header(&headers, "authorization");
    if let Some(status) = ledger.token_outage {
        return (StatusCode::from_u16(status).unwrap(), "temporarily unavailable").into_response();
    }
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", ledger.client_id, ledger.client_secret));
    if authorization != Some(format!("Basic {basic}")) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Client authentication failed");
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    if !form.iter().any(|(name, value)| name == "grant_type" && value == "client_credentials") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "grant_type must be client_credentials");
    }
    let token = format!("{TOKEN_PREFIX}-{}", ledger.issued.len() + 1);
    ledger.live.insert(token.clone());
    ledger.issued.push(token.clone());
    let mut answer = json!({ "access_token": token, "token_type": "Bearer" });
    if let Some(expires_in) = ledger.expires_in {
        answer["expires_in"] = json!(expires_in);
    }
    Json(answer).into_response()
}

async fn echo(State(fake): State<FakeOAuth>, headers: HeaderMap) -> Response {
    let ledger = fake.ledger();
    let authorization = header(&headers, "authorization");
    let token = authorization.as_deref().and_then(|value| value.strip_prefix("Bearer "));
    let Some(token) = token.filter(|token| ledger.live.contains(*token)).map(str::to_string) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_token", "The access token expired");
    };
    let body: Value = json!({
        "authorization": authorization,
        "base64": base64::engine::general_purpose::STANDARD.encode(&token),
        "form": url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>(),
    });
    ([("x-echo-authorization", authorization.unwrap_or_default())], Json(body)).into_response()
}
