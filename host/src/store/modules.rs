//! Every module version the host has loaded, with its component bytes and hash.

use super::{now, DbResult, Exec};

/// Records a loaded version; loading the same version again replaces its record.
pub async fn record<'e>(
    exec: impl Exec<'e>,
    identifier: &str,
    version: &str,
    manifest_json: &str,
    sha256: &str,
    component: &[u8],
) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO modules (identifier, version, manifest, sha256, component, installed_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (identifier, version) DO UPDATE SET manifest = excluded.manifest, sha256 = excluded.sha256, component = excluded.component",
    )
    .bind(identifier)
    .bind(version)
    .bind(manifest_json)
    .bind(sha256)
    .bind(component)
    .bind(now())
    .execute(exec)
    .await?;
    Ok(())
}
