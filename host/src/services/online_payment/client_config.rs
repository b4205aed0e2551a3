//! What the ERP's payment page needs to load a gateway's script before any payment exists
//! (the provider's `client-config`: a publishable key, the script's URL), for one enabled
//! payment integration.

use crate::domain::manifest::IntegrationCategory;
use crate::services::{App, Caller, ServiceError};

impl App {
    /// The provider's client configuration of integration `id`, a JSON object.
    pub async fn client_config(&self, caller: Caller, id: i64) -> Result<serde_json::Value, ServiceError> {
        let integration = self.visible_integration(caller, id).await?;
        if integration.integration_category != IntegrationCategory::OnlinePayment.as_str() {
            return Err(ServiceError::invalid(
                "not_a_payment_integration",
                format!("Integration {id} is not an online payment integration."),
            ));
        }
        if !integration.is_enabled() {
            return Err(ServiceError::invalid("integration_disabled", format!("Integration {id} is not enabled.")));
        }
        let mut provider = self.payment_provider(&integration).await?;
        let text = provider.client_config().await?.map_err(ServiceError::Gateway)?;
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(config) if config.is_object() => Ok(config),
            // The provider's fault, not the gateway's: 502 `provider_failed`, counted and logged.
            _ => Err(provider.refuse_answer("its client configuration is not a JSON object".into()).into()),
        }
    }
}
