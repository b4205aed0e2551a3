//! `GET /api/openapi.json` (issue 12, point 2): the document the host serves is OpenAPI 3.1,
//! names exactly the routes of the router (`integrations_host::api::routes()`), resolves every
//! `$ref`, says each route's auth, and describes what the host really answers: real answers of
//! a payment's life are checked against the schemas the document gives for their status.

use std::collections::BTreeSet;

use e2e::host::{send, HostOptions, TestHost};
use e2e::openapi_check::{answer_schema, dangling_refs, mismatches, operations};
use e2e::scenario::MyGatewayScenario;
use integrations_host::api::routes;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The routes anyone may call: probes, this document, the payer's pages and the gateways'
/// webhooks (API.md §3 marks them *public*).
const PUBLIC: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/api/openapi.json"),
    ("GET", "/pay/{token}"),
    ("POST", "/pay/{token}"),
    ("GET", "/api/online_payment/return"),
    ("GET", "/api/online_payment/cancel"),
    ("POST", "/payment/webhook/{integration_id}"),
    ("POST", "/messaging/webhook/{integration_id}"),
];

async fn document(host: &TestHost) -> Value {
    let response = host.public(Method::GET, "/api/openapi.json").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "public: no key sent");
    let media = response.headers()["content-type"].to_str().unwrap().to_string();
    assert_eq!(media, "application/json");
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_names_exactly_the_routes_of_the_router() {
    let host = TestHost::start(HostOptions { bare: true, ..HostOptions::default() }).await;
    let document = document(&host).await;
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1."), "{}", document["openapi"]);
    assert_eq!(document["info"]["title"], "Integrations Host");
    assert!(document["info"]["version"].is_string());
    assert_eq!(dangling_refs(&document), Vec::<String>::new(), "every $ref resolves");

    let documented: BTreeSet<(String, String)> =
        operations(&document).into_iter().map(|(method, path, _)| (method, path)).collect();
    let routed: BTreeSet<(String, String)> =
        routes().into_iter().map(|route| (route.method.to_string(), route.path.to_string())).collect();
    assert_eq!(
        routed.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "routes without documentation"
    );
    assert_eq!(
        documented.difference(&routed).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented routes the router does not serve"
    );

    let schemes = &document["components"]["securitySchemes"];
    for scheme in ["admin_key", "company_key"] {
        assert_eq!(
            (schemes[scheme]["type"].as_str(), schemes[scheme]["scheme"].as_str()),
            (Some("http"), Some("bearer"))
        );
    }
    let mut operation_ids = BTreeSet::new();
    for (method, path, operation) in operations(&document) {
        let route = format!("{method} {path}");
        assert!(
            operation_ids.insert(operation["operationId"].as_str().unwrap().to_string()),
            "{route}: a unique operationId"
        );
        let schemes: BTreeSet<&str> = operation["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{route} declares its auth"))
            .iter()
            .flat_map(|requirement| requirement.as_object().unwrap().keys().map(String::as_str))
            .collect();
        let expected: BTreeSet<&str> = if PUBLIC.contains(&(method.as_str(), path.as_str())) {
            BTreeSet::new()
        } else if path.starts_with("/api/admin/") {
            BTreeSet::from(["admin_key"])
        } else {
            BTreeSet::from(["admin_key", "company_key"])
        };
        assert_eq!(schemes, expected, "{route}: its auth");
        for name in path.split('{').skip(1).filter_map(|rest| rest.split_once('}')).map(|(name, _)| name) {
            let declared = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["name"] == name && p["in"] == "path");
            assert!(declared, "{route}: the path parameter `{name}` is declared");
        }
        // Every JSON body and the module upload refuse a field or part they do not take
        // (`unknown_field`, `invalid_upload`), so the document must say so, or a client (and
        // the contract fuzz) would take an extra field for one the host accepts.
        for (media, body) in operation["requestBody"]["content"].as_object().into_iter().flatten() {
            if media == "application/x-www-form-urlencoded" {
                continue;
            }
            let mut schema = &body["schema"];
            if let Some(name) = schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
                schema = &document["components"]["schemas"][name];
            }
            if schema["type"] == "object" && schema.get("properties").is_some() {
                assert_eq!(schema["additionalProperties"], false, "{route} {media}: no other fields: {schema}");
            }
        }
        let statuses: Vec<u16> =
            operation["responses"].as_object().unwrap().keys().map(|s| s.parse().unwrap()).collect();
        assert!(statuses.iter().any(|s| (200..400).contains(s)), "{route}: an answer for success");
        assert!(statuses.contains(&413) && statuses.contains(&500), "{route}: the router's own errors");
        for status in statuses.into_iter().filter(|s| *s >= 400) {
            let Some(schema) = answer_schema(operation, status, "application/json") else { continue };
            let codes = error_codes(schema);
            assert!(
                !codes.is_empty() || schema["$ref"] == "#/components/schemas/Error",
                "{route} {status}: names its codes"
            );
        }
    }
}

