//! `POST /api/online_payment/links`: the ERP creates a payment link for a document.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::services::payment_links::CreateLinkRequest;
use crate::services::{App, Caller};

use super::extract::{parse_json, JsonBody};
use super::idempotency::idempotent;
use super::openapi::errors::{Auth, CompanyScope, Errors, Idempotency, JsonInput, LinkRules, Money};
use super::views::PaymentLink;

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
        let link = app.create_payment_link(caller, parse_json(&body)?).await?;
        Ok((StatusCode::CREATED, PaymentLink::new(&link, app.payment_link_url(&link.token))))
    })
    .await
}
