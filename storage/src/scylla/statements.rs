//! Every CQL statement the backend sends, with whether it is safe to retry, prepared once on
//! connect. Nothing else builds CQL at run time: all data goes through bind markers.

use ::scylla::client::session::Session;
use ::scylla::errors::PrepareError;
use ::scylla::statement::prepared::PreparedStatement;
use ::scylla::statement::{Consistency, SerialConsistency};

/// How a statement is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// A write whose repetition leaves the same state: the driver may retry it.
    IdempotentWrite,
    /// A lightweight transaction whose outcome is unknown after a timeout and whose
    /// repetition could answer differently: never retried by the driver.
    ConditionalWrite,
    /// A read at the configured consistency.
    Read,
    /// A linearizable read (the serial consistency): it sees every committed Paxos round.
    SerialRead,
}

/// One statement: its CQL and how it runs.
#[derive(Clone, Copy, Debug)]
pub(super) struct Spec {
    pub cql: &'static str,
    pub kind: Kind,
}

const fn spec(cql: &'static str, kind: Kind) -> Spec {
    Spec { cql, kind }
}

pub(super) const INSERT_EVENT: Spec = spec(
    "INSERT INTO olymp.events (stream, bucket, seq, epoch, body) VALUES (?, ?, ?, ?, ?)",
    Kind::IdempotentWrite,
);
/// Sets a partition's fence if it holds the expected value (null for a partition never
/// fenced). With the same value on both sides it is the condition of a fenced append.
/// Repeating it is harmless: the second try finds the new value and is not applied.
pub(super) const SWAP_FENCE: Spec = spec(
    "UPDATE olymp.events SET fence = ? WHERE stream = ? AND bucket = ? IF fence = ?",
    Kind::IdempotentWrite,
);
pub(super) const SELECT_FENCE: Spec = spec(
    "SELECT fence FROM olymp.events WHERE stream = ? AND bucket = ? LIMIT 1",
    Kind::SerialRead,
);
pub(super) const SELECT_SEQS: Spec = spec(
    "SELECT seq FROM olymp.events WHERE stream = ? AND bucket = ? AND seq >= ? AND seq <= ?",
    Kind::Read,
);
pub(super) const SELECT_EVENTS: Spec = spec(
    "SELECT seq, body FROM olymp.events WHERE stream = ? AND bucket = ? AND seq >= ?",
    Kind::Read,
);
pub(super) const SELECT_LEASE: Spec = spec(
    "SELECT owner, epoch, expires_at_ms FROM olymp.leases WHERE key = ?",
    Kind::SerialRead,
);
pub(super) const INSERT_LEASE: Spec = spec(
    "INSERT INTO olymp.leases (key, owner, epoch, expires_at_ms) VALUES (?, ?, ?, ?) \
     IF NOT EXISTS",
    Kind::ConditionalWrite,
);
pub(super) const TAKE_LEASE: Spec = spec(
    "UPDATE olymp.leases SET owner = ?, epoch = ?, expires_at_ms = ? WHERE key = ? \
     IF owner = ? AND epoch = ?",
    Kind::ConditionalWrite,
);
pub(super) const EXTEND_LEASE: Spec = spec(
    "UPDATE olymp.leases SET expires_at_ms = ? WHERE key = ? IF owner = ? AND epoch = ?",
    Kind::ConditionalWrite,
);
pub(super) const CREATE_DOCUMENT: Spec = spec(
    "INSERT INTO olymp.documents (dir, bucket, key, value, group_id) VALUES (?, ?, ?, ?, ?) \
     IF NOT EXISTS",
    Kind::ConditionalWrite,
);
/// Takes back a create of a failed group; repeating it finds nothing to delete.
pub(super) const UNDO_CREATE: Spec = spec(
    "DELETE FROM olymp.documents WHERE dir = ? AND bucket = ? AND key = ? IF group_id = ?",
    Kind::IdempotentWrite,
);
/// Which group created a document, read linearizably: the group log's sweep decides by it.
pub(super) const SELECT_DOCUMENT_GROUP: Spec = spec(
    "SELECT group_id FROM olymp.documents WHERE dir = ? AND bucket = ? AND key = ?",
    Kind::SerialRead,
);
/// Puts and deletes carry a client timestamp set per execution (see `documents.rs`).
pub(super) const PUT_DOCUMENT: Spec = spec(
    "INSERT INTO olymp.documents (dir, bucket, key, value) VALUES (?, ?, ?, ?)",
    Kind::IdempotentWrite,
);
pub(super) const DELETE_DOCUMENT: Spec = spec(
    "DELETE FROM olymp.documents WHERE dir = ? AND bucket = ? AND key = ?",
    Kind::IdempotentWrite,
);
pub(super) const GET_DOCUMENT: Spec = spec(
    "SELECT value FROM olymp.documents WHERE dir = ? AND bucket = ? AND key = ?",
    Kind::Read,
);
pub(super) const SCAN_DOCUMENTS: Spec = spec(
    "SELECT key, value FROM olymp.documents WHERE dir = ? AND bucket = ? AND key >= ?",
    Kind::Read,
);
pub(super) const LINK_DIRECTORY: Spec = spec(
    "INSERT INTO olymp.document_dirs (parent, child) VALUES (?, ?)",
    Kind::IdempotentWrite,
);
pub(super) const SCAN_DIRECTORIES: Spec = spec(
    "SELECT child FROM olymp.document_dirs WHERE parent = ? AND child >= ?",
    Kind::Read,
);
/// The intent of a document group (`group_log.rs`); repeating it writes the same row.
pub(super) const INSERT_GROUP: Spec = spec(
    "INSERT INTO olymp.document_groups (shard, group_id, write_timestamp_us, writes) \
     VALUES (?, ?, ?, ?)",
    Kind::IdempotentWrite,
);
/// Marks a group's creates all made: from then on the group only rolls forward.
pub(super) const COMMIT_GROUP: Spec = spec(
    "UPDATE olymp.document_groups SET committed = true WHERE shard = ? AND group_id = ?",
    Kind::IdempotentWrite,
);
pub(super) const DELETE_GROUP: Spec = spec(
    "DELETE FROM olymp.document_groups WHERE shard = ? AND group_id = ?",
    Kind::IdempotentWrite,
);
pub(super) const SELECT_GROUPS: Spec = spec(
    "SELECT group_id, write_timestamp_us, committed, writes FROM olymp.document_groups \
     WHERE shard = ?",
    Kind::Read,
);

