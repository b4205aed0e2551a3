//! Which module versions are live. Lookups are lock-free ([`arc_swap`]); a load swaps the
//! whole map atomically, so a call that already holds a module keeps it to the end.

mod loader;

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;

pub use loader::{load_module, load_modules_dir, EndpointOverrides, LoadError, LoadedModule, MAX_COMPONENT_BYTES};

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

    /// Makes `module` the live version of its identifier.
    pub fn activate(&self, module: LoadedModule) {
        let module = Arc::new(module);
        self.modules.rcu(|current| {
            let mut next = HashMap::clone(current);
            next.insert(module.manifest.identifier.clone(), module.clone());
            next
        });
    }
}
