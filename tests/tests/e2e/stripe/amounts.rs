//! Amounts reach Stripe in Stripe's units: zero-decimal currencies, three-decimal currencies
//! in steps of ten, and Stripe's special cases (ISK in hundredths although ISO has no
//! decimals; MGA in whole units although ISO has two).

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::StripeScenario;

/// The amount and currency of the last Checkout Session or PaymentIntent Stripe was asked for.
fn last_amount_sent(s: &StripeScenario, kind: &str) -> (String, String) {
    let (path, amount, currency) = match kind {
        "Redirect" => {
            ("/v1/checkout/sessions", "/line_items/0/price_data/unit_amount", "/line_items/0/price_data/currency")
        }
        _ => ("/v1/payment_intents", "/amount", "/currency"),
    };
    let sent = s.fake.requests_to("POST", path);
    let params = &sent.last().expect("a request").stripe_params();
    let text = |pointer: &str| params.pointer(pointer).and_then(Value::as_str).unwrap().to_string();
    (text(amount), text(currency))
}

#[tokio::test]
async fn amounts_reach_stripe_in_stripes_units() {
    let s = StripeScenario::start().await;
    // (amount, currency, type, ISO minor units the host keeps, what Stripe must receive)
    let cases = [
        ("19.99", "USD", "Redirect", 1999, "1999", "usd"),
        ("1500", "JPY", "Redirect", 1500, "1500", "jpy"),
        ("1500", "JPY", "Embedded JS", 1500, "1500", "jpy"),
        ("25000", "KRW", "Embedded JS", 25000, "25000", "krw"),
        ("12.34", "KWD", "Redirect", 12340, "12340", "kwd"),
        ("7.25", "BHD", "Embedded JS", 7250, "7250", "bhd"),
        ("500", "ISK", "Redirect", 500, "50000", "isk"),
        ("1500", "MGA", "Embedded JS", 150000, "1500", "mga"),
        ("99.50", "HUF", "Redirect", 9950, "9950", "huf"),
    ];
    for (n, (amount, currency, kind, iso_minor, stripe_amount, stripe_currency)) in cases.into_iter().enumerate() {
        let answer = s.initiate_in(json!(amount), currency, kind, 200 + n as i64).await;
        let transaction = s.host.transaction(answer["transaction_id"].as_i64().unwrap()).await;
        assert_eq!(transaction["amount_minor"], iso_minor, "{amount} {currency}");
        assert_eq!(
            last_amount_sent(&s, kind),
            (stripe_amount.to_string(), stripe_currency.to_string()),
            "{amount} {currency} as {kind}"
        );
    }
}

#[tokio::test]
async fn amounts_stripe_cannot_charge_are_refused_before_reaching_stripe() {
    let s = StripeScenario::start().await;
    for (amount, currency, kind, says) in [
        ("12.345", "KWD", "Redirect", "steps of 0.010; 12.345 KWD"),
        ("0.001", "OMR", "Embedded JS", "steps of 0.010; 0.001 OMR"),
        ("1500.50", "MGA", "Embedded JS", "whole units only; 1500.50 MGA"),
    ] {
        let before = s.fake.requests().len();
        let (status, body) = s.initiate_raw(json!(amount), currency, kind, 300).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("gateway_refused")),
            "{body}"
        );
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
        let transaction = s.host.transaction(body["error"]["transaction_id"].as_i64().unwrap()).await;
        assert_eq!(transaction["state"], "Failed");
        assert_eq!(s.fake.requests().len(), before, "Stripe was not asked");
    }
}

#[tokio::test]
async fn refunds_and_refund_events_convert_both_ways() {
    let s = StripeScenario::start().await;

    // JPY through Checkout: a partial refund of 1000 yen is 1000 at Stripe.
    let id = s.initiate_in(json!("3000"), "JPY", "Redirect", 310).await["transaction_id"].as_i64().unwrap();
    let session = s.gateway_reference(id).await;
    s.fake.pay_checkout(&session);
    s.deliver("checkout.session.completed", s.fake.session(&session)).await;
    let (status, body) = s.refund(id, json!({"amount": "1000"})).await;
    assert_eq!((status, body["refunded_amount"].as_str()), (StatusCode::OK, Some("1000")), "{body}");
    assert_eq!(s.fake.refunds()[0]["amount"], 1000);

    // ISK through a PaymentIntent: 200 krónur is 20000 at Stripe, and a refund reported by
    // Stripe in hundredths comes back as krónur.
    let id = s.initiate_in(json!("500"), "ISK", "Embedded JS", 311).await["transaction_id"].as_i64().unwrap();
    let payment_intent = s.gateway_reference(id).await;
    s.fake.succeed_intent(&payment_intent);
    s.deliver("payment_intent.succeeded", s.fake.intent(&payment_intent)).await;
    let (status, body) = s.refund(id, json!({"amount": "200"})).await;
    assert_eq!((status, body["refunded_amount"].as_str()), (StatusCode::OK, Some("200")), "{body}");
    assert_eq!(s.fake.refunds()[1]["amount"], 20000);
    let charge = s.fake.refund_in_dashboard(&payment_intent, 10000);
    assert_eq!(charge["amount_refunded"], 30000);
    s.deliver("charge.refunded", charge).await;
    let transaction = s.host.transaction(id).await;
    assert_eq!((transaction["refunded_minor"].as_i64(), transaction["state"].as_str()), (Some(300), Some("Captured")));

    // KWD: a refund Stripe cannot express is refused without asking Stripe.
    let id = s.initiate_in(json!("10.000"), "KWD", "Embedded JS", 312).await["transaction_id"].as_i64().unwrap();
    let payment_intent = s.gateway_reference(id).await;
    s.fake.succeed_intent(&payment_intent);
    s.deliver("payment_intent.succeeded", s.fake.intent(&payment_intent)).await;
    let refunds_before = s.fake.requests_to("POST", "/v1/refunds").len();
    let (status, body) = s.refund(id, json!({"amount": "1.005"})).await;
    assert_eq!((status, body["success"].as_bool()), (StatusCode::OK, Some(false)), "{body}");
    assert!(body["error_message"].as_str().unwrap().contains("steps of 0.010"), "{body}");
    assert_eq!(s.fake.requests_to("POST", "/v1/refunds").len(), refunds_before);
    let (status, body) = s.refund(id, json!({"amount": "1.010"})).await;
    assert_eq!((status, body["success"].as_bool()), (StatusCode::OK, Some(true)), "{body}");
    assert_eq!(s.fake.refunds().last().unwrap()["amount"], 1010);
}
