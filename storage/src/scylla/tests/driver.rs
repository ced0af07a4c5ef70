//! Driver-level tests against the simulated node. They run in CI, where no ScyllaDB can be.
//!
//! What they prove: every statement is prepared on connect and none is sent as text
//! afterwards; each append is one BATCH frame (with the fence condition first when fenced);
//! appends, puts and reads are marked idempotent, lease and create transactions are not; a
//! write timeout is retried for an append and not for a lease claim; overload,
//! unavailability and silence come back as errors (so the caller acknowledges nothing); an
//! answer "not applied, fence 7" refuses a fenced append; a conflicting create takes back the
//! group's earlier creates and deletes its intent; several puts and deletes go as one logged
//! batch (the group log's own tests are in `group_log.rs`). What they do not prove: anything
//! about data on a real cluster — the simulated node stores nothing, so partitioning, Paxos,
//! fencing across nodes and the contract's semantics are checked only by `contract.rs`
//! against a real cluster.

use std::time::Duration;

use scylla_proxy::{
    Condition, Reaction, RequestFrame, RequestOpcode, RequestReaction, RequestRule,
};
use tokio::sync::mpsc;

use super::fake_node::{
    FakeNode, answer_reaction, frame_runs, lwt_rows, prepared_text, result, runs,
};
use crate::document_store::{DocumentStore, DocumentWrite};
use crate::event_store::{AppendOutcome, EventStore, NewEvent, StoreError};
use crate::lease::{LeaseError, LeaseStore};
use crate::scylla::statements::{self, ALL, Kind};

pub(super) type Frames = mpsc::UnboundedReceiver<(RequestFrame, Option<u16>)>;

/// A channel the proxy copies every frame a rule matched into.
pub(super) fn feedback() -> (mpsc::UnboundedSender<(RequestFrame, Option<u16>)>, Frames) {
    mpsc::unbounded_channel()
}

/// The frames received so far.
pub(super) fn drain(frames: &mut Frames) -> Vec<RequestFrame> {
    let mut out = Vec::new();
    while let Ok((frame, _)) = frames.try_recv() {
        out.push(frame);
    }
    out
}

pub(super) fn opcode(opcode: RequestOpcode) -> Condition {
    Condition::RequestOpcode(opcode)
}

fn events(seqs: std::ops::RangeInclusive<u64>) -> Vec<NewEvent> {
    seqs.map(|seq| NewEvent {
        seq,
        body: format!("answer {seq}").into_bytes(),
    })
    .collect()
}

/// Time for a retry that should not happen to show up.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn every_statement_is_prepared_on_connect_and_an_append_is_one_prepared_batch() {
    let (prepares_tx, mut prepares) = feedback();
    let (sent_tx, mut sent) = feedback();
    let node = FakeNode::start(vec![
        // The control connection (the one that registered for events) prepares the
        // driver's own metadata queries; only the backend's connections count here.
        RequestRule(
            opcode(RequestOpcode::Prepare)
                .and(Condition::not(Condition::ConnectionRegisteredAnyEvent)),
            answer_reaction().with_feedback_when_performed(prepares_tx),
        ),
        RequestRule(
            Condition::any([
                opcode(RequestOpcode::Query),
                opcode(RequestOpcode::Execute),
                opcode(RequestOpcode::Batch),
            ])
            .and(Condition::not(Condition::ConnectionRegisteredAnyEvent)),
            answer_reaction().with_feedback_when_performed(sent_tx),
        ),
    ])
    .await;
    let store = node.connect().await;

    let prepared: std::collections::BTreeSet<String> =
        drain(&mut prepares).iter().map(prepared_text).collect();
    let expected = ALL.iter().map(|spec| spec.cql.to_owned()).collect();
    assert_eq!(prepared, expected, "each statement prepared, nothing else");
    drain(&mut sent);

    let outcome = store.append("s/prepared", events(1..=3)).await.unwrap();
    assert_eq!(
        outcome,
        AppendOutcome {
            stored: 3,
            duplicates: 0
        }
    );
    let frames = drain(&mut sent);
    let opcodes: Vec<_> = frames.iter().map(|frame| frame.opcode).collect();
    assert_eq!(
        opcodes,
        [RequestOpcode::Execute, RequestOpcode::Batch],
        "one read of stored sequences, then one batch; no statement text"
    );
    assert!(frame_runs(&frames[0], statements::SELECT_SEQS));
    assert!(frame_runs(&frames[1], statements::INSERT_EVENT));
    assert!(drain(&mut prepares).is_empty(), "nothing prepared again");
    node.stop().await;
}

