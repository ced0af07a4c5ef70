//! `olymp rehearse`: an olympiad day in one command. Starts a node on the embedded store
//! (real fsyncs), imports a real exam, sits it with N simulated participants in compressed
//! time, then checks the results API against scores recomputed from the raw answer key.
//! The last line printed is one JSON object.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use engine::clock::now_ms;
use engine::domain::olympiad::{Language, Olympiad};
use engine::proctoring::ProctoringPolicy;
use gateway::auth::{Claims, Role};
use gateway::server::{self, ServeConfig};
use loadtest::participant::ParticipantOutcome;
use loadtest::{LoadConfig, Report};
use serde::Serialize;

use super::exam_key::{ExamKey, KeyedAnswers};
use super::import::{Format, print_report, read_bank};

const GRADE: u8 = 11;

#[derive(Args)]
pub struct RehearseArgs {
    #[arg(long, default_value_t = 2000)]
    participants: usize,
    /// Keep the node's data here; a fresh temporary directory (removed after) by default.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The real exam file (ZNO JSON).
    #[arg(
        long,
        env = "OLYMP_EXAM_FILE",
        default_value = "../shared/data/zno-math/tests/math_raw.json"
    )]
    exam: PathBuf,
    /// Which test of the file to sit; the first by default.
    #[arg(long)]
    test_id: Option<String>,
    /// Participants arrive within this many seconds.
    #[arg(long, default_value_t = 10.0)]
    arrival_s: f64,
    /// Think time before each answer: "LOW-HIGH" milliseconds (compressed time).
    #[arg(long, default_value = "100-900", value_parser = super::loadtest::parse_range)]
    think_ms: (u64, u64),
    /// Exam duration in seconds.
    #[arg(long, default_value_t = 600)]
    duration_s: u64,
    /// A proctoring event after every this many answers.
    #[arg(long, default_value_t = 8)]
    proctor_every: usize,
    /// Share of participants that drop their connection once and resume.
    #[arg(long, default_value_t = 0.05)]
    drop_share: f64,
}

/// The rehearsal's verdict, printed as the last line.
#[derive(Serialize)]
struct Verdict {
    participants: usize,
    paper: String,
    questions: usize,
    answers_sent: u64,
    answers_acked: u64,
    answers_lost: u64,
    sessions_submitted: u64,
    errors: u64,
    errors_by_kind: BTreeMap<String, u64>,
    ack_p50_ms: f64,
    ack_p99_ms: f64,
    ack_p999_ms: f64,
    connect_p99_ms: f64,
    answers_per_s: f64,
    duration_s: f64,
    results_listed: usize,
    scores_checked: usize,
    scores_mismatched: usize,
    ok: bool,
}

pub fn run(args: RehearseArgs) -> anyhow::Result<ExitCode> {
    let report = read_bank(Format::Zno, &args.exam, None)?;
    print_report(&report);
    let paper = match &args.test_id {
        Some(id) => report
            .papers
            .iter()
            .find(|p| p.id == format!("zno-math-{id}"))
            .with_context(|| format!("no test {id} in the file"))?,
        None => report
            .papers
            .first()
            .context("the exam file has no paper")?,
    };
    let test_id = paper.id.trim_start_matches("zno-math-").to_owned();
    let raw: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&args.exam)?)?;
    let key = ExamKey::read(&raw, &test_id).context("the raw key of the test cannot be read")?;
    let temporary = tempfile::tempdir()?;
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| temporary.path().to_owned());
    let olympiad = rehearsal_olympiad(&paper.id, args.duration_s);
    let papers = report.papers.clone();
    let questions = paper.questions.len();
    let paper_id = paper.id.clone();

    let runtime = super::engine_runtime("olymp-engine")?;
    let (load, outcomes, results) = runtime.block_on(async {
        let config = ServeConfig::new(&data_dir, "127.0.0.1:0".parse()?, "127.0.0.1:0".parse()?);
        let node = server::start(config).await?;
        node.engine.import_papers("rehearsal", &papers).await?;
        node.engine.put_olympiad("rehearsal", &olympiad).await?;
        eprintln!(
            "node up: http {} ws {}; {} participants sit {}",
            node.http_addr, node.ws_addr, args.participants, paper_id
        );
        let load_config = load_config(
            &args,
            node.http_addr,
            &olympiad.id,
            key_strategy(&raw, &test_id)?,
        );
        let (load, outcomes) = run_load_elsewhere(load_config).await?;
        let admin = node.signer.sign(&Claims {
            role: Role::Admin,
            sub: "rehearsal".into(),
            session: None,
            exp_ms: now_ms() + 3_600_000,
        });
        let path = format!("/api/v1/admin/olympiads/{}/results", olympiad.id);
        let results =
            loadtest::http_client::request(node.http_addr, "GET", &path, Some(&admin), None).await;
        node.stop().await;
        anyhow::Ok((load, outcomes, results.context("fetching the results")?))
    })?;
    let verdict = judge(&args, &load, &outcomes, &results, &key, paper_id, questions);
    load.print_summary();
    println!(
        "results listed {}  scores checked {}  mismatched {}",
        verdict.results_listed, verdict.scores_checked, verdict.scores_mismatched
    );
    let ok = verdict.ok;
    println!("{}", serde_json::to_string(&verdict)?);
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn rehearsal_olympiad(paper_id: &str, duration_s: u64) -> Olympiad {
    let now = now_ms();
    Olympiad {
        id: format!("rehearsal-{now}"),
        title: "Rehearsal: ZNO mathematics".into(),
        subject: "mathematics".into(),
        language: Language::Uk,
        opens_at_ms: now - 60_000,
        closes_at_ms: now + 3_600_000,
        duration_s,
        papers: BTreeMap::from([(GRADE, paper_id.to_owned())]),
        // Compressed think times would all look implausibly fast: that check is off here.
        proctoring: ProctoringPolicy {
            fast_answer_ms: 0,
            ..ProctoringPolicy::default()
        },
    }
}

