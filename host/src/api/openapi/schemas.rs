//! Schemas of what no handler type describes by itself: the error object (built by
//! `ApiError::body`), the module upload's parts and the payment page's form.

use utoipa::ToSchema;

/// API.md §3's error object: every error the host answers, on every route.
#[derive(ToSchema)]
#[schema(as = Error)]
#[allow(dead_code)]
pub struct ErrorObject {
    error: ErrorDetail,
}

/// What went wrong: a stable `code` to branch on and a `message` a person can act on; some
/// failures name what they left behind.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// snake_case; each operation lists the codes of each of its statuses.
    code: String,
    message: String,
    /// The transaction a failed initiate or an in-doubt refund left behind.
    transaction_id: Option<i64>,
    /// The reference of the transaction a failed initiate left behind.
    reference: Option<String>,
    /// The message a failed send left behind.
    message_id: Option<i64>,
}

/// The module upload: `multipart/form-data`, these parts and no other (`additionalProperties:
/// false` in the document, from `deny_unknown_fields`; the handler refuses any other part).
#[derive(ToSchema, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ModuleUpload {
    /// The manifest, YAML (API.md §2).
    manifest: String,
    /// The component, wasm.
    #[schema(value_type = String, format = Binary)]
    component: Vec<u8>,
    /// "true" lets the version reach hosts its live version does not (also as a query parameter).
    #[schema(nullable = false)]
    grant_new_hosts: Option<bool>,
}

/// The payment page's form: `application/x-www-form-urlencoded`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PayChoice {
    /// The chosen payment integration (one of the page's radio buttons).
    integration_id: i64,
}