#[tokio::test]
async fn appends_and_reads_are_idempotent_and_transactions_on_leases_and_creates_are_not() {
    let node = FakeNode::start(Vec::new()).await;
    let store = node.connect().await;
    for (spec, statement) in ALL.iter().zip(store.statements().all()) {
        let retry_safe = spec.kind != Kind::ConditionalWrite;
        assert_eq!(statement.get_is_idempotent(), retry_safe, "{}", spec.cql);
    }
    let idempotent = |spec: statements::Spec| spec.kind != Kind::ConditionalWrite;
    assert!(idempotent(statements::INSERT_EVENT) && idempotent(statements::SWAP_FENCE));
    for spec in [
        statements::INSERT_LEASE,
        statements::TAKE_LEASE,
        statements::EXTEND_LEASE,
        statements::CREATE_DOCUMENT,
    ] {
        assert!(!idempotent(spec), "{}", spec.cql);
    }
    node.stop().await;
}

#[tokio::test]
async fn a_write_timeout_on_an_append_is_retried_and_the_append_then_succeeds() {
    let (batches_tx, mut batches) = feedback();
    let node = FakeNode::start(vec![
        RequestRule(
            opcode(RequestOpcode::Batch).and(Condition::TrueForLimitedTimes(1)),
            RequestReaction::forge()
                .write_timeout()
                .with_feedback_when_performed(batches_tx.clone()),
        ),
        RequestRule(
            opcode(RequestOpcode::Batch),
            answer_reaction().with_feedback_when_performed(batches_tx),
        ),
    ])
    .await;
    let store = node.connect().await;

    let outcome = store.append("s/timeout", events(1..=2)).await.unwrap();
    assert_eq!(outcome.stored, 2);
    assert_eq!(
        drain(&mut batches).len(),
        2,
        "the timed-out batch was sent again"
    );
    node.stop().await;
}

#[tokio::test]
async fn a_write_timeout_on_a_lease_claim_is_not_retried() {
    let (claims_tx, mut claims) = feedback();
    let node = FakeNode::start(vec![RequestRule(
        opcode(RequestOpcode::Execute).and(runs(statements::INSERT_LEASE)),
        RequestReaction::forge()
            .write_timeout()
            .with_feedback_when_performed(claims_tx),
    )])
    .await;
    let store = node.connect().await;

    let claimed = store.claim("s/claim", "node-a", 1_000, 500).await;
    let Err(LeaseError::Store(StoreError::Failed(message))) = claimed else {
        panic!("a timed-out claim fails, got {claimed:?}");
    };
    assert!(message.contains("outcome is unknown"), "{message}");
    settle().await;
    assert_eq!(drain(&mut claims).len(), 1, "the claim was sent once");
    node.stop().await;
}

#[tokio::test]
async fn an_overloaded_cluster_refuses_the_append_and_acknowledges_nothing() {
    let node = FakeNode::start(vec![RequestRule(
        opcode(RequestOpcode::Batch),
        RequestReaction::forge().overloaded(),
    )])
    .await;
    let store = node.connect().await;
    let appended = store.append("s/overloaded", events(1..=1)).await;
    assert_eq!(appended, Err(StoreError::Overloaded));
    node.stop().await;
}

#[tokio::test]
async fn an_unavailable_cluster_refuses_the_append_with_a_clear_error() {
    let node = FakeNode::start(vec![RequestRule(
        opcode(RequestOpcode::Batch),
        RequestReaction::forge().unavailable(),
    )])
    .await;
    let store = node.connect().await;
    let Err(StoreError::Failed(message)) = store.append("s/unavailable", events(1..=1)).await
    else {
        panic!("an unavailable cluster fails the append");
    };
    assert!(
        message.contains("cluster unavailable") && message.contains("2 replicas, 1 alive"),
        "{message}"
    );
    node.stop().await;
}

#[tokio::test]
async fn an_append_the_cluster_never_answers_fails_after_the_request_timeout() {
    let node = FakeNode::start(vec![RequestRule(
        opcode(RequestOpcode::Batch),
        RequestReaction::drop_frame(),
    )])
    .await;
    let store = node.connect().await;
    let started = std::time::Instant::now();
    let Err(StoreError::Failed(message)) = store.append("s/silent", events(1..=1)).await else {
        panic!("an unanswered append fails");
    };
    assert!(message.contains("no answer"), "{message}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the timeout bounds the wait"
    );
    node.stop().await;
}

