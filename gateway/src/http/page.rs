//! The exam page: one static HTML file with its script inline, served with a content
//! security policy that lets it talk only to this server (exam images on outside hosts
//! are shown as links, never loaded).

use actix_web::{HttpRequest, HttpResponse, web};

use crate::state::Gateway;

const EXAM_PAGE: &str = include_str!("../../web/exam.html");

pub async fn exam_page(gateway: web::Data<Gateway>, request: HttpRequest) -> HttpResponse {
    let ws_url = gateway.ws_url_for(super::public::host_header(&request));
    let policy = format!(
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self' {}; base-uri 'none'; form-action 'none'",
        ws_origin(&ws_url)
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("content-security-policy", policy))
        .insert_header(("x-content-type-options", "nosniff"))
        .insert_header(("referrer-policy", "no-referrer"))
        .body(EXAM_PAGE)
}

/// `ws://host:port` of a WebSocket URL, for the page's `connect-src`.
fn ws_origin(ws_url: &str) -> &str {
    let after_scheme = ws_url.find("://").map_or(0, |i| i + 3);
    let end = ws_url[after_scheme..]
        .find('/')
        .map_or(ws_url.len(), |i| after_scheme + i);
    &ws_url[..end]
}
