//! A simulated ScyllaDB node: scylla-proxy in dry mode on a loopback address, answering the
//! handshake and the backend's own statements from rules. It knows the tables only from
//! `storage/schema/olymp.cql`, so a statement naming a column the schema lacks, or binding
//! a value of the wrong type, fails here as it would on a cluster. It stores nothing:
//! every read finds no rows and every transaction applies, unless a test's rule says other.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use ::scylla::errors::DbError;
use scylla_proxy::{
    Condition, Node, Proxy, Reaction, RequestFrame, RequestOpcode, RequestReaction, RequestRule,
    ResponseFrame, ResponseOpcode, RunningProxy,
};

use super::super::statements::{ALL, Spec};
use super::super::{ScyllaConfig, ScyllaStore, schema};

/// CQL type ids of the protocol (v4) for the types the schema uses.
const BIGINT: u16 = 0x0002;
const BLOB: u16 = 0x0003;
const BOOLEAN: u16 = 0x0004;
const INT: u16 = 0x0009;
const UUID: u16 = 0x000C;
const TEXT: u16 = 0x000D;

/// RESULT kinds.
const VOID: i32 = 0x0001;
const ROWS: i32 = 0x0002;
const PREPARED: i32 = 0x0004;

/// Metadata flags.
const GLOBAL_TABLE_SPEC: i32 = 0x0001;
const NO_METADATA: i32 = 0x0004;

/// A running simulated node.
pub(crate) struct FakeNode {
    pub address: SocketAddr,
    proxy: RunningProxy,
}

impl FakeNode {
    /// Starts a node on a fresh loopback address; `rules` come before its own answers.
    pub async fn start(rules: Vec<RequestRule>) -> Self {
        let address = SocketAddr::new(scylla_proxy::get_exclusive_local_address(), 9042);
        assert!(
            address.ip().is_loopback(),
            "the fake node binds to loopback only"
        );
        let mut all = handshake_rules();
        all.extend(rules);
        all.push(RequestRule(Condition::True, answer_reaction()));
        let node = Node::builder()
            .proxy_address(address)
            .request_rules(all)
            .build_dry_mode();
        let proxy = Proxy::builder()
            .with_node(node)
            .build()
            .run()
            .await
            .unwrap();
        Self { address, proxy }
    }

    /// A store connected to this node, without schema creation and with short timeouts.
    pub async fn connect(&self) -> ScyllaStore {
        self.connect_with(|_| {}).await
    }

    /// `connect`, with the configuration changed by `adjust` first.
    pub async fn connect_with(&self, adjust: impl FnOnce(&mut ScyllaConfig)) -> ScyllaStore {
        let mut config = ScyllaConfig::new(vec![self.address.to_string()]).unwrap();
        config.create_schema = false;
        config.request_timeout_ms = 1_000;
        config.connection_timeout_ms = 1_000;
        adjust(&mut config);
        ScyllaStore::connect(&config)
            .await
            .expect("connects to the fake node")
    }

    /// Adds rules ahead of every other, for what a test wants answered only after connect.
    pub fn prepend_rules(&mut self, rules: Vec<RequestRule>) {
        for node in &mut self.proxy.running_nodes {
            node.prepend_request_rules(rules.clone());
        }
    }

    pub async fn stop(self) {
        let _ = self.proxy.finish().await;
    }
}

/// The handshake, and an error for every unprepared query (the driver's metadata queries on
/// the control connection), which makes the driver fall back to metadata of its own.
fn handshake_rules() -> Vec<RequestRule> {
    let supported = |frame: RequestFrame| {
        ResponseFrame::forged_supported(frame.params, &HashMap::new()).unwrap()
    };
    let ready = |frame: RequestFrame| ResponseFrame::forged_ready(frame.params);
    vec![
        RequestRule(
            Condition::RequestOpcode(RequestOpcode::Options),
            RequestReaction::forge_response(Arc::new(supported)),
        ),
        RequestRule(
            Condition::or(
                Condition::RequestOpcode(RequestOpcode::Startup),
                Condition::RequestOpcode(RequestOpcode::Register),
            ),
            RequestReaction::forge_response(Arc::new(ready)),
        ),
        RequestRule(
            Condition::RequestOpcode(RequestOpcode::Query),
            RequestReaction::forge().server_error(),
        ),
    ]
}

/// The node's own answer to PREPARE, EXECUTE and BATCH, for tests' rules to reuse.
pub(crate) fn answer_reaction() -> RequestReaction {
    RequestReaction::forge_response(Arc::new(answer))
}

/// The id the node gives a statement: unique, and easy to find in a frame's body.
pub(crate) fn statement_id(spec: Spec) -> Vec<u8> {
    let index = ALL
        .iter()
        .position(|s| s.cql == spec.cql)
        .expect("a known statement");
    format!("olymp-statement-{index:02}").into_bytes()
}

