//! A real memcached for tests: a child process on a free loopback port, killed by its PID
//! when stopped or dropped. Shared with the gateway's tests through a `#[path]` module.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long memcached may take to accept connections after it starts.
const START_TIMEOUT: Duration = Duration::from_secs(5);

/// A running memcached; killed on drop.
pub struct Memcached {
    child: Child,
    pub port: u16,
}

impl Memcached {
    /// Starts memcached on a free port, or returns `None` after printing why the calling
    /// test is skipped if the `memcached` binary is not installed.
    pub fn start() -> Option<Self> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        Self::start_on(port)
    }

    /// Starts memcached on `port` (a restart after `stop`), waiting until it accepts.
    pub fn start_on(port: u16) -> Option<Self> {
        let spawned = Command::new("memcached")
            .args([
                "-l",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "0",
                "-m",
                "64",
            ])
            // Ignored unless run as root, where memcached refuses to start without it.
            .args(["-u", "nobody"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                println!("skipped: no memcached binary (scripts/test.sh installs it)");
                return None;
            }
            Err(error) => panic!("memcached did not start: {error}"),
        };
        let mut memcached = Self { child, port };
        memcached.wait_until_accepting();
        Some(memcached)
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills the process (SIGKILL to its PID) and reaps it.
    pub fn stop(mut self) {
        self.kill();
    }

    /// The server's `stats` counters that are numbers (`get_hits`, `curr_items`, ...).
    pub fn stats(&self) -> HashMap<String, u64> {
        let reply = self.command("stats");
        let mut stats = HashMap::new();
        // memcached prints fewer than a hundred stats; the bound only guards the loop.
        for line in reply.lines().take(1000) {
            let line = line.expect("a stats line");
            if line == "END" {
                break;
            }
            let mut words = line.split(' ').skip(1);
            if let (Some(name), Some(value)) = (words.next(), words.next())
                && let Ok(value) = value.parse()
            {
                stats.insert(name.to_owned(), value);
            }
        }
        stats
    }

    /// Every value memcached holds: the keys from `lru_crawler metadump all`, then a `get`
    /// of each (entries that expire in between are left out). The crawler can miss items
    /// stored a moment ago, so the dump is repeated until it lists `curr_items` keys.
    pub fn values(&self) -> Vec<Vec<u8>> {
        let mut keys = self.keys();
        for _ in 0..50 {
            if keys.len() as u64 >= self.stats()["curr_items"] {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
            keys = self.keys();
        }
        keys.iter().filter_map(|key| self.get(key)).collect()
    }

    fn keys(&self) -> Vec<String> {
        let mut dump = self.command("lru_crawler metadump all");
        let mut keys = Vec::new();
        for _ in 0..100_000 {
            let line = read_line(&mut dump);
            if line == "END" || line.starts_with("BUSY") || line.starts_with("ERROR") {
                break;
            }
            if let Some(key) = line
                .strip_prefix("key=")
                .and_then(|rest| rest.split(' ').next())
            {
                keys.push(percent_decode(key));
            }
        }
        keys
    }

    fn get(&self, key: &str) -> Option<Vec<u8>> {
        let mut reply = self.command(&format!("get {key}"));
        let header = read_line(&mut reply);
        let length: usize = header
            .strip_prefix("VALUE ")?
            .split(' ')
            .nth(2)?
            .parse()
            .ok()?;
        let mut value = vec![0; length + 2];
        reply.read_exact(&mut value).expect("the value's bytes");
        value.truncate(length);
        Some(value)
    }

    fn command(&self, line: &str) -> BufReader<TcpStream> {
        let mut stream = TcpStream::connect(self.address()).expect("memcached accepts");
        stream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        stream.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        BufReader::new(stream)
    }

    fn wait_until_accepting(&mut self) {
        let started = Instant::now();
        while TcpStream::connect(self.address()).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("memcached exited at start: {status}");
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "memcached did not accept in time"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_line(reader: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).expect("a reply line");
    line.trim_end().to_owned()
}

/// Keys in a metadump are URI-encoded.
fn percent_decode(text: &str) -> String {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        let escaped = (first == b'%')
            .then(|| tail.get(..2))
            .flatten()
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match escaped {
            Some(byte) => {
                bytes.push(byte);
                rest = &tail[2..];
            }
            None => {
                bytes.push(first);
                rest = tail;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

impl Drop for Memcached {
    fn drop(&mut self) {
        self.kill();
    }
}
