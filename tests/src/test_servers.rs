//! Small servers on 127.0.0.1 that are not gateways: a raw TCP counter for "was this ever
//! contacted", an echo that reflects what it was sent, and a server that compresses answers
//! nobody asked to be compressed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::http::HeaderMap;
use axum::Router;
use base64::Engine as _;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::fake_gateway::FakeServer;

/// What a [`ConnectionCounter`] does with a connection after counting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConnect {
    /// Reads the request and answers `200 OK` with an empty body.
    AnswerOk,
    /// Reads the request and answers a gzip-encoded body (as a gateway might, unasked).
    AnswerGzip,
}

/// A raw TCP server on 127.0.0.1 that counts every connection, below HTTP: a request refused
/// before it was sent leaves the count unchanged.
pub struct ConnectionCounter {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    connections: Arc<AtomicUsize>,
}

impl ConnectionCounter {
    pub async fn start(on_connect: OnConnect) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port on 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buffer = [0u8; 4096];
                    let _ = stream.read(&mut buffer).await;
                    let body: &[u8] = if on_connect == OnConnect::AnswerGzip {
                        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
                    } else {
                        b""
                    };
                    let encoding = if on_connect == OnConnect::AnswerGzip { "content-encoding: gzip\r\n" } else { "" };
                    let head = format!(
                        "HTTP/1.1 200 OK\r\n{encoding}content-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(body).await;
                });
            }
        });
        Self { url, connections }
    }

    pub fn port(&self) -> u16 {
        self.url.rsplit(':').next().unwrap().parse().unwrap()
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// An endpoint that reflects what it was sent, as some gateways do in errors and debug modes:
/// the `Authorization` header in its body and in an `x-echo-authorization` header, the
/// `x-basic` header, and the `x-raw` header raw, base64-encoded and URL-encoded.
pub struct EchoServer {
    pub url: String,
}

impl EchoServer {
    pub async fn start() -> Self {
        let server = FakeServer::bind().await;
        let echo = Self { url: server.url.clone() };
        server.serve(Router::new().fallback(reflect));
        echo
    }
}

async fn reflect(headers: HeaderMap) -> impl axum::response::IntoResponse {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let raw = get("x-raw");
    let body = json!({
        "authorization": get("authorization"),
        "basic": get("x-basic"),
        "raw": raw,
        "raw_base64": base64::engine::general_purpose::STANDARD.encode(&raw),
        "raw_urlencoded": url::form_urlencoded::byte_serialize(raw.as_bytes()).collect::<String>(),
    });
    ([("x-echo-authorization", get("authorization"))], axum::Json(body))
}
