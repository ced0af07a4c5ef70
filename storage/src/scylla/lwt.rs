//! The answer of a lightweight transaction: whether it applied and, as ScyllaDB returns it,
//! the row as it stood before. Columns are found by name, so the parse does not depend on
//! which columns the server chose to return (Cassandra returns only the conditioned ones).

use ::scylla::response::query_result::QueryResult;
use ::scylla::value::{CqlValue, Row};

use super::errors::OrStoreError;
use crate::event_store::StoreError;

/// The column every conditional statement's answer starts with.
const APPLIED: &str = "[applied]";

/// A conditional statement's (or conditional batch's first) answer row.
#[derive(Debug)]
pub(super) struct LwtOutcome {
    pub applied: bool,
    columns: Vec<(String, Option<CqlValue>)>,
}

impl LwtOutcome {
    pub fn parse(result: QueryResult, operation: &str) -> Result<Self, StoreError> {
        let rows = result.into_rows_result().or_store_error(operation)?;
        let names: Vec<String> = rows
            .column_specs()
            .iter()
            .map(|spec| spec.name().to_owned())
            .collect();
        let row: Row = rows
            .maybe_first_row::<Row>()
            .or_store_error(operation)?
            .ok_or_else(|| StoreError::Failed(format!("{operation}: empty answer")))?;
        let columns: Vec<_> = names.into_iter().zip(row.columns).collect();
        let applied = columns
            .iter()
            .find(|(name, _)| name == APPLIED)
            .and_then(|(_, value)| value.as_ref()?.as_boolean())
            .ok_or_else(|| StoreError::Failed(format!("{operation}: no {APPLIED} column")))?;
        Ok(Self { applied, columns })
    }

    fn value(&self, name: &str) -> Option<&CqlValue> {
        let (_, value) = self.columns.iter().find(|(column, _)| column == name)?;
        value.as_ref()
    }

    /// A `bigint` column of the previous row; `None` when absent or null.
    pub fn bigint(&self, name: &str) -> Option<i64> {
        self.value(name)?.as_bigint()
    }
}
