//! The registry behind the page: every family registered once under the `integrations_`
//! prefix, the gauges sampled at render time, the text encoding.

use std::time::Duration;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Metric, Registry, Unit};

use super::labels::{ModuleInfoLabels, PoolLabels};
use super::{DbMeters, Meters};

/// The present state, read when the page is rendered.
#[derive(Debug, Default)]
pub struct Sample {
    pub slots_total: u32,
    pub slots_in_use: u32,
    pub slots_waiting: u32,
    /// (pool, connections open, connections idle).
    pub pools: Vec<(&'static str, u32, u32)>,
    pub events_pending: i64,
    pub events_failed: i64,
    /// How long the oldest pending event has waited; zero when none.
    pub oldest_pending_event: Duration,
    /// (identifier, version, world, contract) of each live module.
    pub live_modules: Vec<(String, String, &'static str, String)>,
}

/// The gauges set from a [`Sample`].
#[derive(Default)]
struct Gauges {
    slots_total: Gauge,
    slots_in_use: Gauge,
    slots_waiting: Gauge,
    connections_in_use: Family<PoolLabels, Gauge>,
    connections_open: Family<PoolLabels, Gauge>,
    events_pending: Gauge,
    events_failed: Gauge,
    oldest_pending_event: Gauge<f64, std::sync::atomic::AtomicU64>,
    module_info: Family<ModuleInfoLabels, Gauge>,
}

/// The registry behind `GET /metrics`.
pub struct HostMetrics {
    registry: Registry,
    gauges: Gauges,
    /// Every family's name as the page shows it (`integrations_webhooks_total`, …).
    names: Vec<String>,
}

/// Registers families under the `integrations_` prefix and notes each exposed name.
struct Families<'a> {
    registry: &'a mut Registry,
    names: Vec<String>,
}

impl Families<'_> {
    fn counter(&mut self, name: &str, help: &str, metric: impl Metric) {
        self.names.push(format!("integrations_{name}_total"));
        self.registry.register(name, help, metric);
    }

    fn gauge(&mut self, name: &str, help: &str, metric: impl Metric) {
        self.names.push(format!("integrations_{name}"));
        self.registry.register(name, help, metric);
    }

    /// A histogram of a count (no unit).
    fn histogram(&mut self, name: &str, help: &str, metric: impl Metric) {
        self.names.push(format!("integrations_{name}"));
        self.registry.register(name, help, metric);
    }

    fn seconds(&mut self, name: &str, help: &str, metric: impl Metric) {
        self.names.push(format!("integrations_{name}_seconds"));
        self.registry.register_with_unit(name, help, Unit::Seconds, metric);
    }
}

impl HostMetrics {
    pub fn new(meters: &Meters, db: &DbMeters) -> Self {
        let mut registry = Registry::with_prefix("integrations");
        let gauges = Gauges::default();
        let mut f = Families { registry: &mut registry, names: Vec::new() };
        f.counter("provider_calls", "Provider export calls by outcome", meters.provider_calls.clone());
        f.seconds("provider_call_duration", "Time a provider export call took", meters.provider_call_seconds.clone());
        f.gauge("sandbox_slots", "Sandbox slots the host has", gauges.slots_total.clone());
        f.gauge("sandbox_slots_in_use", "Sandbox slots held by calls now", gauges.slots_in_use.clone());
        f.gauge("sandbox_slots_waiting", "Calls waiting for a sandbox slot now", gauges.slots_waiting.clone());
        f.counter("sandbox_refusals", "Calls refused a sandbox slot, by reason", meters.sandbox_refusals.clone());
        f.counter("outbound_requests", "Outbound requests sent, by status class", meters.outbound_requests.clone());
        f.seconds("outbound_request_duration", "Time an outbound request took", meters.outbound_seconds.clone());
        f.counter(
            "outbound_denials",
            "Outbound requests refused before they were sent, by reason",
            meters.outbound_denials.clone(),
        );
        f.counter("webhooks", "Deliveries to public webhook URLs, by outcome", meters.webhooks.clone());
        f.counter(
            "webhook_refusals",
            "Deliveries refused before any work: too many in progress for the integration",
            meters.webhook_refusals.clone(),
        );
        f.counter("transaction_transitions", "Transaction state changes", meters.transitions.clone());
        f.counter("payments", "Payments recorded", meters.payments.clone());
        f.counter("refunds", "Refund attempts at gateways, by outcome", meters.refunds.clone());
        f.counter("messages", "Messages reaching a state", meters.messages.clone());
        f.counter("event_delivery_attempts", "Event delivery attempts, by outcome", meters.delivery_attempts.clone());
        f.gauge("events_pending", "Event deliveries waiting now", gauges.events_pending.clone());
        f.gauge("events_failed", "Event deliveries failed for good", gauges.events_failed.clone());
        f.seconds(
            "events_oldest_pending_age",
            "How long the oldest pending event delivery has waited",
            gauges.oldest_pending_event.clone(),
        );
        f.seconds("db_write_wait", "Time a write transaction waited for the writer", db.write_wait_seconds.clone());
        f.seconds("db_commit_duration", "Time a commit took", db.commit_seconds.clone());
        f.histogram("db_writes_per_commit", "Write transactions one SQLite COMMIT held", db.writes_per_commit.clone());
        f.gauge("db_connections_in_use", "Database connections in use now", gauges.connections_in_use.clone());
        f.gauge("db_connections_open", "Database connections open now", gauges.connections_open.clone());
        f.gauge("module_info", "Live module versions (always 1)", gauges.module_info.clone());
        f.counter("module_installs", "Module install attempts, by outcome", meters.installs.clone());
        f.seconds("module_compile_duration", "Time compiling a module took", meters.compile_seconds.clone());
        f.counter("compile_cache_lookups", "Compile cache lookups, by result", meters.compile_cache.clone());
        f.counter(
            "integration_cache_lookups",
            "Webhook lookups of an integration and its credentials, by result",
            meters.integration_cache.clone(),
        );
        let names = f.names;
        Self { registry, gauges, names }
    }

