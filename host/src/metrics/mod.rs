//! What `GET /metrics` tells an operator, in Prometheus text (version 0.0.4), from
//! `prometheus-client`. Names follow Prometheus conventions (`integrations_` prefix, base
//! units, counters ending in `_total`), labels are bounded ([`labels`]).
//!
//! Counters and histograms are recorded where things happen: [`Meters`] is shared by the
//! runtime, the outbound capability and the services; the database keeps its own timings
//! ([`DbMeters`], inside `store::Db`). Gauges that describe the present (slots in use, pool
//! connections, pending events, live versions) are sampled when the page is rendered
//! ([`Sample`]). Every host has its own: two hosts in one process never mix figures.

pub mod labels;
mod meters;
mod page;

pub use meters::{DbMeters, Meters};
pub use page::{HostMetrics, Sample};

/// The content type of the page.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// An HTTP status's class label.
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}
