//! A contract 1.1.0 payment provider driven by its test: a webhook's JSON body is the parsed
//! webhook it answers (`{"event", "updates": [...], "response"?}`, each update in the shape of
//! `payment-update`), so a test can hand the host any update a provider could: refunds named
//! only by id, saved methods nobody asked for, ceilings exceeded, answers of any content type.
//! `create-session` answers by the transaction's `document_model`: `qr` a QR code with image
//! and expiry, `hmac` a report of `crypto@1.1.0`'s keyed HMACs (as an error), else a redirect.
//! A redirect's URL carries the session options it was given. `capture` and `void` answer by
//! the transaction's provider data (`later`: no state, `wrong`: a state the operation does not
//! lead to). Never shipped.

wit_bindgen::generate!({
    world: "payment-provider",
    path: "../../../wit/v1.1.0",
});

use exports::integrations::provider::payment::{
    CaptureMode, Guest, ParsedWebhook, PaymentAction, PaymentSession, PaymentUpdate, QrCode, RefundResult, RefundState,
    RefundUpdate, SavedPaymentMethod, SessionOptions, WebhookResponse,
};
use integrations::provider::crypto::{self, Encoding, HmacAlgorithm, KeyFormat};
use integrations::provider::types::{
    ErrorKind, IntegrationType, Money, ProviderError, Transaction, TransactionState, Verification, WebhookRequest,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Event {
    event: String,
    #[serde(default)]
    updates: Vec<Update>,
    #[serde(default)]
    response: Option<Answer>,
}

#[derive(Deserialize, Default)]
struct Update {
    reference: Option<String>,
    gateway_reference: Option<String>,
    state: Option<String>,
    error_message: Option<String>,
    refunded_minor: Option<i64>,
    captured_minor: Option<i64>,
    provider_data: Option<String>,
    #[serde(default)]
    refunds: Vec<Refund>,
    saved: Option<Saved>,
}

#[derive(Deserialize)]
struct Refund {
    refund_id: Option<String>,
    refund_reference: Option<String>,
    state: String,
    error_message: Option<String>,
}

#[derive(Deserialize)]
struct Saved {
    token: String,
    label: String,
    expires: Option<String>,
}

#[derive(Deserialize)]
struct Answer {
    content_type: String,
    body: String,
}

fn state(text: &str) -> Option<TransactionState> {
    Some(match text {
        "pending" => TransactionState::Pending,
        "authorized" => TransactionState::Authorized,
        "captured" => TransactionState::Captured,
        "failed" => TransactionState::Failed,
        "cancelled" => TransactionState::Cancelled,
        "refunded" => TransactionState::Refunded,
        _ => return None,
    })
}

fn update(given: Update) -> PaymentUpdate {
    PaymentUpdate {
        reference: given.reference,
        gateway_reference: given.gateway_reference,
        state: given.state.as_deref().and_then(state),
        gateway_status: Some("test".into()),
        error_message: given.error_message,
        refunded_minor: given.refunded_minor,
        captured_minor: given.captured_minor,
        provider_data: given.provider_data,
        refunds: given
            .refunds
            .into_iter()
            .map(|r| RefundUpdate {
                refund_id: r.refund_id,
                refund_reference: r.refund_reference,
                state: match r.state.as_str() {
                    "succeeded" => RefundState::Succeeded,
                    "failed" => RefundState::Failed,
                    _ => RefundState::Pending,
                },
                error_message: r.error_message,
            })
            .collect(),
        saved_payment_method: given.saved.map(|s| SavedPaymentMethod {
            token: s.token,
            label: s.label,
            expires: s.expires,
        }),
    }
}

fn failure(message: String) -> ProviderError {
    ProviderError { kind: ErrorKind::InvalidRequest, message, retryable: false }
}

fn by_provider_data(transaction: &Transaction, done: TransactionState) -> PaymentUpdate {
    let mut update = update(Update { reference: Some(transaction.reference.clone()), ..Update::default() });
    update.state = match transaction.provider_data.as_deref() {
        Some("later") => None,
        Some("wrong") => Some(TransactionState::Refunded),
        _ => Some(done),
    };
    update
}

struct ContractGuest;

impl Guest for ContractGuest {
    fn validate_credentials() -> Result<(), ProviderError> {
        Ok(())
    }

    fn create_session(
        transaction: Transaction,
        _kind: IntegrationType,
        options: SessionOptions,
    ) -> Result<PaymentSession, ProviderError> {
        let behaviour = transaction.document_model.clone().unwrap_or_default();
        let action = match behaviour.as_str() {
            "qr" => PaymentAction::QrCode(QrCode {
                payload: format!("upi://pay?pa=merchant@upi&tr={}", transaction.reference),
                image_url: Some("https://qr.pay.example.com/i/1.png".into()),
                expires_at: Some(1_900_000_000),
            }),
            "hmac" => {
                let sha512 = crypto::hmac(HmacAlgorithm::Sha512, "webhook_key", b"message", Encoding::Hex);
                let hex =
                    crypto::hmac_with_key(HmacAlgorithm::Sha256, "hex_key", KeyFormat::Hex, b"message", Encoding::Hex);
                let malformed =
                    crypto::hmac_with_key(HmacAlgorithm::Sha256, "webhook_key", KeyFormat::Hex, b"m", Encoding::Hex);
                return Err(failure(format!("sha512={sha512:?} hex={hex:?} malformed={malformed:?}")));
            }
            // What the host asked, in the URL, for the test to read back.
            _ => PaymentAction::Redirect(format!(
                "https://pay.example.com/{}?capture={}&save={}",
                transaction.reference,
                if options.capture == CaptureMode::Manual { "manual" } else { "automatic" },
                options.save_payment_method
            )),
        };
        Ok(PaymentSession {
            gateway_reference: Some(format!("gw-{}", transaction.reference)),
            action,
            provider_data: None,
        })
    }

    fn verify_webhook(request: WebhookRequest) -> Result<Verification, ProviderError> {
        let signed = request.headers.iter().any(|(name, value)| name == "x-test-signature" && value == "ok");
        Ok(if signed { Verification::Accepted } else { Verification::Rejected("unsigned".into()) })
    }

    fn parse_webhook(request: WebhookRequest) -> Result<ParsedWebhook, ProviderError> {
        let event: Event = serde_json::from_slice(&request.body).map_err(|e| failure(format!("unreadable: {e}")))?;
        Ok(ParsedWebhook {
            event_type: event.event,
            updates: event.updates.into_iter().map(update).collect(),
            response: event.response.map(|a| WebhookResponse { content_type: a.content_type, body: a.body }),
        })
    }

    fn process_return(
        transaction: Transaction,
        _params: Vec<(String, String)>,
    ) -> Result<PaymentUpdate, ProviderError> {
        Self::sync(transaction)
    }

    fn refund(_transaction: Transaction, _amount: Money, refund_id: String) -> Result<RefundResult, ProviderError> {
        Ok(RefundResult { refund_reference: format!("rf-{refund_id}"), pending: true })
    }

    fn sync(transaction: Transaction) -> Result<PaymentUpdate, ProviderError> {
        Ok(update(Update { reference: Some(transaction.reference), ..Update::default() }))
    }

    fn client_config() -> Result<String, ProviderError> {
        Ok("{}".into())
    }

    fn capture(transaction: Transaction, _amount: Money, _capture_id: String) -> Result<PaymentUpdate, ProviderError> {
        Ok(by_provider_data(&transaction, TransactionState::Captured))
    }

    fn void(transaction: Transaction) -> Result<PaymentUpdate, ProviderError> {
        Ok(by_provider_data(&transaction, TransactionState::Cancelled))
    }

    fn charge_saved(transaction: Transaction, payment_method: String) -> Result<PaymentUpdate, ProviderError> {
        if payment_method != "tok_good" {
            return Err(ProviderError {
                kind: ErrorKind::Declined,
                message: format!("unknown token {payment_method}"),
                retryable: false,
            });
        }
        Ok(update(Update {
            reference: Some(transaction.reference),
            state: Some("captured".into()),
            ..Update::default()
        }))
    }

    fn delete_payment_method(_payment_method: String) -> Result<(), ProviderError> {
        Ok(())
    }
}

export!(ContractGuest);
