//! The driver's retry policy: its default, except that a write timeout on an idempotent
//! statement (an event append, a put) is retried on the same node, up to twice. The
//! default retries write timeouts only for batch-log writes. Lease and create
//! transactions are not idempotent and are never retried: their caller decides.

use ::scylla::errors::{DbError, RequestAttemptError};
use ::scylla::policies::retry::{
    DefaultRetrySession, RequestInfo, RetryDecision, RetryPolicy, RetrySession,
};

/// Retries of one request after write timeouts.
pub const WRITE_TIMEOUT_RETRIES_MAX: u32 = 2;

/// See the module documentation.
#[derive(Debug, Default)]
pub struct OlympRetryPolicy;

impl RetryPolicy for OlympRetryPolicy {
    fn new_session(&self) -> Box<dyn RetrySession> {
        Box::new(OlympRetrySession {
            default: DefaultRetrySession::new(),
            write_timeout_retries: 0,
        })
    }
}

struct OlympRetrySession {
    default: DefaultRetrySession,
    write_timeout_retries: u32,
}

impl RetrySession for OlympRetrySession {
    fn decide_should_retry(&mut self, request: RequestInfo) -> RetryDecision {
        let RequestAttemptError::DbError(DbError::WriteTimeout { .. }, _) = request.error else {
            return self.default.decide_should_retry(request);
        };
        if request.is_idempotent && self.write_timeout_retries < WRITE_TIMEOUT_RETRIES_MAX {
            self.write_timeout_retries += 1;
            return RetryDecision::RetrySameTarget(None);
        }
        RetryDecision::DontRetry
    }

    fn reset(&mut self) {
        self.default.reset();
        self.write_timeout_retries = 0;
    }
}
