//! How driver errors become the storage contract's `StoreError`: overload is `Overloaded`,
//! everything else `Failed` with a message that says what happened and whether a write's
//! outcome is unknown. One place decides it, counts it and logs it, so every operation
//! reports alike.

use std::fmt::Display;

use ::scylla::client::pager::NextRowError;
use ::scylla::errors::{
    DbError, ExecutionError, NextPageError, PagerExecutionError, RequestAttemptError, RequestError,
};

use super::metrics::{self, FailureKind};
use crate::event_store::StoreError;

/// What a driver error says about the cluster, beyond its text.
pub(super) trait DriverError: Display {
    /// The database's own error, when the coordinator answered with one.
    fn db_error(&self) -> Option<&DbError> {
        None
    }

    /// Whether the client gave up waiting.
    fn client_timeout(&self) -> bool {
        false
    }
}

impl DriverError for ExecutionError {
    fn db_error(&self) -> Option<&DbError> {
        match self {
            ExecutionError::LastAttemptError(RequestAttemptError::DbError(error, _)) => Some(error),
            _ => None,
        }
    }

    fn client_timeout(&self) -> bool {
        matches!(self, ExecutionError::RequestTimeout(_))
    }
}

fn page_db_error(error: &NextPageError) -> Option<&DbError> {
    match error {
        NextPageError::RequestFailure(RequestError::LastAttemptError(
            RequestAttemptError::DbError(error, _),
        )) => Some(error),
        _ => None,
    }
}

fn page_client_timeout(error: &NextPageError) -> bool {
    matches!(
        error,
        NextPageError::RequestFailure(RequestError::RequestTimeout(_))
    )
}

impl DriverError for PagerExecutionError {
    fn db_error(&self) -> Option<&DbError> {
        match self {
            PagerExecutionError::NextPageError(error) => page_db_error(error),
            _ => None,
        }
    }

    fn client_timeout(&self) -> bool {
        matches!(self, PagerExecutionError::NextPageError(error) if page_client_timeout(error))
    }
}

impl DriverError for NextRowError {
    fn db_error(&self) -> Option<&DbError> {
        match self {
            NextRowError::NextPageError(error) => page_db_error(error),
            _ => None,
        }
    }

    fn client_timeout(&self) -> bool {
        matches!(self, NextRowError::NextPageError(error) if page_client_timeout(error))
    }
}

/// Errors of reading a result that arrived: they say nothing about the cluster.
macro_rules! result_errors {
    ($($error:ty),* $(,)?) => {
        $(impl DriverError for $error {})*
    };
}

result_errors!(
    ::scylla::response::query_result::IntoRowsResultError,
    ::scylla::response::query_result::RowsError,
    ::scylla::response::query_result::MaybeFirstRowError,
    ::scylla::deserialize::TypeCheckError,
    ::scylla::deserialize::DeserializationError,
);

/// The contract's error for a driver error met during `operation`, counted and logged.
pub(super) fn store_error(operation: &str, error: &impl DriverError) -> StoreError {
    let (kind, error) = classify(operation, error);
    let message = match &error {
        StoreError::Failed(message) => message.as_str(),
        _ => "overloaded",
    };
    metrics::request_failed(operation, kind, message);
    error
}

fn classify(operation: &str, error: &impl DriverError) -> (FailureKind, StoreError) {
    if error.client_timeout() {
        let message = format!(
            "{operation}: no answer from the cluster in time; a write's outcome is unknown"
        );
        return (FailureKind::Timeout, StoreError::Failed(message));
    }
    match error.db_error() {
        Some(DbError::Overloaded | DbError::RateLimitReached { .. }) => {
            (FailureKind::Overloaded, StoreError::Overloaded)
        }
        Some(DbError::Unavailable {
            consistency,
            required,
            alive,
        }) => {
            let message = format!(
                "{operation}: cluster unavailable: {consistency} needs {required} replicas, \
                 {alive} alive; nothing was written"
            );
            (FailureKind::Unavailable, StoreError::Failed(message))
        }
        Some(DbError::WriteTimeout {
            consistency,
            received,
            required,
            ..
        }) => {
            let message = format!(
                "{operation}: write timed out at {consistency} ({received} of {required} \
                 replicas answered); its outcome is unknown"
            );
            (FailureKind::Timeout, StoreError::Failed(message))
        }
        Some(DbError::ReadTimeout { consistency, .. }) => {
            let message = format!("{operation}: read timed out at {consistency}");
            (FailureKind::Timeout, StoreError::Failed(message))
        }
        _ => (
            FailureKind::Other,
            StoreError::Failed(format!("{operation}: {error}")),
        ),
    }
}

/// `?` for driver results: names the operation and maps the error.
pub(super) trait OrStoreError<T> {
    fn or_store_error(self, operation: &str) -> Result<T, StoreError>;
}

impl<T, E: DriverError> OrStoreError<T> for Result<T, E> {
    fn or_store_error(self, operation: &str) -> Result<T, StoreError> {
        self.map_err(|error| store_error(operation, &error))
    }
}
