//! The session actor: owns one live session — its state, its deadline timers, its
//! attached connection — and is the only writer of the session's event stream.
//!
//! Who talks to it: the gateway (resume, answers, proctoring events, submit, detach), the
//! HTTP API through the engine (start, extra time), and its own timers. Every command is
//! decided on the state, stored durably, applied, and only then answered.

use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use storage::{Lease, LeaseError, StoreError};

use super::context::{SessionContext, stream_name};
use super::events::SessionEvent;
use super::push::{Outbound, Push, SessionView, Snapshot};
use super::state::{Decision, NewEvidence, SessionError, SessionState, Status};
use crate::clock::now_ms;
use crate::domain::answer::AnswerValue;
use crate::domain::olympiad::Olympiad;
use crate::domain::paper::Paper;
use crate::metrics;
use crate::proctoring::ViolationKind;

/// A connection that resumed the session: where pushes go.
#[derive(Clone, Debug)]
pub struct Connection {
    /// Unique per gateway connection.
    pub id: u64,
    /// The peer's network address, for the address-change check.
    pub address: String,
    pub outbound: Outbound,
}

/// Messages to a session actor.
pub enum SessionMsg {
    /// From the HTTP API: start the session if it has not started. Replies with timing.
    Start(RpcReplyPort<Result<SessionView, SessionError>>),
    /// From the gateway: a connection resumed with a valid ticket. It receives pushes from
    /// now on; a previous connection gets `Superseded`. Replies with the snapshot.
    Attach {
        connection: Connection,
        reply: RpcReplyPort<Result<Snapshot, SessionError>>,
    },
    /// From the gateway: the connection closed.
    Detach { connection_id: u64 },
    /// From the gateway: a superseded connection proved alive (it answered a ping), so two
    /// connections were live at once.
    SecondConnectionSeen { connection_id: u64 },
    /// From the gateway: save an answer. Answered on `reply_to` with `Ack` or `Refused`.
    Answer {
        connection_id: u64,
        seq: u64,
        question_id: String,
        value: AnswerValue,
        reply_to: Outbound,
    },
    /// From the gateway: a client-reported proctoring event. Answered like `Answer`.
    Proctor {
        connection_id: u64,
        seq: u64,
        kind: ViolationKind,
        detail: String,
        reply_to: Outbound,
    },
    /// From the gateway: submit. Answered on `reply_to` with `Finished`.
    Submit {
        connection_id: u64,
        reply_to: Outbound,
    },
    /// From the evidence upload endpoint: link a stored snapshot or capture.
    AttachEvidence {
        evidence: NewEvidence,
        reply: RpcReplyPort<Result<(), SessionError>>,
    },
    /// From the admin API: extra time, once per `grant_id` when one is given. Replies with
    /// the new timing.
    ExtendTime {
        seconds: u64,
        by: String,
        grant_id: Option<String>,
        reply: RpcReplyPort<Result<SessionView, SessionError>>,
    },
    /// From its own timers; ignored unless `deadline_ms` is still the deadline.
    Timer { timer: TimerKind, deadline_ms: u64 },
    /// From its own timer: stop if finished and idle.
    PassivateIfIdle,
    /// From its own timer: renew the session's lease (only when sessions are leased).
    RenewLease,
}

/// Which timer fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerKind {
    Warning { minutes_left: u32 },
    Deadline,
}

/// What the actor is started with: the session already rebuilt from its events.
pub struct SessionArgs {
    pub session_id: String,
    pub context: Arc<SessionContext>,
    pub olympiad: Arc<Olympiad>,
    pub paper: Arc<Paper>,
    pub state: SessionState,
    /// The lease this node holds on the session, when sessions are leased.
    pub lease: Option<Lease>,
}

/// The actor's state.
pub struct SessionActorState {
    session_id: String,
    stream: String,
    context: Arc<SessionContext>,
    olympiad: Arc<Olympiad>,
    paper: Arc<Paper>,
    /// Folded from durable events only: a command's events are applied after `append`.
    session: SessionState,
    /// At most one connection receives pushes.
    attached: Option<Connection>,
    /// Address of the last connection that resumed, for the address-change check.
    last_address: Option<String>,
    /// When the session last had a connection or a command, for passivation.
    last_activity_ms: u64,
    /// Held while the actor lives, when sessions are leased; every append carries its
    /// fencing epoch.
    lease: Option<Lease>,
    /// Another node took the session over: the actor stops after the current message.
    lease_lost: bool,
    /// A write failed, and may have landed all the same (a timeout on a cluster): the
    /// state is reread from the stream before the next command, and nothing is written
    /// until it has been.
    uncertain: bool,
}

