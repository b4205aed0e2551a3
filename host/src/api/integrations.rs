//! `/api/integrations`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::services::integrations::{CreateIntegration, PatchIntegration};
use crate::services::{App, Caller};

use super::extract::{parse_json, ApiQuery, Id, JsonBody};
use super::openapi::errors::{
    AdminOnly, AttemptFilter, Auth, CategoryFilter, CompanyScope, CredentialRules, EnableRules, Errors, Gateway, InUse,
    IntegrationRules, JsonInput, NotFound, PathId, PaymentOnly, Provider, QueryInput, Secrets, SyncRules,
};
use super::views::{Integration, Mapping, SyncReport, WebhookAttempt};
use super::ApiError;

type Shown = Result<Json<Integration>, ApiError>;

async fn shown(app: &App, row: crate::services::records::IntegrationRow) -> Shown {
    Ok(Json(Integration::from(&app.integration_view(row).await?)))
}

/// Creates an integration of an installed module for a company.
#[utoipa::path(
    post,
    path = "/api/integrations",
    operation_id = "create_integration",
    tag = "integrations",
    request_body = CreateIntegration,
    security(("admin_key" = []), ("company_key" = [])),
    responses(
        (status = 201, description = "The integration.", body = Integration),
        Errors<(Auth, JsonInput, CompanyScope, IntegrationRules)>,
    ),
)]
pub async fn create(
    State(app): State<Arc<App>>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Integration>), ApiError> {
    let row = app.create_integration(caller, parse_json(&body)?).await?;
    Ok((StatusCode::CREATED, shown(&app, row).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this company's (a company key sees only its own).
    #[serde(default, deserialize_with = "crate::services::json_integer::query_optional")]
    company_id: Option<i64>,
    /// Online Payment, Messaging or Shipping.
    #[param(pattern = "^(Online Payment|Messaging|Shipping)$")]
    category: Option<String>,
}

/// The integrations the key may see.
#[utoipa::path(
    get,
    path = "/api/integrations",
    operation_id = "list_integrations",
    tag = "integrations",
    params(ListQuery),
    security(("admin_key" = []), ("company_key" = [])),
    responses(
        (status = 200, description = "The integrations.", body = Vec<Integration>),
        Errors<(Auth, QueryInput, CompanyScope, CategoryFilter)>,
    ),
)]
pub async fn list(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<Integration>>, ApiError> {
    let rows = app.list_integrations(caller, query.company_id, query.category.as_deref()).await?;
    let mut shown = Vec::with_capacity(rows.len());
    for row in rows {
        shown.push(Integration::from(&app.integration_view(row).await?));
    }
    Ok(Json(shown))
}

/// One integration: its fields, computed state and which credentials are set.
#[utoipa::path(
    get,
    path = "/api/integrations/{id}",
    operation_id = "show_integration",
    tag = "integrations",
    params(("id" = i64, Path, example = 1, description = "The integration's id.")),
    security(("admin_key" = []), ("company_key" = [])),
    responses((status = 200, description = "The integration.", body = Integration), Errors<(Auth, PathId, NotFound)>),
)]
pub async fn show(State(app): State<Arc<App>>, caller: Caller, Id(id): Id) -> Shown {
    let row = app.visible_integration(caller, id).await?;
    shown(&app, row).await
}

/// Changes the name, description and payment fields.
#[utoipa::path(
    patch,
    path = "/api/integrations/{id}",
    operation_id = "patch_integration",
    tag = "integrations",
    params(("id" = i64, Path, example = 1, description = "The integration's id.")),
    request_body = PatchIntegration,
    security(("admin_key" = []), ("company_key" = [])),
    responses(
        (status = 200, description = "The integration.", body = Integration),
        Errors<(Auth, PathId, JsonInput, NotFound, IntegrationRules)>,
    ),
)]
pub async fn patch(State(app): State<Arc<App>>, caller: Caller, Id(id): Id, JsonBody(body): JsonBody) -> Shown {
    let row = app.patch_integration(caller, id, parse_json(&body)?).await?;
    shown(&app, row).await
}

/// Sets credentials by name; `null` or "" clears one. Values are never shown again.
#[utoipa::path(
    put,
    path = "/api/integrations/{id}/credentials",
    operation_id = "set_credentials",
    tag = "integrations",
    params(("id" = i64, Path, example = 1, description = "The integration's id.")),
    request_body(content = BTreeMap<String, Option<String>>, description = "Credential values by name."),
    security(("admin_key" = []), ("company_key" = [])),
    responses(
        (status = 200, description = "The integration.", body = Integration),
        Errors<(Auth, PathId, JsonInput, NotFound, CredentialRules, Secrets, Provider)>,
    ),
)]
pub async fn set_credentials(
    State(app): State<Arc<App>>,
    caller: Caller,
    Id(id): Id,
    JsonBody(body): JsonBody,
) -> Shown {
    let row = app.set_credentials(caller, id, parse_json(&body)?).await?;
    shown(&app, row).await
}

