//! The HTML pages a person sees: consent for `/authorize`, the device page, the fake console.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:sans-serif;max-width:36em;margin:3em auto}}button{{font-size:1.1em;margin-right:1em}}</style>\
         </head><body><p><em>AWS IAM Identity Center (ssotray simulator)</em></p>{body}</body></html>",
        t = escape(title)
    )
}

/// The sign-in/consent page of `/authorize`.
pub fn consent(request_id: &str, client_name: &str) -> Response {
    Html(page(
        "Allow access?",
        &format!(
            "<h1 id=\"title\">Allow {name} to access your data?</h1>\
             <form method=\"post\" action=\"/authorize\">\
             <input type=\"hidden\" name=\"request\" value=\"{id}\">\
             <button id=\"allow\" type=\"submit\" name=\"decision\" value=\"allow\">Allow access</button>\
             <button id=\"deny\" type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
            name = escape(client_name),
            id = escape(request_id)
        ),
    ))
    .into_response()
}

/// The device page with a code.
pub fn device_consent(user_code: &str) -> Response {
    Html(page(
        "Authorization requested",
        &format!(
            "<h1 id=\"title\">Authorization requested</h1><p>Code: <code id=\"user-code\">{code}</code></p>\
             <form method=\"post\" action=\"/device\"><input type=\"hidden\" name=\"user_code\" value=\"{code}\">\
             <button id=\"allow\" type=\"submit\" name=\"decision\" value=\"allow\">Allow access</button>\
             <button id=\"deny\" type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
            code = escape(user_code)
        ),
    ))
    .into_response()
}

/// The device page without a code: a form to enter one.
pub fn device_entry() -> Response {
    Html(page(
        "Enter code",
        "<h1 id=\"title\">Enter the code shown on your device</h1><form method=\"get\" action=\"/device\">\
         <input id=\"user-code\" name=\"user_code\"><button id=\"next\" type=\"submit\">Next</button></form>",
    ))
    .into_response()
}

/// A plain message page.
pub fn message(title: &str, text: &str) -> Response {
    Html(page(
        title,
        &format!(
            "<h1 id=\"title\">{}</h1><p id=\"message\">{}</p>",
            escape(title),
            escape(text)
        ),
    ))
    .into_response()
}

/// An error page with a status.
pub fn error(status: StatusCode, title: &str, text: &str) -> Response {
    let mut r = message(title, text);
    *r.status_mut() = status;
    r
}

/// The fake AWS console page a federation login lands on.
pub fn console(
    account_id: &str,
    account_name: &str,
    role_name: &str,
    destination: &str,
    issuer: &str,
) -> Response {
    Html(page(
        "AWS Management Console",
        &format!(
            "<h1 id=\"title\">AWS Management Console</h1>\
             <p>Signed in to account <span id=\"account-name\">{n}</span> (<span id=\"account-id\">{a}</span>) \
             as <span id=\"role-name\">{r}</span>.</p>\
             <p>Destination: <span id=\"destination\">{d}</span></p><p>Issuer: <span id=\"issuer\">{i}</span></p>",
            n = escape(account_name),
            a = escape(account_id),
            r = escape(role_name),
            d = escape(destination),
            i = escape(issuer)
        ),
    ))
    .into_response()
}
