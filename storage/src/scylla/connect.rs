//! Opening the ScyllaDB backend: a session with token-aware routing, the configured
//! consistency and the retry policy, the schema when asked for, then every statement
//! prepared. A store that opened has all its statements; none is prepared later. Then the
//! document group log is swept once, and a task is started that sweeps it periodically.

use std::sync::Arc;
use std::time::Duration;

use ::scylla::client::execution_profile::ExecutionProfile;
use ::scylla::client::session::Session;
use ::scylla::client::session_builder::SessionBuilder;
use ::scylla::errors::{ExecutionError, NewSessionError, PrepareError};
use ::scylla::policies::load_balancing::DefaultPolicy;

use super::recovery::spawn_sweeper;
use super::retry::OlympRetryPolicy;
use super::{ConfigError, Inner, ScyllaConfig, ScyllaStore, Statements, schema};

/// Why the backend could not open.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The configuration is refused before anything is contacted.
    #[error("invalid ScyllaDB configuration")]
    Config(#[from] ConfigError),
    /// No session could be opened to any contact point.
    #[error("cannot open a session to {nodes:?}")]
    Session {
        nodes: Vec<String>,
        source: NewSessionError,
    },
    /// The contact points accepted connections but no session was ready in time (not a
    /// CQL server, or one that does not answer).
    #[error("no ScyllaDB session to {nodes:?} within {after_ms} ms: is CQL served there?")]
    Timeout { nodes: Vec<String>, after_ms: u64 },
    /// A statement of `storage/schema/olymp.cql` failed.
    #[error("schema statement failed: {statement}")]
    Schema {
        statement: String,
        source: ExecutionError,
    },
    /// The cluster refused to prepare one of the backend's statements (usually: the schema
    /// is missing or older than this build).
    #[error("cannot prepare {statement}")]
    Prepare {
        statement: &'static str,
        source: PrepareError,
    },
}

impl ScyllaStore {
    /// Connects, applies the schema if `config.create_schema`, prepares every statement,
    /// sweeps the document group log and starts its periodic sweep (which needs a tokio
    /// runtime, as every call here does).
    pub async fn connect(config: &ScyllaConfig) -> Result<Self, ConnectError> {
        config.validate()?;
        super::metrics::register();
        // The driver waits for a silent peer far longer than the connection timeout (its
        // keep-alive), so the whole opening gets two connection timeouts.
        let after_ms = config.connection_timeout_ms.saturating_mul(2);
        let opening = open_session(config);
        let session = tokio::time::timeout(Duration::from_millis(after_ms), opening)
            .await
            .map_err(|_| ConnectError::Timeout {
                nodes: config.nodes.clone(),
                after_ms,
            })?
            .map_err(|source| ConnectError::Session {
                nodes: config.nodes.clone(),
                source,
            })?;
        if config.create_schema {
            create_schema(&session).await?;
        }
        let statements = Statements::prepare(&session, config.serial_consistency)
            .await
            .map_err(|(statement, source)| ConnectError::Prepare { statement, source })?;
        tracing::info!(nodes = ?config.nodes, "scylla store connected");
        let inner = Inner {
            session,
            statements,
            known_directories: Default::default(),
            group_deadline: Duration::from_millis(config.document_group_deadline_ms),
            sweeper: Default::default(),
        };
        let store = Self {
            inner: Arc::new(inner),
        };
        store.start_group_log_sweeps(config).await;
        Ok(store)
    }

    /// Settles what the group log holds from before this start (a failure is logged: the
    /// periodic sweep tries again), then starts the periodic sweep.
    async fn start_group_log_sweeps(&self, config: &ScyllaConfig) {
        let grace = Duration::from_millis(config.document_group_grace_ms);
        if let Err(error) = self.recover_document_groups(grace).await {
            tracing::warn!(%error, "group log sweep on connect failed; the periodic one retries");
        }
        let interval = Duration::from_millis(config.document_group_sweep_interval_ms);
        let sweeper = spawn_sweeper(Arc::downgrade(&self.inner), interval, grace);
        self.inner
            .sweeper
            .set(sweeper)
            .expect("the sweeper starts once per store");
    }
}

async fn open_session(config: &ScyllaConfig) -> Result<Session, NewSessionError> {
    let mut routing = DefaultPolicy::builder().token_aware(true);
    if let Some(datacenter) = &config.local_datacenter {
        routing = routing.prefer_datacenter(datacenter.clone());
    }
    let profile = ExecutionProfile::builder()
        .consistency(config.consistency)
        .serial_consistency(Some(config.serial_consistency))
        .request_timeout(Some(Duration::from_millis(config.request_timeout_ms)))
        .load_balancing_policy(routing.build())
        .retry_policy(Arc::new(OlympRetryPolicy))
        .build();
    SessionBuilder::new()
        .known_nodes(&config.nodes)
        .connection_timeout(Duration::from_millis(config.connection_timeout_ms))
        .default_execution_profile_handle(profile.into_handle())
        .build()
        .await
}

/// Applies the schema file statement by statement; each is `IF NOT EXISTS`, and the driver
/// waits for schema agreement after each.
async fn create_schema(session: &Session) -> Result<(), ConnectError> {
    for statement in schema::statements(schema::SCHEMA_CQL) {
        if let Err(source) = session.query_unpaged(statement.as_str(), ()).await {
            return Err(ConnectError::Schema { statement, source });
        }
    }
    Ok(())
}