/// The actor itself holds nothing; see `SessionActorState`.
pub struct SessionActor;

impl Actor for SessionActor {
    type Msg = SessionMsg;
    type State = SessionActorState;
    type Arguments = SessionArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<SessionMsg>,
        args: SessionArgs,
    ) -> Result<SessionActorState, ActorProcessingErr> {
        metrics::SESSIONS_LIVE.inc();
        Ok(SessionActorState {
            stream: stream_name(&args.session_id),
            session_id: args.session_id,
            context: args.context,
            olympiad: args.olympiad,
            paper: args.paper,
            session: args.state,
            attached: None,
            last_address: None,
            last_activity_ms: now_ms(),
            lease: args.lease,
            lease_lost: false,
            uncertain: false,
        })
    }

    async fn post_start(
        &self,
        myself: ActorRef<SessionMsg>,
        state: &mut SessionActorState,
    ) -> Result<(), ActorProcessingErr> {
        state.expire_if_due().await;
        state.schedule_timers(&myself);
        state.schedule_passivation(&myself);
        state.schedule_renewal(&myself);
        state.stop_if_lease_lost(&myself);
        Ok(())
    }

    async fn post_stop(
        &self,
        myself: ActorRef<SessionMsg>,
        state: &mut SessionActorState,
    ) -> Result<(), ActorProcessingErr> {
        metrics::SESSIONS_LIVE.dec();
        state
            .context
            .registry
            .remove(&state.session_id, myself.get_id());
        state.release_lease().await;
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<SessionMsg>,
        message: SessionMsg,
        state: &mut SessionActorState,
    ) -> Result<(), ActorProcessingErr> {
        if state.uncertain {
            state.reread(&myself).await;
        }
        match message {
            SessionMsg::Start(reply) => state.start(&myself, reply).await,
            SessionMsg::Attach { connection, reply } => state.attach(connection, reply).await,
            SessionMsg::Detach { connection_id } => state.detach(&myself, connection_id),
            SessionMsg::SecondConnectionSeen { connection_id } => {
                state.second_connection_seen(connection_id).await
            }
            SessionMsg::Answer {
                connection_id,
                seq,
                question_id,
                value,
                reply_to,
            } => {
                state
                    .answer(connection_id, seq, &question_id, &value, &reply_to)
                    .await
            }
            SessionMsg::Proctor {
                connection_id,
                seq,
                kind,
                detail,
                reply_to,
            } => {
                state
                    .proctor(connection_id, seq, kind, detail, &reply_to)
                    .await
            }
            SessionMsg::Submit {
                connection_id,
                reply_to,
            } => state.submit(&myself, connection_id, &reply_to).await,
            SessionMsg::AttachEvidence { evidence, reply } => {
                state.attach_evidence(evidence, reply).await
            }
            SessionMsg::ExtendTime {
                seconds,
                by,
                grant_id,
                reply,
            } => {
                let grant = (seconds, by.as_str(), grant_id.as_deref());
                state.extend_time(&myself, grant, reply).await
            }
            SessionMsg::Timer { timer, deadline_ms } => {
                state.timer(&myself, timer, deadline_ms).await
            }
            SessionMsg::PassivateIfIdle => state.passivate_if_idle(&myself),
            SessionMsg::RenewLease => state.renew_lease(&myself).await,
        }
        state.stop_if_lease_lost(&myself);
        Ok(())
    }
}

