//! A host in a process of its own, so a test can kill it with SIGKILL in the middle of a call:
//! nothing it was writing can still complete, as with `kill -9` of the real binary. The test
//! binary runs itself again with only one test selected and [`DIR_VAR`] set; that test calls
//! [`serve_if_child`], which serves the folder's database and modules (the real server code
//! the `integrations-host` binary runs) until the process is killed. A `harness = false`
//! binary (a bench) runs itself again with no arguments instead ([`ChildHost::start_self`])
//! and calls [`serve_if_child`] first thing in `main`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use integrations_host::server::{RunningHost, ServeConfig};

use crate::host::ADMIN_KEY;

/// The folder (database and modules) the child serves; unset in a normal test run.
pub const DIR_VAR: &str = "E2E_CHILD_HOST_DIR";
/// `--endpoint` overrides for the child, comma-separated.
pub const ENDPOINTS_VAR: &str = "E2E_CHILD_HOST_ENDPOINTS";
/// The child's event delivery timeout in milliseconds (its first retry is the same), when set.
pub const DELIVERY_TIMEOUT_VAR: &str = "E2E_CHILD_HOST_DELIVERY_TIMEOUT_MS";
const LISTENING: &str = "E2E_CHILD_HOST_LISTENING ";

pub struct ChildHost {
    pub url: String,
    child: Child,
}

impl ChildHost {
    /// Runs `test` (the full path of a test that calls [`serve_if_child`]) in a new process
    /// serving `dir`, and waits until it listens (this runtime keeps serving the fakes).
    pub async fn start(test: &str, dir: &Path, endpoints: &[String]) -> Self {
        Self::start_with(test, dir, endpoints, &[]).await
    }

    /// [`ChildHost::start`] with more environment for the child (such as [`DELIVERY_TIMEOUT_VAR`]).
    pub async fn start_with(test: &str, dir: &Path, endpoints: &[String], env: &[(&str, String)]) -> Self {
        let mut command = Self::command(dir, endpoints, env);
        command.args([test, "--exact", "--nocapture", "--test-threads=1"]).stderr(Stdio::inherit());
        Self::spawn(command).await
    }

    /// For a `harness = false` binary whose `main` calls [`serve_if_child`] first: runs this
    /// executable again, without arguments, serving `dir`; the child's stderr (its log, if it
    /// installs one) goes to `stderr`.
    pub async fn start_self(dir: &Path, endpoints: &[String], env: &[(&str, String)], stderr: Stdio) -> Self {
        let mut command = Self::command(dir, endpoints, env);
        command.stderr(stderr);
        Self::spawn(command).await
    }

    /// The process id of the child.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    fn command(dir: &Path, endpoints: &[String], env: &[(&str, String)]) -> Command {
        let mut command = Command::new(std::env::current_exe().expect("the running binary"));
        command
            .env(DIR_VAR, dir)
            .env(ENDPOINTS_VAR, endpoints.join(","))
            .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
            .stdout(Stdio::piped());
        command
    }

    async fn spawn(mut command: Command) -> Self {
        let mut child = command.spawn().expect("the child host starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (found, listening) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            // The child prints its address once it listens (an early exit ends the lines);
            // what it prints after is read and dropped so it never blocks on a full pipe.
            let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
            // libtest's "test … ... " has no line end of its own: the mark may follow it.
            let url = lines
                .by_ref()
                .find_map(|line| line.find(LISTENING).map(|at| line[at + LISTENING.len()..].trim().to_string()));
            let _ = found.send(url);
            lines.for_each(drop);
        });
        let url = listening.await.ok().flatten().expect("the child host listens");
        Self { url, child }
    }

    /// Kills the process with SIGKILL now, without waiting (the value is then only dropped).
    pub fn kill_now(&mut self) {
        let _ = self.child.kill();
    }

    /// Kills the process with SIGKILL and waits until it is gone.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        let status = self.child.wait().expect("the child host exits");
        assert!(!status.success(), "killed, not exited: {status}");
    }
}

impl Drop for ChildHost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether this process is a child host (it was started with [`DIR_VAR`] set).
pub fn is_child() -> bool {
    std::env::var_os(DIR_VAR).is_some()
}

/// In the child process: serves the folder named by [`DIR_VAR`] until killed. In a normal run
/// (the variable unset) it returns at once.
pub async fn serve_if_child() {
    let Ok(dir) = std::env::var(DIR_VAR) else { return };
    let dir = Path::new(&dir);
    let endpoints = std::env::var(ENDPOINTS_VAR).unwrap_or_default();
    let config = ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: crate::database::url_for(dir).await,
        master_key_file: Some(dir.join("master.key")),
        modules_dir: dir.join("modules"),
        admin_key: Some(ADMIN_KEY.into()),
        endpoints: endpoints.split(',').filter(|e| !e.is_empty()).map(str::to_string).collect(),
        delivery: match std::env::var(DELIVERY_TIMEOUT_VAR).ok().and_then(|ms| ms.parse().ok()) {
            Some(ms) => integrations_host::services::event_delivery::DeliveryPolicy {
                timeout: std::time::Duration::from_millis(ms),
                first_retry: std::time::Duration::from_millis(ms),
                ..Default::default()
            },
            None => Default::default(),
        },
        ..ServeConfig::default()
    };
    let host = RunningHost::start(config).await.expect("the child host starts");
    println!("\n{LISTENING}http://{}", host.address);
    host.serve(std::future::pending()).await.expect("the child host serves");
}
