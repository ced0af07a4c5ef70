//! Evidence uploads: a camera snapshot or screen capture, sent by the exam client with its
//! session ticket. Refused by size before the body is read (by `Content-Length`) and
//! while it is read (by counting), typed by magic bytes, stored in the blob store, then
//! linked to the session and to the proctoring event it documents. Its own path, its own
//! bounds (a few uploads at once), its own metrics: it never holds up answers.

use std::sync::LazyLock;
use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse, web};
use engine::session::events::EvidenceKind;
use engine::session::state::{NewEvidence, SessionError};
use futures_util::StreamExt as _;
use prometheus::{Histogram, IntCounterVec, register_histogram, register_int_counter_vec};
use serde::Deserialize;

use super::bearer;
use crate::auth::{AuthError, Role};
use crate::errors::ApiError;
use crate::state::Gateway;

static UPLOADS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "olymp_evidence_uploads_total",
        "Evidence uploads, by outcome",
        &["outcome"]
    )
    .expect("metric registers once")
});

static UPLOAD_SECONDS: LazyLock<Histogram> = LazyLock::new(|| {
    register_histogram!(
        "olymp_evidence_upload_seconds",
        "Time to receive, store and link one evidence upload",
        vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]
    )
    .expect("metric registers once")
});

/// Registers the evidence metrics, so that `/metrics` lists them before the first upload.
pub(crate) fn register_metrics() {
    for outcome in ["stored", "too_large", "busy", "rate_limited", "refused"] {
        UPLOADS.with_label_values(&[outcome]);
    }
    LazyLock::force(&UPLOAD_SECONDS);
}

/// Query of an upload: what it shows, and which reported event it documents.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    kind: EvidenceKind,
    documents_seq: Option<u64>,
}

/// Longest an upload's body may take to arrive; a slow sender must not hold a slot.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

fn content_length(request: &HttpRequest) -> Option<u64> {
    request
        .headers()
        .get("content-length")?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Reads the body, never more than `limit_bytes`.
async fn read_bounded(mut payload: web::Payload, limit_bytes: u64) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|error| ApiError::BadRequest(error.to_string()))?;
        if (body.len() + chunk.len()) as u64 > limit_bytes {
            return Err(ApiError::PayloadTooLarge(limit_bytes as usize));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

pub async fn upload(
    gateway: web::Data<Gateway>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let started = Instant::now();
    let result = store_and_link(&gateway, &request, payload).await;
    let outcome = match &result {
        Ok(_) => "stored",
        Err(ApiError::PayloadTooLarge(_)) => "too_large",
        Err(ApiError::UploadsBusy) => "busy",
        Err(ApiError::UploadRateLimited(_) | ApiError::UploadInFlight) => "rate_limited",
        Err(_) => "refused",
    };
    UPLOADS.with_label_values(&[outcome]).inc();
    UPLOAD_SECONDS.observe(started.elapsed().as_secs_f64());
    result
}

async fn store_and_link(
    gateway: &Gateway,
    request: &HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let claims = bearer::require(gateway, request, &[Role::Participant])?;
    let session = claims.session.ok_or(AuthError::Malformed)?;
    let query = web::Query::<UploadQuery>::from_query(request.query_string())
        .map_err(|error| ApiError::BadRequest(error.to_string()))?;
    if let Err(not_until) = gateway.evidence.per_session.check_key(&session) {
        let wait = not_until.wait_time_from(governor::clock::Clock::now(
            &governor::clock::DefaultClock::default(),
        ));
        let seconds = wait.as_secs_f64().ceil() as u64;
        return Err(ApiError::UploadRateLimited(seconds.max(1)));
    }
    let blobs = &gateway.evidence.blobs;
    let limit_bytes = blobs.max_blob_bytes();
    if content_length(request).is_some_and(|length| length > limit_bytes) {
        return Err(ApiError::PayloadTooLarge(limit_bytes as usize));
    }
    let _turn = gateway
        .evidence
        .turn(&session)
        .ok_or(ApiError::UploadInFlight)?;
    let _slot = gateway
        .evidence
        .upload_slots
        .try_acquire()
        .map_err(|_| ApiError::UploadsBusy)?;
    let body = tokio::time::timeout(BODY_TIMEOUT, read_bounded(payload, limit_bytes))
        .await
        .map_err(|_| ApiError::BodyTimeout)??;
    if body.is_empty() {
        return Err(ApiError::BadRequest(
            "the request body is empty: send the image".into(),
        ));
    }
    let stored = blobs.put(&session, body).await?;
    let evidence = NewEvidence {
        id: stored.id.clone(),
        kind: query.kind,
        media_type: stored.media_type.mime().to_owned(),
        bytes: stored.bytes,
        documents_seq: query.documents_seq,
    };
    if let Err(error) = gateway.engine.attach_evidence(&session, evidence).await {
        // A refused link must leave nothing behind that it stored. A link whose outcome is
        // unknown (the store failed or the session did not answer in time) may still be
        // made: its image stays.
        let outcome_unknown =
            matches!(error, SessionError::StorageUnavailable | SessionError::Busy);
        if stored.newly_stored && !outcome_unknown {
            let _ = blobs.remove(&session, &stored.id).await;
        }
        return Err(error.into());
    }
    Ok(HttpResponse::Created().json(serde_json::json!({
        "evidence_id": stored.id,
        "media_type": stored.media_type,
        "bytes": stored.bytes,
    })))
}
