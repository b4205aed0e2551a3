//! The online_payment backbone: initiate, the payer's return and cancel, sync (refunds are
//! in `refunds.rs`).

use serde::Deserialize;
use serde_json::value::RawValue;
use url::Url;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::ToSchema;

use crate::domain::manifest::IntegrationCategory;
use crate::domain::money::{Currency, Money};
use crate::domain::provider::payment::{GatewayUpdate, IntegrationType, ProviderTransaction, SessionAction};
use crate::domain::provider::{Contact, ErrorKind, Money as ProviderMoney, ProviderError};
use crate::domain::transaction_state::TransactionState;
use crate::store::integrations::{self, IntegrationRow};
use crate::store::transactions::{self, TransactionRow};
use crate::store::webhook_log;

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

    /// Creates a transaction and a payment session at the gateway. The Draft is committed
    /// before the gateway is called (a Draft that cannot be stored calls no gateway). When the
    /// gateway refuses or fails, the transaction stays as Failed with the gateway's message;
    /// when the provider itself fails, no transaction is left behind; when the gateway's
    /// answer cannot be stored, the Draft is left for the scheduled sync.
    pub async fn initiate(&self, caller: Caller, request: InitiateRequest) -> Result<Initiated, ServiceError> {
        self.initiate_for_link(caller, request, None).await
    }

    /// [`App::initiate`], the Draft linked to payment link `link_id` in the transaction that
    /// stores it: a host that dies after the gateway was called never leaves a payment the
    /// link does not know of (its page would offer to pay again).
    pub(super) async fn initiate_for_link(
        &self,
        caller: Caller,
        request: InitiateRequest,
        link_id: Option<i64>,
    ) -> Result<Initiated, ServiceError> {
        let integration = self.visible_integration(caller, request.integration_id).await?;
        if integration.integration_category != IntegrationCategory::OnlinePayment.as_str() {
            return Err(ServiceError::invalid(
                "not_a_payment_integration",
                format!("Integration {} is not an online payment integration.", integration.id),
            ));
        }
        let module = self.module_of(&integration)?;
        if !integration.is_enabled() {
            return Err(ServiceError::invalid(
                "integration_disabled",
                format!("Integration {} is not enabled.", integration.id),
            ));
        }
        let currency = parse_currency(&request.currency)?;
        let money = parse_money(&request.amount, currency)?;
        let type_name =
            request.integration_type.clone().unwrap_or_else(|| integration.payment_integration_type.clone());
        let kind = IntegrationType::from_display_name(&type_name)
            .filter(|_| module.manifest.runtime.integration_types.contains(&type_name))
            .ok_or_else(|| {
                ServiceError::invalid(
                    "unsupported_integration_type",
                    format!(
                        "integration_type: `{type_name}` is not offered by {}; it offers {:?}.",
                        module.manifest.identifier, module.manifest.runtime.integration_types
                    ),
                )
            })?;
        let return_url = http_url("return_url", &request.return_url)?;
        let cancel_url = match &request.cancel_url {
            Some(url) => http_url("cancel_url", url)?,
            None => return_url.clone(),
        };
        let contact = request.contact.map(|c| {
            let id = c.id.map(|id| match id {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            });
            serde_json::json!({ "id": id, "name": c.name, "email": c.email, "phone": c.phone }).to_string()
        });

        let draft = TransactionRow {
            id: 0,
            reference: format!("TXN-{}", hex::encode_upper(rand::random::<[u8; 16]>())),
            integration_id: integration.id,
            company_id: integration.company_id,
            state: TransactionState::Draft.as_str().into(),
            integration_type: kind.display_name().into(),
            amount_minor: money.minor,
            currency: currency.code().into(),
            refunded_minor: 0,
            gateway_reference: None,
            gateway_status: None,
            error_message: None,
            provider_data: None,
            document_model: request.document_model,
            document_id: request.document_id,
            return_url: Some(return_url.to_string()),
            cancel_url: Some(cancel_url.to_string()),
            contact,
            pending_action_data: request.pending_action_data.map(|v| v.to_string()),
            test_mode: i64::from(integration.test_mode()),
            created_at: String::new(),
            updated_at: String::new(),
        };
        let mut tx = self.db.tx().await?;
        if let Some(link_id) = link_id {
            super::payment_links::admit_start(&mut tx, link_id).await?;
        }
        let draft = transactions::insert(&mut *tx, &draft).await?;
        if let Some(link_id) = link_id {
            crate::store::payment_links::add_transaction(&mut *tx, link_id, draft.id).await?;
        }
        tx.commit().await?;

        let session = async {
            let mut provider = self.payment_provider(&integration).await?;
            provider.create_session(&self.provider_view(&draft), kind).await?.map_err(ServiceError::Gateway)
        }
        .await
        .and_then(|mut session| {
            session.action = usable_action(session.action, integration.test_mode())?;
            Ok(session)
        });
        let session = match session {
            Ok(session) => session,
            Err(ServiceError::Gateway(error)) => {
                // The gateway answered: keep the attempt as Failed with its message.
                let failed = GatewayUpdate {
                    reference: None,
                    gateway_reference: None,
                    state: Some(TransactionState::Failed),
                    gateway_status: Some("session not created".into()),
                    error_message: Some(error.message.clone()),
                    refunded_minor: None,
                    provider_data: None,
                };
                self.apply_update(draft.id, &failed, None).await?;
                return Err(ServiceError::PaymentFailed {
                    transaction_id: draft.id,
                    reference: draft.reference,
                    error,
                });
            }
            Err(error) => {
                // The provider crashed or the host had no room: nothing happened at the gateway.
                let mut tx = self.db.tx().await?;
                transactions::delete_draft(&mut tx, draft.id).await?;
                tx.commit().await?;
                return Err(error);
            }
        };
        let update = GatewayUpdate {
            reference: None,
            gateway_reference: session.gateway_reference.clone(),
            state: Some(TransactionState::Pending),
            gateway_status: None,
            error_message: None,
            refunded_minor: None,
            provider_data: session.provider_data.clone(),
        };
        let applied = match self.apply_update(draft.id, &update, None).await {
            Ok(applied) => applied,
            Err(error) => {
                // The gateway has a session the database has no answer for (the payer never
                // gets it either): the Draft stays, and the scheduled sync asks the gateway
                // about it by its reference.
                tracing::error!(transaction = %draft.reference, gateway_reference = ?session.gateway_reference, %error,
                    "initiate: the gateway's answer could not be stored; the transaction is left for sync");
                return Err(error);
            }
        };
        Ok(Initiated { transaction: applied.transaction, integration_type: kind, action: session.action })
    }

    /// The payer came back from the gateway: ask the provider, apply its answer, and say
    /// where to send the payer (the ERP's return URL, or its cancel URL when the payment
    /// failed or was cancelled). The provider failing does not strand the payer.
    pub async fn payer_returned(&self, reference: &str, params: Vec<(String, String)>) -> Result<String, ServiceError> {
        let row = self.transaction_by_reference(reference).await?;
        let state: TransactionState = row.state.parse().unwrap_or(TransactionState::Draft);
        let mut row = row;
        // Failed or Cancelled may still have money (the payer retried); only these are settled.
        if !matches!(state, TransactionState::Captured | TransactionState::Refunded) {
            match self.ask_return(&row, params).await {
                Ok(update) => row = self.apply_update(row.id, &update, None).await?.transaction,
                Err(error) => {
                    tracing::warn!(transaction = %row.reference, %error, "return: the provider could not confirm the payment")
                }
            }
        }
        Ok(self.payer_destination(&row))
    }

    async fn ask_return(
        &self,
        row: &TransactionRow,
        params: Vec<(String, String)>,
    ) -> Result<GatewayUpdate, ServiceError> {
        let integration = integrations::get(self.db.read(), row.integration_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound("integration".into()))?;
        let mut provider = self.payment_provider(&integration).await?;
        provider.process_return(&self.provider_view(row), &params).await?.map_err(ServiceError::Gateway)
    }

    /// Asks the gateway for a transaction's state (the provider's `sync`) and applies it.
    pub async fn sync_transaction(&self, caller: Caller, id: i64) -> Result<TransactionRow, ServiceError> {
        let row = self.visible_transaction(caller, id).await?;
        let integration = integrations::get(self.db.read(), row.integration_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("Integration {} does not exist.", row.integration_id)))?;
        let mut provider = self.payment_provider(&integration).await?;
        let update = provider.sync(&self.provider_view(&row)).await?.map_err(ServiceError::Gateway)?;
        drop(provider);
        Ok(self.apply_update(row.id, &update, None).await?.transaction)
    }

    /// The payer gave up: Cancelled unless the payment already reached a final state.
    pub async fn payer_cancelled(&self, reference: &str) -> Result<String, ServiceError> {
        let row = self.transaction_by_reference(reference).await?;
        let update = GatewayUpdate {
            reference: None,
            gateway_reference: None,
            state: Some(TransactionState::Cancelled),
            gateway_status: Some("cancelled by payer".into()),
            error_message: None,
            refunded_minor: None,
            provider_data: None,
        };
        let applied = self.apply_update(row.id, &update, None).await?;
        let cancel_url = applied.transaction.cancel_url.clone().unwrap_or_default();
        Ok(with_txn(&cancel_url, reference))
    }

    fn payer_destination(&self, row: &TransactionRow) -> String {
        let failed =
            row.state == TransactionState::Failed.as_str() || row.state == TransactionState::Cancelled.as_str();
        let url = if failed { &row.cancel_url } else { &row.return_url };
        with_txn(url.as_deref().unwrap_or_default(), &row.reference)
    }

    async fn transaction_by_reference(&self, reference: &str) -> Result<TransactionRow, ServiceError> {
        transactions::by_reference(self.db.read(), reference)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("No transaction has the reference `{reference}`.")))
    }
}

