//! `cargo xtask <command>`: the project's run and test commands.
//!
//! - `serve [ARGS…]`: build the providers, install them into `./modules`, run
//!   `integrations-host serve ARGS…`.
//! - `test [ARGS…]`: install Chromium if missing (the browser test), build the providers and
//!   test guests, run every test, then the end-to-end suite again on PostgreSQL
//!   (`E2E_DATABASE=postgres`, 127.0.0.1:5432), dropping the test databases before and after.
//! - `lint`: `cargo fmt --check` and `cargo clippy -D warnings` on both workspaces.
//! - `install [DIR]`: build and install the providers into DIR (default `./modules`).
//! - `build-providers`: build the provider components only.
//! - `fuzz-contract [MAX_EXAMPLES [ARGS…]]`: schemathesis against the built host (issue 12,
//!   point 4; `ARGS` go to schemathesis); installs it into `target/contract-fuzz/venv` first.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use xtask::{build_providers, install_modules, providers_dir, repo_root};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    let result = match command.as_str() {
        "serve" => serve(&rest),
        "test" => test(&rest),
        "lint" => lint(),
        "install" => install(rest.first().map(PathBuf::from).unwrap_or_else(|| repo_root().join("modules"))),
        "build-providers" => build_providers().map(|dir| println!("built into {}", dir.display())),
        "fuzz-contract" => fuzz_contract(&rest),
        _ => Err("usage: cargo xtask serve [ARGS…] | test [ARGS…] | lint | install [DIR] | build-providers | \
                  fuzz-contract [MAX_EXAMPLES [SCHEMATHESIS ARGS…]]"
            .into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error}");
            ExitCode::FAILURE
        }
    }
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(repo_root());
    command
}

fn run(mut command: Command) -> Result<(), String> {
    let status = command.status().map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed ({status})"))
    }
}

fn install(dir: PathBuf) -> Result<(), String> {
    let installed = install_modules(&dir)?;
    println!("installed {} into {}", installed.join(", "), dir.display());
    Ok(())
}

fn serve(args: &[String]) -> Result<(), String> {
    install(repo_root().join("modules"))?;
    let mut command = cargo();
    command.args(["run", "--release", "-p", "integrations-host", "--", "serve"]).args(args);
    run(command)
}

fn test(args: &[String]) -> Result<(), String> {
    ensure_chromium()?;
    build_providers()?;
    let mut command = cargo();
    command.args(["test", "--workspace"]).args(args);
    run(command)?;
    // The end-to-end suite again, every test host on a PostgreSQL database of its own.
    drop_test_databases()?;
    let mut command = cargo();
    command.args(["test", "-p", "e2e", "--test", "e2e"]).args(args).env("E2E_DATABASE", "postgres");
    let ran = run(command);
    drop_test_databases()?;
    ran
}

/// The PostgreSQL the tests use: the machine's, on 127.0.0.1:5432 with trust auth.
const POSTGRES: [&str; 6] = ["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres"];

/// Drops every `e2e_…` database a test host created (one per host).
fn drop_test_databases() -> Result<(), String> {
    let psql = |sql: &str| {
        let output = Command::new("psql")
            .args(POSTGRES)
            .args(["-v", "ON_ERROR_STOP=1", "-Atc", sql])
            .output()
            .map_err(|e| format!("the PostgreSQL run needs psql on PATH: {e}"))?;
        if !output.status.success() {
            return Err(format!("psql: {}", String::from_utf8_lossy(&output.stderr).trim()));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let names = psql("SELECT datname FROM pg_database WHERE datname LIKE 'e2e\\_%'")?;
    for name in names.lines().filter(|name| !name.is_empty()) {
        psql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))?;
    }
    Ok(())
}

/// The payment link browser test drives Debian's Chromium; a fresh machine lacks it, so the
/// test command installs it (as root, from Debian's packages) when `/usr/bin/chromium` is
/// missing, and says how when it cannot.
fn ensure_chromium() -> Result<(), String> {
    if std::path::Path::new("/usr/bin/chromium").exists() {
        return Ok(());
    }
    println!("xtask: /usr/bin/chromium is missing; installing Debian's chromium for the browser test");
    let apt = |args: &[&str]| {
        Command::new("apt-get").args(args).env("DEBIAN_FRONTEND", "noninteractive").status().is_ok_and(|s| s.success())
    };
    if apt(&["install", "-y", "-qq", "chromium"])
        || (apt(&["update", "-qq"]) && apt(&["install", "-y", "-qq", "chromium"]))
    {
        return Ok(());
    }
    Err("the payment link browser test needs Chromium: install it with `apt-get install -y chromium` (as root)".into())
}

