//! The exam engine: the olympiad domain, one actor per live session, scoring and the
//! proctoring policy. It does no I/O of its own except through `storage`'s traits.

pub mod clock;
pub mod domain;
pub mod proctoring;
pub mod scoring;
