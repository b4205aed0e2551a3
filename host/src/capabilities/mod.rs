//! The host side of each WIT import. A provider reaches the world only through these, and
//! each sees only the integration its call serves: [`CallContext`] is built per call from
//! that integration's credentials, the module's allowlist and endpoints.

mod cache;
mod credentials;
pub mod crypto;
mod endpoints;
pub mod http;
mod log;
mod mapper;
mod scrub;

use std::sync::{Arc, OnceLock};
use std::time::Instant;

pub use cache::ProviderCache;
pub use credentials::CredentialSet;
pub use endpoints::ModuleEndpoints;
pub use http::{OutboundHttp, OutboundLimits, StaticNames};
pub use log::LogBudget;
pub use scrub::{ScrubList, Scrubber, MARKER as SCRUB_MARKER};

use crate::domain::allowed_hosts::AllowedHosts;
use crate::domain::provider::IntegrationInfo;
use crate::runtime::bindings::v1::integrations::provider::{context, types};
use crate::store::Db;

/// Process-wide services the capabilities share.
pub struct HostServices {
    pub http: OutboundHttp,
    pub db: Db,
    pub cache: ProviderCache,
    /// The host's counters (the runtime's): outbound requests are counted here.
    pub meters: std::sync::Arc<crate::metrics::Meters>,
}

/// What the host knows of a module, resolved once when it loads.
#[derive(Debug, Clone)]
pub struct ModuleGrants {
    pub identifier: String,
    pub version: String,
    pub allowed_hosts: AllowedHosts,
    pub endpoints: ModuleEndpoints,
}

/// Per-call state: everything a provider may touch during one call, for one integration.
pub struct CallContext {
    pub(crate) services: Arc<HostServices>,
    pub(crate) module: Arc<ModuleGrants>,
    pub(crate) integration: IntegrationInfo,
    pub(crate) credentials: CredentialSet,
    pub(crate) http_requests_left: u32,
    /// What the call may still write to the log (shared with its stdout and stderr).
    pub(crate) log_budget: LogBudget,
    /// IntegrationMapper writes made so far in this call.
    pub(crate) mapper_writes: usize,
    /// Set by the runtime when the sandbox starts.
    pub(crate) deadline: Instant,
    /// Removes this integration's secret values from responses and log lines; built at
    /// first use.
    scrubber: OnceLock<Scrubber>,
}

impl CallContext {
    pub fn new(
        services: Arc<HostServices>,
        module: Arc<ModuleGrants>,
        integration: IntegrationInfo,
        credentials: CredentialSet,
    ) -> Self {
        Self {
            http_requests_left: services.http.requests_per_call,
            services,
            module,
            integration,
            credentials,
            log_budget: LogBudget::default(),
            mapper_writes: 0,
            deadline: Instant::now(),
            scrubber: OnceLock::new(),
        }
    }

    /// A list holding every secret value of the integration this call serves.
    pub(crate) fn secrets_to_scrub(&self) -> ScrubList {
        let mut list = ScrubList::default();
        for value in self.credentials.secret_values() {
            list.secret(value);
        }
        list
    }

    /// Removes every secret value of this call's integration (see [`scrub`]).
    pub fn scrubber(&self) -> &Scrubber {
        self.scrubber.get_or_init(|| self.secrets_to_scrub().build())
    }
}

impl types::Host for CallContext {}

impl context::Host for CallContext {
    fn integration(&mut self) -> wasmtime::Result<types::IntegrationInfo> {
        Ok((&self.integration).into())
    }
}
