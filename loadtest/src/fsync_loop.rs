//! The disk baseline: one `write` of a batch of records and one `fdatasync`, again and
//! again, after the group commit's window; nothing can make durable writes faster on this
//! disk at the same batch size.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

/// Largest batch the loop writes at once, in bytes.
const BATCH_MAX_BYTES: usize = 64 * 1024 * 1024;

/// One baseline run.
#[derive(Clone, Debug)]
pub struct FsyncLoop {
    pub path: PathBuf,
    pub record_bytes: usize,
    pub batch_records: usize,
    /// Waited before each batch, as the group commit waits for company.
    pub window: Duration,
    pub duration: Duration,
}

/// What the loop achieved.
#[derive(Clone, Debug, Serialize)]
pub struct FsyncLoopReport {
    pub record_bytes: usize,
    pub batch_records: usize,
    pub window_us: u64,
    pub records_per_s: f64,
    pub syncs_per_s: f64,
    pub sync_p50_us: u64,
    pub sync_p99_us: u64,
}

impl FsyncLoop {
    /// Runs the loop for its duration (blocking) and removes its file.
    pub fn run(&self) -> std::io::Result<FsyncLoopReport> {
        let batch_bytes = (self.record_bytes * self.batch_records.max(1)).min(BATCH_MAX_BYTES);
        let batch = vec![0x42u8; batch_bytes];
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&self.path)?;
        let mut syncs_us = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
        let started = Instant::now();
        let mut syncs = 0u64;
        while started.elapsed() < self.duration {
            if !self.window.is_zero() {
                std::thread::sleep(self.window);
            }
            let sync_started = Instant::now();
            file.write_all(&batch)?;
            file.sync_data()?;
            let _ = syncs_us.record((sync_started.elapsed().as_micros() as u64).max(1));
            syncs += 1;
        }
        let elapsed_s = started.elapsed().as_secs_f64();
        drop(file);
        let _ = std::fs::remove_file(&self.path);
        let records = syncs * (batch_bytes / self.record_bytes.max(1)) as u64;
        Ok(FsyncLoopReport {
            record_bytes: self.record_bytes,
            batch_records: batch_bytes / self.record_bytes.max(1),
            window_us: self.window.as_micros() as u64,
            records_per_s: records as f64 / elapsed_s,
            syncs_per_s: syncs as f64 / elapsed_s,
            sync_p50_us: syncs_us.value_at_quantile(0.5),
            sync_p99_us: syncs_us.value_at_quantile(0.99),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loop_syncs_whole_batches_and_removes_its_file() {
        let folder = std::env::temp_dir().join(format!("olymp-fsync-{}", std::process::id()));
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join("loop");
        let report = FsyncLoop {
            path: path.clone(),
            record_bytes: 100,
            batch_records: 10,
            window: Duration::ZERO,
            duration: Duration::from_millis(50),
        }
        .run()
        .unwrap();
        assert!(report.syncs_per_s > 0.0);
        assert_eq!(report.batch_records, 10);
        assert!(!path.exists());
        let _ = std::fs::remove_dir(folder);
    }
}
