//! An ERP's event receiver on 127.0.0.1: records each event, whether its
//! `X-Integrations-Signature` checks out under [`ENDPOINT_SECRET`], and what it answered.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::Value;

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
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/erp/events", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Received { failures_left: failures, ..Received::default() }));
        async fn receive(State(seen): State<Arc<Mutex<Received>>>, headers: HeaderMap, body: Bytes) -> StatusCode {
            let text = String::from_utf8(body.to_vec()).unwrap();
            let header = headers["x-integrations-signature"].to_str().unwrap();
            let (t, v1) = header.split_once(",v1=").unwrap();
            let t = t.strip_prefix("t=").unwrap();
            let valid = crate::hmac_sha256_hex(ENDPOINT_SECRET, format!("{t}.{text}").as_bytes()) == v1;
            let event: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(headers["x-integrations-event-id"].to_str().unwrap(), event["id"].to_string());
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
        let app = Router::new().route("/erp/events", post(receive)).with_state(seen.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, seen }
    }

    pub fn requests(&self) -> Vec<(Value, bool, u16)> {
        self.seen.lock().unwrap().requests.clone()
    }

    /// Waits (up to 20 s) until the receiver has answered 200 to `count` events.
    pub async fn wait_for_delivered(&self, count: usize) -> Vec<Value> {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let delivered: Vec<Value> =
                self.requests().into_iter().filter(|(_, _, status)| *status == 200).map(|(e, _, _)| e).collect();
            if delivered.len() >= count {
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
