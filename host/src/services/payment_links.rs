//! Payment links (issue 6, the backbone's PaymentLink): the ERP creates a link for a
//! document's amount; the payer opens `PUBLIC_URL/pay/TOKEN`, chooses one of the company's
//! enabled payment integrations and is sent to the gateway through [`App::initiate`]. A link
//! is Paid when one of its transactions reached Captured (so also when it was refunded since),
//! Expired after `expires_at`, else Open.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::domain::manifest::IntegrationCategory;
use crate::domain::money::{format_minor, Currency};
use crate::domain::provider::payment::SessionAction;
use crate::domain::transaction_state::TransactionState;
use crate::store::integrations::{self, IntegrationRow};
use crate::store::payment_links::{self, PaymentLinkRow};

use super::online_payment::{parse_currency, parse_money, InitiateRequest};
use super::{random_token, App, Caller, ServiceError};

/// Random bytes in a token: 256 bits, 43 URL-safe base64 characters.
pub const TOKEN_BYTES: usize = 32;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;
/// Longest document model name, in characters.
pub const MAX_DOCUMENT_MODEL_CHARS: usize = 128;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLinkRequest {
    #[schema(example = 1)]
    #[serde(deserialize_with = "super::json_integer::required")]
    pub company_id: i64,
    #[schema(min_length = 1, max_length = 128, example = "Invoice")]
    pub document_model: String,
    #[serde(deserialize_with = "super::json_integer::required")]
    pub document_id: i64,
    /// A JSON number or a decimal string, parsed like initiate's.
    #[schema(schema_with = super::online_payment::amount_schema)]
    pub amount: Box<RawValue>,
    /// ISO 4217 (upper or lower case).
    #[schema(pattern = "^[A-Za-z]{3}$", example = "EUR")]
    pub currency: String,
    #[schema(min_length = 1, max_length = 1000, example = "Invoice 42")]
    pub description: String,
    /// RFC 3339 with an offset, in the future; absent: the link never expires.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

/// Where a link stands, computed from its transactions and the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkStatus {
    Open,
    Paid,
    Expired,
}

/// A payment integration the payer may choose.
#[derive(Debug, Clone)]
pub struct PayMethod {
    pub integration_id: i64,
    pub display_name: String,
    pub test_mode: bool,
}

/// Everything the public page shows.
#[derive(Debug, Clone)]
pub struct LinkView {
    pub link: PaymentLinkRow,
    pub status: LinkStatus,
    /// "USD 19.99", "JPY 1000".
    pub amount: String,
    /// Empty unless the link is Open.
    pub methods: Vec<PayMethod>,
    /// The state of the link's transaction named by `?txn=` (the payer coming back from the
    /// gateway), if it is one of this link's.
    pub returned_state: Option<String>,
}

/// What choosing a payment method led to.
#[derive(Debug, Clone)]
pub enum PayOutcome {
    /// Send the payer here (the gateway's checkout).
    Redirect(String),
    /// The gateway started a session this page cannot complete (Embedded JS, QR code).
    NotARedirect { display_name: String },
    /// Nothing was started: the link is no longer open.
    Closed(LinkStatus),
    /// Nothing was started: the integration chosen is not one of this link's methods (it does
    /// not exist, is another company's, disabled or not a payment integration).
    UnknownMethod,
}

