//! Merchant-initiated payments with a saved method (`POST /api/online_payment/charge`,
//! contract 1.1's `charge-saved`): no payer is present, so the transaction goes from Draft
//! straight to what the gateway answers. With an Idempotency-Key the transaction's reference
//! derives from it, and the reference is what the provider sends as the gateway's idempotency
//! key: a retry after a lost answer (or a crash) finds the same transaction and asks the
//! gateway again under the same key, which answers the charge it made instead of making
//! another.

use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::domain::provider::payment::{GatewayUpdate, IntegrationType};
use crate::domain::transaction_state::TransactionState;
use crate::store::payment_methods;
use crate::store::transactions::{self, TransactionRow};

use super::capability_rules::check_initiate;
use super::online_payment::{parse_currency, parse_money};
use super::{App, Caller, ServiceError};

/// `POST /api/online_payment/charge`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChargeRequest {
    /// A saved method (`GET /api/online_payment/payment_methods`).
    #[schema(example = 1)]
    #[serde(deserialize_with = "super::json_integer::required")]
    pub payment_method_id: i64,
    #[schema(schema_with = super::online_payment::amount_schema)]
    pub amount: Box<RawValue>,
    #[schema(pattern = "^[A-Za-z]{3}$", example = "USD")]
    pub currency: String,
    pub document_model: Option<String>,
    #[serde(default, deserialize_with = "super::json_integer::optional")]
    pub document_id: Option<i64>,
}

fn keyed_reference(caller: Caller, key: &str) -> String {
    let digest = Sha256::digest(format!("charge\n{}\n{key}", caller.scope()).as_bytes());
    format!("TXN-{}", hex::encode_upper(&digest[..16]))
}

impl App {
    pub async fn charge(
        &self,
        caller: Caller,
        request: ChargeRequest,
        idempotency_key: Option<&str>,
    ) -> Result<TransactionRow, ServiceError> {
        let method = self.visible_payment_method(caller, request.payment_method_id).await?;
        let reference = match idempotency_key {
            Some(key) => keyed_reference(caller, key),
            None => format!("TXN-{}", hex::encode_upper(rand::random::<[u8; 16]>())),
        };
        if let Some(existing) = transactions::by_reference(self.db.read(), &reference).await? {
            if existing.payment_method_id != Some(method.id) {
                return Err(ServiceError::conflict(
                    "idempotency_key_reused",
                    "This Idempotency-Key named a charge of another payment method.",
                ));
            }
            if existing.state != TransactionState::Draft.as_str() {
                return Ok(existing);
            }
            return self.attempt_charge(existing, &method).await;
        }
        let integration = crate::store::integrations::get(self.db.read(), method.integration_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("Integration {} does not exist.", method.integration_id)))?;
        if !integration.is_enabled() {
            return Err(ServiceError::invalid(
                "integration_disabled",
                format!("Integration {} is not enabled.", integration.id),
            ));
        }
        let module = self.module_of(&integration)?;
        let currency = parse_currency(&request.currency)?;
        let money = parse_money(&request.amount, currency)?;
        check_initiate(&module.manifest, currency, money.minor, None, false)?;
        if !module.manifest.capabilities().tokenization {
            return Err(ServiceError::invalid(
                "unsupported",
                format!("{} does not charge saved payment methods.", module.manifest.name),
            ));
        }
        let kind = IntegrationType::from_display_name(&integration.payment_integration_type)
            .unwrap_or(IntegrationType::Redirect);
        let draft = TransactionRow {
            id: 0,
            reference,
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
            return_url: None,
            cancel_url: None,
            contact: Some(serde_json::json!({ "id": method.contact_id }).to_string()),
            pending_action_data: None,
            test_mode: i64::from(integration.test_mode()),
            created_at: String::new(),
            updated_at: String::new(),
            capture_mode: "automatic".into(),
            save_payment_method: 0,
            captured_minor: None,
            payment_method_id: Some(method.id),
        };
        let mut tx = self.db.tx().await?;
        let draft = match transactions::insert(&mut *tx, &draft).await {
            Ok(draft) => draft,
            Err(error) if crate::store::is_unique_violation(&error) => {
                // A retry with the same key inserted it first.
                drop(tx);
                return Err(ServiceError::conflict(
                    "charge_in_progress",
                    "A charge with this Idempotency-Key is under way; retry shortly to learn its outcome.",
                ));
            }
            Err(error) => return Err(error.into()),
        };
        tx.commit().await?;
        self.attempt_charge(draft, &method).await
    }

    /// Asks the gateway to charge `draft` with the method, and books the answer. A refusal
    /// fails the transaction with the gateway's message; no answer leaves it Draft, for a retry
    /// with the same key (or the scheduled sync) to settle.
    async fn attempt_charge(
        &self,
        draft: TransactionRow,
        method: &payment_methods::PaymentMethodRow,
    ) -> Result<TransactionRow, ServiceError> {
        let integration = self.integration_of(&draft).await?;
        let token = payment_methods::token(self.db.read(), &self.keys, method).await?;
        let answer = async {
            let mut provider = self.payment_provider(&integration).await?;
            Ok::<_, ServiceError>(provider.charge_saved(&self.provider_view(&draft), &token).await?)
        }
        .await?;
        match answer {
            Ok(mut update) => {
                // A charge reports the payment, nothing else; no state yet means Pending.
                update.saved_payment_method = None;
                update.refunds.clear();
                update.state = Some(update.state.unwrap_or(TransactionState::Pending));
                Ok(self.apply_update(draft.id, &update, None).await?.transaction)
            }
            Err(error) if ServiceError::is_gateway_refusal(&error) && !error.retryable => {
                let failed = GatewayUpdate {
                    state: Some(TransactionState::Failed),
                    gateway_status: Some("charge refused".into()),
                    error_message: Some(error.message.clone()),
                    ..GatewayUpdate::default()
                };
                self.apply_update(draft.id, &failed, None).await?;
                Err(ServiceError::PaymentFailed { transaction_id: draft.id, reference: draft.reference, error })
            }
            Err(error) => Err(ServiceError::Gateway(error)),
        }
    }
}