/// Enables: required credentials present, then the provider's own check.
#[utoipa::path(
    post,
    path = "/api/integrations/{id}/enable",
    operation_id = "enable_integration",
    tag = "integrations",
    params(("id" = i64, Path, example = 1, description = "The integration's id.")),
    security(("admin_key" = []), ("company_key" = [])),
    responses(
        (status = 200, description = "The integration, enabled.", body = Integration),
        Errors<(Auth, PathId, NotFound, CredentialRules, EnableRules, Secrets, Provider, Gateway)>,
    ),
)]
pub async fn enable(State(app): State<Arc<App>>, caller: Caller, Id(id): Id) -> Shown {
    let row = app.enable_integration(caller, id).await?;
    shown(&app, row).await
}

/// Disables (its webhooks are still processed, so payments in flight complete).
#[utoipa::path(
    post,
    path = "/api/integrations/{id}/disable",
    operation_id = "disable_integration",
    tag = "integrations",
    params(("id" = i64, Path, example = 1, description = "The integration's id.")),
    security(("admin_key" = []), ("company_key" = [])),
    responses((status = 200, description = "The integration, disabled.", body = Integration), Errors<(Auth, PathId, NotFound)>),
)]
pub async fn disable(State(app): State<Arc<App>>, caller: Caller, Id(id): Id) -> Shown {
    let row = app.disable_integration(caller, id).await?;
    shown(&app, row).await
}

/// Deletes an integration without transactions.
#[utoipa::path(
    delete,
    path = "/api/integrations/{id}",
    operation_id = "delete_integration",
    tag = "integrations",
    params(("id" = i64, Path, example = 1, description = "The integration's id.")),
    security(("admin_key" = []), ("company_key" = [])),
    responses((status = 204, description = "Deleted."), Errors<(Auth, PathId, NotFound, InUse)>),
)]
pub async fn delete(State(app): State<Arc<App>>, caller: Caller, Id(id): Id) -> Result<StatusCode, ApiError> {
    app.delete_integration(caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The integration's IntegrationMapper entries (local id ↔ remote id per model).
#[utoipa::path(
    get,
    path = "/api/integrations/{id}/mappings",
    operation_id = "list_mappings",
    tag = "integrations",
    params(("id" = i64, Path, example = 1, description = "The integration's id.")),
    security(("admin_key" = []), ("company_key" = [])),
    responses((status = 200, description = "The mappings.", body = Vec<Mapping>), Errors<(Auth, PathId, NotFound)>),
)]
pub async fn mappings(State(app): State<Arc<App>>, caller: Caller, Id(id): Id) -> Result<Json<Vec<Mapping>>, ApiError> {
    let mappings = app.integration_mappings(caller, id).await?;
    Ok(Json(mappings.iter().map(Mapping::from).collect()))
}

/// Runs the scheduled sync of a payment integration now.
#[utoipa::path(
    post,
    path = "/api/admin/integrations/{id}/sync",
    operation_id = "sync_integration",
    tag = "integrations",
    params(("id" = i64, Path, example = 1, description = "The integration's id.")),
    security(("admin_key" = [])),
    responses(
        (status = 200, description = "What the sync did.", body = SyncReport),
        Errors<(Auth, AdminOnly, PathId, NotFound, SyncRules, PaymentOnly, Provider)>,
    ),
)]
pub async fn sync_now(State(app): State<Arc<App>>, caller: Caller, Id(id): Id) -> Result<Json<SyncReport>, ApiError> {
    super::auth::require_admin(caller)?;
    let report = app.sync_integration(id).await?;
    Ok(Json(SyncReport { integration_id: id, checked: report.checked, changed: report.changed, failed: report.failed }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WebhooksQuery {
    /// 1 to 1,000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    #[serde(default, deserialize_with = "crate::services::json_integer::query_optional")]
    limit: Option<i64>,
    /// accepted, rejected, unmatched, provider_failed or unreadable.
    #[param(pattern = "^(accepted|rejected|unmatched|provider_failed|unreadable)$")]
    outcome: Option<String>,
}

/// Every webhook attempt of an integration, newest first.
#[utoipa::path(
    get,
    path = "/api/integrations/{id}/webhooks",
    operation_id = "list_webhook_attempts",
    tag = "integrations",
    params(("id" = i64, Path, example = 1, description = "The integration's id."), WebhooksQuery),
    security(("admin_key" = []), ("company_key" = [])),
    responses(
        (status = 200, description = "The attempts.", body = Vec<WebhookAttempt>),
        Errors<(Auth, PathId, QueryInput, NotFound, AttemptFilter)>,
    ),
)]
pub async fn webhooks(
    State(app): State<Arc<App>>,
    caller: Caller,
    Id(id): Id,
    ApiQuery(query): ApiQuery<WebhooksQuery>,
) -> Result<Json<Vec<WebhookAttempt>>, ApiError> {
    let attempts = app.webhook_attempts(caller, id, query.outcome.as_deref(), query.limit).await?;
    Ok(Json(attempts.iter().map(WebhookAttempt::from).collect()))
}
