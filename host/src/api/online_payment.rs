//! `/api/online_payment/…`: the backbone's routes.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::domain::manifest::IntegrationCategory;
use crate::domain::money::{format_minor, Currency};
use crate::runtime::bindings::v1::types::SessionAction;
use crate::services::refunds::RefundOutcome;
use crate::services::{App, Caller};

use super::extract::{parse_json, ApiQuery, Id, JsonBody};
use super::idempotency::idempotent;
use super::{views, ApiError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanyQuery {
    company_id: Option<i64>,
}

/// Enabled payment integrations in `payment_sequence` order, for a payment page.
pub async fn integrations(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<CompanyQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let rows =
        app.list_integrations(caller, query.company_id, Some(IntegrationCategory::OnlinePayment.as_str())).await?;
    let listed: Vec<_> = rows
        .iter()
        .filter(|row| row.is_enabled())
        .filter_map(|row| app.registry.get(&row.module).map(|module| (row, module)))
        .map(|(row, module)| {
            json!({
                "id": row.id,
                "display_name": row.payment_display_name.clone().unwrap_or_else(|| row.name.clone()),
                "integration_type": row.payment_integration_type,
                "module": row.module,
                "image": module.manifest.image,
                "test_mode": row.test_mode(),
                "company_id": row.company_id,
                "payment_sequence": row.payment_sequence,
            })
        })
        .collect();
    Ok(Json(listed.into()))
}

pub async fn initiate(
    State(app): State<Arc<App>>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Response {
    idempotent(&app, caller, &headers, "initiate", &body, || async {
        let initiated = app.initiate(caller, parse_json(&body)?).await?;
        let transaction = &initiated.transaction;
        let mut answer = json!({
            "transaction_id": transaction.id,
            "reference": transaction.reference,
            "integration_type": initiated.integration_type.wire_name(),
        });
        match initiated.action {
            SessionAction::Redirect(url) => answer["redirect_url"] = url.into(),
            SessionAction::EmbeddedJs(config) => {
                answer["client_config"] = serde_json::from_str(&config).unwrap_or_default()
            }
            SessionAction::QrCode(payload) => answer["qr_code"] = payload.into(),
        }
        Ok((StatusCode::CREATED, answer))
    })
    .await
}

pub async fn transaction(
    State(app): State<Arc<App>>,
    caller: Caller,
    Id(id): Id,
) -> Result<Json<serde_json::Value>, ApiError> {
    let row = app.visible_transaction(caller, id).await?;
    let log = app.webhook_log_of(row.id).await?;
    Ok(Json(views::transaction(&row, &log)))
}

/// Re-fetches the transaction's state from the gateway and applies it.
pub async fn sync(
    State(app): State<Arc<App>>,
    caller: Caller,
    Id(id): Id,
) -> Result<Json<serde_json::Value>, ApiError> {
    let row = app.sync_transaction(caller, id).await?;
    let log = app.webhook_log_of(row.id).await?;
    Ok(Json(views::transaction(&row, &log)))
}

pub async fn refund(
    State(app): State<Arc<App>>,
    caller: Caller,
    Id(id): Id,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Response {
    let route = format!("refund:{id}");
    idempotent(&app, caller, &headers, &route, &body, || async {
        let request = if body.iter().all(u8::is_ascii_whitespace) { parse_json(b"{}")? } else { parse_json(&body)? };
        let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
        let outcome = app.refund(caller, id, request, key).await?;
        Ok((StatusCode::OK, refund_answer(&outcome)))
    })
    .await
}

fn refund_answer(outcome: &RefundOutcome) -> serde_json::Value {
    let transaction = &outcome.transaction;
    let refunded = Currency::parse(&transaction.currency).map(|c| format_minor(transaction.refunded_minor, c)).ok();
    json!({
        "success": outcome.success,
        "refund_reference": outcome.refund_reference,
        "refunded_amount": refunded,
        "refunded_minor": transaction.refunded_minor,
        "state": transaction.state,
        "error_message": outcome.error_message,
        "transaction_id": transaction.id,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentsQuery {
    document_model: Option<String>,
    document_id: Option<i64>,
    company_id: Option<i64>,
}

pub async fn payments(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PaymentsQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let company = caller.company_filter(query.company_id)?;
    let rows = app.payments_of(company, query.document_model.as_deref(), query.document_id).await?;
    Ok(Json(rows.iter().map(views::payment).collect()))
}

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

/// Public: the payer's browser returns here from the gateway.
pub async fn payer_returned(State(app): State<Arc<App>>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let pairs = query_pairs(raw);
    let reference = txn_of(&pairs)?;
    let destination = app.payer_returned(&reference, pairs).await?;
    Ok(Redirect::to(&destination).into_response())
}

/// Public: the payer gave up at the gateway.
pub async fn payer_cancelled(State(app): State<Arc<App>>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let reference = txn_of(&query_pairs(raw))?;
    let destination = app.payer_cancelled(&reference).await?;
    Ok(Redirect::to(&destination).into_response())
}
