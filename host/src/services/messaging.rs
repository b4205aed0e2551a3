//! The messaging backbone: send (stored before the provider is called, updated with its
//! answer), read and list. Its public webhook is in `messaging_webhooks`.

use serde::Deserialize;

use crate::domain::manifest::IntegrationCategory;
use crate::domain::message_state::{is_e164, MessageState, MAX_BODY_CHARS};
use crate::domain::provider::messaging::{MessageUpdate, OutboundMessage};
use crate::domain::transaction_state::Transition;
use crate::store::events;
use crate::store::integrations::{self, IntegrationRow};
use crate::store::messages::{self, HistoryRow, MessageRow};

use super::{event_data, App, Caller, ServiceError};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"company_id": 1, "to": "+14155550123", "body": "Your invoice is ready."}))]
pub struct SendRequest {
    /// Default: the company's enabled messaging integration with the lowest sequence.
    #[serde(default, deserialize_with = "super::json_integer::optional")]
    pub integration_id: Option<i64>,
    #[schema(example = 1)]
    #[serde(deserialize_with = "super::json_integer::required")]
    pub company_id: i64,
    /// E.164: `+` and 2 to 15 digits.
    #[schema(pattern = r"^\+[1-9][0-9]{1,14}$", example = "+14155550123")]
    pub to: String,
    /// 1 to 1,600 characters.
    #[schema(min_length = 1, max_length = 1600, example = "Your invoice is ready.")]
    pub body: String,
    #[serde(default)]
    pub document_model: Option<String>,
    #[serde(default, deserialize_with = "super::json_integer::optional")]
    pub document_id: Option<i64>,
}

/// Most messages a list returns.
pub const LIST_LIMIT: i64 = 500;

impl App {
    /// The integration a send goes through: the one named, or the company's enabled
    /// messaging integration with the lowest sequence.
    async fn sending_integration(&self, caller: Caller, request: &SendRequest) -> Result<IntegrationRow, ServiceError> {
        caller.require_company(request.company_id)?;
        let integration = match request.integration_id {
            Some(id) => {
                let row = self.visible_integration(caller, id).await?;
                if row.company_id != request.company_id {
                    return Err(ServiceError::invalid(
                        "company_mismatch",
                        format!("Integration {id} belongs to company {}, not {}.", row.company_id, request.company_id),
                    ));
                }
                row
            }
            None => integrations::list(
                self.db.read(),
                Some(request.company_id),
                Some(IntegrationCategory::Messaging.as_str()),
            )
            .await?
            .into_iter()
            .find(|row| row.is_enabled() && self.registry.get(&row.module).is_some())
            .ok_or_else(|| {
                ServiceError::invalid(
                    "no_messaging_integration",
                    format!("Company {} has no enabled messaging integration.", request.company_id),
                )
            })?,
        };
        if integration.integration_category != IntegrationCategory::Messaging.as_str() {
            return Err(ServiceError::invalid(
                "wrong_category",
                format!("Integration {} is not a messaging integration.", integration.id),
            ));
        }
        if !integration.is_enabled() {
            return Err(ServiceError::invalid(
                "integration_disabled",
                format!("Integration {} is not enabled.", integration.id),
            ));
        }
        Ok(integration)
    }

    /// Sends a message. It is stored as Queued first; the provider's answer then sets its
    /// remote id and state. A gateway refusal leaves it Failed with the gateway's message.
    pub async fn send_message(&self, caller: Caller, request: SendRequest) -> Result<MessageRow, ServiceError> {
        if !is_e164(&request.to) {
            return Err(ServiceError::invalid(
                "invalid_phone_number",
                format!("to: `{}` is not an E.164 number such as +14155552671", request.to),
            ));
        }
        let length = request.body.chars().count();
        if length == 0 || length > MAX_BODY_CHARS {
            return Err(ServiceError::invalid(
                "invalid_body",
                format!("body: {length} characters; it must have 1 to {MAX_BODY_CHARS}"),
            ));
        }
        let integration = self.sending_integration(caller, &request).await?;
        self.module_of(&integration)?;

        let queued = MessageRow {
            id: 0,
            integration_id: integration.id,
            company_id: integration.company_id,
            direction: "outbound".into(),
            to_number: request.to.clone(),
            from_number: None,
            body: request.body.clone(),
            state: MessageState::Queued.as_str().into(),
            remote_id: None,
            error_code: None,
            error_message: None,
            document_model: request.document_model,
            document_id: request.document_id,
            created_at: String::new(),
            updated_at: String::new(),
        };
        // The message and its first history entry, together or not at all.
        let mut tx = self.db.tx().await?;
        let queued = messages::insert(&mut tx, &queued).await?.expect("a new message has no remote id yet");
        tx.commit().await?;
        self.meters().message(&integration.module, MessageState::Queued.as_str());

        let outbound = OutboundMessage { to: request.to, body: request.body };
        let answer = async {
            let mut provider = self.messaging_provider(&integration).await?;
            Ok::<_, ServiceError>(provider.send(&outbound).await?)
        }
        .await;
        match answer {
            Ok(Ok(sent)) => {
                let update = MessageUpdate {
                    remote_id: sent.remote_id,
                    state: sent.state,
                    error_code: None,
                    error_message: None,
                };
                self.apply_message_update(queued.id, &update).await
            }
            Ok(Err(error)) => {
                let message = self.fail_message(queued.id, &error.message).await?;
                Err(ServiceError::MessageFailed { message_id: message.id, error })
            }
            Err(error) => {
                // The provider crashed: whether the gateway got the message is unknown.
                let note = format!("The provider failed before confirming the send: {error}");
                self.fail_message(queued.id, &note).await?;
                Err(error)
            }
        }
    }