impl SessionActorState {
    /// Stores events durably, then applies them. On failure nothing is applied.
    async fn persist(&mut self, events: Vec<SessionEvent>) -> Result<(), SessionError> {
        if events.is_empty() {
            return Ok(());
        }
        if self.uncertain {
            return Err(SessionError::StorageUnavailable);
        }
        let first_seq = self.session.last_event_seq + 1;
        let records = events
            .iter()
            .zip(first_seq..)
            .map(|(event, seq)| storage::NewEvent {
                seq,
                body: storage::encode(event),
            })
            .collect();
        let appended = match &self.lease {
            Some(lease) => {
                let events = &self.context.events;
                events
                    .append_fenced(&self.stream, lease.epoch, records)
                    .await
            }
            None => self.context.events.append(&self.stream, records).await,
        };
        match appended {
            Ok(outcome) if outcome.duplicates > 0 => {
                // The stream already held some of these sequences: an earlier write whose
                // reply was an error landed after all. Nothing of this command is applied
                // or acknowledged; the state is reread before the next one.
                metrics::stream_ahead(&self.session_id, outcome.duplicates);
                self.uncertain = true;
                return Err(SessionError::StorageUnavailable);
            }
            Ok(_) => {}
            Err(StoreError::Fenced { .. }) => {
                self.lease_lost = true;
                return Err(SessionError::ServedElsewhere);
            }
            Err(error) => {
                metrics::storage_failed(&self.session_id, &error);
                self.uncertain = true;
                return Err(SessionError::StorageUnavailable);
            }
        }
        let was_finished = self.session.status().is_finished();
        for (event, seq) in events.iter().zip(first_seq..) {
            self.session.apply(seq, event);
            metrics::event_applied(&self.session_id, event);
        }
        if !was_finished && self.session.status().is_finished() {
            self.on_finished().await;
        }
        Ok(())
    }

    /// Rebuilds the state from the stream after a write whose outcome was unknown, so that
    /// the next command is decided on what is stored, and at sequences after it. If the
    /// stream cannot be read, writes stay refused and the next command tries again.
    async fn reread(&mut self, myself: &ActorRef<SessionMsg>) {
        let Ok(stored) = self.context.rebuild(&self.session_id).await else {
            return;
        };
        let was_finished = self.session.status().is_finished();
        let deadline_before = self.session.deadline_ms();
        self.session = stored;
        self.uncertain = false;
        if self.session.deadline_ms() != deadline_before {
            self.schedule_timers(myself);
        }
        if !was_finished && self.session.status().is_finished() {
            self.on_finished().await;
        }
    }

    /// After the session finished: no longer active, and the attached connection knows.
    async fn on_finished(&mut self) {
        let key = crate::catalog::active_key(&self.session_id);
        let unmark = vec![storage::DocumentWrite::Delete { key }];
        if let Err(error) = self.context.catalog.write(unmark).await {
            // Harmless: recovery finds the session finished and unmarks it then.
            let session_id = &self.session_id;
            tracing::warn!(%session_id, %error, "could not unmark finished session");
        }
        if let (Some(attached), Some(summary)) = (&self.attached, self.summary()) {
            attached.outbound.push(Push::Finished(summary));
        }
    }

    fn summary(&self) -> Option<super::state::Summary> {
        self.session.summary(self.paper.questions.len())
    }

    fn view(&self) -> SessionView {
        SessionView {
            session_id: self.session_id.clone(),
            status: self.session.status(),
            started_at_ms: self.session.started_at_ms,
            deadline_ms: self.session.deadline_ms(),
            server_time_ms: now_ms(),
        }
    }

    async fn expire_if_due(&mut self) {
        if let Some(expiry) = self.session.decide_expiry(now_ms())
            && self.persist(vec![expiry]).await.is_err()
        {
            let session_id = &self.session_id;
            tracing::warn!(%session_id, "expiry not stored; retried by the next timer");
        }
    }

    async fn start(
        &mut self,
        myself: &ActorRef<SessionMsg>,
        reply: RpcReplyPort<Result<SessionView, SessionError>>,
    ) {
        let window = (self.olympiad.opens_at_ms, self.olympiad.closes_at_ms);
        let result = match self
            .session
            .decide_start(now_ms(), window, self.olympiad.duration_s)
        {
            Ok(Some(started)) => self.begin(myself, started).await,
            Ok(None) => Ok(()),
            Err(error) => Err(error),
        };
        self.expire_if_due().await;
        let _ = reply.send(result.map(|()| self.view()));
    }

    /// Marks the session active (for recovery), then stores `Started` and arms timers.
    async fn begin(
        &mut self,
        myself: &ActorRef<SessionMsg>,
        started: SessionEvent,
    ) -> Result<(), SessionError> {
        let mark = crate::catalog::put(crate::catalog::active_key(&self.session_id), &());
        self.context
            .catalog
            .write(vec![mark])
            .await
            .map_err(|error| {
                metrics::storage_failed(&self.session_id, &error);
                SessionError::StorageUnavailable
            })?;
        self.persist(vec![started]).await?;
        self.schedule_timers(myself);
        Ok(())
    }

