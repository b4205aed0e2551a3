//! Watches the modules folder: a module folder dropped in, or a file in one replaced, is
//! reported (debounced) as that folder's path, for the installer to validate and load.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify_debouncer_mini::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{new_debouncer, DebounceEventResult, Debouncer};
use tokio::sync::mpsc;

/// Quiet time after the last change before a folder is reported: copying a module in is
/// several writes.
pub const DEBOUNCE: Duration = Duration::from_millis(400);

/// Keeps watching while alive.
pub struct ModulesWatcher {
    _debouncer: Debouncer<RecommendedWatcher>,
}

/// Starts watching `dir` (created if missing). Each report is a module folder (a direct child
/// of `dir`) where something changed.
pub fn watch_modules(dir: &Path) -> anyhow::Result<(ModulesWatcher, mpsc::UnboundedReceiver<PathBuf>)> {
    std::fs::create_dir_all(dir)?;
    let root = dir.canonicalize()?;
    let (sender, receiver) = mpsc::unbounded_channel();
    let watched_root = root.clone();
    let mut debouncer = new_debouncer(DEBOUNCE, move |result: DebounceEventResult| match result {
        Ok(events) => {
            let folders: BTreeSet<PathBuf> = events
                .iter()
                .filter_map(|event| event.path.strip_prefix(&watched_root).ok())
                .filter_map(|relative| relative.components().next())
                .map(|first| watched_root.join(first))
                .filter(|folder| folder.is_dir())
                .collect();
            for folder in folders {
                let _ = sender.send(folder);
            }
        }
        Err(error) => tracing::warn!(%error, "watching the modules folder"),
    })?;
    debouncer.watcher().watch(&root, RecursiveMode::Recursive)?;
    Ok((ModulesWatcher { _debouncer: debouncer }, receiver))
}
