//! The counters and histograms the host records into as it works.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};

use super::labels::*;

pub(super) type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Latencies of calls and requests: 1 ms to about 33 s.
fn call_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// Database waits and commits: 0.1 ms to about 1.6 s.
fn db_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 15))
}

/// Module compiles: 10 ms to about 80 s.
fn compile_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 14))
}

/// The counters and histograms recorded as the host works.
pub struct Meters {
    pub provider_calls: Family<CallLabels, Counter>,
    pub provider_call_seconds: Histograms<ExportLabels>,
    pub sandbox_refusals: Family<RefusalLabels, Counter>,
    pub outbound_requests: Family<OutboundLabels, Counter>,
    pub outbound_seconds: Histograms<OutboundHostLabels>,
    pub outbound_denials: Family<DenialLabels, Counter>,
    pub webhooks: Family<WebhookLabels, Counter>,
    pub webhook_refusals: Family<CategoryLabels, Counter>,
    pub transitions: Family<TransitionLabels, Counter>,
    pub payments: Family<ModuleLabels, Counter>,
    pub refunds: Family<RefundLabels, Counter>,
    pub messages: Family<MessageLabels, Counter>,
    pub delivery_attempts: Family<DeliveryLabels, Counter>,
    pub installs: Family<InstallLabels, Counter>,
    pub compile_seconds: Histogram,
    pub compile_cache: Family<CacheLabels, Counter>,
    pub integration_cache: Family<CacheLabels, Counter>,
}

impl Default for Meters {
    fn default() -> Self {
        Self {
            provider_calls: Family::default(),
            provider_call_seconds: Family::new_with_constructor(call_buckets),
            sandbox_refusals: Family::default(),
            outbound_requests: Family::default(),
            outbound_seconds: Family::new_with_constructor(call_buckets),
            outbound_denials: Family::default(),
            webhooks: Family::default(),
            webhook_refusals: Family::default(),
            transitions: Family::default(),
            payments: Family::default(),
            refunds: Family::default(),
            messages: Family::default(),
            delivery_attempts: Family::default(),
            installs: Family::default(),
            compile_seconds: compile_buckets(),
            compile_cache: Family::default(),
            integration_cache: Family::default(),
        }
    }
}

impl Meters {
    pub fn webhook(&self, category: &'static str, module: &str, outcome: &'static str) {
        self.webhooks.get_or_create(&WebhookLabels { category, module: module.to_string(), outcome }).inc();
    }

    pub fn webhook_refusal(&self, category: &'static str) {
        self.webhook_refusals.get_or_create(&CategoryLabels { category }).inc();
    }

    pub fn transition(&self, module: &str, from: &'static str, to: &'static str) {
        self.transitions.get_or_create(&TransitionLabels { module: module.to_string(), from, to }).inc();
    }

    pub fn payment(&self, module: &str) {
        self.payments.get_or_create(&ModuleLabels { module: module.to_string() }).inc();
    }

    pub fn refund(&self, module: &str, outcome: &'static str) {
        self.refunds.get_or_create(&RefundLabels { module: module.to_string(), outcome }).inc();
    }

    pub fn message(&self, module: &str, state: &'static str) {
        self.messages.get_or_create(&MessageLabels { module: module.to_string(), state }).inc();
    }

    pub fn delivery_attempt(&self, outcome: &'static str) {
        self.delivery_attempts.get_or_create(&DeliveryLabels { outcome }).inc();
    }

    pub fn install(&self, source: &'static str, outcome: &'static str) {
        self.installs.get_or_create(&InstallLabels { source, outcome }).inc();
    }

    pub fn compile_cache_lookup(&self, hit: bool) {
        self.compile_cache.get_or_create(&CacheLabels { result: if hit { "hit" } else { "miss" } }).inc();
    }

    pub fn integration_cache_lookup(&self, hit: bool) {
        self.integration_cache.get_or_create(&CacheLabels { result: if hit { "hit" } else { "miss" } }).inc();
    }
}

/// The database's own timings.
#[derive(Clone)]
pub struct DbMeters {
    /// How long a write transaction waited for the one writer (`BEGIN IMMEDIATE` on SQLite).
    pub write_wait_seconds: Histogram,
    /// How long a commit took, for a SQLite unit including its wait for the COMMIT of its batch.
    pub commit_seconds: Histogram,
    /// Write units one SQLite COMMIT held (group commit).
    pub writes_per_commit: Histogram,
}

impl Default for DbMeters {
    fn default() -> Self {
        Self {
            write_wait_seconds: db_buckets(),
            commit_seconds: db_buckets(),
            writes_per_commit: Histogram::new([1.0, 2.0, 4.0, 8.0, 16.0, 32.0]),
        }
    }
}
