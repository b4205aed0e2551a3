//! Which module versions are live. Lookups are lock-free ([`arc_swap`]); a load swaps the
//! whole map atomically, so a call that already holds a module keeps it to the end.

mod loader;
mod watcher;

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;

pub use loader::{
    load_module, load_parsed, read_module_dir, EndpointOverrides, LoadError, LoadedModule, MAX_COMPONENT_BYTES,
};
pub use watcher::{watch_modules, ModulesWatcher};

#[derive(Default)]
pub struct ModuleRegistry {
    modules: ArcSwap<HashMap<String, Arc<LoadedModule>>>,
}

impl ModuleRegistry {
    pub fn get(&self, identifier: &str) -> Option<Arc<LoadedModule>> {
        self.modules.load().get(identifier).cloned()
    }

    /// Every live module, sorted by identifier.
    pub fn all(&self) -> Vec<Arc<LoadedModule>> {
        let mut modules: Vec<_> = self.modules.load().values().cloned().collect();
        modules.sort_by(|a, b| a.manifest.identifier.cmp(&b.manifest.identifier));
        modules
    }

    /// Makes `module` the live version of its identifier. Calls already holding the previous
    /// version finish on it.
    pub fn activate(&self, module: Arc<LoadedModule>) {
        self.modules.rcu(|current| {
            let mut next = HashMap::clone(current);
            next.insert(module.manifest.identifier.clone(), module.clone());
            next
        });
    }
}

impl ModuleRegistry {
    /// Takes a module out of service; calls in flight finish on it.
    pub fn remove(&self, identifier: &str) -> Option<Arc<LoadedModule>> {
        let mut removed = None;
        self.modules.rcu(|current| {
            let mut next = HashMap::clone(current);
            removed = next.remove(identifier);
            next
        });
        removed
    }
}
