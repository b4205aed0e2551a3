//! The backbones' flows, tying the store, the registry and the sandbox together. Route
//! handlers call these; nothing here knows HTTP framework types.

pub mod api_keys;
pub mod capability_rules;
pub mod charge;
mod error;
mod event_data;
pub mod event_delivery;
pub mod idempotency;
pub mod integration_cache;
mod integration_credentials;
pub mod integrations;
pub mod json_integer;
pub mod messaging;
pub mod messaging_webhooks;
mod metering;
pub mod module_admin;
mod module_follower;
pub mod module_grants;
pub mod online_payment;
pub mod payment_links;
pub mod payment_operations;
mod provider_calls;
pub mod records;
mod refund_attempts;
pub mod refund_reconciliation;
mod refund_reports;
mod refund_verdict;
pub mod refunds;
pub mod saved_methods;
pub mod scheduled_sync;
mod transaction_decisions;
pub mod transaction_updates;
pub mod webhook_gate;
pub mod webhook_pipeline;
pub mod webhooks;

use std::sync::Arc;

pub use crate::store::is_storage_fault;
pub use error::ServiceError;

use crate::capabilities::HostServices;
use crate::registry::{EndpointOverrides, ModuleRegistry};
use crate::runtime::ProviderRuntime;
use crate::secrets::Keyring;
use crate::store::Db;

/// The longest [`App::check_writes`] waits for its write to be taken.
pub const WRITE_CHECK_TIMEOUT: std::time::Duration = crate::store::WRITE_PROBE_TIMEOUT;

/// Everything a request needs, shared by all requests.
pub struct App {
    pub db: Db,
    /// The data keys that seal credentials and endpoint secrets (`secrets/`).
    pub keys: Arc<Keyring>,
    pub runtime: Arc<ProviderRuntime>,
    pub registry: ModuleRegistry,
    pub services: Arc<HostServices>,
    pub overrides: EndpointOverrides,
    /// How gateways and browsers reach this host, without a trailing slash.
    pub public_url: String,
    /// SHA-256 (hex) of the admin key.
    pub admin_key_hash: String,
    /// One install, activation or uninstall at a time.
    pub install_lock: tokio::sync::Mutex<()>,
    /// Wakes the event delivery worker when new events are committed.
    pub events_ready: tokio::sync::Notify,
    /// How events are retried.
    pub delivery: event_delivery::DeliveryPolicy,
    /// When transactions are synced with their gateway.
    pub sync: scheduled_sync::SyncPolicy,
    /// Integrations being synced right now.
    pub syncs_running: scheduled_sync::SyncsRunning,
    /// Bounds calls in progress on the public webhook URLs, per integration.
    pub webhook_gate: webhook_gate::WebhookGate,
    /// Set when the host is stopping: background workers finish what they are doing (one
    /// delivery, one transaction's sync) and end.
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// When refunds in doubt are repeated.
    pub refunds: refund_reconciliation::RefundPolicy,
    /// Refunds being attempted by this process.
    pub refund_attempts: refund_attempts::RefundAttempts,
    /// An Idempotency-Key claim without an answer this old is taken over.
    pub idempotency_takeover: std::time::Duration,
    /// The registry behind `/metrics`.
    pub metrics: crate::metrics::HostMetrics,
    /// Each integration's module, for the counts made after a change (an integration's
    /// module never changes).
    pub modules_of: metering::ModulesOf,
    /// The integrations the webhook URLs serve, with their credentials.
    pub integration_cache: integration_cache::IntegrationCache,
}

impl App {
    /// Asks the background workers to stop at their next safe point.
    pub fn request_stop(&self) {
        self.stopping.send_replace(true);
    }

    pub fn stop_requested(&self) -> bool {
        *self.stopping.borrow()
    }

    /// Resolves once a stop is requested.
    pub async fn stop_signal(&self) {
        let mut stopping = self.stopping.subscribe();
        let _ = stopping.wait_for(|stopping| *stopping).await;
    }

    /// Whether the database takes a write now (one small row committed within
    /// [`WRITE_CHECK_TIMEOUT`]): what `/readyz` reports.
    pub async fn check_writes(&self) -> Result<(), sqlx::Error> {
        self.db.probe_writes().await
    }

    /// An absolute public URL for a path starting with `/`.
    pub fn public(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.public_url)
    }
}

/// Who is calling the API: the operator (admin key) or one company (an API key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Admin,
    Company { key_id: i64, company_id: i64 },
}

impl Caller {
    pub fn can_see(self, company_id: i64) -> bool {
        match self {
            Caller::Admin => true,
            Caller::Company { company_id: own, .. } => own == company_id,
        }
    }

    /// The company a list is limited to: a company key's own, else what was asked.
    pub fn company_filter(self, asked: Option<i64>) -> Result<Option<i64>, ServiceError> {
        match (self, asked) {
            (Caller::Admin, asked) => Ok(asked),
            (Caller::Company { company_id, .. }, Some(asked)) if asked != company_id => {
                Err(ServiceError::forbidden_company(asked))
            }
            (Caller::Company { company_id, .. }, _) => Ok(Some(company_id)),
        }
    }

    /// Refuses when the caller may not act for `company_id`.
    pub fn require_company(self, company_id: i64) -> Result<(), ServiceError> {
        if self.can_see(company_id) {
            Ok(())
        } else {
            Err(ServiceError::forbidden_company(company_id))
        }
    }

    /// A stable name for idempotency scopes.
    pub fn scope(self) -> String {
        match self {
            Caller::Admin => "admin".into(),
            Caller::Company { key_id, .. } => format!("key:{key_id}"),
        }
    }
}

/// A random token of `bytes` bytes, URL-safe.
pub fn random_token(bytes: usize) -> String {
    use base64::Engine as _;
    let mut buffer = vec![0u8; bytes];
    rand::fill(&mut buffer[..]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer)
}

tokio::task_local! {
    /// The module versions (`identifier@version`) that served the current request.
    pub static MODULES_USED: std::cell::RefCell<Vec<String>>;
}

/// Notes that `module@version` served the current request (no-op outside a request scope).
fn note_module_used(identifier: &str, version: &str) {
    let label = format!("{identifier}@{version}");
    let _ = MODULES_USED.try_with(|used| {
        let mut used = used.borrow_mut();
        if !used.contains(&label) {
            used.push(label);
        }
    });
}