/// Refuses session answers the payer could not use, and gives back the host's own form of
/// what it keeps: a redirect URL is parsed, must be absolute `https` (`http` only in Test
/// mode) with no control characters or spaces, and is answered as the host serializes the
/// parsed URL, never as the provider wrote it.
fn usable_action(action: SessionAction, test_mode: bool) -> Result<SessionAction, ServiceError> {
    let bad = |what: &str| {
        Err(ServiceError::Gateway(ProviderError {
            kind: ErrorKind::GatewayError,
            message: what.to_string(),
            retryable: false,
        }))
    };
    match action {
        SessionAction::Redirect(text) => match redirect_url(&text, test_mode) {
            Some(url) => Ok(SessionAction::Redirect(url.into())),
            None => bad("The provider returned an unusable redirect URL."),
        },
        SessionAction::EmbeddedJs(config)
            if !serde_json::from_str::<serde_json::Value>(&config).is_ok_and(|v| v.is_object()) =>
        {
            bad("The provider returned a client configuration that is not a JSON object.")
        }
        other => Ok(other),
    }
}

/// A provider's redirect URL as the host will answer it, if it is one a payer may be sent to.
pub fn redirect_url(text: &str, test_mode: bool) -> Option<Url> {
    if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return None;
    }
    let url = Url::parse(text).ok()?;
    let scheme_ok = url.scheme() == "https" || (test_mode && url.scheme() == "http");
    let plain_host = url.host_str().is_some_and(|host| !host.is_empty());
    (scheme_ok && plain_host && url.username().is_empty() && url.password().is_none()).then_some(url)
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

    use super::{redirect_url, POSITIVE_DECIMAL};
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

    #[test]
    fn redirects_are_absolute_https_without_control_characters() {
        let ok = redirect_url("https://checkout.example/pay?s=1", false).unwrap();
        assert_eq!(ok.as_str(), "https://checkout.example/pay?s=1");
        assert!(redirect_url("http://checkout.example/pay", false).is_none(), "http only in Test mode");
        assert!(redirect_url("http://checkout.example/pay", true).is_some());
        assert!(redirect_url("https://checkout.example/pay\r\nSet-Cookie: a=b", false).is_none());
        assert!(redirect_url("https://checkout.example/\tpay", false).is_none(), "the URL parser would drop tabs");
        assert!(redirect_url("javascript:alert(1)", true).is_none());
        assert!(redirect_url("/relative", true).is_none());
        assert!(redirect_url("https://user:pw@checkout.example/", false).is_none());
        let normalized = redirect_url("HTTPS://Checkout.Example/a/../pay", false).unwrap();
        assert_eq!(normalized.as_str(), "https://checkout.example/pay", "the host answers its own serialization");
    }
}
