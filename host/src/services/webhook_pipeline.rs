//! One pipeline for every public webhook URL, payment and messaging alike: bound the calls in
//! progress, find the integration, let the provider verify the request, let it parse the
//! event, apply what it says, and record the attempt, whatever the outcome. The backbones
//! differ only in what a parsed event is and how it is applied ([`WebhookBackbone`]).

use crate::domain::manifest::IntegrationCategory;
use crate::domain::provider::{Verification, WebhookRequest};
use crate::runtime::Outcome;
use crate::store::integrations::IntegrationRow;
use crate::store::webhook_log::{self, AttemptResult, NewWebhookLog};

use super::integration_cache::CachedIntegration;
use super::webhook_gate::WebhookTicket;
use super::{App, ServiceError};

/// What the gateway is answered.
pub enum WebhookVerdict<A> {
    /// Verified and applied.
    Accepted(A),
    /// Bad or missing signature: nothing changed.
    Rejected,
}

/// One delivery to a public webhook URL, for the attempt log.
pub struct Attempt<'a> {
    pub integration_id: i64,
    pub received_at: &'a str,
    pub event_type: Option<&'a str>,
}

impl<'a> Attempt<'a> {
    /// The log entry of this attempt.
    pub fn entry(
        &self,
        transaction_id: Option<i64>,
        signature_valid: bool,
        result: AttemptResult,
        detail: &'a str,
    ) -> NewWebhookLog<'a> {
        NewWebhookLog {
            integration_id: self.integration_id,
            transaction_id,
            received_at: self.received_at,
            event_type: self.event_type,
            signature_valid,
            result,
            outcome: detail,
        }
    }
}

/// A backbone's steps of the pipeline.
pub(crate) trait WebhookBackbone {
    const CATEGORY: IntegrationCategory;
    /// The provider sandbox serving the integration.
    type Provider: Send;
    type Parsed: Send;
    /// What the backbone answers the gateway with once the event is applied.
    type Answer;

    async fn open(app: &App, integration: &IntegrationRow) -> Result<Self::Provider, ServiceError>;
    /// Whether the applied event changed anything (else it is counted as `unmatched`).
    fn matched(_answer: &Self::Answer) -> bool {
        true
    }
    async fn verify(provider: &mut Self::Provider, request: &WebhookRequest) -> Outcome<Verification>;
    async fn parse(provider: &mut Self::Provider, request: &WebhookRequest) -> Outcome<Self::Parsed>;
    fn event_type(parsed: &Self::Parsed) -> &str;
    /// Refuses a parsed event the host will not act on (checked before anything is applied).
    fn check(_provider: &mut Self::Provider, _parsed: &Self::Parsed) -> Result<(), ServiceError> {
        Ok(())
    }
    /// Applies the event; records the attempt (in the same database transactions as the
    /// changes, where there are any).
    async fn apply(
        app: &App,
        integration: &IntegrationRow,
        parsed: Self::Parsed,
        attempt: &Attempt<'_>,
    ) -> Result<Self::Answer, ServiceError>;
}

impl App {
    /// Runs the pipeline for one delivery and counts it by outcome.
    pub(crate) async fn run_webhook<B: WebhookBackbone>(
        &self,
        integration_id: i64,
        request: WebhookRequest,
    ) -> Result<WebhookVerdict<B::Answer>, ServiceError> {
        let category = match B::CATEGORY {
            IntegrationCategory::Messaging => "messaging",
            _ => "payment",
        };
        let mut ticket = self.webhook_gate.enter(integration_id).inspect_err(|_| {
            self.meters().webhook_refusal(category);
        })?;
        let cached = self.webhook_integration(integration_id, B::CATEGORY).await?;
        let integration = &cached.row;
        let verdict = self.webhook_steps::<B>(integration, &mut ticket, request).await;
        let outcome = match &verdict {
            Ok(WebhookVerdict::Accepted(answer)) if B::matched(answer) => "accepted",
            Ok(WebhookVerdict::Accepted(_)) => "unmatched",
            Ok(WebhookVerdict::Rejected) => "rejected",
            Err(_) => "failed",
        };
        self.meters().webhook(category, &integration.module, outcome);
        verdict
    }

