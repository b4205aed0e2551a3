//! Payment links (the backbone's PaymentLink): the ERP creates a link for a document's
//! amount, lists, reads and revokes links; the payer opens `PUBLIC_URL/pay/TOKEN`, chooses one
//! of the company's enabled payment integrations and is sent to the gateway ([`page`]). A link
//! is Paid once one of its transactions reached Authorized or Captured (so also when it was
//! refunded since), Revoked after the ERP revoked it unpaid, Expired after `expires_at`, else
//! Open. A link takes one payment: see [`page`] for how two payers are kept from paying twice.

mod page;

pub(crate) use page::admit_start;
pub use page::{
    LinkView, PayMethod, PayOutcome, LINK_SESSION_LIFETIME, LINK_STARTS_EVER, LINK_STARTS_PER_WINDOW, LINK_START_TIME,
    LINK_START_WINDOW,
};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::domain::money::{format_minor, Currency};
use crate::domain::transaction_state::TransactionState;
use crate::store::payment_links::{self, LinkTransaction, PaymentLinkRow};

use super::online_payment::{parse_currency, parse_money};
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
    Revoked,
}

impl LinkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Paid => "paid",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
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

/// A transaction that took the link's payment: Authorized or Captured, or Refunded after it.
fn is_paid_state(state: &str) -> bool {
    matches!(
        state.parse::<TransactionState>(),
        Ok(TransactionState::Authorized | TransactionState::Captured | TransactionState::Refunded)
    )
}

/// A transaction still in progress: the payer may yet pay its session.
fn is_live_state(state: &str) -> bool {
    matches!(state.parse::<TransactionState>(), Ok(TransactionState::Draft | TransactionState::Pending))
}

/// A link with its transactions and where it stands.
#[derive(Debug, Clone)]
pub struct LinkRecord {
    pub link: PaymentLinkRow,
    pub status: LinkStatus,
    pub transactions: Vec<LinkTransaction>,
}

impl LinkRecord {
    fn new(link: PaymentLinkRow, transactions: Vec<LinkTransaction>, now: DateTime<Utc>) -> Self {
        let status = link_status(&link, &transactions, now);
        Self { link, status, transactions }
    }
}

/// Paid once a transaction took the payment (whatever happened to the link after), else
/// Revoked, else Expired, else Open.
fn link_status(link: &PaymentLinkRow, transactions: &[LinkTransaction], now: DateTime<Utc>) -> LinkStatus {
    if transactions.iter().any(|t| is_paid_state(&t.state)) {
        LinkStatus::Paid
    } else if link.revoked_at.is_some() {
        LinkStatus::Revoked
    } else if is_expired(link, now) {
        LinkStatus::Expired
    } else {
        LinkStatus::Open
    }
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
    ) -> Result<LinkRecord, ServiceError> {
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
            revoked_at: None,
        };
        let mut tx = self.db.tx().await?;
        let inserted = payment_links::insert(&mut *tx, &row).await?;
        tx.commit().await?;
        Ok(LinkRecord::new(inserted, Vec::new(), Utc::now()))
    }

    /// A link the caller may see, or 404.
    pub async fn visible_payment_link(&self, caller: Caller, id: i64) -> Result<LinkRecord, ServiceError> {
        match payment_links::get(self.db.read(), id).await? {
            Some(link) if caller.can_see(link.company_id) => {
                let transactions = payment_links::transactions(self.db.read(), link.id).await?;
                Ok(LinkRecord::new(link, transactions, Utc::now()))
            }
            _ => Err(ServiceError::NotFound(format!("Payment link {id} does not exist."))),
        }
    }

    /// A company's links, newest first (every company's for the admin key without
    /// `company_id`): at most `limit` (1 to 1000), with ids below `before` when given.
    pub async fn payment_links(
        &self,
        caller: Caller,
        company_id: Option<i64>,
        before: Option<i64>,
        limit: Option<i64>,
    ) -> Result<Vec<LinkRecord>, ServiceError> {
        let company_id = caller.company_filter(company_id)?;
        let limit = limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(ServiceError::invalid("invalid_limit", format!("limit: {limit} is not between 1 and 1000")));
        }
        let links = payment_links::list(self.db.read(), company_id, before, limit).await?;
        let (Some(newest), Some(oldest)) = (links.first(), links.last()) else { return Ok(Vec::new()) };
        let transactions =
            payment_links::transactions_of_range(self.db.read(), company_id, oldest.id, newest.id).await?;
        let mut by_link: std::collections::HashMap<i64, Vec<LinkTransaction>> = std::collections::HashMap::new();
        for transaction in transactions {
            by_link.entry(transaction.link_id).or_default().push(transaction);
        }
        let now = Utc::now();
        Ok(links
            .into_iter()
            .map(|link| {
                let own = by_link.remove(&link.id).unwrap_or_default();
                LinkRecord::new(link, own, now)
            })
            .collect())
    }

    /// Revokes a link: its page answers 410 and starts nothing more. A paid link is not
    /// revoked (409 `link_paid`); revoking a revoked link again changes nothing.
    pub async fn revoke_payment_link(&self, caller: Caller, id: i64) -> Result<LinkRecord, ServiceError> {
        self.visible_payment_link(caller, id).await?;
        let mut tx = self.db.tx().await?;
        tx.lock_payment_link(id).await?;
        let transactions = payment_links::transactions(&mut *tx, id).await?;
        if transactions.iter().any(|t| is_paid_state(&t.state)) {
            return Err(ServiceError::conflict(
                "link_paid",
                format!("Payment link {id} has been paid; there is nothing left to revoke."),
            ));
        }
        payment_links::revoke(&mut *tx, id, &crate::store::now()).await?;
        tx.commit().await?;
        self.visible_payment_link(caller, id).await
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
