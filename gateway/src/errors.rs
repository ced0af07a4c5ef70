//! The one place that decides how an error reaches a client: its HTTP status, its
//! WebSocket error code, and whether an operator must hear of it. Client mistakes are
//! answered, not logged as errors; internal failures are hidden and logged once.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use engine::EngineError;
use engine::session::state::SessionError;
use serde::Serialize;

use crate::auth::AuthError;
use crate::protocol::{ErrorFrame, FrameError};

/// Stable code of a session refusal.
pub fn session_error_code(error: &SessionError) -> &'static str {
    match error {
        SessionError::NotStarted => "not_started",
        SessionError::Closed(_) => "session_closed",
        SessionError::DeadlinePassed => "deadline_passed",
        SessionError::WindowNotOpen => "window_not_open",
        SessionError::WindowClosed => "window_closed",
        SessionError::UnknownQuestion(_) => "unknown_question",
        SessionError::InvalidAnswer(_) => "invalid_answer",
        SessionError::ServerOnlyViolation(_) => "not_allowed",
        SessionError::StorageUnavailable => "storage_unavailable",
        SessionError::Busy => "busy",
        SessionError::UnknownSession => "unknown_session",
        SessionError::ServedElsewhere => "served_elsewhere",
        SessionError::UnknownEvent(_) => "unknown_event",
    }
}

/// A session refusal as a WebSocket error frame.
pub fn session_error_frame(error: &SessionError, seq: Option<u64>) -> ErrorFrame {
    ErrorFrame {
        code: session_error_code(error),
        message: error.to_string(),
        seq,
    }
}

/// A frame that could not be read, as an error frame.
pub fn frame_error_frame(error: &FrameError) -> ErrorFrame {
    let code = match error {
        FrameError::Malformed => "malformed_frame",
        FrameError::UnsupportedVersion(_) | FrameError::MissingVersion => "unsupported_version",
        FrameError::UnknownType(_) => "unknown_type",
        FrameError::Invalid { .. } => "invalid_frame",
        FrameError::Binary => "binary_not_supported",
    };
    ErrorFrame {
        code,
        message: error.to_string(),
        seq: None,
    }
}

/// A ticket problem as an error frame.
pub fn auth_error_frame(error: &AuthError) -> ErrorFrame {
    ErrorFrame {
        code: auth_error_code(error),
        message: error.to_string(),
        seq: None,
    }
}

fn auth_error_code(error: &AuthError) -> &'static str {
    match error {
        AuthError::Missing => "unauthenticated",
        AuthError::Malformed | AuthError::BadSignature => "ticket_invalid",
        AuthError::Expired => "ticket_expired",
        AuthError::Forbidden { .. } => "forbidden",
    }
}

/// Every error an HTTP handler can return.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error("{0}")]
    BadRequest(String),
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Blob(#[from] storage::blob::BlobError),
    #[error("too many uploads at once; retry shortly")]
    UploadsBusy,
    #[error("this session sends evidence faster than it may; retry in {0} s")]
    UploadRateLimited(u64),
    #[error("this session's previous upload is still in progress; send one at a time")]
    UploadInFlight,
    #[error("the request body did not arrive in time")]
    BodyTimeout,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: String,
}

impl ApiError {
    fn code(&self) -> &'static str {
        match self {
            Self::Auth(error) => auth_error_code(error),
            Self::Session(error) => session_error_code(error),
            Self::Engine(error) => engine_error_code(error),
            Self::BadRequest(_) => "bad_request",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::NotFound => "not_found",
            Self::Blob(error) => blob_error_code(error),
            Self::UploadsBusy => "busy",
            Self::UploadRateLimited(_) | Self::UploadInFlight => "rate_limited",
            Self::BodyTimeout => "request_timeout",
        }
    }

    fn is_internal(&self) -> bool {
        self.status_code() == StatusCode::INTERNAL_SERVER_ERROR
    }
}

