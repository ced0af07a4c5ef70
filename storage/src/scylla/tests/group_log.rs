//! The document group log against the simulated node.
//!
//! What these prove: the statements a group sends and their order as the node receives them
//! (intent first, creates in key order, commit mark, puts and deletes, intent delete last);
//! that puts and deletes alone, or a lone create, log no intent; that every put and delete
//! carries a client timestamp, in a logged group the one its intent stores; that a failure
//! after the commit mark, or a group running past its deadline, leaves the intent in place
//! and returns an error; and that the sweep, answered an intent row and the holders of its
//! creates, sends what its decision calls for, at the intent's timestamp. What they do not
//! prove: that a cluster stores, replays or orders anything — the simulated node keeps
//! nothing, so a crash's outcome, serial reads and last-write-wins are checked only against a
//! real cluster (`contract.rs`); the decision itself is unit-tested in `group_log.rs`.

use std::sync::Arc;
use std::time::Duration;

use scylla_proxy::{
    Condition, Reaction, RequestFrame, RequestOpcode, RequestReaction, RequestRule,
};
use uuid::Uuid;

use super::driver::{Frames, drain, feedback, opcode};
use super::fake_node::{FakeNode, answer_reaction, frame_runs, result, rows, runs};
use crate::document_store::{DocumentStore, DocumentWrite};
use crate::event_store::StoreError;
use crate::scylla::clock::now_us;
use crate::scylla::group_log::{Change, encode_writes};
use crate::scylla::statements::{self, ALL, Spec};
use crate::scylla::{GroupRecovery, ScyllaStore};

/// A rule that answers as the node does and copies every statement the backend runs (not
/// the driver's own control connection) into the channel.
fn record(into: &tokio::sync::mpsc::UnboundedSender<(RequestFrame, Option<u16>)>) -> RequestRule {
    RequestRule(
        Condition::any([opcode(RequestOpcode::Execute), opcode(RequestOpcode::Batch)])
            .and(Condition::not(Condition::ConnectionRegisteredAnyEvent)),
        answer_reaction().with_feedback_when_performed(into.clone()),
    )
}

/// A short name for each statement a group or a sweep sends.
fn name(spec: Spec) -> &'static str {
    const NAMES: [(Spec, &str); 10] = [
        (statements::LINK_DIRECTORY, "link"),
        (statements::INSERT_GROUP, "log"),
        (statements::CREATE_DOCUMENT, "create"),
        (statements::UNDO_CREATE, "undo"),
        (statements::SELECT_DOCUMENT_GROUP, "holder"),
        (statements::COMMIT_GROUP, "commit"),
        (statements::PUT_DOCUMENT, "put"),
        (statements::DELETE_DOCUMENT, "delete"),
        (statements::DELETE_GROUP, "forget"),
        (statements::SELECT_GROUPS, "read log"),
    ];
    let (_, name) = NAMES
        .iter()
        .find(|(named, _)| named.cql == spec.cql)
        .unwrap_or_else(|| panic!("unexpected statement: {}", spec.cql));
    name
}

/// The statements each frame runs, by name: one for an EXECUTE, each of a BATCH's.
fn names(frames: &[RequestFrame]) -> Vec<Vec<&'static str>> {
    frames
        .iter()
        .map(|frame| {
            let specs = ALL.into_iter().filter(|spec| frame_runs(frame, *spec));
            specs.map(name).collect()
        })
        .collect()
}

/// Every frame received so far, leaving out the sweep's reads of the log's shards.
fn sent(frames: &mut Frames) -> Vec<RequestFrame> {
    let all = drain(frames);
    let reads_log = |frame: &RequestFrame| frame_runs(frame, statements::SELECT_GROUPS);
    all.into_iter().filter(|frame| !reads_log(frame)).collect()
}

fn short(body: &[u8], at: usize) -> usize {
    u16::from_be_bytes([body[at], body[at + 1]]) as usize
}