    async fn fail_message(&self, id: i64, error_message: &str) -> Result<MessageRow, ServiceError> {
        let update = MessageUpdate {
            remote_id: String::new(),
            state: MessageState::Failed,
            error_code: None,
            error_message: Some(error_message.to_string()),
        };
        self.apply_message_update(id, &update).await
    }

    /// Applies a state report to a message; backwards moves change nothing.
    pub(super) async fn apply_message_update(
        &self,
        id: i64,
        update: &MessageUpdate,
    ) -> Result<MessageRow, ServiceError> {
        loop {
            let mut tx = self.db.tx().await?;
            let row = messages::get(&mut *tx, id)
                .await?
                .ok_or_else(|| ServiceError::NotFound(format!("Message {id} does not exist.")))?;
            let current: MessageState = row.state.parse().unwrap_or(MessageState::Queued);
            let mut next = row.clone();
            if next.remote_id.is_none() && !update.remote_id.is_empty() {
                next.remote_id = Some(update.remote_id.clone());
            }
            if let Transition::Advance(state) = current.transition(update.state) {
                next.state = state.as_str().into();
                next.error_code = update.error_code.clone().or(next.error_code);
                next.error_message = update.error_message.clone().or(next.error_message);
            }
            if next.state == row.state && next.remote_id == row.remote_id {
                tx.commit().await?;
                return Ok(row);
            }
            if messages::update_if_state(&mut tx, &next, &row.state).await? {
                let changed = next.state != row.state;
                let mut deliveries = 0;
                if changed {
                    let data = event_data::message(&next, Some(&row.state));
                    let subject = format!("message:{id}");
                    deliveries = events::record(&mut tx, "message.state_changed", next.company_id, &subject, &data)
                        .await?
                        .deliveries;
                }
                tx.commit().await?;
                if deliveries > 0 {
                    self.events_ready.notify_one();
                }
                if changed {
                    if let (Some(module), Ok(state)) =
                        (self.module_for_count(next.integration_id).await, next.state.parse::<MessageState>())
                    {
                        self.meters().message(&module, state.as_str());
                    }
                }
                tracing::info!(message_id = id, from = %row.state, to = %next.state, "message update");
                return Ok(next);
            }
        }
    }

    /// A message the caller may see, with its history.
    pub async fn visible_message(
        &self,
        caller: Caller,
        id: i64,
    ) -> Result<(MessageRow, Vec<HistoryRow>), ServiceError> {
        match messages::get(self.db.read(), id).await? {
            Some(row) if caller.can_see(row.company_id) => {
                let history = messages::history(self.db.read(), id).await?;
                Ok((row, history))
            }
            _ => Err(ServiceError::NotFound(format!("Message {id} does not exist."))),
        }
    }

    pub async fn list_messages(
        &self,
        caller: Caller,
        company_id: Option<i64>,
        direction: Option<&str>,
    ) -> Result<Vec<MessageRow>, ServiceError> {
        if let Some(direction) = direction {
            if direction != "inbound" && direction != "outbound" {
                return Err(ServiceError::invalid(
                    "invalid_direction",
                    format!("direction: `{direction}` must be inbound or outbound"),
                ));
            }
        }
        let company = caller.company_filter(company_id)?;
        Ok(messages::list(self.db.read(), company, direction, LIST_LIMIT).await?)
    }
}