/// The schemathesis release the contract fuzz is pinned to (Python 3.9+, OpenAPI 3.1).
const SCHEMATHESIS: &str = "schemathesis==4.32.5";
/// Examples per operation and phase: both runs together stay within a few minutes.
const DEFAULT_FUZZ_EXAMPLES: &str = "100";

/// Builds the host binary and the driver (`tests/src/bin/contract_fuzz.rs`), installs
/// schemathesis into a virtualenv under `target/` when it is missing, and runs the driver.
fn fuzz_contract(args: &[String]) -> Result<(), String> {
    let venv = repo_root().join("target/contract-fuzz/venv");
    let st = venv.join("bin/st");
    let pinned = Command::new(venv.join("bin/pip"))
        .args(["show", "--quiet", "schemathesis"])
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(&format!("Version: {}", &SCHEMATHESIS[14..])));
    let python = fuzz_python();
    if !pinned || !runs_python(&venv.join("bin/python"), FIXED_PYTHON) && runs_python(Path::new(&python), FIXED_PYTHON)
    {
        let _ = std::fs::remove_dir_all(&venv);
        let mut create = Command::new(&python);
        create.arg("-m").arg("venv").arg(&venv);
        run(create)?;
        let mut pip = Command::new(venv.join("bin/pip"));
        pip.args(["install", "--quiet", SCHEMATHESIS]);
        run(pip)?;
    }
    let mut build = cargo();
    build.args([
        "build",
        "-p",
        "integrations-host",
        "--bin",
        "integrations-host",
        "-p",
        "e2e",
        "--bin",
        "contract_fuzz",
    ]);
    run(build)?;
    let mut fuzz = Command::new(repo_root().join("target/debug/contract_fuzz"));
    fuzz.arg(&st).arg(args.first().map(String::as_str).unwrap_or(DEFAULT_FUZZ_EXAMPLES)).args(args.iter().skip(1));
    run(fuzz)
}

/// CPython releases before 3.12 can fail Hypothesis with "AST constructor recursion depth
/// mismatch" (python/cpython#106905) while it describes a strategy: no finding about the API,
/// but a failed run. The contract fuzz prefers an interpreter of this version or later.
const FIXED_PYTHON: (u32, u32) = (3, 12);

/// The interpreter the contract fuzz's virtualenv is made with: `CONTRACT_FUZZ_PYTHON` when
/// set, else the first of `python3.13`, `python3.12` or a pyenv-installed 3.12+ that runs,
/// else `python3` (whose run the driver repeats once when it meets only that bug).
fn fuzz_python() -> String {
    if let Ok(python) = std::env::var("CONTRACT_FUZZ_PYTHON") {
        return python;
    }
    let mut candidates: Vec<String> = vec!["python3.13".into(), "python3.12".into()];
    let pyenv =
        std::env::var("PYENV_ROOT").unwrap_or_else(|_| format!("{}/.pyenv", std::env::var("HOME").unwrap_or_default()));
    if let Ok(versions) = std::fs::read_dir(Path::new(&pyenv).join("versions")) {
        let mut found: Vec<PathBuf> = versions.filter_map(Result::ok).map(|v| v.path().join("bin/python3")).collect();
        found.sort();
        candidates.extend(found.into_iter().rev().map(|p| p.display().to_string()));
    }
    candidates
        .into_iter()
        .find(|python| runs_python(Path::new(python), FIXED_PYTHON))
        .unwrap_or_else(|| "python3".into())
}

/// Whether `python` runs and is at least version `at_least`.
fn runs_python(python: &Path, at_least: (u32, u32)) -> bool {
    let check = format!("import sys; sys.exit(0 if sys.version_info >= {at_least:?} else 1)");
    Command::new(python).args(["-c", &check]).output().is_ok_and(|out| out.status.success())
}

fn lint() -> Result<(), String> {
    for dir in [repo_root(), providers_dir()] {
        let mut fmt = cargo();
        fmt.current_dir(&dir).args(["fmt", "--all", "--", "--check"]);
        run(fmt)?;
    }
    let mut clippy = cargo();
    clippy.args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]);
    run(clippy)?;
    let mut clippy = cargo();
    clippy.current_dir(providers_dir()).args([
        "clippy",
        "--workspace",
        "--release",
        "--target",
        xtask::WASM_TARGET,
        "--",
        "-D",
        "warnings",
    ]);
    run(clippy)
}
