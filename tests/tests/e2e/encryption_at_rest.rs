//! Encryption at rest (API.md §1): no credential or endpoint secret can be read from the
//! database file or its WAL; the plain rows of an older version are sealed at the next start
//! and keep working; rotating the master key under load loses nothing; a wrong or missing key
//! refuses to start naming the file; a sealed value moved to another row does not open.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::Engine as _;
use e2e::event_receiver::{EventReceiver, ENDPOINT_SECRET};
use e2e::fake_mygateway::FakeMyGateway;
use e2e::host::{repo, send, HostOptions, TestHost, ADMIN_KEY};
use e2e::logs;
use e2e::scenario::{MyGatewayScenario, API_KEY, SECRET_KEY, WEBHOOK_SECRET};
use integrations_host::secrets::rotate_master_key;
use integrations_host::store::{credentials, Db};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

/// The value, and the ways a careless store would spell it: base64 (all alphabets, padded or
/// not) and hex.
fn spellings(value: &str) -> Vec<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let bytes = value.as_bytes();
    let mut out = vec![bytes.to_vec(), hex::encode(bytes).into_bytes(), hex::encode_upper(bytes).into_bytes()];
    out.extend([STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD].map(|e| e.encode(bytes).into_bytes()));
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

/// The database file and its WAL (when there is one), as they are on disk right now.
fn database_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    ["host.db", "host.db-wal"]
        .iter()
        .map(|name| dir.join(name))
        .filter(|path| path.exists())
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect()
}

fn assert_nowhere_on_disk(dir: &Path, values: &[&str], when: &str) {
    let files = database_files(dir);
    assert!(files.iter().any(|(path, _)| path.ends_with("host.db")), "{when}: no database file");
    for (path, bytes) in &files {
        for value in values {
            for spelling in spellings(value) {
                assert!(
                    !contains(bytes, &spelling),
                    "{when}: {} holds a credential value spelled {:?}",
                    path.display(),
                    String::from_utf8_lossy(&spelling)
                );
            }
        }
    }
}

/// A second connection to the host's database file, as an operator's `sqlite3` would open it.
async fn raw_database(dir: &Path) -> SqlitePool {
    let options = SqliteConnectOptions::new()
        .filename(dir.join("host.db"))
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .busy_timeout(std::time::Duration::from_secs(10));
    SqlitePool::connect_with(options).await.unwrap()
}

