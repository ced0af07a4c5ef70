//! Participants and their registrations for olympiads.

use serde::{Deserialize, Serialize};

/// Longest name, school or region accepted, in bytes.
pub const PROFILE_FIELD_MAX_BYTES: usize = 200;

/// A pupil's profile as given at registration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub id: String,
    pub name: String,
    pub school: String,
    pub region: String,
}

/// A participant's place in one olympiad, at one grade. One registration has exactly one
/// session, whose id is the registration's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub session_id: String,
    pub olympiad_id: String,
    pub participant_id: String,
    pub grade: u8,
    pub paper_id: String,
    pub registered_at_ms: u64,
}

/// Why a profile is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidProfile {
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error("{0} is longer than {PROFILE_FIELD_MAX_BYTES} bytes")]
    TooLong(&'static str),
    #[error("{0} contains control characters")]
    ControlCharacters(&'static str),
}

impl Participant {
    pub fn validate(&self) -> Result<(), InvalidProfile> {
        check_field("name", &self.name, true)?;
        check_field("school", &self.school, false)?;
        check_field("region", &self.region, false)
    }
}

fn check_field(name: &'static str, value: &str, required: bool) -> Result<(), InvalidProfile> {
    let invisible = |c: char| {
        c.is_whitespace() || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
    };
    if required && value.chars().all(invisible) {
        return Err(InvalidProfile::Empty(name));
    }
    if value.len() > PROFILE_FIELD_MAX_BYTES {
        return Err(InvalidProfile::TooLong(name));
    }
    if value.chars().any(char::is_control) {
        return Err(InvalidProfile::ControlCharacters(name));
    }
    Ok(())
}
