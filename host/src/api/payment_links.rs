//! Payment links: the ERP creates, lists, reads and revokes them (`/api/online_payment/links`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::services::payment_links::CreateLinkRequest;
use crate::services::{App, Caller};

use super::extract::{parse_json, ApiQuery, Id, JsonBody};
use super::idempotency::idempotent;
use super::openapi::errors::{
    Auth, CompanyScope, Errors, Idempotency, JsonInput, LinkRevokeRules, LinkRules, Money, NotFound, PageLimit, PathId,
    QueryInput,
};
use super::views::PaymentLink;
use super::ApiError;

/// Creates a payment link: a page where the payer picks one of the company's payment methods.
#[utoipa::path(
    post,
    path = "/api/online_payment/links",
    operation_id = "create_payment_link",
    tag = "payment links",
    request_body = CreateLinkRequest,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "A retry with the same key and body gets the first answer.")),
    security(("admin_key" = []), ("company_key" = [])),
    responses(
        (status = 201, description = "The link.", body = PaymentLink),
        Errors<(Auth, JsonInput, Idempotency, CompanyScope, Money, LinkRules)>,
    ),
)]
pub async fn create(
    State(app): State<Arc<App>>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Response {
    idempotent(&app, caller, &headers, "payment_link", &body, || async {
        let record = app.create_payment_link(caller, parse_json(&body)?).await?;
        Ok((StatusCode::CREATED, PaymentLink::new(&record, app.payment_link_url(&record.link.token))))
    })
    .await
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LinksQuery {
    /// Only this company's (a company key sees only its own).
    #[serde(default, deserialize_with = "crate::services::json_integer::query_optional")]
    company_id: Option<i64>,
    /// Only links with ids below this one: the next page after a page's last id.
    #[serde(default, deserialize_with = "crate::services::json_integer::query_optional")]
    before: Option<i64>,
    /// At most this many, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    #[serde(default, deserialize_with = "crate::services::json_integer::query_optional")]
    limit: Option<i64>,
}

/// Payment links, newest first, each with its status and transactions.
#[utoipa::path(
    get,
    path = "/api/online_payment/links",
    operation_id = "list_payment_links",
    tag = "payment links",
    params(LinksQuery),
    security(("admin_key" = []), ("company_key" = [])),
    responses(
        (status = 200, description = "The links.", body = Vec<PaymentLink>),
        Errors<(Auth, QueryInput, CompanyScope, PageLimit)>,
    ),
)]
pub async fn list(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<LinksQuery>,
) -> Result<Json<Vec<PaymentLink>>, ApiError> {
    let records = app.payment_links(caller, query.company_id, query.before, query.limit).await?;
    Ok(Json(records.iter().map(|record| PaymentLink::new(record, app.payment_link_url(&record.link.token))).collect()))
}

/// One payment link with its status and transactions.
#[utoipa::path(
    get,
    path = "/api/online_payment/links/{id}",
    operation_id = "show_payment_link",
    tag = "payment links",
    params(("id" = i64, Path, example = 1, description = "The link's id.")),
    security(("admin_key" = []), ("company_key" = [])),
    responses((status = 200, description = "The link.", body = PaymentLink), Errors<(Auth, PathId, NotFound)>),
)]
pub async fn show(State(app): State<Arc<App>>, caller: Caller, Id(id): Id) -> Result<Json<PaymentLink>, ApiError> {
    let record = app.visible_payment_link(caller, id).await?;
    Ok(Json(PaymentLink::new(&record, app.payment_link_url(&record.link.token))))
}

/// Revokes an unpaid link: its page answers 410 and starts no payment. Revoking it again
/// answers the same link. A payment already started from it can still complete at the gateway
/// (money is never ignored); the link then shows `paid`.
#[utoipa::path(
    post,
    path = "/api/online_payment/links/{id}/revoke",
    operation_id = "revoke_payment_link",
    tag = "payment links",
    params(("id" = i64, Path, example = 1, description = "The link's id.")),
    security(("admin_key" = []), ("company_key" = [])),
    responses(
        (status = 200, description = "The revoked link.", body = PaymentLink),
        Errors<(Auth, PathId, NotFound, LinkRevokeRules)>,
    ),
)]
pub async fn revoke(State(app): State<Arc<App>>, caller: Caller, Id(id): Id) -> Result<Json<PaymentLink>, ApiError> {
    let record = app.revoke_payment_link(caller, id).await?;
    Ok(Json(PaymentLink::new(&record, app.payment_link_url(&record.link.token))))
}
