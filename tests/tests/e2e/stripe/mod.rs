//! Stripe end to end: the real host in-process on 127.0.0.1, the real built `payment_stripe`
//! component, a fake Stripe speaking Stripe's wire format (`e2e::fake_stripe`).

mod amounts;
mod checkout;
mod customers;
mod embedded;
mod errors;
mod manual_capture;
mod refund_states;
mod saved_methods;
mod setup;
mod webhooks;

pub use e2e::stripe_scenario::*;
