//! The payment world's exports, at either contract version, and one method per export on its
//! sandbox. The methods speak the host's own types; each version's arguments and answers are
//! converted here. A 1.0.0 component has no capture, void or saved methods: those calls
//! answer `unsupported` without entering the sandbox (the services refuse them earlier, from
//! the manifest's capabilities).

use wasmtime::component::{ComponentExportIndex, InstancePre};

use super::arguments::{SessionOptionsArgument, WebhookArgument};
use super::bindings::v1::types;
use super::exports::{ExportFinder, PaymentInstance, PaymentPre};
use super::failure::ProviderFailure;
use super::instance::Outcome;
use super::results::{self, payment as read_v1_0, payment_v1_1 as read_v1_1};
use super::state::ProviderState;
use crate::domain::contract::ContractVersion;
use crate::domain::provider::payment::{
    GatewayUpdate, IntegrationType, ParsedPaymentWebhook, ProviderTransaction, RefundResult, Session, SessionOptions,
};
use crate::domain::provider::{ErrorKind, Money, ProviderError, Verification, WebhookRequest};

#[derive(Clone, Copy)]
pub struct PaymentExports {
    version: ContractVersion,
    validate_credentials: ComponentExportIndex,
    create_session: ComponentExportIndex,
    verify_webhook: ComponentExportIndex,
    parse_webhook: ComponentExportIndex,
    process_return: ComponentExportIndex,
    refund: ComponentExportIndex,
    sync: ComponentExportIndex,
    client_config: ComponentExportIndex,
    /// 1.1's; none for a 1.0.0 component.
    later: Option<LaterExports>,
}

/// The exports 1.1 added.
#[derive(Clone, Copy)]
struct LaterExports {
    capture: ComponentExportIndex,
    void: ComponentExportIndex,
    charge_saved: ComponentExportIndex,
    delete_payment_method: ComponentExportIndex,
}

impl PaymentPre {
    pub(crate) fn new(instance_pre: InstancePre<ProviderState>, version: ContractVersion) -> wasmtime::Result<Self> {
        let find = ExportFinder::new(instance_pre.component(), "payment", version)?;
        let later = match version {
            ContractVersion::V1_0 => None,
            ContractVersion::V1_1 => Some(LaterExports {
                capture: find.func("capture")?,
                void: find.func("void")?,
                charge_saved: find.func("charge-saved")?,
                delete_payment_method: find.func("delete-payment-method")?,
            }),
        };
        let exports = PaymentExports {
            version,
            validate_credentials: find.func("validate-credentials")?,
            create_session: find.func("create-session")?,
            verify_webhook: find.func("verify-webhook")?,
            parse_webhook: find.func("parse-webhook")?,
            process_return: find.func("process-return")?,
            refund: find.func("refund")?,
            sync: find.func("sync")?,
            client_config: find.func("client-config")?,
            later,
        };
        Ok(Self { instance_pre, exports })
    }
}

/// What a 1.0.0 component answers a 1.1 call.
fn not_in_1_0<T>(what: &str) -> Outcome<T> {
    Ok(Err(ProviderError {
        kind: ErrorKind::Unsupported,
        message: format!("This module implements contract 1.0.0, which has no {what}."),
        retryable: false,
    }))
}

type Transaction = types::Transaction;

