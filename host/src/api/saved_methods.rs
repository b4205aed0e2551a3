//! Saved payment methods and merchant-initiated charges (contract 1.1):
//! `GET /api/online_payment/payment_methods`, `DELETE …/payment_methods/{id}` and
//! `POST /api/online_payment/charge`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::services::charge::ChargeRequest;
use crate::services::{App, Caller};

use super::extract::{parse_json, ApiQuery, Id, JsonBody};
use super::idempotency::idempotent;
use super::openapi::errors::{
    Auth, CompanyScope, Errors, Gateway, Idempotency, InitiateRules, JsonInput, Money, NotFound, PathId, Provider,
    QueryInput, Secrets, Unsupported,
};
use super::views::{PaymentMethod, Transaction};
use super::ApiError;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PaymentMethodsQuery {
    /// Only this company's (a company key sees only its own).
    #[serde(default, deserialize_with = "crate::services::json_integer::query_optional")]
    company_id: Option<i64>,
    /// Only this ERP contact's.
    contact_id: Option<String>,
}

/// Saved payment methods, newest first (at most 1,000).
#[utoipa::path(
    get,
    path = "/api/online_payment/payment_methods",
    operation_id = "list_payment_methods",
    tag = "online payment",
    params(PaymentMethodsQuery),
    security(("admin_key" = []), ("company_key" = [])),
    responses((status = 200, description = "The methods; never a gateway token.", body = Vec<PaymentMethod>), Errors<(Auth, QueryInput, CompanyScope)>),
)]
pub async fn list(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PaymentMethodsQuery>,
) -> Result<Json<Vec<PaymentMethod>>, ApiError> {
    let company = caller.company_filter(query.company_id)?;
    let rows = app.payment_methods(company, query.contact_id.as_deref()).await?;
    Ok(Json(rows.iter().map(PaymentMethod::from).collect()))
}

/// Deletes a saved method at the gateway, then here.
#[utoipa::path(
    delete,
    path = "/api/online_payment/payment_methods/{id}",
    operation_id = "delete_payment_method",
    tag = "online payment",
    params(("id" = i64, Path, example = 1, description = "The saved method's id.")),
    security(("admin_key" = []), ("company_key" = [])),
    responses((status = 204, description = "Deleted."), Errors<(Auth, PathId, NotFound, (Provider, Gateway, Secrets))>),
)]
pub async fn delete(State(app): State<Arc<App>>, caller: Caller, Id(id): Id) -> Result<StatusCode, ApiError> {
    app.delete_payment_method(caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A merchant-initiated payment with a saved method, no payer present.
#[utoipa::path(
    post,
    path = "/api/online_payment/charge",
    operation_id = "charge_payment_method",
    tag = "online payment",
    request_body = ChargeRequest,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Names the charge: a retry answers it, never a second charge.")),
    security(("admin_key" = []), ("company_key" = [])),
    responses(
        (status = 201, description = "The transaction: Captured, or Pending when the gateway reports it later.", body = Transaction),
        Errors<(Auth, JsonInput, Idempotency, NotFound, Money, InitiateRules, Unsupported, (Provider, Gateway, Secrets))>,
    ),
)]
pub async fn charge(
    State(app): State<Arc<App>>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Response {
    idempotent(&app, caller, &headers, "charge", &body, || async {
        let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
        let row = app.charge(caller, parse_json(&body)?, key).await?;
        let (log, refunds) = (app.webhook_log_of(row.id).await?, app.refunds_of(row.id).await?);
        Ok((StatusCode::CREATED, Transaction::new(&row, &log, &refunds)))
    })
    .await
}
