//! The module manifest (API.md §2): the seed's manifest fields plus a `runtime` section.
//! [`Manifest::parse`] reads YAML and validates every rule, naming the field at fault.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::allowed_hosts::AllowedHosts;
use super::capabilities::Capabilities;
pub use super::contract::{ContractVersion, WIT_PACKAGE};
use super::credential_pattern::CredentialPattern;
use super::host_pattern::{check_dns_name, HostPattern};

/// The only `category` an integration module may have.
pub const MODULE_CATEGORY: &str = "module_category_integrations";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub identifier: String,
    pub version: String,
    pub category: String,
    pub integration_category: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub dependencies: Vec<String>,
    #[serde(default)]
    pub icon: Option<String>,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub static_paths: Vec<String>,
    pub runtime: Runtime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runtime {
    /// File name of the component inside the module folder.
    pub component: String,
    /// The WIT world the component targets, e.g. `integrations:provider/payment-provider@1.0.0`.
    pub world: String,
    #[serde(default)]
    pub endpoints: BTreeMap<String, Endpoint>,
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    #[serde(default)]
    pub integration_types: Vec<String>,
    #[serde(default)]
    pub credentials: Vec<CredentialField>,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub sync_interval_s: Option<u64>,
    /// What a payment module can do (`super::capabilities`); absent: the defaults there.
    #[serde(default)]
    pub capabilities: Option<Capabilities>,
}

/// A named base URL; `test` is used in Test mode when given.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub live: String,
    #[serde(default)]
    pub test: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialField {
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub hint: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub secret: bool,
    /// The value's shape, checked by the host (see [`CredentialPattern`]).
    #[serde(default)]
    pub pattern: Option<CredentialPattern>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub memory_mb: Option<u64>,
    pub call_timeout_ms: Option<u64>,
}

/// The host's categories (the seed's `integration_category` selection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum IntegrationCategory {
    #[serde(rename = "Online Payment")]
    OnlinePayment,
    Messaging,
    Shipping,
}

impl IntegrationCategory {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "Online Payment" => Some(Self::OnlinePayment),
            "Messaging" => Some(Self::Messaging),
            "Shipping" => Some(Self::Shipping),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnlinePayment => "Online Payment",
            Self::Messaging => "Messaging",
            Self::Shipping => "Shipping",
        }
    }

    /// The backbone module a provider of this category must depend on.
    pub fn backbone(self) -> &'static str {
        match self {
            Self::OnlinePayment => "online_payment",
            Self::Messaging => "messaging",
            Self::Shipping => "shipping",
        }
    }

    /// The WIT world providers of this category implement; none for reserved categories.
    pub fn world(self) -> Option<&'static str> {
        match self {
            Self::OnlinePayment => Some("payment-provider"),
            Self::Messaging => Some("messaging-provider"),
            Self::Shipping => None,
        }
    }
}

/// The seed's payment integration types.
pub const INTEGRATION_TYPES: [&str; 3] = ["Redirect", "Embedded JS", "QR Code"];

/// One rule a manifest breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestProblem {
    pub field: String,
    pub reason: String,
}

impl fmt::Display for ManifestProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// Everything wrong with a manifest, each naming its field.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid manifest: {}", .problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct ManifestError {
    pub problems: Vec<ManifestProblem>,
}

impl ManifestError {
    fn one(field: &str, reason: impl Into<String>) -> Self {
        Self { problems: vec![ManifestProblem { field: field.into(), reason: reason.into() }] }
    }
}

/// A module version: dot-separated numbers ("1.0", "2.1.3"), compared numerically.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ModuleVersion(Vec<u64>);

impl ModuleVersion {
    pub fn parse(text: &str) -> Option<Self> {
        let parts: Option<Vec<u64>> = text.split('.').map(|p| p.parse().ok()).collect();
        let mut parts = parts?;
        while parts.len() > 1 && parts.last() == Some(&0) {
            parts.pop();
        }
        Some(Self(parts))
    }
}

impl Manifest {
    /// Parses and validates a manifest.
    pub fn parse(yaml: &str) -> Result<Self, ManifestError> {
        super::manifest_ceilings::check_manifest_text(yaml).map_err(|reason| ManifestError::one("manifest", reason))?;
        let manifest: Manifest = serde_yaml::from_str(yaml).map_err(|e| {
            let reason = e.to_string();
            let field = reason.split(':').next().filter(|f| !f.contains(' ')).unwrap_or("manifest");
            ManifestError::one(field, reason.clone())
        })?;
        manifest.validate()?;
        Ok(manifest)
    }

    pub fn category(&self) -> IntegrationCategory {
        IntegrationCategory::parse(&self.integration_category).expect("validated")
    }

    pub fn parsed_version(&self) -> ModuleVersion {
        ModuleVersion::parse(&self.version).expect("validated")
    }

