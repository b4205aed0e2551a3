//! The payer's browser: back from the gateway, or giving up there. Public (the reference is
//! 128 random bits), answered with a 303 to the ERP's page.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use crate::services::App;

use super::openapi::errors::{Errors, Gateway, NotFound, PayerRoutes, Provider, Secrets, StorageFault};
use super::ApiError;

fn query_pairs(raw: Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect()
}

fn txn_of(pairs: &[(String, String)]) -> Result<String, ApiError> {
    pairs
        .iter()
        .find(|(name, _)| name == "txn")
        .map(|(_, value)| value.clone())
        .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "missing_txn", "The `txn` query parameter is required."))
}

/// Public: the payer's browser returns here from the gateway; the provider reads the
/// outcome, and the payer is sent to `return_url` (or `cancel_url` when it failed), with
/// `txn=REF` appended. Every other query parameter is handed to the provider.
#[utoipa::path(
    get,
    path = "/api/online_payment/return",
    operation_id = "payer_returned",
    tag = "payer",
    params(("txn" = String, Query, description = "The transaction's reference.")),
    security(()),
    responses(
        (status = 303, description = "To the ERP's page.", headers(("Location" = String))),
        Errors<(PayerRoutes, NotFound, StorageFault, Provider, Gateway, Secrets)>,
    ),
)]
pub async fn returned(State(app): State<Arc<App>>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let pairs = query_pairs(raw);
    let reference = txn_of(&pairs)?;
    let destination = app.payer_returned(&reference, pairs).await?;
    Ok(Redirect::to(&destination).into_response())
}

/// Public: the payer gave up at the gateway; Cancelled unless already final.
#[utoipa::path(
    get,
    path = "/api/online_payment/cancel",
    operation_id = "payer_cancelled",
    tag = "payer",
    params(("txn" = String, Query, description = "The transaction's reference.")),
    security(()),
    responses(
        (status = 303, description = "To the ERP's `cancel_url`.", headers(("Location" = String))),
        Errors<(PayerRoutes, NotFound, StorageFault)>,
    ),
)]
pub async fn cancelled(State(app): State<Arc<App>>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let reference = txn_of(&query_pairs(raw))?;
    let destination = app.payer_cancelled(&reference).await?;
    Ok(Redirect::to(&destination).into_response())
}
