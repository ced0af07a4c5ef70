//! The WebSocket baseline: a bare tokio-tungstenite server that echoes every text frame,
//! with tungstenite's default buffers or with the node's tuned ones. Driven by the same
//! generator as the node, it shows what the machine can do with no exam behind the socket.

use std::str::FromStr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Which buffers the echo server gives each socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EchoBuffers {
    /// tungstenite's defaults: 128 KiB read buffer, 64 MiB messages.
    Default,
    /// The node's: 4 KiB read buffer, no write buffering, 16 KiB messages and frames.
    Tuned,
}

impl FromStr for EchoBuffers {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "default" => Ok(Self::Default),
            "tuned" => Ok(Self::Tuned),
            other => Err(format!("{other:?} is neither default nor tuned")),
        }
    }
}

impl EchoBuffers {
    pub fn name(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Tuned => "tuned",
        }
    }

    fn config(self) -> Option<WebSocketConfig> {
        match self {
            Self::Default => None,
            Self::Tuned => Some(
                WebSocketConfig::default()
                    .read_buffer_size(4 * 1024)
                    .write_buffer_size(0)
                    .max_write_buffer_size(1024 * 1024)
                    .max_message_size(Some(16 * 1024))
                    .max_frame_size(Some(16 * 1024)),
            ),
        }
    }
}

/// Accepts and echoes until the task is dropped. Like the node, it turns Nagle off.
pub async fn serve(listener: TcpListener, buffers: EchoBuffers) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                tokio::spawn(echo(stream, buffers));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

async fn echo(stream: TcpStream, buffers: EchoBuffers) {
    let Ok(mut socket) =
        tokio_tungstenite::accept_async_with_config(stream, buffers.config()).await
    else {
        return;
    };
    while let Some(Ok(message)) = socket.next().await {
        let reply = match message {
            Message::Text(_) | Message::Binary(_) => message,
            Message::Close(_) => break,
            _ => continue,
        };
        if socket.send(reply).await.is_err() {
            break;
        }
    }
}
