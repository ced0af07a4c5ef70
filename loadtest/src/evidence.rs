//! Proctoring snapshot uploads: every few answers a participant posts a snapshot of a
//! given size, as the exam page's camera capture would. A node without the upload
//! endpoint answers 404; the run then says so once and skips uploads from there on.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Deserialize;

use crate::http_client::{self, Body, HttpError};
use crate::report::Tally;

/// Largest snapshot a scenario may upload, in bytes.
pub const SNAPSHOT_MAX_BYTES: usize = 2 * 1024 * 1024;

/// The snapshot part of a scenario.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SnapshotUploads {
    /// A snapshot after every this many answers; 0 uploads none.
    pub every_answers: usize,
    /// Size of each snapshot, at most `SNAPSHOT_MAX_BYTES`.
    pub size_bytes: usize,
    /// Where snapshots are posted, with the participant's ticket.
    #[serde(default = "default_path")]
    pub path: String,
}

/// Where nodes take uploads. A node without the endpoint answers 404; the run then skips
/// uploads with a printed note instead of counting every upload as an error.
fn default_path() -> String {
    "/api/v1/sessions/evidence?kind=camera".into()
}

/// Uploads snapshots for every participant of a run.
pub struct Evidence {
    uploads: Option<SnapshotUploads>,
    /// JPEG-looking filler of the configured size, shared by every upload.
    body: Vec<u8>,
    /// Set at the first 404: the node has no upload endpoint.
    unsupported: AtomicBool,
}

impl Evidence {
    pub fn new(uploads: Option<SnapshotUploads>) -> Self {
        let size = uploads
            .as_ref()
            .map_or(0, |u| u.size_bytes.min(SNAPSHOT_MAX_BYTES));
        let mut body = vec![0x5a; size];
        body.iter_mut()
            .zip([0xff, 0xd8, 0xff])
            .for_each(|(b, m)| *b = m);
        Self {
            uploads,
            body,
            unsupported: AtomicBool::new(false),
        }
    }

    /// Whether a snapshot is due after `answers` answers.
    pub fn due(&self, answers: usize) -> bool {
        let every = self.uploads.as_ref().map_or(0, |u| u.every_answers);
        every > 0 && answers.is_multiple_of(every) && !self.unsupported.load(Ordering::Relaxed)
    }

    /// Uploads one snapshot. A 404 turns uploads off for the run; other failures are
    /// counted as errors of kind `snapshot_<kind>`.
    pub async fn upload(
        &self,
        http: SocketAddr,
        source: Option<IpAddr>,
        ticket: &str,
        tally: &Tally,
    ) {
        let Some(uploads) = &self.uploads else {
            return;
        };
        let body = Body::Bytes("image/jpeg", &self.body);
        let sent =
            http_client::request_from(http, source, "POST", &uploads.path, Some(ticket), body);
        match sent.await {
            Ok(_) => {
                tally.snapshots_sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(HttpError::Status { status: 503, .. }) => {
                // The node's upload slots are full: a real client uploads later.
                tally.snapshots_busy.fetch_add(1, Ordering::Relaxed);
            }
            Err(HttpError::Status { status: 404, .. }) => {
                if !self.unsupported.swap(true, Ordering::Relaxed) {
                    eprintln!(
                        "note: the node answered 404 at {}: it has no snapshot upload \
                         endpoint yet, so this run skips snapshot uploads",
                        uploads.path
                    );
                }
            }
            Err(error) => tally.error(format!("snapshot_{}", error.kind())),
        }
    }
}
