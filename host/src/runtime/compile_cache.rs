//! Compiled components cached on disk, keyed by the engine's compatibility hash and the
//! component's SHA-256, so a restart loads N modules without recompiling them. Only files
//! this host wrote are ever deserialized (the folder is the host's own).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use wasmtime::component::Component;
use wasmtime::Engine;

/// How many components were compiled and how many came from the cache.
#[derive(Debug, Default)]
pub struct CompileStats {
    pub compiled: AtomicU64,
    pub from_cache: AtomicU64,
}

pub(crate) struct CompileCache {
    /// `<root>/<engine compatibility hash>`, or None when caching is off.
    dir: Option<PathBuf>,
    pub stats: CompileStats,
}

impl CompileCache {
    pub fn new(engine: &Engine, root: Option<&Path>) -> Self {
        let dir = root.map(|root| {
            let mut hasher = DefaultHasher::new();
            engine.precompile_compatibility_hash().hash(&mut hasher);
            root.join(format!("{:016x}", hasher.finish()))
        });
        Self { dir, stats: CompileStats::default() }
    }

    /// The component for `bytes`, from the cache when this engine compiled it before (then
    /// true beside it).
    pub fn component(&self, engine: &Engine, bytes: &[u8], sha256: &str) -> wasmtime::Result<(Component, bool)> {
        let started = Instant::now();
        let cached = self.dir.as_ref().map(|dir| dir.join(format!("{sha256}.cwasm")));
        if let Some(path) = cached.as_ref().filter(|path| path.exists()) {
            // SAFETY: the file was written by `serialize` below, by an engine with the same
            // compatibility hash (it is part of the folder name), into the host's own folder.
            match unsafe { Component::deserialize_file(engine, path) } {
                Ok(component) => {
                    self.stats.from_cache.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(
                        sha256,
                        elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
                        "component loaded from the compile cache"
                    );
                    return Ok((component, true));
                }
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "unusable compile cache entry; recompiling")
                }
            }
        }
        let component = Component::new(engine, bytes)?;
        self.stats.compiled.fetch_add(1, Ordering::Relaxed);
        tracing::info!(sha256, elapsed_ms = started.elapsed().as_secs_f64() * 1e3, "component compiled");
        if let Some(path) = cached {
            if let Err(error) = write_atomically(&path, &component.serialize()?) {
                tracing::warn!(path = %path.display(), %error, "cannot write the compile cache");
            }
        }
        Ok((component, false))
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("cache files live in a folder");
    std::fs::create_dir_all(dir)?;
    // Unique per writer: two threads (or hosts sharing the folder) writing the same component
    // never write into one temporary file.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let write = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let temporary = dir.join(format!(".{}.{write}.tmp", std::process::id()));
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path)
}
