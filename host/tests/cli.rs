//! The `integrations-host` binary's own contract: `check` exits non-zero naming what is
//! wrong, and `serve` refuses bad settings before it binds.

use std::process::Command;

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_integrations-host"))
}

#[test]
fn check_refuses_a_bad_module_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("manifest.yaml");
    std::fs::write(
        &manifest,
        "name: X\nidentifier: Bad-Name\nversion: '1.0'\ncategory: module_category_integrations\n\
         integration_category: Telepathy\nruntime: { component: x.wasm, world: w }\n",
    )
    .unwrap();
    let component = dir.path().join("x.wasm");
    std::fs::write(&component, b"not wasm").unwrap();
    let output = binary().args(["check"]).arg(&manifest).arg(&component).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("identifier: `Bad-Name`"), "{stderr}");
    assert!(stderr.contains("integration_category: `Telepathy`"), "{stderr}");

    let output = binary().args(["check", "/nonexistent/manifest.yaml", "x.wasm"]).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/manifest.yaml"));
}

#[test]
fn serve_refuses_bad_settings_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/db.sqlite", dir.path().display());
    let output = binary()
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &database, "--endpoint", "no-equals-sign"])
        .env("INTEGRATIONS_HOST_ADMIN_KEY", "k")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--endpoint `no-equals-sign`"));

    let output = binary().args(["serve", "--listen", "127.0.0.1:0", "--database", "mysql://nope"]).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--database"));
}
