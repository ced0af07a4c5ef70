//! The HTTP API on actix-web: public catalog, registration and session start; admin
//! results, extra time and audit; health, metrics and the exam page. Every body has a
//! size bound, and every error goes through `errors::ApiError`.

mod admin;
mod bearer;
mod evidence;

pub(crate) use evidence::register_metrics as register_evidence_metrics;
mod page;
mod public;

use std::sync::Arc;

use actix_web::web;

use crate::errors::ApiError;
use crate::state::Gateway;

/// Largest JSON body accepted, in bytes.
pub const JSON_BODY_MAX_BYTES: usize = 16 * 1024;

fn json_error(error: actix_web::error::JsonPayloadError) -> ApiError {
    use actix_web::error::JsonPayloadError;
    match error {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::PayloadTooLarge(JSON_BODY_MAX_BYTES)
        }
        other => ApiError::BadRequest(other.to_string()),
    }
}

/// Registers every route on an actix app.
pub fn configure(gateway: Arc<Gateway>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |config| {
        let json = web::JsonConfig::default()
            .limit(JSON_BODY_MAX_BYTES)
            .error_handler(|error, _| json_error(error).into());
        let query = web::QueryConfig::default()
            .error_handler(|error, _| ApiError::BadRequest(error.to_string()).into());
        let path = web::PathConfig::default()
            .error_handler(|error, _| ApiError::BadRequest(error.to_string()).into());
        config
            .app_data(web::Data::from(gateway))
            .app_data(json)
            .app_data(path)
            .app_data(query)
            .route("/", web::get().to(page::exam_page))
            .route("/health", web::get().to(public::health))
            .route("/metrics", web::get().to(public::metrics))
            .route("/api/v1/olympiads", web::get().to(public::olympiads))
            .route(
                "/api/v1/olympiads/{id}/registrations",
                web::post().to(public::register),
            )
            .route(
                "/api/v1/sessions/start",
                web::post().to(public::start_session),
            )
            .route(
                "/api/v1/sessions/evidence",
                web::post().to(evidence::upload),
            )
            .route(
                "/api/v1/admin/olympiads/{id}/results",
                web::get().to(admin::results),
            )
            .route(
                "/api/v1/admin/sessions/{id}/extra-time",
                web::post().to(admin::extra_time),
            )
            .route("/api/v1/admin/audit", web::get().to(admin::audit))
            .default_service(web::to(|| async {
                Err::<actix_web::HttpResponse, _>(ApiError::NotFound)
            }));
    }
}
