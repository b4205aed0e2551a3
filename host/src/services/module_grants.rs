//! What an upgrade may take from its live version (API.md §2): a credential stored as secret
//! stays secret, and hosts the live version could not reach are granted only by an operator
//! through the admin API (`grant_new_hosts=true`), never by a folder the host watches.

use crate::domain::manifest::Manifest;
use crate::domain::upgrade_review::UpgradeReview;
use crate::store::modules;

use super::{App, ServiceError};

/// Where an install comes from, which decides what it may be granted.
#[derive(Debug, Clone, Copy)]
pub enum InstallFrom<'a> {
    /// `POST /api/admin/modules`; `grant_new_hosts` is the operator's consent to hosts the
    /// live version does not reach.
    Admin { grant_new_hosts: bool },
    /// The modules folder, named after the module's identifier. Grants nothing.
    Folder { identifier: &'a str },
}

impl InstallFrom<'_> {
    fn grants_new_hosts(self) -> bool {
        matches!(self, Self::Admin { grant_new_hosts: true })
    }
}

impl App {
    /// The manifest of the version that was live last: the registry's, or, for a module
    /// taken out of service, the one its state names. None for a first install.
    async fn last_live_manifest(&self, identifier: &str) -> Result<Option<Manifest>, ServiceError> {
        if let Some(live) = self.registry.get(identifier) {
            return Ok(Some(live.manifest.clone()));
        }
        let Some(state) = modules::state(self.db.read(), identifier).await? else {
            return Ok(None);
        };
        let Some(yaml) = modules::manifest(self.db.read(), identifier, &state.active_version).await? else {
            return Ok(None);
        };
        // Recorded versions passed this parse when they were installed.
        Ok(Manifest::parse(&yaml).ok())
    }

    /// Refuses an upgrade that declassifies a secret, or that reaches new hosts without the
    /// operator's grant.
    pub(super) async fn check_upgrade(&self, next: &Manifest, from: InstallFrom<'_>) -> Result<(), ServiceError> {
        let Some(live) = self.last_live_manifest(&next.identifier).await? else {
            return Ok(());
        };
        let review = UpgradeReview::of(&live, next);
        let mut reasons = Vec::new();
        for name in &review.declassified {
            reasons.push(format!(
                "runtime.credentials: `{name}` is secret in version {} and a value stored as secret stays secret; \
                 keep `secret: true` (a new credential name starts empty)",
                live.version
            ));
        }
        if !review.new_hosts.is_empty() && !from.grants_new_hosts() {
            let hosts = review.new_hosts.join(", ");
            reasons.push(match from {
                InstallFrom::Folder { .. } => format!(
                    "runtime.allowed_hosts: version {} reaches {hosts}, which version {} does not; the modules folder \
                     never grants new hosts: install it with POST /api/admin/modules and grant_new_hosts=true",
                    next.version, live.version
                ),
                InstallFrom::Admin { .. } => format!(
                    "runtime.allowed_hosts: version {} reaches {hosts}, which version {} does not; send \
                     grant_new_hosts=true to allow it",
                    next.version, live.version
                ),
            });
        }
        if reasons.is_empty() {
            if !review.new_hosts.is_empty() {
                tracing::warn!(
                    module = %next.identifier, version = %next.version, previous = %live.version,
                    new_hosts = %review.new_hosts.join(", "), "new outbound hosts granted by the operator"
                );
            }
            return Ok(());
        }
        Err(ServiceError::invalid("module_refused", reasons.join("; ")))
    }
}