fn int(body: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(body[at..at + 4].try_into().unwrap())
}

/// Where the flags byte of a BATCH body is (protocol v4): after the statements and the
/// consistency.
fn batch_flags_at(body: &[u8]) -> usize {
    let mut at = 3;
    for _ in 0..short(body, 1) {
        let prepared = body[at] == 1;
        at += 1;
        at += if prepared {
            2 + short(body, at)
        } else {
            4 + int(body, at) as usize
        };
        let values = short(body, at);
        at += 2;
        for _ in 0..values {
            at += 4 + int(body, at).max(0) as usize;
        }
    }
    at + 2
}

/// The client timestamp of an EXECUTE or BATCH frame (protocol v4), if it carries one: its
/// flags say so, and it is then the body's last 8 bytes.
fn client_timestamp(frame: &RequestFrame) -> Option<i64> {
    const WITH_DEFAULT_TIMESTAMP: u8 = 0x20;
    let body = &frame.body[..];
    let flags_at = match frame.opcode {
        RequestOpcode::Execute => 2 + short(body, 0) + 2,
        RequestOpcode::Batch => batch_flags_at(body),
        _ => return None,
    };
    let tail = body[body.len() - 8..].try_into().unwrap();
    (body[flags_at] & WITH_DEFAULT_TIMESTAMP != 0).then(|| i64::from_be_bytes(tail))
}

fn create(key: &str) -> DocumentWrite {
    DocumentWrite::Create {
        key: key.into(),
        value: b"v".to_vec(),
    }
}

fn put(key: &str) -> DocumentWrite {
    DocumentWrite::Put {
        key: key.into(),
        value: b"v".to_vec(),
    }
}

#[tokio::test]
async fn a_group_with_creates_and_a_put_logs_its_intent_first_and_forgets_it_last() {
    let (sent_tx, mut frames) = feedback();
    let node = FakeNode::start(vec![record(&sent_tx)]).await;
    let store = node.connect().await;
    drain(&mut frames);

    let before_us = now_us();
    let group = vec![put("doc/c"), create("doc/b"), create("doc/a")];
    store.write(group).await.unwrap();
    let after_us = now_us();

    let frames = sent(&mut frames);
    let expected: [&[&str]; 7] = [
        &["link"],
        &["log"],
        &["create"],
        &["create"],
        &["commit"],
        &["put"],
        &["forget"],
    ];
    assert_eq!(names(&frames), expected);
    let contains =
        |frame: &RequestFrame, text: &[u8]| frame.body.windows(text.len()).any(|w| w == text);
    assert!(
        contains(&frames[2], b"doc/a") && contains(&frames[3], b"doc/b"),
        "key order"
    );

    let logged_us = client_timestamp(&frames[1]).expect("the intent has a client timestamp");
    assert!((before_us..=after_us).contains(&logged_us));
    let stored = frames[1]
        .body
        .windows(8)
        .filter(|w| *w == logged_us.to_be_bytes())
        .count();
    assert_eq!(
        stored, 2,
        "the intent stores its timestamp as well as carrying it"
    );
    assert_eq!(client_timestamp(&frames[4]), Some(logged_us + 1));
    assert_eq!(
        client_timestamp(&frames[5]),
        Some(logged_us),
        "the put has the group's time"
    );
    assert_eq!(client_timestamp(&frames[6]), Some(logged_us + 2));
    assert_eq!(
        client_timestamp(&frames[2]),
        None,
        "transactions keep their own time"
    );
    node.stop().await;
}

