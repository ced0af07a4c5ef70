//! A minimal HTTP/1.1 client for the few calls a participant makes (registration, session
//! start, evidence uploads): one request per connection, `Content-Length` bodies only,
//! bounded.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Largest response accepted, in bytes.
const RESPONSE_MAX_BYTES: usize = 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(20);

/// Why an HTTP call failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("connection failed")]
    Io(#[from] std::io::Error),
    #[error("timed out")]
    Timeout,
    #[error("response is not HTTP/1.1 with a length")]
    BadResponse,
    #[error("response is larger than {RESPONSE_MAX_BYTES} bytes")]
    TooLarge,
    #[error("status {status}: {body}")]
    Status { status: u16, body: String },
    #[error("response body is not the expected JSON")]
    Json(#[from] serde_json::Error),
}

impl HttpError {
    /// A short label for error counts.
    pub fn kind(&self) -> String {
        match self {
            Self::Io(_) => "http_io".into(),
            Self::Timeout => "http_timeout".into(),
            Self::BadResponse | Self::TooLarge | Self::Json(_) => "http_bad_response".into(),
            Self::Status { status, .. } => format!("http_{status}"),
        }
    }
}

/// A request's body.
#[derive(Clone, Copy, Debug)]
pub enum Body<'a> {
    Empty,
    Json(&'a serde_json::Value),
    /// Raw bytes with their content type (an evidence snapshot).
    Bytes(&'static str, &'a [u8]),
}

/// Sends one request and returns the JSON body of a 2xx response.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&serde_json::Value>,
) -> Result<serde_json::Value, HttpError> {
    let body = body.map_or(Body::Empty, Body::Json);
    request_from(addr, None, method, path, bearer, body).await
}

/// Like `request`, from a chosen local address and with any body.
pub async fn request_from(
    addr: SocketAddr,
    source: Option<IpAddr>,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Body<'_>,
) -> Result<serde_json::Value, HttpError> {
    let exchange = exchange(addr, source, method, path, bearer, body);
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| HttpError::Timeout)?
}

async fn exchange(
    addr: SocketAddr,
    source: Option<IpAddr>,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Body<'_>,
) -> Result<serde_json::Value, HttpError> {
    let mut stream = crate::source::tcp(addr, source).await?;
    let json;
    let (content_type, payload): (Option<&str>, &[u8]) = match body {
        Body::Empty => (None, &[]),
        Body::Json(value) => {
            json = value.to_string();
            (Some("application/json"), json.as_bytes())
        }
        Body::Bytes(content_type, bytes) => (Some(content_type), bytes),
    };
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        payload.len()
    );
    if let Some(content_type) = content_type {
        head.push_str(&format!("content-type: {content_type}\r\n"));
    }
    if let Some(token) = bearer {
        head.push_str(&format!("authorization: Bearer {token}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(payload).await?;
    let mut response = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            break;
        }
        response.extend_from_slice(&chunk[..read]);
        if response.len() > RESPONSE_MAX_BYTES {
            return Err(HttpError::TooLarge);
        }
        if complete(&response) {
            break;
        }
    }
    parse(&response)
}

/// Whether the buffer holds the head and the whole `Content-Length` body.
fn complete(response: &[u8]) -> bool {
    let Some(end) = find_head_end(response) else {
        return false;
    };
    content_length(&response[..end]).is_some_and(|length| response.len() >= end + 4 + length)
}

fn find_head_end(response: &[u8]) -> Option<usize> {
    response.windows(4).position(|w| w == b"\r\n\r\n")
}

fn content_length(head: &[u8]) -> Option<usize> {
    let head = std::str::from_utf8(head).ok()?;
    head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())?
    })
}

/// GETs a text resource (the node's `/metrics`): the body of a 2xx response.
pub async fn get_text(addr: SocketAddr, path: &str) -> Result<String, HttpError> {
    let fetch = async {
        let mut stream = crate::source::tcp(addr, None).await?;
        let head = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
        stream.write_all(head.as_bytes()).await?;
        let mut response = Vec::new();
        (&mut stream)
            .take(RESPONSE_MAX_BYTES as u64 + 1)
            .read_to_end(&mut response)
            .await?;
        if response.len() > RESPONSE_MAX_BYTES {
            return Err(HttpError::TooLarge);
        }
        let end = find_head_end(&response).ok_or(HttpError::BadResponse)?;
        let status_ok = response.starts_with(b"HTTP/1.1 2");
        let body = String::from_utf8_lossy(&response[end + 4..]).into_owned();
        if status_ok {
            Ok(body)
        } else {
            Err(HttpError::Status { status: 0, body })
        }
    };
    tokio::time::timeout(TIMEOUT, fetch)
        .await
        .map_err(|_| HttpError::Timeout)?
}

fn parse(response: &[u8]) -> Result<serde_json::Value, HttpError> {
    let end = find_head_end(response).ok_or(HttpError::BadResponse)?;
    let head = std::str::from_utf8(&response[..end]).map_err(|_| HttpError::BadResponse)?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(HttpError::BadResponse)?;
    let length = content_length(&response[..end]).unwrap_or(response.len() - end - 4);
    let body = response
        .get(end + 4..end + 4 + length)
        .ok_or(HttpError::BadResponse)?;
    if !(200..300).contains(&status) {
        let body = String::from_utf8_lossy(body).chars().take(300).collect();
        return Err(HttpError::Status { status, body });
    }
    if body.is_empty() {
        return Ok(serde_json::Value::Null);
    }
    Ok(serde_json::from_slice(body)?)
}
