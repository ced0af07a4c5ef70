//! `olymp token`: mints a staff token with the node's secret.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use engine::clock::now_ms;
use gateway::auth::{Claims, Role, Signer};
use gateway::server::load_secret;

#[derive(Clone, Copy, ValueEnum)]
enum StaffRole {
    Admin,
    Proctor,
    Operator,
}

#[derive(Args)]
pub struct TokenArgs {
    #[arg(long, env = "OLYMP_DATA_DIR", default_value_os_t = super::default_data_dir())]
    data_dir: PathBuf,
    #[arg(long, value_enum)]
    role: StaffRole,
    /// Who the token is for; recorded in the audit log with every action.
    #[arg(long)]
    subject: String,
    /// Hours until the token expires.
    #[arg(long, default_value_t = 12)]
    hours: u64,
}

pub fn run(args: TokenArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        !args.subject.trim().is_empty(),
        "--subject must name a person"
    );
    anyhow::ensure!(
        (1..=24 * 31).contains(&args.hours),
        "--hours must be between 1 and 744"
    );
    let signer = Signer::new(load_secret(&args.data_dir)?);
    let role = match args.role {
        StaffRole::Admin => Role::Admin,
        StaffRole::Proctor => Role::Proctor,
        StaffRole::Operator => Role::Operator,
    };
    let claims = Claims {
        role,
        sub: args.subject,
        session: None,
        exp_ms: now_ms() + args.hours * 3_600_000,
    };
    println!("{}", signer.sign(&claims));
    Ok(ExitCode::SUCCESS)
}
