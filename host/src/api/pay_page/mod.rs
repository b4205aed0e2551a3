//! `GET/POST /pay/{token}`: the public payment page of a link. Plain HTML with inline CSS,
//! no script, so it works without JavaScript (`html.rs`). The payer picks one of the company's
//! payment integrations (a radio group with labels) and submits the form; the host starts the
//! payment and answers 303 to the gateway.

mod html;

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::services::payment_links::PayOutcome;
use crate::services::{App, ServiceError};

use super::extract::RawBody;
use super::openapi::{ErrorObject, PayChoice};
use super::ApiError;
use html::{error_page, escape, failure_page, not_found, page, render};

/// Public: the payment page (HTML). `?txn=REF` is how the payer comes back from the gateway.
#[utoipa::path(
    get,
    path = "/pay/{token}",
    operation_id = "show_payment_page",
    tag = "payer",
    params(
        ("token" = String, Path, description = "The link's token."),
        ("txn" = Option<String>, Query, description = "The reference of the link's transaction the payer comes back from."),
    ),
    security(()),
    responses(
        (status = 200, description = "The page: open (the payment methods), or paid.", content_type = "text/html", body = String),
        (status = 404, description = "No such link.", content_type = "text/html", body = String),
        (status = 410, description = "`link_expired`: the link expired unpaid, or `link_revoked`: the ERP revoked it.", content_type = "text/html", body = String),
        (status = 413, description = "`too_large`: the body is over 1 MiB.", body = ErrorObject),
        (status = 500, description = "The page could not be made; it is logged.", content(("text/html"), (ErrorObject = "application/json"))),
        (status = 503, description = "The database cannot serve the page now.", content_type = "text/html", body = String),
    ),
)]
pub async fn show(
    State(app): State<Arc<App>>,
    token: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Response {
    // A token that is not even UTF-8 is an unknown link.
    let Ok(Path(token)) = token else { return not_found() };
    let returned = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(name, _)| name == "txn")
        .map(|(_, value)| value.into_owned());
    match app.payment_link_view(&token, returned.as_deref()).await {
        Ok(view) => render(&view),
        Err(error) => error_page(error, &token),
    }
}

/// Public: the payer chose a payment method (`integration_id=N`, form-encoded): 303 to the
/// gateway, or a page saying why not.
#[utoipa::path(
    post,
    path = "/pay/{token}",
    operation_id = "choose_payment_method",
    tag = "payer",
    params(("token" = String, Path, description = "The link's token.")),
    request_body(content = PayChoice, content_type = "application/x-www-form-urlencoded"),
    security(()),
    responses(
        (status = 303, description = "To the gateway, or back to the page when the link is no longer open.", headers(("Location" = String))),
        (status = 200, description = "The method needs the sender's own checkout: choose another.", content_type = "text/html", body = String),
        (status = 400, description = "`unreadable_body`: the form could not be read.", body = ErrorObject),
        (status = 404, description = "No such link, or `unknown_payment_method`: the integration chosen is not one of the link's methods.", content_type = "text/html", body = String),
        (status = 409, description = "`payment_in_progress`: a payment of this link with another method (or one still being started) is in progress; nothing was started.", content_type = "text/html", body = String),
        (status = 413, description = "`too_large`: the body is over 1 MiB.", body = ErrorObject),
        (status = 422, description = "`missing_payment_method`: no method chosen; or the gateway refused (`gateway_refused`). A page that could not start the payment shows its code as `Error code: <code>CODE</code>`.", content_type = "text/html", body = String),
        (status = 429, description = "The company's share of the sandboxes is in use, or `too_many_attempts`: the link started its most sessions in the last 10 minutes, or in its life (100).", content_type = "text/html", body = String),
        (status = 500, description = "The payment could not be started; it is logged.", content(("text/html"), (ErrorObject = "application/json"))),
        (status = 502, description = "The gateway or the provider failed.", content_type = "text/html", body = String),
        (status = 503, description = "The host is overloaded, the module is not installed or the database is failing.", content_type = "text/html", body = String),
    ),
)]
pub async fn choose(
    State(app): State<Arc<App>>,
    token: Result<Path<String>, PathRejection>,
    RawBody(body): RawBody,
) -> Response {
    let Ok(Path(token)) = token else { return not_found() };
    let chosen = url::form_urlencoded::parse(&body)
        .find(|(name, _)| name == "integration_id")
        .and_then(|(_, value)| value.parse::<i64>().ok());
    let Some(integration_id) = chosen else {
        return error_page(ServiceError::invalid("missing_payment_method", "Please choose a payment method."), &token);
    };
    match app.pay_payment_link(&token, integration_id).await {
        Ok(PayOutcome::Redirect(url)) => match HeaderValue::from_str(&url) {
            Ok(location) => {
                let mut response = StatusCode::SEE_OTHER.into_response();
                response.headers_mut().insert(header::LOCATION, location);
                response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
                response
            }
            Err(_) => failure_page(
                ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "provider_failed",
                    "The payment provider answered an address that cannot be used. Please choose another method.",
                ),
                &token,
            ),
        },
        Ok(PayOutcome::NotARedirect { display_name }) => page(
            StatusCode::OK,
            "Choose another payment method",
            &format!(
                "<h1>Choose another payment method</h1>\n<p role=\"alert\">{} cannot be completed on this page: it \
                 needs the sender's own checkout. Nothing has been charged.</p>\n\
                 <p><a href=\"/pay/{}\">Back to the payment page</a></p>\n",
                escape(&display_name),
                escape(&token),
            ),
        ),
        // Paid or expired meanwhile: the page says which.
        Ok(PayOutcome::Closed(_)) => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            if let Ok(location) = HeaderValue::from_str(&format!("/pay/{token}")) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
        Ok(PayOutcome::InProgress { display_name, continue_url }) => {
            let next = match continue_url {
                Some(url) => format!(
                    "<p><a href=\"{}\" rel=\"noreferrer\">Continue the payment with {}</a></p>\n",
                    escape(&url),
                    escape(&display_name)
                ),
                None => "<p>It is being started right now: reload this page in a moment.</p>\n".to_string(),
            };
            page(
                StatusCode::CONFLICT,
                "A payment is in progress",
                &format!(
                    "<h1>A payment is in progress</h1>\n<p role=\"alert\">A payment of this request with {} has \
                     been started and not finished. Finish it, or cancel it at the payment provider and come back \
                     to choose again. Nothing more has been charged.</p>\n{next}\
                     <p><a href=\"/pay/{}\">Back to the payment page</a></p>\n<p class=\"note\">Error code: \
                     <code>payment_in_progress</code></p>\n",
                    escape(&display_name),
                    escape(&token),
                ),
            )
        }
        Ok(PayOutcome::TooManyStarts) => failure_page(
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                "This payment was started too many times. Please wait a few minutes and try again; if it keeps \
                 failing, ask the merchant for a new payment link.",
            ),
            &token,
        ),
        Ok(PayOutcome::UnknownMethod) => failure_page(
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_payment_method",
                "This payment method is not available for this payment; please choose another one.",
            ),
            &token,
        ),
        Err(error) => error_page(error, &token),
    }
}
