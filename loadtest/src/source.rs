//! Where the generator's connections come from: participants are spread over several
//! loopback source addresses (127.0.0.1, .2, …) so that tens of thousands of connections
//! to one port, plus the TIME_WAIT of their HTTP calls, fit the ephemeral-port range.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Most source addresses a run may spread over (127.0.0.1 ..= 127.0.0.64).
pub const SOURCE_ADDRESSES_MAX: u8 = 64;

/// A participant's WebSocket, as the generator holds it.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why a connection could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("connect timed out")]
    Timeout,
    #[error("tcp connect failed")]
    Tcp(#[source] std::io::Error),
    #[error("websocket upgrade failed")]
    Upgrade(#[source] tokio_tungstenite::tungstenite::Error),
    #[error("websocket url {0:?} has no host and port")]
    BadUrl(String),
}

impl ConnectError {
    /// A short label for error counts: `ws_connect_timeout`, `ws_connect_<io error
    /// kind>`, `ws_upgrade` or `ws_url_bad`.
    pub fn kind(&self) -> String {
        match self {
            Self::Timeout => "ws_connect_timeout".into(),
            Self::Tcp(error) => format!("ws_connect_{:?}", error.kind()).to_lowercase(),
            Self::Upgrade(_) => "ws_upgrade".into(),
            Self::BadUrl(_) => "ws_url_bad".into(),
        }
    }
}

/// Source addresses for a run: `count` addresses from 127.0.0.1 up, for IPv4 loopback
/// targets; other targets use the system's choice.
#[derive(Clone, Copy, Debug)]
pub struct Sources {
    count: u8,
}

impl Sources {
    pub fn new(count: u8) -> Self {
        Self {
            count: count.clamp(1, SOURCE_ADDRESSES_MAX),
        }
    }

    /// The source address of participant `index` towards `target`; a participant keeps
    /// the same one for the whole run, so that a resume is not an address change.
    pub fn for_participant(&self, index: usize, target: SocketAddr) -> Option<IpAddr> {
        let spread = target.ip().is_loopback() && target.is_ipv4() && self.count > 1;
        spread.then(|| {
            let host = 1 + (index % usize::from(self.count)) as u8;
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, host))
        })
    }
}

/// Opens a TCP connection from `source` (if given) to `target`.
pub async fn tcp(target: SocketAddr, source: Option<IpAddr>) -> std::io::Result<TcpStream> {
    let socket = if target.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(ip) = source {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    let stream = socket.connect(target).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// The client's WebSocket settings: small buffers, as a browser tab would need.
pub fn client_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(4 * 1024 * 1024))
}

/// Connects to a `ws://host:port/path` URL from `source`, within `timeout`.
pub async fn websocket(
    url: &str,
    source: Option<IpAddr>,
    timeout: Duration,
) -> Result<Socket, ConnectError> {
    let target = target_of(url)?;
    let connect = async {
        let stream = tcp(target, source).await.map_err(ConnectError::Tcp)?;
        let stream = MaybeTlsStream::Plain(stream);
        let (socket, _) =
            tokio_tungstenite::client_async_with_config(url, stream, Some(client_config()))
                .await
                .map_err(ConnectError::Upgrade)?;
        Ok(socket)
    };
    tokio::time::timeout(timeout, connect)
        .await
        .map_err(|_| ConnectError::Timeout)?
}

/// The socket address of a `ws://` URL whose host is an IP address or `localhost`.
pub fn target_of(url: &str) -> Result<SocketAddr, ConnectError> {
    let bad = || ConnectError::BadUrl(url.to_owned());
    let host_port = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .ok_or_else(bad)?;
    if let Some(port) = host_port.strip_prefix("localhost:") {
        let port = port.parse().map_err(|_| bad())?;
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    host_port.parse().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn participants_keep_one_source_and_only_loopback_targets_are_spread() {
        let sources = Sources::new(4);
        let local: SocketAddr = "127.0.0.1:9000".parse().unwrap();
        let picked = sources.for_participant(6, local);
        assert_eq!(picked, Some("127.0.0.3".parse().unwrap()));
        assert_eq!(sources.for_participant(6, local), picked);
        let elsewhere: SocketAddr = "[::1]:9000".parse().unwrap();
        assert_eq!(sources.for_participant(6, elsewhere), None);
        assert_eq!(Sources::new(1).for_participant(6, local), None);
    }

    #[test]
    fn websocket_urls_name_their_target() {
        let target = target_of("ws://127.0.0.1:8081/ws").unwrap();
        assert_eq!(target, "127.0.0.1:8081".parse().unwrap());
        assert_eq!(target_of("ws://localhost:80/ws").unwrap().port(), 80);
        assert!(target_of("ws://example/ws").is_err());
    }
}
