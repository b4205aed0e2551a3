//! Capture and void of authorized payments (contract 1.1): `POST …/transaction/{id}/capture`
//! and `…/void`, each answering the transaction. An Idempotency-Key names the operation: a
//! retry answers its outcome, sending it to the gateway again (with the same id) only while
//! it is unresolved.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::services::payment_operations::CaptureRequest;
use crate::services::records::TransactionRow;
use crate::services::{App, Caller};

use super::extract::{parse_optional_json, Id, JsonBody};
use super::idempotency::idempotent;
use super::openapi::errors::{
    Auth, CaptureRules, Errors, Gateway, Idempotency, JsonInput, Money, NotFound, PathId, Provider, Secrets,
    Unsupported,
};
use super::views::Transaction;
use super::ApiError;

async fn view(app: &App, row: TransactionRow) -> Result<(StatusCode, Transaction), ApiError> {
    let (log, refunds) = (app.webhook_log_of(row.id).await?, app.refunds_of(row.id).await?);
    Ok((StatusCode::OK, Transaction::new(&row, &log, &refunds)))
}

fn key(headers: &HeaderMap) -> Option<&str> {
    headers.get("idempotency-key").and_then(|v| v.to_str().ok())
}

/// Captures an Authorized payment, all of it or `amount` (a partial capture releases the
/// rest, where the gateway does so).
#[utoipa::path(
    post,
    path = "/api/online_payment/transaction/{id}/capture",
    operation_id = "capture_transaction",
    tag = "online payment",
    params(
        ("id" = i64, Path, example = 1, description = "The transaction's id."),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Names the capture: a retry repeats it, never a second one."),
    ),
    request_body(content = Option<CaptureRequest>, description = "Empty, `null` or without `amount`: the whole amount."),
    security(("admin_key" = []), ("company_key" = [])),
    responses(
        (status = 200, description = "The transaction: Captured, or still Authorized when the gateway reports the capture later.", body = Transaction),
        Errors<(Auth, PathId, JsonInput, Idempotency, NotFound, Money, CaptureRules, Unsupported, (Provider, Gateway, Secrets))>,
    ),
)]
pub async fn capture(
    State(app): State<Arc<App>>,
    caller: Caller,
    Id(id): Id,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Response {
    let route = format!("capture:{id}");
    idempotent(&app, caller, &headers, &route, &body, || async {
        let request: CaptureRequest = parse_optional_json(&body)?;
        let row = app.capture(caller, id, request, key(&headers)).await?;
        view(&app, row).await
    })
    .await
}

/// `POST …/void` takes no fields (an empty body, `null` or `{}`).
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidRequest {}

/// Releases an Authorized payment: Cancelled.
#[utoipa::path(
    post,
    path = "/api/online_payment/transaction/{id}/void",
    operation_id = "void_transaction",
    tag = "online payment",
    params(
        ("id" = i64, Path, example = 1, description = "The transaction's id."),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Names the void: a retry answers its outcome."),
    ),
    request_body(content = Option<VoidRequest>, description = "Empty, `null` or `{}`."),
    security(("admin_key" = []), ("company_key" = [])),
    responses(
        (status = 200, description = "The transaction: Cancelled, or still Authorized when the gateway reports the void later.", body = Transaction),
        Errors<(Auth, PathId, JsonInput, Idempotency, NotFound, CaptureRules, Unsupported, (Provider, Gateway, Secrets))>,
    ),
)]
pub async fn void(
    State(app): State<Arc<App>>,
    caller: Caller,
    Id(id): Id,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Response {
    let route = format!("void:{id}");
    idempotent(&app, caller, &headers, &route, &body, || async {
        let VoidRequest {} = parse_optional_json(&body)?;
        let row = app.void(caller, id, key(&headers)).await?;
        view(&app, row).await
    })
    .await
}
