//! One Stripe customer per ERP contact, kept in the IntegrationMapper: created once, named on
//! every Checkout Session and PaymentIntent of the contact, per integration; failures to
//! create one fail the payment with Stripe's message.

use e2e::fake_stripe::Script;
use e2e::host::{send, ADMIN_KEY};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::errors::failed_initiate;
use super::{credentials, StripeScenario, SECRET_KEY};

/// Initiates a payment on `integration_id` with `contact` (None: no contact at all).
async fn initiate_for(
    s: &StripeScenario,
    integration_id: i64,
    kind: &str,
    document_id: i64,
    contact: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = json!({
        "integration_id": integration_id, "amount": "12.50", "currency": "USD",
        "document_model": "Invoice", "document_id": document_id,
        "return_url": "https://erp.example/portal/invoice/42", "integration_type": kind,
    });
    if let Some(contact) = contact {
        request["contact"] = contact;
    }
    send(s.host.admin(Method::POST, "/api/online_payment/initiate").json(&request)).await
}

/// Initiates and expects success; returns (transaction id, the Stripe object it created).
async fn paid_by(
    s: &StripeScenario,
    integration_id: i64,
    kind: &str,
    document_id: i64,
    contact: Option<Value>,
) -> (i64, Value) {
    let (status, answer) = initiate_for(s, integration_id, kind, document_id, contact).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let id = answer["transaction_id"].as_i64().unwrap();
    let gateway_reference = s.gateway_reference(id).await;
    let object = match kind {
        "Redirect" => s.fake.session(&gateway_reference),
        _ => s.fake.intent(&gateway_reference),
    };
    (id, object)
}

