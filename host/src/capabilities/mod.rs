//! The host side of each WIT import. A provider reaches the world only through these, and
//! each sees only the integration its call serves: [`CallContext`] is built per call from
//! that integration's credentials, the module's allowlist and endpoints.

mod cache;
mod credentials;
mod crypto;
mod endpoints;
mod http;
mod log;
mod mapper;

use std::sync::Arc;
use std::time::Instant;

pub use cache::ProviderCache;
pub use credentials::CredentialSet;
pub use endpoints::ModuleEndpoints;
pub use http::{OutboundHttp, StaticNames};
pub use log::LogBudget;

use crate::domain::allowed_hosts::AllowedHosts;
use crate::runtime::bindings::v1::integrations::provider::{context, types};
use crate::store::Db;

/// Process-wide services the capabilities share.
pub struct HostServices {
    pub http: OutboundHttp,
    pub db: Db,
    pub cache: ProviderCache,
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
    pub(crate) integration: types::IntegrationInfo,
    pub(crate) credentials: CredentialSet,
    pub(crate) http_requests_left: u32,
    /// What the call may still write to the log (shared with its stdout and stderr).
    pub(crate) log_budget: LogBudget,
    /// IntegrationMapper writes made so far in this call.
    pub(crate) mapper_writes: usize,
    /// Set by the runtime when the sandbox starts.
    pub(crate) deadline: Instant,
}

/// Outbound requests one call may make; every attempt spends one, allowed or not.
pub const HTTP_REQUESTS_PER_CALL: u32 = 8;

impl CallContext {
    pub fn new(
        services: Arc<HostServices>,
        module: Arc<ModuleGrants>,
        integration: types::IntegrationInfo,
        credentials: CredentialSet,
    ) -> Self {
        Self {
            services,
            module,
            integration,
            credentials,
            http_requests_left: HTTP_REQUESTS_PER_CALL,
            log_budget: LogBudget::default(),
            mapper_writes: 0,
            deadline: Instant::now(),
        }
    }
}

impl types::Host for CallContext {}

impl context::Host for CallContext {
    fn integration(&mut self) -> wasmtime::Result<types::IntegrationInfo> {
        Ok(self.integration.clone())
    }
}
