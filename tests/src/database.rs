//! Which database a test host uses: SQLite (a file in the host's folder) unless its folder
//! names a PostgreSQL database or `E2E_DATABASE=postgres`, then a database of its own on the
//! machine's PostgreSQL (127.0.0.1:5432, trust auth), created on first use and named in the
//! folder, so a host restarted on the same folder finds the same database. `cargo xtask test`
//! drops every `e2e_…` database before and after the PostgreSQL run.

use std::path::Path;

/// The maintenance connection test databases are created through.
pub const POSTGRES_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Set to `postgres` to run the suite on PostgreSQL.
pub const BACKEND_VAR: &str = "E2E_DATABASE";
/// The file in a host's folder naming its PostgreSQL database.
const NAMED: &str = "postgres-database";

pub fn on_postgres() -> bool {
    std::env::var(BACKEND_VAR).is_ok_and(|value| value == "postgres")
}

/// The `--database` URL of the host serving `dir`: the PostgreSQL database the folder names
/// (whatever `E2E_DATABASE` says), else a new one under `E2E_DATABASE=postgres`, else SQLite.
pub async fn url_for(dir: &Path) -> String {
    let named = dir.join(NAMED);
    let name = match std::fs::read_to_string(&named) {
        Ok(name) => name.trim().to_string(),
        Err(_) if !on_postgres() => return format!("sqlite://{}", dir.join("host.db").display()),
        Err(_) => {
            let name =
                format!("e2e_{}", integrations_host::services::random_token(12).to_lowercase().replace('-', "_"));
            create_in(dir, &name).await;
            name
        }
    };
    format!("postgres://postgres@127.0.0.1:5432/{name}")
}

/// Creates the PostgreSQL database `name` (lower-case letters, digits and `_`) and names it
/// in `dir`, so a host serving `dir` uses it.
pub async fn create_in(dir: &Path, name: &str) {
    admin(&format!("CREATE DATABASE {name}")).await;
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(NAMED), name).unwrap();
}

/// Drops the PostgreSQL database `name` if it exists, closing whatever is still connected.
pub async fn drop_database(name: &str) {
    admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
}

/// Makes `into` a host folder on the database of the host in `dir`, with the same master key.
pub fn share(dir: &Path, into: &Path) {
    std::fs::create_dir_all(into).unwrap();
    for shared in [NAMED, "master.key"] {
        std::fs::copy(dir.join(shared), into.join(shared)).unwrap();
    }
}

async fn admin(statement: &str) {
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    let mut admin = sqlx::AnyConnection::connect(POSTGRES_ADMIN_URL).await.expect("PostgreSQL on 127.0.0.1:5432");
    sqlx::query(statement).execute(&mut admin).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
}
