//! The online_payment backbone: what initiate takes and how amounts are read (here), starting
//! a payment ([`initiate`]), the payer's return and cancel and a sync ([`payer`]); refunds are
//! in `refunds.rs`.

mod client_config;
mod initiate;
mod payer;

pub use initiate::redirect_url;

use serde::Deserialize;
use serde_json::value::RawValue;
use url::Url;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::ToSchema;

use crate::domain::money::{Currency, Money};
use crate::domain::provider::payment::{IntegrationType, ProviderTransaction, SessionAction};
use crate::domain::provider::{Contact, Money as ProviderMoney};
use crate::domain::transaction_state::TransactionState;
use crate::store::integrations::{self, IntegrationRow};
use crate::store::transactions::{self, TransactionRow};
use crate::store::webhook_log;

use super::capability_rules::CaptureMode;
use super::{App, Caller, ServiceError};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "integration_id": 1, "amount": "19.99", "currency": "USD", "document_model": "Invoice", "document_id": 42,
    "return_url": "https://erp.example/portal/invoice/42", "cancel_url": "https://erp.example/portal/invoice/42?cancelled=1",
    "integration_type": "Redirect", "contact": {"name": "Ada Lovelace", "email": "ada@example.com"},
    "pending_action_data": {"signature_data": {"signature": "…", "signed_by": "Ada Lovelace"}},
}))]
pub struct InitiateRequest {
    #[schema(example = 1)]
    #[serde(deserialize_with = "super::json_integer::required")]
    pub integration_id: i64,
    /// A JSON number or a decimal string, kept as written so no float ever touches it.
    #[schema(schema_with = amount_schema)]
    pub amount: Box<RawValue>,
    /// ISO 4217 (upper or lower case).
    #[schema(pattern = "^[A-Za-z]{3}$", example = "USD")]
    pub currency: String,
    #[serde(default)]
    pub document_model: Option<String>,
    #[serde(default, deserialize_with = "super::json_integer::optional")]
    pub document_id: Option<i64>,
    /// Where the payer is sent back: an absolute http(s) URL.
    #[schema(format = "uri", example = "https://erp.example/portal/invoice/42")]
    pub return_url: String,
    /// Where the payer is sent after a cancel or failure (default: `return_url`).
    #[serde(default)]
    #[schema(format = "uri")]
    pub cancel_url: Option<String>,
    /// Redirect, Embedded JS or QR Code (default: the integration's `payment_integration_type`).
    #[serde(default)]
    #[schema(pattern = r"^(Redirect|Embedded JS|QR Code)$")]
    pub integration_type: Option<String>,
    #[serde(default)]
    pub contact: Option<ContactInput>,
    /// Kept with the transaction and handed back in its events.
    #[serde(default)]
    pub pending_action_data: Option<serde_json::Value>,
    /// `automatic` (the default) or `manual`: refused (422 `unsupported`) unless the module's
    /// capabilities have manual capture.
    #[serde(default)]
    pub capture: Option<CaptureMode>,
    /// Save the payment method for later charges: refused (422 `unsupported`) unless the
    /// module's capabilities have tokenization.
    #[serde(default)]
    pub save_payment_method: Option<bool>,
}

/// The payer, as the ERP knows them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    /// The ERP's contact id (a number or a string).
    #[serde(default)]
    pub id: Option<serde_json::Value>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

/// A started payment: the transaction and what the payer must do.
pub struct Initiated {
    pub transaction: TransactionRow,
    pub integration_type: IntegrationType,
    pub action: SessionAction,
}

/// The amount text of a JSON number or string, or why it is neither.
pub fn amount_text(raw: &RawValue) -> Result<String, ServiceError> {
    let text = raw.get().trim();
    if text.starts_with('"') {
        return serde_json::from_str::<String>(text).map_err(|_| invalid_amount("amount is not a valid string"));
    }
    if text.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        return Ok(text.to_string());
    }
    Err(invalid_amount("amount must be a JSON number or a decimal string such as \"19.99\""))
}

/// A decimal string above zero: digits with a non-zero one before the point, or digits, a
/// point and digits with a non-zero one after it ("19.99", "0.50", "5"; never "0" or "0.00").
/// Whether its decimals fit the currency's exponent no schema can say (`invalid_amount`).
const POSITIVE_DECIMAL: &str = r"^([0-9]*[1-9][0-9]*(\.[0-9]+)?|[0-9]+\.[0-9]*[1-9][0-9]*)$";

/// The schema of an amount: a JSON number or a decimal string, as [`amount_text`] reads it.
pub fn amount_schema() -> impl Into<RefOr<Schema>> {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Number).exclusive_minimum(Some(0.0)))
        .item(ObjectBuilder::new().schema_type(Type::String).pattern(Some(POSITIVE_DECIMAL)).examples(["19.99"]))
        .description(Some("A JSON number or a decimal string such as \"19.99\", in the currency's unit."))
}

/// [`amount_schema`], or `null` (the refund's "all that is left").
pub fn optional_amount_schema() -> impl Into<RefOr<Schema>> {
    OneOfBuilder::new()
        .item(amount_schema())
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some("Absent or null: all that is left."))
}

fn invalid_amount(message: impl Into<String>) -> ServiceError {
    ServiceError::invalid("invalid_amount", message)
}