    async fn webhook_steps<B: WebhookBackbone>(
        &self,
        integration: &IntegrationRow,
        ticket: &mut WebhookTicket<'_>,
        request: WebhookRequest,
    ) -> Result<WebhookVerdict<B::Answer>, ServiceError> {
        let integration_id = integration.id;
        let received_at = crate::store::now();
        let attempt = Attempt { integration_id, received_at: &received_at, event_type: None };
        let mut provider = match B::open(self, integration).await {
            Ok(provider) => provider,
            Err(error) => {
                let detail = format!("the provider could not be started: {error}");
                self.record_failed_attempt(&attempt, false, AttemptResult::ProviderFailed, &detail).await;
                return Err(error);
            }
        };
        let verification = match B::verify(&mut provider, &request).await {
            Ok(Ok(verification)) => verification,
            Ok(Err(error)) => {
                let detail = format!("the provider could not verify the webhook: {}", error.message);
                self.record_failed_attempt(&attempt, false, AttemptResult::ProviderFailed, &detail).await;
                return Err(ServiceError::Gateway(error));
            }
            Err(failure) => {
                let detail = format!("the provider failed verifying the webhook: {}", failure.kind);
                self.record_failed_attempt(&attempt, false, AttemptResult::ProviderFailed, &detail).await;
                return Err(failure.into());
            }
        };
        if let Verification::Rejected(reason) = verification {
            tracing::warn!(integration_id, %reason, "webhook rejected");
            // No transaction is named: an unverified body is not trusted to say which.
            let mut tx = self.db.tx().await?;
            webhook_log::insert(&mut *tx, &attempt.entry(None, false, AttemptResult::Rejected, &reason)).await?;
            tx.commit().await?;
            return Ok(WebhookVerdict::Rejected);
        }
        ticket.verified();
        let parsed = match B::parse(&mut provider, &request).await {
            Ok(Ok(parsed)) => parsed,
            Ok(Err(error)) => {
                let detail = format!("the provider could not read the event: {}", error.message);
                self.record_failed_attempt(&attempt, true, AttemptResult::Unreadable, &detail).await;
                return Err(ServiceError::invalid("unreadable_event", error.message));
            }
            Err(failure) => {
                let detail = format!("the provider failed reading the event: {}", failure.kind);
                self.record_failed_attempt(&attempt, true, AttemptResult::ProviderFailed, &detail).await;
                return Err(failure.into());
            }
        };
        let event_type = B::event_type(&parsed).to_string();
        let attempt = Attempt { event_type: Some(&event_type), ..attempt };
        if let Err(error) = B::check(&mut provider, &parsed) {
            self.record_failed_attempt(&attempt, true, AttemptResult::ProviderFailed, &error.to_string()).await;
            return Err(error);
        }
        drop(provider);
        let answer = B::apply(self, integration, parsed, &attempt).await?;
        Ok(WebhookVerdict::Accepted(answer))
    }

    /// An integration's webhook attempts, newest first (`limit` 1 to 1000, default 100),
    /// optionally of one outcome.
    pub async fn webhook_attempts(
        &self,
        caller: super::Caller,
        id: i64,
        outcome: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Vec<webhook_log::AttemptRow>, ServiceError> {
        let integration = self.visible_integration(caller, id).await?;
        let result = match outcome {
            None => None,
            Some(text) => Some(AttemptResult::parse(text).ok_or_else(|| {
                let known: Vec<_> = AttemptResult::ALL.iter().map(|r| r.as_str()).collect();
                ServiceError::invalid(
                    "invalid_outcome",
                    format!(
                        "outcome: `{}` is not one of {}",
                        text.chars().take(32).collect::<String>(),
                        known.join(", ")
                    ),
                )
            })?),
        };
        let limit = match limit {
            None => 100,
            Some(limit @ 1..=1000) => limit,
            Some(_) => return Err(ServiceError::invalid("invalid_limit", "limit: must be from 1 to 1000")),
        };
        Ok(webhook_log::for_integration(self.db.read(), integration.id, result, limit).await?)
    }

    /// Records an attempt that failed before anything was applied. The failure itself is
    /// what the gateway is answered, so a log entry that cannot be written is only logged.
    async fn record_failed_attempt(
        &self,
        attempt: &Attempt<'_>,
        signature_valid: bool,
        result: AttemptResult,
        detail: &str,
    ) {
        let entry = attempt.entry(None, signature_valid, result, detail);
        let recorded = async {
            let mut tx = self.db.tx().await?;
            webhook_log::insert(&mut *tx, &entry).await?;
            tx.commit().await
        };
        if let Err(error) = recorded.await {
            tracing::warn!(integration_id = attempt.integration_id, %error, "webhook attempt not recorded");
        }
    }

    /// The integration a public webhook URL names, if it is of `category`; 404 otherwise.
    pub(crate) async fn webhook_integration(
        &self,
        id: i64,
        category: IntegrationCategory,
    ) -> Result<std::sync::Arc<CachedIntegration>, ServiceError> {
        match self.cached_integration(id).await? {
            Some(entry) if entry.row.integration_category == category.as_str() => Ok(entry),
            _ => Err(ServiceError::NotFound(format!("Integration {id} does not exist."))),
        }
    }
}
