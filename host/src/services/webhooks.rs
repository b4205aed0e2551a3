//! The seed's payment webhook controller, as the payment backbone's steps of the webhook
//! pipeline: the provider verifies (the raw body, headers, public URL and arrival time) and
//! parses the event into updates; each is applied to the transaction it names within this
//! integration, and logged with it.

use crate::domain::manifest::IntegrationCategory;
use crate::domain::provider::payment::ParsedPaymentWebhook as ParsedWebhook;
use crate::domain::provider::{Verification, WebhookRequest};
use crate::runtime::{Outcome, PaymentInstance};
use crate::store::integrations::IntegrationRow;
use crate::store::transactions;
use crate::store::webhook_log::{self, AttemptResult};

use super::transaction_updates::WebhookNote;
use super::webhook_pipeline::{Attempt, WebhookBackbone, WebhookVerdict};
use super::{App, ServiceError};

/// The payment backbone's part of the webhook pipeline.
pub(crate) struct PaymentWebhooks;

impl WebhookBackbone for PaymentWebhooks {
    const CATEGORY: IntegrationCategory = IntegrationCategory::OnlinePayment;
    type Provider = PaymentInstance;
    type Parsed = ParsedWebhook;
    /// How many updates named a known transaction.
    type Answer = usize;

    fn matched(answer: &usize) -> bool {
        *answer > 0
    }

    async fn open(app: &App, integration: &IntegrationRow) -> Result<PaymentInstance, ServiceError> {
        app.payment_provider(integration).await
    }

    async fn verify(provider: &mut PaymentInstance, request: &WebhookRequest) -> Outcome<Verification> {
        provider.verify_webhook(request).await
    }

    async fn parse(provider: &mut PaymentInstance, request: &WebhookRequest) -> Outcome<ParsedWebhook> {
        provider.parse_webhook(request).await
    }

    fn event_type(parsed: &ParsedWebhook) -> &str {
        &parsed.event_type
    }

    async fn apply(
        app: &App,
        integration: &IntegrationRow,
        parsed: ParsedWebhook,
        attempt: &Attempt<'_>,
    ) -> Result<usize, ServiceError> {
        if parsed.updates.is_empty() {
            let entry = attempt.entry(None, true, AttemptResult::Accepted, "no updates");
            let mut tx = app.db.tx().await?;
            webhook_log::insert(&mut *tx, &entry).await?;
            tx.commit().await?;
            return Ok(0);
        }
        let mut matched = 0;
        for update in &parsed.updates {
            let found = transactions::find_in_integration(
                app.db.read(),
                integration.id,
                update.gateway_reference.as_deref(),
                update.reference.as_deref(),
            )
            .await?;
            match found {
                Some(transaction) => {
                    matched += 1;
                    let note = WebhookNote { received_at: attempt.received_at, event_type: &parsed.event_type };
                    app.apply_update_to(transaction, update, Some(note)).await?;
                }
                None => {
                    let entry = attempt.entry(None, true, AttemptResult::Unmatched, "no matching transaction");
                    let mut tx = app.db.tx().await?;
                    webhook_log::insert(&mut *tx, &entry).await?;
                    tx.commit().await?;
                }
            }
        }
        Ok(matched)
    }
}

impl App {
    pub async fn payment_webhook(
        &self,
        integration_id: i64,
        request: WebhookRequest,
    ) -> Result<WebhookVerdict<usize>, ServiceError> {
        self.run_webhook::<PaymentWebhooks>(integration_id, request).await
    }
}
