//! The product's rules, free of I/O: money in minor units, the transaction state machine and
//! the module manifest. Nothing here knows about wasm, SQL or HTTP.

pub mod allowed_hosts;
pub mod capabilities;
pub mod contract;
pub mod credential_pattern;
pub mod host_pattern;
pub mod manifest;
pub mod manifest_ceilings;
pub mod message_state;
pub mod money;
pub mod provider;
pub mod transaction_state;
pub mod upgrade_review;
