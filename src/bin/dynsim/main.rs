//! The `dynsim` command line. For now: `dynsim demo` (the default) runs DSA on an embedded,
//! deterministically generated dataset. The full CLI (fit / compare / pairwise on .npy files) is
//! specified in its own issue.

mod demo;

use std::process::ExitCode;

const USAGE: &str = "\
dynsim: Dynamical Similarity Analysis

usage:
  dynsim [demo]      fit and compare the embedded demo systems (deterministic)
  dynsim --help      this text
  dynsim --version   the version
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        None | Some("demo") if args.len() <= 1 => demo::run(),
        Some("-h" | "--help") => {
            print!("{USAGE}");
            Ok(())
        }
        Some("-V" | "--version") => {
            println!("dynsim {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        _ => {
            eprintln!("error: unknown arguments: {}\n\n{USAGE}", args.join(" "));
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