    /// What the module can do: its declaration, or the defaults.
    pub fn capabilities(&self) -> &Capabilities {
        static DEFAULT: std::sync::LazyLock<Capabilities> = std::sync::LazyLock::new(Capabilities::default);
        self.runtime.capabilities.as_ref().unwrap_or(&DEFAULT)
    }

    pub fn credential(&self, name: &str) -> Option<&CredentialField> {
        self.runtime.credentials.iter().find(|c| c.name == name)
    }

    /// The contract version the manifest's world names (validated: one this host runs).
    pub fn contract_version(&self) -> ContractVersion {
        let world = self.category().world().expect("validated");
        ContractVersion::of_qualified(&self.runtime.world, world).expect("validated")
    }

    /// The contract version the world names, when it names one this host runs.
    fn world_version(&self) -> Option<ContractVersion> {
        ContractVersion::of_qualified(&self.runtime.world, IntegrationCategory::OnlinePayment.world()?)
    }

    fn validate(&self) -> Result<(), ManifestError> {
        let mut problems = Vec::new();
        let mut problem = |field: &str, reason: String| problems.push(ManifestProblem { field: field.into(), reason });

        if self.name.trim().is_empty() {
            problem("name", "must not be empty".into());
        }
        if !is_identifier(&self.identifier) {
            problem(
                "identifier",
                format!(
                    "`{}` must be lower-case letters, digits and `_`, starting with a letter, at most 64 characters",
                    self.identifier
                ),
            );
        }
        if ModuleVersion::parse(&self.version).is_none() {
            problem("version", format!("`{}` must be dot-separated numbers such as '1.0'", self.version));
        }
        if self.category != MODULE_CATEGORY {
            problem("category", format!("must be `{MODULE_CATEGORY}`, not `{}`", self.category));
        }
        match IntegrationCategory::parse(&self.integration_category) {
            None => problem(
                "integration_category",
                format!(
                    "`{}` is not a category of this host (Online Payment, Messaging, Shipping)",
                    self.integration_category
                ),
            ),
            Some(category) => {
                if !self.dependencies.iter().any(|d| d == category.backbone()) {
                    problem(
                        "dependencies",
                        format!("must include `{}`, the backbone of {}", category.backbone(), category.as_str()),
                    );
                }
                match category.world() {
                    None => problem(
                        "integration_category",
                        format!("{} is reserved: this host has no provider world for it yet", category.as_str()),
                    ),
                    Some(world) => {
                        if ContractVersion::of_qualified(&self.runtime.world, world).is_none() {
                            let expected: Vec<String> =
                                ContractVersion::ALL.iter().map(|v| format!("`{}`", v.qualified(world))).collect();
                            problem(
                                "runtime.world",
                                format!(
                                    "`{}` does not match {}; expected {}",
                                    self.runtime.world,
                                    category.as_str(),
                                    expected.join(" or ")
                                ),
                            );
                        }
                    }
                }
                if category == IntegrationCategory::OnlinePayment {
                    if self.runtime.integration_types.is_empty() {
                        problem(
                            "runtime.integration_types",
                            format!("must list at least one of {INTEGRATION_TYPES:?}"),
                        );
                    }
                    for kind in &self.runtime.integration_types {
                        if !INTEGRATION_TYPES.contains(&kind.as_str()) {
                            problem(
                                "runtime.integration_types",
                                format!("`{kind}` is not one of {INTEGRATION_TYPES:?}"),
                            );
                        }
                    }
                }
            }
        }
        let component = &self.runtime.component;
        if !component.ends_with(".wasm") || component.contains(['/', '\\']) || component.starts_with('.') {
            problem(
                "runtime.component",
                format!("`{component}` must be a file name ending in .wasm, inside the module folder"),
            );
        }
        for host in &self.runtime.allowed_hosts {
            if let Err(reason) = HostPattern::parse(host) {
                problem("runtime.allowed_hosts", reason);
            }
        }
        let allowed = AllowedHosts::from_manifest(&self.runtime.allowed_hosts);
        for (name, endpoint) in &self.runtime.endpoints {
            let urls = [("live", Some(&endpoint.live)), ("test", endpoint.test.as_ref())];
            for (mode, url) in urls {
                let Some(url) = url else { continue };
                let field = format!("runtime.endpoints.{name}.{mode}");
                match url::Url::parse(url) {
                    Ok(parsed) if parsed.scheme() == "https" => match parsed.host() {
                        Some(url::Host::Domain(host)) => {
                            if let Err(reason) = check_dns_name(host) {
                                problem(&field, format!("host `{host}` {reason}"));
                            } else if !allowed.allows(&parsed) {
                                problem(&field, format!("host `{host}` is not in runtime.allowed_hosts"));
                            }
                        }
                        _ => problem(
                            &field,
                            format!("`{url}` must name a DNS host; only an operator's --endpoint may name an address"),
                        ),
                    },
                    _ => problem(&field, format!("`{url}` is not an https URL")),
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (index, credential) in self.runtime.credentials.iter().enumerate() {
            let field = format!("runtime.credentials[{index}].name");
            if !is_identifier(&credential.name) {
                problem(&field, format!("`{}` must be lower-case letters, digits and `_`", credential.name));
            }
            if !seen.insert(credential.name.as_str()) {
                problem(&field, format!("`{}` is declared twice", credential.name));
            }
            if credential.description.trim().is_empty() {
                problem(&format!("runtime.credentials[{index}].description"), "must not be empty".into());
            }
            for reason in credential.pattern.iter().flat_map(CredentialPattern::problems) {
                problem(&format!("runtime.credentials[{index}].pattern"), reason);
            }
        }
        if self.runtime.limits.memory_mb == Some(0) {
            problem("runtime.limits.memory_mb", "must be at least 1".into());
        }
        if self.runtime.limits.call_timeout_ms == Some(0) {
            problem("runtime.limits.call_timeout_ms", "must be at least 1".into());
        }
        if matches!(self.runtime.sync_interval_s, Some(s) if s < 60) {
            problem("runtime.sync_interval_s", "must be at least 60 seconds".into());
        }
        if let Some(capabilities) = &self.runtime.capabilities {
            if IntegrationCategory::parse(&self.integration_category) == Some(IntegrationCategory::OnlinePayment) {
                if let Some(version) = self.world_version() {
                    problems.extend(capabilities.problems(version));
                }
            } else {
                problem("runtime.capabilities", "only an Online Payment module declares capabilities".into());
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ManifestError { problems })
        }
    }
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some('a'..='z'))
        && text.len() <= 64
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const MYGATEWAY: &str = include_str!("../../../manifests/payment_mygateway.yaml");

    fn with(replace: &str, by: &str) -> Result<Manifest, ManifestError> {
        assert!(MYGATEWAY.contains(replace), "fixture lacks {replace:?}");
        Manifest::parse(&MYGATEWAY.replace(replace, by))
    }

    fn fields(result: Result<Manifest, ManifestError>) -> Vec<String> {
        result.unwrap_err().problems.into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn the_shipped_mygateway_manifest_is_valid() {
        let manifest = Manifest::parse(MYGATEWAY).unwrap();
        assert_eq!(manifest.identifier, "payment_mygateway");
        assert_eq!(manifest.category(), IntegrationCategory::OnlinePayment);
        assert!(manifest.credential("mygateway_secret_key").unwrap().secret);
    }

    #[test]
    fn problems_name_their_field() {
        assert_eq!(
            fields(with("integration_category: Online Payment", "integration_category: Telepathy")),
            ["integration_category"]
        );
        assert_eq!(fields(with("- online_payment", "- messaging")), ["dependencies"]);
        assert_eq!(fields(with("payment-provider@1.0.0", "messaging-provider@1.0.0")), ["runtime.world"]);
        assert_eq!(fields(with("payment-provider@1.0.0", "payment-provider@1.2.0")), ["runtime.world"]);
        assert_eq!(fields(with("category: module_category_integrations", "category: other")), ["category"]);
        assert_eq!(fields(with("version: '1.0'", "version: 'one'")), ["version"]);
        assert_eq!(fields(with("component: payment_mygateway.wasm", "component: ../x.wasm")), ["runtime.component"]);
        assert_eq!(
            fields(with("allowed_hosts: [api.mygateway.com]", "allowed_hosts: [other.example.com]")),
            ["runtime.endpoints.api.live"]
        );
    }

    #[test]
    fn the_world_names_a_contract_version_this_host_runs() {
        assert_eq!(Manifest::parse(MYGATEWAY).unwrap().contract_version(), ContractVersion::V1_0);
        let preview = with("payment-provider@1.0.0", "payment-provider@1.1.0").unwrap();
        assert_eq!(preview.contract_version(), ContractVersion::V1_1);
        let error = with("payment-provider@1.0.0", "payment-provider@2.0.0").unwrap_err().to_string();
        assert!(error.contains("expected `integrations:provider/payment-provider@1.0.0` or `integrations:provider/payment-provider@1.1.0`"), "{error}");
    }

    #[test]
    fn unknown_fields_are_refused_by_name() {
        let error = with("  allowed_hosts:", "  alowed_hosts: [x]\n  allowed_hosts:").unwrap_err();
        assert!(error.to_string().contains("alowed_hosts"), "{error}");
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(ModuleVersion::parse("1.10").unwrap() > ModuleVersion::parse("1.9").unwrap());
        assert_eq!(ModuleVersion::parse("1.0"), ModuleVersion::parse("1"));
        assert_eq!(ModuleVersion::parse("1.x"), None);
    }
}
