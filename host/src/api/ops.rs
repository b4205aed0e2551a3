//! Operations routes, and the answers for requests no route takes.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use axum::Json;

use super::openapi::errors::{Errors, NotReady};
use super::views::{Health, Ready};
use super::ApiError;
use crate::services::App;
use crate::services::WRITE_CHECK_TIMEOUT;

/// The process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "operations",
    security(()),
    responses((status = 200, description = "The process is up.", body = Health), Errors<()>),
)]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Ready when the database takes a write: one small row committed within
/// [`WRITE_CHECK_TIMEOUT`] (the modules are loaded before the host accepts any request).
/// Otherwise 503 `storage_unavailable`, so a load balancer sends requests elsewhere while
/// writes fail, and back the moment they work again.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "operations",
    security(()),
    responses((status = 200, description = "The database takes writes; the modules are loaded.", body = Ready), Errors<NotReady>),
)]
pub async fn readyz(State(app): State<Arc<App>>) -> Result<Json<Ready>, ApiError> {
    if let Err(error) = app.check_writes().await {
        tracing::warn!(%error, "not ready: the database does not take writes");
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            format!(
                "The database does not take writes (a test write failed or took over {} s); the host is not ready.",
                WRITE_CHECK_TIMEOUT.as_secs()
            ),
        ));
    }
    let missing = app.modules_not_loaded().await.map_err(ApiError::from)?;
    if !missing.is_empty() {
        tracing::warn!(modules = %missing.join(", "), "not ready: modules recorded live are not loaded");
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "modules_unavailable",
            format!("Modules recorded live are not loaded on this host: {}.", missing.join(", ")),
        ));
    }
    Ok(Json(Ready { status: "ready", modules: app.registry.all().len() }))
}

/// `GET /metrics`: Prometheus text, public on the operator's network (API.md §3). Nothing
/// on it names a company, an integration or a reference.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    security(()),
    responses(
        (
            status = 200,
            description = "The host's metrics in Prometheus text (version 0.0.4); README lists the families.",
            body = String,
            content_type = "text/plain; version=0.0.4; charset=utf-8"
        ),
        Errors<NotReady>,
    ),
)]
pub async fn metrics(State(app): State<Arc<App>>) -> Result<impl IntoResponse, ApiError> {
    let page = app.metrics_page().await?;
    Ok(([(CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], page))
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such route.")
}

/// A route that exists, asked with a method it does not take (axum adds `Allow`).
pub async fn method_not_allowed(method: Method) -> ApiError {
    super::json_errors::method_not_allowed(&method)
}