#[tokio::test]
async fn puts_and_deletes_alone_or_a_lone_create_log_no_intent() {
    let (sent_tx, mut frames) = feedback();
    let node = FakeNode::start(vec![record(&sent_tx)]).await;
    let store = node.connect().await;
    drain(&mut frames);

    let before_us = now_us();
    let changes = vec![
        put("doc/a"),
        DocumentWrite::Delete {
            key: "doc/b".into(),
        },
    ];
    store.write(changes).await.unwrap();
    store.write(vec![put("doc/c")]).await.unwrap();
    store.write(vec![create("doc/d")]).await.unwrap();
    let after_us = now_us();

    let frames = sent(&mut frames);
    let expected: [&[&str]; 4] = [&["link"], &["put", "delete"], &["put"], &["create"]];
    assert_eq!(names(&frames), expected);
    for frame in &frames[1..3] {
        let timestamp_us = client_timestamp(frame).expect("puts and deletes carry a timestamp");
        assert!((before_us..=after_us).contains(&timestamp_us));
    }
    node.stop().await;
}

#[tokio::test]
async fn a_failed_put_step_leaves_the_committed_intent_to_the_sweep() {
    let (sent_tx, mut frames) = feedback();
    let node = FakeNode::start(vec![
        RequestRule(
            runs(statements::PUT_DOCUMENT),
            RequestReaction::forge()
                .server_error()
                .with_feedback_when_performed(sent_tx.clone()),
        ),
        record(&sent_tx),
    ])
    .await;
    let store = node.connect().await;
    drain(&mut frames);

    let written = store
        .write(vec![put("doc/c"), create("doc/a"), create("doc/b")])
        .await;
    assert!(matches!(written, Err(StoreError::Failed(_))), "{written:?}");
    let names = names(&sent(&mut frames));
    assert_eq!(
        names[..5],
        [["link"], ["log"], ["create"], ["create"], ["commit"]]
    );
    assert!(
        names[5..].iter().all(|frame| frame == &["put"]),
        "only put attempts follow"
    );
    node.stop().await;
}

#[tokio::test]
async fn a_group_past_its_deadline_fails_and_leaves_its_intent() {
    let (sent_tx, mut frames) = feedback();
    let node = FakeNode::start(vec![
        RequestRule(
            runs(statements::CREATE_DOCUMENT),
            RequestReaction::drop_frame(),
        ),
        record(&sent_tx),
    ])
    .await;
    let store = node
        .connect_with(|config| {
            config.document_group_deadline_ms = 300;
            config.document_group_grace_ms = 10_000;
        })
        .await;
    drain(&mut frames);

    let started = std::time::Instant::now();
    let written = store.write(vec![create("doc/a"), create("doc/b")]).await;
    let Err(StoreError::Failed(message)) = written else {
        panic!("a group past its deadline fails, got {written:?}");
    };
    assert!(message.contains("not done within 300 ms"), "{message}");
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "before the request timeout"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        names(&sent(&mut frames)),
        [["link"], ["log"]],
        "nothing after the deadline"
    );
    node.stop().await;
}

/// An intent row as the node answers it: (group, timestamp, committed, writes).
fn intent_row(group: Uuid, timestamp_us: i64, committed: Option<bool>) -> Vec<Option<Vec<u8>>> {
    let changes = [Change::Put {
        key: "doc/c".into(),
        value: b"v".to_vec(),
    }];
    let writes = encode_writes(&["doc/a", "doc/b"], &changes);
    vec![
        Some(group.as_bytes().to_vec()),
        Some(timestamp_us.to_be_bytes().to_vec()),
        committed.map(|committed| vec![u8::from(committed)]),
        Some(writes),
    ]
}

