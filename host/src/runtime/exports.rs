//! The exports of each provider world, found once per module, and one method per export on
//! its sandbox. Every answer is read within the ceilings of `super::ceilings`.

use wasmtime::component::{Component, ComponentExportIndex, InstancePre};

use super::arguments::WebhookArgument;
use super::bindings::v1::messaging;
use super::engine::ProviderRuntime;
use super::failure::ProviderFailure;
use super::instance::{CallLabel, CallLimits, Outcome};
use super::results::{self, messaging as read_messaging};
use super::sandbox::Sandbox;
use super::state::ProviderState;
use crate::capabilities::CallContext;
use crate::domain::contract::ContractVersion;
use crate::domain::provider::messaging::{OutboundMessage, ParsedMessagingWebhook, SendResult};
use crate::domain::provider::{Verification, WebhookRequest};

pub use super::payment_exports::PaymentExports;

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
pub(super) struct ExportFinder<'a> {
    component: &'a Component,
    interface: ComponentExportIndex,
    name: String,
}

impl<'a> ExportFinder<'a> {
    pub(super) fn new(component: &'a Component, interface: &str, version: ContractVersion) -> wasmtime::Result<Self> {
        let name = version.qualified(interface);
        let interface = component
            .get_export_index(None, &name)
            .ok_or_else(|| wasmtime::format_err!("the component does not export `{name}`"))?;
        Ok(Self { component, interface, name })
    }

    pub(super) fn func(&self, func: &str) -> wasmtime::Result<ComponentExportIndex> {
        self.component
            .get_export_index(Some(&self.interface), func)
            .ok_or_else(|| wasmtime::format_err!("`{}` does not export `{func}`", self.name))
    }
}

#[derive(Clone, Copy)]
pub struct MessagingExports {
    validate_credentials: ComponentExportIndex,
    send: ComponentExportIndex,
    verify_webhook: ComponentExportIndex,
    parse_webhook: ComponentExportIndex,
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
