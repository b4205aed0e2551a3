//! The HTTP API of `API.md` §3, with axum. Handlers are thin: parse, call a service, map the
//! result to JSON. [`router`] builds the whole app so tests can drive it without a socket.

mod api_keys;
mod auth;
mod body_limit;
mod error;
mod events;
mod extract;
mod idempotency;
mod integrations;
mod json_errors;
mod messaging;
mod module_upload;
mod modules;
mod online_payment;
pub mod openapi;
mod ops;
mod pay_page;
mod payer;
mod payment_integrations;
mod payment_links;
mod payment_operations;
mod request_id;
mod routes;
mod saved_methods;
mod views;
mod webhooks;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use body_limit::{BodyLimit, MAX_BODY_BYTES};
pub use error::ApiError;
pub use request_id::X_REQUEST_ID;
pub use routes::{routes, RouteInfo};

use crate::services::{App, MODULES_USED};

/// What every answer without a policy of its own gets: the host's origin also serves the
/// payment pages, so nothing it answers may run script, load anything or be sniffed as HTML.
const DEFAULT_CSP: &str = "default-src 'none'";

pub fn router(app: Arc<App>) -> Router {
    let routes = routes::table().router.fallback(ops::not_found).method_not_allowed_fallback(ops::method_not_allowed);
    answer_rules(routes)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .layer(middleware::from_fn(request_id::request_id))
        .with_state(app)
}

/// What every answer passes through, outside in (the last layer added runs first): the
/// public-origin headers, the JSON safety net, the module header, and the panic catcher right
/// around each handler (so a panic still gets the module header and the JSON shape).
fn answer_rules<S: Clone + Send + Sync + 'static>(routes: Router<S>) -> Router<S> {
    routes
        .layer(CatchPanicLayer::custom(json_errors::panic_answer))
        .layer(middleware::from_fn(module_header))
        .layer(middleware::from_fn(json_errors::json_errors))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DEFAULT_CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
}

/// Names the module versions that served a request in `Integrations-Module`, so a client
/// sees exactly which version answered it (useful across upgrades).
async fn module_header(request: Request, next: Next) -> Response {
    let scoped = async {
        let response = next.run(request).await;
        (response, MODULES_USED.with(|used| used.borrow().join(", ")))
    };
    let (mut response, used) = MODULES_USED.scope(std::cell::RefCell::new(Vec::new()), scoped).await;
    if let Ok(value) = HeaderValue::from_str(&used) {
        if !used.is_empty() {
            response.headers_mut().insert("integrations-module", value);
        }
    }
    response
}