/// True for frames (EXECUTE or BATCH) that run `spec`.
pub(crate) fn runs(spec: Spec) -> Condition {
    Condition::BodyContainsCaseSensitive(statement_id(spec).into_boxed_slice())
}

/// Whether a frame runs `spec`.
pub(crate) fn frame_runs(frame: &RequestFrame, spec: Spec) -> bool {
    let id = statement_id(spec);
    frame
        .body
        .windows(id.len())
        .any(|window| window == id.as_slice())
}

/// The statement text of a PREPARE frame.
pub(crate) fn prepared_text(frame: &RequestFrame) -> String {
    let length = u32::from_be_bytes(frame.body[..4].try_into().unwrap()) as usize;
    String::from_utf8(frame.body[4..4 + length].to_vec()).unwrap()
}

fn spec_of_id(id: &[u8]) -> Option<Spec> {
    ALL.iter().copied().find(|spec| statement_id(*spec) == id)
}

fn answer(frame: RequestFrame) -> ResponseFrame {
    match frame.opcode {
        RequestOpcode::Prepare => {
            let text = prepared_text(&frame);
            match ALL.iter().find(|spec| spec.cql == text) {
                Some(spec) => result(&frame, prepared(*spec)),
                None => error(&frame, DbError::Invalid, "unknown statement"),
            }
        }
        RequestOpcode::Execute => {
            let length = u16::from_be_bytes([frame.body[0], frame.body[1]]) as usize;
            match spec_of_id(&frame.body[2..2 + length]) {
                Some(spec) => result(&frame, executed(spec)),
                None => error(&frame, DbError::Invalid, "unknown statement id"),
            }
        }
        RequestOpcode::Batch => {
            let conditional = ALL
                .iter()
                .any(|spec| is_conditional(*spec) && frame_runs(&frame, *spec));
            let body = if conditional {
                lwt_rows(true, &[])
            } else {
                void()
            };
            result(&frame, body)
        }
        _ => error(&frame, DbError::ProtocolError, "not simulated"),
    }
}

pub(crate) fn result(frame: &RequestFrame, body: Vec<u8>) -> ResponseFrame {
    ResponseFrame::new(
        frame.params.for_response(),
        ResponseOpcode::Result,
        body.into(),
    )
}

fn error(frame: &RequestFrame, error: DbError, message: &str) -> ResponseFrame {
    ResponseFrame::forged_error(frame.params, error, Some(message)).unwrap()
}

fn is_conditional(spec: Spec) -> bool {
    spec.cql.contains(" IF ")
}

/// The protocol's primitive encodings.
#[derive(Default)]
struct Body(Vec<u8>);

impl Body {
    fn int(mut self, value: i32) -> Self {
        self.0.extend_from_slice(&value.to_be_bytes());
        self
    }

    fn short(mut self, value: u16) -> Self {
        self.0.extend_from_slice(&value.to_be_bytes());
        self
    }

    fn string(self, value: &str) -> Self {
        let mut body = self.short(value.len() as u16);
        body.0.extend_from_slice(value.as_bytes());
        body
    }

    fn short_bytes(self, value: &[u8]) -> Self {
        let mut body = self.short(value.len() as u16);
        body.0.extend_from_slice(value);
        body
    }

    fn bytes(self, value: Option<&[u8]>) -> Self {
        match value {
            None => self.int(-1),
            Some(value) => {
                let mut body = self.int(value.len() as i32);
                body.0.extend_from_slice(value);
                body
            }
        }
    }

    /// Metadata with a global table spec, then a (name, type) per column.
    fn columns(self, table: &str, columns: &[(String, u16)]) -> Self {
        let mut body = self.string("olymp").string(table);
        for (name, typ) in columns {
            body = body.string(name).short(*typ);
        }
        body
    }
}

fn void() -> Vec<u8> {
    Body::default().int(VOID).0
}

/// An empty result of a SELECT.
fn no_rows(table: &str, columns: &[(String, u16)]) -> Vec<u8> {
    Body::default()
        .int(ROWS)
        .int(GLOBAL_TABLE_SPEC)
        .int(columns.len() as i32)
        .columns(table, columns)
        .int(0)
        .0
}

/// A SELECT's answer with the given rows, each cell encoded as CQL (`None` is null), in the
/// order of the statement's selected columns.
pub(crate) fn rows(spec: Spec, rows: &[Vec<Option<Vec<u8>>>]) -> Vec<u8> {
    let shape = Shape::of(spec);
    let mut body = Body::default()
        .int(ROWS)
        .int(GLOBAL_TABLE_SPEC)
        .int(shape.results.len() as i32)
        .columns(&shape.table, &shape.results)
        .int(rows.len() as i32);
    for row in rows {
        assert_eq!(row.len(), shape.results.len(), "one cell per column");
        for cell in row {
            body = body.bytes(cell.as_deref());
        }
    }
    body.0
}

