//! Delivering events to the ERP's endpoints: at least once, in order per subject (one
//! transaction's or message's events never overtake each other), retried with exponential
//! backoff and jitter until the policy gives up, then marked failed and replayable. Nothing is
//! held only in memory: the queue is the `event_deliveries` table, so a restart loses nothing.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::secrets::{Scope, SecretsError};
use crate::store::events::{self, AttemptRow, DeliveryRow, EndpointRow, EventRow};
use crate::store::{now, time_after, Backend};

use super::{App, Caller, ServiceError};

/// The event types the host emits.
pub const EVENT_TYPES: [&str; 8] = [
    "transaction.state_changed",
    "payment.created",
    "refund.created",
    "refund.failed",
    "payment_method.saved",
    "payment_method.deleted",
    "message.state_changed",
    "message.received",
];

/// How deliveries are retried.
#[derive(Debug, Clone)]
pub struct DeliveryPolicy {
    /// Wait before the first retry; each further retry waits twice as long.
    pub first_retry: Duration,
    /// Longest wait between retries.
    pub max_retry: Duration,
    /// After this long without success, a delivery is marked failed.
    pub give_up_after: Duration,
    /// Per attempt.
    pub timeout: Duration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            first_retry: Duration::from_secs(30),
            max_retry: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(25 * 3600),
            timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    /// An absolute http(s) URL the events are POSTed to.
    #[schema(format = "uri")]
    pub url: String,
    /// At least 16 characters; signs every delivery, never shown again.
    #[schema(value_type = String, min_length = 16)]
    pub secret: Zeroizing<String>,
    /// Only this company's events (default: every company's).
    #[serde(default, deserialize_with = "super::json_integer::optional")]
    pub company_id: Option<i64>,
    /// Only these event types (default: all).
    #[serde(default)]
    #[schema(value_type = Option<Vec<EventType>>)]
    pub types: Option<Vec<String>>,
}

/// An event type, as the OpenAPI document spells [`EVENT_TYPES`] (a test keeps them equal).
#[derive(Debug, Clone, Copy, serde::Serialize, utoipa::ToSchema)]
pub enum EventType {
    #[serde(rename = "transaction.state_changed")]
    TransactionStateChanged,
    #[serde(rename = "payment.created")]
    PaymentCreated,
    /// A refund succeeded (at once, or reported later by the gateway).
    #[serde(rename = "refund.created")]
    RefundCreated,
    /// A refund the gateway had accepted failed.
    #[serde(rename = "refund.failed")]
    RefundFailed,
    #[serde(rename = "payment_method.saved")]
    PaymentMethodSaved,
    #[serde(rename = "payment_method.deleted")]
    PaymentMethodDeleted,
    #[serde(rename = "message.state_changed")]
    MessageStateChanged,
    #[serde(rename = "message.received")]
    MessageReceived,
}

impl EventType {
    pub const ALL: [EventType; 8] = [
        Self::TransactionStateChanged,
        Self::PaymentCreated,
        Self::RefundCreated,
        Self::RefundFailed,
        Self::PaymentMethodSaved,
        Self::PaymentMethodDeleted,
        Self::MessageStateChanged,
        Self::MessageReceived,
    ];
}

impl std::fmt::Debug for NewEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewEndpoint")
            .field("url", &self.url)
            .field("company_id", &self.company_id)
            .field("types", &self.types)
            .finish_non_exhaustive()
    }
}

/// An event as an endpoint receives it (and the pull API lists it).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Event {
    pub id: i64,
    /// transaction.state_changed, payment.created, refund.*, message.*, …
    #[serde(rename = "type")]
    pub kind: String,
    pub company_id: i64,
    pub created_at: String,
    /// The event's subject (the transaction, payment, refund or message).
    pub data: serde_json::Value,
}

impl From<&EventRow> for Event {
    fn from(event: &EventRow) -> Self {
        Self {
            id: event.id,
            kind: event.kind.clone(),
            company_id: event.company_id,
            created_at: event.created_at.clone(),
            data: serde_json::from_str(&event.data).unwrap_or_default(),
        }
    }
}

/// The attempt took longer than its lease and another host took the delivery over: this
/// host records nothing (its transaction is dropped, so rolled back); the other's attempt counts.
fn lease_lost(delivery: &DeliveryRow) -> Result<(), ServiceError> {
    tracing::warn!(
        event_id = delivery.event_id,
        endpoint_id = delivery.endpoint_id,
        "event delivery outlasted its lease; another host took it over, so this attempt is not recorded"
    );
    Ok(())
}

