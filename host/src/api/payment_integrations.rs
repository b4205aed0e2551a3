//! The ERP's payment page asks which payment integrations to offer (filtered by the modules'
//! capabilities) and, for a gateway's script, an integration's client configuration.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::capabilities::Capabilities;
use crate::domain::manifest::IntegrationCategory;
use crate::domain::money::{Currency, Money as Amount};
use crate::services::online_payment::parse_currency;
use crate::services::{App, Caller, ServiceError};

use super::extract::{ApiQuery, Id};
use super::openapi::errors::{
    Auth, CompanyScope, Errors, Gateway, InitiateRules, IntegrationFilter, Money, NotFound, PathId, Provider,
    QueryInput, Secrets,
};
use super::views::{ClientConfig, PaymentIntegration};
use super::ApiError;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CompanyQuery {
    /// Only this company's (a company key sees only its own).
    #[serde(default, deserialize_with = "crate::services::json_integer::query_optional")]
    company_id: Option<i64>,
    /// Only integrations whose module takes this ISO 4217 currency.
    #[param(pattern = "^[A-Za-z]{3}$", example = "USD")]
    currency: Option<String>,
    /// Only integrations whose module takes payments from this ISO 3166-1 alpha-2 country.
    #[param(pattern = "^[A-Za-z]{2}$", example = "US")]
    country: Option<String>,
    /// Only integrations whose module takes this amount, in `currency`'s unit (needs
    /// `currency`).
    #[param(pattern = r"^([0-9]*[1-9][0-9]*(\.[0-9]+)?|[0-9]+\.[0-9]*[1-9][0-9]*)$", example = "19.99")]
    amount: Option<String>,
}

/// What the integrations list keeps: the modules whose capabilities take `currency` (and
/// `amount_minor` in it) and `country`, each as given.
struct CapabilityFilter {
    currency: Option<Currency>,
    amount_minor: Option<i64>,
    country: Option<String>,
}

impl CapabilityFilter {
    fn of(query: &CompanyQuery) -> Result<Self, ServiceError> {
        let country = match query.country.as_deref() {
            Some(code) if code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()) => {
                Some(code.to_ascii_uppercase())
            }
            Some(code) => {
                return Err(ServiceError::invalid(
                    "invalid_country",
                    format!("country: `{code}` is not an ISO 3166-1 alpha-2 code such as \"US\"."),
                ))
            }
            None => None,
        };
        let currency = query.currency.as_deref().map(parse_currency).transpose()?;
        let amount_minor = match (query.amount.as_deref(), currency) {
            (Some(text), Some(currency)) => Some(
                Amount::parse(text, currency)
                    .map_err(|e| ServiceError::invalid("invalid_amount", format!("amount: {e}.")))?
                    .minor,
            ),
            (Some(_), None) => {
                return Err(ServiceError::invalid("missing_currency", "amount needs currency, the unit it is in."))
            }
            (None, _) => None,
        };
        Ok(Self { currency, amount_minor, country })
    }

    fn keeps(&self, capabilities: &Capabilities) -> bool {
        let country = self.country.as_deref();
        match self.currency {
            Some(currency) => capabilities.accepts(currency, self.amount_minor, country).is_ok(),
            None => capabilities.accepts_country(country),
        }
    }
}

/// Enabled payment integrations in `payment_sequence` order, for a payment page; with
/// `currency`, `amount` or `country`, only those whose module's capabilities take them.
#[utoipa::path(
    get,
    path = "/api/online_payment/integrations",
    operation_id = "list_payment_integrations",
    tag = "online payment",
    params(CompanyQuery),
    security(("admin_key" = []), ("company_key" = [])),
    responses(
        (status = 200, description = "The enabled payment integrations.", body = Vec<PaymentIntegration>),
        Errors<(Auth, QueryInput, CompanyScope, Money, IntegrationFilter)>,
    ),
)]
pub async fn integrations(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<CompanyQuery>,
) -> Result<Json<Vec<PaymentIntegration>>, ApiError> {
    let filter = CapabilityFilter::of(&query)?;
    let rows =
        app.list_integrations(caller, query.company_id, Some(IntegrationCategory::OnlinePayment.as_str())).await?;
    let listed = rows
        .iter()
        .filter(|row| row.is_enabled())
        .filter_map(|row| app.registry.get(&row.module).map(|module| (row, module)))
        .filter(|(_, module)| filter.keeps(module.manifest.capabilities()))
        .map(|(row, module)| PaymentIntegration {
            id: row.id,
            display_name: row.payment_display_name.clone().unwrap_or_else(|| row.name.clone()),
            integration_type: row.payment_integration_type.clone(),
            module: row.module.clone(),
            image: module.manifest.image.clone(),
            test_mode: row.test_mode(),
            company_id: row.company_id,
            payment_sequence: row.payment_sequence,
        })
        .collect();
    Ok(Json(listed))
}

/// The provider's client configuration of a payment integration: what the ERP's payment page
/// needs to load the gateway's script before a payment exists (a publishable key, the
/// script's URL; never a secret, which never enters a provider).
#[utoipa::path(
    get,
    path = "/api/online_payment/integrations/{id}/client_config",
    operation_id = "show_client_config",
    tag = "online payment",
    params(("id" = i64, Path, example = 1, description = "The integration's id.")),
    security(("admin_key" = []), ("company_key" = [])),
    responses(
        (status = 200, description = "The configuration, a JSON object the provider chose.", body = ClientConfig),
        Errors<(Auth, PathId, NotFound, InitiateRules, Provider, Gateway, Secrets)>,
    ),
)]
pub async fn client_config(
    State(app): State<Arc<App>>,
    caller: Caller,
    Id(id): Id,
) -> Result<Json<ClientConfig>, ApiError> {
    let client_config = app.client_config(caller, id).await?;
    Ok(Json(ClientConfig { integration_id: id, client_config }))
}
