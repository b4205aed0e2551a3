//! End-to-end tests: the real host in-process on 127.0.0.1, the real built components, a
//! real SQLite file, fake gateways speaking the real wire formats.

mod api_rules;
mod ceilings;
mod concurrent_edits;
mod contract_versions;
mod encryption_at_rest;
mod error_shapes;
mod events;
mod fair_share;
mod hot_loading;
mod install_refusals;
mod isolation;
mod metrics;
mod metrics_failures;
mod mygateway_payments;
mod mygateway_webhooks;
mod oauth_broker;
mod openapi;
mod outbound_policy;
mod payment_link_browser;
mod payment_links;
mod paypal;
mod plugin_kit;
mod provider_answers;
mod refunds_in_doubt;
mod request_logs;
mod sandbox;
mod scheduled_sync;
mod secret_grants;
mod secrets;
mod several_hosts;
mod startup;
mod storage_faults;
mod stripe;
mod twilio;
mod webhook_attempts;
