//! How the ScyllaDB backend connects: contact points, consistency levels, timeouts, the
//! document group log's deadline, grace and sweep interval, and the `OLYMP_SCYLLA_*`
//! environment variables that set some of them.

use ::scylla::statement::{Consistency, SerialConsistency};

/// Most contact points a configuration may list; the driver discovers the rest.
pub const CONTACT_POINTS_MAX: usize = 64;

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The node list is empty.
    #[error("no ScyllaDB nodes are listed")]
    NoNodes,
    /// The node list is longer than `CONTACT_POINTS_MAX`.
    #[error("{0} ScyllaDB nodes are listed, at most {CONTACT_POINTS_MAX} are allowed")]
    TooManyNodes(usize),
    /// A consistency level name is not one the backend accepts.
    #[error(
        "consistency {0:?} is not one of ONE, QUORUM, LOCAL_QUORUM, ALL (reads use it too, \
         and ScyllaDB takes EACH_QUORUM for writes only)"
    )]
    UnknownConsistency(String),
    /// A contact point is not `HOST:PORT` with a port from 1 to 65535.
    #[error("ScyllaDB node {0:?} is not HOST:PORT with a port from 1 to 65535")]
    BadNode(String),
    /// The group log's grace does not exceed a group's deadline plus one request's timeout,
    /// so a sweep could settle a group that a live writer is still applying.
    #[error(
        "document group grace of {grace_ms} ms must exceed the group deadline ({deadline_ms} ms) \
         plus the request timeout ({request_timeout_ms} ms)"
    )]
    GroupGraceTooShort {
        grace_ms: u64,
        deadline_ms: u64,
        request_timeout_ms: u64,
    },
    /// The group log's sweep interval is zero.
    #[error("the document group sweep interval must be above zero")]
    NoSweepInterval,
}

/// Connection settings of the ScyllaDB backend.
#[derive(Clone, Debug)]
pub struct ScyllaConfig {
    /// Contact points as `host:port`; there is no default, so nothing is contacted unless
    /// it is named.
    pub nodes: Vec<String>,
    /// Consistency of reads and writes; LOCAL_QUORUM unless set.
    pub consistency: Consistency,
    /// Consistency of the Paxos round of lightweight transactions and of serial reads.
    pub serial_consistency: SerialConsistency,
    /// Datacenter whose replicas are preferred; any when unset.
    pub local_datacenter: Option<String>,
    /// Client-side limit on one request, retries included.
    pub request_timeout_ms: u64,
    /// Limit on opening one connection.
    pub connection_timeout_ms: u64,
    /// Apply `storage/schema/olymp.cql` (every statement is `IF NOT EXISTS`) on connect.
    pub create_schema: bool,
    /// Limit on one document group's `write`, all its steps included; a group past it fails
    /// and its intent is left to the sweep. 60 s unless set.
    pub document_group_deadline_ms: u64,
    /// Age from which the sweep settles a group's intent, taken to mean its writer is gone.
    /// Must exceed the deadline plus `request_timeout_ms` (a request sent just before the
    /// deadline may still land) with room for clock skew between nodes. 5 min unless set.
    pub document_group_grace_ms: u64,
    /// Time between two sweeps of the group log by this store; one runs on connect too.
    /// 60 s unless set.
    pub document_group_sweep_interval_ms: u64,
}

impl ScyllaConfig {
    /// A configuration with the defaults and the given contact points.
    pub fn new(nodes: Vec<String>) -> Result<Self, ConfigError> {
        if nodes.is_empty() {
            return Err(ConfigError::NoNodes);
        }
        if nodes.len() > CONTACT_POINTS_MAX {
            return Err(ConfigError::TooManyNodes(nodes.len()));
        }
        if let Some(bad) = nodes.iter().find(|node| !is_host_and_port(node)) {
            return Err(ConfigError::BadNode(bad.clone()));
        }
        Ok(Self {
            nodes,
            consistency: Consistency::LocalQuorum,
            serial_consistency: SerialConsistency::LocalSerial,
            local_datacenter: None,
            request_timeout_ms: 5_000,
            connection_timeout_ms: 5_000,
            create_schema: true,
            document_group_deadline_ms: 60_000,
            document_group_grace_ms: 300_000,
            document_group_sweep_interval_ms: 60_000,
        })
    }

    /// Refuses settings that would let the group log's sweep settle a group that its writer
    /// is still applying, or that would sweep without pause.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let busiest_ms = self
            .document_group_deadline_ms
            .saturating_add(self.request_timeout_ms);
        if self.document_group_grace_ms <= busiest_ms {
            return Err(ConfigError::GroupGraceTooShort {
                grace_ms: self.document_group_grace_ms,
                deadline_ms: self.document_group_deadline_ms,
                request_timeout_ms: self.request_timeout_ms,
            });
        }
        if self.document_group_sweep_interval_ms == 0 {
            return Err(ConfigError::NoSweepInterval);
        }
        Ok(())
    }

    /// Parses a comma-separated node list such as `127.0.0.1:9042,127.0.0.2:9042`.
    pub fn from_node_list(list: &str) -> Result<Self, ConfigError> {
        let nodes = list
            .split(',')
            .map(str::trim)
            .filter(|node| !node.is_empty())
            .map(str::to_owned)
            .collect();
        Self::new(nodes)
    }

    /// The configuration `OLYMP_SCYLLA_NODES` names, if it is set, with
    /// `OLYMP_SCYLLA_CONSISTENCY` and `OLYMP_SCYLLA_DATACENTER` applied when present.
    pub fn from_env() -> Option<Result<Self, ConfigError>> {
        let nodes = std::env::var("OLYMP_SCYLLA_NODES").ok()?;
        let build = || {
            let mut config = Self::from_node_list(&nodes)?;
            if let Ok(name) = std::env::var("OLYMP_SCYLLA_CONSISTENCY") {
                config.consistency = parse_consistency(&name)?;
            }
            config.local_datacenter = std::env::var("OLYMP_SCYLLA_DATACENTER").ok();
            Ok(config)
        };
        Some(build())
    }
}

