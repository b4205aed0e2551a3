//! The host's counters as the services use them, and the `/metrics` page: the counters with
//! the present state sampled beside them.

use std::time::Duration;

use crate::metrics::{Meters, Sample};
use crate::runtime::ProviderPre;
use crate::store::events;

use super::{App, ServiceError};

impl App {
    /// The counters every part of this host records into.
    pub fn meters(&self) -> &Meters {
        &self.runtime.meters
    }

    /// The module of integration `id`, for a count made after a change committed: from
    /// memory once read (an integration never changes module); None when it cannot be read,
    /// which skips the count, never the change.
    pub(super) async fn module_for_count(&self, id: i64) -> Option<String> {
        if let Some(module) = self.modules_of.get(id) {
            return Some(module);
        }
        match crate::store::integrations::get(self.db.read(), id).await {
            Ok(Some(integration)) => {
                self.modules_of.remember(id, &integration.module);
                Some(integration.module)
            }
            _ => None,
        }
    }

    /// The page in Prometheus text.
    pub async fn metrics_page(&self) -> Result<String, ServiceError> {
        let (pending, failed, oldest) = events::delivery_backlog(self.db.read()).await?;
        let oldest_pending_event = oldest
            .and_then(|queued| chrono::DateTime::parse_from_rfc3339(&queued).ok())
            .and_then(|queued| (chrono::Utc::now() - queued.to_utc()).to_std().ok())
            .unwrap_or(Duration::ZERO);
        let slots = self.runtime.slots();
        let (slots_in_use, slots_waiting) = slots.occupancy();
        let live_modules = self
            .registry
            .all()
            .iter()
            .map(|module| {
                let world = match module.pre {
                    ProviderPre::Payment(_) => "payment",
                    ProviderPre::Messaging(_) => "messaging",
                };
                let manifest = &module.manifest;
                (manifest.identifier.clone(), manifest.version.clone(), world, manifest.contract_version().to_string())
            })
            .collect();
        Ok(self.metrics.render(Sample {
            slots_total: slots.policy().total,
            slots_in_use,
            slots_waiting,
            pools: self.db.pool_usage(),
            events_pending: pending,
            events_failed: failed,
            oldest_pending_event,
            live_modules,
        }))
    }
}

/// Integration id → module, as read (at most [`ModulesOf::MOST`] kept; forgotten all at once
/// beyond, and read again).
#[derive(Default)]
pub struct ModulesOf(std::sync::Mutex<std::collections::HashMap<i64, String>>);

impl ModulesOf {
    const MOST: usize = 10_000;

    fn get(&self, id: i64) -> Option<String> {
        self.0.lock().ok()?.get(&id).cloned()
    }

    fn remember(&self, id: i64, module: &str) {
        if let Ok(mut known) = self.0.lock() {
            if known.len() >= Self::MOST {
                known.clear();
            }
            known.insert(id, module.to_string());
        }
    }
}
