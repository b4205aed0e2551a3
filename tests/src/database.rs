//! Which database a test host uses: SQLite (a file in the host's folder) unless
//! `E2E_DATABASE=postgres`, then a database of its own on the machine's PostgreSQL
//! (127.0.0.1:5432, trust auth), created on first use and named in the folder, so a host
//! restarted on the same folder finds the same database. `cargo xtask test` drops every
//! `e2e_…` database before and after the PostgreSQL run.

use std::path::Path;

/// The maintenance connection test databases are created through.
pub const POSTGRES_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Set to `postgres` to run the suite on PostgreSQL.
pub const BACKEND_VAR: &str = "E2E_DATABASE";

pub fn on_postgres() -> bool {
    std::env::var(BACKEND_VAR).is_ok_and(|value| value == "postgres")
}

/// The `--database` URL of the host serving `dir`.
pub async fn url_for(dir: &Path) -> String {
    if !on_postgres() {
        return format!("sqlite://{}", dir.join("host.db").display());
    }
    let named = dir.join("postgres-database");
    let name = match std::fs::read_to_string(&named) {
        Ok(name) => name.trim().to_string(),
        Err(_) => {
            let name =
                format!("e2e_{}", integrations_host::services::random_token(12).to_lowercase().replace('-', "_"));
            create(&name).await;
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(&named, &name).unwrap();
            name
        }
    };
    format!("postgres://postgres@127.0.0.1:5432/{name}")
}

async fn create(name: &str) {
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    let mut admin = sqlx::AnyConnection::connect(POSTGRES_ADMIN_URL).await.expect("PostgreSQL on 127.0.0.1:5432");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("CREATE DATABASE");
}
