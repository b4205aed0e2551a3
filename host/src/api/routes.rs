//! Every route of the API in one table. The router is built from it, each route with its body
//! limit, and [`routes`] lists it (path, method, limit) so a test can walk every route: a route
//! added here without a test case fails that test.

use std::sync::Arc;

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{on, MethodFilter};
use axum::Router;

use super::body_limit::BodyLimit;
use super::{
    api_keys, events, integrations, messaging, module_upload, modules, online_payment, openapi, ops, pay_page, payer,
    payment_integrations, payment_links, payment_operations, saved_methods, webhooks,
};
use crate::services::App;

/// One method of one route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// The path as axum matches it, parameters in braces: `/api/integrations/{id}`.
    pub path: &'static str,
    pub method: Method,
    /// The most this route reads from a request body, in bytes.
    pub body_limit: usize,
}

/// The router being built, and what went into it.
#[derive(Default)]
pub(super) struct RouteTable {
    pub router: Router<Arc<App>>,
    pub listed: Vec<RouteInfo>,
}

impl RouteTable {
    fn add<H, T>(mut self, method: Method, path: &'static str, limit: BodyLimit, handler: H) -> Self
    where
        H: Handler<T, Arc<App>>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a method axum routes");
        // Routes on one path merge into one method router (axum panics on a repeated method).
        self.router = self.router.route(path, limit.apply(on(filter, handler)));
        self.listed.push(RouteInfo { path, method, body_limit: limit.0 });
        self
    }

    fn get<H: Handler<T, Arc<App>>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add(Method::GET, path, BodyLimit::DEFAULT, handler)
    }

    fn post<H: Handler<T, Arc<App>>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add(Method::POST, path, BodyLimit::DEFAULT, handler)
    }

    fn put<H: Handler<T, Arc<App>>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add(Method::PUT, path, BodyLimit::DEFAULT, handler)
    }

    fn patch<H: Handler<T, Arc<App>>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add(Method::PATCH, path, BodyLimit::DEFAULT, handler)
    }

    fn delete<H: Handler<T, Arc<App>>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add(Method::DELETE, path, BodyLimit::DEFAULT, handler)
    }
}

pub(super) fn table() -> RouteTable {
    RouteTable::default()
        .get("/healthz", ops::healthz)
        .get("/readyz", ops::readyz)
        .get("/metrics", ops::metrics)
        .get("/api/openapi.json", openapi::openapi_json)
        .post("/api/admin/api_keys", api_keys::create)
        .get("/api/events", events::pull)
        .post("/api/admin/event_endpoints", events::add_endpoint)
        .get("/api/admin/events/{id}", events::show)
        .post("/api/admin/events/{id}/redeliver", events::redeliver)
        .get("/api/modules", modules::list)
        .get("/api/modules/{identifier}/versions", modules::versions)
        .add(Method::POST, "/api/admin/modules", BodyLimit::UPLOAD, module_upload::install)
        .post("/api/admin/modules/{identifier}/activate", modules::activate)
        .delete("/api/admin/modules/{identifier}", modules::uninstall)
        .post("/api/integrations", integrations::create)
        .get("/api/integrations", integrations::list)
        .get("/api/integrations/{id}", integrations::show)
        .patch("/api/integrations/{id}", integrations::patch)
        .delete("/api/integrations/{id}", integrations::delete)
        .put("/api/integrations/{id}/credentials", integrations::set_credentials)
        .post("/api/integrations/{id}/enable", integrations::enable)
        .get("/api/integrations/{id}/mappings", integrations::mappings)
        .get("/api/integrations/{id}/webhooks", integrations::webhooks)
        .post("/api/admin/integrations/{id}/sync", integrations::sync_now)
        .post("/api/integrations/{id}/disable", integrations::disable)
        .get("/api/online_payment/integrations", payment_integrations::integrations)
        .get("/api/online_payment/integrations/{id}/client_config", payment_integrations::client_config)
        .post("/api/online_payment/initiate", online_payment::initiate)
        .get("/api/online_payment/transaction/{id}", online_payment::transaction)
        .post("/api/online_payment/transaction/{id}/refund", online_payment::refund)
        .post("/api/online_payment/transaction/{id}/capture", payment_operations::capture)
        .post("/api/online_payment/transaction/{id}/void", payment_operations::void)
        .get("/api/online_payment/payment_methods", saved_methods::list)
        .delete("/api/online_payment/payment_methods/{id}", saved_methods::delete)
        .post("/api/online_payment/charge", saved_methods::charge)
        .post("/api/online_payment/transaction/{id}/sync", online_payment::sync)
        .get("/api/online_payment/payments", online_payment::payments)
        .post("/api/online_payment/links", payment_links::create)
        .get("/api/online_payment/links", payment_links::list)
        .get("/api/online_payment/links/{id}", payment_links::show)
        .post("/api/online_payment/links/{id}/revoke", payment_links::revoke)
        .get("/pay/{token}", pay_page::show)
        .post("/pay/{token}", pay_page::choose)
        .get("/api/online_payment/return", payer::returned)
        .get("/api/online_payment/cancel", payer::cancelled)
        .post("/payment/webhook/{integration_id}", webhooks::payment)
        .post("/api/messaging/send", messaging::send)
        .get("/api/messaging/messages", messaging::list)
        .get("/api/messaging/messages/{id}", messaging::show)
        .post("/messaging/webhook/{integration_id}", messaging::webhook)
}

/// Every route the router serves, one entry per method.
pub fn routes() -> Vec<RouteInfo> {
    table().listed
}
