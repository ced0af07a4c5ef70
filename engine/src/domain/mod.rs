//! Domain types: olympiads, papers, questions, answers, participants. Plain data with
//! their own validation; no I/O.

pub mod answer;
pub mod olympiad;
pub mod paper;
pub mod participant;
pub mod question;
