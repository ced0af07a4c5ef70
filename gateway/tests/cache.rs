//! The catalog and result cache on a real memcached: served through it, correct through a
//! memcached outage in the middle of an exam, used again once memcached is back, never
//! stale after a catalog change, and never holding an answer key.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use engine::clock::now_ms;
use gateway::auth::{Claims, Role};
use gateway::server::{self, ServeConfig};
use loadtest::http_client::request;
use serde_json::{Value, json};

use crate::support::*;

#[path = "../../storage/tests/support/memcached.rs"]
mod memcached;

use memcached::Memcached;

/// A node with the test olympiad, caching in the given memcached servers (none: in-process).
async fn node_caching_in(servers: &[String]) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut config = ServeConfig::new(dir.path(), loopback, loopback);
    config.memcached = servers.to_vec();
    let server = server::start(config).await.unwrap();
    let engine = &server.engine;
    engine.import_papers("test", &[paper()]).await.unwrap();
    engine.put_olympiad("test", &olympiad(600)).await.unwrap();
    Node { server, _dir: dir }
}

fn admin_token(node: &Node) -> String {
    node.server.signer.sign(&Claims {
        role: Role::Admin,
        sub: "Алия".into(),
        session: None,
        exp_ms: now_ms() + 600_000,
    })
}

async fn catalog(node: &Node) -> Value {
    let http = node.server.http_addr;
    request(http, "GET", "/api/v1/olympiads", None, None)
        .await
        .unwrap()
}

/// The results rows, each keyed by participant name.
async fn results(node: &Node, admin: &str) -> HashMap<String, Value> {
    let path = format!("/api/v1/admin/olympiads/{OLYMPIAD}/results");
    let reply = request(node.server.http_addr, "GET", &path, Some(admin), None).await;
    let rows = reply.unwrap()["results"].as_array().unwrap().clone();
    rows.into_iter()
        .map(|row| (row["name"].as_str().unwrap().to_owned(), row))
        .collect()
}

/// `olymp_cache_errors_total` in the process-wide registry (the node runs in-process).
fn cache_errors_total() -> u64 {
    prometheus::gather()
        .iter()
        .filter(|family| family.name() == "olymp_cache_errors_total")
        .flat_map(|family| family.get_metric())
        .map(|metric| metric.get_counter().get_value() as u64)
        .sum()
}

