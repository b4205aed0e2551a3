//! Several hosts on one PostgreSQL database: a module installed, upgraded, activated or
//! uninstalled through one host goes live (or out of service) on every other at once, plus a
//! load: the change is announced with `NOTIFY` when it commits, and each host `LISTEN`s and
//! then compares the recorded module states (`module_state`) with its own, loading the
//! recorded version from the database. Every [`FOLLOW_EVERY`] it compares anyway, so a
//! notification missed while its connection was re-made costs at most that. The compiled
//! code and the provider cache stay per process.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::store::modules;

use super::{App, ServiceError};

/// How often a host compares its live modules with the recorded ones without an
/// announcement.
pub const FOLLOW_EVERY: Duration = Duration::from_millis(500);

impl App {
    pub fn spawn_module_follower(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let app = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(FOLLOW_EVERY);
            let mut changes = match app.db.module_state_changes().await {
                Some(Ok(changes)) => Some(changes),
                Some(Err(error)) => {
                    tracing::warn!(%error, "cannot LISTEN for module changes; following them every {FOLLOW_EVERY:?}");
                    None
                }
                None => None,
            };
            // Versions this host could not load, so each is logged once.
            let mut failed: HashMap<String, String> = HashMap::new();
            loop {
                let announced = async {
                    match changes.as_mut() {
                        Some(changes) => changes.next().await.map(drop),
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = ticks.tick() => {}
                    heard = announced => {
                        if let Err(error) = heard {
                            // Re-made at the next wait; meanwhile a tick's poll, not a busy loop.
                            tracing::debug!(%error, "module change announcements interrupted; polling meanwhile");
                            ticks.tick().await;
                        }
                    }
                    _ = app.stop_signal() => break,
                }
                if let Err(error) = app.follow_module_states(&mut failed).await {
                    tracing::warn!(%error, "could not read the recorded module states");
                }
            }
        })
    }

    /// Makes the registry match the recorded states: the recorded version of each installed
    /// module live, uninstalled ones out of service.
    async fn follow_module_states(&self, failed: &mut HashMap<String, String>) -> Result<(), ServiceError> {
        // An install of this host's own is under way (it records the state, then swaps): the
        // next tick looks again.
        let Ok(_installing) = self.install_lock.try_lock() else { return Ok(()) };
        for state in modules::states(self.db.read()).await? {
            let live = self.registry.get(&state.identifier).map(|module| module.manifest.version.clone());
            if state.installed == 0 {
                if live.is_some() && self.registry.remove(&state.identifier).is_some() {
                    tracing::info!(module = %state.identifier, "module uninstalled by another host");
                }
                continue;
            }
            if live.as_deref() == Some(state.active_version.as_str())
                || failed.get(&state.identifier) == Some(&state.active_version)
            {
                continue;
            }
            match self.load_recorded(&state.identifier, &state.active_version).await {
                Ok(module) => {
                    failed.remove(&state.identifier);
                    self.registry.activate(module);
                    tracing::info!(
                        module = %state.identifier, version = %state.active_version,
                        previous = live.as_deref().unwrap_or("none"), "module live, as another host made it"
                    );
                }
                // The database or the blocking pool failed: tried again at the next tick.
                Err(error @ (ServiceError::Database(_) | ServiceError::Unavailable(_))) => {
                    tracing::warn!(module = %state.identifier, version = %state.active_version, %error, "could not load the version another host made live yet");
                }
                // The version itself does not load here: logged once, until another is made live.
                Err(error) => {
                    tracing::error!(module = %state.identifier, version = %state.active_version, %error, "could not load the version another host made live");
                    failed.insert(state.identifier.clone(), state.active_version.clone());
                }
            }
        }
        Ok(())
    }
}
