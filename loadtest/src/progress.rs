//! A progress line on stderr while a load run goes: rewritten in place on a terminal,
//! one line every few seconds otherwise.

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::report::Tally;

/// Prints progress until the returned handle is aborted.
pub fn spawn(tally: Arc<Tally>, participants: usize) -> tokio::task::JoinHandle<()> {
    let terminal = std::io::stderr().is_terminal();
    let period = if terminal {
        Duration::from_millis(500)
    } else {
        Duration::from_secs(5)
    };
    let started = Instant::now();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(period);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            let line = line(&tally, participants, started.elapsed());
            if terminal {
                eprint!("\r{line}");
            } else {
                eprintln!("{line}");
            }
        }
    })
}

fn line(tally: &Tally, participants: usize, elapsed: Duration) -> String {
    let done = Tally::get(&tally.finished) as usize;
    let width = 24;
    let filled = (done * width).checked_div(participants).unwrap_or(width);
    format!(
        "[{:>5.1}s] [{}{}] {done}/{participants} done  connected {}  \
         answers {}/{} acked  errors {}",
        elapsed.as_secs_f64(),
        "#".repeat(filled),
        ".".repeat(width - filled),
        Tally::get(&tally.connected),
        Tally::get(&tally.answers_acked),
        Tally::get(&tally.answers_sent),
        Tally::get(&tally.errors),
    )
}
