//! The error answers of the document: each route names the groups of failures it can meet
//! (`Errors<(Auth, PathId, NotFound)>` in its `responses(...)`), and each status becomes one
//! response whose `error.code` is an enum of exactly the codes that status can carry, each
//! explained in the response's description. Every route also gets [`Always`] (a body over its
//! limit, a panic), since the router's layers answer those whatever the handler is.

use super::error_responses::error_sets;
pub use super::error_responses::{ErrorCase, ErrorSet, Errors};

error_sets! {
    /// What the router answers on every route, before or around its handler.
    Always {
        413 "too_large": "The body (or its Content-Length) is over the route's limit (1 MiB; 33 MiB for a module upload).";
        500 "internal": "The handler failed unexpectedly or the database refused for another reason than its storage; it is logged.";
    }
    /// `Authorization: Bearer KEY` (the admin key or a company key).
    Auth {
        401 "missing_api_key": "No `Authorization: Bearer` header.";
        401 "invalid_api_key": "The key is neither the admin key nor a company key.";
        503 "storage_unavailable": "The database cannot serve the request now (full, read-only, failing); nothing changed. `Retry-After: 1`.";
    }
    /// A public route that reads or writes the database.
    StorageFault {
        503 "storage_unavailable": "The database cannot serve the request now (full, read-only, failing); nothing changed. `Retry-After: 1`.";
    }
    /// Routes only the admin key may call.
    AdminOnly {
        403 "admin_only": "A company key called a route for the admin key only.";
    }
    /// A company key naming another company (in the body or a filter).
    CompanyScope {
        403 "forbidden_company": "A company key named another company.";
    }
    /// An integer id in the path.
    PathId {
        400 "invalid_id": "The id in the path is not an integer.";
    }
    /// A text parameter in the path.
    PathText {
        400 "invalid_path": "The path parameter is not UTF-8 text.";
    }
    /// A JSON body.
    JsonInput {
        400 "malformed_json": "The body is not JSON.";
        400 "unknown_field": "The body has a field the route does not take (named).";
        400 "unreadable_body": "The body could not be read (the client went away).";
        415 "unsupported_media_type": "The body's Content-Type is not JSON (no Content-Type is read as JSON).";
        422 "missing_field": "A required field is missing (named).";
        422 "invalid_field": "A field has the wrong type or value (named), or the body is not a JSON object.";
    }
    /// A query string.
    QueryInput {
        400 "invalid_query": "The query string has an unknown parameter or one of the wrong type (named).";
    }
    /// `Idempotency-Key`.
    Idempotency {
        400 "invalid_idempotency_key": "The key is empty, over 255 characters or not visible ASCII.";
        409 "idempotency_key_reused": "The key was already used with another request.";
        409 "idempotency_key_in_progress": "A request with this key is still being processed; retry shortly.";
    }
    /// Something the path or body names does not exist, or the key may not see it.
    NotFound {
        404 "not_found": "It does not exist, or the API key's company may not see it.";
    }
    /// A call into a provider's sandbox.
    Provider {
        429 "too_many_requests": "The company is using its whole share of the sandboxes. `Retry-After: 1`.";
        502 "provider_failed": "The provider trapped, timed out, ran out of memory or handed back too much.";
        503 "overloaded": "Every sandbox, or the module's share of them, is busy. `Retry-After: 1`.";
        503 "module_not_installed": "The integration's module is not installed.";
    }
    /// What the provider reports of its gateway.
    Gateway {
        422 "gateway_refused": "The gateway refused the request (invalid, declined, bad credentials, unsupported).";
        502 "gateway_error": "The gateway is down or answered something unusable.";
    }
    /// Values sealed at rest.
    Secrets {
        500 "credential_unreadable": "A stored credential does not open (damaged or copied); set it again.";
        500 "data_key_unreadable": "A data key does not unwrap under the master key.";
        503 "master_key_rotated": "The master key was rotated under this host; restart it with the new key file.";
    }
    /// `POST /api/admin/api_keys`.
    ApiKeyRules {
        422 "invalid_name": "`name` is empty.";
    }
    /// `POST /api/admin/event_endpoints`.
    EndpointRules {
        422 "invalid_url": "`url` is not an absolute http(s) URL.";
        422 "invalid_secret": "`secret` has fewer than 16 characters.";
        422 "invalid_type": "`types` names an event type that does not exist.";
    }
    /// The module upload.
    UploadRules {
        400 "invalid_upload": "Not valid multipart/form-data, a part missing or unexpected, or `grant_new_hosts` not true/false.";
        409 "version_exists": "This version is recorded with other bytes.";
        409 "version_not_newer": "The version is not newer than every recorded one (activate older ones instead).";
        415 "unsupported_media_type": "The body is not multipart/form-data.";
        422 "module_refused": "The manifest or component is refused (the reason names the field).";
    }
    /// Activating a recorded version.
    ActivateRules {
        422 "module_refused": "The recorded version cannot be loaded any more (the reason is named).";
    }
    /// An integration's fields (create and patch).
    IntegrationRules {
        422 "unknown_module": "`module` is not installed.";
        422 "invalid_name": "`name` must have 1 to 100 characters.";
        422 "invalid_payment_state": "`payment_state` is not Test or Live.";
        422 "unsupported_integration_type": "`payment_integration_type` is not one the module offers.";
    }
    /// The integration list's filter.
    CategoryFilter {
        422 "invalid_category": "`category` is not Online Payment, Messaging or Shipping.";
    }
    /// `PUT …/credentials` and enable.
    CredentialRules {
        422 "unknown_credential": "A name the module does not declare.";
        422 "invalid_credential": "A value does not fit the credential's pattern in the integration's mode (never the value).";
    }
    /// Enable.
    EnableRules {
        422 "credentials_missing": "A required credential has no value.";
        422 "credentials_rejected": "The provider's own check refused the credentials, with its message.";
    }
    /// Delete.
    InUse {
        409 "integration_in_use": "The integration has transactions or messages (their history stays readable); disable it instead.";
    }
    /// The webhook attempt list's filters.
    AttemptFilter {
        422 "invalid_outcome": "`outcome` is not one of accepted, rejected, unmatched, provider_failed, unreadable.";
        422 "invalid_limit": "`limit` is not from 1 to 1000.";
    }
    /// A payment-only route on another category's integration.
    PaymentOnly {
        422 "wrong_category": "The integration is not a payment integration.";
    }
    /// The scheduled sync, run now.
    SyncRules {
        409 "sync_in_progress": "A sync of this integration is running.";
    }
    /// Amount and currency (initiate, payment links).
    Money {
        422 "invalid_amount": "`amount` is not a positive decimal with at most the currency's decimals.";
        422 "invalid_currency": "`currency` is not an ISO 4217 code with a minor unit.";
    }
    /// Initiate.
    InitiateRules {
        422 "invalid_url": "`return_url` or `cancel_url` is not an absolute http(s) URL.";
        422 "not_a_payment_integration": "The integration is not a payment integration.";
        422 "integration_disabled": "The integration is not enabled.";
        422 "unsupported_integration_type": "`integration_type` is not one the module offers.";
        422 "missing_contact": "`save_payment_method` needs `contact.id`.";
        409 "charge_in_progress": "A charge with this Idempotency-Key is under way.";
    }
    /// What the module's capabilities leave out (initiate, refund).
    Unsupported {
        422 "unsupported": "The module cannot do this: a currency, country or amount it does not take, manual capture, saving the payment method, or a refund of this kind; the message says which.";
    }
    /// The integrations list's capability filter.
    IntegrationFilter {
        422 "invalid_country": "`country` is not two letters.";
        422 "missing_currency": "`amount` was given without `currency`.";
    }
    /// Refund.
    RefundRules {
        409 "not_refundable": "Only a Captured payment can be refunded.";
        409 "refund_released": "The gateway never received this refund; it was released, send it again.";
        409 "refund_in_doubt": "A refund left in doubt by an older host needs an operator.";
        422 "refund_exceeds_remaining": "`amount` is more than is left to refund.";
        502 "refund_in_doubt": "The outcome is unknown; retry with the same Idempotency-Key (`error.transaction_id`).";
    }
    /// Capture and void.
    CaptureRules {
        409 "not_capturable": "Only an Authorized payment can be captured.";
        409 "not_voidable": "Only an Authorized payment can be voided.";
        409 "operation_in_progress": "Another capture or void of the payment is under way.";
        422 "capture_exceeds_amount": "`amount` is more than was authorized.";
        422 "invalid_amount": "`amount` is zero, negative or not an amount of the currency.";
        422 "operation_failed": "The gateway refused the capture or void; the message is its reason.";
        502 "capture_in_doubt": "The outcome is unknown; retry with the same Idempotency-Key (`error.transaction_id`).";
        502 "void_in_doubt": "The outcome is unknown; retry with the same Idempotency-Key (`error.transaction_id`).";
    }
    /// A payment link's fields.
    LinkRules {
        422 "invalid_expires_at": "`expires_at` is not RFC 3339 with an offset, or not in the future.";
        422 "invalid_document_model": "`document_model` must have 1 to 128 characters.";
        422 "invalid_description": "`description` must have 1 to 1,000 characters.";
    }
    /// A list's page size.
    PageLimit {
        422 "invalid_limit": "`limit` is not from 1 to 1000.";
    }
    /// Revoking a payment link.
    LinkRevokeRules {
        409 "link_paid": "The link has been paid; there is nothing left to revoke.";
    }
    /// The payer's return and cancel.
    PayerRoutes {
        400 "missing_txn": "The `txn` query parameter is missing.";
    }
    /// A public webhook.
    WebhookRules {
        401 "invalid_signature": "The signature is missing or does not match; nothing changed.";
        422 "unreadable_event": "The provider could not read the verified event.";
        429 "too_many_requests": "Too many webhooks of this integration are in progress. `Retry-After: 1`.";
    }
    /// Send.
    SendRules {
        422 "company_mismatch": "`integration_id` belongs to another company than `company_id`.";
        422 "no_messaging_integration": "The company has no enabled messaging integration.";
        422 "wrong_category": "The integration is not a messaging integration.";
        422 "integration_disabled": "The integration is not enabled.";
        422 "invalid_phone_number": "`to` is not E.164 (`+` and 2 to 15 digits).";
        422 "invalid_body": "`body` must have 1 to 1,600 characters.";
    }
    /// The message list's filter.
    DirectionFilter {
        422 "invalid_direction": "`direction` is not inbound or outbound.";
    }
    /// The readiness probe.
    NotReady {
        503 "storage_unavailable": "The database does not take writes; the host is not ready.";
        503 "modules_unavailable": "A module recorded live is not loaded on this host (it failed to load, or this host has not caught up yet); the message names it.";
    }
}