    async fn attach(
        &mut self,
        connection: Connection,
        reply: RpcReplyPort<Result<Snapshot, SessionError>>,
    ) {
        let now = now_ms();
        self.last_activity_ms = now;
        self.expire_if_due().await;
        let observed = self.observe_resume(&connection);
        let events = observed
            .into_iter()
            .flat_map(|(kind, detail)| {
                self.session
                    .decide_server_violation(now, kind, detail, &self.olympiad.proctoring)
            })
            .collect();
        if self.persist(events).await.is_err() {
            tracing::warn!(session_id = %self.session_id, "server-observed violation not stored");
        }
        if let Some(previous) = self.attached.take() {
            previous.outbound.push(Push::Superseded);
        }
        self.last_address = Some(connection.address.clone());
        self.attached = Some(connection);
        let _ = reply.send(Ok(self.snapshot(now)));
    }

    /// What the server sees on a resume: another address. (A second live connection is
    /// reported by the gateway, which can tell a live socket from a dead one.)
    fn observe_resume(&self, connection: &Connection) -> Vec<(ViolationKind, String)> {
        let mut seen = Vec::new();
        if let Some(address) = &self.last_address
            && *address != connection.address
        {
            seen.push((
                ViolationKind::AddressChanged,
                format!("{address} -> {}", connection.address),
            ));
        }
        seen
    }

    /// The participant's view. Questions are shown only once the session has started.
    fn snapshot(&self, now: u64) -> Snapshot {
        let started = self.session.status() != Status::NotStarted;
        Snapshot {
            session_id: self.session_id.clone(),
            olympiad_title: self.olympiad.title.clone(),
            status: self.session.status(),
            questions: if started {
                self.paper.public_questions()
            } else {
                Vec::new()
            },
            answers: self
                .session
                .answers
                .iter()
                .map(|(id, a)| (id.clone(), a.value.clone()))
                .collect(),
            last_seq: self.session.last_client_seq,
            server_time_ms: now,
            started_at_ms: self.session.started_at_ms,
            deadline_ms: self.session.deadline_ms(),
            summary: self.summary(),
        }
    }

    /// The gateway found the superseded connection still alive: two live connections.
    async fn second_connection_seen(&mut self, connection_id: u64) {
        let detail = format!("connection {connection_id} was still live when another resumed");
        let policy = self.olympiad.proctoring;
        let kind = ViolationKind::SecondConnection;
        let events = self
            .session
            .decide_server_violation(now_ms(), kind, detail, &policy);
        if self.persist(events).await.is_err() {
            let session_id = &self.session_id;
            tracing::warn!(%session_id, "second-connection violation not stored");
        }
    }

    fn detach(&mut self, myself: &ActorRef<SessionMsg>, connection_id: u64) {
        if self
            .attached
            .as_ref()
            .is_some_and(|a| a.id == connection_id)
        {
            self.attached = None;
            self.last_activity_ms = now_ms();
            self.schedule_passivation(myself);
        }
    }

    fn touch(&mut self, now: u64) {
        self.last_activity_ms = now;
    }

    async fn answer(
        &mut self,
        connection_id: u64,
        seq: u64,
        question_id: &str,
        value: &AnswerValue,
        reply_to: &Outbound,
    ) {
        let now = now_ms();
        self.touch(now);
        tracing::trace!(session_id = %self.session_id, connection_id, seq, "answer received");
        let policy = self.olympiad.proctoring;
        let decision =
            self.session
                .decide_answer(now, seq, question_id, value, &self.paper, &policy);
        self.settle(seq, decision, reply_to).await;
        metrics::ANSWER_SECONDS.observe((now_ms().saturating_sub(now)) as f64 / 1000.0);
    }

    async fn proctor(
        &mut self,
        connection_id: u64,
        seq: u64,
        kind: ViolationKind,
        detail: String,
        reply_to: &Outbound,
    ) {
        let now = now_ms();
        self.touch(now);
        tracing::trace!(session_id = %self.session_id, connection_id, seq, "answer received");
        let policy = self.olympiad.proctoring;
        let decision = self
            .session
            .decide_client_violation(now, seq, kind, detail, &policy);
        self.settle(seq, decision, reply_to).await;
    }

