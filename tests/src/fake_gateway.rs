//! The scaffold every fake gateway (and other test server) stands on: a socket on 127.0.0.1
//! bound before the fake's router is built (a fake often needs its own URL in its answers),
//! a recording layer that keeps every request as it arrived, and the `--endpoint` flag that
//! points a module's endpoint at the fake.
//!
//! ```ignore
//! let server = FakeServer::bind().await;
//! let fake = MyFake { url: server.url.clone(), requests: server.requests.clone(), … };
//! server.serve(Router::new().route(…).with_state(fake.clone()));
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use serde_json::Value;

/// The most of a request body the recorder keeps; a larger body is answered 413 by the
/// recorder itself (no test sends one on purpose).
const MAX_RECORDED_BODY: usize = 16 * 1024 * 1024;

/// One request as a fake received it, before its handler ran. Handlers can take it as
/// `Extension<Recorded>`.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Lower-case names; a repeated header keeps its last value.
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    pub fn authorization(&self) -> Option<&str> {
        self.header("authorization")
    }

    pub fn idempotency_key(&self) -> Option<&str> {
        self.header("idempotency-key")
    }

    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }

    /// The body as JSON; Null when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// Every request a fake received, in arrival order; cheap to clone, shared with the
/// recording layer.
#[derive(Clone, Default)]
pub struct RequestLog(Arc<Mutex<Vec<Recorded>>>);

impl RequestLog {
    pub fn all(&self) -> Vec<Recorded> {
        self.0.lock().unwrap().clone()
    }

    /// The requests to `method path`, in order.
    pub fn to(&self, method: &str, path: &str) -> Vec<Recorded> {
        self.0.lock().unwrap().iter().filter(|r| r.method == method && r.path == path).cloned().collect()
    }

    pub fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    fn push(&self, recorded: Recorded) {
        self.0.lock().unwrap().push(recorded)
    }
}

/// A socket bound on 127.0.0.1 with its request log, waiting for the router to serve.
pub struct FakeServer {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub url: String,
    pub requests: RequestLog,
    listener: tokio::net::TcpListener,
}

impl FakeServer {
    pub async fn bind() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port on 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().unwrap());
        Self { url, requests: RequestLog::default(), listener }
    }

    /// Serves `app` behind the recording layer until the test's runtime ends.
    pub fn serve(self, app: Router) {
        let log = self.requests;
        let app = app.layer(axum::middleware::from_fn(move |request: Request, next: Next| {
            let log = log.clone();
            async move { record(log, request, next).await }
        }));
        tokio::spawn(async move { axum::serve(self.listener, app).await.expect("the fake server runs") });
    }
}

async fn record(log: RequestLog, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_RECORDED_BODY).await else {
        return Response::builder().status(413).body(Body::from("request body too large to record")).unwrap();
    };
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| (name.as_str().to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect();
    let recorded = Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
    log.push(recorded.clone());
    let mut request = Request::from_parts(parts, Body::from(bytes));
    request.extensions_mut().insert(recorded);
    next.run(request).await
}

/// The `--endpoint` flag pointing `module`'s `api` endpoint at `url`.
pub fn endpoint_flag(module: &str, url: &str) -> String {
    format!("{module}.api={url}")
}