/// `HOST:PORT` (or `[IPv6]:PORT`) with a port from 1 to 65535: a host name or IPv4
/// address of letters, digits, dots and dashes, or an IPv6 address in brackets.
fn is_host_and_port(node: &str) -> bool {
    let Some((host, port)) = node.rsplit_once(':') else {
        return false;
    };
    let port_ok = !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok_and(|port| port > 0);
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(ipv6) => ipv6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        }
    };
    port_ok && host_ok
}

/// A consistency level by its CQL name, for writes and plain reads.
pub fn parse_consistency(name: &str) -> Result<Consistency, ConfigError> {
    match name.trim().to_ascii_uppercase().as_str() {
        "ONE" => Ok(Consistency::One),
        "QUORUM" => Ok(Consistency::Quorum),
        "LOCAL_QUORUM" => Ok(Consistency::LocalQuorum),
        "ALL" => Ok(Consistency::All),
        _ => Err(ConfigError::UnknownConsistency(name.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_list_is_split_on_commas_and_defaults_to_local_quorum() {
        let config = ScyllaConfig::from_node_list(" 127.0.0.1:9042, 127.0.0.2:9042 ,").unwrap();
        assert_eq!(config.nodes, ["127.0.0.1:9042", "127.0.0.2:9042"]);
        assert_eq!(config.consistency, Consistency::LocalQuorum);
        assert_eq!(config.serial_consistency, SerialConsistency::LocalSerial);
    }

    #[test]
    fn empty_and_oversized_node_lists_are_refused() {
        assert_eq!(
            ScyllaConfig::from_node_list(" , ").unwrap_err(),
            ConfigError::NoNodes
        );
        let many = vec!["127.0.0.1:9042".to_owned(); CONTACT_POINTS_MAX + 1];
        assert_eq!(
            ScyllaConfig::new(many).unwrap_err(),
            ConfigError::TooManyNodes(CONTACT_POINTS_MAX + 1)
        );
    }

    #[test]
    fn the_default_group_grace_exceeds_the_group_deadline() {
        let config = ScyllaConfig::from_node_list("127.0.0.1:9042").unwrap();
        assert_eq!(config.validate(), Ok(()));
        assert!(config.document_group_deadline_ms < config.document_group_grace_ms);
    }

    #[test]
    fn a_group_grace_within_the_deadline_and_a_zero_sweep_interval_are_refused() {
        let mut config = ScyllaConfig::from_node_list("127.0.0.1:9042").unwrap();
        config.document_group_grace_ms = 64_000;
        assert_eq!(
            config.validate(),
            Err(ConfigError::GroupGraceTooShort {
                grace_ms: 64_000,
                deadline_ms: 60_000,
                request_timeout_ms: 5_000,
            })
        );
        config.document_group_grace_ms = 300_000;
        config.document_group_sweep_interval_ms = 0;
        assert_eq!(config.validate(), Err(ConfigError::NoSweepInterval));
    }

    #[test]
    fn consistency_names_are_read_case_blind_and_unknown_ones_refused() {
        assert_eq!(parse_consistency("quorum"), Ok(Consistency::Quorum));
        assert_eq!(
            parse_consistency("LOCAL_QUORUM"),
            Ok(Consistency::LocalQuorum)
        );
        assert!(matches!(
            parse_consistency("SERIAL"),
            Err(ConfigError::UnknownConsistency(_))
        ));
        assert!(
            matches!(
                parse_consistency("EACH_QUORUM"),
                Err(ConfigError::UnknownConsistency(_))
            ),
            "reads would be refused at EACH_QUORUM"
        );
    }

    #[test]
    fn contact_points_must_name_a_host_and_a_port() {
        for good in ["127.0.0.1:9042", "scylla-1:19042", "[::1]:9042"] {
            assert!(ScyllaConfig::from_node_list(good).is_ok(), "{good}");
        }
        for bad in [
            "127.0.0.1",
            "127.0.0.1:99999",
            "127.0.0.1:0",
            ":9042",
            "host:port",
            "127.0.0.1:9042:9042",
            "http://127.0.0.1:9042",
            "a b:9042",
            "[::1:9042",
            "127.0.0.1:+9042",
        ] {
            assert_eq!(
                ScyllaConfig::from_node_list(bad).unwrap_err(),
                ConfigError::BadNode(bad.to_owned())
            );
        }
    }
}
