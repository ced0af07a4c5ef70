//! A benchmark node's data: the real exam imported and an olympiad open for hours that
//! offers it, with the implausibly-fast-answer check off (generated answers come far
//! faster than a pupil's).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use engine::clock::now_ms;
use engine::domain::olympiad::{Language, Olympiad};
use engine::proctoring::ProctoringPolicy;
use gateway::server::{ServeConfig, open_engine};

use super::super::import::{Format, read_bank};

pub const OLYMPIAD_ID: &str = "bench";
pub const GRADE: u8 = 11;

/// Imports the exam into `data_dir` and creates the benchmark's olympiad.
pub fn run(data_dir: &Path, exam: &Path) -> anyhow::Result<ExitCode> {
    let bank = read_bank(Format::Zno, exam, None)?;
    let paper = bank.papers.first().context("the exam file has no paper")?;
    let now = now_ms();
    let olympiad = Olympiad {
        id: OLYMPIAD_ID.into(),
        title: "Benchmark: ZNO mathematics".into(),
        subject: "mathematics".into(),
        language: Language::Uk,
        opens_at_ms: now - 60_000,
        closes_at_ms: now + 12 * 3_600_000,
        duration_s: 6 * 3_600,
        papers: BTreeMap::from([(GRADE, paper.id.clone())]),
        proctoring: ProctoringPolicy {
            fast_answer_ms: 0,
            ..ProctoringPolicy::default()
        },
    };
    let runtime = super::super::engine_runtime("olymp-prepare")?;
    runtime.block_on(async {
        let config = ServeConfig::new(data_dir, "127.0.0.1:0".parse()?, "127.0.0.1:0".parse()?);
        gateway::server::load_or_create_secret(data_dir)?;
        let engine = open_engine(&config).await?;
        engine.import_papers("bench", &bank.papers).await?;
        engine.put_olympiad("bench", &olympiad).await?;
        engine.shutdown().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