fn engine_error_code(error: &EngineError) -> &'static str {
    match error {
        EngineError::UnknownOlympiad(_) => "unknown_olympiad",
        EngineError::UnknownPaper(_) => "unknown_paper",
        EngineError::GradeNotOffered { .. } => "grade_not_offered",
        EngineError::InvalidOlympiad(_) => "invalid_olympiad",
        EngineError::InvalidQuestion { .. } | EngineError::EmptyPaper(_) => "invalid_paper",
        EngineError::PaperExists(_) => "paper_exists",
        EngineError::InvalidProfile(_) => "invalid_profile",
        EngineError::AlreadyRegistered => "already_registered",
        EngineError::Session(error) => session_error_code(error),
        EngineError::Store(_) | EngineError::Catalog(_) => "internal",
    }
}

fn blob_error_code(error: &storage::blob::BlobError) -> &'static str {
    use storage::blob::BlobError;
    match error {
        BlobError::UnknownType => "unsupported_media_type",
        BlobError::TooLarge { .. } => "payload_too_large",
        BlobError::QuotaExceeded { .. } => "evidence_quota_exceeded",
        BlobError::StoreFull => "evidence_store_full",
        BlobError::BadNamespace(_) => "bad_request",
        BlobError::Io(_) => "internal",
    }
}

fn blob_status(error: &storage::blob::BlobError) -> StatusCode {
    use storage::blob::BlobError;
    match error {
        BlobError::UnknownType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        BlobError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        BlobError::QuotaExceeded { .. } | BlobError::StoreFull => StatusCode::INSUFFICIENT_STORAGE,
        BlobError::BadNamespace(_) => StatusCode::UNPROCESSABLE_ENTITY,
        BlobError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn session_status(error: &SessionError) -> StatusCode {
    match error {
        SessionError::UnknownSession => StatusCode::NOT_FOUND,
        SessionError::ServedElsewhere => StatusCode::MISDIRECTED_REQUEST,
        SessionError::NotStarted
        | SessionError::Closed(_)
        | SessionError::DeadlinePassed
        | SessionError::WindowNotOpen
        | SessionError::WindowClosed => StatusCode::CONFLICT,
        SessionError::UnknownQuestion(_)
        | SessionError::InvalidAnswer(_)
        | SessionError::ServerOnlyViolation(_)
        | SessionError::UnknownEvent(_) => StatusCode::UNPROCESSABLE_ENTITY,
        SessionError::StorageUnavailable | SessionError::Busy => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Auth(AuthError::Forbidden { .. }) => StatusCode::FORBIDDEN,
            Self::Auth(_) => StatusCode::UNAUTHORIZED,
            Self::Session(error) | Self::Engine(EngineError::Session(error)) => {
                session_status(error)
            }
            Self::Engine(EngineError::UnknownOlympiad(_) | EngineError::UnknownPaper(_)) => {
                StatusCode::NOT_FOUND
            }
            Self::Engine(EngineError::AlreadyRegistered | EngineError::PaperExists(_)) => {
                StatusCode::CONFLICT
            }
            Self::Engine(EngineError::Store(_) | EngineError::Catalog(_)) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Self::Engine(_) | Self::BadRequest(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UploadsBusy => StatusCode::SERVICE_UNAVAILABLE,
            Self::UploadRateLimited(_) | Self::UploadInFlight => StatusCode::TOO_MANY_REQUESTS,
            Self::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::Blob(error) => blob_status(error),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = if self.is_internal() {
            tracing::error!(error = %display_chain(self), "request failed");
            "internal error".to_owned()
        } else {
            display_chain(self)
        };
        let mut response = HttpResponse::build(self.status_code());
        if let Self::UploadRateLimited(seconds) = self {
            response.insert_header(("retry-after", seconds.to_string()));
        }
        response.json(ErrorBody {
            code: self.code(),
            message,
        })
    }
}

/// An error and its sources, joined: "invalid profile: name must not be empty".
pub fn display_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
