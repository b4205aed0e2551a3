//! The payment page's HTML: one complete page (inline CSS, no script, a strict CSP, no
//! referrer, never cached), the link's states and the failure pages. Every value from the
//! database or the request is escaped.

use std::fmt::Write as _;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::services::payment_links::{LinkStatus, LinkView};
use crate::services::ServiceError;

use super::super::json_errors::HtmlPage;
use super::super::ApiError;

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1a1a1a;background:#f4f5f7}
main{max-width:32rem;margin:2rem auto;padding:1.5rem 2rem;background:#fff;border:1px solid #d0d4da;border-radius:8px}
h1{font-size:1.5rem;margin:0 0 .75rem}
.amount{font-size:1.75rem;font-weight:700;margin:.25rem 0 1rem}
fieldset{border:1px solid #d0d4da;border-radius:6px;padding:.75rem 1rem;margin:0 0 1rem}
legend{font-weight:600;padding:0 .25rem}
.choice{display:flex;align-items:center;gap:.5rem;padding:.35rem 0}
.choice input{width:1.1rem;height:1.1rem}
.note{color:#4a4f57;font-size:.9rem}
.notice{border-left:4px solid #8a5a00;background:#fff7e6;padding:.5rem .75rem}
.done{border-left:4px solid #1d6b2f;background:#eaf6ec;padding:.5rem .75rem}
button{font:inherit;font-weight:600;color:#fff;background:#0b5394;border:0;border-radius:6px;padding:.6rem 1.4rem;cursor:pointer}
button:hover{background:#083d6e}
button:focus-visible,input:focus-visible,a:focus-visible{outline:3px solid #f0a000;outline-offset:2px}
a{color:#0b5394}
";

/// A complete page: `lang`, a `<title>`, one `<main>` landmark.
pub(super) fn page(status: StatusCode, title: &str, main: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n\
         <body>\n<main>\n{main}</main>\n</body>\n</html>\n",
        title = escape(title),
    );
    let mut response = (status, html).into_response();
    response.extensions_mut().insert(HtmlPage);
    let headers = response.headers_mut();
    let fixed = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        // No script at all; the form may post only here. (No form-action: the 303 to the
        // gateway after the POST must not be blocked.)
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
        ),
        // The token is in the URL: never send it to the gateway as a Referer.
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

pub(super) fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Payment link not found",
        "<h1>Payment link not found</h1>\n<p>This payment link does not exist. Please check the address or ask the \
         sender for a new link.</p>\n",
    )
}

pub(super) fn error_page(error: ServiceError, token: &str) -> Response {
    if matches!(error, ServiceError::NotFound(_)) {
        return not_found();
    }
    failure_page(ApiError::from(error), token)
}

pub(super) fn failure_page(error: ApiError, token: &str) -> Response {
    // The code, shown as support desks ask for it, is also what a client reading the page
    // (the contract fuzz among them) can branch on.
    let main = format!(
        "<h1>The payment could not be started</h1>\n<p role=\"alert\">{}</p>\n\
         <p class=\"note\">Error code: <code>{}</code></p>\n\
         <p><a href=\"/pay/{}\">Back to the payment page</a></p>\n",
        escape(&error.message),
        escape(error.code),
        escape(token),
    );
    page(error.status, "The payment could not be started", &main)
}

/// The human form of an RFC 3339 UTC timestamp: "2030-01-31 23:59 UTC".
fn human_time(at: &str) -> String {
    match (at.get(..10), at.get(11..16)) {
        (Some(date), Some(time)) => format!("{date} {time} UTC"),
        _ => at.to_string(),
    }
}

pub(super) fn render(view: &LinkView) -> Response {
    let description = escape(&view.link.description);
    let amount = escape(&view.amount);
    let token = escape(&view.link.token);
    match view.status {
        LinkStatus::Paid => page(
            StatusCode::OK,
            &format!("Paid: {}", view.link.description),
            &format!(
                "<h1>Paid</h1>\n<p class=\"done\" role=\"status\">This payment has been received. Thank you.</p>\n\
                 <p>{description}</p>\n<p class=\"amount\">{amount}</p>\n"
            ),
        ),
        LinkStatus::Expired => page(
            StatusCode::GONE,
            &format!("Expired: {}", view.link.description),
            &format!(
                "<h1>Expired</h1>\n<p class=\"notice\" role=\"status\">This payment link expired on {}. It can no \
                 longer be paid; please ask the sender for a new link.</p>\n<p>{description}</p>\n\
                 <p class=\"amount\">{amount}</p>\n<p class=\"note\">Error code: <code>link_expired</code></p>\n",
                escape(&human_time(view.link.expires_at.as_deref().unwrap_or_default())),
            ),
        ),
        LinkStatus::Revoked => page(
            StatusCode::GONE,
            &format!("Withdrawn: {}", view.link.description),
            &format!(
                "<h1>Withdrawn</h1>\n<p class=\"notice\" role=\"status\">The sender withdrew this payment request. It \
                 can no longer be paid; please ask the sender if you still need to pay.</p>\n<p>{description}</p>\n\
                 <p class=\"amount\">{amount}</p>\n<p class=\"note\">Error code: <code>link_revoked</code></p>\n"
            ),
        ),
        LinkStatus::Open => {
            let mut main = format!(
                "<h1>Payment request</h1>\n<p>{description}</p>\n\
                 <p class=\"amount\"><span class=\"note\">Amount due</span><br>{amount}</p>\n"
            );
            match view.returned_state.as_deref() {
                Some("Pending" | "Authorized" | "Draft") => main.push_str(
                    "<p class=\"notice\" role=\"status\">Your payment is being confirmed by the payment provider. \
                     Reload this page in a moment to see whether it went through.</p>\n",
                ),
                Some(_) => main.push_str(
                    "<p class=\"notice\" role=\"status\">The payment was not completed. You can try again below.</p>\n",
                ),
                None => {}
            }
            if let Some(expires_at) = &view.link.expires_at {
                let _ = writeln!(main, "<p class=\"note\">Payable until {}.</p>", escape(&human_time(expires_at)));
            }
            if view.methods.is_empty() {
                main.push_str(
                    "<p class=\"notice\" role=\"status\">No payment method is available for this payment right now. \
                     Please contact the sender.</p>\n",
                );
                return page(StatusCode::OK, &format!("Pay {}", view.amount), &main);
            }
            let _ = write!(
                main,
                "<form method=\"post\" action=\"/pay/{token}\">\n<fieldset>\n<legend>Choose how to pay</legend>\n"
            );
            for (index, method) in view.methods.iter().enumerate() {
                let id = method.integration_id;
                let test = if method.test_mode { " <span class=\"note\">(test mode)</span>" } else { "" };
                let checked = if index == 0 { " checked" } else { "" };
                let _ = writeln!(
                    main,
                    "<div class=\"choice\"><input type=\"radio\" name=\"integration_id\" id=\"method-{id}\" \
                     value=\"{id}\"{checked}> <label for=\"method-{id}\">{}</label>{test}</div>",
                    escape(&method.display_name),
                );
            }
            let _ = write!(main, "</fieldset>\n<button type=\"submit\">Pay {amount}</button>\n</form>\n");
            page(StatusCode::OK, &format!("Pay {}", view.amount), &main)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }
}
