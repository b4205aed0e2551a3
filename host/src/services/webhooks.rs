//! The seed's payment webhook controller, as the payment backbone's steps of the webhook
//! pipeline: the provider verifies (the raw body, headers, public URL and arrival time) and
//! parses the event into updates; each is applied to the transaction it names within this
//! integration, and logged with it.

use crate::domain::manifest::IntegrationCategory;
use crate::domain::provider::payment::{GatewayUpdate, ParsedPaymentWebhook as ParsedWebhook};
use crate::domain::provider::{Verification, WebhookRequest, WebhookResponse};
use crate::runtime::{Outcome, PaymentInstance};
use crate::store::integrations::IntegrationRow;
use crate::store::refunds;
use crate::store::transactions::{self, TransactionRow};
use crate::store::webhook_log::{self, AttemptResult};

use super::messaging_webhooks::webhook_answer_content_type;
use super::transaction_updates::WebhookNote;
use super::webhook_pipeline::{Attempt, WebhookBackbone, WebhookVerdict};
use super::{App, ServiceError};

/// The payment backbone's part of the webhook pipeline.
pub(crate) struct PaymentWebhooks;

/// What a payment webhook did, and the answer the provider chose for the gateway (1.1).
pub struct PaymentWebhookAnswer {
    /// How many updates named a known transaction.
    pub matched: usize,
    pub response: Option<WebhookResponse>,
}

impl WebhookBackbone for PaymentWebhooks {
    const CATEGORY: IntegrationCategory = IntegrationCategory::OnlinePayment;
    type Provider = PaymentInstance;
    type Parsed = ParsedWebhook;
    type Answer = PaymentWebhookAnswer;

    fn matched(answer: &PaymentWebhookAnswer) -> bool {
        answer.matched > 0
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

    /// A 1.1 provider's answer to the gateway must be one of the content types a messaging
    /// webhook may answer with (never a page a browser would render).
    fn check(provider: &mut PaymentInstance, parsed: &ParsedWebhook) -> Result<(), ServiceError> {
        match &parsed.response {
            Some(answer) => webhook_answer_content_type(&answer.content_type)
                .map_err(|reason| ServiceError::from(provider.refuse_answer(reason))),
            None => Ok(()),
        }
    }

    async fn apply(
        app: &App,
        integration: &IntegrationRow,
        parsed: ParsedWebhook,
        attempt: &Attempt<'_>,
    ) -> Result<PaymentWebhookAnswer, ServiceError> {
        let response = parsed.response;
        if parsed.updates.is_empty() {
            let entry = attempt.entry(None, true, AttemptResult::Accepted, "no updates");
            let mut tx = app.db.tx().await?;
            webhook_log::insert(&mut *tx, &entry).await?;
            tx.commit().await?;
            return Ok(PaymentWebhookAnswer { matched: 0, response });
        }
        let mut matched = 0;
        for update in &parsed.updates {
            let found = find_transaction(app, integration.id, update).await?;
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
        Ok(PaymentWebhookAnswer { matched, response })
    }
}

/// The transaction an update names in this integration: by the gateway's reference or ours,
/// else (a refund event naming no payment) by the first refund it names.
async fn find_transaction(
    app: &App,
    integration_id: i64,
    update: &GatewayUpdate,
) -> Result<Option<TransactionRow>, ServiceError> {
    let (gateway_reference, reference) = (update.gateway_reference.as_deref(), update.reference.as_deref());
    let found = transactions::find_in_integration(app.db.read(), integration_id, gateway_reference, reference).await?;
    if found.is_some() || gateway_reference.is_some() || reference.is_some() {
        return Ok(found);
    }
    for refund in &update.refunds {
        let (refund_id, refund_reference) = (refund.refund_id.as_deref(), refund.refund_reference.as_deref());
        if let Some(id) =
            refunds::transaction_of_named(app.db.read(), integration_id, refund_id, refund_reference).await?
        {
            return Ok(transactions::get(app.db.read(), id).await?);
        }
    }
    Ok(None)
}

impl App {
    pub async fn payment_webhook(
        &self,
        integration_id: i64,
        request: WebhookRequest,
    ) -> Result<WebhookVerdict<PaymentWebhookAnswer>, ServiceError> {
        self.run_webhook::<PaymentWebhooks>(integration_id, request).await
    }
}