/// What each participant answers, question by question, and the score that earns.
fn answers_of(name: &str) -> (Vec<(&'static str, Value)>, u64) {
    let choice = |c: &str| json!({ "choice": c });
    let number = |n: &str| json!({ "number": n });
    let (choices, q6, score) = match name {
        "Аян" => (["Б", "Б", "Б", "Б", "Б"], "20.5", 7),
        "Бота" => (["А", "А", "А", "А", "А"], "20.5", 2),
        "Вера" => (["Б", "Б", "В", "В", "В"], "1", 2),
        _ => (["Б", "Б", "Б", "Б", "Б"], "0", 5),
    };
    let mut answers: Vec<(&str, Value)> = ["q1", "q2", "q3", "q4", "q5"]
        .into_iter()
        .zip(choices.map(choice))
        .collect();
    answers.push(("q6", number(q6)));
    (answers, score)
}

struct Sitting {
    name: &'static str,
    client: Client,
    answers: Vec<(&'static str, Value)>,
    score: u64,
    sent: usize,
}

impl Sitting {
    async fn begin(node: &Node, name: &'static str) -> Self {
        let (_, ticket) = participant(node, name).await;
        let (client, _) = Client::resume(node.server.ws_addr, &ticket).await;
        let (answers, score) = answers_of(name);
        Self {
            name,
            client,
            answers,
            score,
            sent: 0,
        }
    }

    /// Sends the next `count` answers; every one must be acknowledged.
    async fn answer(&mut self, count: usize) {
        let end = self.sent + count;
        while self.sent < end {
            let (question, value) = self.answers[self.sent].clone();
            self.sent += 1;
            let reply = self.client.answer(self.sent as u64, question, value).await;
            assert_eq!(reply["type"], "ack", "{}: {reply}", self.name);
        }
    }

    async fn submit(&mut self) {
        let remaining = self.answers.len() - self.sent;
        self.answer(remaining).await;
        self.client.send(json!({"v": 1, "type": "submit"})).await;
        let reply = self.client.next().await;
        assert_eq!(reply["type"], "submitted", "{}: {reply}", self.name);
    }
}

/// Fetches results until memcached holds entries again and answers reads from them.
async fn wait_until_cache_used(node: &Node, admin: &str, memcached: &Memcached) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        results(node, admin).await;
        catalog(node).await;
        let stats = memcached.stats();
        if stats["curr_items"] > 0 && stats["get_hits"] > 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "memcached not used again: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Opens the engine of a stopped node, once its session actors have let go of the store.
async fn reopen(config: &ServeConfig) -> engine::Engine {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match server::open_engine(config).await {
            Ok(engine) => return engine,
            Err(error) if Instant::now() < deadline => {
                tracing::debug!(%error, "store still held");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("store not released: {error:#}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_memcached_stop_mid_exam_changes_no_answer_and_no_result() {
    let Some(memcached) = Memcached::start() else {
        return;
    };
    let port = memcached.port;
    let node = node_caching_in(&[memcached.address()]).await;
    let admin = admin_token(&node);

    let listing = catalog(&node).await;
    assert_eq!(catalog(&node).await, listing);
    assert!(
        memcached.stats()["get_hits"] >= 1,
        "the catalog is served from memcached"
    );

    let mut sittings = Vec::new();
    for name in ["Аян", "Бота", "Вера", "Гани"] {
        sittings.push(Sitting::begin(&node, name).await);
    }
    for sitting in &mut sittings {
        sitting.answer(3).await;
    }
    sittings[0].submit().await;
    let before_stop = results(&node, &admin).await;
    let hits = memcached.stats()["get_hits"];
    assert_eq!(results(&node, &admin).await, before_stop);
    assert!(
        memcached.stats()["get_hits"] > hits,
        "a finished row is served from memcached"
    );

    let errors_before = cache_errors_total();
    memcached.stop();
    for sitting in &mut sittings[1..] {
        sitting.answer(3).await;
    }
    let mut late = Sitting::begin(&node, "Дина").await;
    late.answer(2).await;
    assert_eq!(catalog(&node).await, listing);
    let during_stop = results(&node, &admin).await;
    assert_eq!(during_stop["Аян"], before_stop["Аян"]);
    assert_eq!(during_stop.len(), 5);
    for sitting in &sittings[1..] {
        let row = &during_stop[sitting.name];
        assert_eq!(
            (&row["answered"], &row["score"]),
            (&6.into(), &sitting.score.into())
        );
    }
    sittings[1].submit().await;
    sittings[2].submit().await;
    assert!(
        cache_errors_total() > errors_before,
        "the outage is counted"
    );

    let memcached = Memcached::start_on(port).expect("memcached restarts");
    wait_until_cache_used(&node, &admin, &memcached).await;
    sittings[3].submit().await;
    late.submit().await;
    let last = results(&node, &admin).await;
    let hits = memcached.stats()["get_hits"];
    assert_eq!(results(&node, &admin).await, last);
    assert!(memcached.stats()["get_hits"] > hits);
    for sitting in sittings.iter().chain([&late]) {
        let row = &last[sitting.name];
        assert_eq!(row["status"], "submitted", "{row}");
        assert_eq!(row["score"], sitting.score, "{row}");
        assert_eq!(row["answered"], 6, "{row}");
    }

    drop((sittings, late));
    assert_eq!(results_without_cache(node).await, last);
}

/// Stops the node and computes its results again from its store alone, through an engine
/// whose in-process cache starts empty.
async fn results_without_cache(node: Node) -> HashMap<String, Value> {
    let data_dir = node._dir.path().to_owned();
    node.server.stop().await;
    let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let engine = reopen(&ServeConfig::new(&data_dir, loopback, loopback)).await;
    let rows = engine.results(OLYMPIAD).await.unwrap();
    engine.shutdown().await;
    rows.iter()
        .map(|row| (row.name.clone(), serde_json::to_value(row).unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_changes_are_served_at_once_and_rescore_cached_rows() {
    let Some(memcached) = Memcached::start() else {
        return;
    };
    let node = node_caching_in(&[memcached.address()]).await;
    let admin = admin_token(&node);
    let mut sitting = Sitting::begin(&node, "Аян").await;
    sitting.submit().await;
    assert_eq!(results(&node, &admin).await["Аян"]["score"], 7);
    assert_eq!(catalog(&node).await[0]["title"], "Тест");

    let mut renamed = olympiad(600);
    renamed.title = "Тест 2".into();
    node.server
        .engine
        .put_olympiad("test", &renamed)
        .await
        .unwrap();
    assert_eq!(catalog(&node).await[0]["title"], "Тест 2");

    let mut corrected = paper();
    let q6 = corrected
        .questions
        .iter_mut()
        .find(|q| q.id == "q6")
        .unwrap();
    q6.kind = engine::domain::question::QuestionKind::Numeric {
        key: 21.0,
        tolerance: 0.0,
    };
    node.server
        .engine
        .import_papers("test", &[corrected])
        .await
        .unwrap();
    assert_eq!(results(&node, &admin).await["Аян"]["score"], 5);
    node.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memcached_never_holds_an_answer_key() {
    let Some(memcached) = Memcached::start() else {
        return;
    };
    let node = node_caching_in(&[memcached.address()]).await;
    let admin = admin_token(&node);
    let mut sitting = Sitting::begin(&node, "Аян").await;
    sitting.submit().await;
    catalog(&node).await;
    results(&node, &admin).await;
    let questions = node.server.engine.public_paper("paper-test").await.unwrap();
    assert_eq!(questions.len(), 6);
    assert_eq!(
        node.server.engine.public_paper("paper-test").await.unwrap(),
        questions
    );

    let values = memcached.values();
    assert!(
        values.len() >= 3,
        "catalog, paper and row are cached: {}",
        values.len()
    );
    // The numeric key 20.5, as JSON text or as the codec's float; it appears nowhere else.
    let key_bytes = 20.5f64.to_le_bytes();
    for value in &values {
        assert!(!value.windows(4).any(|w| w == b"20.5"), "{value:?}");
        assert!(!value.windows(8).any(|w| w == key_bytes), "{value:?}");
    }
    node.server.stop().await;
}
