//! A provider's stdout and stderr: collected and written to the host's log when the call
//! ends. They share the call's log budget with the `log` import; a write past it is refused,
//! which fails the call (the guest's `print!` panics), and the budget records the ceiling.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

use crate::capabilities::LogBudget;

#[derive(Clone)]
pub(crate) struct GuestOutput {
    captured: Arc<Mutex<Vec<u8>>>,
    budget: LogBudget,
}

impl GuestOutput {
    pub fn new(budget: LogBudget) -> Self {
        Self { captured: Arc::default(), budget }
    }

    /// The captured text; empties the buffer.
    pub fn take(&self) -> String {
        let mut captured = self.captured.lock().expect("guest output lock");
        let text = String::from_utf8_lossy(&captured).into_owned();
        captured.clear();
        text
    }

    fn write(&self, buf: &[u8]) -> io::Result<()> {
        self.budget.spend("stdout/stderr", buf.len()).map_err(io::Error::other)?;
        self.captured.lock().expect("guest output lock").extend_from_slice(buf);
        Ok(())
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl AsyncWrite for GuestOutput {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(self.write(buf).map(|()| buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