/// Every statement, in the order `Statements::prepare` prepares them.
pub(super) const ALL: [Spec; 22] = [
    INSERT_EVENT,
    SWAP_FENCE,
    SELECT_FENCE,
    SELECT_SEQS,
    SELECT_EVENTS,
    SELECT_LEASE,
    INSERT_LEASE,
    TAKE_LEASE,
    EXTEND_LEASE,
    CREATE_DOCUMENT,
    UNDO_CREATE,
    SELECT_DOCUMENT_GROUP,
    PUT_DOCUMENT,
    DELETE_DOCUMENT,
    GET_DOCUMENT,
    SCAN_DOCUMENTS,
    LINK_DIRECTORY,
    SCAN_DIRECTORIES,
    INSERT_GROUP,
    COMMIT_GROUP,
    DELETE_GROUP,
    SELECT_GROUPS,
];

/// Rows per page of a paged read.
pub(super) const PAGE_ROWS: i32 = 1_000;

/// The prepared statements, one field per `Spec`.
pub(super) struct Statements {
    pub insert_event: PreparedStatement,
    pub swap_fence: PreparedStatement,
    pub select_fence: PreparedStatement,
    pub select_seqs: PreparedStatement,
    pub select_events: PreparedStatement,
    pub select_lease: PreparedStatement,
    pub insert_lease: PreparedStatement,
    pub take_lease: PreparedStatement,
    pub extend_lease: PreparedStatement,
    pub create_document: PreparedStatement,
    pub undo_create: PreparedStatement,
    pub select_document_group: PreparedStatement,
    pub put_document: PreparedStatement,
    pub delete_document: PreparedStatement,
    pub get_document: PreparedStatement,
    pub scan_documents: PreparedStatement,
    pub link_directory: PreparedStatement,
    pub scan_directories: PreparedStatement,
    pub insert_group: PreparedStatement,
    pub commit_group: PreparedStatement,
    pub delete_group: PreparedStatement,
    pub select_groups: PreparedStatement,
}

impl Statements {
    /// Prepares every statement and sets its idempotence and consistency.
    pub async fn prepare(
        session: &Session,
        serial: SerialConsistency,
    ) -> Result<Self, (&'static str, PrepareError)> {
        let mut prepared = Vec::with_capacity(ALL.len());
        for spec in ALL {
            let statement = session
                .prepare(spec.cql)
                .await
                .map_err(|error| (spec.cql, error))?;
            prepared.push(configure(statement, spec.kind, serial));
        }
        let mut next = prepared.into_iter();
        let mut take = || next.next().expect("one prepared statement per spec");
        Ok(Self {
            insert_event: take(),
            swap_fence: take(),
            select_fence: take(),
            select_seqs: take(),
            select_events: take(),
            select_lease: take(),
            insert_lease: take(),
            take_lease: take(),
            extend_lease: take(),
            create_document: take(),
            undo_create: take(),
            select_document_group: take(),
            put_document: take(),
            delete_document: take(),
            get_document: take(),
            scan_documents: take(),
            link_directory: take(),
            scan_directories: take(),
            insert_group: take(),
            commit_group: take(),
            delete_group: take(),
            select_groups: take(),
        })
    }

    /// The statements in `ALL` order, for checks that must cover every one.
    #[cfg(test)]
    pub fn all(&self) -> [&PreparedStatement; 22] {
        [
            &self.insert_event,
            &self.swap_fence,
            &self.select_fence,
            &self.select_seqs,
            &self.select_events,
            &self.select_lease,
            &self.insert_lease,
            &self.take_lease,
            &self.extend_lease,
            &self.create_document,
            &self.undo_create,
            &self.select_document_group,
            &self.put_document,
            &self.delete_document,
            &self.get_document,
            &self.scan_documents,
            &self.link_directory,
            &self.scan_directories,
            &self.insert_group,
            &self.commit_group,
            &self.delete_group,
            &self.select_groups,
        ]
    }
}

fn configure(
    mut statement: PreparedStatement,
    kind: Kind,
    serial: SerialConsistency,
) -> PreparedStatement {
    statement.set_is_idempotent(matches!(
        kind,
        Kind::IdempotentWrite | Kind::Read | Kind::SerialRead
    ));
    statement.set_page_size(PAGE_ROWS);
    statement.set_serial_consistency(Some(serial));
    if kind == Kind::SerialRead {
        statement.set_consistency(match serial {
            SerialConsistency::Serial => Consistency::Serial,
            SerialConsistency::LocalSerial => Consistency::LocalSerial,
        });
    }
    statement
}
