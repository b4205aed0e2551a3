//! An ERP's event receiver on 127.0.0.1: records each request (signed or not), whether its
//! `X-Integrations-Signature` checks out under [`ENDPOINT_SECRET`] and its
//! `X-Integrations-Event-Id` names the event, and what it answered.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::Value;

use crate::fake_gateway::FakeServer;

/// The secret the receiver checks signatures with.
pub const ENDPOINT_SECRET: &str = "erp-endpoint-secret-0001";

/// What the ERP's receiver saw: each request's event, whether its signature checked out,
/// and the status it answered.
#[derive(Default)]
struct Received {
    requests: Vec<(Value, bool, u16)>,
    failures_left: usize,
}

pub struct EventReceiver {
    pub url: String,
    seen: Arc<Mutex<Received>>,
}

impl EventReceiver {
    /// A receiver on 127.0.0.1 that answers 500 to its first `failures` requests.
    pub async fn start(failures: usize) -> Self {
        let server = FakeServer::bind().await;
        let url = format!("{}/erp/events", server.url);
        let seen = Arc::new(Mutex::new(Received { failures_left: failures, ..Received::default() }));
        async fn receive(State(seen): State<Arc<Mutex<Received>>>, headers: HeaderMap, body: Bytes) -> StatusCode {
            let text = String::from_utf8_lossy(&body).into_owned();
            // An unsigned or malformed signature is recorded as invalid, never skipped.
            let signed = headers
                .get("x-integrations-signature")
                .and_then(|v| v.to_str().ok())
                .and_then(|header| header.split_once(",v1="))
                .and_then(|(t, v1)| Some((t.strip_prefix("t=")?, v1)));
            let valid = signed
                .is_some_and(|(t, v1)| crate::hmac_sha256_hex(ENDPOINT_SECRET, format!("{t}.{text}").as_bytes()) == v1);
            let event: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let id_header = headers.get("x-integrations-event-id").and_then(|v| v.to_str().ok());
            let valid = valid && id_header == Some(event["id"].to_string().as_str());
            let mut seen = seen.lock().unwrap();
            let status = if seen.failures_left > 0 {
                seen.failures_left -= 1;
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::OK
            };
            seen.requests.push((event, valid, status.as_u16()));
            status
        }
        server.serve(Router::new().route("/erp/events", post(receive)).with_state(seen.clone()));
        Self { url, seen }
    }

    /// From now on, answers 500 to the next `failures` requests (then 200).
    pub fn fail_next(&self, failures: usize) {
        self.seen.lock().unwrap().failures_left = failures;
    }

    pub fn requests(&self) -> Vec<(Value, bool, u16)> {
        self.seen.lock().unwrap().requests.clone()
    }

    /// Waits (up to 20 s) until the receiver has answered 200 to `count` deliveries (an event
    /// delivered twice counts twice).
    pub async fn wait_for_delivered(&self, count: usize) -> Vec<Value> {
        self.wait_until_delivered(count, |delivered| delivered.len()).await
    }

    /// Waits (up to 20 s) until the receiver has answered 200 to `count` different events (by
    /// `id`), however often any of them came; every delivery answered 200.
    pub async fn wait_for_each_delivered(&self, count: usize) -> Vec<Value> {
        let distinct = |delivered: &[Value]| {
            delivered.iter().map(|event| event["id"].clone()).collect::<std::collections::HashSet<_>>().len()
        };
        self.wait_until_delivered(count, distinct).await
    }

    async fn wait_until_delivered(&self, count: usize, counted: impl Fn(&[Value]) -> usize) -> Vec<Value> {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let delivered: Vec<Value> =
                self.requests().into_iter().filter(|(_, _, status)| *status == 200).map(|(e, _, _)| e).collect();
            if counted(&delivered) >= count {
                return delivered;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "only {} of {count} events delivered: {:?}",
                delivered.len(),
                self.requests()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
