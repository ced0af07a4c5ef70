//! Proctoring: the kinds of violation, their severity, and the olympiad's policy that
//! turns a session's violations into a warning, a review flag or termination.

use serde::{Deserialize, Serialize};

/// What was seen. Client-reported kinds come from the exam client; the server adds the
/// kinds only it can observe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    /// The exam tab lost focus or became hidden.
    FocusLost,
    /// The exam left fullscreen.
    FullscreenExited,
    /// The camera stream stopped or was denied.
    CameraStopped,
    /// Screen sharing stopped or was denied.
    ScreenShareStopped,
    /// A copy, cut or paste was attempted.
    CopyPaste,
    /// Server: a second connection attached while one was live.
    SecondConnection,
    /// Server: the session was resumed from another network address.
    AddressChanged,
    /// Server: answers came faster than a person can read the questions.
    ImplausiblyFast,
}

impl ViolationKind {
    /// Every kind, clients' and the server's.
    pub const ALL: [Self; 8] = [
        Self::FocusLost,
        Self::FullscreenExited,
        Self::CameraStopped,
        Self::ScreenShareStopped,
        Self::CopyPaste,
        Self::SecondConnection,
        Self::AddressChanged,
        Self::ImplausiblyFast,
    ];
}

impl std::fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl ViolationKind {
    /// The kind's wire and metric name.
    pub fn name(self) -> &'static str {
        match self {
            Self::FocusLost => "focus_lost",
            Self::FullscreenExited => "fullscreen_exited",
            Self::CameraStopped => "camera_stopped",
            Self::ScreenShareStopped => "screen_share_stopped",
            Self::CopyPaste => "copy_paste",
            Self::SecondConnection => "second_connection",
            Self::AddressChanged => "address_changed",
            Self::ImplausiblyFast => "implausibly_fast",
        }
    }

    /// Whether only the server can report this kind; clients may not claim these.
    pub fn is_server_observed(self) -> bool {
        matches!(
            self,
            Self::SecondConnection | Self::AddressChanged | Self::ImplausiblyFast
        )
    }

    pub fn severity(self) -> Severity {
        match self {
            Self::FocusLost | Self::FullscreenExited | Self::CopyPaste => Severity::Low,
            Self::AddressChanged | Self::ImplausiblyFast => Severity::Medium,
            Self::CameraStopped | Self::ScreenShareStopped | Self::SecondConnection => {
                Severity::High
            }
        }
    }
}

/// How much a violation weighs. The weight is what the policy counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn weight(self) -> u32 {
        match self {
            Self::Low => 1,
            Self::Medium => 2,
            Self::High => 3,
        }
    }
}

/// The olympiad's policy: thresholds on the session's summed violation weight.
/// A threshold of 0 disables that step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProctoringPolicy {
    /// From this weight on, every new violation warns the participant.
    pub warn_at_weight: u32,
    /// From this weight on, the session is flagged for a proctor's review.
    pub flag_at_weight: u32,
    /// At this weight the session is terminated (submitted with what it has).
    pub terminate_at_weight: u32,
    /// Answers are implausibly fast when `FAST_ANSWER_RUN` of them in a row come less than
    /// this many milliseconds apart on average. Zero disables the check.
    pub fast_answer_ms: u32,
}

/// How many consecutive answers the fast-answer check looks at.
pub const FAST_ANSWER_RUN: usize = 5;

impl Default for ProctoringPolicy {
    fn default() -> Self {
        Self {
            warn_at_weight: 1,
            flag_at_weight: 6,
            terminate_at_weight: 0,
            fast_answer_ms: 1500,
        }
    }
}

/// What the policy decides after a violation, strongest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyDecision {
    Terminate,
    /// Flag for review (first time the threshold is crossed) and warn.
    FlagAndWarn,
    Warn,
    Record,
}

impl ProctoringPolicy {
    /// Decides on the session's weight after a violation was added, given whether the
    /// session is already flagged.
    pub fn decide(&self, weight: u32, already_flagged: bool) -> PolicyDecision {
        let reached = |threshold: u32| threshold > 0 && weight >= threshold;
        if reached(self.terminate_at_weight) {
            PolicyDecision::Terminate
        } else if reached(self.flag_at_weight) && !already_flagged {
            PolicyDecision::FlagAndWarn
        } else if reached(self.warn_at_weight) {
            PolicyDecision::Warn
        } else {
            PolicyDecision::Record
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_escalates_with_weight() {
        let policy = ProctoringPolicy {
            warn_at_weight: 2,
            flag_at_weight: 4,
            terminate_at_weight: 9,
            fast_answer_ms: 0,
        };
        assert_eq!(policy.decide(1, false), PolicyDecision::Record);
        assert_eq!(policy.decide(2, false), PolicyDecision::Warn);
        assert_eq!(policy.decide(5, false), PolicyDecision::FlagAndWarn);
        assert_eq!(policy.decide(5, true), PolicyDecision::Warn);
        assert_eq!(policy.decide(9, true), PolicyDecision::Terminate);
    }

    #[test]
    fn zero_threshold_disables_termination() {
        let policy = ProctoringPolicy::default();
        assert_eq!(policy.decide(1000, true), PolicyDecision::Warn);
    }
}
