//! Installed modules, their recorded versions, activating and uninstalling (the upload is in
//! `module_upload.rs`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::services::{App, Caller};

use super::auth::require_admin;
use super::extract::{parse_json, ApiPath, JsonBody};
use super::openapi::errors::{ActivateRules, AdminOnly, Auth, Errors, JsonInput, NotFound, PathText};
use super::views::{Module, ModuleVersion};
use super::ApiError;

/// The installed modules (their live versions).
#[utoipa::path(
    get,
    path = "/api/modules",
    operation_id = "list_modules",
    tag = "modules",
    security(("admin_key" = []), ("company_key" = [])),
    responses((status = 200, description = "The live modules.", body = Vec<Module>), Errors<Auth>),
)]
pub async fn list(State(app): State<Arc<App>>, _caller: Caller) -> Json<Vec<Module>> {
    Json(app.registry.all().iter().map(|m| Module::from(m.as_ref())).collect())
}

/// Every recorded version of a module, and which is live.
#[utoipa::path(
    get,
    path = "/api/modules/{identifier}/versions",
    operation_id = "list_module_versions",
    tag = "modules",
    params(("identifier" = String, Path, description = "The module's identifier.")),
    security(("admin_key" = []), ("company_key" = [])),
    responses(
        (status = 200, description = "The versions.", body = Vec<ModuleVersion>),
        Errors<(Auth, PathText, NotFound)>,
    ),
)]
pub async fn versions(
    State(app): State<Arc<App>>,
    _caller: Caller,
    ApiPath(identifier): ApiPath<String>,
) -> Result<Json<Vec<ModuleVersion>>, ApiError> {
    let versions = app.module_versions(&identifier).await?;
    Ok(Json(versions.iter().map(ModuleVersion::from).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Activate {
    /// A recorded version.
    version: String,
}

/// Makes a recorded version live (no new grant needed: it was granted when installed).
#[utoipa::path(
    post,
    path = "/api/admin/modules/{identifier}/activate",
    operation_id = "activate_module_version",
    tag = "modules",
    params(("identifier" = String, Path, description = "The module's identifier.")),
    request_body = Activate,
    security(("admin_key" = [])),
    responses(
        (status = 200, description = "The module, now live in that version.", body = Module),
        Errors<(Auth, AdminOnly, PathText, JsonInput, NotFound, ActivateRules)>,
    ),
)]
pub async fn activate(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(identifier): ApiPath<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Module>, ApiError> {
    require_admin(caller)?;
    let request: Activate = parse_json(&body)?;
    let module = app.activate_module_version(&identifier, &request.version).await?;
    Ok(Json(Module::from(module.as_ref())))
}

/// Takes a module out of service; its integrations show "Not Installed" until a version is
/// activated again.
#[utoipa::path(
    delete,
    path = "/api/admin/modules/{identifier}",
    operation_id = "uninstall_module",
    tag = "modules",
    params(("identifier" = String, Path, description = "The module's identifier.")),
    security(("admin_key" = [])),
    responses((status = 204, description = "Uninstalled."), Errors<(Auth, AdminOnly, PathText, NotFound)>),
)]
pub async fn uninstall(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(identifier): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    require_admin(caller)?;
    app.uninstall_module(&identifier).await?;
    Ok(StatusCode::NO_CONTENT)
}
