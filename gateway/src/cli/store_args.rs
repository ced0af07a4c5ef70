//! Where a node keeps its data: the embedded store in the data directory (the default), or
//! a ScyllaDB cluster shared by several nodes. `serve` and `import` both take the cluster's
//! address; only `serve` takes the options of a node that serves sessions.

use anyhow::Context as _;
use clap::Args;
use gateway::server::{ClusterConfig, ServeConfig};
use storage::scylla::{ScyllaConfig, parse_consistency};

/// The ScyllaDB cluster, if any.
#[derive(Args, Clone, Debug)]
pub struct ScyllaArgs {
    /// Keep events, documents and session leases in this ScyllaDB cluster instead of the
    /// data directory: contact points as HOST:PORT, comma-separated. Every node of one
    /// olympiad names the same cluster (and the same memcached, and has the same token
    /// secret in its data directory). The node creates the `olymp` keyspace if it is
    /// missing (storage/schema/olymp.cql).
    #[arg(long = "scylla", env = "OLYMP_SCYLLA_NODES", value_name = "NODES")]
    scylla: Option<String>,
    /// Consistency of reads and writes on ScyllaDB: ONE, QUORUM, LOCAL_QUORUM or ALL.
    #[arg(long, env = "OLYMP_SCYLLA_CONSISTENCY", default_value = "LOCAL_QUORUM")]
    scylla_consistency: String,
    /// The ScyllaDB datacenter whose replicas this node prefers.
    #[arg(long, env = "OLYMP_SCYLLA_DATACENTER")]
    scylla_datacenter: Option<String>,
}

/// What a serving node adds: its name and its leases.
#[derive(Args, Clone, Debug)]
pub struct NodeArgs {
    #[command(flatten)]
    scylla: ScyllaArgs,
    /// This node's name among the nodes sharing the cluster; unique per running process.
    /// By default the host name and a random suffix.
    #[arg(long, env = "OLYMP_NODE_ID")]
    node_id: Option<String>,
    /// How long a node's claim on a session lasts without renewal: after a node dies, its
    /// sessions move to another node within this time. Each live session renews every
    /// third of it (a lightweight transaction on the cluster).
    #[arg(long, env = "OLYMP_LEASE_TTL_MS", default_value_t = DEFAULT_LEASE_TTL_MS)]
    lease_ttl_ms: u64,
}

const DEFAULT_LEASE_TTL_MS: u64 = 30_000;

/// Shortest lease: a renewal every third of it must fit a lightweight transaction.
const LEASE_TTL_MIN_MS: u64 = 3_000;

impl ScyllaArgs {
    /// Points `config` at the cluster, if one is named; sessions are then leased by
    /// `node_id` for `lease_ttl_ms`.
    pub fn apply(
        &self,
        config: &mut ServeConfig,
        node_id: String,
        lease_ttl_ms: u64,
    ) -> anyhow::Result<()> {
        let Some(nodes) = &self.scylla else {
            let consistency = self.scylla_consistency.to_ascii_uppercase();
            if consistency != "LOCAL_QUORUM" || self.scylla_datacenter.is_some() {
                tracing::warn!("ScyllaDB settings are ignored: no cluster is named (--scylla)");
            }
            return Ok(());
        };
        let mut scylla = ScyllaConfig::from_node_list(nodes).context("--scylla")?;
        scylla.consistency =
            parse_consistency(&self.scylla_consistency).context("--scylla-consistency")?;
        scylla.local_datacenter = self.scylla_datacenter.clone();
        config.cluster = Some(ClusterConfig {
            scylla,
            node_id,
            lease_ttl_ms,
        });
        Ok(())
    }

    /// For commands that serve no sessions (`import`).
    pub fn apply_without_leases(&self, config: &mut ServeConfig) -> anyhow::Result<()> {
        self.apply(config, default_node_id(), DEFAULT_LEASE_TTL_MS)
    }
}

impl NodeArgs {
    pub fn apply(&self, config: &mut ServeConfig) -> anyhow::Result<()> {
        if self.scylla.scylla.is_none() {
            if self.node_id.is_some() || self.lease_ttl_ms != DEFAULT_LEASE_TTL_MS {
                tracing::warn!("--node-id and --lease-ttl-ms are ignored: no cluster is named");
            }
            return self.scylla.apply(config, String::new(), self.lease_ttl_ms);
        }
        anyhow::ensure!(
            self.lease_ttl_ms >= LEASE_TTL_MIN_MS,
            "--lease-ttl-ms {} is too short: at least {LEASE_TTL_MIN_MS} (a renewal every \
             third of it must fit a lightweight transaction's round trips)",
            self.lease_ttl_ms
        );
        let node_id = self.node_id.clone().unwrap_or_else(default_node_id);
        anyhow::ensure!(
            !node_id.is_empty() && node_id.len() <= 128,
            "--node-id must be 1 to 128 characters"
        );
        self.scylla.apply(config, node_id, self.lease_ttl_ms)
    }
}

/// The host name and a random suffix, so that a restarted process is a new owner and never
/// writes with the epoch of its previous life.
fn default_node_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_default();
    let suffix: u32 = rand::random();
    format!(
        "{}-{suffix:08x}",
        if host.is_empty() { "node" } else { &host }
    )
}
