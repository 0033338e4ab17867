//! `dynsim verify --vectors DIR [--candidate FILE] [--write-candidate FILE] [--json]`
//! (spec/cli.md §3.7, spec/conformance.md "Conformance vectors"): checks another implementation's
//! outputs (or dynsim's own) against the conformance vectors.

use std::path::PathBuf;

use dynsim::conformance::{load_suite, run, verify, Candidate};

use crate::{json, Failure};

/// Arguments of `dynsim verify`.
#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The suite directory (holding manifest.json), e.g. spec/vectors.
    #[arg(long, value_name = "DIR")]
    pub vectors: PathBuf,
    /// The candidate file to check (JSON, format dynsim-candidate). Without it dynsim checks itself.
    #[arg(long, value_name = "FILE")]
    pub candidate: Option<PathBuf>,
    /// Also write dynsim's own candidate file (the schema filled in) to FILE.
    #[arg(long, value_name = "FILE")]
    pub write_candidate: Option<PathBuf>,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Loads the suite, verifies the candidate (or dynsim), prints the table (or JSON). Exit code 1 if
/// any required vector fails or is missing.
pub fn run_verify(args: &VerifyArgs) -> Result<(), Failure> {
    let suite = load_suite(&args.vectors)?;
    let own = if args.candidate.is_none() || args.write_candidate.is_some() {
        Some(run(&suite)?)
    } else {
        None
    };
    if let (Some(path), Some(c)) = (&args.write_candidate, &own) {
        let mut text = serde_json::to_string_pretty(&c.to_json()).unwrap_or_default();
        text.push('\n');
        dynsim::io::write_atomic(path, text.as_bytes())?;
    }
    let candidate = match (&args.candidate, own) {
        (Some(path), _) => Candidate::read(path)?,
        (None, Some(c)) => c,
        // Not reached (`own` is computed whenever no candidate file is given).
        (None, None) => run(&suite)?,
    };
    let report = verify(&suite, &candidate);
    if args.json {
        json::print(&report.to_json())?;
    } else {
        json::emit(&report.table())?;
    }
    if report.passed() {
        Ok(())
    } else {
        Err(Failure {
            code: 1,
            message: format!(
                "{} conformance vector(s) failed: {}",
                report.failed().len(),
                report.failed().join(", ")
            ),
        })
    }
}
