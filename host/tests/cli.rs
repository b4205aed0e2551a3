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

/// The operator's ceilings come from the flag, else the environment, else the file: each
/// source in turn supplies a value out of range, and the refusal names the setting.
#[test]
fn ceilings_come_from_the_flag_the_environment_or_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/db.sqlite", dir.path().display());
    let config = dir.path().join("host.toml");
    std::fs::write(&config, "max_memory_mb = 4096\nevent_timeout_s = 0\n").unwrap();
    let serve = || {
        let mut command = binary();
        command.args(["serve", "--listen", "127.0.0.1:0", "--database", &database, "--config"]).arg(&config);
        command.env_remove("INTEGRATIONS_HOST_MAX_MEMORY_MB").env_remove("INTEGRATIONS_HOST_EVENT_TIMEOUT_S");
        command
    };
    // The file's value is read (and refused by its name).
    let from_file = refusal(serve().env("INTEGRATIONS_HOST_EVENT_TIMEOUT_S", "10"));
    assert!(from_file.contains("max_memory_mb: must be from 1 to 2047 (MiB)"), "{from_file}");
    // The environment wins over the file: a good memory cap from it, and the file's bad
    // event timeout is reached next.
    let from_env = refusal(serve().env("INTEGRATIONS_HOST_MAX_MEMORY_MB", "64"));
    assert!(from_env.contains("event_timeout_s: must be at least 1"), "{from_env}");
    // The flag wins over both.
    let from_flag = refusal(
        serve()
            .env("INTEGRATIONS_HOST_MAX_MEMORY_MB", "64")
            .env("INTEGRATIONS_HOST_EVENT_TIMEOUT_S", "10")
            .args(["--max-memory-mb", "0"]),
    );
    assert!(from_flag.contains("max_memory_mb: must be from 1 to 2047 (MiB)"), "{from_flag}");
    let typo = refusal(binary().args(["serve", "--config"]).arg({
        let path = dir.path().join("typo.toml");
        std::fs::write(&path, "max_sandboxs = 3\n").unwrap();
        path
    }));
    assert!(typo.contains("unknown field `max_sandboxs`"), "{typo}");
}

/// A log written to a pipe or a file holds no ANSI escape codes (the human format colours
/// only a terminal).
#[test]
fn a_redirected_log_holds_no_escape_codes() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/db.sqlite", dir.path().display());
    let mut child = binary()
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &database, "--modules"])
        .arg(dir.path().join("modules"))
        .env("INTEGRATIONS_HOST_ADMIN_KEY", "k")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines, read) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !seen.iter().any(|line: &String| line.contains("serving")) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match read.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen.iter().any(|line| line.contains("serving")), "{seen:#?}");
    assert!(seen.iter().all(|line| !line.contains('\x1b')), "escape codes in a redirected log: {seen:#?}");
}

fn write_private(path: &std::path::Path, contents: &[u8]) {
    std::fs::write(path, contents).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

fn refusal(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(!output.status.success(), "it started: {}", String::from_utf8_lossy(&output.stdout));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn the_master_key_file_comes_from_the_flag_the_environment_or_the_config_and_rotation_moves_the_database() {
    use integrations_host::secrets::{Keyring, Scope};
    use integrations_host::store::Db;

    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/db.sqlite", dir.path().display());
    let (first, other, rotated) =
        (dir.path().join("first.key"), dir.path().join("other.key"), dir.path().join("rotated.key"));
    {
        let db = Db::connect(&database).await.unwrap();
        let keys = Keyring::open(&db, Some(&first)).await.unwrap();
        keys.data_key(Scope::Company(1)).await.unwrap();
    }
    write_private(&other, &[5u8; 32]);
    let serve = || {
        let mut command = binary();
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--database", &database])
            .env("INTEGRATIONS_HOST_ADMIN_KEY", "k");
        command
    };
    let other_name = other.display().to_string();
    let by_flag = refusal(serve().arg("--master-key-file").arg(&other));
    assert!(by_flag.contains(&other_name) && by_flag.contains("holds master key"), "{by_flag}");
    let by_env = refusal(serve().env("INTEGRATIONS_HOST_MASTER_KEY_FILE", &other));
    assert!(by_env.contains(&other_name), "{by_env}");
    let config = dir.path().join("host.toml");
    std::fs::write(&config, format!("master_key_file = {:?}\n", other_name)).unwrap();
    let by_config = refusal(serve().arg("--config").arg(&config));
    assert!(by_config.contains(&other_name), "{by_config}");
    let beside = refusal(&mut serve());
    let default_file = dir.path().join("master.key").display().to_string();
    assert!(beside.contains(&default_file) && beside.contains("does not exist"), "{beside}");

    let rotate = |old: &std::path::Path, new: &std::path::Path| {
        let mut command = binary();
        command.args(["rotate-master-key", "--database", &database]).arg("--old-key-file").arg(old);
        command.arg("--new-key-file").arg(new);
        command.output().unwrap()
    };
    let wrong_old = rotate(&other, &rotated);
    assert!(!wrong_old.status.success());
    assert!(String::from_utf8_lossy(&wrong_old.stderr).contains(&other_name));
    let done = rotate(&first, &rotated);
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert!(
        stdout.contains("Re-wrapped 1 data keys") && stdout.contains("Created the new master key file"),
        "{stdout}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&rotated).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let again = rotate(&first, &rotated);
    assert!(again.status.success() && String::from_utf8_lossy(&again.stdout).contains("Re-wrapped 0 data keys"));
    let old_key = refusal(serve().arg("--master-key-file").arg(&first));
    assert!(old_key.contains(&first.display().to_string()), "{old_key}");

    let nowhere = binary()
        .args(["rotate-master-key", "--database", &format!("sqlite://{}/none.sqlite", dir.path().display())])
        .arg("--old-key-file")
        .arg(&first)
        .arg("--new-key-file")
        .arg(&rotated)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&nowhere.stderr).contains("there is no database"));
}