    /// Stores a decision's events and answers the command: `Ack` once durable (or if a
    /// duplicate), `Refused` otherwise. Warns the participant if the policy says so.
    async fn settle(
        &mut self,
        seq: u64,
        decision: Result<Decision, SessionError>,
        reply_to: &Outbound,
    ) {
        let mut recorded = None;
        let outcome = match decision {
            Ok(Decision::Duplicate) => Ok(()),
            Ok(Decision::Append(events)) => {
                recorded = violation_in(&events);
                self.persist(events).await
            }
            Err(SessionError::DeadlinePassed) => {
                self.expire_if_due().await;
                Err(SessionError::DeadlinePassed)
            }
            Err(error) => Err(error),
        };
        let reply = match outcome {
            Ok(()) => Push::Ack {
                seq,
                saved_at_ms: now_ms(),
            },
            Err(error) => Push::Refused {
                seq: Some(seq),
                error,
            },
        };
        let stored = matches!(reply, Push::Ack { .. });
        reply_to.push(reply);
        if let (true, Some(kind)) = (stored, recorded) {
            self.warn_if_policy_says(kind, reply_to);
        }
    }

    /// Warns about the violation of `kind` just stored, if the policy's threshold is met.
    fn warn_if_policy_says(&self, kind: ViolationKind, reply_to: &Outbound) {
        if self.session.status().is_finished() {
            return;
        }
        let policy = self.olympiad.proctoring;
        let warns =
            policy.warn_at_weight > 0 && self.session.violation_weight >= policy.warn_at_weight;
        if warns {
            reply_to.push(Push::ProctorWarning {
                kind,
                flagged: self.session.flagged,
            });
        }
    }

    async fn submit(
        &mut self,
        myself: &ActorRef<SessionMsg>,
        connection_id: u64,
        reply_to: &Outbound,
    ) {
        self.touch(now_ms());
        let (result, newly_finished) = match self.session.decide_submit(now_ms()) {
            Ok(Some(finished)) => (self.persist(vec![finished]).await, true),
            Ok(None) => (Ok(()), false),
            Err(error) => (Err(error), false),
        };
        let reply = match result.map(|()| self.summary()) {
            Ok(Some(summary)) => Push::Finished(summary),
            Ok(None) => Push::Refused {
                seq: None,
                error: SessionError::NotStarted,
            },
            Err(error) => Push::Refused { seq: None, error },
        };
        // `on_finished` already told the attached connection about a new finish.
        let submitter_attached = self
            .attached
            .as_ref()
            .is_some_and(|a| a.id == connection_id);
        if !(newly_finished && submitter_attached && matches!(reply, Push::Finished(_))) {
            reply_to.push(reply);
        }
        self.schedule_passivation(myself);
    }

    async fn attach_evidence(
        &mut self,
        evidence: NewEvidence,
        reply: RpcReplyPort<Result<(), SessionError>>,
    ) {
        let result = match self.session.decide_evidence(now_ms(), evidence) {
            Ok(Some(event)) => self.persist(vec![event]).await,
            Ok(None) => Ok(()),
            Err(error) => Err(error),
        };
        let _ = reply.send(result);
    }

    async fn extend_time(
        &mut self,
        myself: &ActorRef<SessionMsg>,
        (seconds, by, grant_id): (u64, &str, Option<&str>),
        reply: RpcReplyPort<Result<SessionView, SessionError>>,
    ) {
        let decision = self
            .session
            .decide_extra_time(now_ms(), seconds, by, grant_id);
        let result = match decision {
            Ok(Some(event)) => self.persist(vec![event]).await,
            // That grant is made already: the reply is the timing it gave.
            Ok(None) => {
                let _ = reply.send(Ok(self.view()));
                return;
            }
            Err(error) => Err(error),
        };
        if result.is_ok() {
            self.schedule_timers(myself);
            if let (Some(attached), Some(deadline_ms)) =
                (&self.attached, self.session.deadline_ms())
            {
                attached
                    .outbound
                    .push(Push::DeadlineChanged { deadline_ms });
            }
        }
        let _ = reply.send(result.map(|()| self.view()));
    }

    /// Arms the warning and deadline timers for the current deadline. Timers armed for an
    /// older deadline still fire, and are ignored.
    fn schedule_timers(&self, myself: &ActorRef<SessionMsg>) {
        let Some(deadline_ms) = self.session.deadline_ms() else {
            return;
        };
        if self.session.status() != Status::InProgress {
            return;
        }
        let now = now_ms();
        for minutes_left in [5u32, 1] {
            let at = deadline_ms.saturating_sub(u64::from(minutes_left) * 60_000);
            if at > now {
                let timer = TimerKind::Warning { minutes_left };
                myself.send_after(Duration::from_millis(at - now), move || SessionMsg::Timer {
                    timer,
                    deadline_ms,
                });
            }
        }
        let delay = Duration::from_millis(deadline_ms.saturating_sub(now));
        myself.send_after(delay, move || SessionMsg::Timer {
            timer: TimerKind::Deadline,
            deadline_ms,
        });
    }

