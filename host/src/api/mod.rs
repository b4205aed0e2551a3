//! The HTTP API of `API.md` §3, with axum. Handlers are thin: parse, call a service, map the
//! result to JSON. [`router`] builds the whole app so tests can drive it without a socket.

mod auth;
mod error;
mod events;
mod extract;
mod idempotency;
mod integrations;
mod messaging;
mod modules;
mod online_payment;
mod ops;
mod pay_page;
mod payment_links;
mod views;
mod webhooks;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::Router;
use tower_http::trace::TraceLayer;

pub use auth::key_hash;
pub use error::ApiError;

use crate::registry::MAX_COMPONENT_BYTES;
use crate::services::{App, MODULES_USED};

/// Largest request body accepted (webhooks included).
pub const MAX_BODY_BYTES: usize = 1 << 20;

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/api/admin/api_keys", post(modules::create_api_key))
        .route("/api/events", get(events::pull))
        .route("/api/admin/event_endpoints", post(events::add_endpoint))
        .route("/api/admin/events/{id}", get(events::show))
        .route("/api/admin/events/{id}/redeliver", post(events::redeliver))
        .route("/api/modules", get(modules::list))
        .route("/api/modules/{identifier}/versions", get(modules::versions))
        .route(
            "/api/admin/modules",
            post(modules::install).layer(DefaultBodyLimit::max(MAX_COMPONENT_BYTES + MAX_BODY_BYTES)),
        )
        .route("/api/admin/modules/{identifier}/activate", post(modules::activate))
        .route("/api/admin/modules/{identifier}", axum::routing::delete(modules::uninstall))
        .route("/api/integrations", post(integrations::create).get(integrations::list))
        .route(
            "/api/integrations/{id}",
            get(integrations::show).patch(integrations::patch).delete(integrations::delete),
        )
        .route("/api/integrations/{id}/credentials", put(integrations::set_credentials))
        .route("/api/integrations/{id}/enable", post(integrations::enable))
        .route("/api/integrations/{id}/mappings", get(integrations::mappings))
        .route("/api/admin/integrations/{id}/sync", post(integrations::sync_now))
        .route("/api/integrations/{id}/disable", post(integrations::disable))
        .route("/api/online_payment/integrations", get(online_payment::integrations))
        .route("/api/online_payment/initiate", post(online_payment::initiate))
        .route("/api/online_payment/transaction/{id}", get(online_payment::transaction))
        .route("/api/online_payment/transaction/{id}/refund", post(online_payment::refund))
        .route("/api/online_payment/transaction/{id}/sync", post(online_payment::sync))
        .route("/api/online_payment/payments", get(online_payment::payments))
        .route("/api/online_payment/links", post(payment_links::create))
        .route("/pay/{token}", get(pay_page::show).post(pay_page::choose))
        .route("/api/online_payment/return", get(online_payment::payer_returned))
        .route("/api/online_payment/cancel", get(online_payment::payer_cancelled))
        .route("/payment/webhook/{integration_id}", post(webhooks::payment))
        .route("/api/messaging/send", post(messaging::send))
        .route("/api/messaging/messages", get(messaging::list))
        .route("/api/messaging/messages/{id}", get(messaging::show))
        .route("/messaging/webhook/{integration_id}", post(messaging::webhook))
        .fallback(ops::not_found)
        .layer(middleware::from_fn(module_header))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(app)
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
