//! A payer in headless Chromium: opens a payment link, chooses an integration, is sent to
//! the (fake) MyGateway checkout, pays, comes back and sees "Paid". The checkout URL is
//! outside (`https://checkout.mygateway.com/…`): the browser's request there is intercepted
//! and answered by the test, and every other outside host is unresolvable in the browser.

use e2e::chromium::{png_size, Browser};
use e2e::host::{send, ADMIN_KEY};
use e2e::scenario::{MyGatewayScenario, API_KEY, SECRET_KEY, WEBHOOK_SECRET};
use reqwest::{Method, StatusCode};
use serde_json::json;

const WIDTH: u32 = 800;
const HEIGHT: u32 = 600;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_link_is_paid_in_headless_chromium() {
    let s = MyGatewayScenario::start().await;
    let wallet = s
        .host
        .enabled_integration(
            ADMIN_KEY,
            1,
            "payment_mygateway",
            json!({"mygateway_api_key": API_KEY, "mygateway_secret_key": SECRET_KEY,
                   "mygateway_webhook_secret": WEBHOOK_SECRET}),
        )
        .await;
    for (id, name, sequence) in [(s.integration_id, "Card", 1), (wallet, "Wallet", 2)] {
        let (status, body) = send(
            s.host
                .admin(Method::PATCH, &format!("/api/integrations/{id}"))
                .json(&json!({"payment_display_name": name, "payment_sequence": sequence})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, link) = send(s.host.admin(Method::POST, "/api/online_payment/links").json(&json!({
        "company_id": 1, "document_model": "Invoice", "document_id": 77, "amount": "19.99",
        "currency": "USD", "description": "Invoice INV/2024/0077 <Ada & Co>",
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let link_url = link["url"].as_str().unwrap().to_string();

    let browser = Browser::launch();
    let page = browser.new_page(WIDTH, HEIGHT).await;
    page.intercept("https://checkout.mygateway.com/*").await;
    let blank = page.screenshot().await;

    // The open page: description, amount, the two integrations in sequence order.
    page.goto(&link_url).await;
    assert_eq!(page.eval("document.title").await, "Pay USD 19.99");
    let text = page.eval("document.body.innerText").await.as_str().unwrap().to_string();
    assert!(text.contains("Invoice INV/2024/0077 <Ada & Co>"), "{text}");
    assert!(text.contains("USD 19.99"), "{text}");
    assert_eq!(
        page.eval("[...document.querySelectorAll('label')].map(l => l.textContent)").await,
        json!(["Card", "Wallet"])
    );
    assert_eq!(page.eval("document.querySelector('input:checked').value").await, s.integration_id.to_string());
    let open = page.screenshot().await;

    // Choose the wallet by its label, then pay.
    page.click(&format!("label[for=method-{wallet}]")).await;
    assert_eq!(page.eval("document.querySelector('input:checked').value").await, wallet.to_string());
    page.drain_events().await;
    page.click("button[type=submit]").await;
    let paused = page.event("Fetch.requestPaused").await;
    let checkout_url = paused["request"]["url"].as_str().unwrap().to_string();
    let session_id = checkout_url.strip_prefix("https://checkout.mygateway.com/session/").expect("the checkout URL");
    let session = s.fake.session(session_id);
    assert_eq!((session.amount, session.currency.as_str(), session.status.as_str()), (1999, "USD", "open"));
    // The link's token never leaves for the gateway as a Referer.
    assert!(paused["request"]["headers"].get("Referer").is_none(), "{paused}");
    page.fulfill(
        paused["requestId"].as_str().unwrap(),
        "<!DOCTYPE html><html lang=\"en\"><title>Fake checkout</title><h1>Fake MyGateway checkout</h1></html>",
    )
    .await;
    page.event("Page.loadEventFired").await;
    assert_eq!(page.eval("location.href").await, checkout_url.as_str());
    assert_eq!(page.eval("document.title").await, "Fake checkout");

    // The payer pays; the gateway sends the browser back to the host's return URL, which
    // confirms with the gateway and sends the payer on to the link's page.
    s.fake.set_status(session_id, "completed");
    page.goto(&session.success_url).await;
    assert_eq!(page.eval("location.href").await, format!("{link_url}?txn={}", session.reference));
    page.goto(&link_url).await;
    page.reload().await;
    assert_eq!(page.eval("document.querySelector('h1').textContent").await, "Paid");
    let text = page.eval("document.body.innerText").await.as_str().unwrap().to_string();
    assert!(text.contains("USD 19.99") && !text.contains("Choose how to pay"), "{text}");
    assert_eq!(page.eval("document.forms.length").await, 0);
    let paid = page.screenshot().await;

    // The payment is real: the wallet's transaction is Captured, one Payment for the invoice.
    let payments = s.host.payments("Invoice", 77).await;
    assert_eq!(payments.len(), 1, "{payments:?}");
    assert_eq!(payments[0]["reference"], session.reference.as_str());
    assert_eq!(payments[0]["integration_id"], wallet, "paid through the method the payer chose");

    // Screenshots: PNGs of the viewport; the pages are drawn (not blank) and differ.
    for (name, png) in [("blank", &blank), ("open", &open), ("paid", &paid)] {
        assert_eq!(png_size(png), Some((WIDTH, HEIGHT)), "{name} screenshot is not an {WIDTH}x{HEIGHT} PNG");
    }
    assert!(open.len() > blank.len() + 1000, "the open page looks blank ({} vs {} bytes)", open.len(), blank.len());
    assert!(paid.len() > blank.len() + 1000, "the paid page looks blank ({} vs {} bytes)", paid.len(), blank.len());
    assert_ne!(open, paid, "the paid page looks like the open one");
    if let Ok(dir) = std::env::var("PAY_PAGE_SCREENSHOTS") {
        std::fs::write(format!("{dir}/pay-open.png"), &open).unwrap();
        std::fs::write(format!("{dir}/pay-paid.png"), &paid).unwrap();
    }
}
