//! Ceilings on everything a provider hands back to the host. A provider's answer is read in
//! place, in the guest's memory, and copied out only when each string and list fits its
//! ceiling; over one, the call fails (`provider_failed`) and nothing it returned is used.
//! `docs/providers.md` lists these for plugin authors.
//!
//! With these ceilings, the most the host copies out of one call's answer is a parsed payment
//! webhook of [`UPDATES_PER_WEBHOOK`] full updates with their refunds (≈ 4 MiB) or a
//! messaging webhook of full status updates, inbound messages and answer (≈ 1.2 MiB); see [`LARGEST_ANSWER_BYTES`].

use std::fmt;

/// Our reference, the gateway's reference, a refund reference, a message's remote id.
pub const REFERENCE: usize = 256;
/// A session action: the redirect URL, the embedded-JS configuration, the QR payload.
pub const SESSION_ACTION: usize = 16 * 1024;
/// Client configuration for embedded JS (`client-config`).
pub const CLIENT_CONFIG: usize = 16 * 1024;
/// What the provider asks the host to keep with a transaction.
pub const PROVIDER_DATA: usize = 16 * 1024;
/// Short labels: a gateway status, an event type, an error code, a content type.
pub const LABEL: usize = 256;
/// Sentences meant for people: error messages, rejection reasons.
pub const MESSAGE: usize = 2 * 1024;
/// Phone numbers and sender ids of inbound messages.
pub const ADDRESS: usize = 64;
/// An inbound message's body (1,600 characters of up to four bytes each, with room).
pub const MESSAGE_BODY: usize = 8 * 1024;
/// The answer a webhook gives the gateway.
pub const WEBHOOK_ANSWER: usize = 64 * 1024;
/// Transaction updates in one parsed payment webhook.
pub const UPDATES_PER_WEBHOOK: usize = 100;
/// Refund updates in one payment update (1.1).
pub const REFUNDS_PER_UPDATE: usize = 8;
/// A saved payment method's token (1.1): the gateway's ids, opaque to the host.
pub const PAYMENT_METHOD_TOKEN: usize = 1024;
/// A saved payment method's expiry ("YYYY-MM"), with room.
pub const EXPIRY: usize = 16;
/// Status updates in one parsed messaging webhook.
pub const STATUS_UPDATES_PER_WEBHOOK: usize = 100;
/// Inbound messages in one parsed messaging webhook.
pub const INBOUND_PER_WEBHOOK: usize = 100;

/// Bytes one call may write to the host's log: `log` messages, stdout and stderr together.
pub const LOG_BYTES_PER_CALL: usize = 64 * 1024;
/// Longest single `log` message; a longer one is cut (and counts as cut).
pub const LOG_MESSAGE: usize = 2 * 1024;

/// IntegrationMapper: a model name.
pub const MAPPER_MODEL: usize = 64;
/// IntegrationMapper: a local or remote id.
pub const MAPPER_ID: usize = 256;
/// IntegrationMapper: `put`s in one call.
pub const MAPPER_WRITES_PER_CALL: usize = 16;
/// IntegrationMapper: entries one integration may hold.
pub const MAPPER_ENTRIES_PER_INTEGRATION: i64 = 10_000;

/// Cache keys and values.
pub const CACHE_KEY: usize = 256;
pub const CACHE_VALUE: usize = 64 * 1024;
/// An outbound request body read out of the guest; the `http` capability refuses bodies over
/// its own (smaller) limit with `invalid-request`, past this the call fails.
pub const HTTP_REQUEST_BODY: usize = 2 << 20;

/// The largest answer the host copies out of one call, from the ceilings above.
pub const LARGEST_ANSWER_BYTES: usize = {
    let refund = 2 * REFERENCE + MESSAGE;
    let saved_method = PAYMENT_METHOD_TOKEN + LABEL + EXPIRY;
    let update = 2 * REFERENCE + LABEL + MESSAGE + PROVIDER_DATA + REFUNDS_PER_UPDATE * refund + saved_method;
    let payment = LABEL + UPDATES_PER_WEBHOOK * update + LABEL + WEBHOOK_ANSWER;
    let status = REFERENCE + LABEL + MESSAGE;
    let inbound = REFERENCE + 2 * ADDRESS + MESSAGE_BODY;
    let messaging =
        LABEL + STATUS_UPDATES_PER_WEBHOOK * status + INBOUND_PER_WEBHOOK * inbound + LABEL + WEBHOOK_ANSWER;
    if payment > messaging {
        payment
    } else {
        messaging
    }
};

// The stated bound holds for these ceilings (checked when the host is compiled).
const _: () = assert!(LARGEST_ANSWER_BYTES < 5 << 20 && LARGEST_ANSWER_BYTES > UPDATES_PER_WEBHOOK * PROVIDER_DATA);

/// A value a provider handed back that is over its ceiling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverCeiling {
    /// Which value, as the WIT names it (`parsed-webhook.updates`).
    pub what: String,
    pub size: usize,
    pub limit: usize,
    pub unit: Unit,
}

impl std::error::Error for OverCeiling {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Bytes,
    Items,
}

impl OverCeiling {
    pub fn bytes(what: impl Into<String>, size: usize, limit: usize) -> Self {
        Self { what: what.into(), size, limit, unit: Unit::Bytes }
    }

    pub fn items(what: impl Into<String>, size: usize, limit: usize) -> Self {
        Self { what: what.into(), size, limit, unit: Unit::Items }
    }
}

impl fmt::Display for OverCeiling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            Unit::Bytes => "bytes",
            Unit::Items => "items",
        };
        write!(f, "{} has {} {unit}, over the ceiling of {}", self.what, self.size, self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_value_and_the_ceiling() {
        let over = OverCeiling::items("parsed-webhook.updates", 50_000, 100);
        assert_eq!(over.to_string(), "parsed-webhook.updates has 50000 items, over the ceiling of 100");
        assert_eq!(OverCeiling::bytes("x", 4, 3).to_string(), "x has 4 bytes, over the ceiling of 3");
    }
}
