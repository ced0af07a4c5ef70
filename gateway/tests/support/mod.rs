//! Shared set-up: an in-process node with a small olympiad, and a WebSocket client that
//! speaks the protocol's JSON.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use engine::clock::now_ms;
use engine::domain::olympiad::{Language, Olympiad};
use engine::domain::paper::Paper;
use engine::domain::question::{Choice, Question, QuestionKind};
use engine::proctoring::ProctoringPolicy;
use futures_util::{SinkExt, StreamExt};
use gateway::server::{self, RunningServer, ServeConfig};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const OLYMPIAD: &str = "olymp-test";

pub struct Node {
    pub server: RunningServer,
    pub _dir: tempfile::TempDir,
}

impl Node {
    pub fn server_data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }
}

pub fn paper() -> Paper {
    let options: Vec<Choice> = ["А", "Б", "В", "Г"]
        .iter()
        .map(|l| Choice {
            label: (*l).into(),
            text: format!("варіант {l}"),
        })
        .collect();
    let mut questions: Vec<Question> = (1..=5)
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
    questions.push(Question {
        id: "q6".into(),
        prompt: "Скільки?".into(),
        image_url: None,
        points: 2,
        kind: QuestionKind::Numeric {
            key: 20.5,
            tolerance: 0.0,
        },
    });
    Paper {
        id: "paper-test".into(),
        title: "Test".into(),
        source: "test".into(),
        questions,
    }
}

pub fn olympiad(duration_s: u64) -> Olympiad {
    Olympiad {
        id: OLYMPIAD.into(),
        title: "Тест".into(),
        subject: "mathematics".into(),
        language: Language::Uk,
        opens_at_ms: now_ms() - 60_000,
        closes_at_ms: now_ms() + 3_600_000,
        duration_s,
        papers: BTreeMap::from([(9, "paper-test".to_owned())]),
        proctoring: ProctoringPolicy {
            fast_answer_ms: 0,
            ..ProctoringPolicy::default()
        },
    }
}

pub async fn node(duration_s: u64) -> Node {
    node_with(duration_s, |_| {}).await
}

/// A node whose configuration the test adjusts first.
pub async fn node_with(duration_s: u64, adjust: impl FnOnce(&mut ServeConfig)) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut config = ServeConfig::new(dir.path(), loopback, loopback);
    adjust(&mut config);
    let server = server::start(config).await.unwrap();
    server
        .engine
        .import_papers("test", &[paper()])
        .await
        .unwrap();
    server
        .engine
        .put_olympiad("test", &olympiad(duration_s))
        .await
        .unwrap();
    Node { server, _dir: dir }
}

/// Registers a participant over HTTP; returns (session id, ticket).
pub async fn register(http: SocketAddr, name: &str) -> (String, String) {
    let body = json!({"name": name, "school": "№1", "region": "Алматы", "grade": 9});
    let path = format!("/api/v1/olympiads/{OLYMPIAD}/registrations");
    let reply = loadtest::http_client::request(http, "POST", &path, None, Some(&body))
        .await
        .unwrap();
    (
        reply["session_id"].as_str().unwrap().into(),
        reply["ticket"].as_str().unwrap().into(),
    )
}

/// Starts the session over HTTP; returns the start reply.
pub async fn start(http: SocketAddr, ticket: &str) -> Value {
    loadtest::http_client::request(http, "POST", "/api/v1/sessions/start", Some(ticket), None)
        .await
        .unwrap()
}

/// A registered, started participant.
pub async fn participant(node: &Node, name: &str) -> (String, String) {
    let (session, ticket) = register(node.server.http_addr, name).await;
    start(node.server.http_addr, &ticket).await;
    (session, ticket)
}

pub struct Client {
    pub socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    pub async fn connect(ws: SocketAddr) -> Self {
        let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{ws}/ws"))
            .await
            .unwrap();
        Self { socket }
    }

    /// Connects and resumes; returns the client and the state frame.
    pub async fn resume(ws: SocketAddr, ticket: &str) -> (Self, Value) {
        let mut client = Self::connect(ws).await;
        client
            .send(json!({"v": 1, "type": "resume", "ticket": ticket}))
            .await;
        let state = client.next().await;
        assert_eq!(state["type"], "state", "{state}");
        (client, state)
    }

    pub async fn send(&mut self, frame: Value) {
        self.socket
            .send(Message::text(frame.to_string()))
            .await
            .unwrap();
    }

    pub async fn socket_send(
        &mut self,
        frame: Value,
    ) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        self.socket.send(Message::text(frame.to_string())).await
    }

    /// The next text frame, or `None` if the socket closed or failed (or 10 s passed).
    pub async fn try_next(&mut self) -> Option<Value> {
        loop {
            let next = tokio::time::timeout(Duration::from_secs(10), self.socket.next())
                .await
                .ok()?;
            match next? {
                Ok(Message::Text(text)) => return serde_json::from_str(text.as_str()).ok(),
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.socket.send(message).await.unwrap();
    }

    /// The next text frame as JSON; panics after 10 s.
    pub async fn next(&mut self) -> Value {
        loop {
            match self.next_message().await {
                Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
                Message::Close(frame) => panic!("closed: {frame:?}"),
                _ => continue,
            }
        }
    }

    pub async fn next_message(&mut self) -> Message {
        let next = tokio::time::timeout(Duration::from_secs(10), self.socket.next()).await;
        next.expect("a frame within 10 s")
            .expect("socket open")
            .expect("no socket error")
    }

    /// Reads until the socket closes; returns the close code, if any.
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            let next = tokio::time::timeout(Duration::from_secs(10), self.socket.next())
                .await
                .expect("close within 10 s");
            match next {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }

    pub async fn answer(&mut self, seq: u64, question: &str, value: Value) -> Value {
        self.send(
            json!({"v": 1, "type": "answer", "seq": seq, "question": question, "value": value}),
        )
        .await;
        self.next().await
    }
}
