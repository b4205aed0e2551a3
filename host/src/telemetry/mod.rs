//! What the host tells its operator: log lines that text from providers and callers cannot
//! forge, and refusals logged once per burst instead of once per request.

mod burst;
mod escape;

pub use burst::BurstLog;
pub use escape::{escape_control, EscapedFields};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// The log's two formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One line per event for people; field values have control characters escaped.
    Human,
    /// One JSON object per line (control characters escaped by JSON itself).
    Json,
}

/// Installs the process's log subscriber writing to `writer`. The human format colours its
/// output only when `ansi` (the caller passes whether the writer is a terminal), so a
/// redirected log holds no escape codes.
pub fn init_logging<W>(format: LogFormat, filter: EnvFilter, writer: W, ansi: bool)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_ansi(ansi);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Human => builder.fmt_fields(EscapedFields::default()).init(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::EscapedFields;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn forge() {
        let forged = "paid\n2026-12-01T00:00:00Z  INFO module=payment_stripe company_id=2: refund approved\r";
        tracing::info!(module = "test_greedy", company_id = 1, reason = %forged, "{forged}");
    }

    fn lines(buffer: &Buffer) -> Vec<String> {
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap().lines().map(str::to_string).collect()
    }

    #[test]
    fn neither_format_lets_a_value_start_a_line() {
        let human = Buffer::default();
        let writer = human.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .fmt_fields(EscapedFields::default())
            .finish();
        tracing::subscriber::with_default(subscriber, forge);
        let logged = lines(&human);
        assert_eq!(logged.len(), 1, "{logged:?}");
        assert!(logged[0].contains("paid\\n2026-12-01T00:00:00Z  INFO module=payment_stripe"), "{logged:?}");
        assert!(logged[0].contains("refund approved\\r"), "{logged:?}");

        let json = Buffer::default();
        let writer = json.clone();
        let subscriber = tracing_subscriber::fmt().json().with_writer(move || writer.clone()).finish();
        tracing::subscriber::with_default(subscriber, forge);
        let logged = lines(&json);
        assert_eq!(logged.len(), 1, "{logged:?}");
        let event: serde_json::Value = serde_json::from_str(&logged[0]).unwrap();
        assert!(event["fields"]["message"].as_str().unwrap().starts_with("paid\n2026"), "JSON keeps it as data");
    }
}
