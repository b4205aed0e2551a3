//! Opening a provider sandbox for one integration: its live module, its credentials (and
//! no one else's), its mode and its public webhook URL.

use std::sync::Arc;

use crate::capabilities::{CallContext, CredentialSet};
use crate::domain::manifest::IntegrationCategory;
use crate::domain::provider::IntegrationInfo;
use crate::registry::LoadedModule;
use crate::runtime::{CallLabel, MessagingInstance, PaymentInstance, ProviderPre};
use crate::store::integrations::IntegrationRow;

use super::{App, ServiceError};

impl App {
    /// The live module of an integration, or 503 when it is not installed.
    pub fn module_of(&self, integration: &IntegrationRow) -> Result<Arc<LoadedModule>, ServiceError> {
        self.registry.get(&integration.module).ok_or_else(|| {
            ServiceError::Unavailable(format!(
                "The module `{}` of integration {} is not installed on this host.",
                integration.module, integration.id
            ))
        })
    }

    /// A payment provider sandbox serving `integration`.
    pub async fn payment_provider(&self, integration: &IntegrationRow) -> Result<PaymentInstance, ServiceError> {
        let (module, call, label) = self.call_for(integration).await?;
        match &module.pre {
            ProviderPre::Payment(pre) => Ok(self.runtime.payment_instance(pre, label, module.limits, call).await?),
            ProviderPre::Messaging(_) => Err(wrong_world(integration, "a payment")),
        }
    }

    /// A messaging provider sandbox serving `integration`.
    pub async fn messaging_provider(&self, integration: &IntegrationRow) -> Result<MessagingInstance, ServiceError> {
        let (module, call, label) = self.call_for(integration).await?;
        match &module.pre {
            ProviderPre::Messaging(pre) => Ok(self.runtime.messaging_instance(pre, label, module.limits, call).await?),
            ProviderPre::Payment(_) => Err(wrong_world(integration, "a messaging")),
        }
    }

    /// The module, the per-call context (this integration's credentials and nobody else's)
    /// and the log label for a call serving `integration`.
    async fn call_for(
        &self,
        integration: &IntegrationRow,
    ) -> Result<(Arc<LoadedModule>, CallContext, CallLabel), ServiceError> {
        let module = self.module_of(integration)?;
        super::note_module_used(&module.manifest.identifier, &module.manifest.version);
        let values = self.credentials_of(integration).await?;
        let call = CallContext::new(
            self.services.clone(),
            module.grants.clone(),
            IntegrationInfo {
                integration_id: integration.id,
                company_id: integration.company_id,
                test_mode: integration.test_mode(),
                webhook_url: self.webhook_url(integration),
            },
            CredentialSet::new(&module.manifest, values),
        );
        let label = CallLabel {
            module: module.manifest.identifier.clone(),
            version: module.manifest.version.clone(),
            company_id: integration.company_id,
            integration_id: integration.id,
        };
        Ok((module, call, label))
    }
}

impl App {
    /// The integration's public webhook URL.
    pub fn webhook_url(&self, integration: &IntegrationRow) -> String {
        let backbone = match IntegrationCategory::parse(&integration.integration_category) {
            Some(IntegrationCategory::Messaging) => "messaging",
            _ => "payment",
        };
        self.public(&format!("/{backbone}/webhook/{}", integration.id))
    }
}

fn wrong_world(integration: &IntegrationRow, what: &str) -> ServiceError {
    ServiceError::invalid(
        "wrong_category",
        format!("Integration {} ({}) is not {what} integration.", integration.id, integration.module),
    )
}
