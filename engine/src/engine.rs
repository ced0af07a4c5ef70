//! The engine's front door: what the gateway and the command line call. Catalog changes,
//! registration, session commands and results; each admin action is also an audit event.

use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorRef, RpcReplyPort};
use serde::{Deserialize, Serialize};
use storage::cache::{Cache, MemoryCache};
use storage::{DocumentStore, EventStore, Lease, LeaseError, NewEvent, StoreError};
use tokio::sync::Mutex;

use crate::catalog::{self, Catalog, CatalogError};
use crate::clock::now_ms;
use crate::domain::answer::AnswerValue;
use crate::domain::olympiad::{InvalidOlympiad, Olympiad};
use crate::domain::paper::Paper;
use crate::domain::participant::{InvalidProfile, Participant, Registration};
use crate::domain::question::{InvalidQuestion, PublicQuestion};
use crate::proctoring::ViolationKind;
use crate::read_cache::{self, ReadCache};
use crate::results::{self, ResultRow, RowInput};
use crate::scoring;
use crate::session::actor::{Connection, SessionMsg};
use crate::session::context::{Ownership, SessionConfig, SessionContext, stream_name};
use crate::session::push::{Outbound, SessionView, Snapshot};
use crate::session::state::{NewEvidence, SessionError};
use crate::session::supervisor::{SessionSupervisor, SupervisorMsg};

/// How long a request waits for a session actor's reply.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The stream of admin actions.
const AUDIT_STREAM: &str = "audit";

/// Places an admin action's entry tries after the stream's tail before giving up.
const AUDIT_ATTEMPTS: usize = 3;

/// How long a node holds the shared audit stream's lease for one entry.
const AUDIT_LEASE_MS: u64 = 5_000;

/// How long an admin action waits for another node's audit entry to be written.
const AUDIT_CLAIM_PATIENCE: Duration = Duration::from_secs(10);

/// One admin action: who, what, when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub by: String,
    pub action: String,
    pub detail: String,
    pub at_ms: u64,
}

