//! Where a node keeps its data: the embedded store in the data directory (the default), or
//! a ScyllaDB cluster shared by several nodes. `serve` and `import` take the same options.

use anyhow::Context as _;
use clap::Args;
use gateway::server::{ClusterConfig, ServeConfig};
use storage::scylla::ScyllaConfig;
use storage::scylla::parse_consistency;

#[derive(Args, Clone, Debug)]
pub struct StoreArgs {
    /// Keep events, documents and session leases in this ScyllaDB cluster instead of the
    /// data directory: contact points as HOST:PORT, comma-separated. Every node of one
    /// olympiad names the same cluster (and the same memcached, and has the same token
    /// secret in its data directory).
    #[arg(long = "scylla", env = "OLYMP_SCYLLA_NODES", value_name = "NODES")]
    scylla: Option<String>,
    /// Consistency of reads and writes on ScyllaDB.
    #[arg(
        long,
        env = "OLYMP_SCYLLA_CONSISTENCY",
        default_value = "LOCAL_QUORUM",
        requires = "scylla"
    )]
    scylla_consistency: String,
    /// The ScyllaDB datacenter whose replicas this node prefers.
    #[arg(long, env = "OLYMP_SCYLLA_DATACENTER", requires = "scylla")]
    scylla_datacenter: Option<String>,
    /// This node's name among the nodes sharing the cluster; unique per running process.
    /// By default the host name and a random suffix.
    #[arg(long, env = "OLYMP_NODE_ID", requires = "scylla")]
    node_id: Option<String>,
    /// How long a node's claim on a session lasts without renewal: after a node dies, its
    /// sessions move to another node within this time. Each live session renews every
    /// third of it (a lightweight transaction on the cluster).
    #[arg(
        long,
        env = "OLYMP_LEASE_TTL_MS",
        default_value_t = 30_000,
        requires = "scylla"
    )]
    lease_ttl_ms: u64,
}

impl StoreArgs {
    /// Points `config` at the cluster, if one is named.
    pub fn apply(&self, config: &mut ServeConfig) -> anyhow::Result<()> {
        let Some(nodes) = &self.scylla else {
            return Ok(());
        };
        let mut scylla = ScyllaConfig::from_node_list(nodes).context("--scylla")?;
        scylla.consistency =
            parse_consistency(&self.scylla_consistency).context("--scylla-consistency")?;
        scylla.local_datacenter = self.scylla_datacenter.clone();
        anyhow::ensure!(
            self.lease_ttl_ms >= 3_000,
            "--lease-ttl-ms {} is too short: at least 3000 (a renewal every third of it \
             must fit a lightweight transaction's round trips)",
            self.lease_ttl_ms
        );
        let node_id = self.node_id.clone().unwrap_or_else(default_node_id);
        anyhow::ensure!(
            !node_id.is_empty() && node_id.len() <= 128,
            "--node-id must be 1 to 128 characters"
        );
        config.cluster = Some(ClusterConfig {
            scylla,
            node_id,
            lease_ttl_ms: self.lease_ttl_ms,
        });
        Ok(())
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
