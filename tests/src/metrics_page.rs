//! A host's `GET /metrics`, parsed with a Prometheus text parser, and lookups into it.

use prometheus_parse::{Scrape, Value};
use reqwest::{Method, StatusCode};

use crate::host::TestHost;

/// The page, parsed, and its text.
pub struct MetricsPage {
    pub scrape: Scrape,
    pub text: String,
}

impl MetricsPage {
    pub async fn of(host: &TestHost) -> Self {
        let response = host.public(Method::GET, "/metrics").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
        assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
        let text = response.text().await.unwrap();
        let scrape = Scrape::parse(text.lines().map(|line| Ok(line.to_string()))).expect("Prometheus text");
        Self { scrape, text }
    }

    /// The sum of the samples of `metric` whose labels include `labels` (0 when none).
    pub fn value(&self, metric: &str, labels: &[(&str, &str)]) -> f64 {
        self.scrape
            .samples
            .iter()
            .filter(|sample| sample.metric == metric)
            .filter(|sample| labels.iter().all(|(name, wanted)| sample.labels.get(name) == Some(*wanted)))
            .map(|sample| match &sample.value {
                Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
                other => panic!("{metric} is not a counter or gauge: {other:?}"),
            })
            .sum()
    }

    /// How many observations a histogram has under `labels`.
    pub fn observations(&self, metric: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(&format!("{metric}_count"), labels)
    }
}
