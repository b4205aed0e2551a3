//! `GET /api/openapi.json`: the OpenAPI 3.1 document of every route, generated from the code.
//! Each handler carries its `#[utoipa::path]` (method, path, auth, parameters, body, answers,
//! and its error groups from [`errors`]); the answer and request types derive their schemas,
//! so the document describes the types the handlers answer. [`document`] lists the handlers;
//! a test holds it equal to the route table (`super::routes()`).

mod error_responses;
pub mod errors;
mod schemas;

use std::sync::LazyLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as Document;
use utoipa::OpenApi;

pub use schemas::{ErrorObject, ModuleUpload, PayChoice};

use super::{
    api_keys, events, integrations, messaging, module_upload, modules, online_payment, ops, pay_page, payer,
    payment_integrations, payment_links, payment_operations, saved_methods, webhooks,
};

/// The security scheme of the admin key (may do everything).
pub const ADMIN_KEY: &str = "admin_key";
/// The security scheme of a company API key (sees and touches only its company).
pub const COMPANY_KEY: &str = "company_key";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Integrations Host",
        description = "Runs an ERP's payment and messaging provider modules as sandboxed WebAssembly \
                       components. Every error is `{\"error\": {\"code\", \"message\"}}`; each operation lists \
                       the codes each of its statuses can carry. Money is integer minor units beside decimal strings.",
    ),
    paths(
        ops::healthz,
        ops::readyz,
        ops::metrics,
        openapi_json,
        api_keys::create,
        events::pull,
        events::add_endpoint,
        events::show,
        events::redeliver,
        modules::list,
        modules::versions,
        module_upload::install,
        modules::activate,
        modules::uninstall,
        integrations::create,
        integrations::list,
        integrations::show,
        integrations::patch,
        integrations::delete,
        integrations::set_credentials,
        integrations::enable,
        integrations::mappings,
        integrations::webhooks,
        integrations::sync_now,
        integrations::disable,
        payment_integrations::integrations,
        payment_integrations::client_config,
        online_payment::initiate,
        online_payment::transaction,
        online_payment::refund,
        payment_operations::capture,
        payment_operations::void,
        saved_methods::list,
        saved_methods::delete,
        saved_methods::charge,
        online_payment::sync,
        online_payment::payments,
        payment_links::create,
        payment_links::list,
        payment_links::show,
        payment_links::revoke,
        pay_page::show,
        pay_page::choose,
        payer::returned,
        payer::cancelled,
        webhooks::payment,
        messaging::send,
        messaging::list,
        messaging::show,
        messaging::webhook,
    ),
    components(schemas(ErrorObject)),
    modifiers(&KeySchemes),
)]
struct ApiDoc;

/// The two bearer keys of API.md §3 "Auth".
struct KeySchemes;

impl utoipa::Modify for KeySchemes {
    fn modify(&self, document: &mut Document) {
        let components = document.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some(description)).build(),
            )
        };
        components.add_security_scheme(
            ADMIN_KEY,
            bearer("The admin key (`--admin-key`, or printed at the first start): may do everything."),
        );
        components.add_security_scheme(
            COMPANY_KEY,
            bearer("A company key from `POST /api/admin/api_keys`: sees and touches only its company (404 for others' things, 403 `forbidden_company` for naming another company)."),
        );
    }
}

/// The document, built once.
pub fn document() -> &'static Document {
    static DOCUMENT: LazyLock<Document> = LazyLock::new(|| {
        let mut document = ApiDoc::openapi();
        document.info.version = env!("CARGO_PKG_VERSION").to_string();
        document
    });
    &DOCUMENT
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    operation_id = "openapi",
    tag = "operations",
    security(()),
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of every route.", body = Object),
        errors::Errors<()>,
    ),
)]
pub async fn openapi_json() -> Response {
    static TEXT: LazyLock<String> =
        LazyLock::new(|| serde_json::to_string(document()).expect("the document serializes"));
    ([(header::CONTENT_TYPE, "application/json")], TEXT.as_str()).into_response()
}
