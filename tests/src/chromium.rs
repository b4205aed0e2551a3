//! Headless Chromium (Debian's `/usr/bin/chromium`) driven over the Chrome DevTools Protocol
//! on `--remote-debugging-pipe` (file descriptors 3 and 4, NUL-separated JSON): no driver
//! binary, no websocket crate, nothing downloaded at test time.
//!
//! The browser is locked to 127.0.0.1: `--host-resolver-rules` makes every other host
//! unresolvable, and [`Page::intercept`] lets a test answer requests to an outside URL (a
//! gateway's checkout) itself, so a test never reaches the outside network.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{timeout_at, Instant};

pub const CHROMIUM: &str = "/usr/bin/chromium";

/// How long one command or awaited event may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(30);

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

pub struct Browser {
    child: Child,
    writer: Mutex<File>,
    next_id: AtomicU64,
    pending: Pending,
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Value>>,
    profile: tempfile::TempDir,
}

/// A pipe whose ends are close-on-exec and numbered 10 or above (so `dup2` onto 3 and 4 in
/// the child cannot clobber them).
fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0, "pipe2");
    let high = |fd: i32| {
        // SAFETY: `fd` is a descriptor we own; F_DUPFD_CLOEXEC returns a new one we own.
        let duplicate = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10) };
        assert!(duplicate >= 10, "fcntl F_DUPFD_CLOEXEC");
        // SAFETY: closing the original we own; the duplicate is owned by the OwnedFd.
        unsafe {
            libc::close(fd);
            OwnedFd::from_raw_fd(duplicate)
        }
    };
    (high(fds[0]), high(fds[1]))
}

impl Browser {
    /// Starts Chromium with a fresh profile. Panics with the install command when Chromium
    /// is missing (`.ci/run` installs it).
    pub fn launch() -> Self {
        assert!(
            Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing: install it with `apt-get install -y chromium` (.ci/run does)"
        );
        let profile = tempfile::tempdir().unwrap();
        let (to_browser_read, to_browser_write) = pipe();
        let (from_browser_read, from_browser_write) = pipe();
        let mut command = Command::new(CHROMIUM);
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(profile.path().join("chromium.log")).unwrap());
        let (read_fd, write_fd) = {
            use std::os::fd::AsRawFd;
            (to_browser_read.as_raw_fd(), from_browser_write.as_raw_fd())
        };
        // SAFETY: only async-signal-safe calls (dup2) between fork and exec. dup2 clears
        // close-on-exec on 3 and 4, which is how Chromium finds its pipe.
        unsafe {
            command.pre_exec(move || {
                if libc::dup2(read_fd, 3) < 0 || libc::dup2(write_fd, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("chromium starts");
        drop((to_browser_read, from_browser_write));

        let pending: Pending = Arc::default();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let reader_pending = pending.clone();
        let reader = File::from(from_browser_read);
        std::thread::spawn(move || {
            let mut reader = BufReader::new(reader);
            let mut message = Vec::new();
            loop {
                message.clear();
                match reader.read_until(0, &mut message) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                if message.last() == Some(&0) {
                    message.pop();
                }
                let Ok(value) = serde_json::from_slice::<Value>(&message) else { continue };
                match value.get("id").and_then(Value::as_u64) {
                    Some(id) => {
                        if let Some(waiter) = reader_pending.lock().unwrap().remove(&id) {
                            let _ = waiter.send(value);
                        }
                    }
                    None => {
                        let _ = events_tx.send(value);
                    }
                }
            }
        });
        Self {
            child,
            writer: Mutex::new(File::from(to_browser_write)),
            next_id: AtomicU64::new(1),
            pending,
            events: tokio::sync::Mutex::new(events_rx),
            profile,
        }
    }

    /// The end of Chromium's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.profile.path().join("chromium.log")).unwrap_or_default();
        let start = log.len().saturating_sub(2000);
        log.get(start..).unwrap_or_default().to_string()
    }

    /// Sends a command (to a page's session, or to the browser) and waits for its result.
    pub async fn call(&self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, tx);
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = session.into();
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.writer.lock().unwrap().write_all(&bytes).expect("write to chromium");
        let reply = match timeout_at(Instant::now() + DEADLINE, rx).await {
            Ok(Ok(reply)) => reply,
            _ => panic!("chromium did not answer {method} within {DEADLINE:?}; log:\n{}", self.log_tail()),
        };
        if let Some(error) = reply.get("error") {
            panic!("chromium refused {method}: {error}");
        }
        reply["result"].clone()
    }

    /// A new tab of `width`×`height` CSS pixels at scale 1, attached in flat mode.
    pub async fn new_page(&self, width: u32, height: u32) -> Page<'_> {
        let target = self.call(None, "Target.createTarget", json!({ "url": "about:blank" })).await;
        let attached =
            self.call(None, "Target.attachToTarget", json!({ "targetId": target["targetId"], "flatten": true })).await;
        let page = Page { browser: self, session: attached["sessionId"].as_str().unwrap().to_string() };
        page.call("Page.enable", json!({})).await;
        page.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }),
        )
        .await;
        page
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Page<'b> {
    browser: &'b Browser,
    session: String,
}

