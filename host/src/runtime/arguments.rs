//! What the host passes to an export, lowered into the guest's memory. A webhook's body (up
//! to 1 MiB) is lowered straight from the host's request, borrowed, not copied into a WIT
//! value first; the smaller values are converted to the version's types
//! (`bindings::conversions`).

use wasmtime::component::{ComponentType, Lower};

use crate::domain::provider::payment::{CaptureMode, SessionOptions};
use crate::domain::provider::WebhookRequest;

/// `webhook-request`, borrowed from the host's [`WebhookRequest`].
#[derive(ComponentType, Lower)]
#[component(record)]
pub(crate) struct WebhookArgument<'a> {
    method: &'a str,
    url: &'a str,
    headers: &'a [(String, String)],
    body: &'a [u8],
    #[component(name = "received-at")]
    received_at: u64,
}

impl<'a> From<&'a WebhookRequest> for WebhookArgument<'a> {
    fn from(request: &'a WebhookRequest) -> Self {
        Self {
            method: &request.method,
            url: &request.url,
            headers: &request.headers,
            body: &request.body,
            received_at: request.received_at,
        }
    }
}

/// `session-options` of 1.1.
#[derive(ComponentType, Lower)]
#[component(record)]
pub(crate) struct SessionOptionsArgument {
    capture: CaptureModeArgument,
    #[component(name = "save-payment-method")]
    save_payment_method: bool,
}

#[derive(ComponentType, Lower, Clone, Copy)]
#[component(enum)]
#[repr(u8)]
pub(crate) enum CaptureModeArgument {
    #[component(name = "automatic")]
    Automatic,
    #[component(name = "manual")]
    Manual,
}

impl From<SessionOptions> for SessionOptionsArgument {
    fn from(options: SessionOptions) -> Self {
        Self {
            capture: match options.capture {
                CaptureMode::Automatic => CaptureModeArgument::Automatic,
                CaptureMode::Manual => CaptureModeArgument::Manual,
            },
            save_payment_method: options.save_payment_method,
        }
    }
}
