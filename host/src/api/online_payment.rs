//! `/api/online_payment/…`: the backbone's routes for the ERP (the payer's return and cancel
//! are in `payer.rs`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::provider::payment::SessionAction;
use crate::services::online_payment::InitiateRequest;
use crate::services::refunds::RefundRequest;
use crate::services::{App, Caller};

use super::extract::{parse_json, parse_optional_json, ApiQuery, Id, JsonBody};
use super::idempotency::idempotent;
use super::openapi::errors::{
    Auth, CompanyScope, Errors, Gateway, Idempotency, InitiateRules, JsonInput, Money, NotFound, PathId, PaymentOnly,
    Provider, QueryInput, RefundRules, Secrets, Unsupported,
};
use super::views::{Initiated, Payment, RefundResult, Transaction};
use super::ApiError;

/// Starts a payment: the transaction is stored, then the gateway's session is made.
#[utoipa::path(
    post,
    path = "/api/online_payment/initiate",
    operation_id = "initiate_payment",
    tag = "online payment",
    request_body = InitiateRequest,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "A retry with the same key and body gets the first answer.")),
    security(("admin_key" = []), ("company_key" = [])),
    responses(
        (status = 201, description = "The transaction and what the payer must do.", body = Initiated),
        Errors<(Auth, JsonInput, Idempotency, CompanyScope, NotFound, Money, InitiateRules, Unsupported, PaymentOnly, (Provider, Gateway, Secrets))>,
    ),
)]
pub async fn initiate(
    State(app): State<Arc<App>>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Response {
    idempotent(&app, caller, &headers, "initiate", &body, || async {
        let initiated = app.initiate(caller, parse_json(&body)?).await?;
        let transaction = &initiated.transaction;
        let mut answer = Initiated {
            transaction_id: transaction.id,
            reference: transaction.reference.clone(),
            integration_type: initiated.integration_type.wire_name().to_string(),
            redirect_url: None,
            client_config: None,
            qr_code: None,
            qr_code_image_url: None,
            qr_code_expires_at: None,
        };
        match initiated.action {
            SessionAction::Redirect(url) => answer.redirect_url = Some(url),
            SessionAction::EmbeddedJs(config) => {
                answer.client_config = Some(serde_json::from_str(&config).unwrap_or_default())
            }
            SessionAction::QrCode(code) => {
                answer.qr_code = Some(code.payload);
                answer.qr_code_image_url = code.image_url;
                answer.qr_code_expires_at = code.expires_at.and_then(|at| {
                    let at = chrono::DateTime::from_timestamp(i64::try_from(at).ok()?, 0)?;
                    Some(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                });
            }
        }
        Ok((StatusCode::CREATED, answer))
    })
    .await
}

/// A transaction with its webhook log.
#[utoipa::path(
    get,
    path = "/api/online_payment/transaction/{id}",
    operation_id = "show_transaction",
    tag = "online payment",
    params(("id" = i64, Path, example = 1, description = "The transaction's id.")),
    security(("admin_key" = []), ("company_key" = [])),
    responses((status = 200, description = "The transaction.", body = Transaction), Errors<(Auth, PathId, NotFound)>),
)]
pub async fn transaction(
    State(app): State<Arc<App>>,
    caller: Caller,
    Id(id): Id,
) -> Result<Json<Transaction>, ApiError> {
    let row = app.visible_transaction(caller, id).await?;
    let (log, refunds) = (app.webhook_log_of(row.id).await?, app.refunds_of(row.id).await?);
    Ok(Json(Transaction::new(&row, &log, &refunds)))
}

/// Re-fetches the transaction's state from the gateway and applies it.
#[utoipa::path(
    post,
    path = "/api/online_payment/transaction/{id}/sync",
    operation_id = "sync_transaction",
    tag = "online payment",
    params(("id" = i64, Path, example = 1, description = "The transaction's id.")),
    security(("admin_key" = []), ("company_key" = [])),
    responses(
        (status = 200, description = "The transaction.", body = Transaction),
        Errors<(Auth, PathId, NotFound, Provider, Gateway, Secrets)>,
    ),
)]
pub async fn sync(State(app): State<Arc<App>>, caller: Caller, Id(id): Id) -> Result<Json<Transaction>, ApiError> {
    let row = app.sync_transaction(caller, id).await?;
    let (log, refunds) = (app.webhook_log_of(row.id).await?, app.refunds_of(row.id).await?);
    Ok(Json(Transaction::new(&row, &log, &refunds)))
}

/// Refunds a captured payment, all that is left or `amount`; partial refunds add up.
#[utoipa::path(
    post,
    path = "/api/online_payment/transaction/{id}/refund",
    operation_id = "refund_transaction",
    tag = "online payment",
    params(
        ("id" = i64, Path, example = 1, description = "The transaction's id."),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Names the refund: a retry repeats it, never a second one."),
    ),
    request_body(content = Option<RefundRequest>, description = "Empty, `null` or without `amount`: all that is left."),
    security(("admin_key" = []), ("company_key" = [])),
    responses(
        (status = 200, description = "The refund's result; `success: false` when the gateway refused it.", body = RefundResult),
        Errors<(Auth, PathId, JsonInput, Idempotency, NotFound, Money, RefundRules, Unsupported, (Provider, Gateway, Secrets))>,
    ),
)]
pub async fn refund(
    State(app): State<Arc<App>>,
    caller: Caller,
    Id(id): Id,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Response {
    let route = format!("refund:{id}");
    idempotent(&app, caller, &headers, &route, &body, || async {
        // No body, or JSON `null` (the document's nullable body): all that is left.
        let request = parse_optional_json(&body)?;
        let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
        let outcome = app.refund(caller, id, request, key).await?;
        Ok((StatusCode::OK, RefundResult::from(&outcome)))
    })
    .await
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PaymentsQuery {
    document_model: Option<String>,
    #[serde(default, deserialize_with = "crate::services::json_integer::query_optional")]
    document_id: Option<i64>,
    /// Only this company's (a company key sees only its own).
    #[serde(default, deserialize_with = "crate::services::json_integer::query_optional")]
    company_id: Option<i64>,
}

/// Payment records, by document.
#[utoipa::path(
    get,
    path = "/api/online_payment/payments",
    operation_id = "list_payments",
    tag = "online payment",
    params(PaymentsQuery),
    security(("admin_key" = []), ("company_key" = [])),
    responses((status = 200, description = "The payments.", body = Vec<Payment>), Errors<(Auth, QueryInput, CompanyScope)>),
)]
pub async fn payments(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PaymentsQuery>,
) -> Result<Json<Vec<Payment>>, ApiError> {
    let company = caller.company_filter(query.company_id)?;
    let rows = app.payments_of(company, query.document_model.as_deref(), query.document_id).await?;
    Ok(Json(rows.iter().map(Payment::from).collect()))
}
