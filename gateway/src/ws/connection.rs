//! One participant connection: reads frames, checks them, hands commands to the session,
//! and writes replies and pushes back. The connection owns no exam state; the session
//! actor does. Every queue here is bounded: in-flight commands by `max_in_flight`, the
//! outbound queue by `OUTBOUND_CAPACITY` (which exceeds `max_in_flight` plus the few
//! unsolicited pushes a session sends, so replies are never dropped).

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Instant;

use engine::clock::now_ms;
use engine::session::actor::Connection;
use engine::session::push::{Outbound, Push};
use futures_util::{SinkExt, StreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::metrics::{self, CONNECTIONS};
use crate::auth::{AuthError, Role};
use crate::errors;
use crate::protocol::{self, ClientFrame, ErrorFrame, FrameError, ServerFrame};
use crate::state::Gateway;
use engine::session::state::SessionError;

/// Close codes of this protocol (4000–4999 are the application's).
pub mod close_code {
    /// The ticket was invalid or expired.
    pub const TICKET_REFUSED: u16 = 4401;
    /// No `resume` came in time.
    pub const RESUME_TIMEOUT: u16 = 4408;
    /// Another connection resumed the session.
    pub const SUPERSEDED: u16 = 4409;
    /// The client stopped answering pings.
    pub const HEARTBEAT_LOST: u16 = 4410;
    /// The resumed session does not exist.
    pub const UNKNOWN_SESSION: u16 = 4404;
    /// The server cannot serve this connection now (a full outbound queue, a busy or
    /// failing store): resume again shortly. The standard "try again later".
    pub const TRY_AGAIN_LATER: u16 = 1013;
}

type Socket = WebSocketStream<TcpStream>;

/// How long a superseded connection has to answer a ping to count as live.
const SUPERSEDED_PING_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// What the loop does after a step.
enum Flow {
    Continue,
    Close(u16, &'static str),
    /// The socket is gone; nothing more can be written.
    Gone,
}

struct ConnectionState {
    id: u64,
    peer: SocketAddr,
    gateway: Arc<Gateway>,
    /// Set by a successful `resume`.
    session_id: Option<String>,
    outbound: Outbound,
    in_flight: usize,
    limiter: DefaultDirectRateLimiter,
    last_heard: Instant,
}

/// Runs a connection until it closes.
pub(super) async fn run(mut socket: Socket, peer: SocketAddr, gateway: Arc<Gateway>) {
    CONNECTIONS.inc();
    let (outbound, mut inbound) = Outbound::channel();
    let limits = gateway.ws_limits.clone();
    let per_second = NonZeroU32::new(limits.frames_per_second.max(1)).expect("at least 1");
    let burst = NonZeroU32::new(limits.frame_burst.max(1)).expect("at least 1");
    let mut state = ConnectionState {
        id: gateway.next_connection_id(),
        peer,
        gateway,
        session_id: None,
        outbound,
        in_flight: 0,
        limiter: RateLimiter::direct(Quota::per_second(per_second).allow_burst(burst)),
        last_heard: Instant::now(),
    };
    let resume_by = tokio::time::Instant::now() + limits.resume_timeout;
    let mut heartbeat = tokio::time::interval(limits.heartbeat);
    heartbeat.tick().await;
    let flow = loop {
        let step = tokio::select! {
            frame = socket.next() => state.on_socket(&mut socket, frame).await,
            Some(push) = inbound.receiver.recv() => state.on_push(&mut socket, push).await,
            _ = inbound.overflowed.notified() => {
                metrics::refused("too_slow");
                Flow::Close(close_code::TRY_AGAIN_LATER, "too_slow")
            }
            _ = heartbeat.tick() => state.on_heartbeat(&mut socket).await,
            _ = tokio::time::sleep_until(resume_by), if state.session_id.is_none() => {
                Flow::Close(close_code::RESUME_TIMEOUT, "resume_timeout")
            }
        };
        match step {
            Flow::Continue => continue,
            other => break other,
        }
    };
    if let Flow::Close(code, reason) = flow {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        };
        let _ = tokio::time::timeout(limits.write_timeout, socket.close(Some(frame))).await;
    }
    if let Some(session_id) = &state.session_id {
        state.gateway.engine.detach(session_id, state.id).await;
    }
    CONNECTIONS.dec();
}

impl ConnectionState {
    async fn send(&self, socket: &mut Socket, frame: &ServerFrame) -> Flow {
        let text = protocol::encode(frame);
        let timeout = self.gateway.ws_limits.write_timeout;
        match tokio::time::timeout(timeout, super::fragment::send_text(socket, text)).await {
            Ok(Ok(())) => Flow::Continue,
            _ => Flow::Gone,
        }
    }

    async fn refuse(&self, socket: &mut Socket, error: ErrorFrame) -> Flow {
        metrics::refused(error.code);
        self.send(socket, &ServerFrame::Error(error)).await
    }

    async fn on_socket(
        &mut self,
        socket: &mut Socket,
        frame: Option<Result<Message, WsError>>,
    ) -> Flow {
        self.last_heard = Instant::now();
        match frame {
            None => Flow::Gone,
            Some(Ok(Message::Text(text))) => self.on_text(socket, text.as_str()).await,
            Some(Ok(Message::Binary(_))) => {
                self.refuse(socket, errors::frame_error_frame(&FrameError::Binary))
                    .await
            }
            Some(Ok(Message::Close(_))) => {
                // tungstenite queued the echo of the client's close frame; send it.
                let timeout = self.gateway.ws_limits.write_timeout;
                let _ = tokio::time::timeout(timeout, socket.flush()).await;
                Flow::Gone
            }
            Some(Ok(_)) => Flow::Continue, // ping and pong: tungstenite answers pings itself
            Some(Err(WsError::Capacity(_))) => {
                metrics::refused("frame_too_large");
                Flow::Close(1009, "frame_too_large")
            }
            Some(Err(error)) => {
                tracing::debug!(peer = %self.peer, %error, "socket error");
                Flow::Gone
            }
        }
    }

    async fn on_text(&mut self, socket: &mut Socket, text: &str) -> Flow {
        let frame = ClientFrame::parse(text);
        if self.limiter.check().is_err() {
            let error = ErrorFrame {
                code: "rate_limited",
                message: "too many frames; slow down".into(),
                seq: frame.as_ref().ok().and_then(frame_seq),
            };
            return self.refuse(socket, error).await;
        }
        match frame {
            Ok(frame) => self.on_frame(socket, frame).await,
            Err(error) => self.refuse(socket, errors::frame_error_frame(&error)).await,
        }
    }

    async fn on_frame(&mut self, socket: &mut Socket, frame: ClientFrame) -> Flow {
        let (session_id, command) = match (&self.session_id, frame) {
            (None, ClientFrame::Resume { ticket }) => return self.resume(socket, &ticket).await,
            (_, ClientFrame::Ping) => {
                return self
                    .send(
                        socket,
                        &ServerFrame::Pong {
                            server_time_ms: now_ms(),
                        },
                    )
                    .await;
            }
            (Some(_), ClientFrame::Resume { .. }) => {
                let error = ErrorFrame {
                    code: "already_resumed",
                    message: "this connection already resumed a session".into(),
                    seq: None,
                };
                return self.refuse(socket, error).await;
            }
            (None, _) => {
                let error = ErrorFrame {
                    code: "not_resumed",
                    message: "send resume with a ticket first".into(),
                    seq: None,
                };
                return self.refuse(socket, error).await;
            }
            (Some(session_id), frame) => (session_id.clone(), frame),
        };
        self.command(socket, session_id, command).await
    }

    async fn resume(&mut self, socket: &mut Socket, ticket: &str) -> Flow {
        let claims = match self
            .gateway
            .signer
            .require(ticket, now_ms(), &[Role::Participant])
        {
            Ok(claims) => claims,
            Err(error) => return self.refuse_ticket(socket, &error).await,
        };
        let Some(session_id) = claims.session else {
            return self.refuse_ticket(socket, &AuthError::Malformed).await;
        };
        let connection = Connection {
            id: self.id,
            address: self.peer.ip().to_string(),
            outbound: self.outbound.clone(),
        };
        match self.gateway.engine.attach(&session_id, connection).await {
            Ok(snapshot) => {
                self.session_id = Some(session_id);
                self.send(socket, &ServerFrame::State(snapshot.into()))
                    .await
            }
            Err(error) => {
                let close = match error {
                    SessionError::UnknownSession => close_code::UNKNOWN_SESSION,
                    _ => close_code::TRY_AGAIN_LATER,
                };
                match self
                    .refuse(socket, errors::session_error_frame(&error, None))
                    .await
                {
                    Flow::Continue => Flow::Close(close, "resume_failed"),
                    other => other,
                }
            }
        }
    }

    async fn refuse_ticket(&self, socket: &mut Socket, error: &AuthError) -> Flow {
        match self.refuse(socket, errors::auth_error_frame(error)).await {
            Flow::Continue => Flow::Close(close_code::TICKET_REFUSED, "ticket_refused"),
            other => other,
        }
    }

    /// Hands a command to the session; its reply comes back as a push.
    async fn command(
        &mut self,
        socket: &mut Socket,
        session_id: String,
        frame: ClientFrame,
    ) -> Flow {
        if self.in_flight >= self.gateway.ws_limits.max_in_flight {
            let seq = frame_seq(&frame);
            let error = ErrorFrame {
                code: "too_many_in_flight",
                message: "wait for acknowledgements before sending more".into(),
                seq,
            };
            return self.refuse(socket, error).await;
        }
        let engine = &self.gateway.engine;
        let reply_to = self.outbound.clone();
        let seq = frame_seq(&frame);
        let sent = match frame {
            ClientFrame::Answer {
                seq,
                question,
                value,
            } => {
                engine
                    .answer(&session_id, self.id, seq, question, value, reply_to)
                    .await
            }
            ClientFrame::Proctor { seq, kind, detail } => {
                engine
                    .proctor(&session_id, self.id, seq, kind, detail, reply_to)
                    .await
            }
            ClientFrame::Submit => engine.submit(&session_id, self.id, reply_to).await,
            ClientFrame::Resume { .. } | ClientFrame::Ping => return Flow::Continue,
        };
        match sent {
            Ok(()) => {
                self.in_flight += 1;
                Flow::Continue
            }
            Err(error) => {
                self.refuse(socket, errors::session_error_frame(&error, seq))
                    .await
            }
        }
    }

    async fn on_push(&mut self, socket: &mut Socket, push: Push) -> Flow {
        if matches!(
            push,
            Push::Ack { .. } | Push::Refused { .. } | Push::Finished(_)
        ) {
            self.in_flight = self.in_flight.saturating_sub(1);
        }
        let superseded = push == Push::Superseded;
        match self.send(socket, &ServerFrame::from(push)).await {
            Flow::Continue if superseded => self.superseded(socket).await,
            other => other,
        }
    }

    /// Another connection resumed the session. If this one still answers a ping, two
    /// connections were live at once, which the session records; a dead socket (a network
    /// drop the client recovered from) proves nothing.
    async fn superseded(&mut self, socket: &mut Socket) -> Flow {
        if socket.send(Message::Ping(Default::default())).await.is_ok() {
            let alive = tokio::time::timeout(SUPERSEDED_PING_WAIT, socket.next()).await;
            if let (Ok(Some(Ok(_))), Some(session_id)) = (alive, &self.session_id) {
                self.gateway
                    .engine
                    .second_connection_seen(session_id, self.id)
                    .await;
            }
        }
        Flow::Close(close_code::SUPERSEDED, "superseded")
    }

    async fn on_heartbeat(&mut self, socket: &mut Socket) -> Flow {
        let silent_for = self.last_heard.elapsed();
        if silent_for > self.gateway.ws_limits.heartbeat * 3 {
            return Flow::Close(close_code::HEARTBEAT_LOST, "heartbeat_lost");
        }
        let ping = tokio::time::timeout(
            self.gateway.ws_limits.write_timeout,
            socket.send(Message::Ping(Default::default())),
        );
        match ping.await {
            Ok(Ok(())) => Flow::Continue,
            _ => Flow::Gone,
        }
    }
}

fn frame_seq(frame: &ClientFrame) -> Option<u64> {
    match frame {
        ClientFrame::Answer { seq, .. } | ClientFrame::Proctor { seq, .. } => Some(*seq),
        _ => None,
    }
}
