//! Shared set-up: an engine on a fresh embedded store with one small olympiad.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use engine::Engine;
use engine::clock::now_ms;
use engine::domain::olympiad::{Language, Olympiad};
use engine::domain::paper::Paper;
use engine::domain::question::{Choice, Question, QuestionKind};
use engine::proctoring::ProctoringPolicy;
use engine::session::actor::Connection;
use engine::session::context::SessionConfig;
use engine::session::push::{Inbound, Outbound, Push, SessionView};
use storage::{EmbeddedConfig, EmbeddedStore};

pub const OLYMPIAD: &str = "math-9";

pub fn paper() -> Paper {
    let options: Vec<Choice> = ["А", "Б", "В", "Г"]
        .iter()
        .map(|l| Choice {
            label: (*l).into(),
            text: format!("варіант {l}"),
        })
        .collect();
    let questions = (1..=4)
        .map(|n| Question {
            id: format!("q{n}"),
            prompt: format!("Питання {n}"),
            image_url: None,
            points: 1,
            kind: QuestionKind::SingleChoice {
                options: options.clone(),
                correct: "Б".into(),
            },
        })
        .collect();
    Paper {
        id: "paper-9".into(),
        title: "Test".into(),
        source: "test".into(),
        questions,
    }
}

pub fn olympiad(duration_s: u64) -> Olympiad {
    Olympiad {
        id: OLYMPIAD.into(),
        title: "Maths".into(),
        subject: "maths".into(),
        language: Language::Uk,
        opens_at_ms: now_ms() - 60_000,
        closes_at_ms: now_ms() + 3_600_000,
        duration_s,
        papers: BTreeMap::from([(9, "paper-9".to_owned())]),
        proctoring: ProctoringPolicy {
            fast_answer_ms: 0,
            ..ProctoringPolicy::default()
        },
    }
}

pub async fn open_engine(dir: &Path) -> Engine {
    let store = EmbeddedStore::open(EmbeddedConfig::new(dir)).unwrap();
    let config = SessionConfig {
        passivate_after_ms: 200,
        ownership: None,
    };
    Engine::start(Arc::new(store.clone()), Arc::new(store), config)
        .await
        .unwrap()
}

pub async fn engine_with_olympiad(dir: &Path, duration_s: u64) -> Engine {
    let engine = open_engine(dir).await;
    publish_olympiad(&engine, duration_s).await;
    engine
}

/// Imports the test paper and offers it in an olympiad of `duration_s`.
pub async fn publish_olympiad(engine: &Engine, duration_s: u64) {
    engine.import_papers("admin", &[paper()]).await.unwrap();
    engine
        .put_olympiad("admin", &olympiad(duration_s))
        .await
        .unwrap();
}

/// Registers a pupil and starts the session; returns its id and timing.
pub async fn started_session(engine: &Engine) -> (String, SessionView) {
    let session = engine
        .register(OLYMPIAD, "Олена", "Школа 1", "Київ", 9)
        .await
        .unwrap()
        .session_id;
    let view = engine.start_session(&session).await.unwrap();
    (session, view)
}

/// A fake connection: its id, and the receiving end of its outbound queue.
pub fn connection(id: u64) -> (Connection, Inbound) {
    let (outbound, inbound) = Outbound::channel();
    (
        Connection {
            id,
            address: "127.0.0.1".into(),
            outbound,
        },
        inbound,
    )
}

pub async fn next(inbound: &mut Inbound) -> Push {
    tokio::time::timeout(Duration::from_secs(10), inbound.receiver.recv())
        .await
        .expect("a push within 10 s")
        .expect("queue open")
}
