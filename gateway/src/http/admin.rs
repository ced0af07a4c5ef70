//! Admin endpoints: results, extra time and the audit log. Each needs an admin token
//! (results also a proctor's); each change is audited by the engine.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::bearer;
use crate::auth::Role;
use crate::errors::ApiError;
use crate::state::Gateway;

/// Most extra time one grant may add, in seconds.
const EXTRA_TIME_MAX_S: u64 = 4 * 3600;

pub async fn results(
    gateway: web::Data<Gateway>,
    request: HttpRequest,
    olympiad_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    bearer::require(&gateway, &request, &[Role::Admin, Role::Proctor])?;
    let rows = gateway.engine.results(&olympiad_id).await?;
    Ok(
        HttpResponse::Ok()
            .json(serde_json::json!({ "olympiad_id": *olympiad_id, "results": rows })),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraTimeBody {
    seconds: u64,
    /// The admin client's id for this grant (letters, digits, `-`, `_`; at most 64): a
    /// retry with the same id grants nothing more.
    grant_id: Option<String>,
}

/// Longest grant id.
const GRANT_ID_MAX: usize = 64;

pub async fn extra_time(
    gateway: web::Data<Gateway>,
    request: HttpRequest,
    session_id: web::Path<String>,
    body: web::Json<ExtraTimeBody>,
) -> Result<HttpResponse, ApiError> {
    let claims = bearer::require(&gateway, &request, &[Role::Admin])?;
    if body.seconds == 0 || body.seconds > EXTRA_TIME_MAX_S {
        let message = format!("seconds must be between 1 and {EXTRA_TIME_MAX_S}");
        return Err(ApiError::BadRequest(message));
    }
    if let Some(id) = &body.grant_id {
        let valid = !id.is_empty()
            && id.len() <= GRANT_ID_MAX
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            let message =
                format!("grant_id must be 1 to {GRANT_ID_MAX} letters, digits, '-' or '_'");
            return Err(ApiError::BadRequest(message));
        }
    }
    let view = gateway
        .engine
        .extend_time(
            &claims.sub,
            &session_id,
            body.seconds,
            body.grant_id.as_deref(),
        )
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

pub async fn audit(
    gateway: web::Data<Gateway>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    bearer::require(&gateway, &request, &[Role::Admin])?;
    let events = gateway.engine.audit_log().await?;
    Ok(HttpResponse::Ok().json(events))
}
