//! Fuzz target: command-line parsing and validation (spec/cli.md §5). The input is split at NUL
//! bytes into arguments (any bytes, not only UTF-8); whatever they are, parsing returns a clap error
//! or a command line, and validating a parsed command line returns Ok or a usage error — never a
//! panic. No file is read and no command runs.
//!
//! The binary's own modules are compiled in through `#[path]` (a binary crate cannot be a
//! dependency); their `crate::` paths resolve through the re-exports below.
#![no_main]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use clap::Parser;
use libfuzzer_sys::fuzz_target;

#[allow(dead_code, unused_imports)]
#[path = "../../src/bin/dynsim/main.rs"]
mod cli;

#[allow(unused_imports)]
pub(crate) use cli::{commands, demo, json, options, systems, Failure};

fuzz_target!(|data: &[u8]| {
    let args = std::iter::once(OsString::from("dynsim"))
        .chain(data.split(|&b| b == 0).map(|a| OsString::from_vec(a.to_vec())));
    if let Ok(parsed) = cli::Cli::try_parse_from(args) {
        let _ = cli::validate(&parsed);
    }
});
