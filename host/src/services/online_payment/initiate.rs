//! Starting a payment: the Draft, the gateway's session, and what the payer is sent to.

use url::Url;

use super::{http_url, parse_currency, parse_money, InitiateRequest, Initiated};
use crate::domain::manifest::IntegrationCategory;
use crate::domain::provider::payment::{
    CaptureMode as ProviderCaptureMode, GatewayUpdate, IntegrationType, SessionAction, SessionOptions,
};
use crate::domain::provider::{ErrorKind, ProviderError};
use crate::domain::transaction_state::TransactionState;
use crate::services::capability_rules::{check_initiate, CaptureMode};
use crate::services::{App, Caller, ServiceError};
use crate::store::transactions::{self, TransactionRow};

impl App {
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
    pub(crate) async fn initiate_for_link(
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
        let save = request.save_payment_method.unwrap_or(false);
        check_initiate(&module.manifest, currency, money.minor, request.capture, save)?;
        let options = SessionOptions {
            capture: match request.capture {
                Some(CaptureMode::Manual) => ProviderCaptureMode::Manual,
                Some(CaptureMode::Automatic) | None => ProviderCaptureMode::Automatic,
            },
            save_payment_method: save,
        };
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
        let has_contact_id = request.contact.as_ref().and_then(|c| c.id.as_ref()).is_some_and(|id| match id {
            serde_json::Value::String(id) => !id.trim().is_empty(),
            serde_json::Value::Number(_) => true,
            _ => false,
        });
        if save && !has_contact_id {
            return Err(ServiceError::invalid(
                "missing_contact",
                "save_payment_method needs contact.id: a saved method belongs to the ERP's contact.",
            ));
        }
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
            capture_mode: match options.capture {
                ProviderCaptureMode::Manual => "manual".into(),
                ProviderCaptureMode::Automatic => "automatic".into(),
            },
            save_payment_method: i64::from(options.save_payment_method),
            captured_minor: None,
            payment_method_id: None,
        };
        let mut tx = self.db.tx().await?;
        if let Some(link_id) = link_id {
            crate::services::payment_links::admit_start(&mut tx, link_id).await?;
        }
        let draft = transactions::insert(&mut *tx, &draft).await?;
        if let Some(link_id) = link_id {
            crate::store::payment_links::add_transaction(&mut *tx, link_id, draft.id).await?;
        }
        tx.commit().await?;

        let session = async {
            let mut provider = self.payment_provider(&integration).await?;
            provider.create_session(&self.provider_view(&draft), kind, options).await?.map_err(ServiceError::Gateway)
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
                    ..GatewayUpdate::default()
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
            ..GatewayUpdate::default()
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

#[cfg(test)]
mod tests {
    use super::redirect_url;

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