/// `t=UNIX,v1=hex(HMAC-SHA256(secret, "t.body"))`.
pub fn signature(secret: &str, timestamp: u64, body: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

impl App {
    pub async fn add_event_endpoint(&self, request: NewEndpoint) -> Result<EndpointRow, ServiceError> {
        match url::Url::parse(&request.url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {}
            _ => {
                return Err(ServiceError::invalid(
                    "invalid_url",
                    format!("url: `{}` is not an absolute http(s) URL", request.url),
                ))
            }
        }
        if request.secret.chars().count() < 16 {
            return Err(ServiceError::invalid("invalid_secret", "secret: use at least 16 characters"));
        }
        if let Some(unknown) = request.types.iter().flatten().find(|t| !EVENT_TYPES.contains(&t.as_str())) {
            return Err(ServiceError::invalid(
                "invalid_type",
                format!("types: `{unknown}` is not one of {EVENT_TYPES:?}"),
            ));
        }
        let key = self.keys.data_key(Scope::of(request.company_id)).await?;
        let mut tx = self.db.tx().await?;
        let endpoint = events::add_endpoint(
            &mut tx,
            &key,
            &request.url,
            &request.secret,
            request.company_id,
            request.types.as_deref(),
        )
        .await?;
        tx.commit().await?;
        Ok(endpoint)
    }

    /// Events after `after` for the caller's company (or all, for the admin).
    pub async fn events_after(
        &self,
        caller: Caller,
        company_id: Option<i64>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<EventRow>, ServiceError> {
        let company = caller.company_filter(company_id)?;
        // On PostgreSQL an event with a lower id may still commit after a higher one: the page
        // ends below any such event, so a reader never steps past it.
        let horizon = match self.db.backend() {
            Backend::Sqlite => i64::MAX,
            Backend::Postgres => {
                let mut tx = self.db.tx().await?;
                let horizon = events::committed_horizon(&mut tx).await?;
                tx.commit().await?;
                horizon
            }
        };
        Ok(events::after(self.db.read(), company, after, horizon, limit.clamp(1, 1000)).await?)
    }

    pub async fn event(&self, id: i64) -> Result<EventRow, ServiceError> {
        events::get(self.db.read(), id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("Event {id} does not exist.")))
    }

    /// An event with its deliveries and every attempt of them.
    pub async fn event_detail(&self, id: i64) -> Result<(EventRow, Vec<DeliveryRow>, Vec<AttemptRow>), ServiceError> {
        let event = self.event(id).await?;
        let deliveries = events::deliveries_of(self.db.read(), id).await?;
        let attempts = events::attempts_of(self.db.read(), id).await?;
        Ok((event, deliveries, attempts))
    }

    /// Queues an event again for every endpoint it was meant for.
    pub async fn redeliver_event(&self, id: i64) -> Result<u64, ServiceError> {
        self.event(id).await?;
        let mut tx = self.db.tx().await?;
        let queued = events::redeliver(&mut *tx, id).await?;
        tx.commit().await?;
        self.events_ready.notify_one();
        Ok(queued)
    }

    /// Runs the delivery loop until the host stops: delivers what is due, then sleeps until
    /// the next retry is due or new events are committed. A stop lets the delivery in flight
    /// finish and record its attempt.
    pub fn spawn_event_delivery(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let app = self.clone();
        let client = reqwest::Client::builder()
            .timeout(app.delivery.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client");
        tokio::spawn(async move {
            while !app.stop_requested() {
                if let Err(error) = app.deliver_due(&client).await {
                    tracing::error!(%error, "event delivery pass failed");
                }
                let wait = match events::next_due(app.db.read()).await {
                    Ok(Some(next)) => DateTime::parse_from_rfc3339(&next)
                        .ok()
                        .and_then(|next| (next.with_timezone(&Utc) - Utc::now()).to_std().ok())
                        .unwrap_or(Duration::ZERO),
                    _ => Duration::from_secs(30),
                };
                tokio::select! {
                    _ = app.events_ready.notified() => {}
                    _ = tokio::time::sleep(wait.min(Duration::from_secs(30))) => {}
                    _ = app.stop_signal() => {}
                }
            }
        })
    }

    /// Delivers everything due, in order; returns when nothing is due.
    async fn deliver_due(&self, client: &reqwest::Client) -> Result<(), ServiceError> {
        while !self.stop_requested() {
            let due = events::due(self.db.read(), &now(), 100).await?;
            if due.is_empty() {
                return Ok(());
            }
            for delivery in due {
                if self.stop_requested() {
                    break;
                }
                self.deliver(client, &delivery).await?;
            }
        }
        Ok(())
    }

    async fn deliver(&self, client: &reqwest::Client, delivery: &DeliveryRow) -> Result<(), ServiceError> {
        // One host at a time: another host on the database may hold it (or have made it since
        // it was read). The lease outlasts the attempt; a host that dies lets it run out.
        let leased_until = time_after(self.delivery.timeout * 3);
        let mut tx = self.db.tx().await?;
        let leased = events::lease(&mut *tx, delivery, &now(), &leased_until).await?;
        tx.commit().await?;
        if !leased {
            return Ok(());
        }
        let lease = leased_until.as_str();
        let (Some(event), Some(endpoint)) = (
            events::get(self.db.read(), delivery.event_id).await?,
            events::endpoint(self.db.read(), delivery.endpoint_id).await?,
        ) else {
            return Ok(());
        };
        let body = serde_json::to_string(&Event::from(&event)).expect("an event is JSON");
        let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let secret = match events::endpoint_secret(self.db.read(), &self.keys, &endpoint).await {
            Ok(secret) => secret,
            Err(SecretsError::Database(error)) => return Err(error.into()),
            // A secret that cannot be used (damaged, or its data key unusable by this host)
            // fails this delivery (retried, then failed) without holding up the others;
            // nothing is sent unsigned.
            Err(error) => {
                tracing::error!(%error, endpoint_id = endpoint.id, "event endpoint secret unusable");
                return self.settle_failure(delivery, lease, &event, &endpoint, None, &error.to_string()).await;
            }
        };
        let sent = client
            .post(&endpoint.url)
            .header("content-type", "application/json")
            .header("X-Integrations-Event-Id", event.id.to_string())
            .header("X-Integrations-Signature", signature(&secret, timestamp, &body))
            .body(body)
            .send()
            .await;
        drop(secret);
        let (status, error) = match sent {
            Ok(response) if response.status().is_success() => (Some(response.status().as_u16()), None),
            Ok(response) => (Some(response.status().as_u16()), Some(format!("HTTP {}", response.status().as_u16()))),
            Err(e) if e.is_timeout() => (None, Some("timed out".to_string())),
            Err(e) => (
                None,
                Some(format!(
                    "request failed: {}",
                    std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_default()
                )),
            ),
        };
        match &error {
            None => {
                // The attempt and the delivery's new state, together or not at all.
                let mut tx = self.db.tx().await?;
                if !events::settle(&mut tx, delivery, lease, status, None, "delivered", &delivery.next_attempt_at)
                    .await?
                {
                    return lease_lost(delivery);
                }
                tx.commit().await?;
                self.meters().delivery_attempt("delivered");
                Ok(())
            }
            Some(error) => self.settle_failure(delivery, lease, &event, &endpoint, status, error).await,
        }
    }

    /// Records a failed attempt: retried after the backoff, or failed once the policy gives up.
    async fn settle_failure(
        &self,
        delivery: &DeliveryRow,
        lease: &str,
        event: &EventRow,
        endpoint: &EndpointRow,
        status: Option<u16>,
        error: &str,
    ) -> Result<(), ServiceError> {
        let retry = self.retry_delay(delivery.attempts + 1);
        let started = DateTime::parse_from_rfc3339(&delivery.created_at)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|_| Utc::now());
        let give_up = Utc::now() + chrono::Duration::from_std(retry).unwrap_or_default()
            > started + chrono::Duration::from_std(self.delivery.give_up_after).unwrap_or_default();
        let state = if give_up { "failed" } else { "pending" };
        let mut tx = self.db.tx().await?;
        if !events::settle(&mut tx, delivery, lease, status, Some(error), state, &time_after(retry)).await? {
            return lease_lost(delivery);
        }
        tx.commit().await?;
        self.meters().delivery_attempt(if give_up { "gave_up" } else { "failed" });
        tracing::warn!(event_id = event.id, endpoint_id = endpoint.id, %error, attempt = delivery.attempts + 1, state, "event delivery failed");
        Ok(())
    }

    /// Exponential backoff from the policy's first retry, capped, with ±20 % jitter.
    fn retry_delay(&self, attempt: i64) -> Duration {
        let exponent = u32::try_from(attempt.saturating_sub(1)).unwrap_or(u32::MAX).min(30);
        let base = self.delivery.first_retry.saturating_mul(2u32.saturating_pow(exponent)).min(self.delivery.max_retry);
        base.mul_f64(rand::random_range(0.8..1.2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_event_types_are_the_ones_emitted() {
        let documented: Vec<String> =
            EventType::ALL.iter().map(|t| serde_json::to_value(t).unwrap().as_str().unwrap().to_string()).collect();
        assert_eq!(documented, EVENT_TYPES);
    }

    #[test]
    fn signatures_follow_the_documented_scheme() {
        // HMAC-SHA256("secret", "1700000000.{}") computed independently.
        let expected = {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"secret").unwrap();
            mac.update(b"1700000000.{}");
            hex::encode(mac.finalize().into_bytes())
        };
        assert_eq!(signature("secret", 1_700_000_000, "{}"), format!("t=1700000000,v1={expected}"));
    }
}