#[tokio::test]
async fn a_fenced_append_is_one_conditional_batch_with_the_fence_first() {
    let (batches_tx, mut batches) = feedback();
    let node = FakeNode::start(vec![RequestRule(
        opcode(RequestOpcode::Batch),
        answer_reaction().with_feedback_when_performed(batches_tx),
    )])
    .await;
    let store = node.connect().await;

    let outcome = store
        .append_fenced("s/fenced", 3, events(1..=2))
        .await
        .unwrap();
    assert_eq!(outcome.stored, 2);
    let frames = drain(&mut batches);
    assert_eq!(frames.len(), 1);
    let body = &frames[0].body;
    let position = |spec| {
        let id = super::fake_node::statement_id(spec);
        body.windows(id.len())
            .position(|window| window == id.as_slice())
    };
    let fence = position(statements::SWAP_FENCE).expect("the fence condition is in the batch");
    let insert = position(statements::INSERT_EVENT).expect("the events are in the batch");
    assert!(
        fence < insert,
        "the condition comes first, so the batch routes by it"
    );
    node.stop().await;
}

#[tokio::test]
async fn a_fenced_append_below_the_partition_fence_is_refused() {
    let not_applied = |frame: RequestFrame| result(&frame, lwt_rows(false, &[("fence", Some(7))]));
    let node = FakeNode::start(vec![RequestRule(
        opcode(RequestOpcode::Batch),
        RequestReaction::forge_response(std::sync::Arc::new(not_applied)),
    )])
    .await;
    let store = node.connect().await;
    let refused = store.append_fenced("s/stale", 3, events(1..=1)).await;
    assert_eq!(refused, Err(StoreError::Fenced { epoch: 3, fence: 7 }));
    node.stop().await;
}

#[tokio::test]
async fn a_group_meeting_a_taken_key_takes_back_its_creates_and_writes_nothing_else() {
    let taken = |frame: RequestFrame| result(&frame, lwt_rows(false, &[]));
    let (undo_tx, mut undos) = feedback();
    let (put_tx, mut puts) = feedback();
    let (log_tx, mut log) = feedback();
    let node = FakeNode::start(vec![
        RequestRule(
            runs(statements::CREATE_DOCUMENT)
                .and(Condition::BodyContainsCaseSensitive(Box::new(*b"doc/b"))),
            RequestReaction::forge_response(std::sync::Arc::new(taken)),
        ),
        RequestRule(
            runs(statements::UNDO_CREATE),
            answer_reaction().with_feedback_when_performed(undo_tx),
        ),
        RequestRule(
            runs(statements::PUT_DOCUMENT),
            answer_reaction().with_feedback_when_performed(put_tx),
        ),
        RequestRule(
            Condition::any([
                runs(statements::INSERT_GROUP),
                runs(statements::COMMIT_GROUP),
                runs(statements::DELETE_GROUP),
            ]),
            answer_reaction().with_feedback_when_performed(log_tx),
        ),
    ])
    .await;
    let store = node.connect().await;
    let create = |key: &str| DocumentWrite::Create {
        key: key.into(),
        value: b"v".to_vec(),
    };
    let put = DocumentWrite::Put {
        key: "doc/c".into(),
        value: b"v".to_vec(),
    };

    let written = store
        .write(vec![put, create("doc/b"), create("doc/a")])
        .await;
    assert_eq!(written, Err(StoreError::Conflict("doc/b".into())));
    let undone = drain(&mut undos);
    assert_eq!(undone.len(), 1, "the create of doc/a is taken back");
    assert!(undone[0].body.windows(5).any(|w| w == b"doc/a"));
    assert!(drain(&mut puts).is_empty(), "the put is never sent");
    let log = drain(&mut log);
    assert_eq!(
        log.len(),
        2,
        "the intent is logged and deleted, never committed"
    );
    assert!(frame_runs(&log[0], statements::INSERT_GROUP));
    assert!(frame_runs(&log[1], statements::DELETE_GROUP));
    node.stop().await;
}

#[tokio::test]
async fn a_group_of_several_puts_and_deletes_is_one_logged_batch() {
    let (batches_tx, mut batches) = feedback();
    let node = FakeNode::start(vec![RequestRule(
        opcode(RequestOpcode::Batch),
        answer_reaction().with_feedback_when_performed(batches_tx),
    )])
    .await;
    let store = node.connect().await;
    let writes = vec![
        DocumentWrite::Put {
            key: "olympiad/a".into(),
            value: b"a".to_vec(),
        },
        DocumentWrite::Delete {
            key: "active/s1".into(),
        },
    ];
    store.write(writes).await.unwrap();
    let frames = drain(&mut batches);
    assert_eq!(frames.len(), 1);
    const LOGGED: u8 = 0;
    assert_eq!(
        frames[0].body[0], LOGGED,
        "the batch log makes it all or none"
    );
    assert!(frame_runs(&frames[0], statements::PUT_DOCUMENT));
    assert!(frame_runs(&frames[0], statements::DELETE_DOCUMENT));
    node.stop().await;
}
