//! The exports of each provider world, found once per module, and one method per export on
//! its sandbox. Every answer is read within the ceilings of `super::ceilings`.

use wasmtime::component::{Component, ComponentExportIndex, InstancePre};

use super::arguments::WebhookArgument;
use super::bindings::v1::{messaging, types};
use super::engine::ProviderRuntime;
use super::failure::ProviderFailure;
use super::instance::{CallLabel, CallLimits, Outcome};
use super::results::{self, messaging as read_messaging, payment as read_payment};
use super::sandbox::Sandbox;
use super::state::ProviderState;
use crate::capabilities::CallContext;
use crate::domain::contract::ContractVersion;
use crate::domain::provider::messaging::{OutboundMessage, ParsedMessagingWebhook, SendResult};
use crate::domain::provider::payment::{
    GatewayUpdate, IntegrationType, ParsedPaymentWebhook, ProviderTransaction, RefundResult, Session,
};
use crate::domain::provider::{Money, Verification, WebhookRequest};

/// A linked component and where its world's exports are.
pub struct WorldPre<E> {
    pub(crate) instance_pre: InstancePre<ProviderState>,
    pub(crate) exports: E,
}

pub type PaymentPre = WorldPre<PaymentExports>;
pub type MessagingPre = WorldPre<MessagingExports>;
pub type PaymentInstance = Sandbox<PaymentExports>;
pub type MessagingInstance = Sandbox<MessagingExports>;

/// Finds the functions of `interface` (`payment`, `messaging`) a component exports at its
/// contract version.
struct ExportFinder<'a> {
    component: &'a Component,
    interface: ComponentExportIndex,
    name: String,
}

impl<'a> ExportFinder<'a> {
    fn new(component: &'a Component, interface: &str, version: ContractVersion) -> wasmtime::Result<Self> {
        let name = version.qualified(interface);
        let interface = component
            .get_export_index(None, &name)
            .ok_or_else(|| wasmtime::format_err!("the component does not export `{name}`"))?;
        Ok(Self { component, interface, name })
    }

    fn func(&self, func: &str) -> wasmtime::Result<ComponentExportIndex> {
        self.component
            .get_export_index(Some(&self.interface), func)
            .ok_or_else(|| wasmtime::format_err!("`{}` does not export `{func}`", self.name))
    }
}

#[derive(Clone, Copy)]
pub struct PaymentExports {
    validate_credentials: ComponentExportIndex,
    create_session: ComponentExportIndex,
    verify_webhook: ComponentExportIndex,
    parse_webhook: ComponentExportIndex,
    process_return: ComponentExportIndex,
    refund: ComponentExportIndex,
    sync: ComponentExportIndex,
    client_config: ComponentExportIndex,
}

#[derive(Clone, Copy)]
pub struct MessagingExports {
    validate_credentials: ComponentExportIndex,
    send: ComponentExportIndex,
    verify_webhook: ComponentExportIndex,
    parse_webhook: ComponentExportIndex,
}

impl PaymentPre {
    pub(crate) fn new(instance_pre: InstancePre<ProviderState>, version: ContractVersion) -> wasmtime::Result<Self> {
        let find = ExportFinder::new(instance_pre.component(), "payment", version)?;
        let exports = PaymentExports {
            validate_credentials: find.func("validate-credentials")?,
            create_session: find.func("create-session")?,
            verify_webhook: find.func("verify-webhook")?,
            parse_webhook: find.func("parse-webhook")?,
            process_return: find.func("process-return")?,
            refund: find.func("refund")?,
            sync: find.func("sync")?,
            client_config: find.func("client-config")?,
        };
        Ok(Self { instance_pre, exports })
    }
}

impl MessagingPre {
    pub(crate) fn new(instance_pre: InstancePre<ProviderState>, version: ContractVersion) -> wasmtime::Result<Self> {
        let find = ExportFinder::new(instance_pre.component(), "messaging", version)?;
        let exports = MessagingExports {
            validate_credentials: find.func("validate-credentials")?,
            send: find.func("send")?,
            verify_webhook: find.func("verify-webhook")?,
            parse_webhook: find.func("parse-webhook")?,
        };
        Ok(Self { instance_pre, exports })
    }
}

impl ProviderRuntime {
    /// A payment provider sandbox for one operation (one or more calls sharing a deadline).
    pub async fn payment_instance(
        &self,
        pre: &PaymentPre,
        label: CallLabel,
        limits: CallLimits,
        call: CallContext,
    ) -> Result<PaymentInstance, ProviderFailure> {
        self.instantiate(pre, label, limits, call).await
    }

    /// A messaging provider sandbox for one operation.
    pub async fn messaging_instance(
        &self,
        pre: &MessagingPre,
        label: CallLabel,
        limits: CallLimits,
        call: CallContext,
    ) -> Result<MessagingInstance, ProviderFailure> {
        self.instantiate(pre, label, limits, call).await
    }
}