async fn add_endpoint(host: &TestHost, url: &str, company_id: Option<i64>) -> i64 {
    let (status, body) = send(host.admin(Method::POST, "/api/admin/event_endpoints").json(&json!({
        "url": url, "secret": ENDPOINT_SECRET, "company_id": company_id,
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_i64().unwrap()
}

/// Captures a new Redirect payment through a signed webhook; answers its transaction id.
async fn pay_and_capture(s: &MyGatewayScenario, document_id: i64) -> i64 {
    let id = s.initiate(json!("5.00"), "Redirect", document_id).await["transaction_id"].as_i64().unwrap();
    let session_id = s.session_id(id).await;
    let (status, body) = s.deliver("payment.completed", &session_id, Some(WEBHOOK_SECRET)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(s.host.transaction(id).await["state"], "Captured");
    id
}

fn assert_all_signed(receiver: &EventReceiver, at_least: usize) {
    let requests = receiver.requests();
    assert!(requests.len() >= at_least, "{requests:?}");
    assert!(requests.iter().all(|(_, valid, _)| *valid), "an event was signed with another secret: {requests:?}");
}

#[tokio::test]
async fn no_value_is_in_the_database_file_or_its_wal_while_serving_or_after_a_restart() {
    if e2e::database::on_postgres() {
        return; // The SQLite file and its WAL; PostgreSQL's files are the server's.
    }
    let (host_wide, company_wide) = (EventReceiver::start(0).await, EventReceiver::start(0).await);
    let s = MyGatewayScenario::start().await;
    add_endpoint(&s.host, &host_wide.url, None).await;
    add_endpoint(&s.host, &company_wide.url, Some(1)).await;
    pay_and_capture(&s, 1).await;
    let delivered = host_wide.wait_for_delivered(1).await.len();
    company_wide.wait_for_delivered(1).await;
    assert_all_signed(&host_wide, 1);
    assert_all_signed(&company_wide, 1);

    let dir = s.host.dir.clone();
    let values = [API_KEY, SECRET_KEY, WEBHOOK_SECRET, ENDPOINT_SECRET];
    // The search looks where the rows are: the sealed bytes are in the files it reads.
    let raw = raw_database(&dir).await;
    let sealed: Vec<Vec<u8>> = sqlx::query_scalar("SELECT sealed FROM credentials").fetch_all(&raw).await.unwrap();
    let wal = std::fs::read(dir.join("host.db-wal")).expect("the host runs in WAL mode");
    assert!(sealed.len() == 3 && sealed.iter().all(|s| contains(&wal, s)), "the WAL holds the credential rows");
    let plain: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM credentials WHERE value != '') + (SELECT count(*) FROM event_endpoints WHERE secret != '')",
    )
    .fetch_one(&raw)
    .await
    .unwrap();
    assert_eq!(plain, 0);
    let secret_flags: Vec<(String, i64)> =
        sqlx::query_as("SELECT name, secret FROM credentials ORDER BY name").fetch_all(&raw).await.unwrap();
    assert_eq!(
        secret_flags,
        [("mygateway_api_key".into(), 0), ("mygateway_secret_key".into(), 1), ("mygateway_webhook_secret".into(), 1)],
        "each row records whether it was stored as a secret"
    );
    raw.close().await;
    assert_nowhere_on_disk(&dir, &values, "while serving");

    let (fake, integration_id) = (s.fake.clone(), s.integration_id);
    let _kept = s.host.stop().await;
    assert_nowhere_on_disk(&dir, &values, "after stopping");
    let host = TestHost::start(HostOptions {
        dir: Some(dir.clone()),
        endpoints: vec![fake.endpoint_flag()],
        ..HostOptions::default()
    })
    .await;
    let s = MyGatewayScenario { host, fake, integration_id };
    pay_and_capture(&s, 2).await;
    host_wide.wait_for_delivered(delivered + 1).await;
    assert_all_signed(&host_wide, delivered + 1);
    assert_nowhere_on_disk(&dir, &values, "after a restart");
}

/// Creates a database as the version before encryption at rest left it: every migration
/// before `0006_encryption_at_rest.sql`, and plain rows written with SQL.
async fn database_of_the_previous_version(dir: &Path, endpoint_url: &str) -> i64 {
    let old_migrations = dir.join("old-migrations");
    std::fs::create_dir_all(&old_migrations).unwrap();
    for entry in std::fs::read_dir(repo().join("migrations/sqlite")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name.as_str() < "0006" {
            std::fs::copy(&path, old_migrations.join(&name)).unwrap();
        }
    }
    let raw = raw_database(dir).await;
    sqlx::migrate::Migrator::new(old_migrations.as_path()).await.unwrap().run(&raw).await.unwrap();
    let now = "2024-01-01T00:00:00.000Z";
    let integration_id: i64 = sqlx::query_scalar(
        "INSERT INTO integrations (company_id, module, name, integration_category, created_at, updated_at)
         VALUES (1, 'payment_mygateway', 'MyGateway', 'Online Payment', $1, $1) RETURNING id",
    )
    .bind(now)
    .fetch_one(&raw)
    .await
    .unwrap();
    for (name, value) in [
        ("mygateway_api_key", API_KEY),
        ("mygateway_secret_key", SECRET_KEY),
        ("mygateway_webhook_secret", WEBHOOK_SECRET),
    ] {
        sqlx::query(
            "INSERT INTO credentials (integration_id, company_id, name, value, updated_at) VALUES ($1, 1, $2, $3, $4)",
        )
        .bind(integration_id)
        .bind(name)
        .bind(value)
        .bind(now)
        .execute(&raw)
        .await
        .unwrap();
    }
    sqlx::query("INSERT INTO event_endpoints (url, secret, company_id, created_at) VALUES ($1, $2, NULL, $3)")
        .bind(endpoint_url)
        .bind(ENDPOINT_SECRET)
        .bind(now)
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;
    integration_id
}

#[tokio::test]
async fn a_database_of_the_previous_version_is_sealed_at_start_and_every_value_still_works() {
    if e2e::database::on_postgres() {
        return; // SQLite databases of the previous version; PostgreSQL starts sealed.
    }
    logs::capture();
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().to_path_buf();
    let receiver = EventReceiver::start(0).await;
    let integration_id = database_of_the_previous_version(&dir, &receiver.url).await;
    let values = [API_KEY, SECRET_KEY, WEBHOOK_SECRET, ENDPOINT_SECRET];
    let before: Vec<u8> = database_files(&dir).into_iter().flat_map(|(_, bytes)| bytes).collect();
    assert!(values.iter().all(|v| contains(&before, v.as_bytes())), "the old version stored plain values");
    assert!(!dir.join("master.key").exists());

    let fake = FakeMyGateway::start(SECRET_KEY).await;
    let options =
        HostOptions { dir: Some(dir.clone()), endpoints: vec![fake.endpoint_flag()], ..HostOptions::default() };
    let host = TestHost::start(options.clone()).await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("master.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the generated key file is private");
    }
    assert_nowhere_on_disk(&dir, &values, "after the first start of this version");
    let logged = logs::text();
    let key_file = dir.join("master.key").display().to_string();
    assert!(
        logged.lines().any(|l| l.contains("GENERATED A NEW MASTER KEY") && l.contains(&key_file)),
        "the new key is announced"
    );
    let key_hex = std::fs::read_to_string(dir.join("master.key")).unwrap();
    assert!(!logged.contains(key_hex.trim()), "the master key reached the log");

    // Every value works: the provider's enable check, a payment the fake gateway accepts only
    // with the secret key, a webhook signed with the webhook secret, events signed with the
    // endpoint's secret.
    let (status, body) = send(host.admin(Method::POST, &format!("/api/integrations/{integration_id}/enable"))).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Enabled")), "{body}");
    let s = MyGatewayScenario { host, fake, integration_id };
    pay_and_capture(&s, 1).await;
    receiver.wait_for_delivered(1).await;
    assert_all_signed(&receiver, 1);

    // A plain row appearing later (an older host still writing) is sealed at the next start,
    // and what was sealed before is left as it was.
    let _kept = s.host.stop().await;
    let raw = raw_database(&dir).await;
    sqlx::query("UPDATE credentials SET sealed = NULL, value = $1 WHERE name = 'mygateway_api_key'")
        .bind(API_KEY)
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;
    let host = TestHost::start(options).await;
    let stored = credentials::all(host.app.db.read(), &host.app.keys, integration_id).await.unwrap();
    let mut values_read: Vec<(&str, &str)> = stored.iter().map(|(name, c)| (name.as_str(), c.value.as_str())).collect();
    values_read.sort();
    assert_eq!(
        values_read,
        [
            ("mygateway_api_key", API_KEY),
            ("mygateway_secret_key", SECRET_KEY),
            ("mygateway_webhook_secret", WEBHOOK_SECRET)
        ]
    );
    assert_nowhere_on_disk(&dir, &values, "after the second start");
    let s = MyGatewayScenario { host, fake: s.fake, integration_id };
    pay_and_capture(&s, 2).await;
    let logged = logs::text();
    assert!(logged.contains("sealed the values stored in plain text"));
    // (The publishable API key is plain by design: other tests in this process may log it.)
    assert!(
        [SECRET_KEY, WEBHOOK_SECRET, ENDPOINT_SECRET].iter().all(|v| !logged.contains(v)),
        "a secret reached the log"
    );
}

#[tokio::test]
async fn rotating_the_master_key_while_credentials_are_written_and_webhooks_verified_loses_nothing() {
    const WRITES: usize = 120;
    const WEBHOOKS: usize = 120;
    let s = MyGatewayScenario::start().await;
    let dir = s.host.dir.clone();
    let (old_key, new_key) = (dir.join("master.key"), dir.join("rotated.key"));
    let id = s.initiate(json!("3.00"), "Redirect", 1).await["transaction_id"].as_i64().unwrap();
    let session_id = s.session_id(id).await;
    let s = Arc::new(s);

    let written = Arc::new(AtomicUsize::new(0));
    let (started, on_the_way) = tokio::sync::oneshot::channel::<()>();
    let writer = {
        let (s, written) = (s.clone(), written.clone());
        tokio::spawn(async move {
            let mut started = Some(started);
            for i in 0..WRITES {
                let path = format!("/api/integrations/{}/credentials", s.integration_id);
                let (status, body) = send(
                    s.host
                        .admin(Method::PUT, &path)
                        .json(&json!({ "mygateway_api_key": format!("pk_test_round_{i}") })),
                )
                .await;
                assert_eq!(status, StatusCode::OK, "write {i}: {body}");
                written.fetch_add(1, Ordering::SeqCst);
                if i == 10 {
                    if let Some(started) = started.take() {
                        let _ = started.send(());
                    }
                }
            }
        })
    };
    let verifier = {
        let s = s.clone();
        tokio::spawn(async move {
            for i in 0..WEBHOOKS {
                let (status, body) = s.deliver("payment.completed", &session_id, Some(WEBHOOK_SECRET)).await;
                assert_eq!(status, StatusCode::OK, "webhook {i}: {body}");
            }
        })
    };
    on_the_way.await.unwrap();
    let db = Db::connect(&e2e::database::url_for(&dir).await).await.unwrap();
    let report = rotate_master_key(&db, &old_key, &new_key).await.unwrap();
    let written_at_rotation = written.load(Ordering::SeqCst);
    assert_eq!(report.rewrapped, 1, "company 1's data key");
    assert!(report.created_new_key_file);
    writer.await.unwrap();
    verifier.await.unwrap();
    assert!(written_at_rotation < WRITES, "writes went on after the rotation committed");
    assert_eq!(s.host.transaction(id).await["state"], "Captured");

    // This host still runs with the old key: it cannot wrap a data key for a new company
    // (nobody could unwrap it after a restart), and says so.
    let key2 = s.host.company_key(2).await;
    let (status, created) = send(s.host.as_key(&key2, Method::POST, "/api/integrations").json(&json!({
        "company_id": 2, "module": "payment_mygateway", "name": "second company",
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let second = created["id"].as_i64().unwrap();
    let (status, body) = send(
        s.host
            .as_key(&key2, Method::PUT, &format!("/api/integrations/{second}/credentials"))
            .json(&json!({ "mygateway_secret_key": "sk_second_company" })),
    )
    .await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("master_key_rotated")));
    let (status, body) = send(
        s.host
            .admin(Method::POST, "/api/admin/event_endpoints")
            .json(&json!({ "url": "http://127.0.0.1:9/e", "secret": ENDPOINT_SECRET, "company_id": 3 })),
    )
    .await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("master_key_rotated")));

    let Ok(s) = Arc::try_unwrap(s) else { panic!("the load tasks ended") };
    let (fake, integration_id) = (s.fake.clone(), s.integration_id);
    let _kept = s.host.stop().await;
    let options = |key: &Path| HostOptions {
        dir: Some(dir.clone()),
        endpoints: vec![fake.endpoint_flag()],
        master_key_file: Some(key.to_path_buf()),
        ..HostOptions::default()
    };
    let refused = format!("{:#}", TestHost::try_start(options(&old_key)).await.err().expect("the old key is refused"));
    assert!(refused.contains(&old_key.display().to_string()), "{refused}");

    let host = TestHost::start(options(&new_key)).await;
    let stored = credentials::all(host.app.db.read(), &host.app.keys, integration_id).await.unwrap();
    assert_eq!(stored["mygateway_api_key"].value.as_str(), format!("pk_test_round_{}", WRITES - 1));
    assert_eq!(stored["mygateway_secret_key"].value.as_str(), SECRET_KEY);
    assert_eq!(stored["mygateway_webhook_secret"].value.as_str(), WEBHOOK_SECRET);
    assert!(
        credentials::all(host.app.db.read(), &host.app.keys, second).await.unwrap().is_empty(),
        "the 503 wrote nothing"
    );
    let s = MyGatewayScenario { host, fake, integration_id };
    let answer = s.initiate(json!("4.00"), "Embedded JS", 2).await;
    assert_eq!(answer["client_config"]["api_key"], format!("pk_test_round_{}", WRITES - 1));
    pay_and_capture(&s, 3).await;
    // The restarted host wraps new companies' keys under the new master key.
    let (status, body) = send(
        s.host
            .admin(Method::PUT, &format!("/api/integrations/{second}/credentials"))
            .json(&json!({ "mygateway_secret_key": "sk_second_company" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_missing_wrong_or_loose_master_key_refuses_to_start_naming_the_file() {
    let s = MyGatewayScenario::start().await;
    let (dir, fake, integration_id) = (s.host.dir.clone(), s.fake.clone(), s.integration_id);
    let _kept = s.host.stop().await;
    let key_file = dir.join("master.key");
    let right_key = std::fs::read(&key_file).unwrap();
    let options =
        HostOptions { dir: Some(dir.clone()), endpoints: vec![fake.endpoint_flag()], ..HostOptions::default() };
    let refusal = |options: HostOptions| async move {
        match TestHost::try_start(options).await {
            Ok(_) => panic!("the host started"),
            Err(error) => format!("{error:#}"),
        }
    };
    let write_key = |path: &Path, bytes: &[u8], mode: u32| {
        std::fs::write(path, bytes).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
    };

    std::fs::remove_file(&key_file).unwrap();
    let missing = refusal(options.clone()).await;
    assert!(missing.contains(&key_file.display().to_string()) && missing.contains("does not exist"), "{missing}");
    assert!(!key_file.exists(), "no new key replaces the lost one");

    write_key(&key_file, hex::encode([9u8; 32]).as_bytes(), 0o600);
    let wrong = refusal(options.clone()).await;
    assert!(wrong.contains(&key_file.display().to_string()) && wrong.contains("holds master key"), "{wrong}");

    let elsewhere = dir.join("other.key");
    write_key(&elsewhere, &[1u8; 32], 0o600);
    let named = refusal(HostOptions { master_key_file: Some(elsewhere.clone()), ..options.clone() }).await;
    assert!(named.contains(&elsewhere.display().to_string()), "{named}");

    #[cfg(unix)]
    {
        write_key(&key_file, &right_key, 0o644);
        let loose = refusal(options.clone()).await;
        assert!(loose.contains(&key_file.display().to_string()) && loose.contains("chmod 600"), "{loose}");
    }

    write_key(&key_file, &right_key, 0o600);
    let host = TestHost::start(options).await;
    let s = MyGatewayScenario { host, fake, integration_id };
    pay_and_capture(&s, 1).await;
}

#[tokio::test]
async fn a_sealed_value_copied_into_another_row_does_not_open_and_breaks_nothing_else() {
    let s = MyGatewayScenario::start().await;
    let credentials = json!({
        "mygateway_api_key": API_KEY, "mygateway_secret_key": SECRET_KEY, "mygateway_webhook_secret": WEBHOOK_SECRET,
    });
    let same_company = s.host.enabled_integration(ADMIN_KEY, 1, "payment_mygateway", credentials.clone()).await;
    let other_company = s.host.enabled_integration(ADMIN_KEY, 2, "payment_mygateway", credentials).await;

    // The same plaintext, sealed for integration A's row, pasted into B's and C's rows.
    for target in [same_company, other_company] {
        let moved = e2e::host::write_db(&s.host.app.db, async |c| {
            sqlx::query(
                "UPDATE credentials SET sealed = (SELECT sealed FROM credentials WHERE integration_id = $1 AND name = 'mygateway_secret_key')
                 WHERE integration_id = $2 AND name = 'mygateway_secret_key'",
            )
            .bind(s.integration_id)
            .bind(target)
            .execute(c)
            .await
        })
        .await;
        assert_eq!(moved.rows_affected(), 1);
    }

    for target in [same_company, other_company] {
        let (status, body) = send(s.host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
            "integration_id": target, "amount": "1.00", "currency": "USD", "document_model": "Invoice",
            "document_id": target, "return_url": "https://erp.example/return",
        })))
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::INTERNAL_SERVER_ERROR, Some("credential_unreadable"))
        );
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("`mygateway_secret_key`") && message.contains(&format!("integration {target}")),
            "{message}"
        );
        assert!(!body.to_string().contains(SECRET_KEY));
        // The integration itself is still readable, and shows the credential as set.
        let (status, view) = send(s.host.admin(Method::GET, &format!("/api/integrations/{target}"))).await;
        assert_eq!(status, StatusCode::OK, "{view}");
    }
    // Integration A, whose row the value came from, still works.
    pay_and_capture(&s, 1).await;

    // Setting the value again repairs B.
    let (status, _) = send(
        s.host
            .admin(Method::PUT, &format!("/api/integrations/{same_company}/credentials"))
            .json(&json!({ "mygateway_secret_key": SECRET_KEY })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = send(s.host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
        "integration_id": same_company, "amount": "1.00", "currency": "USD", "document_model": "Invoice",
        "document_id": 9, "return_url": "https://erp.example/return",
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn an_endpoint_secret_copied_into_another_endpoint_fails_only_that_endpoints_deliveries() {
    let (intact, tampered) = (EventReceiver::start(0).await, EventReceiver::start(0).await);
    let s = MyGatewayScenario::start().await;
    let source = add_endpoint(&s.host, &intact.url, None).await;
    let target = add_endpoint(&s.host, &tampered.url, Some(1)).await;
    e2e::host::write_db(&s.host.app.db, async |c| {
        sqlx::query("UPDATE event_endpoints SET sealed_secret = (SELECT sealed_secret FROM event_endpoints WHERE id = $1) WHERE id = $2")
            .bind(source)
            .bind(target)
            .execute(c)
            .await
    })
    .await;

    pay_and_capture(&s, 1).await;
    let delivered = intact.wait_for_delivered(1).await;
    assert_all_signed(&intact, 1);
    let event_id = delivered[0]["id"].as_i64().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let attempt = loop {
        let (_, event) = send(s.host.admin(Method::GET, &format!("/api/admin/events/{event_id}"))).await;
        let found = event["attempts"].as_array().unwrap().iter().find(|a| a["endpoint_id"] == target).cloned();
        if let Some(attempt) = found {
            break attempt;
        }
        assert!(std::time::Instant::now() < deadline, "no attempt for the tampered endpoint: {event}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(attempt["succeeded"], false);
    let error = attempt["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("the secret of event endpoint {target}")) && error.contains("cannot be decrypted"),
        "{error}"
    );
    assert!(tampered.requests().is_empty(), "nothing is sent unsigned or signed with another secret");
}