/// Text that is a token this host could have issued (URL-safe base64 of [`TOKEN_BYTES`]).
pub fn looks_like_token(text: &str) -> bool {
    text.len() == 43 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// "USD 19.99": the code, then the amount in the currency's decimals.
pub fn display_amount(minor: i64, currency: &str) -> String {
    match Currency::parse(currency) {
        Ok(parsed) => format!("{} {}", parsed.code(), format_minor(minor, parsed)),
        Err(_) => format!("{currency} {minor}"),
    }
}

fn parse_expiry(text: &str, now: DateTime<Utc>) -> Result<String, ServiceError> {
    let at = DateTime::parse_from_rfc3339(text.trim()).map_err(|_| {
        ServiceError::invalid(
            "invalid_expires_at",
            format!("expires_at: `{text}` is not an RFC 3339 date and time such as \"2030-01-31T23:59:59Z\""),
        )
    })?;
    let at = at.with_timezone(&Utc);
    if at <= now {
        return Err(ServiceError::invalid(
            "invalid_expires_at",
            format!("expires_at: `{text}` is not in the future; a link must be payable for some time"),
        ));
    }
    Ok(at.to_rfc3339_opts(SecondsFormat::Millis, true))
}

fn is_expired(link: &PaymentLinkRow, now: DateTime<Utc>) -> bool {
    link.expires_at
        .as_deref()
        .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
        .is_some_and(|at| at.with_timezone(&Utc) <= now)
}

/// Paid when a transaction reached Captured: Captured itself, or Refunded after it.
fn reached_captured(state: &str) -> bool {
    matches!(state.parse::<TransactionState>(), Ok(TransactionState::Captured | TransactionState::Refunded))
}

impl App {
    /// The public page of a token.
    pub fn payment_link_url(&self, token: &str) -> String {
        self.public(&format!("/pay/{token}"))
    }

    /// Creates a link after checking the caller may act for the company and every field.
    pub async fn create_payment_link(
        &self,
        caller: Caller,
        request: CreateLinkRequest,
    ) -> Result<PaymentLinkRow, ServiceError> {
        caller.require_company(request.company_id)?;
        let currency = parse_currency(&request.currency)?;
        let money = parse_money(&request.amount, currency)?;
        let document_model = request.document_model.trim();
        if document_model.is_empty() || document_model.chars().count() > MAX_DOCUMENT_MODEL_CHARS {
            return Err(ServiceError::invalid(
                "invalid_document_model",
                format!("document_model must have 1 to {MAX_DOCUMENT_MODEL_CHARS} characters"),
            ));
        }
        let description = request.description.trim();
        if description.is_empty() || description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(ServiceError::invalid(
                "invalid_description",
                format!("description must have 1 to {MAX_DESCRIPTION_CHARS} characters; the payer reads it"),
            ));
        }
        let expires_at = match &request.expires_at {
            Some(text) => Some(parse_expiry(text, Utc::now())?),
            None => None,
        };
        let row = PaymentLinkRow {
            id: 0,
            token: random_token(TOKEN_BYTES),
            company_id: request.company_id,
            document_model: document_model.to_string(),
            document_id: request.document_id,
            amount_minor: money.minor,
            currency: currency.code().to_string(),
            description: description.to_string(),
            expires_at,
            created_at: String::new(),
        };
        let mut tx = self.db.tx().await?;
        let inserted = payment_links::insert(&mut *tx, &row).await?;
        tx.commit().await?;
        Ok(inserted)
    }

    /// The link of a token, or 404 (also for text that cannot be a token).
    async fn link_by_token(&self, token: &str) -> Result<PaymentLinkRow, ServiceError> {
        let found = if looks_like_token(token) { payment_links::by_token(self.db.read(), token).await? } else { None };
        found.ok_or_else(|| ServiceError::NotFound("This payment link does not exist.".into()))
    }

    async fn link_status(
        &self,
        link: &PaymentLinkRow,
    ) -> Result<(LinkStatus, Vec<(i64, String, String)>), ServiceError> {
        let transactions = payment_links::transaction_states(self.db.read(), link.id).await?;
        let status = if transactions.iter().any(|(_, _, state)| reached_captured(state)) {
            LinkStatus::Paid
        } else if is_expired(link, Utc::now()) {
            LinkStatus::Expired
        } else {
            LinkStatus::Open
        };
        Ok((status, transactions))
    }

    /// The company's enabled payment integrations whose module is installed, in
    /// `payment_sequence` order.
    async fn pay_methods(&self, company_id: i64) -> Result<Vec<(IntegrationRow, PayMethod)>, ServiceError> {
        let rows =
            integrations::list(self.db.read(), Some(company_id), Some(IntegrationCategory::OnlinePayment.as_str()))
                .await?;
        Ok(rows
            .into_iter()
            .filter(|row| row.is_enabled() && self.registry.get(&row.module).is_some())
            .map(|row| {
                let method = PayMethod {
                    integration_id: row.id,
                    display_name: row.payment_display_name.clone().unwrap_or_else(|| row.name.clone()),
                    test_mode: row.test_mode(),
                };
                (row, method)
            })
            .collect())
    }

    /// What the public page of `token` shows; `returned` is the `txn` the gateway sent back.
    pub async fn payment_link_view(&self, token: &str, returned: Option<&str>) -> Result<LinkView, ServiceError> {
        let link = self.link_by_token(token).await?;
        let (status, transactions) = self.link_status(&link).await?;
        let methods = match status {
            LinkStatus::Open => self.pay_methods(link.company_id).await?.into_iter().map(|(_, m)| m).collect(),
            _ => Vec::new(),
        };
        let returned_state = returned.and_then(|reference| {
            transactions.iter().find(|(_, r, _)| r == reference).map(|(_, _, state)| state.clone())
        });
        Ok(LinkView {
            amount: display_amount(link.amount_minor, &link.currency),
            link,
            status,
            methods,
            returned_state,
        })
    }

    /// The payer chose `integration_id` on the page of `token`: starts a payment for the
    /// link's document through [`App::initiate`], returning to the link's page either way.
    pub async fn pay_payment_link(&self, token: &str, integration_id: i64) -> Result<PayOutcome, ServiceError> {
        let link = self.link_by_token(token).await?;
        let (status, _) = self.link_status(&link).await?;
        if status != LinkStatus::Open {
            return Ok(PayOutcome::Closed(status));
        }
        let methods = self.pay_methods(link.company_id).await?;
        let Some((integration, method)) = methods.into_iter().find(|(_, m)| m.integration_id == integration_id) else {
            return Ok(PayOutcome::UnknownMethod);
        };
        // The page cannot run a gateway's script, so it asks for a redirect when the module
        // offers one, whatever the integration's default type.
        let offers_redirect = self
            .registry
            .get(&integration.module)
            .is_some_and(|module| module.manifest.runtime.integration_types.iter().any(|t| t == "Redirect"));
        let currency = parse_currency(&link.currency)?;
        let amount = serde_json::to_string(&format_minor(link.amount_minor, currency)).expect("a string serializes");
        let page = self.payment_link_url(&link.token);
        let request = InitiateRequest {
            integration_id,
            amount: RawValue::from_string(amount).expect("a JSON string"),
            currency: link.currency.clone(),
            document_model: Some(link.document_model.clone()),
            document_id: Some(link.document_id),
            return_url: page.clone(),
            cancel_url: Some(page),
            integration_type: offers_redirect.then(|| "Redirect".to_string()),
            contact: None,
            pending_action_data: None,
        };
        // The page acts for the link's company; key 0 is no API key (it only scopes
        // idempotency, which this call does not use).
        let caller = Caller::Company { key_id: 0, company_id: link.company_id };
        let initiated = self.initiate_for_link(caller, request, Some(link.id)).await?;
        Ok(match initiated.action {
            SessionAction::Redirect(url) => PayOutcome::Redirect(url),
            SessionAction::EmbeddedJs(_) | SessionAction::QrCode(_) => {
                PayOutcome::NotARedirect { display_name: method.display_name }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_show_the_currency_decimals() {
        assert_eq!(display_amount(1999, "USD"), "USD 19.99");
        assert_eq!(display_amount(1000, "JPY"), "JPY 1000");
        assert_eq!(display_amount(1500, "KWD"), "KWD 1.500");
    }

    #[test]
    fn expiry_must_be_rfc3339_and_in_the_future() {
        let now = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(parse_expiry("2030-01-01T02:00:00+01:00", now).unwrap(), "2030-01-01T01:00:00.000Z");
        assert!(parse_expiry("2029-12-31T23:59:59Z", now).is_err());
        assert!(parse_expiry("2030-01-01T00:00:00Z", now).is_err());
        assert!(parse_expiry("tomorrow", now).is_err());
        assert!(parse_expiry("2030-01-02", now).is_err());
    }

    #[test]
    fn only_issued_token_shapes_are_looked_up() {
        assert!(looks_like_token(&random_token(TOKEN_BYTES)));
        assert!(!looks_like_token("short"));
        assert!(!looks_like_token(&"a".repeat(42)));
        assert!(!looks_like_token(&format!("{}'", "a".repeat(42))));
    }
}
