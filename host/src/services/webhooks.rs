//! The seed's webhook controller: verify with the provider (the raw body, headers, public
//! URL and arrival time), let it parse the event into updates, apply each to the
//! transaction it names within this integration. Every attempt is logged.

use crate::domain::manifest::IntegrationCategory;
use crate::runtime::bindings::v1::types::{Verification, WebhookRequest};
use crate::store::integrations::IntegrationRow;
use crate::store::webhook_log::{self, NewWebhookLog};
use crate::store::{integrations, now, transactions};

use super::transaction_updates::WebhookNote;
use super::{App, ServiceError};

pub enum WebhookVerdict {
    /// Verified and applied; how many updates named a known transaction.
    Accepted { matched: usize },
    /// Bad or missing signature: nothing changed.
    Rejected,
}

impl App {
    pub async fn payment_webhook(
        &self,
        integration_id: i64,
        request: WebhookRequest,
    ) -> Result<WebhookVerdict, ServiceError> {
        let mut ticket = self.webhook_gate.enter(integration_id)?;
        let integration = self.webhook_integration(integration_id, IntegrationCategory::OnlinePayment).await?;
        let received_at = now();
        let mut provider = self.payment_provider(&integration).await?;
        if let Verification::Rejected(reason) =
            provider.verify_webhook(&request).await?.map_err(ServiceError::Gateway)?
        {
            self.log_rejected_webhook(integration_id, &received_at, &reason).await?;
            return Ok(WebhookVerdict::Rejected);
        }
        ticket.verified();
        let parsed = provider
            .parse_webhook(&request)
            .await?
            .map_err(|e| ServiceError::invalid("unreadable_event", e.message))?;
        drop(provider);

        let mut matched = 0;
        for update in &parsed.updates {
            let found = transactions::find_in_integration(
                self.db.pool(),
                integration_id,
                update.gateway_reference.as_deref(),
                update.reference.as_deref(),
            )
            .await?;
            match found {
                Some(transaction) => {
                    matched += 1;
                    let note = WebhookNote { received_at: &received_at, event_type: &parsed.event_type };
                    self.apply_update(transaction.id, update, Some(note)).await?;
                }
                None => {
                    let entry = NewWebhookLog {
                        integration_id,
                        transaction_id: None,
                        received_at: &received_at,
                        event_type: Some(&parsed.event_type),
                        signature_valid: true,
                        outcome: "no matching transaction",
                    };
                    webhook_log::insert(self.db.writer(), &entry).await?;
                }
            }
        }
        Ok(WebhookVerdict::Accepted { matched })
    }
}

impl App {
    /// The integration a public webhook URL names, if it is of `category`; 404 otherwise.
    pub(crate) async fn webhook_integration(
        &self,
        id: i64,
        category: IntegrationCategory,
    ) -> Result<IntegrationRow, ServiceError> {
        match integrations::get(self.db.pool(), id).await? {
            Some(row) if row.integration_category == category.as_str() => Ok(row),
            _ => Err(ServiceError::NotFound(format!("Integration {id} does not exist."))),
        }
    }

    /// Logs a webhook whose signature the provider rejected. No transaction is named: an
    /// unverified body is not trusted enough to say which one it is about.
    pub(crate) async fn log_rejected_webhook(
        &self,
        integration_id: i64,
        received_at: &str,
        reason: &str,
    ) -> Result<(), ServiceError> {
        tracing::warn!(integration_id, %reason, "webhook rejected");
        let entry = NewWebhookLog {
            integration_id,
            transaction_id: None,
            received_at,
            event_type: None,
            signature_valid: false,
            outcome: &format!("rejected: {reason}"),
        };
        webhook_log::insert(self.db.writer(), &entry).await?;
        Ok(())
    }
}