/// Parses an amount in a currency, naming what is wrong.
pub fn parse_money(raw: &RawValue, currency: Currency) -> Result<Money, ServiceError> {
    let text = amount_text(raw)?;
    Money::parse(&text, currency).map_err(|e| invalid_amount(format!("amount: {e}")))
}

pub fn parse_currency(code: &str) -> Result<Currency, ServiceError> {
    Currency::parse(code).map_err(|e| ServiceError::invalid("invalid_currency", format!("currency: {e}")))
}

fn http_url(field: &str, text: &str) -> Result<Url, ServiceError> {
    match Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => Ok(url),
        _ => Err(ServiceError::invalid("invalid_url", format!("{field}: `{text}` is not an absolute http(s) URL"))),
    }
}

/// `url` with `txn=REF` appended to its query.
pub fn with_txn(url: &str, reference: &str) -> String {
    match Url::parse(url) {
        Ok(mut url) => {
            url.query_pairs_mut().append_pair("txn", reference);
            url.to_string()
        }
        Err(_) => url.to_string(),
    }
}

impl App {
    /// An integration the caller may see, or 404.
    pub async fn visible_integration(&self, caller: Caller, id: i64) -> Result<IntegrationRow, ServiceError> {
        seen_by(caller, id, integrations::get(self.db.read(), id).await?)
    }

    /// A transaction the caller may see, or 404.
    pub async fn visible_transaction(&self, caller: Caller, id: i64) -> Result<TransactionRow, ServiceError> {
        match transactions::get(self.db.read(), id).await? {
            Some(row) if caller.can_see(row.company_id) => Ok(row),
            _ => Err(ServiceError::NotFound(format!("Transaction {id} does not exist."))),
        }
    }

    /// A transaction's latest 1,000 refunds, oldest first, in every state.
    pub async fn refunds_of(&self, transaction_id: i64) -> Result<Vec<crate::store::refunds::RefundRow>, ServiceError> {
        Ok(crate::store::refunds::of_transaction(self.db.read(), transaction_id).await?)
    }

    pub async fn webhook_log_of(&self, transaction_id: i64) -> Result<Vec<webhook_log::WebhookLogRow>, ServiceError> {
        Ok(webhook_log::for_transaction(self.db.read(), transaction_id).await?)
    }

    /// What a provider sees of a transaction.
    pub fn provider_view(&self, row: &TransactionRow) -> ProviderTransaction {
        let contact =
            row.contact.as_deref().and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok()).map(|c| {
                let field = |name: &str| c.get(name).and_then(|v| v.as_str()).map(str::to_string);
                Contact { id: field("id"), name: field("name"), email: field("email"), phone: field("phone") }
            });
        let reference = &row.reference;
        ProviderTransaction {
            reference: reference.clone(),
            amount: ProviderMoney { amount_minor: row.amount_minor, currency: row.currency.clone() },
            refunded_minor: row.refunded_minor,
            state: row.state.parse::<TransactionState>().unwrap_or(TransactionState::Draft),
            integration_type: IntegrationType::from_display_name(&row.integration_type)
                .unwrap_or(IntegrationType::Redirect),
            gateway_reference: row.gateway_reference.clone(),
            provider_data: row.provider_data.clone(),
            test_mode: row.test_mode != 0,
            return_url: self.public(&format!("/api/online_payment/return?txn={reference}")),
            cancel_url: self.public(&format!("/api/online_payment/cancel?txn={reference}")),
            document_model: row.document_model.clone(),
            document_id: row.document_id,
            contact,
        }
    }
}

/// Integration `id` as read, if `caller` may see it; 404 otherwise (another company's
/// integration is answered as one that does not exist).
pub(super) fn seen_by(caller: Caller, id: i64, row: Option<IntegrationRow>) -> Result<IntegrationRow, ServiceError> {
    match row {
        Some(row) if caller.can_see(row.company_id) => Ok(row),
        _ => Err(ServiceError::NotFound(format!("Integration {id} does not exist."))),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::POSITIVE_DECIMAL;
    use crate::domain::money::{Currency, Money, MoneyError};

    proptest! {
        /// The document's amount pattern and the parser agree: a string the pattern allows
        /// is refused only for what no schema can say (more decimals than the currency has, or
        /// more than i64 minor units), and one it refuses is never parsed.
        #[test]
        fn the_amount_pattern_allows_exactly_what_the_parser_takes(text in "[0-9.]{1,24}") {
            let pattern = regex::Regex::new(POSITIVE_DECIMAL).unwrap();
            let parsed = Money::parse(&text, Currency::parse("KWD").unwrap());
            if pattern.is_match(&text) {
                let fits_no_schema = matches!(parsed, Err(MoneyError::TooManyDecimals { .. } | MoneyError::TooLarge(_)));
                prop_assert!(parsed.is_ok() || fits_no_schema, "{text}: {parsed:?}");
            } else {
                prop_assert!(parsed.is_err(), "{text} parsed as {parsed:?} but the document refuses it");
            }
        }
    }

    #[test]
    fn the_amount_pattern_refuses_zero_and_takes_small_amounts() {
        let pattern = regex::Regex::new(POSITIVE_DECIMAL).unwrap();
        for zero in ["0", "00", "0.0", "0.000", "000.00"] {
            assert!(!pattern.is_match(zero), "{zero}");
        }
        for amount in ["19.99", "0.01", "5", "10", "00.50", "0.001"] {
            assert!(pattern.is_match(amount), "{amount}");
        }
    }
}
