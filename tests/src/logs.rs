//! Captures everything the host logs in this test process, so tests can check what a log
//! holds (and what it must never hold).

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

static CAPTURED: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Starts capturing (once per process) at debug level, in the host's human format.
pub fn capture() {
    CAPTURED.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = Sink(buffer.clone());
        tracing_subscriber::fmt()
            .with_env_filter("debug,hyper=info,h2=info,reqwest=info,cranelift=info,wasmtime=info,sqlx=info")
            .with_writer(move || sink.clone())
            .fmt_fields(integrations_host::telemetry::EscapedFields::default())
            .with_ansi(false)
            .init();
        buffer
    });
}

/// Everything logged since [`capture`].
pub fn text() -> String {
    let buffer = CAPTURED.get().expect("logs::capture() was called");
    String::from_utf8_lossy(&buffer.lock().unwrap()).into_owned()
}
