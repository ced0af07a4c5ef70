//! Session actors on an in-memory store, so that the figures are the engine's own: an
//! answer's round trip through one actor, answers to many actors at once (message
//! throughput), and the cost of spawning a session's actor and starting it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use benches::memory_store::MemoryStore;
use benches::paper::{exam_paper, right_answers};
use engine::Engine;
use engine::domain::answer::AnswerValue;
use engine::domain::olympiad::{Language, Olympiad};
use engine::proctoring::ProctoringPolicy;
use engine::session::context::SessionConfig;
use engine::session::push::{Inbound, Outbound, Push};

fn main() {
    divan::main();
}

const OLYMPIAD: &str = "bench";
const GRADE: u8 = 11;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    engine: Engine,
    /// Question ids and right answers, sent in turn.
    answers: Vec<(String, AnswerValue)>,
    next_seq: AtomicU64,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let paper = exam_paper();
    let answers = right_answers(&paper).into_iter().collect();
    let engine = runtime.block_on(async {
        let store = Arc::new(MemoryStore::default());
        let engine = Engine::start(store.clone(), store, SessionConfig::default())
            .await
            .unwrap();
        engine
            .import_papers("bench", std::slice::from_ref(&paper))
            .await
            .unwrap();
        engine
            .put_olympiad("bench", &olympiad(&paper.id))
            .await
            .unwrap();
        engine
    });
    Fixture {
        runtime,
        engine,
        answers,
        next_seq: AtomicU64::new(1),
    }
});

fn olympiad(paper_id: &str) -> Olympiad {
    let now = engine::clock::now_ms();
    Olympiad {
        id: OLYMPIAD.into(),
        title: "Benchmark".into(),
        subject: "mathematics".into(),
        language: Language::Uk,
        opens_at_ms: now - 60_000,
        closes_at_ms: now + 24 * 3_600_000,
        duration_s: 12 * 3_600,
        papers: BTreeMap::from([(GRADE, paper_id.to_owned())]),
        proctoring: ProctoringPolicy {
            fast_answer_ms: 0,
            ..ProctoringPolicy::default()
        },
    }
}

/// A registered, started session.
async fn started_session(engine: &Engine, index: u64) -> String {
    let name = format!("Учасник {index}");
    let registration = engine
        .register(OLYMPIAD, &name, "Школа 1", "Алматы", GRADE)
        .await
        .unwrap();
    engine
        .start_session(&registration.session_id)
        .await
        .unwrap();
    registration.session_id
}

/// A started session with its own outbound queue, as a connection would hold it.
struct Session {
    id: String,
    outbound: Outbound,
    inbound: tokio::sync::Mutex<Inbound>,
}

/// Sends one answer to each session and waits for every acknowledgement.
async fn answer_all(fixture: &Fixture, sessions: &[Session]) {
    let seq = fixture.next_seq.fetch_add(1, Ordering::Relaxed);
    let (question, value) = &fixture.answers[seq as usize % fixture.answers.len()];
    for session in sessions {
        let reply_to = session.outbound.clone();
        fixture
            .engine
            .answer(
                &session.id,
                1,
                seq,
                question.clone(),
                value.clone(),
                reply_to,
            )
            .await
            .unwrap();
    }
    for session in sessions {
        match session.inbound.lock().await.receiver.recv().await {
            Some(Push::Ack { .. }) => {}
            other => panic!("expected an ack, got {other:?}"),
        }
    }
}

#[divan::bench(args = [1, 16, 256])]
fn answers_to_many_session_actors(bencher: divan::Bencher, sessions: usize) {
    let fixture = &*FIXTURE;
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let sessions: Vec<Session> = fixture.runtime.block_on(async {
        let mut started = Vec::with_capacity(sessions);
        for _ in 0..sessions {
            let index = NEXT.fetch_add(1, Ordering::Relaxed);
            let (outbound, inbound) = Outbound::channel();
            started.push(Session {
                id: started_session(&fixture.engine, index).await,
                outbound,
                inbound: tokio::sync::Mutex::new(inbound),
            });
        }
        started
    });
    bencher
        .counter(divan::counter::ItemsCount::new(sessions.len()))
        .bench(|| fixture.runtime.block_on(answer_all(fixture, &sessions)));
}

#[divan::bench(sample_count = 200)]
fn spawn_and_start_a_session_actor(bencher: divan::Bencher) {
    let fixture = &*FIXTURE;
    static NEXT: AtomicU64 = AtomicU64::new(1_000_000);
    bencher
        .with_inputs(|| {
            let name = format!("Учасник {}", NEXT.fetch_add(1, Ordering::Relaxed));
            let registered = fixture
                .engine
                .register(OLYMPIAD, &name, "Школа 1", "Алматы", GRADE);
            fixture.runtime.block_on(registered).unwrap().session_id
        })
        .bench_values(|session_id| {
            fixture
                .runtime
                .block_on(fixture.engine.start_session(&session_id))
                .unwrap()
        });
}