/// Why an engine operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("no olympiad {0:?}")]
    UnknownOlympiad(String),
    #[error("no paper {0:?}")]
    UnknownPaper(String),
    #[error("grade {grade} is not offered by olympiad {olympiad:?}")]
    GradeNotOffered { olympiad: String, grade: u8 },
    #[error("invalid olympiad")]
    InvalidOlympiad(#[from] InvalidOlympiad),
    #[error("question {question:?} of paper {paper:?} is invalid")]
    InvalidQuestion {
        paper: String,
        question: String,
        source: InvalidQuestion,
    },
    #[error("paper {0:?} has no questions")]
    EmptyPaper(String),
    #[error(
        "paper {0:?} already exists with other questions; import the new version under another id"
    )]
    PaperExists(String),
    #[error("invalid profile")]
    InvalidProfile(#[from] InvalidProfile),
    #[error("already registered")]
    AlreadyRegistered,
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error("storage failed")]
    Store(#[from] StoreError),
    #[error("catalog failed")]
    Catalog(#[from] CatalogError),
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("session supervisor did not start")]
    Supervisor(#[from] ractor::SpawnErr),
    #[error("recovery could not read the catalog")]
    Catalog(#[from] CatalogError),
    #[error("audit stream unreadable")]
    Audit(#[from] StoreError),
}

/// Sessions in progress rebuilt at once while the engine starts.
const RECOVERY_CONCURRENCY: usize = 32;

/// What a recovery task hands back: the session and whether it came back.
type Recovered = Result<(String, Result<(), SessionError>), tokio::task::JoinError>;

/// 1 if a recovery task brought its session back; logs it otherwise.
fn recovered_one(joined: Option<Recovered>) -> usize {
    match joined {
        Some(Ok((_, Ok(())))) => 1,
        // Several nodes share the store and another one serves this session.
        Some(Ok((_, Err(SessionError::ServedElsewhere)))) => 0,
        Some(Ok((session_id, Err(error)))) => {
            tracing::error!(session_id, %error, "session not recovered");
            0
        }
        Some(Err(error)) => {
            tracing::error!(%error, "session recovery task failed");
            0
        }
        None => 0,
    }
}

/// A cheap handle to the engine; clone it freely.
#[derive(Clone)]
pub struct Engine {
    context: Arc<SessionContext>,
    supervisor: ActorRef<SupervisorMsg>,
    /// Next audit sequence; the lock makes the engine the audit stream's single writer.
    audit_seq: Arc<Mutex<u64>>,
    /// The catalog listing, public papers and final result rows (`read_cache`).
    read_cache: ReadCache,
}

impl Engine {
    /// Starts the engine with an in-process cache; see `start_with_cache`.
    pub async fn start(
        events: Arc<dyn EventStore>,
        documents: Arc<dyn DocumentStore>,
        config: SessionConfig,
    ) -> Result<Self, StartError> {
        let cache = Arc::new(MemoryCache::default());
        Self::start_with_cache(events, documents, config, cache).await
    }

    /// Starts the engine on the current tokio runtime, which session actors will live on,
    /// and brings back every session that was in progress. Catalog reads and results go
    /// through `cache` (memcached when several nodes share one).
    pub async fn start_with_cache(
        events: Arc<dyn EventStore>,
        documents: Arc<dyn DocumentStore>,
        config: SessionConfig,
        cache: Arc<dyn Cache>,
    ) -> Result<Self, StartError> {
        let catalog = Catalog::new(Arc::clone(&documents));
        let runtime = tokio::runtime::Handle::current();
        let context = Arc::new(SessionContext::new(
            Arc::clone(&events),
            catalog,
            config,
            runtime,
        ));
        let (supervisor, _) =
            SessionSupervisor::spawn(None, SessionSupervisor, Arc::clone(&context)).await?;
        let _ = context.supervisor.set(supervisor.get_cell());
        let audit_len = events
            .read(AUDIT_STREAM, 1)
            .await?
            .last()
            .map_or(0, |e| e.seq);
        let engine = Self {
            context,
            supervisor,
            audit_seq: Arc::new(Mutex::new(audit_len)),
            read_cache: ReadCache::new(cache),
        };
        engine.recover().await?;
        Ok(engine)
    }

    /// Respawns every session marked active, so that their deadline timers run again.
    /// Sessions are rebuilt `RECOVERY_CONCURRENCY` at a time: one by one, each waited on
    /// its reads and its spawn in turn (10,000 sessions: 3.0 s one by one, 1.3 s so).
    async fn recover(&self) -> Result<(), CatalogError> {
        let active = self.context.catalog.active_sessions().await?;
        let started = std::time::Instant::now();
        let mut recovered = 0usize;
        let mut pending = tokio::task::JoinSet::new();
        for session_id in active {
            if pending.len() >= RECOVERY_CONCURRENCY {
                recovered += recovered_one(pending.join_next().await);
            }
            let context = Arc::clone(&self.context);
            pending.spawn(async move {
                let result = context.session(&session_id).await.map(|_| ());
                (session_id, result)
            });
        }
        while let Some(joined) = pending.join_next().await {
            recovered += recovered_one(Some(joined));
        }
        let elapsed_ms = started.elapsed().as_millis() as u64;
        tracing::info!(recovered, elapsed_ms, "sessions in progress recovered");
        Ok(())
    }

    pub fn catalog(&self) -> &Catalog {
        &self.context.catalog
    }

    /// Whether the event store refuses writes: no answer can be acknowledged.
    pub fn storage_refusing_writes(&self) -> bool {
        self.context.events.refusing_writes()
    }

    pub fn live_sessions(&self) -> usize {
        self.context.registry.live_count()
    }

    /// Stops every session actor and the supervisor; state stays on disk.
    pub async fn shutdown(&self) {
        self.supervisor
            .stop_and_wait(None, Some(Duration::from_secs(5)))
            .await
            .ok();
    }

    async fn audit(&self, by: &str, action: &str, detail: String) -> Result<(), StoreError> {
        let mut seq = self.audit_seq.lock().await;
        let event = AuditEvent {
            by: by.to_owned(),
            action: action.to_owned(),
            detail,
            at_ms: now_ms(),
        };
        let body = storage::encode(&event);
        match &self.context.config.ownership {
            None => *seq = self.audit_alone(*seq, body).await?,
            Some(ownership) => *seq = self.audit_shared(ownership, body).await?,
        }
        tracing::info!(by, action, "admin action");
        Ok(())
    }

    /// Appends to the audit stream this node alone writes, after `last` (the last sequence
    /// it knows of). If the stream already holds that sequence (an earlier write reported
    /// as failed had landed), the entry goes after the stream's tail instead. Returns the
    /// sequence written.
    async fn audit_alone(&self, last: u64, body: Vec<u8>) -> Result<u64, StoreError> {
        let events = &self.context.events;
        let mut seq = last + 1;
        for _ in 0..AUDIT_ATTEMPTS {
            let record = NewEvent {
                seq,
                body: body.clone(),
            };
            if events.append(AUDIT_STREAM, vec![record]).await?.duplicates == 0 {
                return Ok(seq);
            }
            seq = events
                .read(AUDIT_STREAM, seq)
                .await?
                .last()
                .map_or(seq, |e| e.seq)
                + 1;
        }
        Err(StoreError::Failed("the audit stream keeps moving".into()))
    }

    /// Appends to the audit stream that several nodes share: under the stream's lease, so
    /// that two nodes never write one sequence, after the tail as it stands then. Returns
    /// the sequence written.
    async fn audit_shared(&self, ownership: &Ownership, body: Vec<u8>) -> Result<u64, StoreError> {
        let lease = self.claim_audit(ownership).await?;
        let events = &self.context.events;
        let appended = async {
            let tail = events
                .read(AUDIT_STREAM, 1)
                .await?
                .last()
                .map_or(0, |e| e.seq);
            let record = NewEvent {
                seq: tail + 1,
                body,
            };
            let outcome = events
                .append_fenced(AUDIT_STREAM, lease.epoch, vec![record])
                .await?;
            if outcome.duplicates > 0 {
                // Only a writer without the lease could have written there.
                return Err(StoreError::Failed(
                    "the audit stream moved under its lease".into(),
                ));
            }
            Ok(tail + 1)
        }
        .await;
        if let Err(error) = ownership.leases.release(&lease).await {
            tracing::warn!(%error, "audit lease not released; it will expire");
        }
        appended
    }

    /// The audit stream's lease, waited for while another node writes its entry (a few
    /// milliseconds); refused after `AUDIT_CLAIM_PATIENCE`.
    async fn claim_audit(&self, ownership: &Ownership) -> Result<Lease, StoreError> {
        let give_up = std::time::Instant::now() + AUDIT_CLAIM_PATIENCE;
        loop {
            let claimed = ownership
                .leases
                .claim(AUDIT_STREAM, &ownership.node_id, now_ms(), AUDIT_LEASE_MS)
                .await;
            match claimed {
                Ok(lease) => return Ok(lease),
                Err(LeaseError::Store(error)) => return Err(error),
                Err(error) if std::time::Instant::now() >= give_up => {
                    return Err(StoreError::Failed(format!("audit stream: {error}")));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    /// The audit log, oldest first.
    pub async fn audit_log(&self) -> Result<Vec<AuditEvent>, EngineError> {
        let records = self.context.events.read(AUDIT_STREAM, 1).await?;
        let decoded = records
            .iter()
            .map(|r| storage::decode(&r.body))
            .collect::<Result<_, _>>();
        decoded.map_err(|error| {
            let reason = error.to_string();
            EngineError::Catalog(CatalogError::Corrupt {
                key: AUDIT_STREAM.into(),
                reason,
            })
        })
    }

    /// Stores papers, all or none. Every question must be valid.
    pub async fn import_papers(&self, by: &str, papers: &[Paper]) -> Result<(), EngineError> {
        self.publish(by, papers, None).await
    }

    /// Creates or replaces an olympiad; every paper it names must exist.
    pub async fn put_olympiad(&self, by: &str, olympiad: &Olympiad) -> Result<(), EngineError> {
        self.publish(by, &[], Some(olympiad)).await
    }

    /// Stores papers and, optionally, an olympiad offering them, in one atomic write after
    /// checking everything: nothing is stored if anything is wrong. A stored paper may be
    /// replaced only by one that shows participants exactly the same (a corrected key or
    /// points); anything else would change questions under running sessions.
    pub async fn publish(
        &self,
        by: &str,
        papers: &[Paper],
        olympiad: Option<&Olympiad>,
    ) -> Result<(), EngineError> {
        let mut writes = Vec::new();
        for paper in papers {
            check_paper(paper)?;
            let stored = self.context.catalog.paper(&paper.id).await?;
            match stored {
                Some(stored) if stored == *paper => continue,
                Some(stored) if stored.public_questions() != paper.public_questions() => {
                    return Err(EngineError::PaperExists(paper.id.clone()));
                }
                _ => writes.push(catalog::put(catalog::paper_key(&paper.id), paper)),
            }
        }
        if let Some(olympiad) = olympiad {
            olympiad.validate()?;
            for paper_id in olympiad.papers.values() {
                let in_batch = papers.iter().any(|p| &p.id == paper_id);
                if !in_batch && self.context.catalog.paper(paper_id).await?.is_none() {
                    return Err(EngineError::UnknownPaper(paper_id.clone()));
                }
            }
            writes.push(catalog::put(catalog::olympiad_key(&olympiad.id), olympiad));
        }
        if writes.is_empty() {
            return Ok(());
        }
        writes.push(catalog::new_generation());
        self.context.catalog.write(writes).await?;
        for paper in papers {
            self.context.forget_cached(None, Some(&paper.id));
        }
        if let Some(olympiad) = olympiad {
            self.context.forget_cached(Some(&olympiad.id), None);
        }
        let mut detail: Vec<&str> = papers.iter().map(|p| p.id.as_str()).collect();
        detail.extend(olympiad.map(|o| o.id.as_str()));
        self.audit(by, "publish", detail.join(",")).await?;
        Ok(())
    }

    /// Registers a new participant for an olympiad at a grade; creates their session.
    pub async fn register(
        &self,
        olympiad_id: &str,
        name: &str,
        school: &str,
        region: &str,
        grade: u8,
    ) -> Result<Registration, EngineError> {
        let olympiad = self
            .context
            .catalog
            .olympiad(olympiad_id)
            .await?
            .ok_or_else(|| EngineError::UnknownOlympiad(olympiad_id.to_owned()))?;
        if now_ms() >= olympiad.closes_at_ms {
            return Err(EngineError::Session(SessionError::WindowClosed));
        }
        let paper_id = olympiad
            .paper_for(grade)
            .ok_or_else(|| EngineError::GradeNotOffered {
                olympiad: olympiad_id.to_owned(),
                grade,
            })?;
        let participant = Participant {
            id: uuid::Uuid::new_v4().simple().to_string(),
            name: name.trim().to_owned(),
            school: school.trim().to_owned(),
            region: region.trim().to_owned(),
        };
        participant.validate()?;
        let registration = Registration {
            session_id: uuid::Uuid::new_v4().simple().to_string(),
            olympiad_id: olympiad_id.to_owned(),
            participant_id: participant.id.clone(),
            grade,
            paper_id: paper_id.to_owned(),
            registered_at_ms: now_ms(),
        };
        let writes = vec![
            catalog::create(catalog::participant_key(&participant.id), &participant),
            catalog::create(
                catalog::registration_key(olympiad_id, &participant.id),
                &registration,
            ),
            catalog::create(
                catalog::session_key(&registration.session_id),
                &registration,
            ),
        ];
        match self.context.catalog.write(writes).await {
            Err(StoreError::Conflict(_)) => Err(EngineError::AlreadyRegistered),
            other => other.map(|()| registration).map_err(EngineError::from),
        }
    }

    async fn call<T: Send + 'static>(
        &self,
        session_id: &str,
        build: impl Fn(RpcReplyPort<Result<T, SessionError>>) -> SessionMsg,
    ) -> Result<T, SessionError> {
        for _ in 0..2 {
            let actor = self.context.session(session_id).await?;
            match actor.call(&build, Some(CALL_TIMEOUT)).await {
                Ok(ractor::rpc::CallResult::Success(result)) => return result,
                Ok(ractor::rpc::CallResult::Timeout) => return Err(SessionError::Busy),
                // The actor stopped between lookup and call (passivation): look up again.
                Ok(ractor::rpc::CallResult::SenderError) | Err(_) => {
                    self.context.registry.remove(session_id, actor.get_id());
                }
            }
        }
        Err(SessionError::Busy)
    }

    /// Starts the session if it has not started; returns its timing either way.
    pub async fn start_session(&self, session_id: &str) -> Result<SessionView, SessionError> {
        self.call(session_id, SessionMsg::Start).await
    }

    /// Grants extra time; audited.
    /// With a `grant_id` (the admin client's id for this grant), a retry after an error or
    /// a lost reply grants nothing more. The session's stream records the grant and who
    /// made it; the audit log copies it, and a failure to copy is logged, not returned,
    /// since the grant stands.
    pub async fn extend_time(
        &self,
        by: &str,
        session_id: &str,
        seconds: u64,
        grant_id: Option<&str>,
    ) -> Result<SessionView, EngineError> {
        let who = by.to_owned();
        let view = self
            .call(session_id, |reply| SessionMsg::ExtendTime {
                seconds,
                by: who.clone(),
                grant_id: grant_id.map(str::to_owned),
                reply,
            })
            .await?;
        let detail = match grant_id {
            Some(id) => format!("{session_id} +{seconds}s (grant {id})"),
            None => format!("{session_id} +{seconds}s"),
        };
        if let Err(error) = self.audit(by, "extend_time", detail).await {
            tracing::error!(session_id, %error, "extra time granted; audit log copy failed");
        }
        Ok(view)
    }

    /// Links evidence already in the blob store to the session (and to the reported
    /// proctoring event it documents).
    pub async fn attach_evidence(
        &self,
        session_id: &str,
        evidence: NewEvidence,
    ) -> Result<(), SessionError> {
        self.call(session_id, |reply| SessionMsg::AttachEvidence {
            evidence: evidence.clone(),
            reply,
        })
        .await
    }

    /// A connection resumes the session; it receives pushes from now on.
    pub async fn attach(
        &self,
        session_id: &str,
        connection: Connection,
    ) -> Result<Snapshot, SessionError> {
        self.call(session_id, |reply| SessionMsg::Attach {
            connection: connection.clone(),
            reply,
        })
        .await
    }

    pub async fn detach(&self, session_id: &str, connection_id: u64) {
        if let Some(actor) = self.context.registry.actors_for(session_id) {
            let _ = actor.send_message(SessionMsg::Detach { connection_id });
        }
    }

    /// A superseded connection proved alive: records a second live connection.
    pub async fn second_connection_seen(&self, session_id: &str, connection_id: u64) {
        if let Some(actor) = self.context.registry.actors_for(session_id) {
            let _ = actor.send_message(SessionMsg::SecondConnectionSeen { connection_id });
        }
    }

    /// Saves an answer; the reply (`Ack` or `Refused`) arrives on `reply_to`.
    pub async fn answer(
        &self,
        session_id: &str,
        connection_id: u64,
        seq: u64,
        question_id: String,
        value: AnswerValue,
        reply_to: Outbound,
    ) -> Result<(), SessionError> {
        self.context
            .send(session_id, || SessionMsg::Answer {
                connection_id,
                seq,
                question_id: question_id.clone(),
                value: value.clone(),
                reply_to: reply_to.clone(),
            })
            .await
    }

    /// Records a client-reported proctoring event; replied to like `answer`.
    pub async fn proctor(
        &self,
        session_id: &str,
        connection_id: u64,
        seq: u64,
        kind: ViolationKind,
        detail: String,
        reply_to: Outbound,
    ) -> Result<(), SessionError> {
        self.context
            .send(session_id, || SessionMsg::Proctor {
                connection_id,
                seq,
                kind,
                detail: detail.clone(),
                reply_to: reply_to.clone(),
            })
            .await
    }

    /// Submits; the summary arrives on `reply_to`.
    pub async fn submit(
        &self,
        session_id: &str,
        connection_id: u64,
        reply_to: Outbound,
    ) -> Result<(), SessionError> {
        self.context
            .send(session_id, || SessionMsg::Submit {
                connection_id,
                reply_to: reply_to.clone(),
            })
            .await
    }

    /// Results of an olympiad from the session streams, ranked per grade. Rows of
    /// finished sessions come from the cache when it has them (they never change).
    pub async fn results(&self, olympiad_id: &str) -> Result<Vec<ResultRow>, EngineError> {
        let catalog = &self.context.catalog;
        if catalog.olympiad(olympiad_id).await?.is_none() {
            return Err(EngineError::UnknownOlympiad(olympiad_id.to_owned()));
        }
        let registrations = catalog.registrations(olympiad_id).await?;
        let sources = read_cache::row_sources(&self.context, &registrations).await?;
        let cached = self.read_cache.final_rows(&sources).await;
        let mut rows = Vec::with_capacity(registrations.len());
        let mut newly_final = Vec::new();
        for ((registration, source), cached) in registrations.iter().zip(sources).zip(cached) {
            if let Some(row) = cached.filter(|row| row.session_id == registration.session_id) {
                rows.push(row);
                continue;
            }
            let row = self.result_row(registration, &source.paper).await?;
            if row.status.is_finished() {
                newly_final.push((source.key, row.clone()));
            }
            rows.push(row);
        }
        self.read_cache.keep_final_rows(newly_final).await;
        results::rank(&mut rows);
        Ok(rows)
    }

    /// The olympiad listing, through the cache.
    pub async fn olympiads(&self) -> Result<Vec<Olympiad>, EngineError> {
        Ok(self.read_cache.olympiads(&self.context.catalog).await?)
    }

    /// A paper's questions as participants see them, without keys, through the cache. The
    /// resume snapshot does not need it: its actor already holds the paper in memory.
    pub async fn public_paper(&self, paper_id: &str) -> Result<Vec<PublicQuestion>, EngineError> {
        let questions = self
            .read_cache
            .public_paper(&self.context.catalog, paper_id)
            .await?;
        questions.ok_or_else(|| EngineError::UnknownPaper(paper_id.to_owned()))
    }

    async fn result_row(
        &self,
        registration: &Registration,
        paper: &Paper,
    ) -> Result<ResultRow, EngineError> {
        let state = self.context.rebuild(&registration.session_id).await?;
        let participant = self
            .context
            .catalog
            .participant(&registration.participant_id)
            .await?;
        let participant = participant.unwrap_or_else(|| Participant {
            id: registration.participant_id.clone(),
            name: String::new(),
            school: String::new(),
            region: String::new(),
        });
        let answers = state
            .answers
            .iter()
            .map(|(id, a)| (id.clone(), a.value.clone()))
            .collect();
        Ok(results::row(RowInput {
            session_id: &registration.session_id,
            participant_id: &participant.id,
            name: &participant.name,
            school: &participant.school,
            region: &participant.region,
            grade: registration.grade,
            state: &state,
            score: scoring::score_paper(paper, &answers),
            max_score: paper.max_points(),
        }))
    }

    /// The raw events of a session, for tests and the audit of a dispute.
    pub async fn session_events(
        &self,
        session_id: &str,
    ) -> Result<Vec<crate::session::events::SessionEvent>, EngineError> {
        let records = self
            .context
            .events
            .read(&stream_name(session_id), 1)
            .await?;
        records
            .iter()
            .map(|r| storage::decode(&r.body))
            .collect::<Result<_, _>>()
            .map_err(|error| {
                let reason = error.to_string();
                EngineError::Catalog(CatalogError::Corrupt {
                    key: stream_name(session_id),
                    reason,
                })
            })
    }
}

/// A paper must have questions, and every question must be valid.
fn check_paper(paper: &Paper) -> Result<(), EngineError> {
    if paper.questions.is_empty() {
        return Err(EngineError::EmptyPaper(paper.id.clone()));
    }
    for question in &paper.questions {
        question
            .validate()
            .map_err(|source| EngineError::InvalidQuestion {
                paper: paper.id.clone(),
                question: question.id.clone(),
                source,
            })?;
    }
    Ok(())
}
