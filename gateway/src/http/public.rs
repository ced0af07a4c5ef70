//! Public endpoints: health, metrics, the olympiad catalog, registration and session start.

use actix_web::{HttpRequest, HttpResponse, web};
use engine::clock::now_ms;
use engine::domain::olympiad::{Language, Olympiad};
use serde::{Deserialize, Serialize};

use super::bearer;
use crate::auth::{Claims, Role};
use crate::errors::ApiError;
use crate::state::Gateway;

/// How long a session ticket stays valid after the olympiad's window closes.
const TICKET_GRACE_MS: u64 = 24 * 3600 * 1000;

/// Liveness: 503 once the store refuses writes, so that a supervisor restarts the node
/// (after a failed fsync the store never writes again, by design).
pub async fn health(gateway: web::Data<Gateway>) -> HttpResponse {
    let live_sessions = gateway.engine.live_sessions();
    if gateway.engine.storage_refusing_writes() {
        let body = serde_json::json!({
            "status": "failing",
            "reason": "the event store refuses writes; restart the node",
            "live_sessions": live_sessions,
        });
        return HttpResponse::ServiceUnavailable().json(body);
    }
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok", "live_sessions": live_sessions }))
}

pub async fn metrics() -> HttpResponse {
    use prometheus::Encoder as _;
    let mut body = Vec::new();
    let encoder = prometheus::TextEncoder::new();
    if let Err(error) = encoder.encode(&prometheus::gather(), &mut body) {
        tracing::error!(%error, "metrics encoding failed");
        return HttpResponse::InternalServerError().finish();
    }
    HttpResponse::Ok()
        .content_type(encoder.format_type())
        .body(body)
}

/// An olympiad as the public catalog shows it.
#[derive(Serialize)]
struct CatalogEntry<'a> {
    id: &'a str,
    title: &'a str,
    subject: &'a str,
    language: Language,
    grades: Vec<u8>,
    opens_at_ms: u64,
    closes_at_ms: u64,
    duration_s: u64,
}

impl<'a> From<&'a Olympiad> for CatalogEntry<'a> {
    fn from(o: &'a Olympiad) -> Self {
        Self {
            id: &o.id,
            title: &o.title,
            subject: &o.subject,
            language: o.language,
            grades: o.grades().collect(),
            opens_at_ms: o.opens_at_ms,
            closes_at_ms: o.closes_at_ms,
            duration_s: o.duration_s,
        }
    }
}

pub async fn olympiads(gateway: web::Data<Gateway>) -> Result<HttpResponse, ApiError> {
    let olympiads = gateway.engine.olympiads().await?;
    let entries: Vec<CatalogEntry> = olympiads.iter().map(CatalogEntry::from).collect();
    Ok(HttpResponse::Ok().json(entries))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    name: String,
    #[serde(default)]
    school: String,
    #[serde(default)]
    region: String,
    grade: u8,
}

#[derive(Serialize)]
struct Registered {
    session_id: String,
    participant_id: String,
    grade: u8,
    ticket: String,
}

pub async fn register(
    gateway: web::Data<Gateway>,
    olympiad_id: web::Path<String>,
    body: web::Json<RegisterBody>,
) -> Result<HttpResponse, ApiError> {
    let engine = &gateway.engine;
    let registration = engine
        .register(
            &olympiad_id,
            &body.name,
            &body.school,
            &body.region,
            body.grade,
        )
        .await?;
    let olympiad = engine
        .catalog()
        .olympiad(&olympiad_id)
        .await
        .map_err(engine::EngineError::from)?;
    let closes_at_ms = olympiad.map_or(now_ms(), |o| o.closes_at_ms);
    let claims = Claims {
        role: Role::Participant,
        sub: registration.participant_id.clone(),
        session: Some(registration.session_id.clone()),
        exp_ms: closes_at_ms + TICKET_GRACE_MS,
    };
    let ticket = gateway.signer.sign(&claims);
    Ok(HttpResponse::Created().json(Registered {
        session_id: registration.session_id,
        participant_id: registration.participant_id,
        grade: registration.grade,
        ticket,
    }))
}

#[derive(Serialize)]
struct Started {
    #[serde(flatten)]
    view: engine::session::push::SessionView,
    ws_url: String,
}

/// The `Host` header a client reached this server with.
pub fn host_header(request: &HttpRequest) -> Option<&str> {
    request.headers().get("host")?.to_str().ok()
}

pub async fn start_session(
    gateway: web::Data<Gateway>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let claims = bearer::require(&gateway, &request, &[Role::Participant])?;
    let session_id = claims.session.ok_or(crate::auth::AuthError::Malformed)?;
    let view = gateway.engine.start_session(&session_id).await?;
    Ok(HttpResponse::Ok().json(Started {
        view,
        ws_url: gateway.ws_url_for(host_header(&request)),
    }))
}