impl PaymentInstance {
    /// Checks every export's signature against the host's calls (done once, at install).
    pub fn check_types(&mut self) -> Result<(), ProviderFailure> {
        let e = self.exports;
        self.check_type::<(), ()>(e.validate_credentials)?;
        self.check_type::<(&types::Transaction, types::IntegrationType), read_payment::RawSession>(e.create_session)?;
        self.check_type::<(WebhookArgument<'_>,), results::RawVerification>(e.verify_webhook)?;
        self.check_type::<(WebhookArgument<'_>,), read_payment::RawParsedWebhook>(e.parse_webhook)?;
        self.check_type::<(&types::Transaction, &[(String, String)]), read_payment::RawGatewayUpdate>(
            e.process_return,
        )?;
        self.check_type::<(&types::Transaction, &types::Money, &str), read_payment::RawRefundResult>(e.refund)?;
        self.check_type::<(&types::Transaction,), read_payment::RawGatewayUpdate>(e.sync)?;
        self.check_type::<(), read_payment::RawClientConfig>(e.client_config)
    }

    pub async fn validate_credentials(&mut self) -> Outcome<()> {
        self.call("validate-credentials", self.exports.validate_credentials, (), results::unit).await
    }

    pub async fn create_session(
        &mut self,
        transaction: &ProviderTransaction,
        kind: IntegrationType,
    ) -> Outcome<Session> {
        let args = (&types::Transaction::from(transaction), types::IntegrationType::from(kind));
        self.call("create-session", self.exports.create_session, args, read_payment::session).await
    }

    pub async fn verify_webhook(&mut self, request: &WebhookRequest) -> Outcome<Verification> {
        let args = (WebhookArgument::from(request),);
        self.call("verify-webhook", self.exports.verify_webhook, args, results::verification).await
    }

    pub async fn parse_webhook(&mut self, request: &WebhookRequest) -> Outcome<ParsedPaymentWebhook> {
        let args = (WebhookArgument::from(request),);
        self.call("parse-webhook", self.exports.parse_webhook, args, read_payment::parsed_webhook).await
    }

    pub async fn process_return(
        &mut self,
        transaction: &ProviderTransaction,
        params: &[(String, String)],
    ) -> Outcome<GatewayUpdate> {
        let args = (&types::Transaction::from(transaction), params);
        self.call("process-return", self.exports.process_return, args, read_payment::gateway_update).await
    }

    pub async fn refund(
        &mut self,
        transaction: &ProviderTransaction,
        amount: &Money,
        refund_id: &str,
    ) -> Outcome<RefundResult> {
        let args = (&types::Transaction::from(transaction), &types::Money::from(amount), refund_id);
        self.call("refund", self.exports.refund, args, read_payment::refund_result).await
    }

    pub async fn sync(&mut self, transaction: &ProviderTransaction) -> Outcome<GatewayUpdate> {
        let args = (&types::Transaction::from(transaction),);
        self.call("sync", self.exports.sync, args, read_payment::gateway_update).await
    }

    pub async fn client_config(&mut self) -> Outcome<String> {
        self.call("client-config", self.exports.client_config, (), read_payment::client_config).await
    }
}

impl MessagingInstance {
    /// Checks every export's signature against the host's calls (done once, at install).
    pub fn check_types(&mut self) -> Result<(), ProviderFailure> {
        let e = self.exports;
        self.check_type::<(), ()>(e.validate_credentials)?;
        self.check_type::<(&messaging::OutboundMessage,), read_messaging::RawSendResult>(e.send)?;
        self.check_type::<(WebhookArgument<'_>,), results::RawVerification>(e.verify_webhook)?;
        self.check_type::<(WebhookArgument<'_>,), read_messaging::RawParsedWebhook>(e.parse_webhook)
    }

    pub async fn validate_credentials(&mut self) -> Outcome<()> {
        self.call("validate-credentials", self.exports.validate_credentials, (), results::unit).await
    }

    pub async fn send(&mut self, message: &OutboundMessage) -> Outcome<SendResult> {
        let args = (&messaging::OutboundMessage::from(message),);
        self.call("send", self.exports.send, args, read_messaging::send_result).await
    }

    pub async fn verify_webhook(&mut self, request: &WebhookRequest) -> Outcome<Verification> {
        let args = (WebhookArgument::from(request),);
        self.call("verify-webhook", self.exports.verify_webhook, args, results::verification).await
    }

    pub async fn parse_webhook(&mut self, request: &WebhookRequest) -> Outcome<ParsedMessagingWebhook> {
        let args = (WebhookArgument::from(request),);
        self.call("parse-webhook", self.exports.parse_webhook, args, read_messaging::parsed_webhook).await
    }
}