    /// Every family's name as the page shows it, whether or not it has samples yet (a
    /// labelled family appears once something is counted under it).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The page, with the gauges set from `sample`.
    pub fn render(&self, sample: Sample) -> String {
        let g = &self.gauges;
        g.slots_total.set(i64::from(sample.slots_total));
        g.slots_in_use.set(i64::from(sample.slots_in_use));
        g.slots_waiting.set(i64::from(sample.slots_waiting));
        for (pool, open, idle) in sample.pools {
            g.connections_open.get_or_create(&PoolLabels { pool }).set(i64::from(open));
            g.connections_in_use.get_or_create(&PoolLabels { pool }).set(i64::from(open.saturating_sub(idle)));
        }
        g.events_pending.set(sample.events_pending);
        g.events_failed.set(sample.events_failed);
        g.oldest_pending_event.set(sample.oldest_pending_event.as_secs_f64());
        // Only the versions live now: an uninstalled or replaced one disappears.
        g.module_info.clear();
        for (module, version, world, contract) in sample.live_modules {
            g.module_info.get_or_create(&ModuleInfoLabels { module, version, world, contract }).set(1);
        }
        let mut page = String::new();
        prometheus_text::encode(&mut page, &self.registry).expect("writing to a String does not fail");
        page
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every query of the shipped Grafana dashboard names families this host exports, each
    /// panel has a query, and every `$datasource` is the dashboard's variable.
    #[test]
    fn the_dashboard_queries_only_metrics_the_host_exports() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/grafana-dashboard.json");
        let dashboard: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let metrics = HostMetrics::new(&Meters::default(), &DbMeters::default());
        let exported: std::collections::HashSet<&str> = metrics.names().iter().map(String::as_str).collect();
        let name = regex::Regex::new(r"\bintegrations_[a-z_]+").unwrap();
        let mut queried = std::collections::HashSet::new();
        // Panels at the top and inside (collapsed) rows.
        let top = dashboard["panels"].as_array().unwrap();
        let nested = top.iter().filter_map(|panel| panel["panels"].as_array()).flatten();
        let panels: Vec<&serde_json::Value> = top.iter().chain(nested).collect();
        for panel in panels.iter().filter(|panel| panel["type"] != "row") {
            let targets = panel["targets"].as_array().unwrap();
            assert!(!targets.is_empty(), "{} has no query", panel["title"]);
            assert_eq!(panel["datasource"]["uid"], "${datasource}", "{}", panel["title"]);
            for target in targets {
                let expr = target["expr"].as_str().unwrap();
                assert!(name.is_match(expr), "{}: `{expr}` names no metric of the host", panel["title"]);
                for found in name.find_iter(expr) {
                    let family = found.as_str();
                    let family = ["_bucket", "_count", "_sum"]
                        .iter()
                        .find_map(|suffix| family.strip_suffix(suffix).filter(|f| exported.contains(f)))
                        .unwrap_or(family);
                    assert!(
                        exported.contains(family),
                        "{} queries `{family}`, which the host does not export",
                        panel["title"]
                    );
                    queried.insert(family.to_string());
                }
            }
        }
        // The dashboard looks at what the issue asks for: provider errors and latency, webhooks,
        // events lag, sandbox slots.
        for family in [
            "integrations_provider_calls_total",
            "integrations_provider_call_duration_seconds",
            "integrations_webhooks_total",
            "integrations_events_oldest_pending_age_seconds",
            "integrations_sandbox_slots_in_use",
        ] {
            assert!(queried.contains(family), "the dashboard shows {family}");
        }
        let ids: std::collections::HashSet<_> = panels.iter().map(|panel| panel["id"].as_i64().unwrap()).collect();
        assert_eq!(ids.len(), panels.len(), "panel ids are unique");
    }

    #[test]
    fn the_page_names_every_family_with_its_unit_and_counts_what_was_recorded() {
        let meters = Meters::default();
        let metrics = HostMetrics::new(&meters, &DbMeters::default());
        meters.webhook("payment", "payment_stripe", "rejected");
        meters.webhook("payment", "payment_stripe", "rejected");
        let page = metrics.render(Sample {
            slots_total: 8,
            live_modules: vec![("payment_stripe".into(), "1.2.0".into(), "payment", "1.0.0".into())],
            ..Sample::default()
        });
        assert!(
            page.contains(
                "integrations_webhooks_total{category=\"payment\",module=\"payment_stripe\",outcome=\"rejected\"} 2"
            ),
            "{page}"
        );
        assert!(page.contains("integrations_sandbox_slots 8"), "{page}");
        assert!(!page.contains("integrations_provider_call_duration_seconds"), "empty families are left out: {page}");
        assert!(metrics.names().iter().any(|name| name == "integrations_provider_call_duration_seconds"));
        for name in metrics.names() {
            let family = name.strip_suffix("_total").unwrap_or(name);
            assert!(family.starts_with("integrations_") && !family.contains("__"), "{name}");
        }
        assert!(page.contains("integrations_module_info{module=\"payment_stripe\",version=\"1.2.0\""), "{page}");
        // A version no longer live leaves the page.
        let page = metrics.render(Sample::default());
        assert!(!page.contains("integrations_module_info{"), "{page}");
    }
}