impl PaymentInstance {
    /// Checks every export's signature against the host's calls (done once, at install).
    pub fn check_types(&mut self) -> Result<(), ProviderFailure> {
        let e = self.exports;
        self.check_type::<(), ()>(e.validate_credentials)?;
        self.check_type::<(WebhookArgument<'_>,), results::RawVerification>(e.verify_webhook)?;
        self.check_type::<(&Transaction, &types::Money, &str), read_v1_0::RawRefundResult>(e.refund)?;
        self.check_type::<(), read_v1_0::RawClientConfig>(e.client_config)?;
        let Some(later) = e.later else {
            self.check_type::<(&Transaction, types::IntegrationType), read_v1_0::RawSession>(e.create_session)?;
            self.check_type::<(WebhookArgument<'_>,), read_v1_0::RawParsedWebhook>(e.parse_webhook)?;
            self.check_type::<(&Transaction, &[(String, String)]), read_v1_0::RawGatewayUpdate>(e.process_return)?;
            return self.check_type::<(&Transaction,), read_v1_0::RawGatewayUpdate>(e.sync);
        };
        type Update = read_v1_1::RawPaymentUpdate;
        self.check_type::<(&Transaction, types::IntegrationType, SessionOptionsArgument), read_v1_1::RawPaymentSession>(
            e.create_session,
        )?;
        self.check_type::<(WebhookArgument<'_>,), read_v1_1::RawParsedWebhook>(e.parse_webhook)?;
        self.check_type::<(&Transaction, &[(String, String)]), Update>(e.process_return)?;
        self.check_type::<(&Transaction,), Update>(e.sync)?;
        self.check_type::<(&Transaction, &types::Money, &str), Update>(later.capture)?;
        self.check_type::<(&Transaction,), Update>(later.void)?;
        self.check_type::<(&Transaction, &str), Update>(later.charge_saved)?;
        self.check_type::<(&str,), ()>(later.delete_payment_method)
    }

    /// The contract version the component implements.
    pub fn contract_version(&self) -> ContractVersion {
        self.exports.version
    }

    pub async fn validate_credentials(&mut self) -> Outcome<()> {
        self.call("validate-credentials", self.exports.validate_credentials, (), results::unit).await
    }

    /// Starts a session. A 1.0.0 component is not told the options (its capabilities allow
    /// only the defaults).
    pub async fn create_session(
        &mut self,
        transaction: &ProviderTransaction,
        kind: IntegrationType,
        options: SessionOptions,
    ) -> Outcome<Session> {
        let (transaction, kind) = (Transaction::from(transaction), types::IntegrationType::from(kind));
        let export = self.exports.create_session;
        match self.exports.later {
            None => self.call("create-session", export, (&transaction, kind), read_v1_0::session).await,
            Some(_) => {
                let args = (&transaction, kind, SessionOptionsArgument::from(options));
                self.call("create-session", export, args, read_v1_1::session).await
            }
        }
    }

    pub async fn verify_webhook(&mut self, request: &WebhookRequest) -> Outcome<Verification> {
        let args = (WebhookArgument::from(request),);
        self.call("verify-webhook", self.exports.verify_webhook, args, results::verification).await
    }

    pub async fn parse_webhook(&mut self, request: &WebhookRequest) -> Outcome<ParsedPaymentWebhook> {
        let args = (WebhookArgument::from(request),);
        let export = self.exports.parse_webhook;
        match self.exports.later {
            None => self.call("parse-webhook", export, args, read_v1_0::parsed_webhook).await,
            Some(_) => self.call("parse-webhook", export, args, read_v1_1::parsed_webhook).await,
        }
    }

    pub async fn process_return(
        &mut self,
        transaction: &ProviderTransaction,
        params: &[(String, String)],
    ) -> Outcome<GatewayUpdate> {
        let transaction = Transaction::from(transaction);
        let (export, args) = (self.exports.process_return, (&transaction, params));
        match self.exports.later {
            None => self.call("process-return", export, args, read_v1_0::gateway_update).await,
            Some(_) => self.call("process-return", export, args, read_v1_1::payment_update).await,
        }
    }

    pub async fn refund(
        &mut self,
        transaction: &ProviderTransaction,
        amount: &Money,
        refund_id: &str,
    ) -> Outcome<RefundResult> {
        let args = (&Transaction::from(transaction), &types::Money::from(amount), refund_id);
        self.call("refund", self.exports.refund, args, read_v1_0::refund_result).await
    }

    pub async fn sync(&mut self, transaction: &ProviderTransaction) -> Outcome<GatewayUpdate> {
        let transaction = Transaction::from(transaction);
        let export = self.exports.sync;
        match self.exports.later {
            None => self.call("sync", export, (&transaction,), read_v1_0::gateway_update).await,
            Some(_) => self.call("sync", export, (&transaction,), read_v1_1::payment_update).await,
        }
    }

    pub async fn client_config(&mut self) -> Outcome<String> {
        self.call("client-config", self.exports.client_config, (), read_v1_0::client_config).await
    }

    /// Captures `amount` of an authorized payment; `capture_id` is the gateway's idempotency key.
    pub async fn capture(
        &mut self,
        transaction: &ProviderTransaction,
        amount: &Money,
        capture_id: &str,
    ) -> Outcome<GatewayUpdate> {
        let Some(later) = self.exports.later else { return not_in_1_0("capture") };
        let args = (&Transaction::from(transaction), &types::Money::from(amount), capture_id);
        self.call("capture", later.capture, args, read_v1_1::payment_update).await
    }

    /// Releases an authorized payment.
    pub async fn void(&mut self, transaction: &ProviderTransaction) -> Outcome<GatewayUpdate> {
        let Some(later) = self.exports.later else { return not_in_1_0("void") };
        let args = (&Transaction::from(transaction),);
        self.call("void", later.void, args, read_v1_1::payment_update).await
    }

    /// A merchant-initiated payment with a saved method's token.
    pub async fn charge_saved(&mut self, transaction: &ProviderTransaction, token: &str) -> Outcome<GatewayUpdate> {
        let Some(later) = self.exports.later else { return not_in_1_0("saved payment methods") };
        let args = (&Transaction::from(transaction), token);
        self.call("charge-saved", later.charge_saved, args, read_v1_1::payment_update).await
    }

    /// Deletes a saved method at the gateway.
    pub async fn delete_payment_method(&mut self, token: &str) -> Outcome<()> {
        let Some(later) = self.exports.later else { return not_in_1_0("saved payment methods") };
        self.call("delete-payment-method", later.delete_payment_method, (token,), results::unit).await
    }
}
