//! The `dynsim` command line (spec/cli.md): `demo`, `fit`, `align`, `compare`, `pairwise`, `merge`,
//! `verify`.
//!
//! stdout carries results (JSON), stderr carries progress and errors. Exit codes: 0 success,
//! 1 a data error (a file, an array, a fit or a comparison failed), 2 a usage error (unknown or
//! conflicting options, parameters out of their domain). Errors are one line naming the file, the
//! array and the problem; the binary never prints a backtrace.

pub(crate) mod commands;
pub(crate) mod demo;
pub(crate) mod json;
pub(crate) mod options;
pub(crate) mod systems;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use options::{FitArgs, ScoreArgs};

/// Dynamical Similarity Analysis: compare the dynamics of recurrent systems from their data.
#[derive(Parser, Debug)]
#[command(name = "dynsim", version, about, long_about = None, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// The saddle / line / point attractor study on the built-in generator (deterministic; the
    /// default): DSA and Procrustes matrices, silhouettes, an MDS picture.
    Demo {
        /// Also write the heat maps and the MDS scatter as an SVG.
        #[arg(long, value_name = "FILE")]
        svg: Option<std::path::PathBuf>,
    },
    /// Fit one system's operator and print it as JSON.
    Fit {
        /// The system's data: .npy of shape (T, N) or (K, T, N), or .npz with one (T_i, N) array per trial.
        data: std::path::PathBuf,
        #[command(flatten)]
        fit: FitArgs,
        /// Also save the fitted operator as a model file (JSON), to re-score it later without the data.
        #[arg(long, value_name = "MODEL")]
        save: Option<std::path::PathBuf>,
    },
    /// Compare two operators given directly as square matrices (.npy), e.g. to validate another port.
    Align {
        /// Operator A: a square 2-D .npy array.
        a: std::path::PathBuf,
        /// Operator B: a square 2-D .npy array.
        b: std::path::PathBuf,
        #[command(flatten)]
        score: ScoreArgs,
    },
    /// Fit two systems (or load saved models) and compare them.
    Compare {
        /// System X: data (.npy / .npz) or a model file (.json) holding one operator.
        x: std::path::PathBuf,
        /// System Y: data (.npy / .npz) or a model file (.json) holding one operator.
        y: std::path::PathBuf,
        #[command(flatten)]
        fit: FitArgs,
        #[command(flatten)]
        score: ScoreArgs,
    },
    /// The K × K matrix of distances between systems (or K × M with --against), as a .npy file.
    Pairwise(commands::pairwise::PairwiseArgs),
    /// Assemble the partial files of a sharded `pairwise` run into the full matrix.
    Merge(commands::pairwise::MergeArgs),
    /// Check an implementation's outputs (or dynsim's own) against the conformance vectors.
    Verify(commands::verify::VerifyArgs),
}

/// An error with its exit code.
pub struct Failure {
    /// 1 data, 2 usage.
    pub code: u8,
    /// The one-line message.
    pub message: String,
}

impl Failure {
    /// A usage error (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: 2,
            message: message.into(),
        }
    }
}

impl From<dynsim::Error> for Failure {
    /// Library errors are data errors (exit code 1); parameter errors are caught before any data is
    /// read and reported as usage errors by [`options`].
    fn from(e: dynsim::Error) -> Self {
        Failure {
            code: 1,
            message: e.to_string(),
        }
    }
}

/// Every check of a parsed command line that needs no file (spec/cli.md §5: usage errors come before
/// any file is read): each command's parameters are converted and validated exactly as the command
/// itself does. `main` runs it before dispatching; the `cli_args` fuzz target runs it on arbitrary
/// argument lists.
pub(crate) fn validate(cli: &Cli) -> Result<(), Failure> {
    match &cli.command {
        None | Some(Command::Demo { .. }) | Some(Command::Verify(_)) => Ok(()),
        Some(Command::Fit { data, fit, .. }) => commands::fit::validate(data, fit).map(|_| ()),
        Some(Command::Align { score, .. }) => score.options().map(|_| ()),
        Some(Command::Compare { fit, score, .. }) => {
            fit.params()?;
            score.options().map(|_| ())
        }
        Some(Command::Pairwise(args)) => commands::pairwise::validate(args).map(|_| ()),
        Some(Command::Merge(args)) => commands::pairwise::validate_merge(args),
    }
}

fn main() -> ExitCode {
    // A panic is a bug in dynsim, never the user's fault: one line, no backtrace, exit code 101.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error in dynsim (please report it): {info}");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors; clap knows which is which (exit code 0 or 2).
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    if let Err(f) = validate(&cli) {
        eprintln!("error: {}", f.message);
        return ExitCode::from(f.code);
    }
    let result = match cli.command {
        None => demo::run(None),
        Some(Command::Demo { svg }) => demo::run(svg.as_deref()),
        Some(Command::Fit { data, fit, save }) => commands::fit::run(&data, &fit, save.as_deref()),
        Some(Command::Align { a, b, score }) => commands::align::run(&a, &b, &score),
        Some(Command::Compare { x, y, fit, score }) => commands::compare::run(&x, &y, &fit, &score),
        Some(Command::Pairwise(args)) => commands::pairwise::run(&args),
        Some(Command::Merge(args)) => commands::pairwise::merge(&args),
        Some(Command::Verify(args)) => commands::verify::run_verify(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