impl Page<'_> {
    pub async fn call(&self, method: &str, params: Value) -> Value {
        self.browser.call(Some(&self.session), method, params).await
    }

    /// Forgets events received so far, so a wait sees only what follows.
    pub async fn drain_events(&self) {
        let mut events = self.browser.events.lock().await;
        while events.try_recv().is_ok() {}
    }

    /// The next event `method` of this page, waiting at most [`DEADLINE`].
    pub async fn event(&self, method: &str) -> Value {
        let deadline = Instant::now() + DEADLINE;
        let mut events = self.browser.events.lock().await;
        loop {
            match timeout_at(deadline, events.recv()).await {
                Ok(Some(event)) => {
                    if event["method"] == method && event["sessionId"] == self.session.as_str() {
                        return event["params"].clone();
                    }
                }
                Ok(None) => panic!("chromium exited while waiting for {method}; log:\n{}", self.browser.log_tail()),
                Err(_) => panic!("no {method} within {DEADLINE:?}; log:\n{}", self.browser.log_tail()),
            }
        }
    }

    /// Navigates and waits for the page's load event.
    pub async fn goto(&self, url: &str) {
        self.drain_events().await;
        let result = self.call("Page.navigate", json!({ "url": url })).await;
        assert!(result.get("errorText").is_none(), "navigating to {url} failed: {result}");
        self.event("Page.loadEventFired").await;
    }

    pub async fn reload(&self) {
        self.drain_events().await;
        self.call("Page.reload", json!({ "ignoreCache": true })).await;
        self.event("Page.loadEventFired").await;
    }

    /// The value of a JavaScript expression (in the page, for the test's eyes only).
    pub async fn eval(&self, expression: &str) -> Value {
        let result = self
            .call("Runtime.evaluate", json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }))
            .await;
        assert!(result.get("exceptionDetails").is_none(), "{expression} threw: {result}");
        result["result"]["value"].clone()
    }

    /// Clicks the middle of the element `selector` with the mouse, as a person would: the
    /// element must be rendered and on screen.
    pub async fn click(&self, selector: &str) {
        let selector_json = serde_json::to_string(selector).unwrap();
        let rect = self
            .eval(&format!(
                "(() => {{ const e = document.querySelector({selector_json}); if (!e) return null; \
                 const r = e.getBoundingClientRect(); return {{x: r.x + r.width / 2, y: r.y + r.height / 2, \
                 w: r.width, h: r.height}}; }})()"
            ))
            .await;
        assert!(rect.is_object(), "no element {selector} on the page");
        assert!(rect["w"].as_f64() > Some(0.0) && rect["h"].as_f64() > Some(0.0), "{selector} is not rendered");
        let (x, y) = (rect["x"].clone(), rect["y"].clone());
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 }),
            )
            .await;
        }
    }

    /// Pauses every request whose URL matches `pattern` (`*` wildcards) until the test
    /// answers it with [`Page::fulfill`].
    pub async fn intercept(&self, pattern: &str) {
        self.call("Fetch.enable", json!({ "patterns": [{ "urlPattern": pattern, "requestStage": "Request" }] })).await;
    }

    /// Answers a paused request with a 200 HTML page.
    pub async fn fulfill(&self, request_id: &str, html: &str) {
        self.call(
            "Fetch.fulfillRequest",
            json!({
                "requestId": request_id,
                "responseCode": 200,
                "responseHeaders": [{ "name": "Content-Type", "value": "text/html; charset=utf-8" }],
                "body": base64::engine::general_purpose::STANDARD.encode(html),
            }),
        )
        .await;
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        let shot = self.call("Page.captureScreenshot", json!({ "format": "png" })).await;
        base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().unwrap()).unwrap()
    }
}

/// Width and height of a PNG, or None when the bytes are not a PNG.
pub fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if png.len() < 24 || &png[..8] != SIGNATURE || &png[12..16] != b"IHDR" {
        return None;
    }
    let number = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    Some((number(16), number(20)))
}
