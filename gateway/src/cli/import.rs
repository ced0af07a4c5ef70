//! `olymp import`: reads a question bank through the real importers, reports every
//! question it left out with its place and reason, and stores the papers (all or none),
//! optionally with an olympiad that offers one of them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use bank::ImportReport;
use clap::{Args, ValueEnum};
use engine::clock::now_ms;
use engine::domain::olympiad::{Language, Olympiad};
use engine::proctoring::ProctoringPolicy;
use gateway::server::{ServeConfig, open_engine};

/// Largest question-bank file read, in bytes.
const BANK_FILE_MAX_BYTES: u64 = 32 * 1024 * 1024;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// The ZNO exam JSON (one paper per test in the file).
    Zno,
    /// Moodle GIFT text (one paper per file).
    Gift,
}

#[derive(Args)]
pub struct ImportArgs {
    #[arg(long, env = "OLYMP_DATA_DIR", default_value_os_t = super::default_data_dir())]
    data_dir: PathBuf,
    #[command(flatten)]
    scylla: super::store_args::ScyllaArgs,
    #[arg(long, value_enum)]
    format: Format,
    /// The question-bank file.
    file: PathBuf,
    /// Paper id for a GIFT file.
    #[arg(long)]
    paper_id: Option<String>,
    /// Refuse the whole file if any question is left out.
    #[arg(long)]
    strict: bool,
    /// Also create (or replace) this olympiad, offering one imported paper.
    #[arg(long)]
    olympiad: Option<String>,
    #[arg(long, default_value = "Olympiad")]
    title: String,
    /// Which imported paper the olympiad uses; the first by default.
    #[arg(long)]
    paper: Option<String>,
    #[arg(long, default_value_t = 11)]
    grade: u8,
    #[arg(long, default_value_t = 60)]
    duration_min: u64,
    /// The window opens this many minutes from now (negative: already open).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    opens_in_min: i64,
    #[arg(long, default_value_t = 24)]
    window_hours: u64,
    #[arg(long, value_enum, default_value = "uk")]
    language: LanguageArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum LanguageArg {
    Kk,
    Ru,
    En,
    Uk,
}

/// Reads and parses a bank file; the importers never see more than the size bound.
pub fn read_bank(
    format: Format,
    file: &Path,
    paper_id: Option<&str>,
) -> anyhow::Result<ImportReport> {
    let size = std::fs::metadata(file)
        .with_context(|| format!("reading {}", file.display()))?
        .len();
    anyhow::ensure!(
        size <= BANK_FILE_MAX_BYTES,
        "{} is larger than {BANK_FILE_MAX_BYTES} bytes",
        file.display()
    );
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading {} as UTF-8", file.display()))?;
    let source = file
        .file_name()
        .map_or_else(|| "bank".into(), |n| n.to_string_lossy().into_owned());
    let report = match format {
        Format::Zno => bank::zno::read(&text, &source),
        Format::Gift => {
            let paper_id = paper_id.context("--paper-id is required for GIFT files")?;
            bank::gift::read(&text, &source, paper_id)
        }
    };
    report.with_context(|| format!("{} cannot be read", file.display()))
}

/// Prints what was taken and what was left out.
pub fn print_report(report: &ImportReport) {
    for paper in &report.papers {
        println!(
            "paper {}: {} questions, {} points",
            paper.id,
            paper.questions.len(),
            paper.max_points()
        );
    }
    for rejected in &report.rejected {
        let line = rejected
            .line
            .map(|l| format!(" (line {l})"))
            .unwrap_or_default();
        println!(
            "left out: paper {} question {}{line}: {}",
            rejected.paper_id, rejected.question_number, rejected.reason
        );
    }
}

pub fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let report = read_bank(args.format, &args.file, args.paper_id.as_deref())?;
    print_report(&report);
    if args.strict && !report.rejected.is_empty() {
        anyhow::bail!(
            "{} questions left out; nothing imported (--strict)",
            report.rejected.len()
        );
    }
    anyhow::ensure!(!report.papers.is_empty(), "no paper to import");
    let olympiad = match &args.olympiad {
        Some(id) => Some(olympiad_from_args(&args, id, &report)?),
        None => None,
    };
    let mut config = ServeConfig::new(
        &args.data_dir,
        "127.0.0.1:0".parse()?,
        "127.0.0.1:0".parse()?,
    );
    args.scylla.apply_without_leases(&mut config)?;
    let runtime = super::engine_runtime("olymp-import")?;
    runtime.block_on(async move {
        let engine = open_engine(&config).await?;
        let stored = engine
            .publish("cli", &report.papers, olympiad.as_ref())
            .await;
        engine.shutdown().await;
        stored.context("nothing was imported")?;
        if let Some(olympiad) = &olympiad {
            println!(
                "olympiad {} offers grade {} with paper {}",
                olympiad.id, args.grade, olympiad.papers[&args.grade]
            );
        }
        println!(
            "imported {} papers into {}",
            report.papers.len(),
            args.data_dir.display()
        );
        Ok(ExitCode::SUCCESS)
    })
}

fn olympiad_from_args(
    args: &ImportArgs,
    id: &str,
    report: &ImportReport,
) -> anyhow::Result<Olympiad> {
    let paper = match &args.paper {
        Some(wanted) => report
            .papers
            .iter()
            .find(|p| &p.id == wanted)
            .with_context(|| format!("no imported paper {wanted}"))?,
        None => &report.papers[0],
    };
    let too_large = || anyhow::anyhow!("a time option is too large");
    let opens_in_ms = args
        .opens_in_min
        .checked_mul(60_000)
        .ok_or_else(too_large)?;
    let opens_at_ms = (now_ms() as i64)
        .checked_add(opens_in_ms)
        .ok_or_else(too_large)?
        .max(0) as u64;
    let window_ms = args
        .window_hours
        .checked_mul(3_600_000)
        .ok_or_else(too_large)?;
    let closes_at_ms = opens_at_ms.checked_add(window_ms).ok_or_else(too_large)?;
    let duration_s = args.duration_min.checked_mul(60).ok_or_else(too_large)?;
    let language = match args.language {
        LanguageArg::Kk => Language::Kk,
        LanguageArg::Ru => Language::Ru,
        LanguageArg::En => Language::En,
        LanguageArg::Uk => Language::Uk,
    };
    Ok(Olympiad {
        id: id.to_owned(),
        title: args.title.clone(),
        subject: "mathematics".into(),
        language,
        opens_at_ms,
        closes_at_ms,
        duration_s,
        papers: BTreeMap::from([(args.grade, paper.id.clone())]),
        proctoring: ProctoringPolicy::default(),
    })
}