/// A lightweight transaction's answer: `[applied]`, then `bigint` columns of the old row.
pub(crate) fn lwt_rows(applied: bool, old_row: &[(&str, Option<i64>)]) -> Vec<u8> {
    let mut columns = vec![("[applied]".to_owned(), BOOLEAN)];
    columns.extend(old_row.iter().map(|(name, _)| ((*name).to_owned(), BIGINT)));
    let mut body = Body::default()
        .int(ROWS)
        .int(GLOBAL_TABLE_SPEC)
        .int(columns.len() as i32)
        .columns("events", &columns)
        .int(1)
        .bytes(Some(&[u8::from(applied)]));
    for (_, value) in old_row {
        body = body.bytes(
            value
                .map(|v| v.to_be_bytes())
                .as_ref()
                .map(|v| v.as_slice()),
        );
    }
    body.0
}

fn prepared(spec: Spec) -> Vec<u8> {
    let shape = Shape::of(spec);
    let body = Body::default()
        .int(PREPARED)
        .short_bytes(&statement_id(spec))
        .int(GLOBAL_TABLE_SPEC)
        .int(shape.binds.len() as i32)
        .int(0)
        .columns(&shape.table, &shape.binds);
    let body = if shape.results.is_empty() {
        body.int(NO_METADATA).int(0)
    } else {
        body.int(GLOBAL_TABLE_SPEC)
            .int(shape.results.len() as i32)
            .columns(&shape.table, &shape.results)
    };
    body.0
}

fn executed(spec: Spec) -> Vec<u8> {
    let shape = Shape::of(spec);
    if is_conditional(spec) {
        lwt_rows(true, &[])
    } else if shape.results.is_empty() {
        void()
    } else {
        no_rows(&shape.table, &shape.results)
    }
}

/// A statement's table, bind markers and selected columns, with their types from the
/// schema file.
struct Shape {
    table: String,
    binds: Vec<(String, u16)>,
    results: Vec<(String, u16)>,
}

impl Shape {
    fn of(spec: Spec) -> Self {
        let tokens: Vec<&str> = spec
            .cql
            .split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')')
            .filter(|token| !token.is_empty())
            .collect();
        let table_at = tokens
            .iter()
            .position(|t| t.starts_with("olymp."))
            .expect("statements name olymp.<table>");
        let table = tokens[table_at].trim_start_matches("olymp.").to_owned();
        let types = column_types(&table);
        let typed = |name: &str| {
            let typ = *types
                .get(name)
                .unwrap_or_else(|| panic!("{table}.{name} is not in the schema file"));
            (name.to_owned(), typ)
        };
        let binds = if tokens[0] == "INSERT" {
            let values_at = tokens.iter().position(|t| *t == "VALUES").unwrap();
            tokens[table_at + 1..values_at]
                .iter()
                .zip(&tokens[values_at + 1..])
                .filter(|(_, value)| **value == "?")
                .map(|(column, _)| typed(column))
                .collect()
        } else {
            let markers = tokens.iter().enumerate().filter(|(_, t)| **t == "?");
            markers.map(|(at, _)| typed(tokens[at - 2])).collect()
        };
        let results = if tokens[0] == "SELECT" {
            tokens[1..table_at - 1].iter().map(|c| typed(c)).collect()
        } else {
            Vec::new()
        };
        Self {
            table,
            binds,
            results,
        }
    }
}

/// Column types of one table, read from `CREATE TABLE` in the schema file.
fn column_types(table: &str) -> HashMap<String, u16> {
    let create = format!("CREATE TABLE IF NOT EXISTS olymp.{table} (");
    let statement = schema::statements(schema::SCHEMA_CQL)
        .into_iter()
        .find(|s| s.starts_with(&create))
        .unwrap_or_else(|| panic!("the schema file creates {table}"));
    // Columns end where a separate PRIMARY KEY clause starts, or with the statement.
    let end = statement
        .find("PRIMARY KEY (")
        .or_else(|| statement.rfind(')'))
        .unwrap();
    let columns = &statement[create.len()..end];
    columns
        .split(',')
        .filter_map(|column| {
            let mut words = column.split_whitespace();
            let name = words.next()?;
            let typ = match words.next()? {
                "bigint" => BIGINT,
                "blob" => BLOB,
                "boolean" => BOOLEAN,
                "int" => INT,
                "uuid" => UUID,
                "text" => TEXT,
                other => panic!("{table}.{name} has a type the fake node lacks: {other}"),
            };
            Some((name.to_owned(), typ))
        })
        .collect()
}

#[test]
fn every_statement_names_columns_of_the_schema_file() {
    for spec in ALL {
        let shape = Shape::of(spec);
        assert!(!shape.binds.is_empty(), "{} binds its values", spec.cql);
    }
    let insert = Shape::of(super::super::statements::INSERT_EVENT);
    let names: Vec<_> = insert.binds.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["stream", "bucket", "seq", "epoch", "body"]);
}