/// A node whose log holds one intent, in the first shard read after connect, and whose
/// documents answer `holder` as the group of every create key; with a store connected.
async fn node_with_intent(
    row: Vec<Option<Vec<u8>>>,
    holder: Option<Uuid>,
) -> (FakeNode, ScyllaStore, Frames) {
    let (sent_tx, mut frames) = feedback();
    let mut node = FakeNode::start(vec![record(&sent_tx)]).await;
    let store = node.connect().await;
    drain(&mut frames);
    let intent = rows(statements::SELECT_GROUPS, &[row]);
    let holders = rows(
        statements::SELECT_DOCUMENT_GROUP,
        &[vec![holder.map(|group| group.as_bytes().to_vec())]],
    );
    node.prepend_rules(vec![
        RequestRule(
            runs(statements::SELECT_GROUPS).and(Condition::TrueForLimitedTimes(1)),
            RequestReaction::forge_response(Arc::new(move |frame| result(&frame, intent.clone()))),
        ),
        RequestRule(
            runs(statements::SELECT_DOCUMENT_GROUP),
            RequestReaction::forge_response(Arc::new(move |frame| result(&frame, holders.clone())))
                .with_feedback_when_performed(sent_tx),
        ),
    ]);
    (node, store, frames)
}

const TEN_MINUTES_US: i64 = 600_000_000;
const GRACE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn the_sweep_rolls_a_committed_group_forward_at_its_own_timestamp() {
    let group = Uuid::new_v4();
    let old_us = now_us() - TEN_MINUTES_US;
    let (node, store, mut frames) =
        node_with_intent(intent_row(group, old_us, Some(true)), None).await;

    let recovery = store.recover_document_groups(GRACE).await.unwrap();
    let expected = GroupRecovery {
        rolled_forward: 1,
        ..Default::default()
    };
    assert_eq!(recovery, expected);
    let frames = sent(&mut frames);
    assert_eq!(
        names(&frames),
        [["put"], ["forget"]],
        "no holder read, no undo"
    );
    assert_eq!(
        client_timestamp(&frames[0]),
        Some(old_us),
        "replayed at its own time"
    );
    assert!(client_timestamp(&frames[1]).unwrap() > old_us + 2);
    node.stop().await;
}

#[tokio::test]
async fn the_sweep_rolls_a_pending_group_holding_every_create_forward_and_commits_it_first() {
    let group = Uuid::new_v4();
    let old_us = now_us() - TEN_MINUTES_US;
    let row = intent_row(group, old_us, None);
    let (node, store, mut frames) = node_with_intent(row, Some(group)).await;

    let recovery = store.recover_document_groups(GRACE).await.unwrap();
    assert_eq!(recovery.rolled_forward, 1);
    let frames = sent(&mut frames);
    let expected = [["holder"], ["holder"], ["commit"], ["put"], ["forget"]];
    assert_eq!(names(&frames), expected);
    assert_eq!(client_timestamp(&frames[2]), Some(old_us + 1));
    assert_eq!(client_timestamp(&frames[3]), Some(old_us));
    node.stop().await;
}

#[tokio::test]
async fn the_sweep_rolls_back_a_pending_group_missing_a_create() {
    let group = Uuid::new_v4();
    let old_us = now_us() - TEN_MINUTES_US;
    let row = intent_row(group, old_us, Some(false));
    let (node, store, mut frames) = node_with_intent(row, None).await;

    let recovery = store.recover_document_groups(GRACE).await.unwrap();
    let expected = GroupRecovery {
        rolled_back: 1,
        ..Default::default()
    };
    assert_eq!(recovery, expected);
    let frames = sent(&mut frames);
    let expected = [["holder"], ["holder"], ["undo"], ["undo"], ["forget"]];
    assert_eq!(names(&frames), expected, "the put is never sent");
    assert!(
        frames[2].body.windows(16).any(|w| w == group.as_bytes()),
        "IF group_id = it"
    );
    node.stop().await;
}

#[tokio::test]
async fn the_sweep_leaves_an_intent_younger_than_its_grace() {
    let group = Uuid::new_v4();
    let row = intent_row(group, now_us(), Some(true));
    let (node, store, mut frames) = node_with_intent(row, None).await;

    let recovery = store.recover_document_groups(GRACE).await.unwrap();
    let expected = GroupRecovery {
        in_flight: 1,
        ..Default::default()
    };
    assert_eq!(recovery, expected);
    assert!(
        sent(&mut frames).is_empty(),
        "a writer may still be at work"
    );
    node.stop().await;
}