    async fn timer(&mut self, myself: &ActorRef<SessionMsg>, timer: TimerKind, deadline_ms: u64) {
        if self.session.deadline_ms() != Some(deadline_ms)
            || self.session.status() != Status::InProgress
        {
            return;
        }
        match timer {
            TimerKind::Warning { minutes_left } => {
                if let Some(attached) = &self.attached {
                    attached.outbound.push(Push::TimeWarning {
                        minutes_left,
                        deadline_ms,
                    });
                }
            }
            TimerKind::Deadline if now_ms() < deadline_ms => self.schedule_timers(myself),
            TimerKind::Deadline => {
                self.expire_if_due().await;
                if self.session.status() == Status::InProgress {
                    // The store refused the expiry: try again shortly.
                    let retry = move || SessionMsg::Timer {
                        timer: TimerKind::Deadline,
                        deadline_ms,
                    };
                    myself.send_after(Duration::from_millis(500), retry);
                }
                self.schedule_passivation(myself);
            }
        }
    }

    fn schedule_renewal(&self, myself: &ActorRef<SessionMsg>) {
        if let (Some(ownership), Some(_)) = (&self.context.config.ownership, &self.lease) {
            let every = Duration::from_millis(ownership.renew_every_ms);
            myself.send_after(every, || SessionMsg::RenewLease);
        }
    }

    /// Extends the lease. A store failure is retried at the next renewal while the lease
    /// still runs; if it runs out and another node claims the session, the next append is
    /// refused and the actor stops then.
    async fn renew_lease(&mut self, myself: &ActorRef<SessionMsg>) {
        let (Some(ownership), Some(lease)) = (&self.context.config.ownership, &self.lease) else {
            return;
        };
        let renewed = ownership
            .leases
            .renew(lease, now_ms(), ownership.ttl_ms)
            .await;
        match renewed {
            Ok(lease) => self.lease = Some(lease),
            Err(LeaseError::Lost { .. }) => self.lease_lost = true,
            Err(error) => {
                let session_id = &self.session_id;
                tracing::warn!(%session_id, %error, "session lease not renewed; retried later");
            }
        }
        self.schedule_renewal(myself);
    }

    /// After a lost lease: the connection is told to connect again (another node serves
    /// the session) and the actor stops; nothing more is stored from this node.
    fn stop_if_lease_lost(&mut self, myself: &ActorRef<SessionMsg>) {
        if !self.lease_lost {
            return;
        }
        if let Some(attached) = self.attached.take() {
            let error = SessionError::ServedElsewhere;
            attached.outbound.push(Push::Refused { seq: None, error });
        }
        metrics::lease_lost(&self.session_id);
        myself.stop(Some("lease lost".into()));
    }

    /// Gives the lease up when the actor stops, so that another node need not wait for it
    /// to expire. A lost lease is not released: it belongs to someone else now.
    async fn release_lease(&mut self) {
        let (Some(ownership), Some(lease)) = (&self.context.config.ownership, self.lease.take())
        else {
            return;
        };
        if self.lease_lost {
            return;
        }
        if let Err(error) = ownership.leases.release(&lease).await {
            let session_id = &self.session_id;
            tracing::warn!(%session_id, %error, "session lease not released; it will expire");
        }
    }

    fn schedule_passivation(&self, myself: &ActorRef<SessionMsg>) {
        if self.session.status().is_finished() && self.attached.is_none() {
            let delay = Duration::from_millis(self.context.config.passivate_after_ms);
            myself.send_after(delay, || SessionMsg::PassivateIfIdle);
        }
    }

    /// Stops the actor if the session is finished and nobody used it for the idle period;
    /// its state stays on disk and the next lookup rebuilds it.
    fn passivate_if_idle(&self, myself: &ActorRef<SessionMsg>) {
        let idle_ms = now_ms().saturating_sub(self.last_activity_ms);
        let idle = idle_ms >= self.context.config.passivate_after_ms;
        if self.session.status().is_finished() && self.attached.is_none() && idle {
            tracing::debug!(session_id = %self.session_id, "session passivated");
            myself.stop(Some("passivated".into()));
        }
    }
}

/// The kind of the violation among a decision's events, if any.
fn violation_in(events: &[SessionEvent]) -> Option<ViolationKind> {
    events.iter().rev().find_map(|event| match event {
        SessionEvent::ViolationRecorded { kind, .. } => Some(*kind),
        _ => None,
    })
}
