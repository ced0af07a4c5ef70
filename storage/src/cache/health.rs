//! Whether memcached is answering, as a pure state machine: after it fails with an I/O
//! error, calls are skipped for a back-off period, then one call probes it while the rest
//! keep skipping, so a dead server costs one failed call per period, not one per read;
//! warnings are rate-limited.

use std::time::{Duration, Instant};

/// How the state machine reacts to failures.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HealthPolicy {
    /// After an I/O failure, calls are skipped for this long, then one is tried again.
    pub retry_after: Duration,
    /// At most one warning per this interval; the error counter counts every failure.
    pub warn_every: Duration,
}

/// Whether a call should go to memcached now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Gate {
    Call,
    /// Backing off after a failure, or another call is probing: a miss without calling.
    Skip,
}

/// The last failures and warnings. Only ever changed under its owner's lock.
#[derive(Debug, Default)]
pub(crate) struct Health {
    /// When the current run of failures began; `None` while memcached answers.
    down_since: Option<Instant>,
    /// No call before this instant.
    retry_at: Option<Instant>,
    last_warning_at: Option<Instant>,
}

impl Health {
    /// Whether to call now. The first call after a back-off is the probe: until it
    /// answers, the others skip for another back-off period.
    pub(crate) fn gate(&mut self, now: Instant, policy: HealthPolicy) -> Gate {
        match self.retry_at {
            Some(retry_at) if now < retry_at => Gate::Skip,
            Some(_) => {
                self.retry_at = Some(now + policy.retry_after);
                Gate::Call
            }
            None => Gate::Call,
        }
    }

    /// Records a failure; `unavailable` (an I/O or connection failure) starts a back-off.
    /// Returns whether this failure should be logged as a warning.
    pub(crate) fn failed(&mut self, now: Instant, unavailable: bool, policy: HealthPolicy) -> bool {
        self.down_since.get_or_insert(now);
        if unavailable {
            self.retry_at = Some(now + policy.retry_after);
        }
        let warn = self
            .last_warning_at
            .is_none_or(|at| now.saturating_duration_since(at) >= policy.warn_every);
        if warn {
            self.last_warning_at = Some(now);
        }
        warn
    }

    /// Records a success; returns how long memcached had been failing, if it had.
    pub(crate) fn succeeded(&mut self, now: Instant) -> Option<Duration> {
        self.retry_at = None;
        self.down_since
            .take()
            .map(|since| now.saturating_duration_since(since))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: HealthPolicy = HealthPolicy {
        retry_after: Duration::from_secs(1),
        warn_every: Duration::from_secs(30),
    };

    fn after(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    #[test]
    fn an_unavailable_server_is_skipped_until_one_call_probes_it() {
        let start = Instant::now();
        let mut health = Health::default();
        assert_eq!(health.gate(start, POLICY), Gate::Call);
        health.failed(start, true, POLICY);
        assert_eq!(health.gate(after(start, 999), POLICY), Gate::Skip);
        assert_eq!(health.gate(after(start, 1000), POLICY), Gate::Call);
        assert_eq!(health.gate(after(start, 1001), POLICY), Gate::Skip);
        health.failed(after(start, 1200), true, POLICY);
        assert_eq!(health.gate(after(start, 2100), POLICY), Gate::Skip);
        assert_eq!(health.gate(after(start, 2200), POLICY), Gate::Call);
        health.succeeded(after(start, 2201));
        assert_eq!(health.gate(after(start, 2202), POLICY), Gate::Call);
        assert_eq!(health.gate(after(start, 2202), POLICY), Gate::Call);
    }

    #[test]
    fn a_protocol_failure_counts_but_does_not_back_off() {
        let start = Instant::now();
        let mut health = Health::default();
        health.failed(start, false, POLICY);
        assert_eq!(health.gate(start, POLICY), Gate::Call);
    }

    #[test]
    fn an_outage_warns_once_per_interval() {
        let start = Instant::now();
        let mut health = Health::default();
        let warnings: Vec<bool> = [0, 1, 2, 29, 30, 31, 59, 60]
            .iter()
            .map(|s| health.failed(after(start, s * 1000), true, POLICY))
            .collect();
        assert_eq!(
            warnings,
            [true, false, false, false, true, false, false, true]
        );
    }

    #[test]
    fn a_success_ends_the_outage_and_reports_its_length() {
        let start = Instant::now();
        let mut health = Health::default();
        assert_eq!(health.succeeded(start), None);
        health.failed(start, true, POLICY);
        health.failed(after(start, 2000), true, POLICY);
        let down = health.succeeded(after(start, 5000));
        assert_eq!(down, Some(Duration::from_secs(5)));
        assert_eq!(health.gate(after(start, 5000), POLICY), Gate::Call);
        assert_eq!(health.succeeded(after(start, 6000)), None);
    }
}