fn key_strategy(raw: &serde_json::Value, test_id: &str) -> anyhow::Result<KeyedAnswers> {
    Ok(KeyedAnswers(
        ExamKey::read(raw, test_id).context("raw key")?,
    ))
}

fn load_config(
    args: &RehearseArgs,
    http_addr: SocketAddr,
    olympiad_id: &str,
    strategy: KeyedAnswers,
) -> LoadConfig {
    LoadConfig {
        http_addr,
        olympiad_id: olympiad_id.to_owned(),
        grade: GRADE,
        participants: args.participants,
        arrival_window: Duration::from_secs_f64(args.arrival_s.max(0.0)),
        think_time_ms: args.think_ms,
        proctor_every: args.proctor_every,
        drop_share: args.drop_share,
        reply_timeout: Duration::from_secs(30),
        verify: true,
        allow_non_loopback: false,
        strategy: Arc::new(strategy),
        options: loadtest::RunOptions::default(),
    }
}

/// Runs the load generator on its own runtime and threads, apart from the node's.
async fn run_load_elsewhere(
    config: LoadConfig,
) -> anyhow::Result<(Report, Vec<ParticipantOutcome>)> {
    let thread = std::thread::Builder::new()
        .name("olymp-load".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("olymp-load")
                .enable_all()
                .build()?;
            Ok::<_, anyhow::Error>(runtime.block_on(loadtest::run(config))?)
        })?;
    tokio::task::spawn_blocking(move || thread.join())
        .await?
        .map_err(|_| anyhow::anyhow!("load generator panicked"))?
}

fn judge(
    args: &RehearseArgs,
    load: &Report,
    outcomes: &[ParticipantOutcome],
    results: &serde_json::Value,
    key: &ExamKey,
    paper: String,
    questions: usize,
) -> Verdict {
    let rows = results["results"].as_array().cloned().unwrap_or_default();
    let scores: BTreeMap<&str, u64> = rows
        .iter()
        .filter_map(|row| Some((row["session_id"].as_str()?, row["score"].as_u64()?)))
        .collect();
    let mut checked = 0;
    let mut mismatched = 0;
    for outcome in outcomes {
        let Some(session) = outcome.session_id.as_deref() else {
            continue;
        };
        let expected: u32 = outcome
            .acked
            .iter()
            .filter_map(|(q, v)| key.score(q, v))
            .sum();
        checked += 1;
        if scores.get(session) != Some(&u64::from(expected)) {
            mismatched += 1;
            let found = scores.get(session);
            tracing::warn!(
                session,
                expected,
                ?found,
                "score differs from the recomputation"
            );
        }
    }
    let ok = load.answers_lost == 0
        && load.errors == 0
        && load.sessions_submitted == args.participants as u64
        && rows.len() == args.participants
        && checked == args.participants
        && mismatched == 0;
    Verdict {
        participants: args.participants,
        paper,
        questions,
        answers_sent: load.answers_sent,
        answers_acked: load.answers_acked,
        answers_lost: load.answers_lost,
        sessions_submitted: load.sessions_submitted,
        errors: load.errors,
        errors_by_kind: load.errors_by_kind.clone(),
        ack_p50_ms: load.ack_p50_ms,
        ack_p99_ms: load.ack_p99_ms,
        ack_p999_ms: load.ack_p999_ms,
        connect_p99_ms: load.connect_p99_ms,
        answers_per_s: load.answers_per_s,
        duration_s: load.duration_s,
        results_listed: rows.len(),
        scores_checked: checked,
        scores_mismatched: mismatched,
        ok,
    }
}
