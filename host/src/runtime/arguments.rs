//! What the host passes to an export, lowered into the guest's memory. A webhook's body (up
//! to 1 MiB) is lowered straight from the host's request, borrowed, not copied into a WIT
//! value first; the smaller values are converted to the version's types
//! (`bindings::conversions`).

use wasmtime::component::{ComponentType, Lower};

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
