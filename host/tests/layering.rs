//! The layers' rules, checked on the source: `api/` talks to `services/` only (it never names
//! `store/` or the database handle), and SQL is written in `store/` alone, so every write goes
//! through `Db::tx` there; and bindgen types never leave `runtime/`.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// Lines of code in `dir` (comments left out) containing any of `needles`, as `file:line: text`.
fn lines_naming(dir: &Path, needles: &[&str], test_code_too: bool) -> Vec<String> {
    let mut found = Vec::new();
    for file in rust_files(dir) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            if !test_code_too && line.trim_start().starts_with("#[cfg(test)]") {
                break;
            }
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            if needles.iter().any(|needle| code.contains(needle)) {
                found.push(format!("{}:{}: {}", file.display(), number + 1, code));
            }
        }
    }
    found
}

fn src(folder: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(folder)
}

#[test]
fn the_api_talks_to_services_only() {
    let found = lines_naming(&src("api"), &["crate::store", "store::", ".db.", ".db)", "sqlx::"], true);
    assert!(found.is_empty(), "api/ reaches past services/:\n{}", found.join("\n"));
}

#[test]
fn sql_is_written_in_store_only() {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(src("")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() && !path.ends_with("store") {
            found.extend(lines_naming(&path, &["sqlx::query", "AnyPool"], false));
        }
    }
    assert!(found.is_empty(), "SQL outside store/:\n{}", found.join("\n"));
}

#[test]
fn bindgen_types_stay_in_the_runtime() {
    // Services and the API speak the host's own provider types (`domain::provider`); each
    // contract version's bindings are converted inside `runtime/`, so a version is added there
    // alone.
    let mut found = Vec::new();
    for folder in ["services", "api", "domain", "store"] {
        found.extend(lines_naming(&src(folder), &["bindings::", "wasmtime::component::bindgen"], true));
    }
    assert!(found.is_empty(), "bindgen types outside runtime/:\n{}", found.join("\n"));
}