/// The `error.code` enum of an error answer's schema.
fn error_codes(schema: &Value) -> Vec<&str> {
    let parts = schema["allOf"].as_array().into_iter().flatten();
    parts
        .filter_map(|part| part.pointer("/properties/error/properties/code/enum")?.as_array())
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// Sends a request and checks its answer against the document's schema for its status.
async fn answer_fits(
    document: &Value,
    method: &str,
    path: &str,
    request: reqwest::RequestBuilder,
) -> (StatusCode, Value) {
    let (status, body) = send(request).await;
    let operation = operations(document)
        .into_iter()
        .find(|(m, p, _)| m == method && p == path)
        .map(|(_, _, operation)| operation)
        .unwrap_or_else(|| panic!("{method} {path} is documented"));
    let schema = answer_schema(operation, status.as_u16(), "application/json")
        .unwrap_or_else(|| panic!("{method} {path}: the status {status} is documented ({body})"));
    assert_eq!(mismatches(document, schema, &body), Vec::<String>::new(), "{method} {path} {status}: {body}");
    (status, body)
}

#[tokio::test]
async fn real_answers_fit_the_documented_schemas() {
    let payment = MyGatewayScenario::start().await;
    let host = &payment.host;
    let document = document(host).await;
    let (transaction, _) = payment.captured("19.99", 42).await;
    let integration = payment.integration_id;

    let refund_path = "/api/online_payment/transaction/{id}/refund";
    let refund = host.admin(Method::POST, &format!("/api/online_payment/transaction/{transaction}/refund"));
    let (status, refunded) = answer_fits(&document, "POST", refund_path, refund.json(&json!({"amount": "5.00"}))).await;
    assert_eq!((status, refunded["refunded_amount"].as_str()), (StatusCode::OK, Some("5.00")), "{refunded}");

    let reads = [
        ("GET", "/api/modules", "/api/modules".to_string()),
        ("GET", "/api/modules/{identifier}/versions", "/api/modules/payment_mygateway/versions".to_string()),
        ("GET", "/api/integrations", "/api/integrations".to_string()),
        ("GET", "/api/integrations/{id}", format!("/api/integrations/{integration}")),
        ("GET", "/api/integrations/{id}/webhooks", format!("/api/integrations/{integration}/webhooks")),
        ("GET", "/api/integrations/{id}/mappings", format!("/api/integrations/{integration}/mappings")),
        ("GET", "/api/online_payment/integrations", "/api/online_payment/integrations".to_string()),
        ("GET", "/api/online_payment/transaction/{id}", format!("/api/online_payment/transaction/{transaction}")),
        (
            "GET",
            "/api/online_payment/payments",
            "/api/online_payment/payments?document_model=Invoice&document_id=42".to_string(),
        ),
        ("GET", "/api/events", "/api/events".to_string()),
        ("GET", "/api/admin/events/{id}", "/api/admin/events/1".to_string()),
        ("GET", "/readyz", "/readyz".to_string()),
    ];
    for (method, path, url) in reads {
        let (status, body) = answer_fits(&document, method, path, host.admin(Method::GET, &url)).await;
        assert_eq!(status, StatusCode::OK, "{method} {url}: {body}");
    }

    // Errors: the shape, and a code the document lists for that route and status.
    let missing = host.admin(Method::GET, "/api/online_payment/transaction/999999");
    let (status, body) = answer_fits(&document, "GET", "/api/online_payment/transaction/{id}", missing).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let over = host.admin(Method::POST, &format!("/api/online_payment/transaction/{transaction}/refund"));
    let (status, body) = answer_fits(&document, "POST", refund_path, over.json(&json!({"amount": "100.00"}))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("refund_exceeds_remaining"))
    );
    let unsigned = host.public(Method::POST, &format!("/payment/webhook/{integration}")).body("{}");
    let (status, _) = answer_fits(&document, "POST", "/payment/webhook/{integration_id}", unsigned).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