/// The integration's `Contact` mappings as (local id, remote id).
async fn contact_mappings(s: &StripeScenario, integration_id: i64) -> Vec<(String, String)> {
    let (status, body) = send(s.host.admin(Method::GET, &format!("/api/integrations/{integration_id}/mappings"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array()
        .unwrap()
        .iter()
        .filter(|m| m["model"] == "Contact")
        .map(|m| (m["local_id"].as_str().unwrap().to_string(), m["remote_id"].as_str().unwrap().to_string()))
        .collect()
}

/// The `customer` each create request to `path` named, in order (None: no customer).
fn customers_named(s: &StripeScenario, path: &str) -> Vec<Option<String>> {
    s.fake
        .requests_to("POST", path)
        .iter()
        .map(|r| r.stripe_params().get("customer").and_then(Value::as_str).map(str::to_string))
        .collect()
}

fn ada() -> Value {
    json!({ "id": 17, "name": "Ada Lovelace", "email": "ada@example.com", "phone": "+44 20 7946 0958" })
}

#[tokio::test]
async fn a_contact_gets_one_customer_named_on_all_its_payments() {
    let s = StripeScenario::start().await;
    let integration = s.integration_id;

    // Two payments of contact 17 (the ERP sends its id as a number, then as a string).
    let (_, session) = paid_by(&s, integration, "Redirect", 1, Some(ada())).await;
    let mut again = ada();
    again["id"] = json!("17");
    let (_, intent) = paid_by(&s, integration, "Embedded JS", 2, Some(again)).await;

    assert_eq!(s.fake.customer_count(), 1, "one customer for one contact");
    let created = s.fake.requests_to("POST", "/v1/customers");
    assert_eq!(created.len(), 1, "the second payment reused the mapped customer");
    assert_eq!(
        created[0].stripe_params(),
        json!({
            "name": "Ada Lovelace", "email": "ada@example.com", "phone": "+44 20 7946 0958",
            "metadata": { "erp_contact_id": "17" },
        })
    );
    assert_eq!(created[0].idempotency_key(), Some(format!("contact-{integration}-17").as_str()));
    assert_eq!(created[0].authorization(), Some(format!("Bearer {SECRET_KEY}").as_str()));
    let customer = s.fake.customers()[0].clone();
    let customer_id = customer["id"].as_str().unwrap().to_string();
    assert!(customer_id.starts_with("cus_"), "{customer}");
    assert_eq!(customer["metadata"]["erp_contact_id"], "17");

    // Both Stripe objects belong to that customer; Checkout got no `customer_email` beside it.
    assert_eq!(session["customer"], customer_id.as_str());
    assert_eq!(intent["customer"], customer_id.as_str());
    let session_request = &s.fake.requests_to("POST", "/v1/checkout/sessions")[0];
    assert!(session_request.stripe_params().get("customer_email").is_none(), "{:?}", session_request.stripe_params());
    assert_eq!(contact_mappings(&s, integration).await, [("17".to_string(), customer_id.clone())]);

    // Another contact gets its own customer, created with only what the ERP knows of it.
    let (_, other) =
        paid_by(&s, integration, "Redirect", 3, Some(json!({ "id": "C-18", "name": "Grace Hopper" }))).await;
    assert_eq!(s.fake.customer_count(), 2);
    let created = s.fake.requests_to("POST", "/v1/customers");
    assert_eq!(created[1].stripe_params(), json!({ "name": "Grace Hopper", "metadata": { "erp_contact_id": "C-18" } }));
    let other_id = other["customer"].as_str().unwrap().to_string();
    assert_ne!(other_id, customer_id);
    assert_eq!(s.fake.customer(&other_id)["metadata"]["erp_contact_id"], "C-18");

    // No contact, or a contact without an id: no customer, nothing named, as before.
    paid_by(&s, integration, "Redirect", 4, None).await;
    paid_by(&s, integration, "Embedded JS", 5, None).await;
    paid_by(&s, integration, "Redirect", 6, Some(json!({ "name": "Walk-in", "email": "walk-in@example.com" }))).await;
    assert_eq!(s.fake.customer_count(), 2);
    assert_eq!(
        customers_named(&s, "/v1/checkout/sessions"),
        [Some(customer_id.clone()), Some(other_id.clone()), None, None]
    );
    assert_eq!(customers_named(&s, "/v1/payment_intents"), [Some(customer_id.clone()), None]);
    let without = &s.fake.requests_to("POST", "/v1/checkout/sessions")[3];
    assert!(without.stripe_params().get("customer_email").is_none(), "{:?}", without.stripe_params());
    assert_eq!(
        contact_mappings(&s, integration).await,
        [("17".to_string(), customer_id), ("C-18".to_string(), other_id)]
    );
}

#[tokio::test]
async fn each_integration_keeps_its_own_customers() {
    // Two companies' integrations on the same Stripe account, the same ERP contact id: had the
    // key or the mapping been shared, the second would get the first one's customer.
    let s = StripeScenario::start().await;
    let other = s.host.enabled_integration(ADMIN_KEY, 2, "payment_stripe", credentials()).await;
    let (_, first) = paid_by(&s, s.integration_id, "Redirect", 1, Some(ada())).await;
    let (_, second) = paid_by(&s, other, "Redirect", 1, Some(ada())).await;
    let (_, second_again) = paid_by(&s, other, "Embedded JS", 2, Some(ada())).await;

    assert_eq!(s.fake.customer_count(), 2);
    let (first, second) =
        (first["customer"].as_str().unwrap().to_string(), second["customer"].as_str().unwrap().to_string());
    assert_ne!(first, second);
    assert_eq!(second_again["customer"], second.as_str());
    assert_eq!(contact_mappings(&s, s.integration_id).await, [("17".to_string(), first)]);
    assert_eq!(contact_mappings(&s, other).await, [("17".to_string(), second)]);
    let keys: Vec<_> = s
        .fake
        .requests_to("POST", "/v1/customers")
        .into_iter()
        .map(|r| r.idempotency_key().unwrap().to_string())
        .collect();
    assert_eq!(keys, [format!("contact-{}-17", s.integration_id), format!("contact-{other}-17")]);
}

#[tokio::test]
async fn a_customer_stripe_refuses_fails_the_payment_with_stripes_message() {
    let s = StripeScenario::start().await;
    let integration = s.integration_id;

    // Stripe refuses the contact's email: 422, Failed transaction, Stripe's words, no session.
    let contact = json!({ "id": 30, "name": "Typo", "email": "typo.example.com" });
    let answer = initiate_for(&s, integration, "Redirect", 1, Some(contact)).await;
    let transaction = failed_initiate(&s, answer, StatusCode::UNPROCESSABLE_ENTITY, "gateway_refused").await;
    assert_eq!(transaction["error_message"], "Stripe: Invalid email address: typo.example.com");

    // Stripe fails: 502, Failed transaction, Stripe's words, no intent.
    s.fake.script(
        Method::POST,
        "/v1/customers",
        Script::Refuse {
            status: 500,
            kind: "api_error",
            code: "api_error",
            message: "An unknown error occurred".into(),
        },
    );
    let answer = initiate_for(&s, integration, "Embedded JS", 2, Some(ada())).await;
    let transaction = failed_initiate(&s, answer, StatusCode::BAD_GATEWAY, "gateway_error").await;
    assert_eq!(transaction["error_message"], "Stripe: An unknown error occurred");

    assert_eq!(s.fake.session_count() + s.fake.intent_count(), 0, "no payment without its customer");
    assert_eq!(s.fake.customer_count(), 0);
    assert!(contact_mappings(&s, integration).await.is_empty());

    // The customer is made but its answer is lost: that payment fails, and the next one for
    // the contact gets the same customer replayed by Stripe, not a second one.
    s.fake.script(Method::POST, "/v1/customers", Script::LoseAnswer);
    let answer = initiate_for(&s, integration, "Redirect", 3, Some(ada())).await;
    failed_initiate(&s, answer, StatusCode::BAD_GATEWAY, "gateway_error").await;
    assert_eq!(s.fake.customer_count(), 1);
    let made = s.fake.customers()[0]["id"].as_str().unwrap().to_string();
    let (_, session) = paid_by(&s, integration, "Redirect", 4, Some(ada())).await;
    assert_eq!(s.fake.customer_count(), 1);
    assert_eq!(session["customer"], made.as_str());
    assert_eq!(contact_mappings(&s, integration).await, [("17".to_string(), made)]);
}

#[tokio::test]
async fn a_customer_deleted_at_stripe_is_replaced() {
    let s = StripeScenario::start().await;
    let integration = s.integration_id;
    let (_, session) = paid_by(&s, integration, "Redirect", 1, Some(ada())).await;
    let mut stale = session["customer"].as_str().unwrap().to_string();

    for (n, (kind, path)) in
        [("Redirect", "/v1/checkout/sessions"), ("Embedded JS", "/v1/payment_intents")].into_iter().enumerate()
    {
        // The merchant deletes the customer in the Dashboard; the mapping still names it.
        s.fake.delete_customer(&stale);
        let (id, object) = paid_by(&s, integration, kind, 2 + n as i64, Some(ada())).await;
        let fresh = object["customer"].as_str().unwrap().to_string();
        assert_ne!(fresh, stale);
        assert_eq!(s.fake.customer(&fresh)["metadata"]["erp_contact_id"], "17");
        assert_eq!(contact_mappings(&s, integration).await, [("17".to_string(), fresh.clone())]);

        // Stripe refused the stale customer; the create went again under its own key.
        let reference = s.host.transaction(id).await["reference"].as_str().unwrap().to_string();
        let creates = s.fake.requests_to("POST", path);
        let tried: Vec<_> = creates
            .iter()
            .rev()
            .take(2)
            .rev()
            .map(|r| {
                (r.stripe_params()["customer"].as_str().unwrap().to_string(), r.idempotency_key().unwrap().to_string())
            })
            .collect();
        assert_eq!(tried, [(stale.clone(), reference.clone()), (fresh.clone(), format!("{reference}-{fresh}"))]);
        let customer_keys = s.fake.requests_to("POST", "/v1/customers");
        assert_eq!(
            customer_keys.last().unwrap().idempotency_key(),
            Some(format!("contact-{integration}-17-replaces-{stale}").as_str())
        );
        stale = fresh;
    }
    assert_eq!(s.fake.customer_count(), 3);
}

#[tokio::test]
async fn the_fake_keeps_stripes_customer_rules() {
    let s = StripeScenario::start().await;
    let fake = &s.fake;
    // A customer is created once per idempotency key.
    let (status, customer, replayed) =
        fake.post_direct("/v1/customers", "key-c", "name=Ada&metadata[erp_contact_id]=17").await;
    assert_eq!((status, replayed), (StatusCode::OK, false), "{customer}");
    assert_eq!(customer["object"], "customer");
    let (_, again, replayed) = fake.post_direct("/v1/customers", "key-c", "name=Ada&metadata[erp_contact_id]=17").await;
    assert_eq!((replayed, &again["id"]), (true, &customer["id"]));
    assert_eq!(fake.customer_count(), 1);
    // Without the secret key nothing is created.
    let response = reqwest::Client::new()
        .post(format!("{}/v1/customers", fake.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=Eve")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(fake.customer_count(), 1);

    // `customer` must name a live customer; Checkout takes it or `customer_email`, not both.
    let id = customer["id"].as_str().unwrap();
    let session = |extra: &str| {
        format!(
            "mode=payment&success_url=https%3A%2F%2Fe.example%2Fr&line_items[0][quantity]=1\
             &line_items[0][price_data][currency]=usd&line_items[0][price_data][unit_amount]=500\
             &line_items[0][price_data][product_data][name]=Invoice{extra}"
        )
    };
    let (status, body, _) =
        fake.post_direct("/v1/checkout/sessions", "key-s1", &session("&customer=cus_missing")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str(), body["error"]["param"].as_str()),
        (StatusCode::BAD_REQUEST, Some("resource_missing"), Some("customer"))
    );
    let (status, body, _) = fake
        .post_direct(
            "/v1/checkout/sessions",
            "key-s2",
            &session(&format!("&customer={id}&customer_email=ada%40example.com")),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body, _) =
        fake.post_direct("/v1/checkout/sessions", "key-s3", &session(&format!("&customer={id}"))).await;
    assert_eq!((status, body["customer"].as_str()), (StatusCode::OK, Some(id)));
    fake.delete_customer(id);
    let (status, body, _) =
        fake.post_direct("/v1/payment_intents", "key-p1", &format!("amount=500&currency=usd&customer={id}")).await;
    assert_eq!(
        (status, body["error"]["message"].as_str()),
        (StatusCode::BAD_REQUEST, Some(format!("No such customer: '{id}'").as_str()))
    );
}
